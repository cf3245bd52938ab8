/**
 * Watch over real HTTP: framing, initial ADDED events, resume from a resourceVersion with no
 * event lost or repeated, selectors, 410 Gone as an ERROR event, and timeoutSeconds.
 */
import assert from "node:assert/strict";
import { api, startTestServer } from "./test_utils.ts";
import type { TestServer } from "./test_utils.ts";

interface Event {
  type: string;
  object: { metadata: { name: string; resourceVersion: string }; code?: number; reason?: string };
}

/**
 * Opens a watch and collects events until `count` arrived or the stream ended; `onEvent` sees
 * each one as it arrives.
 */
async function collect(
  s: TestServer,
  path: string,
  count: number,
  onEvent?: (e: Event) => void,
): Promise<Event[]> {
  const res = await fetch(`${s.url}${path}`, {
    headers: { authorization: `Bearer ${s.token}` },
    client: s.httpClient,
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Event[] = [];
  let buf = "";
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const e: Event = JSON.parse(buf.slice(0, nl));
      events.push(e);
      onEvent?.(e);
      buf = buf.slice(nl + 1);
    }
  }
  await reader.cancel();
  return events;
}

const cm = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  data: { v: "1" },
});

/** Leaves out kube-root-ca.crt, which the ServiceAccount controller puts in every namespace. */
const NOT_ROOT_CA = encodeURIComponent("metadata.name!=kube-root-ca.crt");

Deno.test("watch: current objects as ADDED, then changes in order; resume loses and repeats nothing", async () => {
  const s = await startTestServer({ controllers: false });
  try {
    const base = "/api/v1/namespaces/default/configmaps";
    await api(s, "POST", base, { body: cm("a") });
    // The first event (a's replayed ADDED) shows the watch is registered: changes made after
    // it cannot be missed.
    let registered!: () => void;
    const firstEvent = new Promise<void>((resolve) => registered = resolve);
    // kube-root-ca.crt (every namespace's, made by the ServiceAccount controller) is left out.
    const initial = collect(
      s,
      `${base}?watch=1&fieldSelector=${NOT_ROOT_CA}`,
      4,
      () => registered(),
    );
    await firstEvent;
    const b = await api(s, "POST", base, { body: cm("b") });
    await api(s, "PATCH", `${base}/b`, {
      body: { data: { v: "2" } },
      contentType: "application/merge-patch+json",
    });
    await api(s, "DELETE", `${base}/a`);
    const events = await initial;
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [
      "ADDED a",
      "ADDED b",
      "MODIFIED b",
      "DELETED a",
    ]);

    // Resume from b's creation: exactly the two later events.
    const rv = b.body.metadata.resourceVersion;
    const resumed = await collect(
      s,
      `${base}?watch=true&resourceVersion=${rv}&fieldSelector=${NOT_ROOT_CA}`,
      2,
    );
    assert.deepEqual(resumed.map((e) => `${e.type} ${e.object.metadata.name}`), [
      "MODIFIED b",
      "DELETED a",
    ]);
    for (const e of resumed) assert.ok(Number(e.object.metadata.resourceVersion) > Number(rv));
  } finally {
    await s.stop();
  }
});

Deno.test("watch: a selector turns leaving objects into DELETED and arriving ones into ADDED", async () => {
  const s = await startTestServer({ controllers: false });
  try {
    const base = "/api/v1/namespaces/default/configmaps";
    const start = await api(s, "GET", base);
    const rv = start.body.metadata.resourceVersion;
    const watching = collect(
      s,
      `${base}?watch=1&resourceVersion=${rv}&labelSelector=${encodeURIComponent("app=web")}`,
      3,
    );
    await api(s, "POST", base, { body: cm("x", { app: "web" }) });
    await api(s, "POST", base, { body: cm("y", { app: "db" }) });
    await api(s, "PATCH", `${base}/x`, {
      body: { metadata: { labels: { app: "db" } } },
      contentType: "application/merge-patch+json",
    });
    await api(s, "PATCH", `${base}/y`, {
      body: { metadata: { labels: { app: "web" } } },
      contentType: "application/merge-patch+json",
    });
    const events = await watching;
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [
      "ADDED x",
      "DELETED x",
      "ADDED y",
    ]);
  } finally {
    await s.stop();
  }
});

Deno.test("watch: a resourceVersion older than the history gets one ERROR event with 410 Expired", async () => {
  const s = await startTestServer({ controllers: false, watchHistorySize: 20 });
  try {
    const base = "/api/v1/namespaces/default/configmaps";
    const first = await api(s, "POST", base, { body: cm("c-0") });
    for (let i = 1; i <= 40; i++) await api(s, "POST", base, { body: cm(`c-${i}`) });
    const events = await collect(
      s,
      `${base}?watch=1&resourceVersion=${first.body.metadata.resourceVersion}`,
      2,
    );
    assert.equal(events.length, 1);
    assert.equal(events[0].type, "ERROR");
    assert.equal(events[0].object.code, 410);
    assert.equal(events[0].object.reason, "Expired");

    const bad = await api(s, "GET", `${base}?watch=1&resourceVersion=abc`);
    assert.equal(bad.status, 400);
  } finally {
    await s.stop();
  }
});

Deno.test("watch: timeoutSeconds ends the stream", async () => {
  const s = await startTestServer({ controllers: false });
  try {
    const started = Date.now();
    const events = await collect(
      s,
      `/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1&fieldSelector=${NOT_ROOT_CA}`,
      1,
    );
    assert.equal(events.length, 0);
    assert.ok(Date.now() - started >= 900);
  } finally {
    await s.stop();
  }
});
