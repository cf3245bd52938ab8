/**
 * Kubernetes' LimitRanger admission plugin, over the LimitRanges of the object's namespace:
 * - a new pod's containers (init containers too) get the `defaultRequest`s and `default` limits
 *   of `type: Container` limits for the resources they leave unset, noted in the
 *   `kubernetes.io/limit-ranger` annotation;
 * - then the pod is refused (403) when a container, or the pod's total, is outside a `min`, a
 *   `max` or a `maxLimitRequestRatio`; so is a new PersistentVolumeClaim whose storage request is
 *   outside a `type: PersistentVolumeClaim` limit. The messages are LimitRanger's.
 * Pods are only checked on create, as their resources do not change afterwards.
 */
import type { LimitRange, LimitRangeItem } from "../../shared/api/limit_range.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { podTotal } from "../../shared/api/pod_resources.ts";
import { formatQuantity, parseQuantity } from "../../shared/api/quantity.ts";
import { aggregateMessage, ForbiddenError } from "../../shared/errors.ts";
import type { AdmissionPlugin } from "./admission.ts";

/** Where the plugin reads LimitRanges from. */
export interface LimitRangerDeps {
  /** The LimitRanges of a namespace (the server's cache). */
  limitRanges(namespace: string): readonly LimitRange[];
}

type Resources = Record<string, string | number>;

interface ContainerShape {
  name: string;
  resources?: { limits?: Resources; requests?: Resources };
  restartPolicy?: string;
}

interface PodShape {
  metadata: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec: { containers: ContainerShape[]; initContainers?: ContainerShape[] };
}

const ANNOTATION = "kubernetes.io/limit-ranger";

/**
 * The mutating and validating step run on every new pod, before the other pod admissions
 * (`requestedName` is the name a refusal gives, as for ServiceAccount admission).
 */
export function limitRangerPodAdmission(
  deps: LimitRangerDeps,
): (pod: KubeObject, requestedName?: string) => void {
  return (obj, requestedName) => {
    const pod = obj as unknown as PodShape;
    const ranges = deps.limitRanges(pod.metadata.namespace ?? "");
    if (ranges.length === 0) return;
    const items = ranges.flatMap((r) => r.spec.limits);
    applyDefaults(pod, items);
    const errors = [
      ...items.filter((i) => i.type === "Container").flatMap((i) => containerErrors(pod, i)),
      ...items.filter((i) => i.type === "Pod").flatMap((i) => podErrors(pod, i)),
    ];
    if (errors.length > 0) {
      throw new ForbiddenError(
        { resource: "pods", name: requestedName ?? pod.metadata.name },
        aggregateMessage(errors),
      );
    }
  };
}

/** The validating plugin for new PersistentVolumeClaims. */
export function limitRangerAdmission(deps: LimitRangerDeps): AdmissionPlugin {
  return (attrs) => {
    if (attrs.operation !== "CREATE" || attrs.resource !== "persistentvolumeclaims") return;
    const items = deps.limitRanges(attrs.namespace ?? "").flatMap((r) => r.spec.limits)
      .filter((i) => i.type === "PersistentVolumeClaim");
    const requests = (attrs.object.spec?.resources?.requests ?? {}) as Resources;
    const errors: string[] = [];
    for (const item of items) {
      for (const [r, min] of Object.entries(item.min ?? {})) {
        const e = minError("PersistentVolumeClaim", r, String(min), requests, {});
        if (e) errors.push(e);
      }
      for (const [r, max] of Object.entries(item.max ?? {})) {
        const q = requests[r];
        if (q === undefined) {
          errors.push(
            `maximum ${r} usage per PersistentVolumeClaim is ${max}.  No request is specified`,
          );
        } else if (parseQuantity(q) > parseQuantity(max)) {
          errors.push(
            `maximum ${r} usage per PersistentVolumeClaim is ${max}, but request is ${q}`,
          );
        }
      }
    }
    if (errors.length > 0) {
      throw new ForbiddenError(
        { resource: "persistentvolumeclaims", name: attrs.name },
        aggregateMessage(errors),
      );
    }
  };
}

/** Container defaults: missing requests from `defaultRequest`, missing limits from `default`. */
function applyDefaults(pod: PodShape, items: readonly LimitRangeItem[]): void {
  const defaults = items.filter((i) => i.type === "Container");
  const requests: Resources = Object.assign({}, ...defaults.map((i) => i.defaultRequest ?? {}));
  const limits: Resources = Object.assign({}, ...defaults.map((i) => i.default ?? {}));
  if (Object.keys(requests).length === 0 && Object.keys(limits).length === 0) return;
  const notes: string[] = [];
  const visit = (c: ContainerShape, what: string) => {
    const set = { request: [] as string[], limit: [] as string[] };
    for (const [r, q] of Object.entries(requests)) {
      c.resources ??= {};
      c.resources.requests ??= {};
      if (c.resources.requests[r] === undefined) {
        c.resources.requests[r] = q;
        set.request.push(r);
      }
    }
    for (const [r, q] of Object.entries(limits)) {
      c.resources ??= {};
      c.resources.limits ??= {};
      if (c.resources.limits[r] === undefined) {
        c.resources.limits[r] = q;
        set.limit.push(r);
      }
    }
    // Names sorted (Kubernetes lists them in its map's order, which varies).
    const list = (names: string[]) => names.sort().join(", ");
    if (set.request.length) notes.push(`${list(set.request)} request for ${what} ${c.name}`);
    if (set.limit.length) notes.push(`${list(set.limit)} limit for ${what} ${c.name}`);
  };
  for (const c of pod.spec.containers) visit(c, "container");
  for (const c of pod.spec.initContainers ?? []) visit(c, "init container");
  if (notes.length > 0) {
    pod.metadata.annotations = {
      ...pod.metadata.annotations,
      [ANNOTATION]: `LimitRanger plugin set: ${notes.join("; ")}`,
    };
  }
}

/** Every container's requests and limits against one `type: Container` limit. */
function containerErrors(pod: PodShape, item: LimitRangeItem): string[] {
  const out: string[] = [];
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    out.push(...boundErrors("Container", item, requests, limits));
  }
  return out;
}

/** The pod's totals against one `type: Pod` limit. */
function podErrors(pod: PodShape, item: LimitRangeItem): string[] {
  const total = (kind: "requests" | "limits") => {
    const out: Resources = {};
    const names = new Set(
      [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].flatMap((c) =>
        Object.keys(c.resources?.[kind] ?? {})
      ),
    );
    for (const r of names) {
      const sum = podTotal(pod.spec, (c) => {
        const q = c.resources?.[kind]?.[r];
        return q === undefined ? 0 : parseQuantity(q);
      });
      out[r] = formatQuantity(sum, { format: r === "cpu" ? "DecimalSI" : "BinarySI" });
    }
    return out;
  };
  return boundErrors("Pod", item, total("requests"), total("limits"));
}

function boundErrors(
  type: string,
  item: LimitRangeItem,
  requests: Resources,
  limits: Resources,
): string[] {
  const out: string[] = [];
  for (const [r, min] of Object.entries(item.min ?? {})) {
    const e = minError(type, r, String(min), requests, limits);
    if (e) out.push(e);
  }
  for (const [r, max] of Object.entries(item.max ?? {})) {
    const e = maxError(type, r, String(max), requests, limits);
    if (e) out.push(e);
  }
  for (const [r, ratio] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const e = ratioError(type, r, String(ratio), requests, limits);
    if (e) out.push(e);
  }
  return out;
}

function minError(
  type: string,
  r: string,
  min: string,
  requests: Resources,
  limits: Resources,
): string | undefined {
  const req = requests[r];
  const lim = limits[r];
  if (req === undefined) {
    return `minimum ${r} usage per ${type} is ${min}.  No request is specified`;
  }
  if (parseQuantity(req) < parseQuantity(min)) {
    return `minimum ${r} usage per ${type} is ${min}, but request is ${req}`;
  }
  if (lim !== undefined && parseQuantity(lim) < parseQuantity(min)) {
    return `minimum ${r} usage per ${type} is ${min}, but limit is ${lim}`;
  }
  return undefined;
}

function maxError(
  type: string,
  r: string,
  max: string,
  requests: Resources,
  limits: Resources,
): string | undefined {
  const req = requests[r];
  const lim = limits[r];
  if (lim === undefined) return `maximum ${r} usage per ${type} is ${max}.  No limit is specified`;
  if (parseQuantity(lim) > parseQuantity(max)) {
    return `maximum ${r} usage per ${type} is ${max}, but limit is ${lim}`;
  }
  if (req !== undefined && parseQuantity(req) > parseQuantity(max)) {
    return `maximum ${r} usage per ${type} is ${max}, but request is ${req}`;
  }
  return undefined;
}

function ratioError(
  type: string,
  r: string,
  ratio: string,
  requests: Resources,
  limits: Resources,
): string | undefined {
  const req = requests[r] === undefined ? 0 : parseQuantity(requests[r]);
  const lim = limits[r] === undefined ? 0 : parseQuantity(limits[r]);
  const head = `${r} max limit to request ratio per ${type} is ${ratio}`;
  if (req === 0) return `${head}, but no request is specified or request is 0`;
  if (lim === 0) return `${head}, but no limit is specified or limit is 0`;
  const observed = lim / req;
  // Compared in thousandths, as Kubernetes compares milli-values.
  if (Math.round(observed * 1000) > Math.round(parseQuantity(ratio) * 1000)) {
    return `${head}, but provided ratio is ${observed.toFixed(6)}`;
  }
  return undefined;
}
