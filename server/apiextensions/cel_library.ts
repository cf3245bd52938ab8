/**
 * The CEL environment CRD validation rules are compiled and run in: `self` and `oldSelf` as
 * dynamic values, optional types (`self.?x.orValue(y)`), and the Kubernetes CEL libraries rules
 * written for kube-apiserver use, added where the evaluator lacks them — the extended strings
 * (`charAt`, `replace`, `reverse`, `strings.quote`), lists (`isSorted`, `sum`,
 * `min`, `max`, `indexOf`, `lastIndexOf`, `flatten`), regex (`find`, `findAll`), URLs (`isURL`,
 * `url(...)` and its getters) and quantities (`isQuantity`, `quantity(...)` compared and read as
 * numbers), IP addresses and CIDRs (cel_ip_library.ts) and named string formats
 * (cel_format_library.ts). A rule calling anything else does not compile, so the CRD carrying it is refused
 * instead of the rule being skipped.
 *
 * The evaluator is @marcbachmann/cel-js (a zero-dependency CEL implementation): it runs only in
 * the server, never on a node, so it costs the node's memory budget nothing.
 */
import { Environment } from "@marcbachmann/cel-js";
import { registerFormatLibrary } from "./cel_format_library.ts";
import { registerIPLibraries } from "./cel_ip_library.ts";
import { parseQuantity } from "../../shared/api/quantity.ts";
import { jsonEqual } from "../../shared/api/validation.ts";

/** The value `url(...)` returns (Kubernetes' URL type). */
export class CelUrl {
  constructor(readonly url: URL) {}
}

/** The `strings` namespace of `strings.quote(...)`. */
class StringsNamespace {}

/** The value `quantity(...)` returns (Kubernetes' Quantity type). */
export class CelQuantity {
  constructor(readonly text: string, readonly value: number) {}
}

type CelValue = unknown;

function compare(a: CelValue, b: CelValue): number {
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  const x = Number(a), y = Number(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** CEL equality of list elements: ints and doubles compare by value, the rest as JSON. */
function sameValue(a: CelValue, b: CelValue): boolean {
  if (typeof a === "bigint" || typeof b === "bigint") return compare(a, b) === 0;
  return jsonEqual(a, b);
}

function parseUrl(s: string): URL | undefined {
  // Kubernetes' isURL accepts absolute URLs and absolute paths (Go's url.Parse, RequestURI form).
  try {
    return new URL(s);
  } catch {
    return s.startsWith("/") ? new URL(s, "http://relative.invalid") : undefined;
  }
}

function quantityOf(s: string): CelQuantity {
  return new CelQuantity(s, parseQuantity(s));
}

function isQuantity(s: string): boolean {
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

function lastIndexOf(list: CelValue[], x: CelValue): bigint {
  for (let i = list.length - 1; i >= 0; i--) if (sameValue(list[i], x)) return BigInt(i);
  return -1n;
}

/**
 * A new environment with Kubernetes' CEL libraries and `self`/`oldSelf` declared; with
 * `optionalOldSelf`, `oldSelf` is an `optional` (a rule's `optionalOldSelf: true`).
 */
export function validationRuleEnvironment(optionalOldSelf = false): Environment {
  const env = new Environment({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: false,
  })
    .registerVariable("self", "dyn")
    .registerVariable("oldSelf", optionalOldSelf ? "optional<dyn>" : "dyn")
    .registerType("URL", { ctor: CelUrl })
    .registerType("Quantity", { ctor: CelQuantity })
    .registerType("StringsNamespace", { ctor: StringsNamespace })
    .registerConstant("strings", "StringsNamespace", new StringsNamespace());

  // Strings (cel-go's strings extension, the parts the evaluator lacks).
  env
    .registerFunction("string.charAt(int): string", (s: string, i: bigint) => {
      if (i < 0n || i > BigInt(s.length)) throw new Error(`index out of range: ${i}`);
      return s.charAt(Number(i));
    })
    .registerFunction(
      "string.replace(string, string): string",
      (s: string, a: string, b: string) => s.replaceAll(a, b),
    )
    .registerFunction(
      "string.replace(string, string, int): string",
      (s: string, a: string, b: string, n: bigint) => {
        let out = s;
        let from = 0;
        for (let k = 0n; n < 0n || k < n; k++) {
          const at = out.indexOf(a, from);
          if (at < 0) break;
          out = out.slice(0, at) + b + out.slice(at + a.length);
          from = at + b.length + (a === "" ? 1 : 0);
        }
        return out;
      },
    )
    .registerFunction("string.reverse(): string", (s: string) => [...s].reverse().join(""))
    .registerFunction(
      "StringsNamespace.quote(string): string",
      (_ns: StringsNamespace, s: string) => JSON.stringify(s),
    );

  // Lists (Kubernetes' lists library).
  env
    .registerFunction(
      "list.isSorted(): bool",
      (l: CelValue[]) => l.every((x, i) => i === 0 || compare(l[i - 1], x) <= 0),
    )
    .registerFunction("list.sum(): dyn", (l: CelValue[]) => {
      if (l.length === 0) return 0n;
      if (l.every((x) => typeof x === "bigint")) {
        return (l as bigint[]).reduce((a, b) => a + b, 0n);
      }
      return l.reduce((a: number, b) => a + Number(b), 0);
    })
    .registerFunction("list.min(): dyn", (l: CelValue[]) => {
      if (l.length === 0) throw new Error("min called on an empty list");
      return l.reduce((a, b) => compare(b, a) < 0 ? b : a);
    })
    .registerFunction("list.max(): dyn", (l: CelValue[]) => {
      if (l.length === 0) throw new Error("max called on an empty list");
      return l.reduce((a, b) => compare(b, a) > 0 ? b : a);
    })
    .registerFunction(
      "list.indexOf(dyn): int",
      (l: CelValue[], x: CelValue) => BigInt(l.findIndex((y) => sameValue(y, x))),
    )
    .registerFunction("list.lastIndexOf(dyn): int", lastIndexOf)
    .registerFunction("list.flatten(): list", (l: CelValue[]) => l.flat());

  // Regex (Kubernetes' regex library; RE2 syntax is close enough to JavaScript's for these).
  env
    .registerFunction(
      "string.find(string): string",
      (s: string, re: string) => new RegExp(re).exec(s)?.[0] ?? "",
    )
    .registerFunction(
      "string.findAll(string): list<string>",
      (s: string, re: string) => [...s.matchAll(new RegExp(re, "g"))].map((m) => m[0]),
    )
    .registerFunction(
      "string.findAll(string, int): list<string>",
      (s: string, re: string, n: bigint) => {
        const all = [...s.matchAll(new RegExp(re, "g"))].map((m) => m[0]);
        return n < 0n ? all : all.slice(0, Number(n));
      },
    );

  // URLs (Kubernetes' URL library).
  env
    .registerFunction("isURL(string): bool", (s: string) => parseUrl(s) !== undefined)
    .registerFunction("url(string): URL", (s: string) => {
      const u = parseUrl(s);
      if (!u) throw new Error(`URL parse error during conversion from string: ${s}`);
      return new CelUrl(u);
    })
    .registerFunction("URL.getScheme(): string", (u: CelUrl) => u.url.protocol.replace(/:$/, ""))
    .registerFunction("URL.getHost(): string", (u: CelUrl) => u.url.host)
    .registerFunction(
      "URL.getHostname(): string",
      (u: CelUrl) => u.url.hostname.replace(/^\[(.*)\]$/, "$1"),
    )
    .registerFunction("URL.getPort(): string", (u: CelUrl) => u.url.port)
    .registerFunction("URL.getEscapedPath(): string", (u: CelUrl) => u.url.pathname)
    .registerFunction("URL.getQuery(): map", (u: CelUrl) => {
      const out: Record<string, string[]> = {};
      for (const [k, v] of u.url.searchParams) (out[k] ??= []).push(v);
      return out;
    });

  // Quantities (Kubernetes' quantity library).
  env
    .registerFunction("isQuantity(string): bool", isQuantity)
    .registerFunction("quantity(string): Quantity", quantityOf)
    .registerFunction("Quantity.isInteger(): bool", (q: CelQuantity) => Number.isInteger(q.value))
    .registerFunction("Quantity.asInteger(): int", (q: CelQuantity) => {
      if (!Number.isInteger(q.value)) throw new Error(`cannot convert value to integer`);
      return BigInt(q.value);
    })
    .registerFunction("Quantity.asApproximateFloat(): double", (q: CelQuantity) => q.value)
    .registerFunction("Quantity.sign(): int", (q: CelQuantity) => BigInt(Math.sign(q.value)))
    .registerFunction(
      "Quantity.compareTo(Quantity): int",
      (a: CelQuantity, b: CelQuantity) => BigInt(compare(a.value, b.value)),
    )
    .registerFunction(
      "Quantity.isLessThan(Quantity): bool",
      (a: CelQuantity, b: CelQuantity) => a.value < b.value,
    )
    .registerFunction(
      "Quantity.isGreaterThan(Quantity): bool",
      (a: CelQuantity, b: CelQuantity) => a.value > b.value,
    )
    .registerFunction(
      "Quantity.add(Quantity): Quantity",
      (a: CelQuantity, b: CelQuantity) =>
        new CelQuantity(String(a.value + b.value), a.value + b.value),
    )
    .registerFunction(
      "Quantity.sub(Quantity): Quantity",
      (a: CelQuantity, b: CelQuantity) =>
        new CelQuantity(String(a.value - b.value), a.value - b.value),
    );
  return registerFormatLibrary(registerIPLibraries(env));
}
