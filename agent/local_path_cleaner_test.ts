import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/object.ts";
import { LOCAL_PATH_CLEANUP_FINALIZER } from "../shared/local_path.ts";
import { FakeLister, RecordingClient } from "../shared/testing/mod.ts";
import { LocalPathCleaner } from "./local_path_cleaner.ts";

function volume(root: string, policy: string, extra: { path?: string; deleting?: boolean } = {}) {
  return {
    metadata: {
      name: "pvc-1",
      finalizers: ["kubernetes.io/pv-protection", LOCAL_PATH_CLEANUP_FINALIZER],
      ...(extra.deleting === false ? {} : { deletionTimestamp: "2026-01-01T00:00:00Z" }),
    },
    spec: {
      persistentVolumeReclaimPolicy: policy,
      hostPath: { path: extra.path ?? `${root}/pvc-1`, type: "DirectoryOrCreate" },
    },
  } as KubeObject;
}

async function run(pv: KubeObject, root: string) {
  const client = new RecordingClient();
  const cleaner = new LocalPathCleaner({
    listers: { volumes: new FakeLister([pv]) },
    client,
    root,
  });
  await cleaner.reconcile("pvc-1");
  return client.bodies("update", "persistentvolumes");
}

const CASES = [
  {
    name: "Delete removes the directory, then the finalizer",
    policy: "Delete",
    gone: true,
    writes: 1,
  },
  {
    name: "Retain keeps the directory and releases the finalizer",
    policy: "Retain",
    gone: false,
    writes: 1,
  },
  {
    name: "a volume not being deleted is left alone",
    policy: "Delete",
    deleting: false,
    gone: false,
    writes: 0,
  },
  {
    name: "a path outside the root is never removed",
    policy: "Delete",
    outside: true,
    gone: false,
    writes: 1,
  },
];

for (const c of CASES) {
  Deno.test(`LocalPathCleaner: ${c.name}`, async () => {
    const root = await Deno.makeTempDir();
    try {
      const dir = c.outside ? `${root}/elsewhere` : `${root}/pvc-1`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/data`, "x");
      const pv = volume(root, c.policy, { path: dir, deleting: c.deleting });
      const writes = await run(pv, root);
      assert.equal(writes.length, c.writes);
      if (c.writes) {
        assert.deepEqual(writes[0].metadata.finalizers, ["kubernetes.io/pv-protection"]);
      }
      const exists = await Deno.stat(dir).then(() => true, () => false);
      assert.equal(exists, !c.gone);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}
