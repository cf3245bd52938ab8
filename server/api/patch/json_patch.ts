/**
 * JSON patch (RFC 6902), the `application/json-patch+json` body of `kubectl patch --type=json`:
 * a list of add/remove/replace/move/copy/test operations addressed by JSON pointers (RFC 6901,
 * with `~0`/`~1` escapes and `-` for "after the last array element").
 *
 * As in kube-apiserver, a malformed patch document is a 400 BadRequest, and an operation that
 * cannot be applied (missing path, failed `test`) is a 422.
 */

import { ApiError, BadRequestError } from "../../../shared/errors.ts";
import { jsonSizeUpTo, MAX_BODY_BYTES, tooLarge } from "../json_limits.ts";

/** Most operations in one JSON patch (kube-apiserver's `maxJSONPatchOperations`). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/**
 * Most bytes all `copy` operations of one patch may add together (kube-apiserver sets
 * json-patch's `AccumulatedCopySizeLimit` to its body limit). Each copy is measured before it is
 * made, so a patch that doubles the object with every op fails after ~20 cheap steps.
 */
export const MAX_ACCUMULATED_COPY_BYTES = MAX_BODY_BYTES;

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

/** 422 for an operation that does not apply to the document. */
function unprocessable(message: string): ApiError {
  return new ApiError(422, "Invalid", message);
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === "object" && v !== null;
}

/** Splits a JSON pointer into unescaped reference tokens (`""` → `[]`). */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) {
    throw new BadRequestError(
      `JSON pointer must be empty or start with a "/": ${JSON.stringify(pointer)}`,
    );
  }
  return pointer.slice(1).split("/").map((t) => {
    if (/~[^01]|~$/.test(t)) {
      throw new BadRequestError(`invalid JSON pointer escape in ${JSON.stringify(pointer)}`);
    }
    const token = t.replaceAll("~1", "/").replaceAll("~0", "~");
    // Assigning `obj["__proto__"]` would set a prototype, not a field (see json_limits.ts).
    if (token === "__proto__") {
      throw new BadRequestError(`the key "__proto__" is not allowed in ${JSON.stringify(pointer)}`);
    }
    return token;
  });
}

function arrayIndex(
  token: string,
  length: number,
  opts: { allowEnd: boolean; path: string },
): number {
  if (token === "-" && opts.allowEnd) return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw unprocessable(`Unable to access invalid index: ${token}: ${opts.path}`);
  }
  const i = Number(token);
  const max = opts.allowEnd ? length : length - 1;
  if (i > max) throw unprocessable(`Unable to access invalid index: ${i}: ${opts.path}`);
  return i;
}

/** Walks to the parent container of the pointer's last token. */
function parentOf(
  doc: unknown,
  tokens: string[],
  path: string,
  op: string,
): { parent: Record<string, unknown> | unknown[]; last: string } {
  let cur = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      cur = cur[arrayIndex(token, cur.length, { allowEnd: false, path })];
    } else if (isContainer(cur) && Object.hasOwn(cur, token)) {
      cur = (cur as Record<string, unknown>)[token];
    } else {
      throw unprocessable(
        `${op} operation does not apply: doc is missing path: "${path}": missing value`,
      );
    }
  }
  if (!isContainer(cur)) {
    throw unprocessable(
      `${op} operation does not apply: doc is missing path: "${path}": missing value`,
    );
  }
  return { parent: cur, last: tokens[tokens.length - 1] };
}

function getValue(doc: unknown, path: string, op: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const { parent, last } = parentOf(doc, tokens, path, op);
  if (Array.isArray(parent)) {
    return parent[arrayIndex(last, parent.length, { allowEnd: false, path })];
  }
  if (!Object.hasOwn(parent, last)) {
    throw unprocessable(
      `${op} operation does not apply: doc is missing key: ${path}: missing value`,
    );
  }
  return parent[last];
}

/** Returns the new document (the root may be replaced). */
function addValue(doc: unknown, path: string, value: unknown, op = "add"): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, path, op);
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent.length, { allowEnd: true, path }), 0, value);
  } else {
    parent[last] = value;
  }
  return doc;
}

function removeValue(doc: unknown, path: string, op = "remove"): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) {
    throw unprocessable(`${op} operation does not apply: cannot remove the whole document`);
  }
  const { parent, last } = parentOf(doc, tokens, path, op);
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, { allowEnd: false, path });
    return parent.splice(i, 1)[0];
  }
  if (!Object.hasOwn(parent, last)) {
    throw unprocessable(
      `${op} operation does not apply: doc is missing path: "${path}": missing value`,
    );
  }
  const old = parent[last];
  delete parent[last];
  return old;
}

/** Deep JSON equality (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isContainer(a) && isContainer(b) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length &&
      ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], b[k]));
  }
  return false;
}

/** Checks the shape of a parsed patch body; throws BadRequestError when it is not a patch. */
export function decodeJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    throw new BadRequestError(
      "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
    );
  }
  if (body.length > MAX_JSON_PATCH_OPERATIONS) {
    throw tooLarge(
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${body.length}`,
    );
  }
  return body.map((raw, i) => {
    if (!isContainer(raw) || Array.isArray(raw)) {
      throw new BadRequestError(`invalid JSON patch operation at index ${i}`);
    }
    const o = raw as Record<string, unknown>;
    const op = o.op;
    if (!["add", "remove", "replace", "move", "copy", "test"].includes(op as string)) {
      throw new BadRequestError(`Unexpected kind: ${String(op)}`);
    }
    if (typeof o.path !== "string") {
      throw new BadRequestError(`${op} operation at index ${i} is missing "path"`);
    }
    if ((op === "add" || op === "replace" || op === "test") && !Object.hasOwn(o, "value")) {
      throw new BadRequestError(`${op} operation at index ${i} is missing "value"`);
    }
    if ((op === "move" || op === "copy") && typeof o.from !== "string") {
      throw new BadRequestError(`${op} operation at index ${i} is missing "from"`);
    }
    parsePointer(o.path);
    if (typeof o.from === "string") parsePointer(o.from);
    return o as unknown as JsonPatchOperation;
  });
}

/**
 * Applies RFC 6902 operations in order and returns the new document; `target` and `ops` are not
 * mutated. Throws BadRequestError for a malformed patch and a 422 ApiError when an operation does
 * not apply (missing path, index out of range, failed `test`, `move` into its own child).
 */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  // Bounds: at most MAX_JSON_PATCH_OPERATIONS ops (413), at most MAX_ACCUMULATED_COPY_BYTES
  // copied (422); the caller bounds the result (checkPatchedObject).
  const operations = decodeJsonPatch(ops);
  let doc = structuredClone(target);
  let copied = 0;
  for (const o of operations) {
    switch (o.op) {
      case "add":
        doc = addValue(doc, o.path, structuredClone(o.value));
        break;
      case "remove":
        removeValue(doc, o.path);
        break;
      case "replace": {
        const tokens = parsePointer(o.path);
        if (tokens.length === 0) {
          doc = structuredClone(o.value);
          break;
        }
        getValue(doc, o.path, "replace");
        const { parent, last } = parentOf(doc, tokens, o.path, "replace");
        if (Array.isArray(parent)) {
          parent[arrayIndex(last, parent.length, { allowEnd: false, path: o.path })] =
            structuredClone(o.value);
        } else {
          parent[last] = structuredClone(o.value);
        }
        break;
      }
      case "move": {
        const from = o.from!;
        if (o.path !== from && o.path.startsWith(from + "/")) {
          throw unprocessable(`move operation does not apply: "${o.path}" is a child of "${from}"`);
        }
        if (o.path === from) {
          getValue(doc, from, "move");
          break;
        }
        const value = removeValue(doc, from, "move");
        doc = addValue(doc, o.path, value, "move");
        break;
      }
      case "copy": {
        const source = getValue(doc, o.from!, "copy");
        const budget = MAX_ACCUMULATED_COPY_BYTES - copied;
        copied += jsonSizeUpTo(source, { maxBytes: budget });
        if (copied > MAX_ACCUMULATED_COPY_BYTES) {
          throw unprocessable(
            `Unable to complete the copy, the accumulated size increase of copy is more than the limit ${MAX_ACCUMULATED_COPY_BYTES}`,
          );
        }
        const value = structuredClone(source);
        doc = addValue(doc, o.path, value, "copy");
        break;
      }
      case "test": {
        let actual: unknown;
        try {
          actual = getValue(doc, o.path, "test");
        } catch {
          throw unprocessable(`testing value ${o.path} failed: test failed`);
        }
        if (!jsonEqual(actual, o.value)) {
          throw unprocessable(`testing value ${o.path} failed: test failed`);
        }
        break;
      }
    }
  }
  return doc;
}
