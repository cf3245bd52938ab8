/**
 * A cluster on one machine as it runs on Pis: a `skiff server` process and two `skiff agent`
 * processes (127.0.0.11 and 127.0.0.12, own data dirs and agent API ports) that join with the
 * server's join token over TLS. A Deployment spreads over both nodes and is reached through its
 * Service: each endpoint (pod IP + target port), the NodePort on both node
 * addresses and the ClusterIP (the agents' embedded proxies; the Service CIDR is loopback here,
 * learnt by the agents when they joined). An agent restarted without --server/--token comes back
 * on its stored node credentials.
 */
import assert from "node:assert/strict";
import { INDEX_HTML } from "./images.ts";
import { ensureTestImages } from "./images.ts";
import { removeNodeContainers } from "./cluster.ts";
import { startServerProcess } from "./server_process.ts";
import { api, waitFor } from "./test_utils.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

interface AgentProcess {
  child: Deno.ChildProcess;
  args: string[];
}

function startAgent(args: string[]): AgentProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "agent", "--log-level", "error", ...args],
    stdin: "null",
    stdout: "null",
    stderr: Deno.env.get("SKIFF_TEST_LOG") ? "inherit" : "null",
  }).spawn();
  return { child, args };
}

async function stopAgent(agent: AgentProcess): Promise<void> {
  try {
    agent.child.kill("SIGTERM");
  } catch {
    // already exited
  }
  await agent.child.status;
}

interface PodLike {
  metadata: { name: string };
  spec: { nodeName?: string };
  status?: { phase?: string; hostIP?: string; podIP?: string };
}

Deno.test({
  name: "skiff server + two skiff agents on 127.0.0.11/12 run a Deployment spread over both nodes",
  sanitizeResources: true,
  async fn() {
    const images = await ensureTestImages();
    const serverDir = await Deno.makeTempDir({ prefix: "skiff-mn-server-" });
    const server = await startServerProcess({
      dataDir: serverDir,
      args: ["--service-cidr", "127.43.0.0/16", "--node-monitor-grace-period", "30"],
    });
    const nodes = ["127.0.0.11", "127.0.0.12"].map((address) => ({
      address,
      name: `mn-${address.split(".").pop()}-${crypto.randomUUID().slice(0, 4)}`,
      dataDir: "",
    }));
    const agents: AgentProcess[] = [];
    try {
      const joinToken = (await Deno.readTextFile(`${serverDir}/token`)).trim();
      for (const [i, n] of nodes.entries()) {
        n.dataDir = await Deno.makeTempDir({ prefix: `skiff-${n.name}-` });
        const local = [
          "--node-name",
          n.name,
          "--node-address",
          n.address,
          "--data-dir",
          n.dataDir,
          // The agent binds its API port itself; the server finds it in the Node's status.
          "--api-port",
          "0",
          "--pause-image",
          images.pause,
          // Both simulated nodes share this host's loopback: the first serves the cluster IPs.
          ...(i === 0 ? [] : ["--proxy-cluster-ips=false"]),
        ];
        agents.push(startAgent(["--server", server.url, "--token", joinToken, ...local]));
      }
      await waitFor("both nodes Ready", async () => {
        const r = await api(server, "GET", "/api/v1/nodes");
        const ready = (r.body.items ?? []).filter((n: { status?: { conditions?: [] } }) =>
          (n.status?.conditions ?? []).some((c: { type: string; status: string }) =>
            c.type === "Ready" && c.status === "True"
          )
        );
        return ready.length === 2;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      // Each node joined with its own credentials, kept private in its data dir.
      for (const n of nodes) {
        const creds = JSON.parse(await Deno.readTextFile(`${n.dataDir}/credentials.json`));
        assert.deepEqual(creds.nodeName, n.name);
        assert.ok(creds.token.startsWith("skiff."), "a node token");
        assert.deepEqual((await Deno.stat(`${n.dataDir}/credentials.json`)).mode! & 0o777, 0o600);
      }

      const labels = { app: "spread" };
      const deployment = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "spread", namespace: "default" },
        spec: {
          replicas: 4,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 2,
              containers: [{
                name: "web",
                image: images.busybox,
                imagePullPolicy: "Never",
                command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
                ports: [{ name: "http", containerPort: 8080 }],
              }],
            },
          },
        },
      };
      assert.equal(
        (await api(server, "POST", "/apis/apps/v1/namespaces/default/deployments", {
          body: deployment,
        })).status,
        201,
      );
      const service = {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "spread", namespace: "default" },
        spec: {
          type: "NodePort",
          selector: labels,
          ports: [{ name: "http", port: 80, targetPort: "http" }],
        },
      };
      assert.equal(
        (await api(server, "POST", "/api/v1/namespaces/default/services", { body: service }))
          .status,
        201,
      );
      const running = await waitFor("4 pods Running on both nodes", async () => {
        const r = await api(
          server,
          "GET",
          "/api/v1/namespaces/default/pods?labelSelector=app%3Dspread",
        );
        const pods = (r.body.items ?? []) as PodLike[];
        const up = pods.filter((p) => p.status?.phase === "Running");
        const on = new Set(up.map((p) => p.spec.nodeName));
        return up.length === 4 && nodes.every((n) => on.has(n.name)) && up;
      }, { timeoutMs: 90_000, intervalMs: 250 });
      for (const p of running) {
        const node = nodes.find((n) => n.name === p.spec.nodeName)!;
        assert.deepEqual(p.status?.hostIP, node.address);
      }

      // The Service's endpoints are the pods' own IPs and the target port; each answers.
      const backends = await waitFor("4 ready endpoints", async () => {
        const r = await api(server, "GET", "/api/v1/namespaces/default/endpoints/spread");
        const subsets = (r.body.subsets ?? []) as {
          addresses?: { ip: string }[];
          ports?: { port: number }[];
        }[];
        const list = subsets.flatMap((s) =>
          (s.addresses ?? []).flatMap((a) => (s.ports ?? []).map((p) => `${a.ip}:${p.port}`))
        );
        return list.length === 4 && list;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      assert.deepEqual(
        new Set(backends.map((b) => b.split(":")[0])),
        new Set(running.map((p) => p.status?.podIP)),
      );
      assert.ok(backends.every((b) => b.endsWith(":8080")), backends.join());
      for (const b of backends) {
        const body = await waitFor(`${b} answers`, async () => {
          const res = await fetch(`http://${b}/`, { signal: AbortSignal.timeout(5000) });
          return await res.text();
        }, { timeoutMs: 20_000, intervalMs: 250 });
        assert.deepEqual(body, INDEX_HTML);
      }

      // Through the Service: the NodePort on both nodes, and the ClusterIP.
      const svc = await api(server, "GET", "/api/v1/namespaces/default/services/spread");
      const nodePort: number = svc.body.spec.ports[0].nodePort;
      const clusterIp: string = svc.body.spec.clusterIP;
      assert.ok(clusterIp.startsWith("127.43."), clusterIp);
      for (const target of [...nodes.map((n) => `${n.address}:${nodePort}`), `${clusterIp}:80`]) {
        const body = await waitFor(`the Service answers on ${target}`, async () => {
          const res = await fetch(`http://${target}/`, { signal: AbortSignal.timeout(5000) });
          return await res.text();
        }, { timeoutMs: 30_000, intervalMs: 250 });
        assert.deepEqual(body, INDEX_HTML);
      }

      // Logs travel server → agent with the agent-client token the agents accept.
      const podName = running.find((p) => p.spec.nodeName === nodes[1].name)!.metadata.name;
      const logs = await api(server, "GET", `/api/v1/namespaces/default/pods/${podName}/log`);
      assert.equal(logs.status, 200, JSON.stringify(logs.body));

      // A restarted agent needs neither --server nor --token: it uses its stored credentials.
      await stopAgent(agents[1]);
      agents[1] = startAgent(agents[1].args.slice(4)); // without --server URL --token TOKEN
      await waitFor("the restarted agent serves logs again", async () => {
        const r = await api(server, "GET", `/api/v1/namespaces/default/pods/${podName}/log`);
        return r.status === 200;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        agents[1].child.status,
        new Promise<undefined>((r) => timer = setTimeout(r, 500, undefined)),
      ]);
      clearTimeout(timer);
      assert.equal(status, undefined, "the restarted agent keeps running");
    } finally {
      await api(server, "DELETE", "/apis/apps/v1/namespaces/default/deployments/spread").catch(
        () => {},
      );
      for (const a of agents) await stopAgent(a);
      await removeNodeContainers(nodes.map((n) => n.name));
      await server.stop();
      for (const d of [serverDir, ...nodes.map((n) => n.dataDir)]) {
        if (d) await Deno.remove(d, { recursive: true }).catch(() => {});
      }
    }
  },
});
