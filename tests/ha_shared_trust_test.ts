/**
 * Several servers on one etcd cluster share one trust: the second server loads the first one's
 * CA, tokens and ServiceAccount signing key from the datastore (sealed with the cluster secret,
 * never in clear there), so a ServiceAccount token minted by one is accepted by the other, and
 * the `kubernetes` Endpoints list every live server.
 */
import assert from "node:assert/strict";
import { ENDPOINTS } from "../shared/client/refs.ts";
import { jwtHeader } from "../shared/testing/jwt_relying_party.ts";
import { findEtcd } from "./etcd_process.ts";
import { haAddresses, type HaServer, startEtcdCluster, startHaServer } from "./ha_cluster.ts";
import { waitFor } from "./test_utils.ts";

const etcd = findEtcd();

Deno.test({
  name:
    "two servers on one etcd share CA, tokens and the ServiceAccount key (sealed in etcd) and both are in the kubernetes Endpoints",
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
      assert.equal(await read(b, "service-account.jwk"), await read(a, "service-account.jwk"));
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
      assert.ok(!values.includes(JSON.parse(await read(a, "service-account.jwk")).d));

      // A ServiceAccount token minted by a is accepted by b, as after a failover.
      const call = async (s: HaServer, path: string, o: { token?: string; body?: unknown }) => {
        const r = await fetch(`${s.url}${path}`, {
          method: o.body ? "POST" : "GET",
          headers: {
            authorization: `Bearer ${o.token ?? token}`,
            "content-type": "application/json",
          },
          body: o.body ? JSON.stringify(o.body) : undefined,
          client: s.httpClient,
        });
        return { status: r.status, body: await r.json() };
      };
      const robot = await call(a, "/api/v1/namespaces/default/serviceaccounts", {
        body: { metadata: { name: "robot" } },
      });
      assert.equal(robot.status, 201, JSON.stringify(robot.body));
      const issued = await call(a, "/api/v1/namespaces/default/serviceaccounts/robot/token", {
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} },
      });
      assert.equal(issued.status, 201, JSON.stringify(issued.body));
      const saToken: string = issued.body.status.token;
      const whoami = await waitFor("a's ServiceAccount token accepted by b", async () => {
        const r = await call(b, "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
          token: saToken,
          body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
        });
        return r.status === 201 ? r.body : undefined;
      }, { timeoutMs: 20_000 });
      assert.equal(whoami.status.userInfo.username, "system:serviceaccount:default:robot");
      // Both servers publish the one key, the one named in the token's header.
      const kid = jwtHeader(saToken).kid;
      for (const s of [a, b]) {
        const jwks = await waitFor(`${s.name}'s JWKS`, async () => {
          const r = await call(s, "/openid/v1/jwks", { token: saToken });
          return r.status === 200 ? r.body : undefined;
        }, { timeoutMs: 20_000 });
        assert.deepEqual(jwks.keys.map((k: { kid: string }) => k.kid), [kid], s.name);
      }

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
      for (const s of servers) await s.dispose();
      await cluster.stop();
    }
  },
});
