/**
 * Which state a LIST or WATCH is served from, by kube-apiserver's rules for `resourceVersion`,
 * `resourceVersionMatch` and `continue`:
 *
 * - a list without a resourceVersion (or with "0") gets the current objects;
 * - `resourceVersion=N` (NotOlderThan, the default for a list) gets the current objects once the
 *   cache has reached N; `resourceVersionMatch=Exact` gets the objects as they were at N;
 * - a resourceVersion the cache has not reached is waited for up to 3 s, then answered 504
 *   (Too large resource version), for lists and watches alike;
 * - a `continue` token carries the first page's resourceVersion, so every later page comes from
 *   the same state (a consistent paged list); 410 Expired once the watch cache no longer holds
 *   the events needed to rebuild it;
 * - bad combinations of these options are a 422 Invalid `ListOptions` (for lists and watches).
 *
 * Past states are rebuilt from the watch cache's retained events (WatchCache.list `atRevision`).
 */
import { ApiError, BadRequestError, GoneError, InvalidError } from "../../shared/errors.ts";
import type { ResourceStore } from "../registry/resource_store.ts";

/** How long a request for a resourceVersion the cache has not reached waits (as Kubernetes). */
export const FUTURE_RESOURCE_VERSION_WAIT_MS = 3_000;

/** 504 Timeout for a resourceVersion the cache did not reach in time (kube-apiserver's). */
export function tooLargeResourceVersion(requested: number, current: number): ApiError {
  return new ApiError(
    504,
    "Timeout",
    `Too large resource version: ${requested}, current: ${current}`,
    {
      causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      retryAfterSeconds: 1,
    },
  );
}

/** A `resourceVersion` parameter as a number; undefined for "" and "0" (any state). 400 if bad. */
export function parseResourceVersion(rv: string | null): number | undefined {
  if (!rv || rv === "0") return undefined;
  const n = Number(rv);
  if (!/^[0-9]+$/.test(rv) || !Number.isSafeInteger(n)) {
    throw new BadRequestError(`resourceVersion: Invalid value: "${rv}": must be an integer`);
  }
  return n;
}

/** Waits up to 3 s for the cache to reach `revision`; 504 when it does not. */
export async function reachRevision(store: ResourceStore, revision: number): Promise<void> {
  if (revision <= store.cache.revision) return;
  const wait = new AbortController();
  const timer = setTimeout(() => wait.abort(), FUTURE_RESOURCE_VERSION_WAIT_MS);
  await store.cache.waitForRevision(revision, wait.signal).catch(() => {});
  clearTimeout(timer);
  if (revision > store.cache.revision) {
    throw tooLargeResourceVersion(revision, store.cache.revision);
  }
}

/** A decoded `continue` token: the last key of the previous page, and the list's revision. */
export interface ContinueToken {
  start: string;
  /** The first page's resourceVersion (absent in tokens from before it was recorded). */
  rv?: number;
}

/** The `continue` token of a page ending at `key` of a list served at `revision`. */
export function encodeContinue(key: string, revision: number): string {
  return btoa(JSON.stringify({ v: "meta.k8s.io/v1", rv: revision, start: key }));
}

/** The `continue` parameter, decoded; undefined when absent. 400 when it is not one of ours. */
export function decodeContinue(token: string | null): ContinueToken | undefined {
  if (!token) return undefined;
  try {
    const parsed = JSON.parse(atob(token));
    if (typeof parsed.start === "string") {
      return Number.isSafeInteger(parsed.rv) && parsed.rv > 0
        ? { start: parsed.start, rv: parsed.rv }
        : { start: parsed.start };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError(`continue: Invalid value: "${token}": invalid continue token`);
}

const MATCHES = ["Exact", "NotOlderThan"];

type Cause = { reason: string; message: string; field: string };

function forbidden(field: string, message: string): Cause {
  return { reason: "FieldValueForbidden", field, message: `Forbidden: ${message}` };
}

/** The 422 Invalid `ListOptions` kube-apiserver answers bad options with, if there are causes. */
function refuse(causes: Cause[]): void {
  if (causes.length > 0) {
    throw new InvalidError({ kind: "ListOptions", resource: "", group: "meta.k8s.io" }, causes);
  }
}

/**
 * kube-apiserver's ListOptions validation of a watch: no `resourceVersionMatch` unless it asks for
 * initial events, which Skiff does not serve (the WatchList feature).
 */
export function validateWatchOptions(q: URLSearchParams): void {
  if (q.has("sendInitialEvents")) {
    refuse([forbidden(
      "sendInitialEvents",
      "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
    )]);
  } else if (q.has("resourceVersionMatch")) {
    refuse([forbidden(
      "resourceVersionMatch",
      "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
    )]);
  }
}

/** kube-apiserver's ListOptions validation of a list. */
function validateListOptions(q: URLSearchParams): void {
  const match = q.get("resourceVersionMatch") ?? "";
  if (!match) return;
  const rv = q.get("resourceVersion") ?? "";
  const causes: Cause[] = [];
  const forbid = (message: string) => causes.push(forbidden("resourceVersionMatch", message));
  if (!rv) forbid("resourceVersionMatch is forbidden unless resourceVersion is provided");
  if (q.get("continue")) forbid("resourceVersionMatch is forbidden when continue is provided");
  if (!MATCHES.includes(match)) {
    causes.push({
      reason: "FieldValueNotSupported",
      field: "resourceVersionMatch",
      message: `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan", ""`,
    });
  }
  if (match === "Exact" && rv === "0") {
    forbid('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  }
  refuse(causes);
}

/**
 * The resourceVersion a list is served at: undefined for the current state, else the state to
 * rebuild (an exact resourceVersion, or a continued list's first page).
 */
export async function listRevision(
  q: URLSearchParams,
  store: ResourceStore,
  continued: ContinueToken | undefined,
): Promise<number | undefined> {
  validateListOptions(q);
  const rv = parseResourceVersion(q.get("resourceVersion"));
  if (continued) {
    if (rv !== undefined) {
      throw new BadRequestError("specifying resource version is not allowed when using continue");
    }
    return continued.rv;
  }
  if (rv === undefined) return undefined;
  await reachRevision(store, rv);
  return q.get("resourceVersionMatch") === "Exact" ? rv : undefined;
}

/** kube-apiserver's 410 for a list whose state is no longer retained. */
export function expiredList(continued: boolean): GoneError {
  return new GoneError(
    continued
      ? "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."
      : "The resourceVersion for the provided list is too old.",
  );
}
