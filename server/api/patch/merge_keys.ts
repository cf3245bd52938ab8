/**
 * The patch metadata strategic merge patch needs: for each API type Skiff serves, which list
 * fields merge (and by which key) instead of being replaced, and the type of each nested field.
 *
 * The values are the `patchStrategy` / `patchMergeKey` tags Kubernetes publishes for these types
 * (also visible as `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` in its OpenAPI),
 * because kubectl computes its patches from the same tags: a list merged here but replaced by
 * kubectl (or the reverse) would lose or resurrect elements. Lists absent from this table are
 * replaced wholesale, maps and structs always merge key by key.
 */

/** How one field of a type is patched. */
export interface FieldPatchMeta {
  /** Name of the field's type in {@linkcode PATCH_TYPES}; for lists, the element type. */
  type?: string;
  /** `merge`: the list merges (by `mergeKey` for lists of objects, as a set for primitives). */
  strategy?: "merge";
  /** The element field that identifies an element of a merged list of objects. */
  mergeKey?: string;
}

/** A struct type: its fields that need metadata (others are plain maps/values/replaced lists). */
export type TypePatchMeta = Record<string, FieldPatchMeta>;

const byName: FieldPatchMeta = { strategy: "merge", mergeKey: "name" };
const conditions: FieldPatchMeta = { strategy: "merge", mergeKey: "type" };

/** Patch metadata per type name. */
export const PATCH_TYPES: Record<string, TypePatchMeta> = {
  /** Any kind without its own entry: only metadata has list semantics. */
  Object: { metadata: { type: "ObjectMeta" } },
  ObjectMeta: {
    ownerReferences: { strategy: "merge", mergeKey: "uid" },
    finalizers: { strategy: "merge" },
  },

  // core/v1 Pod and the pod template every workload embeds.
  Pod: {
    metadata: { type: "ObjectMeta" },
    spec: { type: "PodSpec" },
    status: { type: "PodStatus" },
  },
  PodTemplateSpec: { metadata: { type: "ObjectMeta" }, spec: { type: "PodSpec" } },
  PodSpec: {
    containers: { ...byName, type: "Container" },
    initContainers: { ...byName, type: "Container" },
    ephemeralContainers: { ...byName, type: "Container" },
    // volumes are `merge,retainKeys`: the retainKeys half is driven by the `$retainKeys`
    // directive kubectl puts in each element.
    volumes: byName,
    imagePullSecrets: byName,
    hostAliases: { strategy: "merge", mergeKey: "ip" },
    topologySpreadConstraints: { strategy: "merge", mergeKey: "topologyKey" },
    schedulingGates: byName,
    resourceClaims: byName,
  },
  Container: {
    ports: { strategy: "merge", mergeKey: "containerPort" },
    env: byName,
    volumeMounts: { strategy: "merge", mergeKey: "mountPath" },
    volumeDevices: { strategy: "merge", mergeKey: "devicePath" },
  },
  PodStatus: {
    conditions,
    podIPs: { strategy: "merge", mergeKey: "ip" },
    hostIPs: { strategy: "merge", mergeKey: "ip" },
  },

  // apps/v1 and core/v1 workloads.
  Deployment: {
    metadata: { type: "ObjectMeta" },
    spec: { type: "WorkloadSpec" },
    status: { type: "WorkloadStatus" },
  },
  ReplicaSet: {
    metadata: { type: "ObjectMeta" },
    spec: { type: "WorkloadSpec" },
    status: { type: "WorkloadStatus" },
  },
  ReplicationController: {
    metadata: { type: "ObjectMeta" },
    spec: { type: "WorkloadSpec" },
    status: { type: "WorkloadStatus" },
  },
  StatefulSet: {
    metadata: { type: "ObjectMeta" },
    spec: { type: "WorkloadSpec" },
    status: { type: "WorkloadStatus" },
  },
  DaemonSet: {
    metadata: { type: "ObjectMeta" },
    spec: { type: "WorkloadSpec" },
    status: { type: "WorkloadStatus" },
  },
  WorkloadSpec: { template: { type: "PodTemplateSpec" } },
  WorkloadStatus: { conditions },

  // core/v1 networking and cluster objects.
  Service: {
    metadata: { type: "ObjectMeta" },
    spec: { type: "ServiceSpec" },
    status: { type: "ServiceStatus" },
  },
  ServiceSpec: { ports: { strategy: "merge", mergeKey: "port" } },
  ServiceStatus: { conditions },
  // Node taints carry no patch strategy in Kubernetes (kubectl taint sends the whole list).
  Node: { metadata: { type: "ObjectMeta" }, status: { type: "NodeStatus" } },
  NodeStatus: { conditions, addresses: { strategy: "merge", mergeKey: "type" } },
  Namespace: { metadata: { type: "ObjectMeta" }, status: { type: "NamespaceStatus" } },
  NamespaceStatus: { conditions },
};

/** The root type for an object kind; `"Object"` (metadata only) for kinds without entries. */
export function rootTypeFor(kind: string): string {
  return PATCH_TYPES[kind] ? kind : "Object";
}

/** Metadata for `field` of `type`, or `{}` when the field is a plain value/map/replaced list. */
export function fieldPatchMeta(type: string | undefined, field: string): FieldPatchMeta {
  if (type === undefined) return {};
  return PATCH_TYPES[type]?.[field] ?? {};
}
