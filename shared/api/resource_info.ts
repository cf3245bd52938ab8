/**
 * How a resource kind is addressed over HTTP: group, version, plural, scope. The server's router,
 * discovery and the client all work from these records (the table of every kind Skiff serves is
 * `RESOURCES` in shared/api/resources.ts).
 */

/** Static facts about one resource kind, as discovery advertises them. */
export interface ResourceInfo {
  /** API group; `""` for the core group. */
  group: string;
  version: string;
  kind: string;
  /** The resource name in URLs: `pods`, `deployments`. */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources served: `status`, `scale`, `binding`, `log`, `exec`, `eviction`, ... */
  subresources: string[];
}

/** Minimal reference the client needs to build a URL. */
export type ResourceRef = Pick<
  ResourceInfo,
  "group" | "version" | "plural" | "namespaced" | "kind"
>;

/** `v1` for core, `apps/v1` otherwise. */
export function apiVersionOf(r: Pick<ResourceInfo, "group" | "version">): string {
  return r.group === "" ? r.version : `${r.group}/${r.version}`;
}

/** `/api/v1` for core, `/apis/apps/v1` otherwise. */
export function groupVersionPath(r: Pick<ResourceInfo, "group" | "version">): string {
  return r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
}

/**
 * Collection path: `/api/v1/namespaces/default/pods`, or the all-namespaces / cluster-scoped
 * `/api/v1/pods` when `namespace` is absent.
 */
export function collectionPath(r: ResourceRef, namespace?: string): string {
  const gv = groupVersionPath(r);
  if (r.namespaced && namespace) {
    return `${gv}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
  }
  return `${gv}/${r.plural}`;
}

/** Object path, optionally with a subresource: `/api/v1/namespaces/default/pods/web/status`. */
export function objectPath(
  r: ResourceRef,
  name: string,
  options: { namespace?: string; subresource?: string } = {},
): string {
  const base = `${collectionPath(r, options.namespace)}/${encodeURIComponent(name)}`;
  return options.subresource ? `${base}/${options.subresource}` : base;
}
