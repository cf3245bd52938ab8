/**
 * The endpoints controller: for every Service with a selector, writes an Endpoints object and
 * EndpointSlices (discovery.k8s.io/v1) listing the matching pods as ready or not-ready backends
 * (slices also list terminating pods, with their `terminating` condition):
 * the pod's own address (`status.podIP`, routable from every node over the pod network) and the
 * service's targetPort resolved against the pod (numbers as given, names through the pod's named
 * container ports), as Kubernetes does. Services without a selector keep the Endpoints their
 * users wrote, mirrored into EndpointSlices as Kubernetes' mirroring controller does.
 *
 * `EndpointsReconciler.reconcile(key)` is kube-controller-manager's `syncService` for both
 * controllers: `serviceBackends` (pure) → `syncEndpoints` (`endpointSubsets`) →
 * `syncEndpointSlices` (`desiredEndpointSlices`).
 */
import type {
  Endpoints,
  EndpointSubset,
  Pod,
  Protocol,
  Service,
} from "../../shared/api/core_v1.ts";
import type { EndpointSlice } from "../../shared/api/discovery_v1.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { ENDPOINTS, ENDPOINTSLICES, PODS, SERVICES } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { selectorFromSet } from "../../shared/labels.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { isPodReady, keyOf } from "./controller_utils.ts";
import { ipv4ToInt } from "../../shared/ipv4_cidr.ts";
import { canonical, podTemplateHash } from "./rolling_update.ts";

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
const MANAGED_BY = "endpointslice-controller.skiff.dev";
/** Slices mirrored from the Endpoints of a Service without a selector (Kubernetes' value). */
const MIRROR_MANAGED_BY = "endpointslicemirroring-controller.k8s.io";
/** An Endpoints object with this label set to "true" is not mirrored. */
const SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror";

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: Protocol;
}

/** One pod as a backend of a Service. */
export interface Backend {
  ip: string;
  ready: boolean;
  /** The pod is ready (or the Service publishes not-ready addresses), being deleted or not. */
  serving: boolean;
  pod: Pod;
  /** One resolved port per service port this pod serves. */
  ports: { name?: string; port: number; protocol: Protocol }[];
  /** The pod's `hostname` when its `subdomain` names this Service (cluster DNS names it). */
  hostname?: string;
}

/**
 * The backends of `svc` among `pods`: each pod's IP and, per service port, the targetPort
 * resolved against the pod. Pods without an IP yet, and pods where no service port resolves (a
 * named targetPort the pod does not declare), are left out.
 */
export function serviceBackends(
  svc: Service,
  pods: readonly Pod[],
  o: { terminating?: boolean } = {},
): Backend[] {
  const ports = (svc.spec?.ports ?? []) as ServicePort[];
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const out: Backend[] = [];
  for (const pod of pods) {
    const ip = pod.status?.podIP as string | undefined;
    if (!ip || !pod.spec?.nodeName) continue;
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    const terminating = !!pod.metadata.deletionTimestamp;
    if (terminating && !publishNotReady && !o.terminating) continue;
    const resolved: Backend["ports"] = [];
    for (const sp of ports) {
      const protocol = sp.protocol ?? "TCP";
      const containerPort = resolveTargetPort(pod, sp.targetPort ?? sp.port, protocol);
      if (containerPort === undefined) continue;
      const p: Backend["ports"][number] = { port: containerPort, protocol };
      if (sp.name) p.name = sp.name;
      resolved.push(p);
    }
    if (resolved.length === 0 && ports.length > 0) continue;
    // As Kubernetes: a pod whose subdomain is this Service gets its hostname on the address,
    // which makes `<hostname>.<service>.<ns>.svc.<domain>` resolve (StatefulSets rely on it).
    const hostname = pod.spec?.hostname && pod.spec?.subdomain === svc.metadata.name &&
        pod.metadata.namespace === svc.metadata.namespace
      ? pod.spec.hostname
      : undefined;
    // As the EndpointSlice controller: a terminating pod is never ready (unless the Service
    // publishes not-ready addresses), but still serving while its readiness holds.
    const serving = publishNotReady || isPodReady(pod);
    const ready = publishNotReady || (serving && !terminating);
    out.push({ ip, ready, serving, pod, ports: resolved, hostname });
  }
  return out;
}

/** A targetPort as a container port number: numbers as is, names via the containers' ports. */
export function resolveTargetPort(
  pod: Pod,
  target: number | string,
  protocol: string,
): number | undefined {
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
    }
  }
  return undefined;
}

function addressOf(b: Backend): NonNullable<EndpointSubset["addresses"]>[number] {
  return {
    ip: b.ip,
    ...(b.hostname ? { hostname: b.hostname } : {}),
    nodeName: b.pod.spec.nodeName,
    targetRef: {
      kind: "Pod",
      namespace: b.pod.metadata.namespace,
      name: b.pod.metadata.name,
      uid: b.pod.metadata.uid,
    },
  };
}

/** Backends grouped by their (sorted) port list, keyed by the list's canonical JSON. */
function groupByPorts(backends: readonly Backend[]): Map<string, PortGroup> {
  const groups = new Map<string, PortGroup>();
  for (const b of backends) {
    const ports = [...b.ports].sort((x, y) =>
      (x.name ?? "").localeCompare(y.name ?? "") || x.port - y.port
    );
    const key = canonical(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, g = { ports, backends: [] });
    g.backends.push(b);
  }
  return groups;
}

interface PortGroup {
  ports: Backend["ports"];
  backends: Backend[];
}

function byAddress(a: Backend, b: Backend): number {
  return a.ip.localeCompare(b.ip) ||
    (a.pod.metadata.name ?? "").localeCompare(b.pod.metadata.name ?? "");
}

/** Groups backends into Endpoints subsets: one per distinct port list, sorted for stability. */
export function endpointSubsets(backends: readonly Backend[]): EndpointSubset[] {
  const groups = [...groupByPorts(backends).entries()].sort(([a], [b]) => a.localeCompare(b));
  return groups.map(([, g]) => {
    const ready = g.backends.filter((b) => b.ready).sort(byAddress);
    const notReady = g.backends.filter((b) => !b.ready).sort(byAddress);
    const subset: EndpointSubset = {};
    if (ready.length) subset.addresses = ready.map(addressOf);
    if (notReady.length) subset.notReadyAddresses = notReady.map(addressOf);
    if (g.ports.length) subset.ports = g.ports;
    return subset;
  });
}

/** A slice's name, labels (the Service's, its name, who manages it) and owner (the Service). */
function sliceMetadata(svc: Service, name: string, managedBy: string): EndpointSlice["metadata"] {
  return {
    name,
    namespace: svc.metadata.namespace,
    labels: {
      ...svc.metadata.labels,
      [SERVICE_NAME_LABEL]: svc.metadata.name!,
      [MANAGED_BY_LABEL]: managedBy,
    },
    ownerReferences: [{
      apiVersion: "v1",
      kind: "Service",
      name: svc.metadata.name!,
      uid: svc.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    }],
  };
}

/**
 * The EndpointSlices `svc` should have: one per distinct port list (a slice has one port list
 * for all its endpoints), named `<service>-<hash of the port list>`, owned by the Service.
 */
export function desiredEndpointSlices(
  svc: Service,
  backends: readonly Backend[],
): Map<string, EndpointSlice> {
  const ns = svc.metadata.namespace!;
  const svcName = svc.metadata.name!;
  const wanted = new Map<string, EndpointSlice>();
  for (const [k, g] of groupByPorts(backends)) {
    const sliceName = `${svcName}-${podTemplateHash(k)}`;
    wanted.set(sliceName, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: sliceMetadata(svc, sliceName, MANAGED_BY),
      addressType: "IPv4",
      endpoints: [...g.backends].sort(byAddress).map((b) => ({
        addresses: [b.ip],
        ...(b.hostname ? { hostname: b.hostname } : {}),
        conditions: {
          ready: b.ready,
          serving: b.serving,
          terminating: !!b.pod.metadata.deletionTimestamp,
        },
        nodeName: b.pod.spec.nodeName,
        targetRef: {
          kind: "Pod",
          namespace: ns,
          name: b.pod.metadata.name,
          uid: b.pod.metadata.uid,
        },
      })),
      // Unnamed ports carry name "" as the upstream controller writes them: kubectl describe
      // dereferences every slice port's name.
      ports: g.ports.map((p) => ({ ...p, name: p.name ?? "" })),
    });
  }
  return wanted;
}

/**
 * The EndpointSlices mirroring a Service's hand-written Endpoints (IPv4 addresses): one per
 * subset, `addresses` ready and `notReadyAddresses` not, labelled as Kubernetes' mirroring
 * controller labels them and owned by the Service. None when there are no Endpoints or they are
 * labelled `endpointslice.kubernetes.io/skip-mirror: "true"`.
 */
export function mirroredEndpointSlices(
  svc: Service,
  endpoints: Endpoints | undefined,
): Map<string, EndpointSlice> {
  const wanted = new Map<string, EndpointSlice>();
  if (!endpoints || endpoints.metadata.labels?.[SKIP_MIRROR_LABEL] === "true") return wanted;
  const svcName = svc.metadata.name!;
  for (const subset of endpoints.subsets ?? []) {
    const ports = (subset.ports ?? []).map((p) => ({
      name: p.name ?? "",
      port: p.port,
      protocol: p.protocol ?? "TCP",
    }));
    const sliceName = `${svcName}-${podTemplateHash(`mirror:${canonical(ports)}`)}`;
    const endpointsOf = (list: EndpointSubset["addresses"], ready: boolean) =>
      (list ?? []).filter((a) => ipv4ToInt(a.ip) !== undefined).map((a) => ({
        addresses: [a.ip],
        ...(a.hostname ? { hostname: a.hostname } : {}),
        conditions: { ready, serving: ready, terminating: false },
        ...(a.nodeName ? { nodeName: a.nodeName } : {}),
        ...(a.targetRef ? { targetRef: a.targetRef } : {}),
      }));
    const slice = wanted.get(sliceName) ?? {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: sliceMetadata(svc, sliceName, MIRROR_MANAGED_BY),
      addressType: "IPv4",
      endpoints: [],
      ports,
    } as EndpointSlice;
    slice.endpoints.push(
      ...endpointsOf(subset.addresses, true),
      ...endpointsOf(subset.notReadyAddresses, false),
    );
    wanted.set(sliceName, slice);
  }
  return wanted;
}

/** What {@linkcode EndpointsReconciler} reads and writes with. */
export interface EndpointsReconcilerOptions {
  listers: {
    services: Lister<Service>;
    pods: Lister<Pod>;
    endpoints: Lister<Endpoints>;
    slices: Lister<EndpointSlice>;
  };
  client: ControllerClient;
}

/** Keeps a Service's Endpoints and EndpointSlices in line with its ready and not-ready pods. */
export class EndpointsReconciler {
  readonly #services: Lister<Service>;
  readonly #pods: Lister<Pod>;
  readonly #endpoints: Lister<Endpoints>;
  readonly #slices: Lister<EndpointSlice>;
  readonly #client: ControllerClient;

  constructor(o: EndpointsReconcilerOptions) {
    this.#services = o.listers.services;
    this.#pods = o.listers.pods;
    this.#endpoints = o.listers.endpoints;
    this.#slices = o.listers.slices;
    this.#client = o.client;
  }

  /** Keys of the Services whose selector matches `pod`. */
  servicesForPod(pod: Pod): string[] {
    return this.#services.listNamespace(pod.metadata.namespace!)
      .filter((svc) => {
        const sel = svc.spec?.selector;
        return !!sel && Object.keys(sel).length > 0 &&
          Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v);
      })
      .map(keyOf);
  }

  /** syncService. */
  async reconcile(key: string): Promise<void> {
    const svc = this.#services.get(key);
    if (!svc) return await this.deleteEndpoints(key);
    const sel = svc.spec?.selector;
    if (!sel || Object.keys(sel).length === 0) {
      // Without a selector the user owns the Endpoints; slices mirror them (Kubernetes'
      // EndpointSlice mirroring controller), so that readers of slices see the same backends.
      const mirrored = mirroredEndpointSlices(svc, this.#endpoints.get(key));
      await this.syncEndpointSlices(svc, new Map()); // it may have had a selector before
      return await this.syncEndpointSlices(svc, mirrored, MIRROR_MANAGED_BY);
    }
    const pods = this.#pods.listNamespace(svc.metadata.namespace!, selectorFromSet(sel));
    await this.syncEndpoints(svc, endpointSubsets(serviceBackends(svc, pods)));
    // Slices also list terminating pods (ready false, serving while ready, terminating true),
    // as Kubernetes' since 1.26; the Endpoints and the node proxies leave them out.
    const backends = serviceBackends(svc, pods, { terminating: true });
    await this.syncEndpointSlices(svc, desiredEndpointSlices(svc, backends));
    await this.syncEndpointSlices(svc, new Map(), MIRROR_MANAGED_BY); // it had no selector before
  }

  /** A deleted Service's Endpoints go (they have no owner; the slices go with the GC). */
  async deleteEndpoints(key: string): Promise<void> {
    if (!this.#endpoints.get(key)) return;
    const [namespace, name] = key.split("/");
    try {
      await this.#client.delete(ENDPOINTS, name, { namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Creates or updates the Endpoints when its subsets or labels changed. */
  async syncEndpoints(svc: Service, subsets: EndpointSubset[]): Promise<void> {
    const current = this.#endpoints.get(keyOf(svc));
    const labels = { ...svc.metadata.labels };
    if (!current) {
      // AlreadyExists throws: our cache is behind, and the retry sees the object.
      await this.#client.create<Endpoints>(ENDPOINTS, {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace, labels },
        subsets,
      });
      return;
    }
    if (
      canonical(current.subsets ?? []) === canonical(subsets) &&
      canonical(current.metadata.labels ?? {}) === canonical(labels)
    ) return;
    try {
      await this.#client.update<Endpoints>(ENDPOINTS, {
        ...current,
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { ...current.metadata, labels },
        subsets,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err; // Conflict: retried with a fresher cache.
    }
  }

  /**
   * Creates, updates and deletes the Service's slices managed by `managedBy` toward `wanted`
   * ({@linkcode desiredEndpointSlices}, or {@linkcode mirroredEndpointSlices}).
   */
  async syncEndpointSlices(
    svc: Service,
    wanted: Map<string, EndpointSlice>,
    managedBy = MANAGED_BY,
  ): Promise<void> {
    const ns = svc.metadata.namespace!;
    const existing = this.#slices.listNamespace(ns).filter((s) =>
      s.metadata.labels?.[SERVICE_NAME_LABEL] === svc.metadata.name &&
      s.metadata.labels?.[MANAGED_BY_LABEL] === managedBy
    );
    for (const s of existing) {
      const want = wanted.get(s.metadata.name!);
      wanted.delete(s.metadata.name!);
      try {
        if (!want) await this.#client.delete(ENDPOINTSLICES, s.metadata.name!, { namespace: ns });
        else if (
          canonical(s.endpoints ?? []) !== canonical(want.endpoints) ||
          canonical(s.ports ?? []) !== canonical(want.ports)
        ) {
          const metadata = {
            ...s.metadata,
            ...want.metadata,
            resourceVersion: s.metadata.resourceVersion,
          };
          await this.#client.update(ENDPOINTSLICES, { ...want, metadata });
        }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    // AlreadyExists throws: our cache is behind, and the retry sees the slice.
    for (const s of wanted.values()) {
      await this.#client.create(ENDPOINTSLICES, s, { namespace: ns });
    }
  }
}

/** Options of {@linkcode runEndpointsController}. */
export interface EndpointsControllerOptions {
  informers: InformerSet;
  logger?: Logger;
  workers?: number;
  /** Pod events for one service within this window cause one reconcile (default 100 ms). */
  podBatchMs?: number;
}

/** Runs the Endpoints and EndpointSlice controller until `signal` aborts. */
export async function runEndpointsController(
  options: EndpointsControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { informers } = options;
  const logger = (options.logger ?? silentLogger).child("endpoints");
  const services = informers.get<Service>(SERVICES);
  const pods = informers.get<Pod>(PODS);
  const endpoints = informers.get<Endpoints>(ENDPOINTS);
  const slices = informers.get<EndpointSlice>(ENDPOINTSLICES);
  const queue = new WorkQueue();
  const reconciler = new EndpointsReconciler({
    listers: { services, pods, endpoints, slices },
    client: informers.client,
  });
  services.addEventHandler({
    onAdd: (s) => queue.add(keyOf(s)),
    onUpdate: (_o, s) => queue.add(keyOf(s)),
    onDelete: (s) => queue.add(keyOf(s)),
  });
  // Readiness storms collapse into one write per service per window (well within a second).
  const podBatchMs = options.podBatchMs ?? 100;
  const enqueue = (keys: Iterable<string>) => {
    for (const k of keys) queue.addAfter(k, podBatchMs);
  };
  // Hand-written Endpoints (of Services without a selector) are mirrored into slices.
  endpoints.addEventHandler({
    onAdd: (e) => queue.add(keyOf(e)),
    onUpdate: (_o, e) => queue.add(keyOf(e)),
    onDelete: (e) => queue.add(keyOf(e)),
  });
  pods.addEventHandler({
    onAdd: (p) => enqueue(reconciler.servicesForPod(p)),
    onUpdate: (o, p) =>
      enqueue(new Set([...reconciler.servicesForPod(o), ...reconciler.servicesForPod(p)])),
    onDelete: (p) => enqueue(reconciler.servicesForPod(p)),
  });
  await runController({
    name: "endpoints",
    queue,
    reconcile: (key) => reconciler.reconcile(key),
    informers: [services, pods, endpoints, slices],
    workers: options.workers ?? 5,
    logger,
  }, signal);
}
