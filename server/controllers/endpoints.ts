/**
 * The endpoints controller: for every Service with a selector, writes an Endpoints object and
 * EndpointSlices (discovery.k8s.io/v1) listing the matching pods as ready or not-ready backends.
 * A backend is reachable from every node: the pod's node address (`status.hostIP`) and the host
 * port its agent published for the service's targetPort (`status.portMappings`; named
 * targetPorts resolved through the pod's container port names). Pods on different nodes have
 * different host ports, which the Endpoints subsets express. Services without a selector keep
 * the Endpoints their users wrote.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { ENDPOINTS, ENDPOINTSLICES, PODS, SERVICES } from "../../shared/client/refs.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import { selectorFromSet } from "../../shared/labels.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { isPodReady, keyOf } from "./controller_utils.ts";
import type { InformerSet } from "./informer_set.ts";
import { canonical, podTemplateHash } from "./rolling_update.ts";

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
const MANAGED_BY = "endpointslice-controller.skiff.dev";

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

interface Backend {
  ip: string;
  ready: boolean;
  pod: KubeObject;
  /** One resolved port per service port this pod serves. */
  ports: { name?: string; port: number; protocol: string }[];
  /** The pod's `hostname` when its `subdomain` names this Service (cluster DNS names it). */
  hostname?: string;
}

/**
 * The backends of `svc` among `pods`: each pod's node address and, per service port, the host
 * port published for the resolved target port. Pods without a node address or a published port
 * for any service port are left out (not reachable yet).
 */
export function serviceBackends(svc: KubeObject, pods: readonly KubeObject[]): Backend[] {
  const ports = (svc.spec?.ports ?? []) as ServicePort[];
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const out: Backend[] = [];
  for (const pod of pods) {
    const ip = pod.status?.hostIP as string | undefined;
    if (!ip || !pod.spec?.nodeName) continue;
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    if (pod.metadata.deletionTimestamp && !publishNotReady) continue;
    const mappings = (pod.status?.portMappings ?? []) as {
      name?: string;
      containerPort: number;
      protocol?: string;
      hostPort: number;
    }[];
    const resolved: Backend["ports"] = [];
    for (const sp of ports) {
      const protocol = sp.protocol ?? "TCP";
      const containerPort = resolveTargetPort(pod, sp.targetPort ?? sp.port, protocol);
      if (containerPort === undefined) continue;
      const m = mappings.find((x) =>
        x.containerPort === containerPort && (x.protocol ?? "TCP") === protocol
      );
      if (!m) continue;
      const p: Backend["ports"][number] = { port: m.hostPort, protocol };
      if (sp.name) p.name = sp.name;
      resolved.push(p);
    }
    if (resolved.length === 0 && ports.length > 0) continue;
    // As Kubernetes: a pod whose subdomain is this Service gets its hostname on the address,
    // which makes `<hostname>.<service>.<ns>.svc.<domain>` resolve (StatefulSets rely on it).
    const hostname = pod.spec?.hostname && pod.spec?.subdomain === svc.metadata.name &&
        pod.metadata.namespace === svc.metadata.namespace
      ? pod.spec.hostname as string
      : undefined;
    out.push({ ip, ready: publishNotReady || isPodReady(pod), pod, ports: resolved, hostname });
  }
  return out;
}

/** A targetPort as a container port number: numbers as is, names via the containers' ports. */
export function resolveTargetPort(
  pod: KubeObject,
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

function addressOf(b: Backend): Record<string, unknown> {
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

/** Groups backends into Endpoints subsets: one per distinct port list, sorted for stability. */
export function endpointSubsets(backends: readonly Backend[]): Record<string, unknown>[] {
  const groups = new Map<
    string,
    { ports: Backend["ports"]; ready: Backend[]; notReady: Backend[] }
  >();
  for (const b of backends) {
    const ports = [...b.ports].sort((x, y) =>
      (x.name ?? "").localeCompare(y.name ?? "") || x.port - y.port
    );
    const key = canonical(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, g = { ports, ready: [], notReady: [] });
    (b.ready ? g.ready : g.notReady).push(b);
  }
  const byPod = (a: Backend, b: Backend) =>
    a.ip.localeCompare(b.ip) ||
    (a.pod.metadata.name ?? "").localeCompare(b.pod.metadata.name ?? "");
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, g]) => {
    const subset: Record<string, unknown> = {};
    if (g.ready.length) subset.addresses = g.ready.sort(byPod).map(addressOf);
    if (g.notReady.length) subset.notReadyAddresses = g.notReady.sort(byPod).map(addressOf);
    if (g.ports.length) subset.ports = g.ports;
    return subset;
  });
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
  const client = informers.client;
  const logger = (options.logger ?? silentLogger).child("endpoints");
  const services = informers.get(SERVICES);
  const pods = informers.get(PODS);
  const endpoints = informers.get(ENDPOINTS);
  const slices = informers.get(ENDPOINTSLICES);
  const queue = new WorkQueue();

  const servicesOfPod = (pod: KubeObject): string[] => {
    const out: string[] = [];
    for (const svc of services.byIndex("namespace", pod.metadata.namespace!)) {
      const sel = svc.spec?.selector as Record<string, string> | undefined;
      if (!sel || Object.keys(sel).length === 0) continue;
      if (Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v)) {
        out.push(keyOf(svc));
      }
    }
    return out;
  };
  services.addEventHandler({
    onAdd: (s) => queue.add(keyOf(s)),
    onUpdate: (_o, s) => queue.add(keyOf(s)),
    onDelete: (s) => queue.add(keyOf(s)),
  });
  // Readiness storms collapse into one write per service per window (well within a second).
  const podQueue = (key: string) => queue.addAfter(key, options.podBatchMs ?? 100);
  pods.addEventHandler({
    onAdd: (p) => servicesOfPod(p).forEach((k) => podQueue(k)),
    onUpdate: (o, p) => {
      for (const k of new Set([...servicesOfPod(o), ...servicesOfPod(p)])) podQueue(k);
    },
    onDelete: (p) => servicesOfPod(p).forEach((k) => podQueue(k)),
  });

  const reconcile = async (key: string) => {
    const svc = services.get(key);
    const [namespace, name] = key.split("/");
    if (!svc) {
      // Endpoints have no owner reference (slices do, and go with the garbage collector).
      if (endpoints.get(key)) {
        try {
          await client.delete(ENDPOINTS, name, { namespace });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return;
    }
    const sel = svc.spec?.selector as Record<string, string> | undefined;
    if (!sel || Object.keys(sel).length === 0) return;
    const selector = selectorFromSet(sel);
    const matching = pods.byIndex("namespace", namespace).filter((p) =>
      selector.matches(p.metadata.labels)
    );
    const backends = serviceBackends(svc, matching);
    await writeEndpoints(svc, endpointSubsets(backends));
    await writeSlices(svc, backends);
  };

  const writeEndpoints = async (svc: KubeObject, subsets: Record<string, unknown>[]) => {
    const key = keyOf(svc);
    const current = endpoints.get(key);
    const labels = { ...svc.metadata.labels };
    if (current) {
      if (
        canonical(current.subsets ?? []) === canonical(subsets) &&
        canonical(current.metadata.labels ?? {}) === canonical(labels)
      ) return;
      try {
        await client.update(ENDPOINTS, {
          ...current,
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { ...current.metadata, labels },
          subsets,
        });
      } catch (err) {
        if (!isNotFound(err)) throw err; // Conflict: retried with a fresher cache.
      }
      return;
    }
    try {
      await client.create(ENDPOINTS, {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace, labels },
        subsets,
      });
    } catch (err) {
      // AlreadyExists: our cache is behind; the retry sees the object.
      throw err;
    }
  };

  const writeSlices = async (svc: KubeObject, backends: Backend[]) => {
    const ns = svc.metadata.namespace!;
    const svcName = svc.metadata.name!;
    // One slice per distinct port list (a slice has one port list for all its endpoints).
    const groups = new Map<string, { ports: Backend["ports"]; backends: Backend[] }>();
    for (const b of backends) {
      const ports = [...b.ports].sort((x, y) =>
        (x.name ?? "").localeCompare(y.name ?? "") || x.port - y.port
      );
      const k = canonical(ports);
      let g = groups.get(k);
      if (!g) groups.set(k, g = { ports, backends: [] });
      g.backends.push(b);
    }
    const wanted = new Map<string, KubeObject>();
    for (const [k, g] of groups) {
      const sliceName = `${svcName}-${podTemplateHash(k)}`;
      wanted.set(sliceName, {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: sliceName,
          namespace: ns,
          labels: {
            ...svc.metadata.labels,
            [SERVICE_NAME_LABEL]: svcName,
            [MANAGED_BY_LABEL]: MANAGED_BY,
          },
          ownerReferences: [{
            apiVersion: "v1",
            kind: "Service",
            name: svcName,
            uid: svc.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          }],
        },
        addressType: "IPv4",
        endpoints: g.backends
          .sort((a, b) =>
            a.ip.localeCompare(b.ip) ||
            (a.pod.metadata.name ?? "").localeCompare(b.pod.metadata.name ?? "")
          )
          .map((b) => ({
            addresses: [b.ip],
            ...(b.hostname ? { hostname: b.hostname } : {}),
            conditions: {
              ready: b.ready,
              serving: b.ready,
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
    const existing = slices.byIndex("namespace", ns).filter((s) =>
      s.metadata.labels?.[SERVICE_NAME_LABEL] === svcName &&
      s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY
    );
    for (const s of existing) {
      const want = wanted.get(s.metadata.name!);
      if (!want) {
        try {
          await client.delete(ENDPOINTSLICES, s.metadata.name!, { namespace: ns });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        continue;
      }
      wanted.delete(s.metadata.name!);
      if (
        canonical(s.endpoints ?? []) === canonical(want.endpoints) &&
        canonical(s.ports ?? []) === canonical(want.ports)
      ) continue;
      try {
        await client.update(ENDPOINTSLICES, {
          ...want,
          metadata: {
            ...s.metadata,
            ...want.metadata,
            resourceVersion: s.metadata.resourceVersion,
          },
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    for (const s of wanted.values()) {
      try {
        await client.create(ENDPOINTSLICES, s, { namespace: ns });
      } catch (err) {
        // AlreadyExists: our cache is behind; the retry sees the slice.
        throw err;
      }
    }
  };

  await runController({
    name: "endpoints",
    queue,
    reconcile,
    informers: [services, pods, endpoints, slices],
    workers: options.workers ?? 5,
    logger,
  }, signal);
}
