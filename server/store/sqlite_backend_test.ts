/** Runs the backend conformance suite on SqliteBackend, plus SQLite-specific behaviour. */
import assert from "node:assert/strict";
import { runBackendConformance } from "./backend_conformance.ts";
import { SqliteBackend, startCompactor } from "./sqlite_backend.ts";
import type { BackendEvent } from "./backend.ts";

async function openTemp(options: Parameters<typeof SqliteBackend.open>[1] = {}) {
  const dir = await Deno.makeTempDir({ prefix: "skiff_sqlite_" });
  const backend = SqliteBackend.open(`${dir}/store.db`, options);
  return {
    backend,
    dir,
    cleanup: async () => {
      await backend.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

runBackendConformance("sqlite", () => openTemp());

Deno.test("SqliteBackend keeps data and revisions across close and reopen", async () => {
  const { backend, dir, cleanup } = await openTemp();
  const path = `${dir}/store.db`;
  try {
    const a = await backend.create("/a", "1");
    if (!a.ok) throw new Error("create failed");
    await backend.update("/a", "2", a.kv.modRevision);
    await backend.create("/b", "1");
    await backend.delete("/b");
    await backend.compact(2);
    await backend.close();
    const reopened = SqliteBackend.open(path);
    try {
      assert.equal(await reopened.currentRevision(), 4, "revision after reopen");
      assert.equal(await reopened.compactRevision(), 2, "compact revision after reopen");
      assert.equal((await reopened.get("/a"))?.value, "2", "value after reopen");
      assert.equal(await reopened.get("/b"), null, "deleted key after reopen");
      const c = await reopened.create("/c", "1");
      assert.equal(c.ok && c.kv.modRevision, 5, "revision continues after reopen");
    } finally {
      await reopened.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("SqliteBackend.open() refuses a file another process holds", async () => {
  const { dir, cleanup } = await openTemp();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { SqliteBackend } from ${
          JSON.stringify(import.meta.resolve("./sqlite_backend.ts"))
        };
         try { SqliteBackend.open(${JSON.stringify(`${dir}/store.db`)}); console.log("opened"); }
         catch (e) { console.log(e.message); }`,
      ],
      stdout: "piped",
      stderr: "inherit",
    });
    const out = new TextDecoder().decode((await child.output()).stdout).trim();
    if (!out.includes("in use by another process")) {
      throw new Error(`second opener should be refused, got: ${out}`);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("SqliteBackend watcher that overflows its buffer catches up from the table", async () => {
  const { backend, cleanup } = await openTemp({ watchBufferSize: 5, synchronous: "normal" });
  const controller = new AbortController();
  try {
    const iterator = backend.watch("/o/", 0, controller.signal)[Symbol.asyncIterator]();
    // Nothing is read while 200 writes happen: the live buffer (5) overflows many times.
    const first = iterator.next();
    for (let i = 0; i < 200; i++) await backend.create(`/o/${i}`, `${i}`);
    const revisions: number[] = [];
    let r = await first;
    while (!r.done) {
      const event: BackendEvent = r.value;
      if (event.type !== "progress") revisions.push(event.kv.modRevision);
      if (revisions.length === 200) break;
      r = await iterator.next();
    }
    assert.deepEqual(
      revisions,
      Array.from({ length: 200 }, (_, i) => i + 1),
      "all events in order",
    );
    controller.abort();
    await iterator.return?.(undefined);
  } finally {
    controller.abort();
    await cleanup();
  }
});

Deno.test("SqliteBackend.close() fails live watchers", async () => {
  const { backend, cleanup } = await openTemp();
  const controller = new AbortController();
  try {
    const iterator = backend.watch("/", 0, controller.signal)[Symbol.asyncIterator]();
    const pending = iterator.next();
    await backend.close();
    let message = "";
    try {
      await pending;
    } catch (err) {
      message = (err as Error).message;
    }
    assert.equal(message, "the store was closed", "watcher error");
  } finally {
    controller.abort();
    await cleanup();
  }
});

Deno.test("startCompactor() compacts to keepRevisions behind the latest and stops on abort", async () => {
  const { backend, cleanup } = await openTemp({ synchronous: "normal" });
  const controller = new AbortController();
  try {
    for (let i = 0; i < 30; i++) await backend.create(`/s/${i}`, "x");
    const stopped = startCompactor(backend, {
      keepRevisions: 10,
      intervalMs: 5,
      signal: controller.signal,
    });
    while ((await backend.compactRevision()) < 20) {
      await new Promise((r) => setTimeout(r, 5));
    }
    controller.abort();
    await stopped;
    assert.equal(await backend.compactRevision(), 20, "compacted to latest - keepRevisions");
  } finally {
    controller.abort();
    await cleanup();
  }
});

/** Asserts that `fn` throws a one-line message matching `pattern`. */
function assertThrowsOneLine(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e) => {
    const msg = (e as Error).message;
    assert.match(msg, pattern);
    assert.ok(!msg.includes("\n"), `expected one line, got ${JSON.stringify(msg)}`);
    return true;
  });
}

Deno.test("SqliteBackend.open() refuses an emptied or missing file of an initialised store", async () => {
  const { backend, dir } = await openTemp();
  const path = `${dir}/store.db`;
  try {
    await backend.create("/a", "1");
    await backend.close();
    Deno.truncateSync(path, 0);
    for (const suffix of ["-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
    assertThrowsOneLine(() => SqliteBackend.open(path), /store\.db.*is empty.*initialized/);
    await Deno.remove(path);
    assertThrowsOneLine(() => SqliteBackend.open(path), /store\.db.*is missing/);
    // A new data dir (no marker) starts empty, as before.
    await Deno.remove(`${path}.initialized`);
    const fresh = SqliteBackend.open(path);
    assert.equal(await fresh.currentRevision(), 0, "a new store starts at revision 0");
    await fresh.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteBackend.open() refuses a page-corrupted file with one line naming it", async () => {
  const { backend, dir } = await openTemp();
  const path = `${dir}/store.db`;
  try {
    for (let i = 0; i < 300; i++) await backend.create(`/k/${i}`, "v".repeat(500));
    await backend.close();
    // Overwrite a few pages in the middle (not the header) with garbage.
    const file = await Deno.open(path, { write: true, read: true });
    const size = (await file.stat()).size;
    await file.seek(Math.floor(size / 2 / 4096) * 4096, Deno.SeekMode.Start);
    await file.write(new Uint8Array(3 * 4096).fill(0xa5));
    file.close();
    assertThrowsOneLine(() => SqliteBackend.open(path), /^Cannot open store ".*store\.db": /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the store's files are owner-only (0600)", async () => {
  const { backend, dir, cleanup } = await openTemp();
  try {
    await backend.create("/a", "1");
    for (const name of ["store.db", "store.db-wal", "store.db.initialized"]) {
      const mode = (await Deno.stat(`${dir}/${name}`)).mode! & 0o777;
      assert.equal(mode.toString(8), "600", `mode of ${name}`);
    }
  } finally {
    await cleanup();
  }
});
