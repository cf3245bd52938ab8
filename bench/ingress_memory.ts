/**
 * What serving Ingresses costs a node in memory: `skiff agent` (agent + proxy in one process)
 * idle with 10 pods, once with the ingress ports off and once serving an Ingress (HTTP and TLS)
 * after a short load through it — right after, and once settled. Real server (in-process), real
 * agent subprocess, real Docker.
 * Part of `deno task bench ingress` (bench/results/ingress.md).
 */
import { DEPLOYMENTS, INGRESSES, NODES, PODS, SECRETS, SERVICES } from "../shared/client/refs.ts";
import { loadCredentials } from "../agent/credentials.ts";
import { clientFor, removeNodeContainers, testAgentConfig } from "../tests/agent_test_utils.ts";
import { ensureTestImages } from "../tests/images.ts";
import { freePort } from "../tests/server_process.ts";
import { startTestServer, waitFor } from "../tests/test_utils.ts";
import { AGENT_V8_FLAGS } from "../cmd/systemd_install.ts";
import { memoryOf } from "./machine.ts";

/** Memory of the node process (MiB) with and without the ingress serving. */
export interface IngressMemoryResult {
  pods: number;
  ingressOff: ReturnType<typeof memoryOf>;
  /** Serving, 5 s after the load: what the load allocated is not given back yet. */
  ingressAfterLoad: ReturnType<typeof memoryOf>;
  /** Serving, settled (45 s after the load: memory reducer and malloc_trim have run). */
  ingressServing: ReturnType<typeof memoryOf>;
  /** Requests sent through the ingress before measuring. */
  requests: number;
}

const NODE_ADDRESS = "127.0.0.53";

function startNode(
  server: { url: string; joinToken: string },
  o: { nodeName: string; dataDir: string; http: number; https: number },
): Deno.ChildProcess {
  const main = new URL("../main.ts", import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      AGENT_V8_FLAGS,
      main,
      "agent",
      ...["--server", server.url, "--token", server.joinToken],
      ...["--node-name", o.nodeName, "--node-address", NODE_ADDRESS],
      ...["--data-dir", o.dataDir, "--api-port", String(freePort("127.0.0.1"))],
      ...["--ingress-http-port", String(o.http), "--ingress-https-port", String(o.https)],
      ...["--proxy-cluster-ips=false", "--log-level", "error"],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

async function stop(p: Deno.ChildProcess): Promise<void> {
  try {
    p.kill("SIGKILL");
  } catch { /* gone */ }
  await p.status;
}

/** Runs the measurement (about two minutes). */
export async function measureIngressMemory(pods = 10): Promise<IngressMemoryResult> {
  const images = await ensureTestImages();
  const server = await startTestServer();
  const client = clientFor(server);
  const config = await testAgentConfig(server, { nodeAddress: NODE_ADDRESS });
  const dataDir = `${config.dataDir}-node`;
  const http = freePort(NODE_ADDRESS);
  const https = freePort(NODE_ADDRESS);
  const node = { nodeName: config.nodeName, dataDir, http: 0, https: 0 };
  let proc = startNode(server, node);
  const result: IngressMemoryResult = {
    pods,
    ingressOff: { rssMiB: 0, anonMiB: 0, fileMiB: 0 },
    ingressAfterLoad: { rssMiB: 0, anonMiB: 0, fileMiB: 0 },
    ingressServing: { rssMiB: 0, anonMiB: 0, fileMiB: 0 },
    requests: 0,
  };
  try {
    await waitFor("node joined", async () => (await loadCredentials(dataDir)) !== undefined, {
      timeoutMs: 60_000,
    });
    await waitFor("node Ready", async () => {
      const n = await client.get(NODES, config.nodeName).catch(() => undefined);
      return n?.status?.conditions?.some((c: { type: string; status: string }) =>
        c.type === "Ready" && c.status === "True"
      );
    }, { timeoutMs: 60_000 });
    const labels = { app: "mem" };
    await client.create(DEPLOYMENTS, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "mem", namespace: "default" },
      spec: {
        replicas: pods,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [{
              name: "web",
              image: images.busybox,
              command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
              ports: [{ name: "http", containerPort: 8080 }],
            }],
          },
        },
      },
    });
    await client.create(SERVICES, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "mem", namespace: "default" },
      spec: { selector: labels, ports: [{ name: "web", port: 80, targetPort: "http" }] },
    });
    // A TLS Secret (a throwaway self-signed pair) so the HTTPS side is loaded too.
    const dir = await Deno.makeTempDir({ prefix: "skiff-bench-tls-" });
    await new Deno.Command("openssl", {
      args: [
        ..."req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=mem.test".split(" "),
        ...["-keyout", `${dir}/k`, "-out", `${dir}/c`],
      ],
      stderr: "null",
    }).output();
    const b64 = (path: string) => btoa(Deno.readTextFileSync(path));
    await client.create(SECRETS, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "mem-tls", namespace: "default" },
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64(`${dir}/c`), "tls.key": b64(`${dir}/k`) },
    });
    await Deno.remove(dir, { recursive: true });
    await client.create(INGRESSES, {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "mem", namespace: "default" },
      spec: {
        tls: [{ hosts: ["mem.test"], secretName: "mem-tls" }],
        rules: [{
          host: "mem.test",
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "mem", port: { name: "web" } } },
            }],
          },
        }],
      },
    });
    await waitFor("pods Running", async () => {
      const list = await client.list(PODS, { namespace: "default" });
      return list.items.filter((p) => p.status?.phase === "Running").length === pods;
    }, { timeoutMs: 120_000 });

    // A fresh process adopting the pods (a joined node's steady state), ingress off.
    await stop(proc);
    proc = startNode(server, node);
    await new Promise((r) => setTimeout(r, 15_000));
    result.ingressOff = memoryOf(proc.pid);

    // The same, serving the Ingress, after some load through it.
    await stop(proc);
    proc = startNode(server, { ...node, http, https });
    const url = `http://${NODE_ADDRESS}:${http}/index.html`;
    const hostClient = Deno.createHttpClient({ allowHost: true });
    try {
      await waitFor("ingress serving", async () => {
        const res = await fetch(url, { client: hostClient, headers: { host: "mem.test" } })
          .catch(() => undefined);
        await res?.body?.cancel();
        return res?.status === 200;
      }, { timeoutMs: 60_000 });
    } finally {
      hostClient.close();
    }
    const out = await new Deno.Command("wrk", {
      args: ["-t1", "-c8", "-d3s", "-H", "Host: mem.test", url],
      stdout: "piped",
    }).output();
    result.requests = Number(/(\d+) requests in/.exec(new TextDecoder().decode(out.stdout))?.[1]);
    // Measured twice: what the load allocated is given back only after V8's memory reducer has
    // run and the node's malloc_trim (every 30 s, shared/malloc_trim.ts) has returned freed pages
    // (measured: 55 MiB private at 2–12 s after 24,000 requests, 37 MiB from 30 s on).
    await new Promise((r) => setTimeout(r, 5_000));
    result.ingressAfterLoad = memoryOf(proc.pid);
    await new Promise((r) => setTimeout(r, 40_000));
    result.ingressServing = memoryOf(proc.pid);
  } finally {
    await stop(proc);
    await removeNodeContainers(config.nodeName);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(config.dataDir, { recursive: true }).catch(() => {});
    await server.stop();
  }
  return result;
}

if (import.meta.main) console.log(JSON.stringify(await measureIngressMemory()));
