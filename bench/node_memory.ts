/**
 * A/B memory of `skiff agent` (agent + proxy in one process) idle with 10 pods: one real server
 * (in-process), one Deployment of 10 pods on one node, then a fresh node process per variant and
 * round, in turn (A B A B …), each measured after `--settle` seconds (default 45) from
 * /proc/<pid>/smaps_rollup (Rss, Anonymous). A variant is a source tree holding `main.ts` (e.g.
 * this worktree and a copy of the commit before a change), so both run on the same machine in the
 * same minutes; the machine is shared, so compare within one run.
 *
 * `--policy` adds two NetworkPolicies selecting the pods (a default deny and an allow by label), so
 * every variant runs with its pods isolated; `--address` sets the node address (default
 * 127.0.0.54).
 *
 * A variant may add V8 flags and environment variables after `@`s: `.@--optimize-for-size` or
 * `.@MALLOC_ARENA_MAX=2` measures this tree with `--optimize-for-size` added to the agent's V8
 * flags, or with that variable set.
 *
 * `--inspect` adds, once per variant, a breakdown through the V8 inspector: heap statistics after
 * a full GC and the scripts V8 has parsed (modules loaded), written to `--out`.
 *
 *     deno run -A bench/node_memory.ts --variants=/tmp/base,. --rounds=3 [--inspect]
 */
import { loadCredentials } from "../agent/credentials.ts";
import { AGENT_V8_FLAGS } from "../cmd/systemd_install.ts";
import { DEPLOYMENTS, NETWORK_POLICIES, PODS } from "../shared/client/refs.ts";
import { clientFor, removeNodeContainers, testAgentConfig } from "../tests/agent_test_utils.ts";
import { ensureTestImages } from "../tests/images.ts";
import { freePort } from "../tests/server_process.ts";
import { startTestServer, waitFor } from "../tests/test_utils.ts";

/** Rss and Anonymous of a process in MiB, from smaps_rollup. */
export function smapsRollup(pid: number): { rss: number; anon: number } {
  const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const kib = (f: string) => Number(new RegExp(`^${f}:\\s*(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return { rss: kib("Rss") / 1024, anon: kib("Anonymous") / 1024 };
}

/** A source tree to run, with what the variant adds to the node's command. */
interface Variant {
  name: string;
  tree: string;
  v8Flags: string[];
  env: Record<string, string>;
}

/** `tree[@--v8-flag|@NAME=value…]`. */
function parseVariant(spec: string): Variant {
  const [tree, ...adds] = spec.split("@");
  const env: Record<string, string> = {};
  const v8Flags: string[] = [];
  for (const a of adds) {
    if (a.startsWith("--")) v8Flags.push(a);
    else if (/^[A-Z_][A-Z0-9_]*=/.test(a)) {
      env[a.slice(0, a.indexOf("="))] = a.slice(a.indexOf("=") + 1);
    } else throw new Error(`variant ${spec}: ${a} is neither a --v8-flag nor NAME=value`);
  }
  return { name: spec, tree: Deno.realPathSync(tree), v8Flags, env };
}

function startNode(
  variant: Variant,
  server: { url: string; joinToken: string },
  o: { nodeName: string; nodeAddress: string; dataDir: string },
  extra: string[],
  inspectPort?: number,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      [AGENT_V8_FLAGS, ...variant.v8Flags].join(","),
      ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      `${variant.tree}/main.ts`,
      "agent",
      ...["--server", server.url, "--token", server.joinToken],
      ...["--node-name", o.nodeName, "--node-address", o.nodeAddress],
      ...["--data-dir", o.dataDir, "--api-port", String(freePort("127.0.0.1"))],
      ...["--proxy-cluster-ips=false", "--log-level", "error"],
      ...extra,
    ],
    env: variant.env,
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

/** A minimal Chrome DevTools Protocol session (requests by id; events ignored but scripts). */
async function inspect(port: number): Promise<Record<string, unknown>> {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  let id = 0;
  const pending = new Map<number, (v: unknown) => void>();
  const scripts: { url: string; length: number }[] = [];
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data as string);
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? m.error);
    else if (m.method === "Debugger.scriptParsed") {
      scripts.push({ url: m.params.url, length: m.params.length });
    }
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve) => {
      pending.set(++id, resolve as (v: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Runtime.enable");
  await call("Debugger.enable");
  await call("HeapProfiler.enable");
  await call("HeapProfiler.collectGarbage");
  const usage = await call("Runtime.getHeapUsage");
  const mem = await call("Runtime.evaluate", {
    expression: "JSON.stringify(Deno.memoryUsage())",
    returnByValue: true,
  });
  ws.close();
  return {
    heapUsage: usage,
    memoryUsage: JSON.parse((mem.result as { value: string }).value),
    scripts: scripts.filter((s) => s.url).sort((a, b) => b.length - a.length),
  };
}

if (import.meta.main) {
  const arg = (name: string) =>
    Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const args = {
    variants: arg("variants"),
    rounds: arg("rounds"),
    settle: arg("settle"),
    pods: arg("pods"),
    out: arg("out"),
    extra: arg("extra"),
    address: arg("address"),
    inspect: Deno.args.includes("--inspect"),
    policy: Deno.args.includes("--policy"),
  };
  const variants = (args.variants ?? ".").split(",").map(parseVariant);
  const rounds = Number(args.rounds ?? 3);
  // 45 s: past the node's first malloc_trim (30 s) and V8's memory reducer, so startup garbage is
  // gone; at 15 s a read still carries some of it (bench/results/agent.md, 2026-12-06 22:10).
  const settle = Number(args.settle ?? 45) * 1000;
  const pods = Number(args.pods ?? 10);
  const extra = args.extra ? args.extra.split(" ") : [];
  const images = await ensureTestImages();
  const server = await startTestServer();
  const client = clientFor(server);
  const config = await testAgentConfig(server, { nodeAddress: args.address ?? "127.0.0.54" });
  const node = {
    nodeName: config.nodeName,
    nodeAddress: config.nodeAddress,
    dataDir: `${config.dataDir}-node`,
  };
  let proc = startNode(variants[0], server, node, extra);
  const results: Record<string, { rss: number; anon: number }[]> = {};
  const breakdown: Record<string, unknown> = {};
  try {
    await waitFor("node joined", async () => (await loadCredentials(node.dataDir)) !== undefined, {
      timeoutMs: 120_000,
    });
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
              name: "c",
              image: images.busybox,
              command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
            }],
          },
        },
      },
    });
    if (args.policy) {
      for (
        const [name, ingress] of [["deny", []], ["from-mem", [{
          from: [{ podSelector: { matchLabels: labels } }],
        }]]] as const
      ) {
        await client.create(NETWORK_POLICIES, {
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name, namespace: "default" },
          spec: { podSelector: {}, policyTypes: ["Ingress"], ingress },
        });
      }
    }
    await waitFor("pods Running", async () => {
      const list = await client.list(PODS, { namespace: "default" });
      return list.items.filter((p) => p.status?.phase === "Running").length === pods;
    }, { timeoutMs: 180_000 });
    await stop(proc);
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        proc = startNode(v, server, node, extra);
        await new Promise((res) => setTimeout(res, settle));
        const m = smapsRollup(proc.pid);
        (results[v.name] ??= []).push(m);
        console.error(
          `round ${r} ${v.name}: rss ${m.rss.toFixed(1)} anon ${m.anon.toFixed(1)} MiB`,
        );
        await stop(proc);
      }
    }
    if (args.inspect) {
      for (const v of variants) {
        const port = freePort("127.0.0.1");
        proc = startNode(v, server, node, extra, port);
        await new Promise((res) => setTimeout(res, settle));
        breakdown[v.name] = { smaps: smapsRollup(proc.pid), ...await inspect(port) };
        await stop(proc);
      }
    }
  } finally {
    await stop(proc);
    await removeNodeContainers(config.nodeName);
    await Deno.remove(node.dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(config.dataDir, { recursive: true }).catch(() => {});
    await server.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const v of variants) {
    const xs = results[v.name];
    console.log(
      `${v.name}: private (Anonymous) median ${median(xs.map((x) => x.anon)).toFixed(1)} MiB [${
        xs.map((x) => x.anon.toFixed(1)).join(", ")
      }], RSS median ${median(xs.map((x) => x.rss)).toFixed(1)} MiB`,
    );
  }
  if (args.out) {
    await Deno.writeTextFile(args.out, JSON.stringify({ results, breakdown }, null, 2));
  }
  Deno.exit(0);
}
