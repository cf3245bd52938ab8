/**
 * Kubernetes resource quantities (`100m`, `64Mi`, `1.5Gi`, `2`, `1e3`): parsing into exact
 * values, the canonical-ish string forms the API prints, and the zod schema of a quantity field.
 *
 * Values are parsed exactly (BigInt rational arithmetic), so `quantityMillis("0.1")` is 100 and
 * never 100.00000000000001; as in Kubernetes' `MilliValue`/`Value`, fractions round up.
 */
import { z } from "zod";

const QUANTITY_RE =
  /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([eE][+-]?[0-9]+)|([numkMGTPE]|[KMGTPE]i)?)$/;

const DECIMAL_SUFFIX: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const BINARY_SUFFIX: Record<string, number> = {
  Ki: 10,
  Mi: 20,
  Gi: 30,
  Ti: 40,
  Pi: 50,
  Ei: 60,
};

/** The message Kubernetes gives for an unparseable quantity. */
export const QUANTITY_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** An exact quantity: `numerator / denominator`, both non-negative except the sign on the top. */
interface Rational {
  num: bigint;
  den: bigint;
}

function parseRational(q: string | number): Rational {
  const text = typeof q === "number" ? numberText(q) : q.trim();
  const m = QUANTITY_RE.exec(text);
  if (!m) throw new Error(`unable to parse quantity "${text}": ${QUANTITY_ERROR}`);
  const [, sign, digits, exponent, suffix = ""] = m;
  const [whole, frac = ""] = digits.split(".");
  let num = BigInt((whole || "0") + frac);
  let den = 10n ** BigInt(frac.length);
  let exp10 = 0;
  if (exponent) exp10 = Number(exponent.slice(1));
  else if (suffix in DECIMAL_SUFFIX) exp10 = DECIMAL_SUFFIX[suffix];
  else num *= 2n ** BigInt(BINARY_SUFFIX[suffix]);
  if (Math.abs(exp10) > 60) throw new Error(`unable to parse quantity "${text}": out of range`);
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den *= 10n ** BigInt(-exp10);
  if (sign === "-") num = -num;
  return { num, den };
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`unable to parse quantity "${n}": not finite`);
  return String(n);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b > 0n ? q + 1n : q;
}

/**
 * The value of a quantity as a JavaScript number (`"100m"` → 0.1, `"64Mi"` → 67108864,
 * `"1e3"` → 1000). Throws an Error naming the quantity when it does not parse.
 */
export function parseQuantity(q: string | number): number {
  const { num, den } = parseRational(q);
  return Number(num) / Number(den);
}

/** The quantity in thousandths, rounded up (`"100m"` → 100, `"1.5"` → 1500): CPU millicores. */
export function quantityMillis(q: string | number): number {
  const { num, den } = parseRational(q);
  return Number(ceilDiv(num * 1000n, den));
}

/** The quantity as a whole number, rounded up (`"64Mi"` → 67108864, `"100m"` → 1): bytes. */
export function quantityValue(q: string | number): number {
  const { num, den } = parseRational(q);
  return Number(ceilDiv(num, den));
}

/** True when `q` is a well-formed quantity. */
export function isQuantity(q: unknown): boolean {
  if (typeof q !== "string" && typeof q !== "number") return false;
  try {
    parseRational(q);
    return true;
  } catch {
    return false;
  }
}

/**
 * Formats a number as a quantity. `"BinarySI"` (memory) uses the largest of Ki..Ei that divides
 * the value exactly; `"DecimalSI"` (CPU, the default) uses k..E, or `m` for fractional values
 * (rounded up to a whole milli, as Kubernetes does).
 */
export function formatQuantity(
  value: number,
  options: { format?: "DecimalSI" | "BinarySI" } = {},
): string {
  if (!Number.isFinite(value)) throw new Error(`cannot format quantity ${value}`);
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(value);
  if (!Number.isInteger(abs)) {
    return `${sign}${Math.ceil(Math.round(abs * 1e9) / 1e6)}m`;
  }
  if (abs === 0) return "0";
  if (options.format === "BinarySI") {
    for (const suffix of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
      const unit = 2 ** BINARY_SUFFIX[suffix];
      if (abs >= unit && abs % unit === 0) return `${sign}${abs / unit}${suffix}`;
    }
    return `${sign}${abs}`;
  }
  for (const suffix of ["E", "P", "T", "G", "M", "k"]) {
    const unit = 10 ** DECIMAL_SUFFIX[suffix];
    if (abs >= unit && abs % unit === 0) return `${sign}${abs / unit}${suffix}`;
  }
  return `${sign}${abs}`;
}

/** Formats CPU millicores as Kubernetes prints them (`250` → `"250m"`, `2000` → `"2"`). */
export function formatMillis(millis: number): string {
  const m = Math.ceil(millis);
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

/** How Kubernetes prints a quantity: its suffix family, kept through arithmetic. */
export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

/** The format a quantity was written in (`64Mi` → BinarySI, `1e3` → DecimalExponent). */
export function quantityFormat(q: string | number): QuantityFormat {
  const m = QUANTITY_RE.exec(typeof q === "number" ? numberText(q) : q.trim());
  if (m?.[3]) return "DecimalExponent";
  if (m?.[4]?.endsWith("i")) return "BinarySI";
  return "DecimalSI";
}

/**
 * The quantity in thousandths, rounded up, as a bigint: exact at any size (the quota system adds
 * up terabytes of storage requests, past what a number holds to the milli).
 */
export function exactMillis(q: string | number): bigint {
  const { num, den } = parseRational(q);
  return ceilDiv(num * 1000n, den);
}

/**
 * The canonical string of an amount in thousandths (Kubernetes' `Quantity.String()`): DecimalSI
 * picks the largest of k..E that leaves a whole number (`1500k`, `2`, `250m`); BinarySI the
 * largest of Ki..Ei, falling back to DecimalSI below 1024 or for fractions; DecimalExponent
 * writes `<mantissa>e<exponent>` with the exponent a multiple of 3 (`1e3`, `100e-3`).
 */
export function formatExactMillis(millis: bigint, format: QuantityFormat = "DecimalSI"): string {
  const sign = millis < 0n ? "-" : "";
  const abs = millis < 0n ? -millis : millis;
  if (abs === 0n) return "0";
  const whole = abs % 1000n === 0n ? abs / 1000n : undefined;
  if (format === "DecimalExponent") {
    if (whole === undefined) return `${sign}${abs}e-3`;
    let exp = 0;
    let mantissa = whole;
    while (mantissa % 1000n === 0n) {
      mantissa /= 1000n;
      exp += 3;
    }
    return exp === 0 ? `${sign}${mantissa}` : `${sign}${mantissa}e${exp}`;
  }
  if (whole === undefined) return `${sign}${abs}m`;
  if (format === "BinarySI" && whole >= 1024n) {
    for (const suffix of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
      const unit = 2n ** BigInt(BINARY_SUFFIX[suffix]);
      if (whole % unit === 0n) return `${sign}${whole / unit}${suffix}`;
    }
    return `${sign}${whole}`;
  }
  for (const suffix of ["E", "P", "T", "G", "M", "k"]) {
    const unit = 10n ** BigInt(DECIMAL_SUFFIX[suffix]);
    if (whole % unit === 0n) return `${sign}${whole / unit}${suffix}`;
  }
  return `${sign}${whole}`;
}

/** A quantity as Kubernetes prints it back (`1000m` → `1`, `2048Mi` → `2Gi`). */
export function canonicalQuantity(q: string | number): string {
  return formatExactMillis(exactMillis(q), quantityFormat(q));
}

/**
 * A quantity field (`resources.limits.cpu`). Manifests may carry a bare number (`cpu: 1`); the
 * value is always stored as a string. Invalid strings are rejected with Kubernetes' message.
 */
export const Quantity = z
  .union([z.string(), z.number()])
  .refine(isQuantity, { message: QUANTITY_ERROR })
  .transform((q) => (typeof q === "number" ? numberText(q) : q))
  .meta({ id: "io.k8s.apimachinery.pkg.api.resource.Quantity" });
export type Quantity = z.infer<typeof Quantity>;

/** A map of resource name to quantity (`{cpu: "100m", memory: "64Mi"}`). */
export const ResourceList = z.record(z.string(), Quantity);
export type ResourceList = z.infer<typeof ResourceList>;
