/**
 * Heartbeats off disk, through the API as agents send them (server/registry/heartbeat_buffer.ts):
 * node Lease renewals (PATCH of renewTime) and Node status patches that change only
 * lastHeartbeatTime are served by GET and WATCH at once, with rising resourceVersions, but reach
 * the store (counted by the server's `etcd_request_duration_seconds` update samples) only rarely;
 * the latest is in the store after a restart. On SQLite, and on etcd where `etcd` is on PATH.
 */
import assert from "node:assert/strict";
import { findEtcd, startEtcd } from "./etcd_process.ts";
import { api, startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const RENEWALS = 10;
const LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";

/** How many updates of `type` objects the server has sent to its store. */
async function storeUpdates(server: TestServer, type: string): Promise<number> {
  const res = await api(server, "GET", "/metrics", { accept: "text/plain" });
  assert.equal(res.status, 200);
  const line = (res.body as string).split("\n").find((l) =>
    l.startsWith("etcd_request_duration_seconds_count{") &&
    l.includes('operation="update"') && l.includes(`type="${type}"`)
  );
  return line ? Number(line.split(" ").pop()) : 0;
}

/** Reads a watch's JSON lines until `done` says so (bounded: the watch ends after 30 s). */
async function watchUntil(
  server: TestServer,
  path: string,
  done: (events: { type: string; object: { spec?: { renewTime?: string } } }[]) => boolean,
) {
  const res = await fetch(`${server.url}${path}&timeoutSeconds=30`, {
    headers: { authorization: `Bearer ${server.token}` },
    client: server.httpClient,
  });
  assert.equal(res.status, 200);
  const events: { type: string; object: { spec?: { renewTime?: string } } }[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (!done(events)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += value;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        if (nl > 0) events.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

async function heartbeatsStayInMemory(options: { datastoreEndpoint?: string }) {
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-heartbeats-" });
  const name = "hb-node";
  const renewTimes: string[] = [];
  try {
    const server = await startTestServer({ ...options, dataDir });
    try {
      // On etcd only the leader holds heartbeats: wait until this server leads.
      await waitFor("the controller-manager Lease", async () => {
        const got = await api(
          server,
          "GET",
          "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager",
        );
        return got.status === 200 && got.body.spec?.holderIdentity;
      });
      const node = await api(server, "POST", "/api/v1/nodes", {
        body: { metadata: { name } },
      });
      assert.equal(node.status, 201, JSON.stringify(node.body));
      const created = await api(server, "POST", LEASE, {
        body: {
          metadata: { name },
          spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now(0) },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      // The first renewal after a start is written (resourceVersions must rise above what a
      // crashed server may have served); the ones after it are held.
      const first = await renew(server, name, now(1));
      const watching = watchUntil(
        server,
        `${LEASE}?watch=1&fieldSelector=metadata.name=${name}&resourceVersion=${first}`,
        (events) => events.length >= RENEWALS,
      );
      const before = await storeUpdates(server, "leases.coordination.k8s.io");
      let last = Number(first);
      for (let i = 2; i < RENEWALS + 2; i++) {
        const renewTime = now(i);
        renewTimes.push(renewTime);
        const rv = Number(await renew(server, name, renewTime));
        assert.ok(rv > last, `resourceVersion rises: ${last} → ${rv}`);
        last = rv;
        const got = await api(server, "GET", `${LEASE}/${name}`);
        assert.equal(got.body.spec.renewTime, renewTime, "GET sees the renewal");
        assert.equal(got.body.metadata.resourceVersion, String(rv));
      }
      const events = await watching;
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.object.spec?.renewTime}`),
        renewTimes.map((t) => `MODIFIED ${t}`),
        "WATCH sees every renewal",
      );
      const written = (await storeUpdates(server, "leases.coordination.k8s.io")) - before;
      // Other Leases (the controllers' own) and a once-a-minute write may land in this window.
      assert.ok(written < RENEWALS / 2, `${RENEWALS} renewals made ${written} store updates`);

      // A Node status heartbeat (only lastHeartbeatTime changes) is held the same way.
      const nodesBefore = await storeUpdates(server, "nodes");
      for (let i = 0; i < RENEWALS; i++) {
        const patched = await api(server, "PATCH", `/api/v1/nodes/${name}/status`, {
          contentType: "application/strategic-merge-patch+json",
          body: {
            status: {
              conditions: [{
                type: "Ready",
                status: "True",
                reason: "KubeletReady",
                lastHeartbeatTime: new Date(Date.parse("2026-01-01T00:00:00Z") + i * 1000)
                  .toISOString().replace(/\.\d+Z$/, "Z"),
                lastTransitionTime: "2026-01-01T00:00:00Z",
              }],
            },
          },
        });
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
      }
      const nodeWrites = (await storeUpdates(server, "nodes")) - nodesBefore;
      // The first patch changes the status and the second is the first heartbeat after start.
      assert.ok(nodeWrites < RENEWALS / 2, `${RENEWALS} status heartbeats: ${nodeWrites} writes`);
    } finally {
      await server.stop(); // writes what is held
    }
    const again = await startTestServer({ ...options, dataDir });
    try {
      const got = await api(again, "GET", `${LEASE}/${name}`);
      assert.equal(got.body.spec.renewTime, renewTimes.at(-1), "the latest renewal was written");
    } finally {
      await again.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

function now(seconds: number): string {
  return new Date(Date.parse("2026-01-01T00:00:00Z") + seconds * 1000).toISOString()
    .replace("Z", "000Z");
}

/** Renews the Lease as the agent does (a merge patch of renewTime); returns its resourceVersion. */
async function renew(server: TestServer, name: string, renewTime: string): Promise<string> {
  const res = await api(server, "PATCH", `${LEASE}/${name}`, {
    contentType: "application/merge-patch+json",
    body: { spec: { renewTime } },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.metadata.resourceVersion;
}

Deno.test("SQLite: node heartbeats are served from memory and written at shutdown", () =>
  heartbeatsStayInMemory({}));

const etcdBinary = findEtcd();
Deno.test({
  name: `etcd: node heartbeats are served from memory and written at shutdown${
    etcdBinary ? "" : " (skipped: no `etcd` binary on PATH)"
  }`,
  ignore: etcdBinary === null,
  async fn() {
    const etcd = await startEtcd(etcdBinary!);
    try {
      await heartbeatsStayInMemory({ datastoreEndpoint: etcd.endpoint });
    } finally {
      await etcd.stop();
    }
  },
});
