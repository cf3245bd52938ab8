/**
 * Kubernetes label selectors: the query-string grammar (`app=web,tier in (a,b),!canary`), the
 * structured `LabelSelector` of workload specs (`matchLabels` + `matchExpressions`), matching
 * against an object's labels, and the validity rules for label keys and values.
 *
 * Semantics follow Kubernetes' `labels` package: requirements are ANDed; `!=` and `notin` also
 * match objects that lack the key; a `nil` structured selector selects nothing while `{}` selects
 * everything.
 */

import { dns1123SubdomainErrors } from "./api/field_errors.ts";
import { BadRequestError } from "./errors.ts";

/** A requirement's operator, spelled as in Kubernetes' `selection.Operator`. */
export type Operator =
  | "="
  | "=="
  | "!="
  | "in"
  | "notin"
  | "exists"
  | "!"
  | "gt"
  | "lt";

/** One `key op values` term of a selector. */
export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  /** Sorted, de-duplicated values; empty for `exists` and `!`. */
  readonly values: readonly string[];
}

/** The structured selector of workload specs (`spec.selector` of a Deployment, ...). */
export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?:
    | {
      key: string;
      operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | string;
      values?: string[] | null;
    }[]
    | null;
}

/** A parsed label selector: an AND of requirements, or the special selector matching nothing. */
export class Selector {
  /** Requirements sorted by key (the canonical order Kubernetes prints). */
  readonly requirements: readonly Requirement[];
  readonly #nothing: boolean;

  private constructor(requirements: Requirement[], nothing: boolean) {
    this.requirements = [...requirements].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : 0
    );
    this.#nothing = nothing;
  }

  /** The selector that matches every object. */
  static everything(): Selector {
    return new Selector([], false);
  }

  /** The selector that matches no object (Kubernetes' `labels.Nothing()`). */
  static nothing(): Selector {
    return new Selector([], true);
  }

  /** Builds a selector from already-validated requirements. */
  static of(requirements: Requirement[]): Selector {
    return new Selector(requirements, false);
  }

  /** True when the selector has no requirements and so matches everything. */
  get empty(): boolean {
    return !this.#nothing && this.requirements.length === 0;
  }

  /** True for {@linkcode Selector.nothing}. */
  get matchesNothing(): boolean {
    return this.#nothing;
  }

  /** Whether `labels` (absent = no labels) satisfies every requirement. */
  matches(labels?: Record<string, string> | null): boolean {
    if (this.#nothing) return false;
    const set = labels ?? {};
    return this.requirements.every((r) => requirementMatches(r, set));
  }

  /**
   * The value an object must have for `key` when the selector pins it with `=`, `==` or a
   * one-value `in` — handy for index lookups. Undefined otherwise.
   */
  requiresExactMatch(key: string): string | undefined {
    for (const r of this.requirements) {
      if (r.key !== key) continue;
      if (
        (r.operator === "=" || r.operator === "==" || r.operator === "in") && r.values.length === 1
      ) {
        return r.values[0];
      }
    }
    return undefined;
  }

  /** Canonical text, e.g. `app=web,tier in (a,b)`; `""` for everything and nothing. */
  toString(): string {
    return this.requirements.map(requirementString).join(",");
  }
}

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case "=":
    case "==":
    case "in":
      return has && r.values.includes(value!);
    case "!=":
    case "notin":
      return !has || !r.values.includes(value!);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const actual = Number(value);
      const bound = Number(r.values[0]);
      return r.operator === "gt" ? actual > bound : actual < bound;
    }
  }
}

/** One requirement as Kubernetes prints it. */
export function requirementString(r: Requirement): string {
  switch (r.operator) {
    case "exists":
      return r.key;
    case "!":
      return `!${r.key}`;
    case "in":
    case "notin":
      return `${r.key} ${r.operator} (${r.values.join(",")})`;
    case "gt":
      return `${r.key}>${r.values[0]}`;
    case "lt":
      return `${r.key}<${r.values[0]}`;
    default:
      return `${r.key}${r.operator}${r.values[0]}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Validity of keys and values (Kubernetes' qualified names and label values).

const NAME_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/**
 * Problems with a label key (a qualified name: optional DNS-subdomain prefix + `/` + name of at
 * most 63 characters); an empty array when it is valid.
 */
export function labelKeyErrors(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (prefix.length === 0) {
      errs.push("prefix part must be non-empty");
    } else {
      for (const e of dns1123SubdomainErrors(prefix)) errs.push(`prefix part ${e}`);
    }
  } else {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start " +
      "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " +
      "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional " +
      "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  // As IsQualifiedName: an empty or long name part also fails the pattern, and says both.
  if (name.length === 0) {
    errs.push("name part must be non-empty");
  } else if (name.length > 63) {
    errs.push("name part must be no more than 63 characters");
  }
  if (!NAME_RE.test(name)) {
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end " +
        "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used " +
        "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  }
  return errs;
}

/** Problems with a label value (empty, or at most 63 name characters); empty when valid. */
export function labelValueErrors(value: string): string[] {
  if (value.length === 0) return [];
  const errs: string[] = [];
  if (value.length > 63) errs.push("must be no more than 63 characters");
  if (!NAME_RE.test(value)) {
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or " +
        "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or " +
        "'my_value',  or '12345', regex used for validation is " +
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  }
  return errs;
}

/** True when `key` is a valid label key. */
export function isValidLabelKey(key: string): boolean {
  return labelKeyErrors(key).length === 0;
}

/** True when `value` is a valid label value. */
export function isValidLabelValue(value: string): boolean {
  return labelValueErrors(value).length === 0;
}

// ---------------------------------------------------------------------------------------------
// Building requirements.

/**
 * Builds one validated requirement; throws BadRequestError with Kubernetes' wording when the key
 * or a value is invalid or the value count does not fit the operator.
 */
export function newRequirement(
  key: string,
  operator: Operator,
  values: string[] = [],
): Requirement {
  const keyErrs = labelKeyErrors(key);
  if (keyErrs.length > 0) {
    throw new BadRequestError(
      `unable to parse requirement: invalid label key ${JSON.stringify(key)}: ${
        keyErrs.join("; ")
      }`,
    );
  }
  switch (operator) {
    case "in":
    case "notin":
      if (values.length === 0) {
        throw new BadRequestError(
          "unable to parse requirement: values: Invalid value: []: " +
            "for 'in', 'notin' operators, values set can't be empty",
        );
      }
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1) {
        throw new BadRequestError(
          "unable to parse requirement: values: Invalid value: " +
            `${JSON.stringify(values)}: exact-match compatibility requires one single value`,
        );
      }
      break;
    case "exists":
    case "!":
      if (values.length !== 0) {
        throw new BadRequestError(
          "unable to parse requirement: values: Invalid value: " +
            `${JSON.stringify(values)}: values set must be empty for exists and does not exist`,
        );
      }
      break;
    case "gt":
    case "lt":
      if (values.length !== 1 || !/^-?\d+$/.test(values[0])) {
        throw new BadRequestError(
          "unable to parse requirement: values: Invalid value: " +
            `${
              JSON.stringify(values)
            }: for 'Gt', 'Lt' operators, exactly one integer value is required`,
        );
      }
      break;
  }
  for (const v of values) {
    if (operator === "gt" || operator === "lt") break;
    const errs = labelValueErrors(v);
    if (errs.length > 0) {
      throw new BadRequestError(
        `unable to parse requirement: invalid label value: ${JSON.stringify(v)}: at key: ${
          JSON.stringify(key)
        }: ${errs.join("; ")}`,
      );
    }
  }
  return { key, operator, values: [...new Set(values)].sort() };
}

/** The selector matching exactly the given labels (`a=b,c=d`); `{}` or absent → everything. */
export function selectorFromSet(labels?: Record<string, string> | null): Selector {
  const reqs = Object.entries(labels ?? {}).map(([k, v]) => newRequirement(k, "=", [v]));
  return Selector.of(reqs);
}

/**
 * Converts a structured `LabelSelector`. As in Kubernetes' `LabelSelectorAsSelector`: `null` or
 * `undefined` selects nothing, `{}` selects everything. Bad operators or values throw
 * BadRequestError.
 */
export function selectorFromLabelSelector(ls: LabelSelector | null | undefined): Selector {
  if (ls === null || ls === undefined) return Selector.nothing();
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) {
    reqs.push(newRequirement(k, "=", [v]));
  }
  for (const expr of ls.matchExpressions ?? []) {
    const values = expr.values ?? [];
    switch (expr.operator) {
      case "In":
        reqs.push(newRequirement(expr.key, "in", values));
        break;
      case "NotIn":
        reqs.push(newRequirement(expr.key, "notin", values));
        break;
      case "Exists":
        reqs.push(newRequirement(expr.key, "exists", values));
        break;
      case "DoesNotExist":
        reqs.push(newRequirement(expr.key, "!", values));
        break;
      default:
        throw new BadRequestError(
          `${JSON.stringify(expr.operator)} is not a valid label selector operator`,
        );
    }
  }
  return Selector.of(reqs);
}

// ---------------------------------------------------------------------------------------------
// The query-string grammar.

type TokenKind =
  | "ident"
  | "in"
  | "notin"
  | "="
  | "=="
  | "!="
  | "!"
  | "("
  | ")"
  | ","
  | ">"
  | "<"
  | "end";

interface Token {
  kind: TokenKind;
  text: string;
}

const SPECIAL = new Set([" ", "\t", "\n", "\r", ",", "(", ")", "=", "!", "<", ">"]);

function lex(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === "==" || two === "!=") {
      out.push({ kind: two, text: two });
      i += 2;
      continue;
    }
    if (c === "=" || c === "!" || c === "(" || c === ")" || c === "," || c === "<" || c === ">") {
      out.push({ kind: c, text: c });
      i++;
      continue;
    }
    let j = i;
    while (j < input.length && !SPECIAL.has(input[j])) j++;
    const word = input.slice(i, j);
    out.push({ kind: word === "in" ? "in" : word === "notin" ? "notin" : "ident", text: word });
    i = j;
  }
  out.push({ kind: "end", text: "" });
  return out;
}

/** A token as Kubernetes' parser quotes it in errors (the end of input is `''`). */
function describe(t: Token): string {
  return `'${t.text}'`;
}

/**
 * Parses a label selector in the query-string grammar: comma-separated (ANDed) requirements of
 * the forms `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a` (exists), `!a`, `a>1`, `a<1`.
 * Whitespace is ignored around tokens. `""` selects everything. Throws BadRequestError on bad
 * syntax, an invalid key or an invalid value.
 */
export function parseSelector(text: string): Selector {
  const tokens = lex(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const fail = (msg: string): never => {
    throw new BadRequestError(`unable to parse requirement: ${msg}`);
  };
  // Keywords are ordinary words where a key or value is expected.
  const isWord = (t: Token) => t.kind === "ident" || t.kind === "in" || t.kind === "notin";

  const reqs: Requirement[] = [];
  if (peek().kind === "end") return Selector.of([]);
  while (true) {
    let t = next();
    if (t.kind === "!") {
      t = next();
      if (!isWord(t)) fail(`found ${describe(t)}, expected: identifier after '!'`);
      reqs.push(newRequirement(t.text, "!"));
    } else if (isWord(t)) {
      const key = t.text;
      const op = peek();
      switch (op.kind) {
        case "end":
        case ",":
          reqs.push(newRequirement(key, "exists"));
          break;
        case "=":
        case "==":
        case "!=": {
          next();
          const v = peek();
          if (v.kind === "end" || v.kind === ",") {
            reqs.push(newRequirement(key, op.kind, [""]));
          } else if (isWord(v)) {
            next();
            reqs.push(newRequirement(key, op.kind, [v.text]));
          } else {
            fail(`found ${describe(v)}, expected: identifier`);
          }
          break;
        }
        case ">":
        case "<": {
          next();
          const v = next();
          if (!isWord(v)) fail(`found ${describe(v)}, expected: identifier`);
          reqs.push(newRequirement(key, op.kind === ">" ? "gt" : "lt", [v.text]));
          break;
        }
        case "in":
        case "notin": {
          next();
          const open = next();
          if (open.kind !== "(") fail(`found ${describe(open)}, expected: '('`);
          const values: string[] = [];
          if (peek().kind === ")") {
            next();
          } else {
            while (true) {
              const v = peek();
              if (isWord(v)) {
                next();
                values.push(v.text);
              } else if (v.kind === "," || v.kind === ")") {
                // `(a,,b)` and `(a,)` carry an empty value, as in Kubernetes.
                values.push("");
              } else {
                fail(`found ${describe(v)}, expected: ',', ')' or identifier`);
              }
              const sep = next();
              if (sep.kind === ")") break;
              if (sep.kind !== ",") fail(`found ${describe(sep)}, expected: ',' or ')'`);
            }
          }
          reqs.push(newRequirement(key, op.kind, values));
          break;
        }
        default:
          fail(
            `found ${describe(op)}, expected: in, notin, =, ==, !=, gt, lt`,
          );
      }
    } else {
      fail(`found ${describe(t)}, expected: !, identifier`);
    }
    const sep = next();
    if (sep.kind === "end") break;
    if (sep.kind !== ",") fail(`found ${describe(sep)}, expected: ',' or 'end of string'`);
    if (peek().kind === "end") fail("found '', expected: !, identifier");
  }
  return Selector.of(reqs);
}
