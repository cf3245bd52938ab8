/**
 * The three PATCH body formats kube-apiserver accepts (server-side apply aside), behind one
 * entry point keyed by the request's Content-Type. Every function here is pure: it returns a new
 * object and never mutates its inputs.
 *
 * @example
 * ```ts
 * const type = patchTypeFromContentType(c.req.header("content-type"));
 * const updated = applyPatch(current, body, { type, kind: { apiVersion: "apps/v1", kind: "Deployment" } });
 * ```
 */

import { BadRequestError, UnsupportedMediaTypeError } from "../../../shared/errors.ts";
import { applyJsonPatch } from "./json_patch.ts";
import { applyMergePatch } from "./json_merge_patch.ts";
import { applyStrategicMergePatch } from "./strategic_merge_patch.ts";

export { applyJsonPatch, decodeJsonPatch, jsonEqual, parsePointer } from "./json_patch.ts";
export type { JsonPatchOperation } from "./json_patch.ts";
export { applyMergePatch } from "./json_merge_patch.ts";
export { applyStrategicMergePatch } from "./strategic_merge_patch.ts";
export { fieldPatchMeta, rootTypeFor } from "./merge_keys.ts";
export type { FieldPatchMeta, PatchSchema } from "./merge_keys.ts";

/** The patch formats, named as Kubernetes' `types.PatchType`. */
export type PatchType = "json" | "merge" | "strategic" | "apply";

const CONTENT_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
  "application/apply-patch+cbor": "apply",
};

/** The Content-Types a PATCH may carry (for the 415 message and discovery). */
export const PATCH_CONTENT_TYPES: readonly string[] = Object.keys(CONTENT_TYPES);

/**
 * Maps a PATCH request's Content-Type (parameters such as `; charset=utf-8` ignored) to its
 * patch type. Throws UnsupportedMediaTypeError (415) for anything else, as kube-apiserver does.
 */
export function patchTypeFromContentType(contentType: string | null | undefined): PatchType {
  const bare = (contentType ?? "").split(";")[0].trim().toLowerCase();
  const type = CONTENT_TYPES[bare];
  if (!type) throw new UnsupportedMediaTypeError(contentType ?? "");
  return type;
}

/**
 * Applies a parsed PATCH body of the given type to `target`. `apply` (server-side apply) is not
 * handled here and throws; the caller implements it. Merge and strategic patches must be JSON
 * objects (400 otherwise, as in Kubernetes).
 */
export function applyPatch(
  target: unknown,
  patch: unknown,
  options: { type: PatchType; kind: { apiVersion?: string; kind: string } },
): unknown {
  switch (options.type) {
    case "json":
      return applyJsonPatch(target, patch);
    case "merge":
      if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
        throw new BadRequestError("merge patch must be a JSON object");
      }
      return applyMergePatch(target, patch);
    case "strategic":
      return applyStrategicMergePatch(target, patch, options.kind);
    case "apply":
      throw new BadRequestError("server-side apply is not handled by applyPatch()");
  }
}
