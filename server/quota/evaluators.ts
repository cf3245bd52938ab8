/**
 * What each kind of object costs a ResourceQuota (Kubernetes' quota evaluators): pods (their
 * count and compute requests/limits, narrowed by the pod scopes), Services (count, node ports,
 * load balancers), PersistentVolumeClaims (count and storage, also per StorageClass), and the
 * object count `count/<resource>.<group>` of any other namespaced kind (with the old names
 * `configmaps`, `secrets`, `replicationcontrollers`, `resourcequotas` for theirs).
 * Admission (check_request.ts) and the quota controller (calculate_usage.ts) share them.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { exactMillis, quantityFormat } from "../../shared/api/quantity.ts";
import type {
  ResourceQuota,
  ScopedResourceSelectorRequirement,
} from "../../shared/api/resource_quota.ts";
import { podTotal } from "../../shared/api/pod_resources.ts";
import { qosClass } from "../../shared/api/qos_class.ts";
import { type Amount, mask, parseUsage, units, type Usage } from "./resource_list.ts";

/** The operations admission passes on (writes to the main resource). */
export type Operation = "CREATE" | "UPDATE";

/** How the quota system measures one resource. */
export interface Evaluator {
  group: string;
  resource: string;
  /** Whether this operation can change what the object costs. */
  handles(operation: Operation): boolean;
  /** The names of `names` this evaluator measures. */
  matchingResources(names: readonly string[]): string[];
  /** Whether `obj` is in one scope requirement (kinds without scopes are in none). */
  matchesScope(req: ScopedResourceSelectorRequirement, obj: KubeObject): boolean;
  /** What `obj` costs at `now`. */
  usage(obj: KubeObject, now: Date): Usage;
  /** Why `obj` may not be measured against `required` (a pod's missing requests), if it may not. */
  constraints(required: readonly string[], obj: KubeObject): string | undefined;
}

/** Kinds the quota system leaves alone (Kubernetes' DefaultIgnoredResources). */
const IGNORED = new Set([
  "/bindings",
  "/componentstatuses",
  "/events",
  "events.k8s.io/events",
  "authentication.k8s.io/tokenreviews",
  "authentication.k8s.io/selfsubjectreviews",
  "authorization.k8s.io/subjectaccessreviews",
  "authorization.k8s.io/selfsubjectaccessreviews",
  "authorization.k8s.io/localsubjectaccessreviews",
  "authorization.k8s.io/selfsubjectrulesreviews",
]);

/** True for a kind quota never counts. */
export function isIgnoredResource(group: string, resource: string): boolean {
  return IGNORED.has(`${group}/${resource}`);
}

/** `count/<resource>` for the core group, `count/<resource>.<group>` for the others. */
export function objectCountName(group: string, resource: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

/** The kind a `count/...` name counts, if it is one. */
export function parseObjectCountName(
  name: string,
): { group: string; resource: string } | undefined {
  if (!name.startsWith("count/")) return undefined;
  const rest = name.slice("count/".length);
  const dot = rest.indexOf(".");
  if (rest.length === 0 || dot === 0) return undefined;
  return dot < 0
    ? { group: "", resource: rest }
    : { group: rest.slice(dot + 1), resource: rest.slice(0, dot) };
}

/** A quota's `scopes` (as `Exists`) and its scope selector's requirements. */
export function quotaSelectors(quota: ResourceQuota): ScopedResourceSelectorRequirement[] {
  return [
    ...(quota.spec?.scopes ?? []).map((scopeName) => ({ scopeName, operator: "Exists" })),
    ...(quota.spec?.scopeSelector?.matchExpressions ?? []),
  ];
}

/** Whether `obj` is in every one of `selectors`. */
export function matchesSelectors(
  evaluator: Evaluator,
  selectors: readonly ScopedResourceSelectorRequirement[],
  obj: KubeObject,
): boolean {
  return selectors.every((s) => evaluator.matchesScope(s, obj));
}

/**
 * Whether `quota` governs `obj` (Kubernetes' generic.Matches): it limits something the evaluator
 * measures (by its `status.hard`, what the controller has taken on) and `obj` is in its scopes.
 */
export function quotaMatches(evaluator: Evaluator, quota: ResourceQuota, obj: KubeObject): boolean {
  const hard = Object.keys(quota.status?.hard ?? {});
  return evaluator.matchingResources(hard).length > 0 &&
    matchesSelectors(evaluator, quotaSelectors(quota), obj);
}

function intersect(names: readonly string[], known: ReadonlySet<string>): string[] {
  return names.filter((n) => known.has(n));
}

// ---------------------------------------------------------------------------------------------
// Pods.

const POD_RESOURCES = new Set([
  "count/pods",
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
  "pods",
]);

/**
 * If a quota tracks cpu or memory, every container must say how much: kube-apiserver keeps this
 * old rule for these six names only.
 */
const MUST_SPECIFY = new Set([
  "cpu",
  "memory",
  "requests.cpu",
  "requests.memory",
  "limits.cpu",
  "limits.memory",
]);

/** Requested/limited resources a pod's compute usage carries (Kubernetes' podComputeUsageHelper). */
const COMPUTE = ["cpu", "memory", "ephemeral-storage"];

type Resources = Record<string, string | number>;
interface ContainerShape {
  name: string;
  restartPolicy?: string;
  resources?: { requests?: Resources; limits?: Resources };
}

/** The usage names a container's (or the pod's total) requests and limits give. */
function computeUsage(requests: Map<string, Amount>, limits: Map<string, Amount>): Usage {
  const out: Usage = new Map([["pods", units(1)]]);
  for (const r of COMPUTE) {
    const request = requests.get(r);
    if (request) {
      out.set(r, request);
      out.set(`requests.${r}`, request);
    }
    const limit = limits.get(r);
    if (limit) out.set(`limits.${r}`, limit);
  }
  return out;
}

function allContainers(pod: KubeObject): ContainerShape[] {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
}

/** The pod's requests or limits (Kubernetes' PodRequests/PodLimits, sidecars included). */
function podAmounts(pod: KubeObject, part: "requests" | "limits"): Map<string, Amount> {
  const out = new Map<string, Amount>();
  const containers = allContainers(pod);
  for (const r of COMPUTE) {
    const given = containers.map((c) => c.resources?.[part]?.[r]).filter((q) => q !== undefined);
    if (given.length === 0) continue;
    // Per pod, a number holds thousandths exactly (9 × 10^15: terabytes of memory).
    const total = podTotal(pod.spec ?? {}, (c: ContainerShape) => {
      const q = c.resources?.[part]?.[r];
      return q === undefined ? 0 : Number(exactMillis(q));
    });
    const first = given.find((q) => exactMillis(q!) !== 0n) ?? given[0]!;
    out.set(r, { millis: BigInt(total), format: quantityFormat(first) });
  }
  return out;
}

/**
 * A pod counts toward compute quota until it is done (Succeeded or Failed) or stuck terminating
 * past its grace period (Kubernetes' QuotaV1Pod: deletionTimestamp plus the grace period again).
 */
export function podCharged(pod: KubeObject, now: Date): boolean {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  const end = podChargeEnd(pod);
  return end === undefined || now.getTime() <= end.getTime();
}

/** When a terminating pod stops counting (undefined for one not being deleted). */
export function podChargeEnd(pod: KubeObject): Date | undefined {
  const deleted = pod.metadata.deletionTimestamp;
  const grace = pod.metadata.deletionGracePeriodSeconds;
  if (!deleted || grace === undefined) return undefined;
  return new Date(Date.parse(deleted) + grace * 1000);
}

function isTerminating(pod: KubeObject): boolean {
  const deadline = pod.spec?.activeDeadlineSeconds;
  return typeof deadline === "number" && deadline >= 0;
}

interface AffinityTerm {
  namespaces?: string[];
  namespaceSelector?: unknown;
}

/** Pod (anti-)affinity terms reaching other namespaces (the CrossNamespacePodAffinity scope). */
function usesCrossNamespaceAffinity(pod: KubeObject): boolean {
  const affinity = pod.spec?.affinity ?? {};
  const cross = (t: AffinityTerm | undefined) =>
    t !== undefined && ((t.namespaces ?? []).length > 0 || t.namespaceSelector != null);
  for (const kind of [affinity.podAffinity, affinity.podAntiAffinity]) {
    if (!kind) continue;
    const required: AffinityTerm[] = kind.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    const preferred: { podAffinityTerm?: AffinityTerm }[] =
      kind.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (required.some(cross) || preferred.some((w) => cross(w.podAffinityTerm))) return true;
  }
  return false;
}

/** The PriorityClass scope: a selector over the label `PriorityClass=<priorityClassName>`. */
function priorityClassMatches(req: ScopedResourceSelectorRequirement, pod: KubeObject): boolean {
  const name: string = pod.spec?.priorityClassName ?? "";
  const values = req.values ?? [];
  switch (req.operator) {
    case "Exists":
      return name !== "";
    case "DoesNotExist":
      return name === "";
    case "In":
      return name !== "" && values.includes(name);
    case "NotIn":
      return name === "" || !values.includes(name);
    default:
      return false;
  }
}

/** Pods (Kubernetes' podEvaluator). */
export const podEvaluator: Evaluator = {
  group: "",
  resource: "pods",
  // A pod's resources do not change after create (no in-place resize here).
  handles: (op) => op === "CREATE",
  matchingResources: (names) =>
    names.filter((n) =>
      POD_RESOURCES.has(n) || n.startsWith("hugepages-") || n.startsWith("requests.hugepages-") ||
      isExtendedRequest(n)
    ),
  matchesScope(req, pod) {
    switch (req.scopeName) {
      case "Terminating":
        return isTerminating(pod);
      case "NotTerminating":
        return !isTerminating(pod);
      case "BestEffort":
        return qosClass(pod.spec ?? {}) === "BestEffort";
      case "NotBestEffort":
        return qosClass(pod.spec ?? {}) !== "BestEffort";
      case "PriorityClass":
        return priorityClassMatches(req, pod);
      case "CrossNamespacePodAffinity":
        return usesCrossNamespaceAffinity(pod);
      default:
        return false;
    }
  },
  usage(pod, now) {
    // The object count covers every stored pod, done or not; the rest only live ones.
    const out: Usage = new Map([["count/pods", units(1)]]);
    if (!podCharged(pod, now)) return out;
    for (const [k, v] of computeUsage(podAmounts(pod, "requests"), podAmounts(pod, "limits"))) {
      out.set(k, v);
    }
    return out;
  },
  constraints(required, pod) {
    const needed = required.filter((r) => MUST_SPECIFY.has(r));
    if (needed.length === 0) return undefined;
    const missing = new Map<string, Set<string>>();
    for (const c of allContainers(pod)) {
      const has = computeUsage(
        mask(parseUsage(c.resources?.requests), COMPUTE),
        mask(parseUsage(c.resources?.limits), COMPUTE),
      );
      for (const r of needed) {
        if (has.has(r)) continue;
        if (!missing.has(r)) missing.set(r, new Set());
        missing.get(r)!.add(c.name);
      }
    }
    if (missing.size === 0) return undefined;
    const parts = [...missing.keys()].sort().map((r) =>
      `${r} for: ${[...missing.get(r)!].sort().join(",")}`
    );
    return `must specify ${parts.join("; ")}`;
  },
};

/** `requests.<domain>/<name>`: an extended resource's quota name. */
function isExtendedRequest(name: string): boolean {
  return name.startsWith("requests.") && name.includes("/") && !name.includes("kubernetes.io/");
}

// ---------------------------------------------------------------------------------------------
// Services.

const SERVICE_RESOURCES = new Set([
  "count/services",
  "services",
  "services.nodeports",
  "services.loadbalancers",
]);

/** Services (Kubernetes' serviceEvaluator): a type change may change what a Service costs. */
export const serviceEvaluator: Evaluator = {
  group: "",
  resource: "services",
  handles: () => true,
  matchingResources: (names) => intersect(names, SERVICE_RESOURCES),
  matchesScope: () => false,
  usage(svc) {
    const ports: { nodePort?: number }[] = svc.spec?.ports ?? [];
    let nodePorts = 0;
    let loadBalancers = 0;
    if (svc.spec?.type === "NodePort") nodePorts = ports.length;
    if (svc.spec?.type === "LoadBalancer") {
      loadBalancers = 1;
      // Without node ports allocated, only the ports given one explicitly hold one.
      nodePorts = svc.spec.allocateLoadBalancerNodePorts === false
        ? ports.filter((p) => p.nodePort).length
        : ports.length;
    }
    return new Map([
      ["count/services", units(1)],
      ["services", units(1)],
      ["services.nodeports", units(nodePorts)],
      ["services.loadbalancers", units(loadBalancers)],
    ]);
  },
  constraints: () => undefined,
};

// ---------------------------------------------------------------------------------------------
// PersistentVolumeClaims.

const CLASS_SUFFIX = ".storageclass.storage.k8s.io/";
const CLAIM_RESOURCES = new Set([
  "count/persistentvolumeclaims",
  "persistentvolumeclaims",
  "requests.storage",
]);

/** The claim's class: the old beta annotation first, then `storageClassName` ("" for none). */
function claimClass(pvc: KubeObject): string {
  const annotated = pvc.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"];
  return annotated ?? pvc.spec?.storageClassName ?? "";
}

/** A claim's storage in whole bytes (rounded up), the larger of requested and allocated. */
function claimStorage(pvc: KubeObject): Amount | undefined {
  const requested = pvc.spec?.resources?.requests?.storage;
  if (requested === undefined) return undefined;
  const whole = (q: string | number): Amount => {
    const millis = exactMillis(q);
    // Requests are never negative (validation), so rounding up is the next whole unit.
    const rounded = millis % 1000n === 0n ? millis : (millis / 1000n + 1n) * 1000n;
    return { millis: rounded, format: quantityFormat(q) };
  };
  let out = whole(requested);
  const allocated = pvc.status?.allocatedResources?.storage;
  if (allocated !== undefined && exactMillis(allocated) > out.millis) out = whole(allocated);
  return out;
}

/** PersistentVolumeClaims (Kubernetes' pvcEvaluator). */
export const claimEvaluator: Evaluator = {
  group: "",
  resource: "persistentvolumeclaims",
  handles: () => true,
  matchingResources: (names) =>
    names.filter((n) =>
      CLAIM_RESOURCES.has(n) ||
      n.endsWith(`${CLASS_SUFFIX}persistentvolumeclaims`) ||
      n.endsWith(`${CLASS_SUFFIX}requests.storage`)
    ),
  matchesScope: () => false,
  usage(pvc) {
    const out: Usage = new Map([
      ["persistentvolumeclaims", units(1)],
      ["count/persistentvolumeclaims", units(1)],
    ]);
    const cls = claimClass(pvc);
    if (cls) out.set(`${cls}${CLASS_SUFFIX}persistentvolumeclaims`, units(1));
    const storage = claimStorage(pvc);
    if (storage) {
      out.set("requests.storage", storage);
      if (cls) out.set(`${cls}${CLASS_SUFFIX}requests.storage`, storage);
    }
    return out;
  },
  constraints: () => undefined,
};

// ---------------------------------------------------------------------------------------------
// Object counts.

/** The names kube-apiserver counted these kinds by before `count/` existed. */
const LEGACY_COUNT_NAMES: Record<string, string> = {
  configmaps: "configmaps",
  resourcequotas: "resourcequotas",
  replicationcontrollers: "replicationcontrollers",
  secrets: "secrets",
};

/** Counts the objects of one kind (Kubernetes' objectCountEvaluator); only creates add one. */
export function objectCountEvaluator(group: string, resource: string): Evaluator {
  const names = new Set([objectCountName(group, resource)]);
  const legacy = group === "" ? LEGACY_COUNT_NAMES[resource] : undefined;
  if (legacy) names.add(legacy);
  return {
    group,
    resource,
    handles: (op) => op === "CREATE",
    matchingResources: (list) => intersect(list, names),
    matchesScope: () => false,
    usage: () => new Map([...names].map((n) => [n, units(1)])),
    constraints: () => undefined,
  };
}

const SPECIAL: Record<string, Evaluator> = {
  "/pods": podEvaluator,
  "/services": serviceEvaluator,
  "/persistentvolumeclaims": claimEvaluator,
};

/** The evaluator of a namespaced kind; undefined for the kinds quota ignores. */
export function evaluatorFor(group: string, resource: string): Evaluator | undefined {
  if (isIgnoredResource(group, resource)) return undefined;
  return SPECIAL[`${group}/${resource}`] ?? objectCountEvaluator(group, resource);
}

/** The kinds whose own evaluators the quota system always has (the rest are counted by name). */
const BUILT_IN: readonly Evaluator[] = [
  podEvaluator,
  serviceEvaluator,
  claimEvaluator,
  ...Object.keys(LEGACY_COUNT_NAMES).map((r) => objectCountEvaluator("", r)),
];

/**
 * The evaluators that measure a quota's `names`: pods, Services, claims and the kinds with old
 * count names, plus an object count for each other `count/<resource>.<group>` it names.
 */
export function evaluatorsFor(names: readonly string[]): Evaluator[] {
  const out = [...BUILT_IN];
  const known = new Set(out.map((e) => `${e.group}/${e.resource}`));
  for (const name of names) {
    const kind = parseObjectCountName(name);
    if (!kind || isIgnoredResource(kind.group, kind.resource)) continue;
    const id = `${kind.group}/${kind.resource}`;
    if (known.has(id)) continue;
    known.add(id);
    out.push(objectCountEvaluator(kind.group, kind.resource));
  }
  return out;
}
