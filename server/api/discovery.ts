/**
 * API discovery, generated from the resource table: the aggregated form kubectl 1.32 asks for
 * first (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`, which must come back with its exact
 * Content-Type) and the legacy documents (`APIVersions`, `APIGroupList`, `APIGroup`,
 * `APIResourceList`) that older clients and `curl` use.
 */
import type { ResourceInfo } from "../../shared/api/resource_info.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";

/** One group-version and the resources it serves, in preference order. */
interface GroupVersion {
  group: string;
  version: string;
  resources: ResourceInfo[];
}

/** The aggregated-discovery media types kubectl accepts, newest first. */
const AGGREGATED = [
  {
    version: "v2",
    contentType: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
  },
  {
    version: "v2beta1",
    contentType: "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
  },
];

/** Builds and caches every discovery document for a fixed set of resources. */
export class Discovery {
  readonly #static: GroupVersion[];
  readonly #extra?: () => readonly ResourceInfo[];

  /**
   * `resources` are fixed; `extra` is asked on every request (the custom resources of the
   * established CRDs, each CRD's versions in priority order), so discovery follows CRDs as they
   * come and go.
   */
  constructor(resources: ResourceInfo[], options: { extra?: () => readonly ResourceInfo[] } = {}) {
    this.#static = groupByVersion(resources);
    this.#extra = options.extra;
  }

  get #groupVersions(): GroupVersion[] {
    const extra = this.#extra?.() ?? [];
    return extra.length === 0 ? this.#static : [...this.#static, ...groupByVersion(extra)];
  }

  /** Which aggregated version the Accept header asks for, if any. */
  aggregatedFormat(accept: string | null): { version: string; contentType: string } | undefined {
    if (!accept) return undefined;
    const parts = accept.split(",").map((p) => p.replace(/\s+/g, ""));
    for (const part of parts) {
      if (!part.includes("as=APIGroupDiscoveryList")) continue;
      const hit = AGGREGATED.find((a) =>
        part.includes(`v=${a.version};`) || part.endsWith(`v=${a.version}`)
      );
      if (hit) return hit;
    }
    return undefined;
  }

  /** `/api` (core) or `/apis` (named groups) as an aggregated APIGroupDiscoveryList. */
  aggregated(core: boolean, version: string): unknown {
    const groups = new Map<string, GroupVersion[]>();
    for (const gv of this.#groupVersions) {
      if ((gv.group === "") !== core) continue;
      const list = groups.get(gv.group) ?? [];
      list.push(gv);
      groups.set(gv.group, list);
    }
    return {
      kind: "APIGroupDiscoveryList",
      apiVersion: `apidiscovery.k8s.io/${version}`,
      metadata: {},
      items: [...groups.entries()].map(([group, gvs]) => ({
        metadata: { name: group },
        versions: gvs.map((gv) => ({
          version: gv.version,
          resources: gv.resources.map((r) => ({
            resource: r.plural,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? "Namespaced" : "Cluster",
            singularResource: r.singular,
            verbs: r.verbs,
            ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories.length ? { categories: r.categories } : {}),
            ...(r.subresources.length
              ? {
                subresources: r.subresources.map((s) => ({
                  subresource: s,
                  responseKind: subresourceKind(r, s),
                  verbs: subresourceVerbs(s),
                })),
              }
              : {}),
          })),
          freshness: "Current",
        })),
      })),
    };
  }

  /** Legacy `/api`. */
  apiVersions(serverAddress: string): unknown {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
    };
  }

  /** Legacy `/apis`. */
  apiGroupList(): unknown {
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: this.#groupNames().map((g) => this.apiGroup(g)),
    };
  }

  /** Legacy `/apis/{group}`, or undefined for an unknown group. */
  apiGroup(group: string): unknown {
    const gvs = this.#groupVersions.filter((gv) => gv.group === group);
    if (gvs.length === 0 || group === "") return undefined;
    const versions = gvs.map((gv) => ({
      groupVersion: `${group}/${gv.version}`,
      version: gv.version,
    }));
    return {
      kind: "APIGroup",
      apiVersion: "v1",
      name: group,
      versions,
      preferredVersion: versions[0],
    };
  }

  /** Legacy `/api/v1` or `/apis/{group}/{version}`, or undefined when not served. */
  apiResourceList(group: string, version: string): unknown {
    const gv = this.#groupVersions.find((g) => g.group === group && g.version === version);
    if (!gv) return undefined;
    const resources: unknown[] = [];
    for (const r of gv.resources) {
      resources.push({
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
        ...(r.categories.length ? { categories: r.categories } : {}),
      });
      for (const s of r.subresources) {
        const kind = subresourceKind(r, s);
        resources.push({
          name: `${r.plural}/${s}`,
          singularName: "",
          namespaced: r.namespaced,
          ...(kind.group !== r.group ? { group: kind.group, version: kind.version } : {}),
          kind: kind.kind,
          verbs: subresourceVerbs(s),
        });
      }
    }
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: apiVersionOf({ group, version }),
      resources,
    };
  }

  #groupNames(): string[] {
    const names: string[] = [];
    for (const gv of this.#groupVersions) {
      if (gv.group !== "" && !names.includes(gv.group)) names.push(gv.group);
    }
    return names;
  }
}

function groupByVersion(resources: readonly ResourceInfo[]): GroupVersion[] {
  const out: GroupVersion[] = [];
  for (const r of resources) {
    let gv = out.find((g) => g.group === r.group && g.version === r.version);
    if (!gv) {
      gv = { group: r.group, version: r.version, resources: [] };
      out.push(gv);
    }
    gv.resources.push(r);
  }
  return out;
}

function subresourceKind(
  r: ResourceInfo,
  sub: string,
): { group: string; version: string; kind: string } {
  switch (sub) {
    case "scale":
      return { group: "autoscaling", version: "v1", kind: "Scale" };
    case "binding":
      return { group: "", version: "v1", kind: "Binding" };
    case "eviction":
      return { group: "policy", version: "v1", kind: "Eviction" };
    case "proxy":
      // PodProxyOptions, ServiceProxyOptions, NodeProxyOptions.
      return { group: "", version: "v1", kind: `${r.kind}ProxyOptions` };
    case "log":
      return { group: "", version: "v1", kind: "Pod" };
    case "exec":
      return { group: "", version: "v1", kind: "PodExecOptions" };
    case "portforward":
      return { group: "", version: "v1", kind: "PodPortForwardOptions" };
    case "attach":
      return { group: "", version: "v1", kind: "PodAttachOptions" };
    default:
      return { group: r.group, version: r.version, kind: r.kind };
  }
}

function subresourceVerbs(sub: string): string[] {
  switch (sub) {
    case "status":
    case "scale":
    case "ephemeralcontainers":
      return ["get", "patch", "update"];
    case "binding":
    case "eviction":
      return ["create"];
    case "log":
      return ["get"];
    case "exec":
    case "portforward":
    case "attach":
      return ["create", "get"];
    case "proxy":
      return ["create", "delete", "get", "patch", "update"];
    default:
      return ["get"];
  }
}
