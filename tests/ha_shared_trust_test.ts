/**
 * Several servers on one etcd cluster share one trust: the second server loads the first one's
 * CA and tokens from the datastore (sealed with the cluster secret, never in clear there), and
 * the `kubernetes` Endpoints list every live server.
 */
import assert from "node:assert/strict";
import { ENDPOINTS } from "../shared/client/refs.ts";
import { findEtcd } from "./etcd_process.ts";
import { haAddresses, type HaServer, startEtcdCluster, startHaServer } from "./ha_cluster.ts";
import { waitFor } from "./test_utils.ts";

const etcd = findEtcd();

Deno.test({
  name:
    "two servers on one etcd share CA and tokens (sealed in etcd) and both are in the kubernetes Endpoints",
  ignore: etcd === null,
  sanitizeResources: false,
  async fn() {
    const { ips, port } = haAddresses(3);
    const cluster = await startEtcdCluster(etcd!, ips, port);
    const secret = `secret-${crypto.randomUUID()}`;
    const servers: HaServer[] = [];
    try {
      const args = [
        "--datastore-endpoint",
        cluster.endpoints[0],
        "--cluster-secret",
        secret,
        "--no-controllers",
      ];
      servers.push(await startHaServer({ name: "a", ip: ips[0], port, args }));
      servers.push(await startHaServer({ name: "b", ip: ips[1], port, args }));
      const [a, b] = servers;
      const read = (s: HaServer, f: string) => Deno.readTextFile(`${s.dataDir}/${f}`);
      assert.equal(await read(b, "tls/ca.crt"), await read(a, "tls/ca.crt"));
      assert.equal(await read(b, "admin-token"), await read(a, "admin-token"));
      assert.equal(await read(b, "token"), await read(a, "token"));
      // a's admin token works on b (b's client was built from b's files: same token, same CA).
      const token = (await read(a, "admin-token")).trim();
      const r = await fetch(`${b.url}/api/v1/namespaces`, {
        headers: { authorization: `Bearer ${token}` },
        client: b.httpClient,
      });
      await r.body?.cancel();
      assert.equal(r.status, 200);

      // Nothing secret in clear in etcd: dump every key and value.
      const dump = await fetch(`${cluster.endpoints[1]}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: btoa("/skiff/"), range_end: btoa("/skiff0") }),
      }).then((r) => r.json());
      assert.ok(dump.kvs?.length >= 2, "the sealed bundle and token table are in etcd");
      const values = dump.kvs.map((kv: { value: string }) => atob(kv.value)).join("\n");
      assert.ok(!values.includes("PRIVATE KEY"));
      assert.ok(!values.includes(token.slice(-20)));
      assert.ok(!values.includes('"hash"'));

      // A token created on a (as `skiff token create` does, in a's token file) works on b.
      const created = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../main.ts", import.meta.url).pathname,
          "token",
          "create",
          "--data-dir",
          a.dataDir,
          "--role",
          "view",
        ],
        stdout: "piped",
      }).output();
      const viewToken = new TextDecoder().decode(created.stdout).trim().split(/\s+/).pop()!;
      await waitFor("a's new token accepted by b", async () => {
        const r = await fetch(`${b.url}/api/v1/namespaces`, {
          headers: { authorization: `Bearer ${viewToken}` },
          client: b.httpClient,
        });
        await r.body?.cancel();
        return r.status === 200;
      }, { timeoutMs: 20_000 });

      const ep = await waitFor("both servers in the kubernetes Endpoints", async () => {
        const e = await a.client.get(ENDPOINTS, "kubernetes", { namespace: "default" }).catch(
          () => undefined,
        );
        const ipsIn = e?.subsets?.[0]?.addresses?.map((x: { ip: string }) => x.ip) ?? [];
        return ipsIn.includes(ips[0]) && ipsIn.includes(ips[1]) ? e : undefined;
      }, { timeoutMs: 40_000 });
      assert.equal(ep.subsets[0].ports[0].port, port);
    } finally {
      for (const s of servers) await s.stop();
      await cluster.stop();
    }
  },
});
