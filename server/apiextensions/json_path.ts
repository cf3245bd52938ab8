/**
 * The simple JSONPath of CRD printer columns and scale subresource paths (`.spec.replicas`,
 * `.status.conditions[0].type`, `.spec.items[*].name`, `.metadata.labels['app.kubernetes.io/name']`):
 * parsed once into steps, evaluated against an object.
 */

/** One step: a field name, an index, or `*` (every element). */
export type JsonPathStep = { field: string } | { index: number } | { all: true };

const cache = new Map<string, JsonPathStep[] | null>();

/** Parses a path starting with `.` (an optional `{…}` wrapper is accepted); null when invalid. */
export function parseJsonPath(path: unknown): JsonPathStep[] | null {
  if (typeof path !== "string") return null;
  let hit = cache.get(path);
  if (hit !== undefined) return hit;
  hit = parse(path.replace(/^\{(.*)\}$/, "$1"));
  if (cache.size > 1000) cache.clear();
  cache.set(path, hit);
  return hit;
}

function parse(text: string): JsonPathStep[] | null {
  if (!text.startsWith(".")) return null;
  const steps: JsonPathStep[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ".") {
      const m = /^\.([A-Za-z0-9_$-]+)/.exec(text.slice(i));
      if (!m) return null;
      steps.push({ field: m[1] });
      i += m[0].length;
    } else if (text[i] === "[") {
      const rest = text.slice(i);
      const m = /^\[(\d+|\*|'[^']*'|"[^"]*")\]/.exec(rest);
      if (!m) return null;
      const v = m[1];
      if (v === "*") steps.push({ all: true });
      else if (/^\d+$/.test(v)) steps.push({ index: Number(v) });
      else steps.push({ field: v.slice(1, -1) });
      i += m[0].length;
    } else {
      return null;
    }
  }
  return steps.length > 0 ? steps : null;
}

/** Every value the path reaches in `obj` (none when a step is missing). */
export function evaluateJsonPath(obj: unknown, steps: JsonPathStep[]): unknown[] {
  let current: unknown[] = [obj];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if ("field" in step) {
        if (typeof v === "object" && v !== null && !Array.isArray(v) && step.field in v) {
          next.push((v as Record<string, unknown>)[step.field]);
        }
      } else if ("index" in step) {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if (Array.isArray(v)) {
        next.push(...v);
      } else if (typeof v === "object" && v !== null) {
        next.push(...Object.values(v));
      }
    }
    current = next;
  }
  return current;
}

/** Sets a field path (fields only) in `obj`, creating objects on the way. */
export function setJsonPath(
  obj: Record<string, unknown>,
  steps: JsonPathStep[],
  value: unknown,
): void {
  let cur: Record<string, unknown> = obj;
  steps.forEach((step, i) => {
    if (!("field" in step)) throw new Error("only field paths can be set");
    if (i === steps.length - 1) {
      cur[step.field] = value;
      return;
    }
    const next = cur[step.field];
    if (typeof next !== "object" || next === null || Array.isArray(next)) cur[step.field] = {};
    cur = cur[step.field] as Record<string, unknown>;
  });
}
