/** Tests of local-storage limits: what a pod sets, the kubelet's verdicts, and `du`-like usage. */
import assert from "node:assert/strict";
import { diskUsage, storageLimitsOf, storageVerdict } from "./local_storage.ts";
import { memoryVolumeSize } from "./memory_volume.ts";
import type { Pod } from "./pod_types.ts";

const MI = 2 ** 20;

function pod(spec: Partial<Pod["spec"]>): Pod {
  return {
    metadata: { name: "p", namespace: "default", uid: "u" },
    spec: { containers: [{ name: "app", image: "x" }], ...spec },
  } as Pod;
}

const limited = (name: string, limit?: string, memory?: string) => ({
  name,
  image: "x",
  resources: {
    limits: {
      ...(limit ? { "ephemeral-storage": limit } : {}),
      ...(memory ? { memory } : {}),
    },
  },
});

Deno.test("storageLimitsOf() reads sizeLimits of disk emptyDirs and containers' ephemeral-storage limits", () => {
  assert.equal(storageLimitsOf(pod({})), undefined, "nothing set: nothing to measure");
  assert.equal(
    storageLimitsOf(
      pod({ volumes: [{ name: "m", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }] }),
    ),
    undefined,
    "a memory-backed emptyDir is a tmpfs of its size, not measured here",
  );
  const l = storageLimitsOf(pod({
    volumes: [{ name: "d", emptyDir: { sizeLimit: "5Mi" } }],
    containers: [limited("a", "1Gi"), limited("b"), limited("c", "512Mi")],
    initContainers: [limited("i", "2Gi")],
  }))!;
  assert.deepEqual(l.emptyDirs, [{ name: "d", bytes: 5 * MI, text: "5Mi" }]);
  assert.deepEqual(l.containers.map((c) => c.name), ["i", "a", "c"]);
  // The pod's total: app containers summed (1.5Gi), or the largest init container's (2Gi).
  assert.deepEqual(l.pod, { bytes: 2 * 1024 * MI, text: "2Gi" });
  const sum = storageLimitsOf(pod({ containers: [limited("a", "1Gi"), limited("c", "512Mi")] }))!;
  assert.deepEqual(sum.pod, { bytes: 1536 * MI, text: "1536Mi" });
  assert.equal(
    storageLimitsOf(pod({ volumes: [{ name: "d", emptyDir: { sizeLimit: "1Mi" } }] }))!.pod,
    undefined,
  );
});

Deno.test("storageVerdict() checks emptyDirs, then the pod's total, then each container", () => {
  const limits = storageLimitsOf(pod({
    volumes: [{ name: "d", emptyDir: { sizeLimit: "4Mi" } }],
    containers: [limited("a", "4Mi"), limited("b", "10Mi")],
  }))!;
  const usage = (d: number, a: number, b: number) => ({
    emptyDirs: new Map([["d", d * MI]]),
    containers: new Map([["a", a * MI], ["b", b * MI]]),
  });
  assert.equal(storageVerdict(limits, usage(4, 4, 6)), undefined, "at the limits is within them");
  assert.equal(
    storageVerdict(limits, usage(5, 20, 0)),
    'Usage of EmptyDir volume "d" exceeds the limit "4Mi". ',
  );
  assert.equal(
    storageVerdict(limits, usage(4, 4, 7)),
    "Pod ephemeral local storage usage exceeds the total limit of containers 14Mi. ",
  );
  assert.equal(
    storageVerdict(limits, usage(0, 5, 0)),
    'Container a exceeded its local ephemeral storage limit "4Mi". ',
  );
});

Deno.test("memoryVolumeSize() is the node's memory, lowered to the pod's memory limit and the sizeLimit", () => {
  const node = 1024 * MI;
  assert.equal(memoryVolumeSize(pod({}), undefined, node), node);
  assert.equal(memoryVolumeSize(pod({}), "64Mi", node), 64 * MI);
  assert.equal(memoryVolumeSize(pod({}), "4Gi", node), node, "never above what the pod could use");
  const limitedPod = pod({
    containers: [limited("a", undefined, "100Mi"), limited("b", undefined, "28Mi")],
  });
  assert.equal(memoryVolumeSize(limitedPod, undefined, node), 128 * MI);
  assert.equal(memoryVolumeSize(limitedPod, "256Mi", node), 128 * MI);
  assert.equal(memoryVolumeSize(limitedPod, "8Mi", node), 8 * MI);
  // One container without a memory limit leaves the pod unbounded.
  const open = pod({ containers: [limited("a", undefined, "100Mi"), limited("b")] });
  assert.equal(memoryVolumeSize(open, undefined, node), node);
});

Deno.test("diskUsage() counts allocated blocks under a directory, hard links once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await diskUsage(`${dir}/missing`), 0);
    const empty = await diskUsage(dir);
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeFile(`${dir}/sub/f`, new Uint8Array(MI).fill(1));
    await Deno.link(`${dir}/sub/f`, `${dir}/g`);
    // A sparse file holds only what was written.
    const sparse = await Deno.open(`${dir}/sparse`, { write: true, create: true });
    await sparse.truncate(64 * MI);
    sparse.close();
    const used = await diskUsage(dir);
    assert(used >= empty + MI, `${used} counts the 1 MiB file`);
    assert(
      used < empty + 2 * MI,
      `${used} counts the linked file once and the sparse one as empty`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
