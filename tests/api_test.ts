/**
 * The API server over real HTTP: every verb, selector, subresource and error status that the
 * foundation promises, against a real server on a real SQLite store (controllers off, so that
 * nothing but the test writes).
 */
import assert from "node:assert/strict";
import { api, startTestServer } from "./test_utils.ts";
import type { TestServer } from "./test_utils.ts";

const POD = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels },
  spec: { containers: [{ name: "c", image: "busybox:1" }] },
});

const DEPLOYMENT = (name: string) => ({
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: POD("x").spec },
  },
});

async function withServer(fn: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startTestServer({ controllers: false });
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

Deno.test("health endpoints answer without credentials; everything else needs a token", async () => {
  await withServer(async (s) => {
    for (const path of ["/healthz", "/livez", "/readyz"]) {
      const r = await api(s, "GET", path, { token: null });
      assert.deepStrictEqual([r.status, r.body], [200, "ok"], path);
    }
    // With ?verbose, each check and the verdict, as kube-apiserver lists them.
    const verbose = await api(s, "GET", "/readyz?verbose", { token: null });
    assert.deepStrictEqual(verbose.body, "[+]ping ok\n[+]informer-sync ok\nreadyz check passed\n");
    const noToken = await api(s, "GET", "/api/v1/pods", { token: null });
    assert.deepStrictEqual(noToken.status, 401);
    assert.deepStrictEqual(noToken.body.kind, "Status");
    assert.deepStrictEqual(noToken.body.reason, "Unauthorized");
    const bad = await api(s, "GET", "/api/v1/pods", { token: "nope" });
    assert.deepStrictEqual(bad.status, 401);
    const version = await api(s, "GET", "/version", { token: null });
    assert.deepStrictEqual(version.body.minor, "32");
  });
});

Deno.test("default and kube-system namespaces exist from the first start", async () => {
  await withServer(async (s) => {
    const r = await api(s, "GET", "/api/v1/namespaces");
    const names = r.body.items.map((n: { metadata: { name: string } }) => n.metadata.name);
    for (const ns of ["default", "kube-system", "kube-node-lease"]) {
      assert.ok(names.includes(ns), ns);
    }
    assert.deepStrictEqual(r.body.items[0].status.phase, "Active");
  });
});

Deno.test("every namespace carries kubernetes.io/metadata.name, which cannot be changed", async () => {
  await withServer(async (s) => {
    const label = "kubernetes.io/metadata.name";
    for (const name of ["default", "kube-system"]) {
      const r = await api(s, "GET", `/api/v1/namespaces/${name}`);
      assert.equal(r.body.metadata.labels[label], name);
    }
    const created = await api(s, "POST", "/api/v1/namespaces", {
      body: { metadata: { generateName: "team-", labels: { [label]: "other", tier: "a" } } },
    });
    assert.equal(created.status, 201);
    const name = created.body.metadata.name;
    assert.deepEqual(created.body.metadata.labels, { [label]: name, tier: "a" });
    const merged = await api(s, "PATCH", `/api/v1/namespaces/${name}`, {
      body: { metadata: { labels: { [label]: "renamed", tier: "b" } } },
      contentType: "application/merge-patch+json",
    });
    assert.deepEqual(merged.body.metadata.labels, { [label]: name, tier: "b" });
    const removed = await api(s, "PATCH", `/api/v1/namespaces/${name}`, {
      body: [{ op: "remove", path: "/metadata/labels" }],
      contentType: "application/json-patch+json",
    });
    assert.deepEqual(removed.body.metadata.labels, { [label]: name });
  });
});

Deno.test("create fills in uid, timestamps, resourceVersion, defaults and generateName", async () => {
  await withServer(async (s) => {
    const r = await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD("web") });
    assert.deepStrictEqual(r.status, 201);
    assert.deepStrictEqual(r.body.kind, "Pod");
    assert.deepStrictEqual(r.body.apiVersion, "v1");
    assert.ok(r.body.metadata.uid != null);
    assert.ok(r.body.metadata.creationTimestamp != null);
    assert.match(r.body.metadata.resourceVersion, /^\d+$/);
    assert.deepStrictEqual(r.body.metadata.namespace, "default");
    assert.deepStrictEqual(r.body.spec.restartPolicy, "Always");
    assert.deepStrictEqual(r.body.status.phase, "Pending");

    const gen = await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: { ...POD(""), metadata: { generateName: "web-" } },
    });
    assert.deepStrictEqual(gen.status, 201);
    assert.match(gen.body.metadata.name, /^web-[a-z0-9]{5}$/);

    const got = await api(s, "GET", "/api/v1/namespaces/default/pods/web");
    assert.deepStrictEqual(got.body.metadata.uid, r.body.metadata.uid);
  });
});

Deno.test("errors are Status objects with Kubernetes' codes and reasons", async () => {
  await withServer(async (s) => {
    const missingNs = await api(s, "POST", "/api/v1/namespaces/nope/pods", { body: POD("a") });
    assert.deepStrictEqual(missingNs.status, 404);
    assert.deepStrictEqual(missingNs.body.reason, "NotFound");

    await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD("dup") });
    const dup = await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD("dup") });
    assert.deepStrictEqual(dup.status, 409);
    assert.deepStrictEqual(dup.body.reason, "AlreadyExists");

    const malformed = await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: "{not json",
    });
    assert.deepStrictEqual(malformed.status, 400);
    assert.deepStrictEqual(malformed.body.kind, "Status");

    const invalid = await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: { metadata: { name: "bad" }, spec: { containers: [{ name: "c" }] } },
    });
    assert.deepStrictEqual(invalid.status, 422);
    assert.deepStrictEqual(invalid.body.reason, "Invalid");
    assert.ok(
      invalid.body.details.causes.some((c: { field: string }) =>
        c.field === "spec.containers[0].image"
      ),
      JSON.stringify(invalid.body.details.causes),
    );

    const missing = await api(s, "GET", "/api/v1/namespaces/default/pods/ghost");
    assert.deepStrictEqual(missing.status, 404);
    assert.deepStrictEqual(missing.body.message, 'pods "ghost" not found');

    const unknownPath = await api(s, "GET", "/api/v1/widgets");
    assert.deepStrictEqual(unknownPath.status, 404);
    const unknownPath2 = await api(s, "GET", "/nothing/here");
    assert.deepStrictEqual(unknownPath2.status, 404);

    const wrongVerb = await api(s, "POST", "/api/v1/namespaces/default/pods/dup");
    assert.deepStrictEqual(wrongVerb.status, 405);
    assert.deepStrictEqual(wrongVerb.body.reason, "MethodNotAllowed");

    const huge = await api(s, "POST", "/api/v1/namespaces/default/configmaps", {
      body: JSON.stringify({
        metadata: { name: "huge" },
        data: { x: "a".repeat(3 * 1024 * 1024 + 10) },
      }),
    });
    assert.deepStrictEqual(huge.status, 413);

    // Nothing of the bad requests was stored (kube-root-ca.crt is every namespace's).
    const cms = await api(s, "GET", "/api/v1/namespaces/default/configmaps");
    assert.deepStrictEqual(
      cms.body.items.map((cm: { metadata: { name: string } }) => cm.metadata.name),
      ["kube-root-ca.crt"],
    );
    const bad = await api(s, "GET", "/api/v1/namespaces/default/pods/bad");
    assert.deepStrictEqual(bad.status, 404);
  });
});

Deno.test("update: optimistic concurrency rejects a stale resourceVersion with 409 Conflict", async () => {
  await withServer(async (s) => {
    const created = await api(s, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "cfg" }, data: { a: "1" } },
    });
    const v1 = created.body;
    const upd = await api(s, "PUT", "/api/v1/namespaces/default/configmaps/cfg", {
      body: { ...v1, data: { a: "2" } },
    });
    assert.deepStrictEqual(upd.status, 200);
    assert.deepStrictEqual(upd.body.data.a, "2");
    assert.ok(Number(upd.body.metadata.resourceVersion) > Number(v1.metadata.resourceVersion));
    const stale = await api(s, "PUT", "/api/v1/namespaces/default/configmaps/cfg", {
      body: { ...v1, data: { a: "3" } },
    });
    assert.deepStrictEqual(stale.status, 409);
    assert.deepStrictEqual(stale.body.reason, "Conflict");
    const now = await api(s, "GET", "/api/v1/namespaces/default/configmaps/cfg");
    assert.deepStrictEqual(now.body.data.a, "2");
  });
});

Deno.test("patch: JSON merge patch and JSON patch", async () => {
  await withServer(async (s) => {
    await api(s, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "p", labels: { a: "1" } }, data: { k: "v", drop: "x" } },
    });
    const merge = await api(s, "PATCH", "/api/v1/namespaces/default/configmaps/p", {
      body: { metadata: { labels: { b: "2" } }, data: { drop: null } },
      contentType: "application/merge-patch+json",
    });
    assert.deepStrictEqual(merge.status, 200);
    assert.deepStrictEqual(merge.body.metadata.labels, { a: "1", b: "2" });
    assert.deepStrictEqual(merge.body.data, { k: "v" });
    const jp = await api(s, "PATCH", "/api/v1/namespaces/default/configmaps/p", {
      body: [{ op: "replace", path: "/data/k", value: "w" }, {
        op: "add",
        path: "/data/n",
        value: "1",
      }],
      contentType: "application/json-patch+json",
    });
    assert.deepStrictEqual(jp.status, 200);
    assert.deepStrictEqual(jp.body.data, { k: "w", n: "1" });
    const failing = await api(s, "PATCH", "/api/v1/namespaces/default/configmaps/p", {
      body: [{ op: "test", path: "/data/k", value: "nope" }],
      contentType: "application/json-patch+json",
    });
    assert.ok(failing.status >= 400 && failing.status < 500, String(failing.status));
    const unchanged = await api(s, "GET", "/api/v1/namespaces/default/configmaps/p");
    assert.deepStrictEqual(unchanged.body.data, { k: "w", n: "1" });
  });
});

Deno.test("delete: preconditions, unscheduled pods at once, scheduled pods gracefully", async () => {
  await withServer(async (s) => {
    const created = await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD("d1") });
    const wrongUid = await api(s, "DELETE", "/api/v1/namespaces/default/pods/d1", {
      body: { preconditions: { uid: "not-it" } },
    });
    assert.deepStrictEqual(wrongUid.status, 409);
    const ok = await api(s, "DELETE", "/api/v1/namespaces/default/pods/d1", {
      body: { preconditions: { uid: created.body.metadata.uid } },
    });
    assert.deepStrictEqual(ok.status, 200);
    assert.deepStrictEqual((await api(s, "GET", "/api/v1/namespaces/default/pods/d1")).status, 404);

    await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: { ...POD("d2"), spec: { ...POD("d2").spec, nodeName: "node-a" } },
    });
    const graceful = await api(s, "DELETE", "/api/v1/namespaces/default/pods/d2", {
      body: { gracePeriodSeconds: 30 },
    });
    assert.deepStrictEqual(graceful.status, 200);
    assert.ok(graceful.body.metadata.deletionTimestamp != null);
    assert.deepStrictEqual(graceful.body.metadata.deletionGracePeriodSeconds, 30);
    assert.deepStrictEqual((await api(s, "GET", "/api/v1/namespaces/default/pods/d2")).status, 200);
    // The node's agent finishes the delete with grace 0.
    const final = await api(s, "DELETE", "/api/v1/namespaces/default/pods/d2?gracePeriodSeconds=0");
    assert.deepStrictEqual(final.status, 200);
    assert.deepStrictEqual((await api(s, "GET", "/api/v1/namespaces/default/pods/d2")).status, 404);

    const dry = await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD("d3") });
    assert.deepStrictEqual(dry.status, 201);
    const dryDel = await api(s, "DELETE", "/api/v1/namespaces/default/pods/d3", {
      body: { dryRun: ["All"] },
    });
    assert.deepStrictEqual(dryDel.status, 200);
    assert.deepStrictEqual((await api(s, "GET", "/api/v1/namespaces/default/pods/d3")).status, 200);
  });
});

Deno.test("finalizers hold a deleted object until they are removed", async () => {
  await withServer(async (s) => {
    await api(s, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "f", finalizers: ["example.com/hold"] } },
    });
    const del = await api(s, "DELETE", "/api/v1/namespaces/default/configmaps/f");
    assert.deepStrictEqual(del.status, 200);
    const held = await api(s, "GET", "/api/v1/namespaces/default/configmaps/f");
    assert.ok(held.body.metadata.deletionTimestamp != null);
    const release = await api(s, "PATCH", "/api/v1/namespaces/default/configmaps/f", {
      body: { metadata: { finalizers: null } },
      contentType: "application/merge-patch+json",
    });
    assert.deepStrictEqual(release.status, 200);
    assert.deepStrictEqual(
      (await api(s, "GET", "/api/v1/namespaces/default/configmaps/f")).status,
      404,
    );
  });
});

Deno.test("a resourceVersion in a patch or an apply is its precondition (409 when stale)", async () => {
  await withServer(async (s) => {
    const cm = "/api/v1/namespaces/default/configmaps/rv";
    const created = await api(s, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "rv" }, data: { a: "1" } },
    });
    const stale = created.body.metadata.resourceVersion;
    const moved = await api(s, "PATCH", cm, {
      body: { data: { b: "2" } },
      contentType: "application/merge-patch+json",
    });
    assert.deepStrictEqual(moved.status, 200);
    const fresh = moved.body.metadata.resourceVersion;
    const merge = await api(s, "PATCH", cm, {
      body: { metadata: { resourceVersion: stale, labels: { x: "1" } } },
      contentType: "application/merge-patch+json",
    });
    assert.deepStrictEqual(merge.status, 409);
    assert.match(
      merge.body.message,
      /Operation cannot be fulfilled on configmaps "rv": the object/,
    );
    const json = await api(s, "PATCH", cm, {
      body: [{ op: "add", path: "/metadata/resourceVersion", value: stale }],
      contentType: "application/json-patch+json",
    });
    assert.deepStrictEqual(json.status, 409);
    const apply = await api(s, "PATCH", `${cm}?fieldManager=m`, {
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "rv", resourceVersion: stale },
      },
      contentType: "application/apply-patch+yaml",
    });
    assert.deepStrictEqual(apply.status, 409);
    const current = await api(s, "GET", cm);
    assert.deepStrictEqual(current.body.metadata.labels, undefined, "nothing written");
    const ok = await api(s, "PATCH", cm, {
      body: { metadata: { resourceVersion: fresh, labels: { x: "1" } } },
      contentType: "application/merge-patch+json",
    });
    assert.deepStrictEqual(ok.status, 200);
    assert.deepStrictEqual(ok.body.metadata.labels, { x: "1" });

    await api(s, "POST", "/apis/apps/v1/namespaces/default/deployments", {
      body: DEPLOYMENT("sc"),
    });
    const scale = "/apis/apps/v1/namespaces/default/deployments/sc/scale";
    const staleScale = await api(s, "PATCH", scale, {
      body: { metadata: { resourceVersion: stale }, spec: { replicas: 3 } },
      contentType: "application/merge-patch+json",
    });
    assert.deepStrictEqual(staleScale.status, 409);
    const negative = await api(s, "PATCH", scale, {
      body: { spec: { replicas: -1 } },
      contentType: "application/merge-patch+json",
    });
    assert.deepStrictEqual(negative.status, 422);
    assert.match(
      negative.body.message,
      /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/,
    );
  });
});

Deno.test("server-side apply on the status and scale subresources", async () => {
  await withServer(async (s) => {
    await api(s, "POST", "/apis/apps/v1/namespaces/default/deployments", {
      body: DEPLOYMENT("sub"),
    });
    const base = "/apis/apps/v1/namespaces/default/deployments";
    const applyStatus = await api(s, "PATCH", `${base}/sub/status?fieldManager=ctl`, {
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "sub" },
        spec: { replicas: 9 },
        status: { observedGeneration: 5, replicas: 1 },
      },
      contentType: "application/apply-patch+yaml",
    });
    assert.deepStrictEqual(applyStatus.status, 200);
    assert.deepStrictEqual(applyStatus.body.status.observedGeneration, 5);
    assert.deepStrictEqual(applyStatus.body.spec.replicas, 1, "a status apply changes no spec");
    const applyScale = await api(s, "PATCH", `${base}/sub/scale?fieldManager=ctl`, {
      body: { apiVersion: "autoscaling/v1", kind: "Scale", spec: { replicas: 4 } },
      contentType: "application/apply-patch+yaml",
    });
    assert.deepStrictEqual([applyScale.status, applyScale.body.spec.replicas], [200, 4]);
    const missing = await api(s, "PATCH", `${base}/nope/status?fieldManager=ctl`, {
      body: { apiVersion: "apps/v1", kind: "Deployment", status: { replicas: 1 } },
      contentType: "application/apply-patch+yaml",
    });
    assert.deepStrictEqual(missing.status, 404);
    const unversioned = await api(s, "PATCH", `${base}/sub?fieldManager=ctl`, {
      body: { kind: "Deployment", spec: { replicas: 2 } },
      contentType: "application/apply-patch+yaml",
    });
    assert.deepStrictEqual(unversioned.status, 400);
    assert.match(unversioned.body.message, /Specified patch version: , expected: apps\/v1/);
  });
});

Deno.test("metadata-only GET, LIST and WATCH (PartialObjectMetadata, client-go's metadata client)", async () => {
  await withServer(async (s) => {
    const cms = "/api/v1/namespaces/default/configmaps";
    await api(s, "POST", cms, {
      body: { metadata: { name: "meta", labels: { a: "1" } }, data: { secret: "x" } },
    });
    const accept = (as: string) =>
      `application/vnd.kubernetes.protobuf;as=${as};g=meta.k8s.io;v=v1,application/json;as=${as};g=meta.k8s.io;v=v1,application/json`;
    const one = await api(s, "GET", `${cms}/meta`, { accept: accept("PartialObjectMetadata") });
    assert.deepStrictEqual([one.body.kind, one.body.apiVersion], [
      "PartialObjectMetadata",
      "meta.k8s.io/v1",
    ]);
    assert.deepStrictEqual(one.body.metadata.labels, { a: "1" });
    assert.deepStrictEqual(one.body.data, undefined);
    const list = await api(s, "GET", `${cms}?labelSelector=a%3D1`, {
      accept: accept("PartialObjectMetadataList"),
    });
    assert.deepStrictEqual(list.body.kind, "PartialObjectMetadataList");
    assert.ok(/^[0-9]+$/.test(list.body.metadata.resourceVersion));
    assert.deepStrictEqual(
      list.body.items.map((o: { kind: string; metadata: { name: string }; data?: unknown }) => [
        o.kind,
        o.metadata.name,
        o.data,
      ]),
      [["PartialObjectMetadata", "meta", undefined]],
    );
    const watch = await api(s, "GET", `${cms}?watch=true&timeoutSeconds=1&labelSelector=a%3D1`, {
      accept: accept("PartialObjectMetadata"),
    });
    // One event is one JSON line, which api() has parsed already.
    const events = typeof watch.body === "string"
      ? watch.body.trim().split("\n").map((l) => JSON.parse(l))
      : [watch.body];
    assert.deepStrictEqual(
      events.map((e) => [e.type, e.object.kind, e.object.metadata.name, e.object.data]),
      [["ADDED", "PartialObjectMetadata", "meta", undefined]],
    );
    // A plain JSON request still gets the whole object.
    assert.deepStrictEqual((await api(s, "GET", `${cms}/meta`)).body.data, { secret: "x" });
  });
});

Deno.test("list: continue pages come from the first page's state; resourceVersion and resourceVersionMatch", async () => {
  await withServer(async (s) => {
    const cms = "/api/v1/namespaces/default/configmaps";
    const sel = "labelSelector=t%3Dpaging";
    for (const name of ["page-1", "page-2", "page-3", "page-4"]) {
      await api(s, "POST", cms, { body: { metadata: { name, labels: { t: "paging" } } } });
    }
    const first = await api(s, "GET", `${cms}?${sel}&limit=2`);
    const rv = first.body.metadata.resourceVersion;
    await api(s, "POST", cms, { body: { metadata: { name: "page-5a", labels: { t: "paging" } } } });
    await api(s, "DELETE", `${cms}/page-3`);
    const second = await api(
      s,
      "GET",
      `${cms}?${sel}&limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`,
    );
    assert.deepStrictEqual(second.status, 200);
    assert.deepStrictEqual(
      second.body.items.map((o: { metadata: { name: string } }) => o.metadata.name),
      [
        "page-3",
        "page-4",
      ],
    );
    assert.deepStrictEqual(second.body.metadata.resourceVersion, rv);
    assert.deepStrictEqual(second.body.metadata.continue, undefined);

    const names = (r: { body: { items: { metadata: { name: string } }[] } }) =>
      r.body.items.map((o) => o.metadata.name);
    const exact = await api(
      s,
      "GET",
      `${cms}?${sel}&resourceVersion=${rv}&resourceVersionMatch=Exact`,
    );
    assert.deepStrictEqual(names(exact), ["page-1", "page-2", "page-3", "page-4"]);
    assert.deepStrictEqual(exact.body.metadata.resourceVersion, rv);
    const notOlder = await api(s, "GET", `${cms}?${sel}&resourceVersion=${rv}`);
    assert.deepStrictEqual(names(notOlder), ["page-1", "page-2", "page-4", "page-5a"]);

    assert.deepStrictEqual((await api(s, "GET", `${cms}?resourceVersion=abc`)).status, 400);
    for (
      const query of [
        "resourceVersionMatch=Exact",
        "resourceVersion=0&resourceVersionMatch=Exact",
        `resourceVersion=${rv}&resourceVersionMatch=Newest`,
      ]
    ) {
      const r = await api(s, "GET", `${cms}?${query}`);
      assert.deepStrictEqual([r.status, r.body.reason], [422, "Invalid"], query);
    }
    const both = await api(
      s,
      "GET",
      `${cms}?resourceVersion=${rv}&continue=${encodeURIComponent(first.body.metadata.continue)}`,
    );
    assert.deepStrictEqual(both.status, 400);
    const future = await api(s, "GET", `${cms}?resourceVersion=${Number(rv) + 1_000_000}`);
    assert.deepStrictEqual([future.status, future.body.reason], [504, "Timeout"]);
  });
});

Deno.test("list: label selectors, field selectors, limit and continue", async () => {
  await withServer(async (s) => {
    const specs: [string, Record<string, string>][] = [
      ["a", { app: "web", tier: "front" }],
      ["b", { app: "web", tier: "back" }],
      ["c", { app: "db" }],
      ["d", {}],
    ];
    for (const [name, labels] of specs) {
      await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD(name, labels) });
    }
    const names = async (query: string) => {
      const r = await api(s, "GET", `/api/v1/namespaces/default/pods?${query}`);
      assert.deepStrictEqual(r.status, 200, `${query}: ${JSON.stringify(r.body)}`);
      return r.body.items.map((p: { metadata: { name: string } }) => p.metadata.name).sort()
        .join(",");
    };
    const enc = encodeURIComponent;
    assert.deepStrictEqual(await names(`labelSelector=${enc("app=web")}`), "a,b");
    assert.deepStrictEqual(await names(`labelSelector=${enc("app==web")}`), "a,b");
    assert.deepStrictEqual(await names(`labelSelector=${enc("app!=web")}`), "c,d");
    assert.deepStrictEqual(await names(`labelSelector=${enc("app in (web,db)")}`), "a,b,c");
    assert.deepStrictEqual(await names(`labelSelector=${enc("app notin (web)")}`), "c,d");
    assert.deepStrictEqual(await names(`labelSelector=${enc("tier")}`), "a,b");
    assert.deepStrictEqual(await names(`labelSelector=${enc("!tier")}`), "c,d");
    assert.deepStrictEqual(await names(`labelSelector=${enc("app=web,tier=back")}`), "b");
    assert.deepStrictEqual(await names(`fieldSelector=${enc("metadata.name=c")}`), "c");
    assert.deepStrictEqual(
      await names(`fieldSelector=${enc("metadata.namespace=default,metadata.name!=c")}`),
      "a,b,d",
    );
    assert.deepStrictEqual(await names(`fieldSelector=${enc("status.phase=Pending")}`), "a,b,c,d");
    assert.deepStrictEqual(await names(`fieldSelector=${enc("spec.nodeName=")}`), "a,b,c,d");
    const bad = await api(s, "GET", `/api/v1/pods?labelSelector=${enc("a in (")}`);
    assert.deepStrictEqual(bad.status, 400);
    const unsupported = await api(s, "GET", `/api/v1/pods?fieldSelector=${enc("foo=bar")}`);
    assert.deepStrictEqual(unsupported.status, 400);
    assert.match(unsupported.body.message, /field label not supported: foo/);

    const seen: string[] = [];
    let cont = "";
    for (let page = 0; page < 10; page++) {
      const r = await api(
        s,
        "GET",
        `/api/v1/namespaces/default/pods?limit=3${cont ? `&continue=${enc(cont)}` : ""}`,
      );
      seen.push(...r.body.items.map((p: { metadata: { name: string } }) => p.metadata.name));
      cont = r.body.metadata.continue ?? "";
      if (!cont) break;
    }
    assert.deepStrictEqual(seen.sort().join(","), "a,b,c,d");
    const all = await api(s, "GET", "/api/v1/pods");
    assert.deepStrictEqual(all.body.kind, "PodList");
    assert.deepStrictEqual(all.body.items.length, 4);
  });
});

Deno.test("status subresource: the main resource ignores status, /status ignores spec", async () => {
  await withServer(async (s) => {
    const created = await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD("st") });
    const pod = created.body;
    const main = await api(s, "PUT", "/api/v1/namespaces/default/pods/st", {
      body: { ...pod, status: { phase: "Running" } },
    });
    assert.deepStrictEqual(main.status, 200);
    assert.deepStrictEqual(main.body.status.phase, "Pending");
    const status = await api(s, "PUT", "/api/v1/namespaces/default/pods/st/status", {
      body: {
        ...main.body,
        spec: { ...main.body.spec, activeDeadlineSeconds: 5 },
        status: { phase: "Running" },
      },
    });
    assert.deepStrictEqual(status.status, 200);
    assert.deepStrictEqual(status.body.status.phase, "Running");
    assert.deepStrictEqual(status.body.spec.activeDeadlineSeconds, undefined);
    const patched = await api(s, "PATCH", "/api/v1/namespaces/default/pods/st/status", {
      body: { status: { podIP: "172.17.0.5" } },
      contentType: "application/merge-patch+json",
    });
    assert.deepStrictEqual(patched.body.status.podIP, "172.17.0.5");
    assert.deepStrictEqual(patched.body.status.phase, "Running");
  });
});

Deno.test("binding assigns a node once; scale reads and writes replicas", async () => {
  await withServer(async (s) => {
    await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD("b") });
    const dry = await api(s, "POST", "/api/v1/namespaces/default/pods/b/binding?dryRun=All", {
      body: { target: { kind: "Node", name: "n1" } },
    });
    assert.deepStrictEqual(dry.status, 201);
    const untouched = await api(s, "GET", "/api/v1/namespaces/default/pods/b");
    assert.deepStrictEqual(untouched.body.spec.nodeName, undefined);
    assert.deepStrictEqual(untouched.body.status.conditions, undefined);
    const bind = await api(s, "POST", "/api/v1/namespaces/default/pods/b/binding", {
      body: {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: "b" },
        target: { kind: "Node", name: "n1" },
      },
    });
    assert.deepStrictEqual(bind.status, 201);
    const pod = await api(s, "GET", "/api/v1/namespaces/default/pods/b");
    assert.deepStrictEqual(pod.body.spec.nodeName, "n1");
    assert.ok(
      pod.body.status.conditions.some((c: { type: string; status: string }) =>
        c.type === "PodScheduled" && c.status === "True"
      ),
    );
    // The binding writes the stored pod directly (as BindingREST): one write, generation bumped.
    assert.deepStrictEqual(pod.body.metadata.generation, untouched.body.metadata.generation + 1);
    assert.ok(
      Number(pod.body.metadata.resourceVersion) > Number(untouched.body.metadata.resourceVersion),
    );
    const again = await api(s, "POST", "/api/v1/namespaces/default/pods/b/binding", {
      body: { target: { kind: "Node", name: "n2" } },
    });
    assert.deepStrictEqual(again.status, 409);
    await api(s, "POST", "/api/v1/namespaces/default/pods", { body: POD("c") });
    const wrongKind = await api(s, "POST", "/api/v1/namespaces/default/pods/c/binding", {
      body: { target: { kind: "Pod", name: "n1" } },
    });
    assert.deepStrictEqual(wrongKind.status, 422);
    assert.match(wrongKind.body.message, /target\.kind: Unsupported value: "Pod"/);

    const deploy = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "c", image: "busybox:1" }] },
        },
      },
    };
    const d = await api(s, "POST", "/apis/apps/v1/namespaces/default/deployments", {
      body: deploy,
    });
    assert.deepStrictEqual(d.status, 201, JSON.stringify(d.body));
    assert.deepStrictEqual(d.body.metadata.generation, 1);
    const scale = await api(s, "GET", "/apis/apps/v1/namespaces/default/deployments/web/scale");
    assert.deepStrictEqual(scale.body.kind, "Scale");
    assert.deepStrictEqual(scale.body.apiVersion, "autoscaling/v1");
    assert.deepStrictEqual(scale.body.spec.replicas, 2);
    assert.deepStrictEqual(scale.body.status.selector, "app=web");
    const patched = await api(
      s,
      "PATCH",
      "/apis/apps/v1/namespaces/default/deployments/web/scale",
      {
        body: { spec: { replicas: 5 } },
        contentType: "application/merge-patch+json",
      },
    );
    assert.deepStrictEqual(patched.status, 200);
    assert.deepStrictEqual(patched.body.spec.replicas, 5);
    const after = await api(s, "GET", "/apis/apps/v1/namespaces/default/deployments/web");
    assert.deepStrictEqual(after.body.spec.replicas, 5);
    assert.deepStrictEqual(after.body.metadata.generation, 2);
  });
});

Deno.test("discovery: aggregated with its exact Content-Type, legacy lists otherwise", async () => {
  await withServer(async (s) => {
    const accept =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    const agg = await api(s, "GET", "/api", { accept });
    assert.deepStrictEqual(
      agg.headers.get("content-type"),
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    );
    const core = agg.body.items[0].versions[0].resources;
    const pods = core.find((r: { resource: string }) => r.resource === "pods");
    assert.deepStrictEqual(pods.scope, "Namespaced");
    assert.ok(pods.shortNames.includes("po"));
    assert.ok(pods.categories.includes("all"));
    const apis = await api(s, "GET", "/apis", { accept });
    assert.ok(
      apis.body.items.some((g: { metadata: { name: string } }) => g.metadata.name === "apps"),
    );
    const legacy = await api(s, "GET", "/api");
    assert.deepStrictEqual(legacy.body.kind, "APIVersions");
    const v1 = await api(s, "GET", "/api/v1");
    assert.deepStrictEqual(v1.body.kind, "APIResourceList");
    assert.ok(v1.body.resources.some((r: { name: string }) => r.name === "pods/status"));
    // The pods' streaming subresources name their options kinds as kube-apiserver lists them.
    const kindOf = (name: string) =>
      v1.body.resources.find((r: { name: string }) => r.name === name)?.kind;
    assert.deepStrictEqual(
      ["pods/log", "pods/exec", "pods/attach", "pods/portforward", "pods/proxy"].map(kindOf),
      ["Pod", "PodExecOptions", "PodAttachOptions", "PodPortForwardOptions", "PodProxyOptions"],
    );
    const apps = await api(s, "GET", "/apis/apps/v1");
    assert.ok(apps.body.resources.some((r: { name: string }) => r.name === "deployments/scale"));
    const openapi = await api(s, "GET", "/openapi/v3");
    assert.ok(openapi.body.paths["apis/apps/v1"] != null);
  });
});

Deno.test("unknown fields: Strict refuses them, Warn drops them with a Warning header", async () => {
  await withServer(async (s) => {
    const body = { ...POD("u"), spec: { ...POD("u").spec, colour: "blue" } };
    const strict = await api(s, "POST", "/api/v1/namespaces/default/pods?fieldValidation=Strict", {
      body,
    });
    assert.deepStrictEqual(strict.status, 400);
    assert.match(strict.body.message, /strict decoding error: unknown field "spec.colour"/);
    const warn = await api(s, "POST", "/api/v1/namespaces/default/pods?fieldValidation=Warn", {
      body,
    });
    assert.deepStrictEqual(warn.status, 201);
    assert.match(warn.headers.get("warning") ?? "", /^299 - ".*unknown field.*spec.colour/);
    assert.deepStrictEqual(warn.body.spec.colour, undefined);
  });
});
