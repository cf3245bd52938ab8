/**
 * The few error classes every part of Skiff throws, and their mapping to a Kubernetes `Status`.
 * Code anywhere throws these; the server turns them into a response in exactly one place
 * (its `onError`), and the client turns a `Status` response back into the same class.
 */

/** One field-level cause of an `Invalid` error, as in `Status.details.causes`. */
export interface StatusCause {
  /** e.g. `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueDuplicate`. */
  reason: string;
  message: string;
  /** Field path such as `spec.containers[0].image`. */
  field?: string;
}

/** The Kubernetes `Status` object (meta/v1) returned for every failed request. */
export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** Who the error is about: resource (plural, e.g. `pods`), optional group and name. */
export interface ErrorSubject {
  resource: string;
  group?: string;
  name?: string;
}

/** Base of all API errors: carries the HTTP code and the Kubernetes reason. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: Status["details"];
  constructor(code: number, reason: string, message: string, details?: Status["details"]) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /** The `Status` body for this error. */
  toStatus(): Status {
    const status: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

function qualified(s: ErrorSubject): string {
  return s.group ? `${s.resource}.${s.group}` : s.resource;
}

function subjectDetails(s: ErrorSubject): Status["details"] {
  const d: NonNullable<Status["details"]> = { kind: s.resource };
  if (s.name !== undefined) d.name = s.name;
  if (s.group) d.group = s.group;
  return d;
}

/** 404 NotFound: `pods "web" not found`. */
export class NotFoundError extends ApiError {
  constructor(subject: ErrorSubject, message?: string) {
    super(
      404,
      "NotFound",
      message ?? `${qualified(subject)} "${subject.name ?? ""}" not found`,
      subjectDetails(subject),
    );
    this.name = "NotFoundError";
  }
}

/** 409 AlreadyExists: `pods "web" already exists`. */
export class AlreadyExistsError extends ApiError {
  constructor(subject: ErrorSubject, message?: string) {
    super(
      409,
      "AlreadyExists",
      message ?? `${qualified(subject)} "${subject.name ?? ""}" already exists`,
      subjectDetails(subject),
    );
    this.name = "AlreadyExistsError";
  }
}

/** kube-apiserver's OptimisticLockErrorMsg: a write named a resourceVersion that is not current. */
export const OBJECT_MODIFIED =
  "the object has been modified; please apply your changes to the latest version and try again";

/** 409 Conflict: stale resourceVersion or failed precondition. */
export class ConflictError extends ApiError {
  constructor(subject: ErrorSubject, detail: string) {
    super(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualified(subject)} "${subject.name ?? ""}": ${detail}`,
      subjectDetails(subject),
    );
    this.name = "ConflictError";
  }
}

/** 422 Invalid, with one cause per bad field. */
export class InvalidError extends ApiError {
  readonly causes: StatusCause[];
  constructor(subject: ErrorSubject & { kind: string }, causes: StatusCause[]) {
    // An absurdly long name (the cause already says so) is not repeated whole.
    if (subject.name && subject.name.length > 256) {
      subject = { ...subject, name: `${subject.name.slice(0, 256)}...` };
    }
    const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(
      ", ",
    );
    super(
      422,
      "Invalid",
      `${subject.kind} "${subject.name ?? ""}" is invalid: ${summary}`,
      { ...subjectDetails({ ...subject, resource: subject.kind }), causes },
    );
    this.name = "InvalidError";
    this.causes = causes;
  }
}

/** 400 BadRequest: malformed body, bad query parameter. */
export class BadRequestError extends ApiError {
  constructor(message: string) {
    super(400, "BadRequest", message);
    this.name = "BadRequestError";
  }
}

/** 401 Unauthorized. */
export class UnauthorizedError extends ApiError {
  constructor(message = "Unauthorized") {
    super(401, "Unauthorized", message);
    this.name = "UnauthorizedError";
  }
}

/** 403 Forbidden: `pods "x" is forbidden: User "system:node:a" cannot get resource ...`. */
export class ForbiddenError extends ApiError {
  constructor(subject: ErrorSubject, detail: string) {
    // kube-apiserver's wording: `configmaps is forbidden` when no name is addressed.
    const who = subject.name ? `${qualified(subject)} "${subject.name}"` : qualified(subject);
    super(
      403,
      "Forbidden",
      `${who} is forbidden: ${detail}`,
      subjectDetails(subject),
    );
    this.name = "ForbiddenError";
  }
}

/** 405 MethodNotAllowed. */
export class MethodNotAllowedError extends ApiError {
  constructor(message = "the server does not allow this method on the requested resource") {
    super(405, "MethodNotAllowed", message);
    this.name = "MethodNotAllowedError";
  }
}

/** 410 Gone / Expired: the requested resourceVersion is older than the retained history. */
export class GoneError extends ApiError {
  constructor(message: string) {
    super(410, "Expired", message);
    this.name = "GoneError";
  }
}

/** 413 RequestEntityTooLarge. */
export class TooLargeError extends ApiError {
  constructor(limit: number) {
    super(413, "RequestEntityTooLarge", `the request body is larger than ${limit} bytes`);
    this.name = "TooLargeError";
  }
}

/** 415 UnsupportedMediaType. */
export class UnsupportedMediaTypeError extends ApiError {
  constructor(contentType: string) {
    super(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format: ${contentType}`,
    );
    this.name = "UnsupportedMediaTypeError";
  }
}

/**
 * 429 TooManyRequests: the request may succeed later (an eviction a PodDisruptionBudget refuses
 * now; `kubectl drain` retries those every 5 s).
 */
export class TooManyRequestsError extends ApiError {
  constructor(message: string, details?: Status["details"]) {
    super(429, "TooManyRequests", message, details);
    this.name = "TooManyRequestsError";
  }
}

/** 500 InternalError. */
export class InternalError extends ApiError {
  constructor(message: string) {
    super(500, "InternalError", `Internal error occurred: ${message}`);
    this.name = "InternalError";
  }
}

/** 503 ServiceUnavailable (e.g. an agent that can't be reached for logs). */
export class ServiceUnavailableError extends ApiError {
  constructor(message: string) {
    super(503, "ServiceUnavailable", message);
    this.name = "ServiceUnavailableError";
  }
}

/** Rebuilds the matching error class from a `Status` body (used by the client). */
export function errorFromStatus(status: Partial<Status>, httpCode: number): ApiError {
  const code = status.code ?? httpCode;
  const message = status.message ?? `the server responded with code ${code}`;
  const reason = status.reason ?? "Unknown";
  const err = new ApiError(code, reason, message, status.details);
  err.name = `${reason}Error`;
  return err;
}

/** True when `err` is an API error with the given HTTP code (e.g. `isCode(e, 404)`). */
export function isCode(err: unknown, code: number): boolean {
  return err instanceof ApiError && err.code === code;
}

/** True for 404 NotFound. */
export function isNotFound(err: unknown): boolean {
  return isCode(err, 404);
}

/** True for 409 Conflict (not AlreadyExists). */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason === "Conflict";
}

/** True for 409 AlreadyExists. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason === "AlreadyExists";
}

/**
 * Several error messages as one, as Go's utilerrors.NewAggregate prints them: one as it is, more
 * in brackets separated by commas.
 */
export function aggregateMessage(errors: readonly string[]): string {
  return errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`;
}
