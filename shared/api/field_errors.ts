/**
 * A collector of field-level validation errors in Kubernetes' wording (`Required value`,
 * `Invalid value: "x": ...`, `Unsupported value: ...`), plus the name rules (RFC 1123 labels and
 * subdomains, RFC 1035 labels, IANA port names, config keys) that the per-kind rules use.
 */
import type { StatusCause } from "../errors.ts";

/** Longest value quoted whole in an error message; longer ones are cut (a 1 MB name must not make a 4 MB error). */
const MAX_QUOTED_VALUE = 256;

/** Formats a bad value the way Kubernetes prints it: strings quoted, numbers bare. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") {
    return value.length <= MAX_QUOTED_VALUE
      ? JSON.stringify(value)
      : `${JSON.stringify(value.slice(0, MAX_QUOTED_VALUE))}... (${value.length} characters)`;
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === undefined || value === null) return "null";
  const text = JSON.stringify(value);
  return text.length <= MAX_QUOTED_VALUE
    ? text
    : `${text.slice(0, MAX_QUOTED_VALUE)}... (${text.length} characters)`;
}

/** Collects `StatusCause`s; field paths look like `spec.containers[0].image`. */
export class FieldErrors {
  readonly causes: StatusCause[] = [];

  /** `Required value` (optionally `: detail`). */
  required(field: string, detail?: string): void {
    this.causes.push({
      reason: "FieldValueRequired",
      message: detail ? `Required value: ${detail}` : "Required value",
      field,
    });
  }

  /** `Invalid value: <value>: <detail>`. */
  invalid(field: string, value: unknown, detail: string): void {
    this.causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${formatValue(value)}: ${detail}`,
      field,
    });
  }

  /** `Unsupported value: "x": supported values: "a", "b"`. */
  notSupported(field: string, value: unknown, supported: readonly unknown[]): void {
    const list = supported.map((v) => formatValue(v)).join(", ");
    this.causes.push({
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${formatValue(value)}: supported values: ${list}`,
      field,
    });
  }

  /** `Duplicate value: "x"`. */
  duplicate(field: string, value: unknown): void {
    this.causes.push({
      reason: "FieldValueDuplicate",
      message: `Duplicate value: ${formatValue(value)}`,
      field,
    });
  }

  /** `Forbidden: <detail>`. */
  forbidden(field: string, detail: string): void {
    this.causes.push({ reason: "FieldValueForbidden", message: `Forbidden: ${detail}`, field });
  }

  /** `Not found: "x"`. */
  notFound(field: string, value: unknown): void {
    this.causes.push({
      reason: "FieldValueNotFound",
      message: `Not found: ${formatValue(value)}`,
      field,
    });
  }

  /** `Too long: may not be more than N bytes`. */
  tooLong(field: string, max: number): void {
    this.causes.push({
      reason: "FieldValueTooLong",
      message: `Too long: may not be more than ${max} bytes`,
      field,
    });
  }

  /** `Too many: N: must have at most M items` (a list longer than Kubernetes allows). */
  tooMany(field: string, actual: number, max: number): void {
    this.causes.push({
      reason: "FieldValueTooMany",
      message: `Too many: ${actual}: must have at most ${max} items`,
      field,
    });
  }

  /** Adds causes from another collector or a list. */
  add(causes: readonly StatusCause[]): void {
    this.causes.push(...causes);
  }

  get empty(): boolean {
    return this.causes.length === 0;
  }
}

const DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL}$`);
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN}$`);
const DNS1035_LABEL_RE = new RegExp(`^${DNS1035_LABEL}$`);

/** Problems with an RFC 1123 label (namespace, container and volume names). */
export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push("must be no more than 63 characters");
  if (!DNS1123_LABEL_RE.test(value)) {
    errs.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and " +
        "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex " +
        `used for validation is '${DNS1123_LABEL}')`,
    );
  }
  return errs;
}

/** Problems with an RFC 1123 subdomain (names of most kinds). */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push("must be no more than 253 characters");
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or " +
        "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex " +
        `used for validation is '${DNS1123_SUBDOMAIN}')`,
    );
  }
  return errs;
}

/** Problems with an RFC 1035 label (Service names: must start with a letter). */
export function dns1035LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push("must be no more than 63 characters");
  if (!DNS1035_LABEL_RE.test(value)) {
    errs.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an " +
        "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or " +
        `'abc-123', regex used for validation is '${DNS1035_LABEL}')`,
    );
  }
  return errs;
}

/** Problems with an IANA service name (named container ports, targetPort names). */
export function portNameErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 15) errs.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(value)) {
    errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (value.includes("--")) errs.push("must not contain consecutive hyphens");
  if (!/[a-z]/.test(value)) errs.push("must contain at least one letter (a-z)");
  if (value.startsWith("-") || value.endsWith("-")) {
    errs.push("must not begin or end with a hyphen");
  }
  return errs;
}

/** Problems with a ConfigMap/Secret key. */
export function configKeyErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push("must be no more than 253 characters");
  if (!/^[-._a-zA-Z0-9]+$/.test(value)) {
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. " +
        "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  }
  if (value === "." || value === "..") errs.push(`must not be '${value}'`);
  else if (value.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

/** True for a dotted IPv4 address or an IPv6 address. */
export function isIP(value: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  if (v4) return v4.slice(1).every((p) => Number(p) <= 255 && String(Number(p)) === p);
  if (!value.includes(":")) return false;
  try {
    new URL(`http://[${value}]/`);
    return true;
  } catch {
    return false;
  }
}
