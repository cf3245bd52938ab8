/**
 * The OpenAPI string formats kube-openapi's strfmt checks, shared by a CRD schema's `format`
 * (schema.ts) and CEL's `format.<name>()` (cel_format_library.ts): `uuid`, `byte` (base64),
 * `date` and `date-time` (RFC 3339, with dates that exist, as Go's time.Parse checks).
 */

const UUID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** A calendar date that exists (no 30 February). */
function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** strfmt `uuid`: 8-4-4-4-12 hex digits, or 32 without the dashes. */
export function isUUID(s: string): boolean {
  return UUID.test(s);
}

/** strfmt `byte`: standard base64 with padding. */
export function isBase64(s: string): boolean {
  return BASE64.test(s);
}

/** strfmt `date`: `YYYY-MM-DD`, a day that exists. */
export function isDate(s: string): boolean {
  const m = DATE.exec(s);
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** strfmt `date-time`: RFC 3339 (`T`, `t` or a space between), a moment that exists. */
export function isDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  const [hh, mm, ss] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (hh > 23 || mm > 59 || ss > 59) return false;
  return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
}
