/**
 * Bounds on decoded values: how deep a body or a patched object may nest, and how large a
 * patched object may grow. Both are measured iteratively and stop at the bound, so a hostile
 * value (a million nested arrays, a self-referencing YAML alias, a patch that doubles the object
 * forty times) costs as much as the bound, never as much as the value, and never a stack overflow.
 */
import { ApiError, BadRequestError } from "../../shared/errors.ts";

/** Largest body accepted and largest object a patch may produce (kube-apiserver: 3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * Deepest nesting accepted in a body or a patched object. Kubernetes' JSON and YAML decoders stop
 * at 10,000 levels; Skiff's bound is lower because what runs after decoding recurses on V8's
 * stack (`structuredClone` overflows near 2,700 levels, the `yaml` parser near 800, zod near
 * 1,500). Real objects nest a few dozen levels.
 */
export const MAX_DEPTH = 500;

/** 413 RequestEntityTooLarge with kube-apiserver's wording. */
export function tooLarge(
  message = `Request entity too large: limit is ${MAX_BODY_BYTES}`,
): ApiError {
  return new ApiError(413, "RequestEntityTooLarge", message);
}

/**
 * Throws a 400 when `value` nests deeper than `maxDepth` (a self-referencing value is infinitely
 * deep) or has a `__proto__` key.
 */
export function checkDepth(value: unknown, maxDepth = MAX_DEPTH): void {
  measure(value, { maxDepth, maxBytes: Infinity });
}

/**
 * The approximate size in bytes of `value` serialised as JSON, or the first size past
 * `maxBytes` (the walk stops there). Throws a 400 when it nests deeper than `maxDepth`.
 */
export function jsonSizeUpTo(
  value: unknown,
  options: { maxBytes: number; maxDepth?: number },
): number {
  return measure(value, { maxBytes: options.maxBytes, maxDepth: options.maxDepth ?? MAX_DEPTH });
}

/**
 * Throws 413 when the object a patch produced is larger than the body limit, or 400 when it nests
 * deeper than {@linkcode MAX_DEPTH}: a patch may not build what a body could not carry.
 */
export function checkPatchedObject(value: unknown): void {
  const size = measure(value, { maxBytes: MAX_BODY_BYTES, maxDepth: MAX_DEPTH });
  if (size > MAX_BODY_BYTES) {
    throw tooLarge(
      `Request entity too large: the patched object is larger than the limit of ${MAX_BODY_BYTES} bytes`,
    );
  }
}

/**
 * A `__proto__` key is refused outright (400): JSON.parse makes it an own property, but every
 * plain assignment of it (`obj[key] = v`, in this code and in libraries) sets the object's
 * prototype instead — the root of prototype pollution. No Kubernetes field is named so.
 */
function protoKey(): BadRequestError {
  return new BadRequestError(`the key "__proto__" is not allowed in an object`);
}

function measure(value: unknown, limits: { maxBytes: number; maxDepth: number }): number {
  // An explicit stack of [value, depth]: no recursion, whatever the input.
  const stack: [unknown, number][] = [[value, 0]];
  let size = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === "string") size += v.length + 2;
    else if (typeof v === "number") size += String(v).length;
    else if (typeof v === "boolean") size += v ? 4 : 5;
    else if (v === null || v === undefined) size += 4;
    else if (typeof v === "object") {
      if (depth >= limits.maxDepth) {
        throw new BadRequestError(
          `the object is nested deeper than the limit of ${limits.maxDepth} levels`,
        );
      }
      if (Array.isArray(v)) {
        size += 2 + v.length;
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], depth + 1]);
      } else {
        size += 2;
        for (const [k, child] of Object.entries(v)) {
          if (k === "__proto__") throw protoKey();
          size += k.length + 4;
          stack.push([child, depth + 1]);
        }
      }
    }
    if (size > limits.maxBytes) return size;
  }
  return size;
}
