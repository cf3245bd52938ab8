/**
 * The shared informer against the real API server (in process, over a real socket): handlers see
 * creates, updates and deletes; the cache and its indexes follow; and when the server ends a watch
 * (`timeoutSeconds`) the informer resumes from the last version it saw without losing or
 * repeating a change.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { ApiClient } from "../shared/client/client.ts";
import { PODS } from "../shared/client/refs.ts";
import { Informer } from "../shared/informer.ts";
import { startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const pod = (name: string, nodeName?: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", labels: { app: "informer-test" } },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "c", image: "busybox" }] },
});

/** What a test can see of and do to the informer's traffic. */
interface Traffic {
  /** The resourceVersion of each watch request, in order. */
  watchVersions: string[];
  /** How many LIST requests were sent. */
  lists: number;
  /** While set, new watch requests wait (as if the network were down). */
  holdWatches(hold: boolean): void;
}

/** Runs an informer on pods in `default` and records handler calls as `add:name` etc. */
async function withInformer(
  server: TestServer,
  options: { watchTimeoutSeconds?: number },
  fn: (ctx: { informer: Informer; events: string[]; traffic: Traffic }) => Promise<void>,
) {
  let release: (() => void) | undefined;
  let held: Promise<void> | undefined;
  const traffic: Traffic = {
    watchVersions: [],
    lists: 0,
    holdWatches(hold) {
      if (hold && !held) held = new Promise((r) => release = r);
      if (!hold && held) {
        release!();
        held = undefined;
      }
    },
  };
  const client = new ApiClient({
    server: server.url,
    token: server.token,
    fetch: async (input, init) => {
      const url = new URL(String(input));
      if (url.searchParams.get("watch")) {
        traffic.watchVersions.push(url.searchParams.get("resourceVersion") ?? "");
        await held;
      } else if (init?.method === "GET") {
        traffic.lists++;
      }
      return fetch(input, { ...init, client: server.httpClient });
    },
  });
  const informer = new Informer(client, PODS, {
    namespace: "default",
    labelSelector: "app=informer-test",
    watchTimeoutSeconds: options.watchTimeoutSeconds,
    backoff: { initialMs: 20, maxMs: 200 },
  });
  informer.addIndexer("nodeName", (p) => [p.spec?.nodeName ?? ""]);
  const events: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => events.push(`add:${o.metadata.name}`),
    onUpdate: (_, o) => events.push(`update:${o.metadata.name}`),
    onDelete: (o) => events.push(`delete:${o.metadata.name}`),
  });
  const ac = new AbortController();
  const running = informer.run(ac.signal);
  try {
    await fn({ informer, events, traffic });
  } finally {
    traffic.holdWatches(false);
    ac.abort();
    await running;
  }
}

Deno.test("Informer on the real server sees pods created, updated and deleted", async () => {
  const server = await startTestServer({ controllers: false });
  try {
    const client = server.client;
    await client.create(PODS, pod("before", "n1"));
    await withInformer(server, {}, async ({ informer, events }) => {
      await waitFor("sync", () => informer.hasSynced());
      assert.deepEqual(events, ["add:before"], "events after the initial list");

      await client.create(PODS, pod("web", "n1"));
      await waitFor("add:web", () => events.includes("add:web"));
      const web = informer.get("default/web")!;
      await client.update(PODS, { ...web, metadata: { ...web.metadata, annotations: { a: "1" } } });
      await waitFor("update:web", () => events.includes("update:web"));
      assert.deepEqual(informer.get("default/web")?.metadata.annotations, { a: "1" }, "cached web");
      assert.deepEqual(
        informer.byIndex("nodeName", "n1").map((p) => p.metadata.name).sort(),
        ["before", "web"],
        "pods on n1",
      );

      await client.delete(PODS, "before", { namespace: "default", gracePeriodSeconds: 0 });
      await waitFor("delete:before", () => events.includes("delete:before"));
      assert.equal(informer.get("default/before"), undefined, "deleted pod in cache");
      assert.equal(informer.byIndex("nodeName", "n1").length, 1, "pods on n1 after delete");
      // An unrelated pod (selector doesn't match) never reaches the handlers.
      await client.create(PODS, {
        ...pod("other"),
        metadata: { name: "other", namespace: "default" },
      });
      await client.create(PODS, pod("last"));
      await waitFor("add:last", () => events.includes("add:last"));
      assert.deepEqual(
        events,
        ["add:before", "add:web", "update:web", "delete:before", "add:last"],
        "all events",
      );
    });
  } finally {
    await server.stop();
  }
});

Deno.test("Informer on the real server resumes after the server ends its watch, losing nothing", async () => {
  const server = await startTestServer({ controllers: false });
  try {
    const client = server.client;
    await withInformer(
      server,
      { watchTimeoutSeconds: 1 },
      async ({ informer, events, traffic }) => {
        await waitFor("sync", () => informer.hasSynced());
        await client.create(PODS, pod("a"));
        await waitFor("add:a", () => events.includes("add:a"));
        const seenVersion = informer.lastSyncResourceVersion;
        // The server closes each watch after 1 s; wait for the informer's next watch.
        const watches = traffic.watchVersions.length;
        await waitFor("a re-watch", () => traffic.watchVersions.length > watches);
        await client.create(PODS, pod("b"));
        await client.delete(PODS, "a", { namespace: "default", gracePeriodSeconds: 0 });
        await waitFor("delete:a", () => events.includes("delete:a"));
        assert.deepEqual(events, ["add:a", "add:b", "delete:a"], "events across the re-watch");
        assert.equal(
          Number(traffic.watchVersions[watches]) >= Number(seenVersion),
          true,
          `re-watch from ${traffic.watchVersions[watches]} (last seen ${seenVersion})`,
        );
        assert.deepEqual(informer.keys(), ["default/b"], "cache after the re-watch");
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("Informer on the real server re-lists after 410 Gone and reports what it missed", async () => {
  const server = await startTestServer({ controllers: false, watchHistorySize: 5 });
  try {
    const client = server.client;
    await client.create(PODS, pod("a"));
    await client.create(PODS, pod("b"));
    await withInformer(
      server,
      { watchTimeoutSeconds: 1 },
      async ({ informer, events, traffic }) => {
        await waitFor("sync", () => informer.hasSynced());
        assert.deepEqual(events.sort(), ["add:a", "add:b"], "initial events");
        events.length = 0;
        // Cut the informer off at its next re-watch, then change more than the history holds.
        traffic.holdWatches(true);
        const watches = traffic.watchVersions.length;
        await waitFor("a held re-watch", () => traffic.watchVersions.length > watches);
        const a = await client.get(PODS, "a", { namespace: "default" });
        await client.update(PODS, { ...a, metadata: { ...a.metadata, annotations: { v: "2" } } });
        await client.delete(PODS, "b", { namespace: "default", gracePeriodSeconds: 0 });
        await client.create(PODS, pod("c"));
        for (let i = 0; i < 8; i++) {
          await client.create(PODS, {
            ...pod(`filler-${i}`),
            metadata: { name: `filler-${i}`, namespace: "default" },
          });
        }
        const listsBefore = traffic.lists;
        traffic.holdWatches(false);
        await waitFor("the missed changes", () => events.length >= 3);
        assert.deepEqual(
          events.sort(),
          ["add:c", "delete:b", "update:a"],
          "events after the re-list",
        );
        assert.equal(traffic.lists > listsBefore, true, "a LIST after the held watch");
        assert.deepEqual(
          informer.keys().sort(),
          ["default/a", "default/c"],
          "cache after the re-list",
        );
        assert.deepEqual(
          informer.get("default/a")?.metadata.annotations,
          { v: "2" },
          "a after the re-list",
        );
        // And it keeps watching from the new list.
        await client.create(PODS, pod("d"));
        await waitFor("add:d", () => events.includes("add:d"));
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("Informer over the server's in-process fetch sees changes and stops cleanly", async () => {
  const server = await startTestServer({ controllers: false });
  try {
    let watches = 0;
    const client = new ApiClient({
      server: "http://in-process",
      token: server.token,
      fetch: (input, init) => {
        if (new URL(String(input)).searchParams.get("watch")) watches++;
        return server.fetch(input, init);
      },
    });
    const informer = new Informer(client, PODS, { watchTimeoutSeconds: 1 });
    const events: string[] = [];
    informer.onAdd((o) => events.push(`add:${o.metadata.name}`));
    informer.onDelete((o) => events.push(`delete:${o.metadata.name}`));
    const ac = new AbortController();
    const running = informer.run(ac.signal);
    try {
      await waitFor("sync", () => informer.hasSynced());
      await server.client.create(PODS, pod("a"));
      await waitFor("add:a", () => events.includes("add:a"));
      // Across at least one server-side watch timeout.
      await waitFor("a re-watch", () => watches >= 2);
      await server.client.delete(PODS, "a", { namespace: "default", gracePeriodSeconds: 0 });
      await waitFor("delete:a", () => events.includes("delete:a"));
      assert.deepEqual(events, ["add:a", "delete:a"], "events");
    } finally {
      ac.abort();
      await running;
    }
  } finally {
    await server.stop();
  }
});
