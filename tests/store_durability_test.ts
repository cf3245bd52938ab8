/**
 * An acknowledged write survives `kill -9`: a child process writes to a SqliteBackend and
 * reports each acknowledged write on stdout; it is killed with SIGKILL mid-stream, and the
 * reopened store must hold every acknowledged write (or the one write in flight at the kill).
 *
 * What this shows is "acknowledged ⇒ committed" across a process crash, in both `synchronous`
 * modes: a killed process cannot lose what SQLite already handed to the kernel. It says nothing
 * about power loss, which is where FULL and NORMAL differ (an fsync per commit or per
 * checkpoint); no test here can show that.
 */
import { SqliteBackend } from "../server/store/sqlite_backend.ts";

const WRITER = new URL("./fixtures/store_writer.ts", import.meta.url).pathname;

async function killMidStream(sync: "full" | "normal") {
  const dir = await Deno.makeTempDir({ prefix: "skiff_durability_" });
  const path = `${dir}/store.db`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRITER, path, sync],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  /** key → the last acknowledged value. */
  const acked = new Map<string, string>();
  /** The write announced but not (yet) acknowledged, if any. */
  let inFlight: { key: string; value: string } | null = null;
  let acks = 0;
  let killed = false;
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new LineSplitter(),
    );
    for await (const line of lines) {
      if (line === "READY") continue;
      const [tag, key, value] = [line.slice(0, 1), ...splitOnce(line.slice(2))];
      if (tag === "W") inFlight = { key, value };
      else if (tag === "A") {
        acked.set(key, value);
        inFlight = null;
        acks++;
      }
      // Kill once enough writes are acknowledged; keep reading what was printed before it.
      if (acks === 600 && !killed) {
        child.kill("SIGKILL");
        killed = true;
      }
    }
    const status = await child.status;
    if (!killed || status.signal !== "SIGKILL") {
      throw new Error(`writer was not killed mid-stream: ${JSON.stringify(status)}`);
    }
    const backend = SqliteBackend.open(path);
    try {
      let missing = 0;
      for (const [key, value] of acked) {
        const kv = await backend.get(key);
        const allowed = kv?.value === value ||
          (inFlight?.key === key && kv?.value === inFlight.value);
        if (!allowed) {
          missing++;
          if (missing < 5) console.error(`lost: ${key} expected ${value}, found ${kv?.value}`);
        }
      }
      if (missing > 0) throw new Error(`${missing} of ${acked.size} acknowledged keys lost`);
      const revision = await backend.currentRevision();
      if (revision < acks) {
        throw new Error(`revision ${revision} below ${acks} acknowledged writes`);
      }
      const count = await backend.count("/registry/core/pods/");
      if (count < acked.size) throw new Error(`${count} keys stored, ${acked.size} acknowledged`);
    } finally {
      await backend.close();
    }
  } finally {
    if (!killed) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
}

function splitOnce(s: string): [string, string] {
  const i = s.indexOf(" ");
  return [s.slice(0, i), s.slice(i + 1)];
}

/** Splits a text stream into lines. */
class LineSplitter extends TransformStream<string, string> {
  constructor() {
    let buffer = "";
    super({
      transform(chunk, controller) {
        buffer += chunk;
        const parts = buffer.split("\n");
        buffer = parts.pop()!;
        for (const p of parts) controller.enqueue(p);
      },
      flush(controller) {
        if (buffer) controller.enqueue(buffer);
      },
    });
  }
}

Deno.test("SqliteBackend opened with synchronous full: acknowledged writes survive kill -9", async () => {
  await killMidStream("full");
});

Deno.test("SqliteBackend opened with synchronous normal: acknowledged writes survive kill -9", async () => {
  await killMidStream("normal");
});
