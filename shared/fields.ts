/**
 * Kubernetes field selectors (`metadata.name=web,spec.nodeName!=n1`): parsing, matching against
 * an object by dotted path, and the table of fields each kind supports, so that the server can
 * answer an unsupported field with Kubernetes' 400 `field label not supported: foo`.
 *
 * Values are compared as strings; an absent field reads as `""` (booleans as `"true"`/`"false"`,
 * with the absent booleans the Kubernetes field sets default to `"false"`).
 */

import { BadRequestError } from "./errors.ts";

/** One `field op value` term. */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: "=" | "==" | "!=";
  readonly value: string;
}

/** Fields that Kubernetes reports as `"false"` when the object leaves them unset. */
const FALSE_WHEN_ABSENT = new Set(["spec.unschedulable", "spec.hostNetwork"]);

/** Fields whose selector name differs from their path in the object. */
const FIELD_PATHS: Record<string, string> = {
  // Events: `source` selects on the reporting component.
  source: "source.component",
};

/** Reads a field of `obj` as the string a field selector compares with. */
export function fieldValue(obj: unknown, field: string): string {
  const path = (FIELD_PATHS[field] ?? field).split(".");
  let cur: unknown = obj;
  for (const part of path) {
    if (cur === null || typeof cur !== "object") {
      cur = undefined;
      break;
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return FALSE_WHEN_ABSENT.has(field) ? "false" : "";
  if (Array.isArray(cur)) {
    // status.podIPs: Kubernetes selects on the first entry's ip.
    const first = cur[0] as { ip?: string } | string | undefined;
    return typeof first === "string" ? first : first?.ip ?? "";
  }
  if (typeof cur === "object") return "";
  return String(cur);
}

/** A parsed field selector: an AND of requirements. */
export class FieldSelector {
  readonly requirements: readonly FieldRequirement[];

  constructor(requirements: FieldRequirement[]) {
    this.requirements = [...requirements];
  }

  /** True when there are no requirements (matches everything). */
  get empty(): boolean {
    return this.requirements.length === 0;
  }

  /** Whether `obj` satisfies every requirement. */
  matches(obj: unknown): boolean {
    return this.requirements.every((r) => {
      const actual = fieldValue(obj, r.field);
      return r.operator === "!=" ? actual !== r.value : actual === r.value;
    });
  }

  /** The value `field` must equal (from a `=`/`==` term), for index lookups; else undefined. */
  valueFor(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator !== "!=")?.value;
  }

  /** The fields referenced, in order. */
  get fields(): string[] {
    return this.requirements.map((r) => r.field);
  }

  /**
   * Throws BadRequestError `field label not supported: foo` for the first field not in
   * `supported` (see {@linkcode supportedFields}).
   */
  validate(supported: readonly string[]): void {
    for (const r of this.requirements) {
      if (!supported.includes(r.field)) {
        throw new BadRequestError(`field label not supported: ${r.field}`);
      }
    }
  }

  /** Canonical text: `a=b,c!=d` with `\`, `,` and `=` in values escaped. */
  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(",");
  }
}

function escapeValue(v: string): string {
  return v.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** Splits on unescaped commas, keeping backslash escapes for the term parser. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length) {
      cur += c + text[i + 1];
      i++;
    } else if (c === ",") {
      terms.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  terms.push(cur);
  return terms;
}

function unescape(v: string, whole: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === "\\") {
      const n = v[i + 1];
      if (n === "\\" || n === "," || n === "=") {
        out += n;
        i++;
        continue;
      }
      throw new BadRequestError(`invalid field selector: '${whole}': invalid escape sequence`);
    }
    if (c === "," || c === "=") {
      throw new BadRequestError(`invalid field selector: '${whole}': unescaped ${c} in value`);
    }
    out += c;
  }
  return out;
}

/**
 * Parses `field=value`, `field==value`, `field!=value` terms joined by `,` (values may escape
 * `\,`, `\=`, `\\`). `""` selects everything. Throws BadRequestError like Kubernetes:
 * `invalid selector: 'foo'; can't understand 'foo'`.
 */
export function parseFieldSelector(text: string): FieldSelector {
  const reqs: FieldRequirement[] = [];
  if (text.trim() === "") return new FieldSelector([]);
  for (const term of splitTerms(text)) {
    if (term === "") continue;
    // Find the first operator outside an escape.
    let idx = -1;
    let op: FieldRequirement["operator"] | undefined;
    for (let i = 0; i < term.length; i++) {
      if (term[i] === "\\") {
        i++;
        continue;
      }
      if (term.startsWith("!=", i)) {
        idx = i;
        op = "!=";
        break;
      }
      if (term.startsWith("==", i)) {
        idx = i;
        op = "==";
        break;
      }
      if (term[i] === "=") {
        idx = i;
        op = "=";
        break;
      }
    }
    if (op === undefined) {
      throw new BadRequestError(`invalid selector: '${text}'; can't understand '${term}'`);
    }
    const field = term.slice(0, idx).trim();
    if (field === "") {
      throw new BadRequestError(`invalid selector: '${text}'; can't understand '${term}'`);
    }
    const value = unescape(term.slice(idx + op.length), text);
    reqs.push({ field, operator: op === "==" ? "=" : op, value });
  }
  return new FieldSelector(reqs);
}

/** Builds the selector `field1=v1,field2=v2` from exact values. */
export function fieldSelectorFromSet(set: Record<string, string>): FieldSelector {
  return new FieldSelector(
    Object.entries(set).map(([field, value]) => ({ field, operator: "=" as const, value })),
  );
}

const META = ["metadata.name", "metadata.namespace"];

/** Supported selector fields per kind, as kube-apiserver registers them. */
const SUPPORTED: Record<string, readonly string[]> = {
  Pod: [
    ...META,
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
  ],
  Node: [...META, "spec.unschedulable"],
  Namespace: [...META, "status.phase"],
  Secret: [...META, "type"],
  Event: [
    ...META,
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  ReplicationController: [...META, "status.replicas"],
  ReplicaSet: [...META, "status.replicas"],
};

/** The field-selector fields a kind supports (`metadata.name` and `metadata.namespace` for all). */
export function supportedFields(kind: string): readonly string[] {
  return SUPPORTED[kind] ?? META;
}
