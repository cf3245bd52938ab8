/**
 * Three servers on a three-member etcd cluster on loopback addresses, default election timing
 * (15 s / 10 s / 2 s): every renewal of the leader's Lease reaches the standbys; kill -9 of the
 * leader while a Deployment scales → another server takes the Leases and the scaling completes,
 * no acknowledged write is lost and the hollow nodes stay Ready; a leader frozen with SIGSTOP and
 * resumed after losing its Leases does not act. Slow (about a minute each); every test uses
 * addresses and ports of its own. How fast a takeover is, is the benchmark's business
 * (bench/ha_bench.ts): the waits here are bounds for a loaded machine, not claims.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import type { Endpoints } from "../shared/api/core_v1.ts";
import { ApiClient } from "../shared/client/client.ts";
import { ServerFailover, serverUrlsOfEndpoints } from "../shared/client/server_failover.ts";
import { Informer } from "../shared/informer.ts";
import {
  CONFIGMAPS,
  DEPLOYMENTS,
  ENDPOINTS,
  LEASES,
  NODES,
  REPLICASETS,
} from "../shared/client/refs.ts";
import { findEtcd } from "./etcd_process.ts";
import {
  type EtcdCluster,
  haAddresses,
  type HaServer,
  startEtcdCluster,
  startHaServer,
} from "./ha_cluster.ts";
import { type HollowNodes, startHollowNodes } from "./hollow_nodes.ts";
import { waitFor } from "./test_utils.ts";

const etcd = findEtcd();
const LEADER_LEASES = ["kube-controller-manager", "kube-scheduler"];

interface Plane {
  cluster: EtcdCluster;
  servers: HaServer[];
  stop(): Promise<void>;
}

/** etcd ×3 and servers a, b, c; a holds both Leases before b and c start. */
async function startPlane(): Promise<Plane> {
  const { ips, port } = haAddresses(3);
  const cluster = await startEtcdCluster(etcd!, ips, port);
  const secret = `secret-${crypto.randomUUID()}`;
  const servers: HaServer[] = [];
  const stop = async () => {
    for (const s of servers) await s.dispose();
    await cluster.stop();
  };
  try {
    for (const [i, name] of ["a", "b", "c"].entries()) {
      servers.push(
        await startHaServer({
          name,
          ip: ips[i],
          port,
          args: ["--datastore-endpoint", cluster.endpoints[i], "--cluster-secret", secret],
        }),
      );
      // Being ready does not mean holding the Leases (a slow first write to etcd is retried a
      // retry period later): wait, so b or c cannot win them instead.
      if (name === "a") {
        for (const lease of LEADER_LEASES) {
          await waitFor(
            `a holding ${lease}`,
            async () => await holder(servers[0].client, lease) === "a",
            {
              timeoutMs: 120_000,
              intervalMs: 200,
            },
          );
        }
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { cluster, servers, stop };
}

async function holder(client: ApiClient, lease: string): Promise<string> {
  const l = await client.get(LEASES, lease, { namespace: "kube-system" });
  return l.spec?.holderIdentity ?? "";
}

/** The renewTimes of a Lease in kube-system that `client`'s server reports on a watch. */
function watchRenewals(client: ApiClient, lease: string, signal: AbortSignal) {
  const seen = new Set<string>();
  const informer = new Informer(client, LEASES, {
    namespace: "kube-system",
    fieldSelector: `metadata.name=${lease}`,
  });
  const record = (l: KubeObject) => seen.add(l.spec?.renewTime ?? "");
  informer.addEventHandler({ onAdd: record, onUpdate: (_, l) => record(l) });
  return { seen, informer, run: informer.run(signal) };
}

function deployment(name: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "busybox:v1" }] },
      },
    },
  };
}

async function scale(client: ApiClient, name: string, replicas: number): Promise<void> {
  await client.patch(DEPLOYMENTS, name, { spec: { replicas } }, {
    namespace: "default",
    type: "merge",
  });
}

function available(client: ApiClient, name: string, replicas: number, timeoutMs = 180_000) {
  return waitFor(`${name} available ${replicas}`, async () => {
    const d = await client.get(DEPLOYMENTS, name, { namespace: "default" }).catch(() => undefined);
    return d?.status?.availableReplicas === replicas && d.status.updatedReplicas === replicas &&
      d.status.replicas === replicas;
  }, { timeoutMs, intervalMs: 200 });
}

/** Samples the nodes' Ready condition every 500 ms; returns the NotReady sightings. */
function watchReady(client: ApiClient, names: string[], signal: AbortSignal): Promise<string[]> {
  return (async () => {
    const bad: string[] = [];
    while (!signal.aborted) {
      const nodes = await client.list(NODES).catch(() => undefined);
      for (const n of nodes?.items ?? []) {
        if (!names.includes(n.metadata.name!)) continue;
        const ready = n.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
        if (ready?.status !== "True") bad.push(`${n.metadata.name}: ${ready?.status}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return bad;
  })();
}

async function metricsOf(s: HaServer): Promise<string> {
  const token = (await Deno.readTextFile(`${s.dataDir}/admin-token`)).trim();
  const r = await fetch(`${s.url}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    client: s.httpClient,
  });
  return await r.text();
}

function metric(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(" ").pop()) : undefined;
}

Deno.test({
  name:
    "a standby sees every renewal of the leader's Lease; kill -9 of the leader while a Deployment scales: another server leads, scaling completes, no acknowledged write lost, nodes stay Ready",
  ignore: etcd === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const plane = await startPlane();
    const [a, b, c] = plane.servers;
    let nodes: HollowNodes | undefined;
    let failover: ServerFailover | undefined;
    const sampling = new AbortController();
    try {
      assert.equal(await holder(b.client, "kube-controller-manager"), "a");
      assert.equal(await holder(b.client, "kube-scheduler"), "a");
      // b watches the controller-manager Lease from before a's own watch starts, so it must see
      // every renewal a's watch sees: written through to etcd, not held in a's memory as node
      // Lease renewals are (server/registry/heartbeat_buffer.ts).
      const renewalWatches = new AbortController();
      const onB = watchRenewals(b.client, "kube-controller-manager", renewalWatches.signal);
      await onB.informer.waitForSync(renewalWatches.signal);
      const onA = watchRenewals(a.client, "kube-controller-manager", renewalWatches.signal);
      await onA.informer.waitForSync(renewalWatches.signal);
      const kubectl = await new Deno.Command("kubectl", {
        args: ["--kubeconfig", `${b.dataDir}/kubeconfig.yaml`, "get", "lease", "-n", "kube-system"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const table = new TextDecoder().decode(kubectl.stdout);
      assert.match(table, /kube-controller-manager\s+a\s/, table);

      const prefix = `ha${crypto.randomUUID().slice(0, 6)}`;
      // The nodes talk to the leader, failing over as an agent does (cmd/node.ts): to the
      // servers of the kubernetes Endpoints, read by an informer through the same fetch.
      const token = (await Deno.readTextFile(`${a.dataDir}/admin-token`)).trim();
      const caPem = await Deno.readTextFile(`${a.dataDir}/tls/ca.crt`);
      failover = new ServerFailover({
        server: a.url,
        caPem,
        discover: (): string[] => serverUrlsOfEndpoints(endpoints.get("default/kubernetes")),
        headersTimeoutMs: 3000,
      });
      const nodeClient = new ApiClient({ server: a.url, token, fetch: failover.fetch });
      const endpoints: Informer<Endpoints> = new Informer<Endpoints>(nodeClient, ENDPOINTS);
      const endpointsRun = endpoints.run(sampling.signal);
      await waitFor(
        "three servers in the kubernetes Endpoints",
        () => serverUrlsOfEndpoints(endpoints.get("default/kubernetes")).length === 3,
        {
          timeoutMs: 120_000,
        },
      );
      nodes = await startHollowNodes(nodeClient, { count: 3, prefix, leaseRenewMs: 1000 });
      const readiness = watchReady(c.client, nodes.names, sampling.signal);
      await b.client.create(DEPLOYMENTS, deployment("web", 3));
      await available(b.client, "web", 3);

      // a renewed a few times meanwhile; once b shows a's latest renewal, b saw them all.
      await waitFor("a renewing its Lease", () => onA.seen.size >= 3, { timeoutMs: 60_000 });
      const latest = [...onA.seen].at(-1)!;
      await waitFor("b showing a's latest renewal", () => onB.seen.has(latest), {
        timeoutMs: 60_000,
      });
      renewalWatches.abort();
      await Promise.all([onA.run, onB.run]);
      const missed = [...onA.seen].filter((t) => !onB.seen.has(t));
      assert.deepEqual(missed, [], "renewals a made that b never saw");

      // Writes acknowledged by the leader just before it dies must survive it.
      const acked: string[] = [];
      for (let i = 0; i < 20; i++) {
        await a.client.create(CONFIGMAPS, {
          metadata: { name: `acked-${i}`, namespace: "default" },
          data: { i: String(i) },
        });
        acked.push(`acked-${i}`);
      }
      await scale(b.client, "web", 24);
      a.kill("SIGKILL");
      await a.child.status;

      for (const lease of LEADER_LEASES) {
        const next = await waitFor(`a new ${lease} leader`, async () => {
          const h = await holder(b.client, lease).catch(() => "");
          return h && h !== "a" ? h : undefined;
        }, { timeoutMs: 120_000, intervalMs: 200 });
        assert.ok(["b", "c"].includes(next), `${lease} held by ${next}`);
      }

      await available(c.client, "web", 24);
      const rs = await c.client.list(REPLICASETS, { namespace: "default" });
      assert.equal(rs.items.length, 1, "one ReplicaSet, not one per leader");
      for (const name of acked) {
        const cm = await c.client.get(CONFIGMAPS, name, { namespace: "default" });
        assert.equal(cm.metadata.name, name);
      }
      assert.notEqual(failover.current, a.url, "the nodes' client moved off the dead server");
      sampling.abort();
      await endpointsRun;
      const notReady = await readiness;
      assert.deepEqual(notReady, [], `nodes stayed Ready (seen: ${notReady.join(", ")})`);
    } finally {
      sampling.abort();
      await nodes?.stop();
      failover?.close();
      await plane.stop();
    }
  },
});

Deno.test({
  name: "a leader frozen with SIGSTOP and resumed after losing its Leases does not act",
  ignore: etcd === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const plane = await startPlane();
    const [a, b] = plane.servers;
    let nodes: HollowNodes | undefined;
    try {
      assert.equal(await holder(b.client, "kube-controller-manager"), "a");
      const prefix = `hs${crypto.randomUUID().slice(0, 6)}`;
      nodes = await startHollowNodes(b.client, { count: 2, prefix, leaseRenewMs: 1000 });
      await b.client.create(DEPLOYMENTS, deployment("frozen", 2));
      await available(b.client, "frozen", 2);
      const before = await metricsOf(a);
      assert.equal(metric(before, "leader_election_master_status", 'name="kube-scheduler"'), 1);
      assert.ok(
        (metric(before, "skiff_leader_writes_total", 'name="kube-controller-manager"') ?? 0) > 0,
        "the leader's controllers wrote while it led",
      );

      a.kill("SIGSTOP");
      for (const lease of ["kube-controller-manager", "kube-scheduler"]) {
        await waitFor(`${lease} taken from the frozen leader`, async () => {
          const h = await holder(b.client, lease).catch(() => "");
          return h && h !== "a";
        }, { timeoutMs: 120_000, intervalMs: 200 });
      }
      // Work the frozen leader's stale caches would act on once it resumes.
      await scale(b.client, "frozen", 5);
      await available(b.client, "frozen", 5);

      a.kill("SIGCONT");
      const resumedAt = Date.now();
      // Positive signal: a has caught up with what the new leader did, and says it leads nothing.
      await waitFor("a's caches caught up", async () => {
        const d = await a.client.get(DEPLOYMENTS, "frozen", { namespace: "default" })
          .catch(() => undefined);
        return d?.status?.availableReplicas === 5;
      }, { timeoutMs: 120_000 });
      const after = await waitFor("a reports no Lease held", async () => {
        const text = await metricsOf(a);
        const held = ["kube-controller-manager", "kube-scheduler"].map((n) =>
          metric(text, "leader_election_master_status", `name="${n}"`)
        );
        return held.every((v) => v === 0) ? text : undefined;
      }, { timeoutMs: 60_000 });
      for (const name of ["kube-controller-manager", "kube-scheduler"]) {
        const last = metric(after, "skiff_leader_last_write_timestamp_seconds", `name="${name}"`)!;
        assert.ok(last * 1000 < resumedAt, `${name}: a wrote after it resumed`);
        assert.notEqual(await holder(b.client, name), "a");
      }
    } finally {
      await nodes?.stop();
      await plane.stop();
    }
  },
});
