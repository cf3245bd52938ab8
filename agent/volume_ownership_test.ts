/** Tests of fsGroup volume ownership: the kubelet's modes, the walk, and fsGroupChangePolicy. */

import assert from "node:assert/strict";
import { ownedMode, setVolumeOwnership } from "./volume_ownership.ts";

const GID = 1001;

async function modeAndGid(path: string): Promise<[string, number | null]> {
  const info = await Deno.lstat(path);
  return [((info.mode ?? 0) & 0o7777).toString(8), info.gid];
}

Deno.test("ownedMode() adds group rw (ro for read-only volumes), and setgid and search to directories", () => {
  assert.equal(ownedMode(0o644, { readOnly: false, dir: false }), 0o664);
  assert.equal(ownedMode(0o400, { readOnly: true, dir: false }), 0o440);
  assert.equal(ownedMode(0o700, { readOnly: false, dir: true }), 0o2770);
  assert.equal(ownedMode(0o755, { readOnly: true, dir: true }), 0o2755);
  // The file type bits of a stat mode are dropped.
  assert.equal(ownedMode(0o100600, { readOnly: true, dir: false }), 0o640);
});

Deno.test("setVolumeOwnership() walks the volume unless OnRootMismatch finds its root right", async () => {
  const root = await Deno.makeTempDir();
  const outside = await Deno.makeTempFile();
  try {
    await Deno.chmod(root, 0o700);
    await Deno.mkdir(`${root}/sub`, { mode: 0o700 });
    await Deno.chmod(`${root}/sub`, 0o700);
    await Deno.writeTextFile(`${root}/sub/f`, "x", { mode: 0o600 });
    await Deno.chmod(`${root}/sub/f`, 0o600);
    await Deno.chmod(outside, 0o600);
    await Deno.symlink(outside, `${root}/link`);

    await setVolumeOwnership(root, { gid: GID, readOnly: false });
    assert.deepEqual(await modeAndGid(root), ["2770", GID]);
    assert.deepEqual(await modeAndGid(`${root}/sub`), ["2770", GID]);
    assert.deepEqual(await modeAndGid(`${root}/sub/f`), ["660", GID]);
    // A symlink is not followed: what it points at keeps its owner and mode.
    assert.deepEqual(await modeAndGid(outside), ["600", 0]);

    // OnRootMismatch: the root is already right, so a file below is not looked at again.
    await Deno.chmod(`${root}/sub/f`, 0o600);
    await setVolumeOwnership(root, { gid: GID, readOnly: false, changePolicy: "OnRootMismatch" });
    assert.deepEqual(await modeAndGid(`${root}/sub/f`), ["600", GID]);
    // Always (the default) walks again.
    await setVolumeOwnership(root, { gid: GID, readOnly: false, changePolicy: "Always" });
    assert.deepEqual(await modeAndGid(`${root}/sub/f`), ["660", GID]);
    // OnRootMismatch with a root of another group walks.
    await Deno.chown(root, null, 0);
    await Deno.chmod(`${root}/sub/f`, 0o600);
    await setVolumeOwnership(root, { gid: GID, readOnly: false, changePolicy: "OnRootMismatch" });
    assert.deepEqual(await modeAndGid(`${root}/sub/f`), ["660", GID]);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside);
  }
});
