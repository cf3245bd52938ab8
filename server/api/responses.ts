/**
 * Building API responses: JSON with the headers kubectl relies on (Content-Type on everything,
 * `Cache-Control: no-cache, private` like kube-apiserver), `Status` bodies for successes that have
 * no object, and content negotiation for server-side Tables and metadata-only objects.
 */
import type { Status } from "../../shared/errors.ts";

/** The headers of every JSON answer. */
export const JSON_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  "cache-control": "no-cache, private",
};

/** A JSON response with kube-apiserver's headers. */
export function jsonResponse(body: unknown, status = 200, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(JSON_HEADERS);
  if (extraHeaders) {
    // Warnings accumulate; every other header replaces the default.
    new Headers(extraHeaders).forEach((v, k) =>
      k === "warning" ? headers.append(k, v) : headers.set(k, v)
    );
  }
  return new Response(JSON.stringify(body), { status, headers });
}

/** A `Status` with `status: Success` (binding, eviction, collection deletes). */
export function successStatus(code = 200, details?: Status["details"]): Status {
  const s: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code };
  if (details) s.details = details;
  return s;
}

/** True when the client asked for a meta.k8s.io Table (kubectl get). */
export function wantsTable(accept: string | null): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => {
    const p = part.replace(/\s+/g, "");
    return p.includes("as=Table") && (p.includes("g=meta.k8s.io") || !p.includes("g="));
  });
}

/**
 * True when the client asked for objects as `PartialObjectMetadata` (`list`: as a
 * `PartialObjectMetadataList`) of meta.k8s.io v1 or v1beta1: client-go's metadata client and the
 * metadata-only informers of controllers (controller-runtime's OnlyMetadata) ask so.
 */
export function wantsMetadataOnly(accept: string | null, list: boolean): boolean {
  if (!accept) return false;
  const kind = list ? "PartialObjectMetadataList" : "PartialObjectMetadata";
  return accept.split(",").some((part) => {
    const params = part.replace(/\s+/g, "").split(";");
    const type = params[0].toLowerCase();
    if (type !== "application/json" && type !== "*/*" && type !== "application/*") return false;
    const has = (p: string) => params.includes(p);
    return has(`as=${kind}`) && has("g=meta.k8s.io") && (has("v=v1") || has("v=v1beta1"));
  });
}

/** An object as `PartialObjectMetadata`: its metadata only (meta.k8s.io/v1). */
export function partialObjectMetadata(obj: { metadata?: unknown }): Record<string, unknown> {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

/** The `includeObject` query parameter of a Table request. */
export function includeObjectPolicy(value: string | null): "None" | "Metadata" | "Object" {
  if (value === "None" || value === "Object") return value;
  return "Metadata";
}
