/** Tests of the Docker wrapper against the real local engine. */

import assert from "node:assert/strict";
import { ensureTestImages, makeMissingImageTarball, removeImage } from "../tests/images.ts";
import { DockerError, DockerRuntime } from "./docker_runtime.ts";
import { LABEL_NODE } from "./labels.ts";

function uniqueNode(): string {
  return `rt-${crypto.randomUUID().slice(0, 8)}`;
}

async function cleanup(rt: DockerRuntime): Promise<void> {
  for (const c of await rt.listContainers()) await rt.removeContainer(c.Id);
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

Deno.test("DockerRuntime runs, inspects, execs, logs, stops and removes a labelled container", async () => {
  const images = await ensureTestImages();
  const rt = new DockerRuntime({ nodeName: uniqueNode() });
  const other = new DockerRuntime({ nodeName: uniqueNode() });
  try {
    const id = await rt.createContainer({
      name: `skiff-rt-${crypto.randomUUID().slice(0, 8)}`,
      Image: images.busybox,
      Cmd: ["sh", "-c", "echo out; echo err >&2; trap 'exit 3' TERM; while :; do sleep 1; done"],
      Labels: { "test.label": "x" },
    });
    await rt.startContainer(id);
    await rt.startContainer(id); // already running: fine

    const mine = await rt.listContainers({ "test.label": "x" });
    assert.deepEqual(mine.map((c) => c.Id), [id]);
    assert.deepEqual(mine[0].Labels[LABEL_NODE], rt.nodeName);
    assert.deepEqual(await other.listContainers(), [], "another node never sees it");

    const r = await rt.exec(id, ["sh", "-c", "echo hi; echo oops >&2; exit 4"]);
    assert.deepEqual(r, { exitCode: 4, stdout: "hi\n", stderr: "oops\n", timedOut: false });
    const slow = await rt.exec(id, ["sleep", "5"], { timeoutMs: 100 });
    assert(slow.timedOut);

    // Output may take a moment to reach the log.
    let text = "";
    for (let i = 0; i < 50 && !text.includes("err"); i++) {
      text = await readAll(await rt.logs(id));
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(text.split("\n").sort().join("\n"), "\nerr\nout");
    const ts = await readAll(await rt.logs(id, { timestamps: true, tail: 1 }));
    assert(/^\d{4}-\d\d-\d\dT\S+ (out|err)\n$/.test(ts), ts);

    const follow = await rt.logs(id, { follow: true });
    const followed = readAll(follow);
    await rt.stopContainer(id, 5);
    assert((await followed).includes("out"), "follow ends when the container stops");
    const info = await rt.inspectContainer(id);
    assert.deepEqual(info?.State.ExitCode, 3);
    await rt.stopContainer(id, 5); // already stopped: fine
    await rt.killContainer(id); // not running: fine
    await rt.removeContainer(id);
    await rt.removeContainer(id); // gone: fine
    assert.deepEqual(await rt.inspectContainer(id), undefined);
    await assert.rejects(() => rt.startContainer(id), /No such container/);
  } finally {
    await cleanup(rt);
  }
});

Deno.test("DockerRuntime.watchEvents reports start and die of this node's containers", async () => {
  const images = await ensureTestImages();
  const rt = new DockerRuntime({ nodeName: uniqueNode() });
  const ac = new AbortController();
  const seen: string[] = [];
  let connected!: () => void;
  const ready = new Promise<void>((r) => connected = r);
  let died!: (code: number | undefined) => void;
  const dead = new Promise<number | undefined>((r) => died = r);
  const watching = rt.watchEvents(ac.signal, {
    onConnect: () => connected(),
    onEvent: (e) => {
      seen.push(e.action);
      if (e.action === "die") died(e.exitCode);
    },
  });
  try {
    await ready;
    const id = await rt.createContainer({ Image: images.busybox, Cmd: ["sh", "-c", "exit 7"] });
    await rt.startContainer(id);
    assert.deepEqual(await dead, 7);
    assert(seen.includes("create") && seen.includes("start"), seen.join(","));
  } finally {
    ac.abort();
    await watching;
    await cleanup(rt);
  }
});

Deno.test("DockerRuntime loads image tarballs and reports pull failures readably", async () => {
  const rt = new DockerRuntime({ nodeName: uniqueNode() });
  const dir = await Deno.makeTempDir();
  const ref = `skiff.local/rt-load-${crypto.randomUUID().slice(0, 8)}:1`;
  try {
    await makeMissingImageTarball(ref, `${dir}/img.tar.gz`);
    assert.deepEqual(await rt.inspectImage(ref), undefined);
    const loaded = await rt.loadImage(`${dir}/img.tar.gz`);
    assert.deepEqual(loaded, [ref]);
    assert(await rt.inspectImage(ref));
    const err = await rt.pullImage("127.0.0.1:1/nope:1").then(() => undefined, (e) => e);
    assert(err instanceof DockerError);
    assert.match(err.message, /^pull image 127\.0\.0\.1:1\/nope:1: .*connection refused/);
  } finally {
    await removeImage(ref);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DockerRuntime reports each engine operation and its failure to onOperation", async () => {
  const seen: [string, boolean][] = [];
  const rt = new DockerRuntime({
    nodeName: uniqueNode(),
    onOperation: (op, failed) => seen.push([op, failed]),
  });
  await rt.listContainers();
  assert.equal(await rt.inspectContainer("skiff-no-such-container"), undefined);
  const gone = new DockerRuntime({
    nodeName: uniqueNode(),
    socketPath: `/tmp/skiff-no-engine-${crypto.randomUUID()}.sock`,
    onOperation: (op, failed) => seen.push([op, failed]),
  });
  await assert.rejects(gone.listContainers());
  assert.deepEqual(seen, [
    ["list_containers", false],
    ["container_status", false],
    ["list_containers", true],
  ]);
});

Deno.test("DockerRuntime.attachSession refuses a stopped container instead of hanging on it", async () => {
  const images = await ensureTestImages();
  const rt = new DockerRuntime({ nodeName: uniqueNode() });
  try {
    const id = await rt.createContainer({ Image: images.busybox, Cmd: ["true"] });
    await rt.startContainer(id);
    for (let i = 0; i < 100 && (await rt.inspectContainer(id))?.State.Running; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await assert.rejects(
      () => rt.attachSession(id, { stdin: false }),
      (e) => e instanceof DockerError && e.statusCode === 409 && /not running/.test(e.message),
    );
  } finally {
    await cleanup(rt);
  }
});
