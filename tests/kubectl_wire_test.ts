/**
 * The real kubectl against Skiff's wire-format pieces, served by a small apiserver front on
 * 127.0.0.1 that has just the routes these commands touch: protobuf bodies from
 * `kubectl create`, `kubectl exec` over the v5 channel protocol, and `kubectl port-forward` over
 * SPDY tunnelled in a WebSocket, forwarding to a real TCP echo server.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { ApiError } from "../shared/errors.ts";
import type { KubeObject } from "../shared/api/object.ts";
import { decodeProtobufObject } from "../server/api/protobuf/mod.ts";
import {
  type ExecIO,
  parseExecOptions,
  serveExecWebSocket,
} from "../shared/remotecommand/websocket_channels.ts";
import { servePortForwardWebSocket } from "../shared/remotecommand/websocket_portforward.ts";
import {
  nodeMetricsList,
  type NodeUsage,
  podMetricsList,
  type PodUsage,
} from "../server/api/metrics_api.ts";
import { proxyWebSocket } from "../server/api/exec_proxy.ts";
import { haveKubectl, KUBECTL, kubectl } from "./kubectl.ts";

const DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const enc = new TextEncoder();
const dec = new TextDecoder();

function json(body: unknown, status = 200, type = "application/json"): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
}

const resource = (resource: string, kind: string, group = "", version = "v1") => ({
  resource,
  responseKind: { group, version, kind },
  scope: "Namespaced",
  verbs: ["create", "get", "list"],
});

const coreDiscovery = {
  items: [{
    metadata: { name: "" },
    versions: [{
      version: "v1",
      resources: [resource("pods", "Pod"), { ...resource("nodes", "Node"), scope: "Cluster" }],
    }],
  }],
};
const groupDiscovery = {
  items: [{
    metadata: { name: "metrics.k8s.io" },
    versions: [{
      version: "v1beta1",
      resources: [
        { ...resource("nodes", "NodeMetrics", "metrics.k8s.io", "v1beta1"), scope: "Cluster" },
        resource("pods", "PodMetrics", "metrics.k8s.io", "v1beta1"),
      ],
    }],
  }],
};

const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "hello", namespace: "default", uid: "uid-hello" },
  spec: { containers: [{ name: "hello", image: "busybox", ports: [{ containerPort: 8080 }] }] },
  status: { phase: "Running", podIP: "127.0.0.1" },
};

const node = (name: string) => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name },
  status: { allocatable: { cpu: "2", memory: "4Gi" }, capacity: { cpu: "2", memory: "4Gi" } },
});
const nodeList = {
  apiVersion: "v1",
  kind: "NodeList",
  metadata: {},
  items: [node("n1"), node("n2")],
};
const nodeUsage: NodeUsage[] = [
  { name: "n2", cpuNanoCores: 1_000_000_000, memoryBytes: 1024 ** 3 },
  { name: "n1", cpuNanoCores: 250_123_456, memoryBytes: 512 * 1024 ** 2 + 300 },
];
const podUsage: PodUsage[] = [{
  namespace: "default",
  name: "hello",
  containers: [
    { name: "app", cpuNanoCores: 3_000_000, memoryBytes: 20 * 1024 ** 2 },
    { name: "sidecar", cpuNanoCores: 1_500_000, memoryBytes: 4 * 1024 ** 2 },
  ],
}];

/** A toy container runtime for exec: a few commands implemented on the exec streams. */
async function runCommand(command: string[], io: ExecIO): Promise<{ exitCode: number }> {
  const out = io.stdout.getWriter();
  const err = io.stderr.getWriter();
  try {
    switch (command[0]) {
      case "echo":
        await out.write(enc.encode(command.slice(1).join(" ") + "\n"));
        return { exitCode: 0 };
      case "fail":
        await err.write(enc.encode("failing on purpose\n"));
        return { exitCode: Number(command[1]) };
      case "cat": {
        out.releaseLock();
        await io.stdin.pipeTo(io.stdout, { preventClose: true });
        return { exitCode: 0 };
      }
      case "size": {
        // Prints the first terminal size kubectl reports (it sends one at start with -t).
        const reader = io.resize.getReader();
        const { value } = await reader.read();
        reader.releaseLock();
        await out.write(enc.encode(`${value?.width}x${value?.height} tty\n`));
        return { exitCode: 0 };
      }
      default:
        throw new Error(`executable file not found: ${command[0]}`);
    }
  } finally {
    out.releaseLock();
    err.releaseLock();
  }
}

interface FrontOptions {
  /** Where port-forward connections go. */
  forwardTo: number;
  /** The agent's port: exec and port-forward of pod "relayed" are relayed there. */
  agentPort: number;
}

const AGENT_TOKEN = "agent-secret";

/** The node agent's side: serves exec and port-forward itself, behind a bearer token. */
function startAgent(options: { forwardTo: number }) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (req.headers.get("authorization") !== `Bearer ${AGENT_TOKEN}`) {
      return json({ kind: "Status", apiVersion: "v1", status: "Failure", code: 401 }, 401);
    }
    if (url.pathname === "/exec/default/relayed/hello") {
      const exec = parseExecOptions(url);
      return serveExecWebSocket(req, (io) => runCommand(exec.command, io));
    }
    if (url.pathname === "/portforward/default/relayed") {
      return servePortForwardWebSocket(
        req,
        () => Deno.connect({ hostname: "127.0.0.1", port: options.forwardTo }),
      );
    }
    return json({ kind: "Status", apiVersion: "v1", status: "Failure", code: 404 }, 404);
  });
}

/** The apiserver front: version, discovery, one pod, create (protobuf or JSON), exec, port-forward. */
function startFront(options: FrontOptions) {
  const created: KubeObject[] = [];
  const forwardedPorts: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const path = url.pathname;
    try {
      if (path === "/version") return json({ major: "1", minor: "32", gitVersion: "v1.32.4" });
      if (path === "/api") return json(coreDiscovery, 200, DISCOVERY_TYPE);
      if (path === "/apis") return json(groupDiscovery, 200, DISCOVERY_TYPE);
      if (path === "/api/v1/nodes") return json(nodeList);
      if (path === "/apis/metrics.k8s.io/v1beta1/nodes") return json(nodeMetricsList(nodeUsage));
      if (path === "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods") {
        return json(podMetricsList(podUsage));
      }
      if (path === "/api/v1/namespaces/default/pods/hello") return json(pod);
      if (path === "/api/v1/namespaces/default/pods/relayed") {
        return json({ ...pod, metadata: { ...pod.metadata, name: "relayed" } });
      }
      if (path === "/api/v1/namespaces/default/pods/relayed/exec") {
        const agentUrl = `ws://127.0.0.1:${options.agentPort}/exec/default/relayed/hello`;
        return await proxyWebSocket(req, { url: agentUrl + url.search, token: AGENT_TOKEN });
      }
      if (path === "/api/v1/namespaces/default/pods/relayed/portforward") {
        const agentUrl = `ws://127.0.0.1:${options.agentPort}/portforward/default/relayed`;
        return await proxyWebSocket(req, { url: agentUrl, token: AGENT_TOKEN });
      }
      if (path === "/api/v1/namespaces/default/pods/down") {
        return json({ ...pod, metadata: { ...pod.metadata, name: "down" } });
      }
      if (path === "/api/v1/namespaces/default/pods/down/portforward") {
        return servePortForwardWebSocket(
          req,
          () => Promise.reject(new Error("connection refused")),
        );
      }
      if (path === "/api/v1/namespaces/default/pods/hello/exec") {
        const exec = parseExecOptions(url);
        return serveExecWebSocket(req, (io) => runCommand(exec.command, io));
      }
      if (path === "/api/v1/namespaces/default/pods/hello/portforward") {
        return servePortForwardWebSocket(req, (port) => {
          forwardedPorts.push(port);
          return Deno.connect({ hostname: "127.0.0.1", port: options.forwardTo });
        });
      }
      if (req.method === "POST") {
        const bytes = new Uint8Array(await req.arrayBuffer());
        const obj = req.headers.get("content-type") === "application/vnd.kubernetes.protobuf"
          ? decodeProtobufObject(bytes)
          : JSON.parse(dec.decode(bytes)) as KubeObject;
        created.push(obj);
        return json({ ...obj, metadata: { namespace: "default", ...obj.metadata, uid: "u" } }, 201);
      }
      return json({ kind: "Status", apiVersion: "v1", status: "Failure", code: 404 }, 404);
    } catch (err) {
      if (err instanceof ApiError) return json(err.toStatus(), err.code);
      throw err;
    }
  });
  return { server, created, forwardedPorts, port: server.addr.port };
}

/** A TCP server that echoes every connection back and closes it at the client's EOF. */
function startEchoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conns: Promise<void>[] = [];
    for await (const conn of listener) {
      conns.push(conn.readable.pipeTo(conn.writable).catch(() => {}));
    }
    await Promise.all(conns);
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      await served;
    },
  };
}

async function withCluster(
  fn: (
    cluster: { kubeconfigPath: string; cacheDir: string },
    front: ReturnType<typeof startFront>,
  ) => Promise<void>,
) {
  const echo = startEchoServer();
  const agent = startAgent({ forwardTo: echo.port });
  const front = startFront({ forwardTo: echo.port, agentPort: agent.addr.port });
  const dir = await Deno.makeTempDir({ prefix: "skiff-wire-" });
  const kubeconfigPath = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: `http://127.0.0.1:${front.port}` } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u", namespace: "default" } }],
      "current-context": "c",
    }),
  );
  try {
    await fn({ kubeconfigPath, cacheDir: `${dir}/cache` }, front);
  } finally {
    await front.server.shutdown();
    await agent.shutdown();
    await echo.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const ignore = !haveKubectl();

Deno.test({
  name: "kubectl create deployment/service/configmap/secret sends protobuf that decodes to JSON",
  ignore,
  fn: () =>
    withCluster(async (cluster, front) => {
      const run = async (...args: string[]) => {
        const r = await kubectl(cluster, args);
        equal(r.code, 0, r.stderr);
        return r.stdout;
      };
      match(
        await run("create", "deployment", "my-nginx", "--image=nginx", "--replicas=3", "--port=80"),
        /deployment.apps\/my-nginx created/,
      );
      await run("create", "service", "nodeport", "web", "--tcp=80:8080");
      await run("create", "configmap", "cfg", "--from-literal=a=1");
      await run("create", "secret", "generic", "s", "--from-literal=p=x");
      await run("create", "namespace", "edge");
      const [deployment, service, configmap, secret, namespace] = front.created;
      deepStrictEqual(deployment.spec.template.spec.containers, [{
        name: "nginx",
        image: "nginx",
        ports: [{ containerPort: 80 }],
        resources: {},
      }]);
      equal(deployment.spec.replicas, 3);
      deepStrictEqual(service.spec.ports, [{
        name: "80-8080",
        protocol: "TCP",
        port: 80,
        targetPort: 8080,
      }]);
      deepStrictEqual(configmap.data, { a: "1" });
      deepStrictEqual(secret.data, { p: btoa("x") });
      deepStrictEqual(namespace, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "edge" },
        spec: {},
        status: {},
      });
    }),
});

Deno.test({
  name: "kubectl exec prints stdout and exits 0 after the Success status",
  ignore,
  fn: () =>
    withCluster(async (cluster) => {
      const r = await kubectl(cluster, ["exec", "hello", "--", "echo", "hi", "there"]);
      equal(r.code, 0, r.stderr);
      equal(r.stdout, "hi there\n");
    }),
});

Deno.test({
  name: "kubectl exec reports a non-zero exit code from the Failure status",
  ignore,
  fn: () =>
    withCluster(async (cluster) => {
      const r = await kubectl(cluster, ["exec", "hello", "--", "fail", "3"]);
      equal(r.code, 3, r.stderr);
      match(r.stderr, /failing on purpose/);
      match(r.stderr, /command terminated with exit code 3/);
    }),
});

Deno.test({
  name: "kubectl exec shows the error of a command that cannot run",
  ignore,
  fn: () =>
    withCluster(async (cluster) => {
      const r = await kubectl(cluster, ["exec", "hello", "--", "nope"]);
      ok(r.code !== 0);
      match(r.stderr, /executable file not found: nope/);
    }),
});

Deno.test({
  name: "kubectl exec -i streams piped stdin to the command until its end",
  ignore,
  fn: () =>
    withCluster(async (cluster) => {
      const input = "line one\nline two\n" + "x".repeat(100_000) + "\n";
      const r = await kubectl(cluster, ["exec", "-i", "hello", "--", "cat"], { stdin: input });
      equal(r.code, 0, r.stderr);
      equal(r.stdout, input);
    }),
});

/** Starts `kubectl port-forward`, returns the local port it listens on and a stop function. */
async function startPortForward(
  cluster: { kubeconfigPath: string; cacheDir: string },
  podName = "hello",
) {
  const child = new Deno.Command(KUBECTL, {
    args: [
      "--kubeconfig",
      cluster.kubeconfigPath,
      "--cache-dir",
      cluster.cacheDir,
      "port-forward",
      "--address=127.0.0.1",
      `pod/${podName}`,
      ":8080",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { HOME: cluster.cacheDir },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let localPort = 0;
  while (!localPort) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`kubectl port-forward exited: ${seen} ${await stderr}`);
    seen += value;
    const m = seen.match(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/);
    if (m) localPort = Number(m[1]);
  }
  const drain = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value;
    }
  })();
  return {
    localPort,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch (err) {
        // kubectl may have ended already: after an error forwarding a connection it can close
        // the tunnel and exit on its own (seen in CI for the refused-connection case).
        if (!(err instanceof TypeError)) throw err;
      }
      await child.status;
      await drain;
      return { stdout: seen, stderr: await stderr };
    },
  };
}

/** Sends `payload`, half-closes, and reads the reply until the far end closes. */
async function echoThrough(port: number, payload: Uint8Array): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reply = new Response(conn.readable).bytes();
  for (let offset = 0; offset < payload.byteLength;) {
    offset += await conn.write(payload.subarray(offset));
  }
  await conn.closeWrite(); // half-close: the echo server then finishes and closes its side
  return await reply;
}

Deno.test({
  name: "kubectl port-forward carries bytes both ways through the SPDY tunnel",
  ignore,
  fn: () =>
    withCluster(async (cluster, front) => {
      const pf = await startPortForward(cluster);
      try {
        equal(dec.decode(await echoThrough(pf.localPort, enc.encode("ping\n"))), "ping\n");
        // A second connection over the same tunnel, and a payload bigger than one frame.
        const big = new Uint8Array(300_000).map((_, i) => i % 251);
        deepStrictEqual(await echoThrough(pf.localPort, big), big);
        // Concurrent connections stay separate.
        const replies = await Promise.all(
          ["a", "b", "c"].map((s) => echoThrough(pf.localPort, enc.encode(s.repeat(1000)))),
        );
        deepStrictEqual(
          replies.map((r) => dec.decode(r)),
          ["a", "b", "c"].map((s) => s.repeat(1000)),
        );
        deepStrictEqual(front.forwardedPorts, [8080, 8080, 8080, 8080, 8080]);
      } finally {
        const out = await pf.stop();
        ok(!/error/i.test(out.stderr), out.stderr);
      }
    }),
});

Deno.test({
  name: "kubectl top nodes and top pods read the metrics.k8s.io lists",
  ignore,
  fn: () =>
    withCluster(async (cluster) => {
      const nodes = await kubectl(cluster, ["top", "nodes"]);
      equal(nodes.code, 0, nodes.stderr);
      deepStrictEqual(nodes.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/)), [
        ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"],
        ["n1", "251m", "12%", "512Mi", "12%"],
        ["n2", "1000m", "50%", "1024Mi", "25%"],
      ]);
      const pods = await kubectl(cluster, ["top", "pods", "--containers"]);
      equal(pods.code, 0, pods.stderr);
      deepStrictEqual(pods.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/)), [
        ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"],
        ["hello", "app", "3m", "20Mi"],
        ["hello", "sidecar", "2m", "4Mi"],
      ]);
    }),
});

Deno.test({
  name: "kubectl exec -it sends the terminal size on the resize channel",
  ignore: ignore || !haveScript(),
  fn: () =>
    withCluster(async (cluster) => {
      // `script` gives kubectl a pseudo-terminal of a known size, as an interactive shell would.
      const kubectlCommand = [
        KUBECTL,
        "--kubeconfig",
        cluster.kubeconfigPath,
        "--cache-dir",
        cluster.cacheDir,
        "exec",
        "-it",
        "hello",
        "--",
        "size",
      ].join(" ");
      const out = await new Deno.Command("script", {
        args: ["-q", "-e", "-c", `stty cols 123 rows 45; ${kubectlCommand}`, "/dev/null"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { HOME: cluster.cacheDir },
      }).output();
      const stdout = dec.decode(out.stdout);
      equal(out.code, 0, stdout + dec.decode(out.stderr));
      match(stdout, /123x45 tty/);
    }),
});

function haveScript(): boolean {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
}

Deno.test({
  name: "kubectl port-forward reports a connection the server could not make",
  ignore,
  fn: () =>
    withCluster(async (cluster) => {
      const pf = await startPortForward(cluster, "down");
      let reply: Uint8Array;
      try {
        reply = await echoThrough(pf.localPort, enc.encode("ping\n"));
      } finally {
        const out = await pf.stop();
        match(
          out.stderr,
          /an error occurred forwarding \d+ -> 8080: error forwarding port 8080: connection refused/,
        );
      }
      equal(reply.byteLength, 0);
    }),
});

Deno.test({
  name: "kubectl exec and port-forward work through the server-to-agent WebSocket relay",
  ignore,
  fn: () =>
    withCluster(async (cluster) => {
      const ok0 = await kubectl(cluster, ["exec", "relayed", "--", "echo", "via", "agent"]);
      equal(ok0.code, 0, ok0.stderr);
      equal(ok0.stdout, "via agent\n");
      const failed = await kubectl(cluster, ["exec", "relayed", "--", "fail", "4"]);
      equal(failed.code, 4, failed.stderr);
      match(failed.stderr, /command terminated with exit code 4/);
      const input = "relayed stdin\n".repeat(1000);
      const cat = await kubectl(cluster, ["exec", "-i", "relayed", "--", "cat"], { stdin: input });
      equal(cat.code, 0, cat.stderr);
      equal(cat.stdout, input);
      const pf = await startPortForward(cluster, "relayed");
      try {
        equal(dec.decode(await echoThrough(pf.localPort, enc.encode("hop\n"))), "hop\n");
      } finally {
        const out = await pf.stop();
        ok(!/error/i.test(out.stderr), out.stderr);
      }
    }),
});
