/**
 * The patch metadata strategic merge patch needs — which list fields merge (and by which key)
 * instead of being replaced — read from the API's zod schemas, which carry Kubernetes'
 * `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` (the same annotations the
 * OpenAPI document publishes, so kubectl and the server agree on every list).
 *
 * Lists without an annotation are replaced wholesale; maps and structs always merge key by key.
 * Kinds outside the resource table only get ObjectMeta's semantics.
 */

import { z } from "zod";
import { ObjectMeta } from "../../../shared/api/meta.ts";
import { RESOURCES } from "../../../shared/api/resources.ts";

/** A position in a schema: an opaque handle passed back to {@linkcode fieldPatchMeta}. */
export type PatchSchema = { readonly _zod: unknown };

/** How one field is patched. */
export interface FieldPatchMeta {
  /** The schema of the field's value; for lists, of one element. */
  type?: PatchSchema;
  /** `merge`: the list merges (by `mergeKey` for lists of objects, as a set for primitives). */
  strategy?: "merge";
  /** The element field that identifies an element of a merged list of objects. */
  mergeKey?: string;
}

interface Def {
  type: string;
  innerType?: Node;
  shape?: Record<string, Node>;
  element?: Node;
  valueType?: Node;
  in?: Node;
  getter?: () => Node;
}
interface Node {
  _zod: { def: Def };
  meta?: () => Record<string, unknown> | undefined;
}

const STRATEGY = "x-kubernetes-patch-strategy";
const MERGE_KEY = "x-kubernetes-patch-merge-key";

/** Peels optional/default/nullable/lazy/pipe wrappers, collecting patch annotations on the way. */
function peel(schema: Node): { node: Node; strategy?: string; mergeKey?: string } {
  let node = schema;
  let strategy: string | undefined;
  let mergeKey: string | undefined;
  for (let depth = 0; depth < 32; depth++) {
    const meta = node.meta?.();
    strategy ??= meta?.[STRATEGY] as string | undefined;
    mergeKey ??= meta?.[MERGE_KEY] as string | undefined;
    const def = node._zod.def;
    const next = def.innerType ?? (def.type === "lazy" ? def.getter?.() : undefined) ??
      (def.type === "pipe" ? def.in : undefined);
    if (!next) break;
    node = next;
  }
  return { node, strategy, mergeKey };
}

const cache = new WeakMap<object, Map<string, FieldPatchMeta>>();

/** Metadata for `field` of the struct or map at `type`; `{}` when nothing is known. */
export function fieldPatchMeta(type: PatchSchema | undefined, field: string): FieldPatchMeta {
  if (type === undefined) return {};
  let perField = cache.get(type);
  if (!perField) cache.set(type, perField = new Map());
  let meta = perField.get(field);
  if (!meta) {
    meta = lookup(type as unknown as Node, field);
    perField.set(field, meta);
  }
  return meta;
}

function lookup(parent: Node, field: string): FieldPatchMeta {
  const def = parent._zod.def;
  // Own keys only: a patch key such as `constructor` must not find Object.prototype's.
  const child = def.type === "object"
    ? (def.shape && Object.hasOwn(def.shape, field) ? def.shape[field] : undefined)
    : def.type === "record"
    ? def.valueType
    : undefined;
  if (!child) return {};
  const { node, strategy, mergeKey } = peel(child);
  if (node._zod.def.type !== "array") return { type: node };
  const element = node._zod.def.element ? peel(node._zod.def.element).node : undefined;
  const meta: FieldPatchMeta = { type: element };
  if (strategy?.split(",").includes("merge")) {
    meta.strategy = "merge";
    if (mergeKey) meta.mergeKey = mergeKey;
  }
  return meta;
}

const FALLBACK = z.object({ metadata: ObjectMeta.optional() }) as unknown as Node;

// By kind; a kind served in two versions keeps its first (storage) version's schema.
const ROOTS = new Map<string, Node>(
  RESOURCES.toReversed().map((r) => [r.kind, peel(r.schema as unknown as Node).node]),
);

/** The schema of an object kind; kinds Skiff does not serve get metadata-only semantics. */
export function rootTypeFor(kind: string): PatchSchema {
  return ROOTS.get(kind) ?? FALLBACK;
}
