import assert from "node:assert/strict";
import { GoneError, isNotFound } from "../errors.ts";
import { parseWatchStream } from "./watch_stream.ts";

const encoder = new TextEncoder();

function streamOf(chunks: string[], options: { keepOpen?: boolean } = {}) {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      if (!options.keepOpen) controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, cancelled: () => cancelled };
}

const ev = (type: string, name: string, rv: string) =>
  JSON.stringify({ type, object: { metadata: { name, resourceVersion: rv } } }) + "\n";

async function collect(body: ReadableStream<Uint8Array>, signal?: AbortSignal) {
  const out: string[] = [];
  for await (const e of parseWatchStream(body, { signal })) {
    out.push(`${e.type}:${e.object.metadata.name}:${e.object.metadata.resourceVersion}`);
  }
  return out;
}

Deno.test("parseWatchStream() joins an event split across chunks and splits several in one", async () => {
  const all = ev("ADDED", "a", "1") + ev("MODIFIED", "a", "2") + ev("DELETED", "b", "3");
  // Split inside the first event, then also byte by byte.
  const cut = 17;
  const { body } = streamOf([all.slice(0, cut), all.slice(cut, cut + 3), all.slice(cut + 3)]);
  assert.deepEqual(await collect(body), ["ADDED:a:1", "MODIFIED:a:2", "DELETED:b:3"]);
  const { body: bytewise } = streamOf([...all]);
  assert.deepEqual(await collect(bytewise), ["ADDED:a:1", "MODIFIED:a:2", "DELETED:b:3"]);
});

Deno.test("parseWatchStream() decodes a multi-byte character split between chunks", async () => {
  const line = JSON.stringify({
    type: "ADDED",
    object: { metadata: { name: "café", resourceVersion: "1" } },
  }) + "\n";
  const bytes = encoder.encode(line);
  const i = bytes.indexOf(0xc3) + 1; // inside the two-byte "é"
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes.slice(0, i));
      c.enqueue(bytes.slice(i));
      c.close();
    },
  });
  assert.deepEqual(await collect(body), ["ADDED:café:1"]);
});

Deno.test("parseWatchStream() yields a last event without a trailing newline and skips blank lines", async () => {
  const { body } = streamOf(["\n", ev("ADDED", "a", "1"), "\n\n", ev("ADDED", "b", "2").trim()]);
  assert.deepEqual(await collect(body), ["ADDED:a:1", "ADDED:b:2"]);
});

Deno.test("parseWatchStream() throws GoneError for an ERROR event with code 410", async () => {
  const status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    reason: "Expired",
    message: "too old resource version: 5 (9)",
    code: 410,
  };
  const { body } = streamOf([
    ev("ADDED", "a", "1"),
    JSON.stringify({ type: "ERROR", object: status }) + "\n",
  ], { keepOpen: true });
  const seen: string[] = [];
  await assert.rejects(
    async () => {
      for await (const e of parseWatchStream(body)) seen.push(e.object.metadata.name!);
    },
    (err) => {
      assert.ok(err instanceof GoneError, `expected GoneError, got ${err}`);
      assert.equal(err.code, 410);
      assert.equal(err.message, "too old resource version: 5 (9)");
      return true;
    },
  );
  assert.deepEqual(seen, ["a"]);
});

Deno.test("parseWatchStream() throws the matching ApiError for other ERROR events", async () => {
  const status = { kind: "Status", code: 404, reason: "NotFound", message: "gone away" };
  const { body } = streamOf([JSON.stringify({ type: "ERROR", object: status }) + "\n"]);
  await assert.rejects(collect(body), (err) => {
    assert.ok(isNotFound(err), `expected NotFound, got ${err}`);
    return true;
  });
});

Deno.test("parseWatchStream() ends quietly on abort and cancels the body", async () => {
  const { body, cancelled } = streamOf([ev("ADDED", "a", "1")], { keepOpen: true });
  const ac = new AbortController();
  const seen: string[] = [];
  for await (const e of parseWatchStream(body, { signal: ac.signal })) {
    seen.push(e.object.metadata.name!);
    // Abort while the parser is waiting for the next chunk of a stream that never ends.
    setTimeout(() => ac.abort(), 1);
  }
  assert.deepEqual(seen, ["a"]);
  assert.ok(cancelled(), "body was not cancelled");
});

Deno.test("parseWatchStream() cancels the body when the consumer breaks early", async () => {
  const { body, cancelled } = streamOf([ev("ADDED", "a", "1"), ev("ADDED", "b", "2")], {
    keepOpen: true,
  });
  for await (const _ of parseWatchStream(body)) break;
  assert.ok(cancelled(), "body was not cancelled");
});
