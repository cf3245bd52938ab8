/** Tests of the shared mounts mountPropagation needs (real mounts: the tests run as root). */

import assert from "node:assert/strict";
import { ensureSharedMount, unmountAll } from "./shared_mount.ts";

/** The propagation tags of the mounts at `path` (`shared:N`, `master:N`, or none). */
async function mountsAt(path: string): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  return text.split("\n").filter((l) => l.split(" ")[4] === path).map((l) => {
    const fields = l.split(" ");
    return fields.slice(6, fields.indexOf("-")).join(" ");
  });
}

Deno.test("ensureSharedMount() makes a directory a shared mount once; unmountAll() undoes it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-shared-" });
  try {
    await ensureSharedMount(dir);
    const tags = await mountsAt(dir);
    assert.equal(tags.length, 1);
    assert.match(tags[0], /shared:\d+/);
    await ensureSharedMount(dir);
    assert.deepEqual(await mountsAt(dir), tags, "a second call binds nothing more");

    // A mount made below it later is seen through the shared mount, and removed with it.
    await Deno.mkdir(`${dir}/sub`);
    const r = await new Deno.Command("mount", { args: ["-t", "tmpfs", "tmpfs", `${dir}/sub`] })
      .output();
    assert.equal(r.code, 0);
    await unmountAll(dir);
    assert.deepEqual(await mountsAt(dir), []);
    assert.deepEqual(await mountsAt(`${dir}/sub`), []);
  } finally {
    await unmountAll(dir);
    await Deno.remove(dir, { recursive: true });
  }
});
