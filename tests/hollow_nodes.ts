/**
 * Hollow nodes for control-plane tests and the benchmark, like kwok: Node objects with their
 * Leases renewed, and the agent's part in pod status played without containers — bound pods
 * become Running/Ready with `hostIP`, a pod IP of their own (a made-up address, never dialled)
 * and `status.portMappings` for declared hostPorts, and pods being deleted are finished off with
 * grace 0; with `runToCompletion`, Job pods then exit 0 and become Succeeded. A node can be
 * "killed" (no more lease renewals, no more pod handling) and brought back.
 */
import type { KubeObject } from "../shared/api/object.ts";
import type { Taint } from "../shared/api/core_v1.ts";
import { LOCAL_PATH_ROOT_ANNOTATION } from "../shared/local_path.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { LEASES, NODES, PODS } from "../shared/client/refs.ts";
import { delay } from "../shared/backoff.ts";
import { runController } from "../shared/controller.ts";
import { isNotFound } from "../shared/errors.ts";
import { Informer } from "../shared/informer.ts";
import { WorkQueue } from "../shared/work_queue.ts";
import { rfc3339, rfc3339Micro } from "../shared/time.ts";

/** Options of {@linkcode startHollowNodes}. */
export interface HollowNodesOptions {
  /** Number of nodes (named `<prefix>-<i>`, from 0). */
  count: number;
  prefix?: string;
  cpu?: string;
  memory?: string;
  pods?: string;
  /** Extra labels per node index. */
  labels?: (i: number) => Record<string, string>;
  /** Taints per node index. */
  taints?: (i: number) => Taint[];
  /** Lease renewal period (default 1000 ms). */
  leaseRenewMs?: number;
  /** Pod status writers in parallel (default 8). */
  workers?: number;
  /** Node addresses: `127.0.<third>.<11 + i>` style, default 127.0.0.11, 127.0.0.12, ... */
  addressOf?: (i: number) => string;
  /** Make bound pods Ready (default true); false leaves them Running but not ready. */
  ready?: boolean;
  /** Play the agent's part in pod status (default true); false: nodes and leases only. */
  handlePods?: boolean;
  /**
   * Pods whose restartPolicy is Never or OnFailure (a Job's) run to completion: Running, then
   * Succeeded with exit code 0 in the next status write (default false: they keep running).
   */
  runToCompletion?: boolean;
}

/** A running set of hollow nodes. */
export interface HollowNodes {
  names: string[];
  addressOf(name: string): string;
  /** Stops renewing the node's lease and handling its pods (the node "dies"). */
  kill(name: string): void;
  /** Resumes a killed node: lease renewals, Ready=True, pod handling. */
  revive(name: string): Promise<void>;
  /** Sets a pod's readiness (as a failing/recovering readiness probe would). */
  setReady(namespace: string, name: string, ready: boolean): Promise<void>;
  /** Stops everything (does not delete the Node objects). */
  stop(): Promise<void>;
}

function defaultAddress(i: number): string {
  return `127.0.${Math.floor((11 + i) / 250)}.${((11 + i) % 250) + 1}`;
}

/** Creates the nodes and starts playing their agents. */
export async function startHollowNodes(
  client: ApiClient,
  options: HollowNodesOptions,
): Promise<HollowNodes> {
  const prefix = options.prefix ?? "node";
  const names = Array.from({ length: options.count }, (_, i) => `${prefix}-${i}`);
  const addresses = new Map<string, string>();
  names.forEach((n, i) =>
    addresses.set(
      n,
      options.addressOf?.(i) ?? (options.count < 240 ? `127.0.0.${11 + i}` : defaultAddress(i)),
    )
  );
  const dead = new Set<string>();
  // Pod IPs: one distinct made-up address per pod (10.254.0.0/16 counts up; nothing dials them).
  const podIPs = new Map<string, string>();
  let nextPodIP = 1;
  const overrides = new Map<string, boolean>();
  const ac = new AbortController();
  const makeReady = options.ready ?? true;

  const readyCondition = () => ({
    type: "Ready",
    status: "True",
    reason: "KubeletReady",
    message: "kubelet is posting ready status",
    lastHeartbeatTime: rfc3339(),
    lastTransitionTime: rfc3339(),
  });

  // Nodes and leases, in parallel batches.
  const batch = 50;
  for (let i = 0; i < names.length; i += batch) {
    await Promise.all(
      names.slice(i, i + batch).map(async (name, j) => {
        const idx = i + j;
        const node: KubeObject = {
          apiVersion: "v1",
          kind: "Node",
          metadata: {
            name,
            labels: {
              "kubernetes.io/hostname": name,
              "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64",
              "type": "hollow",
              ...options.labels?.(idx),
            },
            // Like a real agent, a hollow node offers local-path volumes (never created on disk).
            annotations: { [LOCAL_PATH_ROOT_ANNOTATION]: `/var/lib/skiff-hollow/${name}/storage` },
          },
          spec: { taints: options.taints?.(idx) ?? [] },
          status: {
            capacity: {
              cpu: options.cpu ?? "4",
              memory: options.memory ?? "8Gi",
              pods: options.pods ?? "110",
            },
            allocatable: {
              cpu: options.cpu ?? "4",
              memory: options.memory ?? "8Gi",
              pods: options.pods ?? "110",
            },
            conditions: [readyCondition()],
            addresses: [
              { type: "InternalIP", address: addresses.get(name) },
              { type: "Hostname", address: name },
            ],
            nodeInfo: {
              kubeletVersion: "v1.32.0-skiff-hollow",
              operatingSystem: "linux",
              architecture: "amd64",
            },
          },
        };
        await client.create(NODES, node);
        await client.create(LEASES, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace: "kube-node-lease" },
          spec: {
            holderIdentity: name,
            leaseDurationSeconds: 40,
            renewTime: rfc3339Micro(),
          },
        }, { namespace: "kube-node-lease" });
      }),
    );
  }

  const renewMs = options.leaseRenewMs ?? 1000;
  const renewLoop = (async () => {
    while (!ac.signal.aborted) {
      await delay(renewMs, ac.signal);
      if (ac.signal.aborted) return;
      const alive = names.filter((n) => !dead.has(n));
      for (let i = 0; i < alive.length; i += batch) {
        await Promise.all(
          alive.slice(i, i + batch).map((name) =>
            client.patch(LEASES, name, { spec: { renewTime: rfc3339Micro() } }, {
              namespace: "kube-node-lease",
              type: "merge",
            }).catch(() => {})
          ),
        );
      }
    }
  })();

  // Pods: our part of the agent.
  const mine = new Set(names);
  const pods = new Informer(client, PODS, { fieldSelector: undefined });
  const queue = new WorkQueue({ baseDelayMs: 50, maxDelayMs: 2000 });
  const enqueue = (p: KubeObject) => {
    const n = p.spec?.nodeName;
    if (n && mine.has(n) && !dead.has(n)) queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
  };
  pods.addEventHandler({ onAdd: enqueue, onUpdate: (_o, p) => enqueue(p) });

  const reconcile = async (key: string) => {
    const pod = pods.get(key);
    if (!pod) {
      podIPs.delete(key);
      return;
    }
    const nodeName = pod.spec?.nodeName as string;
    if (!nodeName || dead.has(nodeName)) return;
    const [namespace, name] = key.split("/");
    if (pod.metadata.deletionTimestamp) {
      try {
        await client.delete(PODS, name, {
          namespace,
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        });
      } catch (err) {
        if (!isNotFound(err) && (err as { code?: number }).code !== 409) throw err;
      }
      return;
    }
    const ready = overrides.get(key) ?? makeReady;
    const hostIP = addresses.get(nodeName)!;
    const status = pod.status ?? {};
    const finite = (pod.spec?.restartPolicy ?? "Always") !== "Always";
    if (status.phase === "Succeeded" || status.phase === "Failed") return;
    if (options.runToCompletion && finite && status.phase === "Running") {
      const t = rfc3339();
      await client.patch(PODS, name, {
        status: {
          phase: "Succeeded",
          conditions: [
            { type: "PodScheduled", status: "True", lastTransitionTime: t },
            { type: "Initialized", status: "True", lastTransitionTime: t },
            {
              type: "ContainersReady",
              status: "False",
              reason: "PodCompleted",
              lastTransitionTime: t,
            },
            { type: "Ready", status: "False", reason: "PodCompleted", lastTransitionTime: t },
          ],
          containerStatuses: (pod.spec?.containers ?? []).map((
            c: { name: string; image: string },
          ) => ({
            name: c.name,
            image: c.image,
            imageID: "",
            ready: false,
            restartCount: 0,
            started: false,
            state: {
              terminated: { exitCode: 0, reason: "Completed", startedAt: t, finishedAt: t },
            },
          })),
        },
      }, { namespace, type: "merge", subresource: "status" });
      return;
    }
    const wasReady = (status.conditions ?? []).find((c: { type: string }) => c.type === "Ready");
    if (
      status.phase === "Running" && status.hostIP === hostIP &&
      (wasReady?.status === "True") === ready
    ) return;
    let podIP = podIPs.get(key);
    if (!podIP) {
      const n = nextPodIP++;
      podIP = `10.254.${(n >> 8) & 255}.${n & 255}`;
      podIPs.set(key, podIP);
    }
    let mappings = status.portMappings as unknown[] | undefined;
    if (!mappings || status.hostIP !== hostIP) {
      mappings = [];
      for (const c of pod.spec?.containers ?? []) {
        for (const p of c.ports ?? []) {
          const hostPort = p.hostPort;
          if (!hostPort) continue;
          const m: Record<string, unknown> = {
            containerName: c.name,
            containerPort: p.containerPort,
            protocol: p.protocol ?? "TCP",
            hostIP,
            hostPort,
          };
          if (p.name) m.name = p.name;
          mappings.push(m);
        }
      }
    }
    const t = rfc3339();
    const cond = (type: string, ok: boolean) => ({
      type,
      status: ok ? "True" : "False",
      lastProbeTime: null,
      lastTransitionTime: t,
    });
    await client.patch(PODS, name, {
      status: {
        phase: "Running",
        hostIP,
        hostIPs: [{ ip: hostIP }],
        podIP,
        podIPs: [{ ip: podIP }],
        startTime: status.startTime ?? t,
        conditions: [
          cond("PodScheduled", true),
          cond("Initialized", true),
          cond("ContainersReady", ready),
          cond("Ready", ready),
        ],
        containerStatuses: (pod.spec?.containers ?? []).map((
          c: { name: string; image: string },
        ) => ({
          name: c.name,
          image: c.image,
          imageID: "",
          ready,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: t } },
        })),
        portMappings: mappings,
      },
    }, { namespace, type: "merge", subresource: "status" });
  };

  const handlePods = options.handlePods ?? true;
  const informerRun = handlePods ? pods.run(ac.signal) : Promise.resolve();
  const controllerRun = !handlePods ? Promise.resolve() : runController({
    name: "hollow-nodes",
    queue,
    reconcile,
    informers: [pods],
    workers: options.workers ?? 8,
  }, ac.signal);

  return {
    names,
    addressOf: (name) => addresses.get(name)!,
    kill(name) {
      dead.add(name);
    },
    async revive(name) {
      dead.delete(name);
      await client.patch(LEASES, name, { spec: { renewTime: rfc3339Micro() } }, {
        namespace: "kube-node-lease",
        type: "merge",
      });
      const node = await client.get(NODES, name);
      const conditions = (node.status?.conditions ?? []).filter((c: { type: string }) =>
        c.type !== "Ready"
      );
      await client.patch(
        NODES,
        name,
        { status: { conditions: [...conditions, readyCondition()] } },
        {
          type: "merge",
          subresource: "status",
        },
      );
      for (const p of pods.list()) enqueue(p);
    },
    async setReady(namespace, name, ready) {
      overrides.set(`${namespace}/${name}`, ready);
      queue.add(`${namespace}/${name}`);
      await Promise.resolve();
    },
    async stop() {
      ac.abort();
      await Promise.all([renewLoop, informerRun, controllerRun]);
    },
  };
}
