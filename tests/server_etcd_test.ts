/**
 * The API server on a real etcd (`--datastore-endpoint`): objects written through one server
 * are there for a second server on the same etcd, and watches work across it.
 */
import assert from "node:assert/strict";
import { findEtcd, startEtcd } from "./etcd_process.ts";
import { api, startTestServer } from "./test_utils.ts";

const etcdBinary = findEtcd();

Deno.test({
  name: "the API server keeps its state in etcd across a restart",
  ignore: etcdBinary === null,
  async fn() {
    const etcd = await startEtcd(etcdBinary!);
    try {
      const first = await startTestServer({ controllers: false, datastoreEndpoint: etcd.endpoint });
      let uid: string;
      try {
        const created = await api(first, "POST", "/api/v1/namespaces/default/configmaps", {
          body: { metadata: { name: "kept" }, data: { a: "1" } },
        });
        assert.equal(created.status, 201);
        uid = created.body.metadata.uid;
        const stale = await api(first, "PUT", "/api/v1/namespaces/default/configmaps/kept", {
          body: { ...created.body, metadata: { ...created.body.metadata, resourceVersion: "1" } },
        });
        assert.equal(stale.status, 409);
      } finally {
        await first.stop();
      }
      const second = await startTestServer({
        controllers: false,
        datastoreEndpoint: etcd.endpoint,
      });
      try {
        const got = await api(second, "GET", "/api/v1/namespaces/default/configmaps/kept");
        assert.equal(got.status, 200);
        assert.equal(got.body.metadata.uid, uid);
        assert.equal(got.body.data.a, "1");
        const nss = await api(second, "GET", "/api/v1/namespaces");
        assert.ok(
          nss.body.items.some((n: { metadata: { name: string } }) => n.metadata.name === "default"),
        );
      } finally {
        await second.stop();
      }
    } finally {
      await etcd.stop();
    }
  },
});
