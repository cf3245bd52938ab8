/**
 * Resource lists as the quota system adds them up (Kubernetes' quota.Add, Subtract, Mask,
 * LessThanOrEqual): exact amounts in thousandths, each keeping the format it was written in so
 * a sum prints as kube-apiserver prints it (`64Mi` + `64Mi` = `128Mi`, `100m` + `1` = `1100m`).
 */
import {
  exactMillis,
  formatExactMillis,
  type QuantityFormat,
  quantityFormat,
} from "../../shared/api/quantity.ts";

/** One resource's amount: thousandths of a unit and the format it prints in. */
export interface Amount {
  millis: bigint;
  format: QuantityFormat;
}

/** Amounts by resource name (`pods`, `requests.cpu`, `count/secrets`). */
export type Usage = Map<string, Amount>;

/** An amount of whole units (object counts). */
export function units(n: number | bigint): Amount {
  return { millis: BigInt(n) * 1000n, format: "DecimalSI" };
}

/** Parses a stored resource list (`{cpu: "100m"}`). */
export function parseUsage(list: Record<string, string | number> | undefined): Usage {
  const out: Usage = new Map();
  for (const [name, q] of Object.entries(list ?? {})) {
    out.set(name, { millis: exactMillis(q), format: quantityFormat(q) });
  }
  return out;
}

/** The canonical string of one amount. */
export function formatAmount(a: Amount): string {
  return formatExactMillis(a.millis, a.format);
}

/** A resource list to store, names sorted. */
export function formatUsage(usage: Usage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...usage.keys()].sort()) out[name] = formatAmount(usage.get(name)!);
  return out;
}

/** Kubernetes' quantity addition: the sum takes the format of its first non-zero term. */
function plus(a: Amount, b: Amount): Amount {
  return { millis: a.millis + b.millis, format: a.millis === 0n ? b.format : a.format };
}

/** `a + b`, over the names of either. */
export function add(a: Usage, b: Usage): Usage {
  const out: Usage = new Map(a);
  for (const [name, amount] of b) {
    const mine = out.get(name);
    out.set(name, mine ? plus(mine, amount) : amount);
  }
  return out;
}

/** `a - b` name by name (names of either), never below zero (SubtractWithNonNegativeResult). */
export function subtractNonNegative(a: Usage, b: Usage): Usage {
  const out: Usage = new Map();
  for (const [name, amount] of a) {
    const millis = amount.millis - (b.get(name)?.millis ?? 0n);
    out.set(name, { millis: millis > 0n ? millis : 0n, format: amount.format });
  }
  for (const name of b.keys()) if (!out.has(name)) out.set(name, units(0));
  return out;
}

/** Only the amounts of `names`. */
export function mask(usage: Usage, names: Iterable<string>): Usage {
  const out: Usage = new Map();
  for (const name of names) {
    const amount = usage.get(name);
    if (amount) out.set(name, amount);
  }
  return out;
}

/** Without the zero amounts. */
export function removeZeros(usage: Usage): Usage {
  return new Map([...usage].filter(([, a]) => a.millis !== 0n));
}

/** The names whose amount in `used` is over the one in `hard` (names in both only). */
export function exceeded(used: Usage, hard: Usage): string[] {
  return [...hard].filter(([name, limit]) => {
    const amount = used.get(name);
    return amount !== undefined && amount.millis > limit.millis;
  }).map(([name]) => name);
}

/** The names with a negative amount, sorted. */
export function negatives(usage: Usage): string[] {
  return [...usage].filter(([, a]) => a.millis < 0n).map(([name]) => name).sort();
}

/** Same names, same amounts (formats aside), as Kubernetes' quota.Equals. */
export function equalUsage(a: Usage, b: Usage): boolean {
  if (a.size !== b.size) return false;
  for (const [name, amount] of a) if (b.get(name)?.millis !== amount.millis) return false;
  return true;
}

/** `name=amount` pairs sorted by name and joined by commas, as quota errors print them. */
export function prettyPrint(usage: Usage): string {
  return [...usage.keys()].sort().map((name) => `${name}=${formatAmount(usage.get(name)!)}`)
    .join(",");
}
