/**
 * End-to-end with the real kubectl, a real server and two real agents on Docker: everything that
 * flows between the server and the node agents — `logs` (plain, `-c`, `--tail`, `--timestamps`,
 * `--previous`, `-f` until the pod goes away), `exec` (exit codes, stdin), `attach`,
 * `port-forward`, `top nodes` / `top pods`, and `drain` evicting a ReplicaSet's pods onto the
 * other node — plus the server's own refusals (container name required, not started yet,
 * completed pod, agent unreachable).
 */
import assert from "node:assert/strict";
import type { Pod } from "../agent/pod_types.ts";
import { NODES, PODS, REPLICASETS } from "../shared/client/refs.ts";
import type { KubeObject } from "../shared/api/object.ts";
import { ensureTestImages, INDEX_HTML } from "./images.ts";
import {
  boundPod,
  createPod,
  startAgent,
  type TestAgent,
  testAgentConfig,
  waitForPod,
  waitForPodGone,
} from "./agent_test_utils.ts";
import { haveKubectl, KUBECTL, kubectl } from "./kubectl.ts";
import { freePort } from "./server_process.ts";
import { api, startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const dec = new TextDecoder();

/** A kubectl that keeps running (logs -f, port-forward, attach): its output so far, and exit. */
interface RunningKubectl {
  /** Resolves with stdout once `pattern` appears in it (or rejects when kubectl exits first). */
  waitForOutput(pattern: RegExp, what: string): Promise<string>;
  /** Exit code once kubectl has ended by itself. */
  status: Promise<{ code: number; signal: string | null }>;
  /** kubectl's stdin, with `stdin: true`. */
  stdin?: WritableStream<Uint8Array>;
  stderr(): string;
  kill(): Promise<void>;
}

function spawnKubectl(
  cluster: { kubeconfigPath: string; cacheDir: string },
  args: string[],
  options: { stdin?: boolean } = {},
): RunningKubectl {
  const child = new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", cluster.kubeconfigPath, "--cache-dir", cluster.cacheDir, ...args],
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { HOME: cluster.cacheDir },
  }).spawn();
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
    for await (const chunk of stream) {
      onText(dec.decode(chunk));
      for (const w of waiters) w();
    }
  };
  const pumps = Promise.all([
    pump(child.stdout, (t) => void (out += t)),
    pump(child.stderr, (t) => void (err += t)),
  ]);
  let exited = false;
  const status = child.status.then(async (s) => {
    exited = true;
    await pumps;
    for (const w of waiters) w();
    return { code: s.code, signal: s.signal };
  });
  return {
    waitForOutput(pattern, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) {
            waiters.delete(check);
            resolve(out);
          } else if (exited) {
            waiters.delete(check);
            reject(new Error(`kubectl exited before ${what}: stdout ${out} stderr ${err}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    status,
    stdin: options.stdin ? child.stdin : undefined,
    stderr: () => err,
    async kill() {
      if (options.stdin) await child.stdin.close().catch(() => {});
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
      }
      await status;
    },
  };
}

const sh = (script: string) => ["sh", "-c", script];

Deno.test({
  name: "kubectl logs, exec, attach, port-forward, top and drain work through the agents",
  ignore: !haveKubectl(),
  async fn(t) {
    const server: TestServer = await startTestServer();
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-" });
    const cluster = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const client = server.client;
    const agents: TestAgent[] = [];
    try {
      // The agents accept the credential the server presents to them (agent_dialer.ts).
      const serverToken = (await Deno.readTextFile(`${server.dataDir}/agent-client-token`)).trim();
      for (const address of ["127.0.0.11", "127.0.0.12"]) {
        const config = await testAgentConfig(server, {
          nodeAddress: address,
          apiToken: serverToken,
        });
        agents.push(startAgent(config));
      }
      const [nodeA, nodeB] = agents.map((a) => a.config.nodeName);
      const images = await ensureTestImages();
      for (const name of [nodeA, nodeB]) {
        await waitFor(`node ${name} ready with its agent port`, async () => {
          const n = await client.get<KubeObject>(NODES, name).catch(() => undefined);
          return n?.status?.daemonEndpoints?.kubeletEndpoint?.Port &&
            n.status.conditions?.some((c: { type: string; status: string }) =>
              c.type === "Ready" && c.status === "True"
            );
        });
      }

      await createPod(
        client,
        boundPod("web", nodeA, {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "a",
            image: images.busybox,
            command: sh(
              "echo one; echo two; echo three; trap 'exit 0' TERM; while :; do sleep 1; done",
            ),
          }, {
            name: "b",
            image: images.busybox,
            command: ["httpd", "-f", "-p", "80", "-h", "/www"],
            ports: [{ containerPort: 80 }],
          }],
        } as Partial<Pod["spec"]>),
      );
      await createPod(
        client,
        boundPod("ticker", nodeA, {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "t",
            image: images.busybox,
            command: sh(
              "trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done",
            ),
          }],
        }),
      );
      // Exits 1 on its first run only, so --previous and the current log differ for sure.
      await createPod(
        client,
        boundPod("twice", nodeA, {
          terminationGracePeriodSeconds: 1,
          volumes: [{ name: "state", emptyDir: {} }],
          containers: [{
            name: "c",
            image: images.busybox,
            volumeMounts: [{ name: "state", mountPath: "/state" }],
            command: sh(
              "if [ -f /state/ran ]; then echo second run; trap 'exit 0' TERM; while :; do sleep 1; done; " +
                "else touch /state/ran; echo first run; exit 1; fi",
            ),
          }],
        } as Partial<Pod["spec"]>),
      );
      const running = (p: Pod) =>
        p.status?.phase === "Running" &&
        (p.status.containerStatuses ?? []).every((c) => c.ready);
      await waitForPod(client, "web", "running", running);
      await waitForPod(client, "ticker", "running", running);

      await t.step("logs: container choice, -c, --tail, --timestamps", async () => {
        const noName = await kubectl(cluster, ["logs", "web"]);
        // kubectl picks the first container itself unless the server is asked without one.
        if (noName.code !== 0) {
          assert.match(noName.stderr, /choose one of: \[a b\]/);
        }
        const raw = await api(server, "GET", "/api/v1/namespaces/default/pods/web/log");
        assert.equal(raw.status, 400);
        assert.equal(
          raw.body.message,
          "a container name must be specified for pod web, choose one of: [a b]",
        );
        const all = await waitFor("three lines", async () => {
          const r = await kubectl(cluster, ["logs", "web", "-c", "a"]);
          return r.stdout === "one\ntwo\nthree\n" ? r : undefined;
        });
        assert.equal(all.code, 0);
        const tail = await kubectl(cluster, ["logs", "web", "-c", "a", "--tail=1"]);
        assert.equal(tail.stdout, "three\n");
        const ts = await kubectl(cluster, ["logs", "web", "-c", "a", "--tail=1", "--timestamps"]);
        assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z three\n$/);
        const badQuery = await api(
          server,
          "GET",
          "/api/v1/namespaces/default/pods/web/log?container=a&sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
        );
        assert.equal(badQuery.status, 400);
        assert.match(badQuery.body.message, /at most one of sinceTime or sinceSeconds/);
        const limited = await kubectl(cluster, ["logs", "web", "-c", "a", "--limit-bytes=4"]);
        assert.equal(limited.stdout, "one\n");
        const bad = await kubectl(cluster, ["logs", "web", "-c", "nope"]);
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /container nope is not valid for pod web/);
      });

      await t.step("logs --previous shows the terminated run", async () => {
        await waitForPod(
          client,
          "twice",
          "restarted and running",
          (p) =>
            p.status?.containerStatuses?.[0]?.restartCount === 1 &&
            !!p.status.containerStatuses[0].state?.running,
        );
        const current = await waitFor("current log", async () => {
          const r = await kubectl(cluster, ["logs", "twice"]);
          return r.stdout ? r : undefined;
        });
        assert.equal(current.stdout, "second run\n");
        const previous = await kubectl(cluster, ["logs", "twice", "--previous"]);
        assert.equal(previous.code, 0, previous.stderr);
        assert.equal(previous.stdout, "first run\n");
      });

      await t.step("logs for a pod not started yet is refused as Kubernetes does", async () => {
        await client.create(PODS, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "nowhere", namespace: "default" },
          spec: {
            nodeSelector: { "no-such-label": "x" },
            containers: [{ name: "c", image: images.busybox }],
          },
        } as KubeObject);
        const r = await kubectl(cluster, ["logs", "nowhere"]);
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /container "c" in pod "nowhere" is waiting to start: ContainerCreating/,
        );
        await client.delete(PODS, "nowhere", { namespace: "default" });
      });

      await t.step("exec: output, exit codes, stdin", async () => {
        const hi = await kubectl(cluster, ["exec", "web", "-c", "a", "--", "echo", "hi"]);
        assert.equal(hi.code, 0, hi.stderr);
        assert.equal(hi.stdout, "hi\n");
        const fail = await kubectl(cluster, ["exec", "web", "-c", "a", "--", "sh", "-c", "exit 3"]);
        assert.equal(fail.code, 3);
        assert.match(fail.stderr, /command terminated with exit code 3/);
        const piped = await kubectl(cluster, ["exec", "-i", "web", "-c", "a", "--", "cat"], {
          stdin: "through stdin\n",
        });
        assert.equal(piped.code, 0, piped.stderr);
        assert.equal(piped.stdout, "through stdin\n");
      });

      await t.step("exec -it runs the command on a terminal in the container", async () => {
        // kubectl only allocates a TTY when its own stdin is a terminal: `script` gives it one.
        const cmd = [
          KUBECTL,
          "--kubeconfig",
          cluster.kubeconfigPath,
          "--cache-dir",
          cluster.cacheDir,
          "exec",
          "-it",
          "web",
          "-c",
          "a",
          "--",
          "sh",
          "-c",
          "'tty; echo done-$((6*7))'",
        ].join(" ");
        const out = await new Deno.Command("script", {
          args: ["-qec", cmd, "/dev/null"],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          env: { HOME: cluster.cacheDir, TERM: "xterm" },
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
        assert.match(text, /\/dev\/pts\/\d+/);
        assert.match(text, /done-42/);
      });

      await t.step("attach streams the main process's output", async () => {
        const attach = spawnKubectl(cluster, ["attach", "ticker"]);
        try {
          await attach.waitForOutput(/tick \d+\n/, "a tick");
        } finally {
          await attach.kill();
        }
      });

      await t.step("attach -i sends stdin to the main process", async () => {
        await createPod(
          client,
          boundPod("talkback", nodeA, {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "c", image: images.busybox, stdin: true, command: ["cat"] }],
          } as Partial<Pod["spec"]>),
        );
        await waitForPod(client, "talkback", "running", running);
        const attach = spawnKubectl(cluster, ["attach", "-i", "talkback"], { stdin: true });
        try {
          const writer = attach.stdin!.getWriter();
          // Typed until it comes back: the attachment may not be live for the first line.
          let echoed = false;
          const typing = (async () => {
            for (let i = 0; i < 50 && !echoed; i++) {
              await writer.write(new TextEncoder().encode("hello attach\n"));
              await new Promise((r) => setTimeout(r, 100));
            }
          })();
          await attach.waitForOutput(/hello attach\n/, "the echo");
          echoed = true;
          await typing;
          writer.releaseLock();
        } finally {
          await attach.kill();
        }
      });

      await t.step("port-forward reaches the pod's port", async () => {
        // ":80": kubectl binds a local port of its own and says which.
        const pf = spawnKubectl(cluster, ["port-forward", "pod/web", ":80"]);
        try {
          const ready = /Forwarding from 127\.0\.0\.1:(\d+) -> 80/;
          const local = Number((await pf.waitForOutput(ready, "ready")).match(ready)![1]);
          for (let i = 0; i < 2; i++) {
            const res = await fetch(`http://127.0.0.1:${local}/`);
            assert.equal(res.status, 200);
            assert.equal(await res.text(), INDEX_HTML);
          }
        } finally {
          await pf.kill();
        }
      });

      await t.step("top nodes and top pods", async () => {
        const nodes = await waitFor("top nodes", async () => {
          const r = await kubectl(cluster, ["top", "nodes"]);
          return r.code === 0 && r.stdout.includes(nodeA) && r.stdout.includes(nodeB)
            ? r
            : undefined;
        }, { timeoutMs: 30_000, intervalMs: 500 });
        assert.match(nodes.stdout, /CPU\(cores\)\s+CPU(%|\(%\))\s+MEMORY\(bytes\)/);
        const pods = await waitFor("top pods", async () => {
          const r = await kubectl(cluster, ["top", "pods"]);
          return r.code === 0 && /\nweb\s+\d+m\s+\d+Mi/.test(r.stdout) ? r : undefined;
        }, { timeoutMs: 30_000, intervalMs: 500 });
        assert.match(pods.stdout, /\nticker\s/);
        const containers = await kubectl(cluster, ["top", "pod", "web", "--containers"]);
        assert.equal(containers.code, 0, containers.stderr);
        assert.match(containers.stdout, /web\s+a\s/);
        assert.match(containers.stdout, /web\s+b\s/);
      });

      await t.step("logs -f follows until the pod is deleted", async () => {
        const follow = spawnKubectl(cluster, ["logs", "-f", "ticker"]);
        try {
          await follow.waitForOutput(/tick 3\n/, "tick 3");
          await client.delete(PODS, "ticker", { namespace: "default" });
          const { code } = await follow.status;
          assert.equal(code, 0, follow.stderr());
        } finally {
          await follow.kill();
        }
        await waitForPodGone(client, "ticker");
      });

      await t.step(
        "exec into a completed pod and logs from an unreachable agent are refused",
        async () => {
          await createPod(
            client,
            boundPod("done", nodeA, {
              restartPolicy: "Never",
              containers: [{ name: "c", image: images.busybox, command: ["true"] }],
            }),
          );
          await waitForPod(client, "done", "succeeded", (p) => p.status?.phase === "Succeeded");
          const exec = await api(
            server,
            "GET",
            "/api/v1/namespaces/default/pods/done/exec?command=echo&container=c&stdout=true",
          );
          assert.equal(exec.status, 400);
          assert.equal(
            exec.body.message,
            "cannot exec into a container in a completed pod; current phase is Succeeded",
          );
          // An agent that does not answer is a 503, not a hang or a 500.
          const port = freePort();
          await client.create(NODES, {
            apiVersion: "v1",
            kind: "Node",
            metadata: { name: "ghost" },
            spec: { unschedulable: true },
          } as KubeObject);
          await api(server, "PATCH", "/api/v1/nodes/ghost/status", {
            contentType: "application/merge-patch+json",
            body: {
              status: {
                addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
                daemonEndpoints: { kubeletEndpoint: { Port: port } },
              },
            },
          });
          await client.create(PODS, {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "haunted", namespace: "default" },
            spec: { nodeName: "ghost", containers: [{ name: "c", image: images.busybox }] },
          } as KubeObject);
          await api(server, "PATCH", "/api/v1/namespaces/default/pods/haunted/status", {
            contentType: "application/merge-patch+json",
            body: {
              status: {
                phase: "Running",
                containerStatuses: [{
                  name: "c",
                  ready: true,
                  restartCount: 0,
                  image: images.busybox,
                  imageID: "",
                  state: { running: { startedAt: new Date().toISOString() } },
                }],
              },
            },
          });
          const logs = await api(server, "GET", "/api/v1/namespaces/default/pods/haunted/log");
          assert.equal(logs.status, 503, JSON.stringify(logs.body));
          assert.match(logs.body.message, /error dialing the agent of node "ghost"/);
          await client.delete(PODS, "haunted", { namespace: "default", gracePeriodSeconds: 0 });
          await client.delete(NODES, "ghost");
        },
      );

      await t.step(
        "drain evicts a ReplicaSet's pods, which come back on the other node",
        async () => {
          const bare = ["web", "twice", "done", "talkback"];
          for (const name of bare) await client.delete(PODS, name, { namespace: "default" });
          // Gone, not just terminating: drain refuses a bare pod that still exists (as on
          // Kubernetes), and `cat` in talkback takes its whole grace period to stop.
          for (const name of bare) await waitForPodGone(client, name);
          // Both replicas start on node A (B cordoned), so the drain has pods to evict.
          const cordon = await kubectl(cluster, ["cordon", nodeB]);
          assert.equal(cordon.code, 0, cordon.stderr);
          await client.create(REPLICASETS, {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            metadata: { name: "rs", namespace: "default" },
            spec: {
              replicas: 2,
              selector: { matchLabels: { app: "rs" } },
              template: {
                metadata: { labels: { app: "rs" } },
                spec: {
                  terminationGracePeriodSeconds: 1,
                  containers: [{
                    name: "c",
                    image: images.busybox,
                    command: sh("trap 'exit 0' TERM; while :; do sleep 1; done"),
                  }],
                },
              },
            },
          } as KubeObject);
          const rsPods = async () =>
            (await client.list<Pod>(PODS, { namespace: "default", labelSelector: "app=rs" }))
              .items.filter((p) => !p.metadata.deletionTimestamp);
          await waitFor("2 replicas running", async () => {
            const pods = await rsPods();
            return pods.length === 2 && pods.every((p) => p.status?.phase === "Running");
          }, { timeoutMs: 60_000, intervalMs: 200 });
          const onA = (await rsPods()).map((p) => p.metadata.name);
          assert.deepEqual((await rsPods()).map((p) => p.spec.nodeName), [nodeA, nodeA]);
          const uncordon = await kubectl(cluster, ["uncordon", nodeB]);
          assert.equal(uncordon.code, 0, uncordon.stderr);
          const drain = await kubectl(cluster, [
            "drain",
            nodeA,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=60s",
          ], { timeoutMs: 90_000 });
          assert.equal(drain.code, 0, drain.stderr);
          assert.match(drain.stdout, new RegExp(`node/${nodeA} (cordoned|drained)`));
          for (const name of onA) assert.match(drain.stdout, new RegExp(`pod/${name} evicted`));
          const node = await client.get<KubeObject>(NODES, nodeA);
          assert.equal(node.spec?.unschedulable, true);
          await waitFor("replicas back, all on the other node", async () => {
            const pods = await rsPods();
            return pods.length === 2 &&
              pods.every((p) => p.spec.nodeName === nodeB && p.status?.phase === "Running");
          }, { timeoutMs: 60_000, intervalMs: 200 });
          await client.delete(REPLICASETS, "rs", { namespace: "default" });
        },
      );
    } finally {
      for (const agent of agents) await agent.stop({ cleanup: true });
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
