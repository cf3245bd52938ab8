/**
 * Managed etcd k3s-style on three loopback addresses: `--cluster-init`, then `--join` twice (the
 * second member only with `--force`), every server serving the same data over its own TLS etcd
 * member; the cluster keeps working when the first server and its member are killed; `--leave`
 * refuses to leave two members behind unless forced, then removes the member.
 */
import assert from "node:assert/strict";
import { CONFIGMAPS, LEASES, NODES } from "../shared/client/refs.ts";
import { etcdClient, listMembers } from "../server/ha/managed_etcd.ts";
import { findEtcd } from "./etcd_process.ts";
import { haAddresses, type HaServer, startHaServer } from "./ha_cluster.ts";
import { waitFor } from "./test_utils.ts";

const etcd = findEtcd();

/** Kills the etcd children a killed server left behind (found by their data dir). */
async function killEtcdOf(dataDir: string): Promise<void> {
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (cmd.startsWith("etcd") || cmd.includes("/etcd\0")) {
      if (cmd.includes(`--data-dir=${dataDir}/etcd`)) {
        try {
          Deno.kill(Number(e.name), "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  }
}

async function skiff(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name:
    "managed etcd: --cluster-init, --join (two members only with --force), survives losing the first server, --leave, deleting a server's Node removes its member",
  ignore: etcd === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { ips, port } = haAddresses(3);
    const etcdPorts = [
      "--etcd-client-port",
      String(port + 1),
      "--etcd-peer-port",
      String(port + 2),
    ];
    const servers: HaServer[] = [];
    const dirs: string[] = [];
    try {
      const a = await startHaServer({
        name: "a",
        ip: ips[0],
        port,
        args: ["--cluster-init", ...etcdPorts],
      });
      servers.push(a);
      dirs.push(a.dataDir);
      const token = (await Deno.readTextFile(`${a.dataDir}/token`)).trim();
      const joinArgs = [
        "--join",
        a.url,
        "--token",
        token,
        "--cluster-secret-file",
        `${a.dataDir}/cluster-secret`,
        ...etcdPorts,
      ];
      // A second member without --force is refused (and adds nothing).
      const bDir = await Deno.makeTempDir({ prefix: "skiff-ha-b-" });
      dirs.push(bDir);
      const refused = await skiff([
        "server",
        "--server-name",
        "b",
        "--data-dir",
        bDir,
        "--listen",
        `${ips[1]}:${port}`,
        ...joinArgs,
      ]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /two etcd members/);

      const b = await startHaServer({
        name: "b",
        ip: ips[1],
        port,
        dataDir: bDir,
        args: [...joinArgs, "--force"],
      });
      servers.push(b);
      const c = await startHaServer({ name: "c", ip: ips[2], port, args: joinArgs });
      servers.push(c);
      dirs.push(c.dataDir);
      for (const s of [b, c]) {
        assert.equal(
          await Deno.readTextFile(`${s.dataDir}/tls/ca.crt`),
          await Deno.readTextFile(`${a.dataDir}/tls/ca.crt`),
        );
      }
      // Written on a, read on c: one store.
      await a.client.create(CONFIGMAPS, { metadata: { name: "m1", namespace: "default" } });
      await waitFor(
        "m1 on c",
        () => c.client.get(CONFIGMAPS, "m1", { namespace: "default" }).catch(() => undefined),
      );

      // --leave on c: three members, so leaving would leave two → refused without --force.
      await c.stop();
      await killEtcdOf(c.dataDir);
      const leaveArgs = [
        "server",
        "--server-name",
        "c",
        "--data-dir",
        c.dataDir,
        "--listen",
        `${ips[2]}:${port}`,
        ...joinArgs,
        "--leave",
      ];
      const noForce = await skiff(leaveArgs);
      assert.notEqual(noForce.code, 0);
      assert.match(noForce.stderr, /two etcd members would remain/);
      const left = await skiff([...leaveArgs, "--force"]);
      assert.equal(left.code, 0, left.stderr);
      await assert.rejects(Deno.stat(`${c.dataDir}/etcd`));

      // c joins again (from its data dir, whose member is gone), then the first server and its
      // member die: two of three members keep the store writable.
      const c2 = await startHaServer({
        name: "c",
        ip: ips[2],
        port,
        dataDir: c.dataDir,
        args: joinArgs,
      });
      servers.push(c2);
      // A Node named like server a (as when a also ran an agent): deleting it after a dies
      // removes a's etcd member.
      await b.client.create(NODES, { metadata: { name: "a" } });
      a.kill("SIGKILL");
      await a.child.status;
      await killEtcdOf(a.dataDir);
      await waitFor("writes through b after losing a", async () => {
        try {
          await b.client.create(CONFIGMAPS, { metadata: { name: "m2", namespace: "default" } });
          return true;
        } catch {
          return false;
        }
      }, { timeoutMs: 30_000, intervalMs: 500 });
      await waitFor(
        "m2 on c",
        () => c2.client.get(CONFIGMAPS, "m2", { namespace: "default" }).catch(() => undefined),
      );
      await waitFor("a new controller-manager leader", async () => {
        const l = await b.client.get(LEASES, "kube-controller-manager", {
          namespace: "kube-system",
        }).catch(() => undefined);
        return l && l.spec.holderIdentity !== "a";
      }, { timeoutMs: 30_000 });
      await b.client.delete(NODES, "a");
      const etcdOfB = await etcdClient(b.dataDir, `https://${ips[1]}:${port + 1}`);
      try {
        await waitFor("a's etcd member removed", async () => {
          const members = await listMembers(etcdOfB);
          return members.length === 2 && !members.some((m) => m.name === "a");
        }, { timeoutMs: 40_000, intervalMs: 500 });
      } finally {
        etcdOfB.close();
      }
    } finally {
      for (const s of servers) await s.stop();
      for (const d of dirs) {
        await killEtcdOf(d);
        await Deno.remove(d, { recursive: true }).catch(() => {});
      }
    }
  },
});
