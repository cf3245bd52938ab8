/**
 * The network-namespace topology the proxy-mode suite and the proxy benchmark run in, so the
 * proxy's sockets and nftables rules never touch the host's own network: a client namespace and
 * a node namespace joined by a veth pair (192.168.91.0/24), backend ("pod") namespaces on a
 * bridge in the node (10.42.1.0/24, the node's podCIDR), and one backend behind a second link
 * (10.42.2.0/24), standing in for a pod on another node. The node namespace starts with Docker's
 * forward policy (FORWARD drop, DOCKER-USER first) and this node's host-gw rules
 * (agent/host_gw.ts), so forwarding of DNATed traffic is tested against the rules Skiff really
 * runs with. Names carry a random suffix; `destroy()` deletes the namespaces (and so everything
 * in them).
 */
import { HostGateway } from "../agent/host_gw.ts";
import { hostRunner, netnsRunner } from "../shared/command_runner.ts";

/** Addresses of the topology. */
export const NET = {
  client: "192.168.91.2",
  nodeOutside: "192.168.91.1",
  podCidr: "10.42.1.0/24",
  podGateway: "10.42.1.1",
  remoteGateway: "10.42.2.1",
  clusterCidr: "10.42.0.0/16",
} as const;

/** One backend namespace. */
export interface NetnsBackend {
  name: string;
  ns: string;
  address: string;
  /** True for the pod "on another node" (behind 10.42.2.1). */
  remote: boolean;
}

/** A created topology. */
export interface ProxyTopology {
  suffix: string;
  clientNs: string;
  nodeNs: string;
  backends: NetnsBackend[];
  /** Starts `deno run -A tests/_netns_roles.ts <args>` in `ns`; resolves once it says ready. */
  spawn(ns: string, args: string[], extraDenoFlags?: string[]): Promise<RoleProcess>;
  destroy(): Promise<void>;
}

/** A running role process and the lines it printed after `ready`. */
export interface RoleProcess {
  child: Deno.ChildProcess;
  /** Lines printed so far (after the ready line). */
  lines: string[];
  /** Resolves with the first line (after index `from`) matching `re`. */
  waitLine(re: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  /** Writes one line to the process's stdin. */
  send(line: string): Promise<void>;
  stop(signal?: Deno.Signal): Promise<void>;
}

const ROLES = new URL("./_netns_roles.ts", import.meta.url).pathname;

async function sh(args: string[]): Promise<string> {
  const r = await hostRunner(args[0], args.slice(1));
  if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function inNs(ns: string, line: string): Promise<void> {
  await sh(["ip", "netns", "exec", ns, ...line.split(" ")]);
}

/** Starts a role process in `ns`. */
export async function spawnRole(
  ns: string,
  args: string[],
  extraDenoFlags: string[] = [],
): Promise<RoleProcess> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", ...extraDenoFlags, ROLES, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: Deno.env.get("SKIFF_TEST_LOG") ? "inherit" : "null",
  }).spawn();
  const lines: string[] = [];
  const waiters: { re: RegExp; from: number; resolve: (l: string) => void }[] = [];
  let ready!: () => void;
  let failed!: (e: Error) => void;
  const isReady = new Promise<void>((res, rej) => {
    ready = res;
    failed = rej;
  });
  let seenReady = false;
  (async () => {
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let i;
      while ((i = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        if (!seenReady) {
          if (line.startsWith("ready")) {
            seenReady = true;
            ready();
          }
          continue;
        }
        lines.push(line);
        for (const w of [...waiters]) {
          if (lines.length - 1 >= w.from && w.re.test(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
    if (!seenReady) failed(new Error(`role ${args[0]} in ${ns} exited before it was ready`));
  })();
  await isReady;
  const writer = child.stdin.getWriter();
  return {
    child,
    lines,
    waitLine(re, from = 0, timeoutMs = 20_000) {
      const found = lines.slice(from).find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line ${re} from ${args[0]}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          from,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    async send(line) {
      await writer.write(new TextEncoder().encode(line + "\n"));
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* gone */ }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(t);
      await writer.close().catch(() => {});
    },
  };
}

/** Creates the namespaces, links, addresses, routes and the node's host-gw rules. */
export async function createProxyTopology(
  options: { backends?: number; hostGw?: boolean } = {},
): Promise<ProxyTopology> {
  const suffix = crypto.randomUUID().slice(0, 6);
  const clientNs = `skpc-${suffix}`;
  const nodeNs = `skpn-${suffix}`;
  const count = options.backends ?? 3;
  const backends: NetnsBackend[] = [];
  for (let i = 1; i <= count; i++) {
    backends.push({
      name: `b${i}`,
      ns: `skpb${i}-${suffix}`,
      address: `10.42.1.${10 + i}`,
      remote: false,
    });
  }
  backends.push({ name: "remote", ns: `skpr-${suffix}`, address: "10.42.2.14", remote: true });
  const all = [clientNs, nodeNs, ...backends.map((b) => b.ns)];
  const destroy = async () => {
    for (const ns of all) await hostRunner("ip", ["netns", "del", ns]);
  };
  try {
    for (const ns of all) {
      await sh(["ip", "netns", "add", ns]);
      await inNs(ns, "ip link set lo up");
    }
    const pair = (a: string, an: string, b: string, bn: string) =>
      sh(["ip", "link", "add", an, "netns", a, "type", "veth", "peer", "name", bn, "netns", b]);
    await pair(clientNs, "eth0", nodeNs, "cl0");
    await inNs(clientNs, `ip addr add ${NET.client}/24 dev eth0`);
    await inNs(clientNs, "ip link set eth0 up");
    await inNs(clientNs, `ip route add default via ${NET.nodeOutside}`);
    await inNs(nodeNs, `ip addr add ${NET.nodeOutside}/24 dev cl0`);
    await inNs(nodeNs, "ip link set cl0 up");
    await inNs(nodeNs, "ip link add br0 type bridge");
    await inNs(nodeNs, `ip addr add ${NET.podGateway}/24 dev br0`);
    await inNs(nodeNs, "ip link set br0 up");
    for (const [i, b] of backends.entries()) {
      const nodeSide = b.remote ? "rm0" : `vb${i}`;
      await pair(b.ns, "eth0", nodeNs, nodeSide);
      if (b.remote) {
        await inNs(nodeNs, `ip addr add ${NET.remoteGateway}/24 dev ${nodeSide}`);
      } else {
        await inNs(nodeNs, `ip link set ${nodeSide} master br0`);
      }
      await inNs(nodeNs, `ip link set ${nodeSide} up`);
      await inNs(b.ns, `ip addr add ${b.address}/24 dev eth0`);
      await inNs(b.ns, "ip link set eth0 up");
      await inNs(b.ns, `ip route add default via ${b.remote ? NET.remoteGateway : NET.podGateway}`);
    }
    await inNs(nodeNs, "sysctl -q -w net.ipv4.ip_forward=1");
    // A node's uplink: its default route (here towards the client's side).
    await inNs(nodeNs, `ip route add default via ${NET.client}`);
    if (options.hostGw ?? true) {
      // What Docker does to a host, then this node's own rules, as the agent writes them.
      await inNs(nodeNs, "iptables -w 5 -P FORWARD DROP");
      await inNs(nodeNs, "iptables -w 5 -N DOCKER-USER");
      await inNs(nodeNs, "iptables -w 5 -A FORWARD -j DOCKER-USER");
      await new HostGateway({ nodeName: `node-${suffix}`, run: netnsRunner(nodeNs) }).setup({
        podCIDR: NET.podCidr,
        clusterCidr: NET.clusterCidr,
      });
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    suffix,
    clientNs,
    nodeNs,
    backends,
    spawn: spawnRole,
    destroy,
  };
}
