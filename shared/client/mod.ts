/**
 * The Kubernetes API client: `ApiClient`, the watch-stream parser and the `ResourceRef`s of the
 * kinds used most.
 *
 * ```ts
 * import { ApiClient, PODS } from "../shared/client/mod.ts";
 * const client = new ApiClient({ server: "http://127.0.0.1:6443", token });
 * const pods = await client.list(PODS, { namespace: "default" });
 * ```
 */
export * from "./client.ts";
export * from "./controller_client.ts";
export * from "./watch_stream.ts";
export * from "./refs.ts";
