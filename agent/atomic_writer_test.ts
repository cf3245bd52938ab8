import assert from "node:assert/strict";
import { type PayloadFile, writeAtomic } from "./atomic_writer.ts";

const enc = new TextEncoder();
const file = (text: string, mode = 0o644): PayloadFile => ({ data: enc.encode(text), mode });

Deno.test("AtomicWriter gives each file its mode and swaps ..data in one rename", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = new Map([["a", file("1")], ["sub/b", file("2", 0o600)]]);
    assert.equal(await writeAtomic(dir, first), true);
    const ts1 = await Deno.readLink(`${dir}/..data`);
    assert.match(ts1, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    assert.equal(await Deno.readLink(`${dir}/a`), "..data/a");
    assert.equal(await Deno.readLink(`${dir}/sub`), "..data/sub");
    assert.equal(await Deno.readTextFile(`${dir}/sub/b`), "2");
    assert.equal((await Deno.stat(`${dir}/sub/b`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/a`)).mode! & 0o777, 0o644);

    // The same payload changes nothing.
    assert.equal(await writeAtomic(dir, first), false);
    assert.equal(await Deno.readLink(`${dir}/..data`), ts1);

    // A new payload: a new directory, the old one gone, removed keys gone.
    assert.equal(await writeAtomic(dir, new Map([["a", file("one")]])), true);
    const ts2 = await Deno.readLink(`${dir}/..data`);
    assert.notEqual(ts2, ts1);
    assert.equal(await Deno.readTextFile(`${dir}/a`), "one");
    await assert.rejects(() => Deno.lstat(`${dir}/${ts1}`), Deno.errors.NotFound);
    await assert.rejects(() => Deno.lstat(`${dir}/sub`), Deno.errors.NotFound);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["..data", ts2, "a"].sort());

    // A mode change alone is a change.
    assert.equal(await writeAtomic(dir, new Map([["a", file("one", 0o400)]])), true);
    assert.equal((await Deno.stat(`${dir}/a`)).mode! & 0o777, 0o400);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AtomicWriter replaces files written before volumes were atomic, and refuses bad paths", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a`, "old");
    await writeAtomic(dir, new Map([["a", file("new")]]));
    assert.equal(await Deno.readLink(`${dir}/a`), "..data/a");
    assert.equal(await Deno.readTextFile(`${dir}/a`), "new");
    for (const bad of ["../x", "/etc/x", "..hidden", "a/../../x"]) {
      await assert.rejects(() => writeAtomic(dir, new Map([[bad, file("x")]])), /invalid path/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
