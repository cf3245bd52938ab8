/**
 * `ControllerClient`: the part of `ApiClient` a controller writes with (client-go's typed
 * clientset seen from a controller). Reconcilers take this interface, not `ApiClient`, so unit
 * tests can pass a `RecordingClient` (shared/testing/) that records every call instead of
 * sending it. Reads go through listers; `get` is here for the rare live read (the garbage
 * collector confirming an owner is gone).
 */
import type { KubeList, KubeObject } from "../api/object.ts";
import type { ResourceRef } from "../api/resource_info.ts";
import type { Status } from "../errors.ts";
import type { DeleteOptions, ListOptions, PatchOptions, RequestOptions } from "./client.ts";

/** The writes (and few live reads) a controller makes; `ApiClient` implements it. */
export interface ControllerClient {
  /** GET one object; throws a 404 `ApiError` (`isNotFound`) when it doesn't exist. */
  get<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    opts?: { namespace?: string },
  ): Promise<T>;
  /** LIST objects (prefer a lister; this is a live read). */
  list<T extends KubeObject = KubeObject>(r: ResourceRef, opts?: ListOptions): Promise<KubeList<T>>;
  /** POST a new object into `opts.namespace`, else `obj.metadata.namespace`. */
  create<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    obj: T,
    opts?: { namespace?: string; dryRun?: boolean; fieldManager?: string },
  ): Promise<T>;
  /** PUT `obj`; a stale `metadata.resourceVersion` throws 409 Conflict. */
  update<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    obj: T,
    opts?: { subresource?: string },
  ): Promise<T>;
  /** PUT the `status` subresource. */
  updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T>;
  /** PATCH one object (merge, JSON, strategic-merge or apply). */
  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    name: string,
    patch: unknown,
    opts: PatchOptions,
  ): Promise<T>;
  /** DELETE one object. */
  delete(r: ResourceRef, name: string, opts?: DeleteOptions): Promise<KubeObject | Status>;
  /** DELETE every object of a collection that matches the selectors. */
  deleteCollection(
    r: ResourceRef,
    opts?: { namespace?: string; labelSelector?: string; fieldSelector?: string },
  ): Promise<void>;
  /** Raw request (subresources without a typed method, e.g. a namespace's `finalize`). */
  request(method: string, path: string, opts?: RequestOptions): Promise<Response>;
}
