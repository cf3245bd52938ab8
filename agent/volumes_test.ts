/** Tests of pod volumes on disk: projection of ConfigMaps/Secrets, emptyDirs, binds, cleanup. */

import assert from "node:assert/strict";
import type { KeyValueSource, Pod } from "./pod_types.ts";
import type { KubeObject } from "../shared/api/object.ts";
import {
  absolute,
  checkHostPathType,
  claimVolumePath,
  podDir,
  preparePodVolumes,
  removePodDir,
  volumeBinds,
} from "./volumes.ts";

const reader = {
  getConfigMap: (_ns: string, name: string): Promise<KeyValueSource | undefined> =>
    Promise.resolve(
      name === "cfg" ? { metadata: { name }, data: { a: "1", b: "2" } } : undefined,
    ),
  getSecret: (_ns: string, name: string): Promise<KeyValueSource | undefined> =>
    Promise.resolve(
      name === "sec" ? { metadata: { name }, data: { pw: btoa("s3cret") } } : undefined,
    ),
  getPersistentVolumeClaim: (_ns: string, _name: string) => Promise.resolve(undefined),
  getPersistentVolume: (_name: string) => Promise.resolve(undefined),
};

Deno.test("absolute() makes clean absolute paths", () => {
  assert.equal(absolute("/a/b/../c/"), "/a/c");
  assert.equal(absolute("x/./y"), `${Deno.cwd()}/x/y`);
});

Deno.test("preparePodVolumes() projects ConfigMaps and Secrets, makes emptyDirs, and binds them", async () => {
  const dataDir = await Deno.makeTempDir();
  const pod: Pod = {
    metadata: { name: "p", namespace: "d", uid: "uid-1" },
    spec: {
      containers: [],
      volumes: [
        { name: "conf", configMap: { name: "cfg", items: [{ key: "b", path: "sub/b.txt" }] } },
        { name: "creds", secret: { secretName: "sec" } },
        { name: "scratch", emptyDir: {} },
      ],
    },
  };
  try {
    const vols = await preparePodVolumes(pod, { dataDir, reader });
    const conf = vols.get("conf")!;
    assert.equal(conf.readOnly, true);
    assert.equal(await Deno.readTextFile(`${conf.path}/sub/b.txt`), "2");
    await assert.rejects(() => Deno.stat(`${conf.path}/a`), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(`${vols.get("creds")!.path}/pw`), "s3cret");
    const scratch = vols.get("scratch")!;
    assert.equal(scratch.readOnly, false);
    assert.equal((await Deno.stat(scratch.path)).mode! & 0o777, 0o777);
    assert.deepEqual(
      volumeBinds({
        name: "c",
        volumeMounts: [
          { name: "conf", mountPath: "/etc/conf" },
          { name: "scratch", mountPath: "/tmp/s", subPath: "x" },
          { name: "conf", mountPath: "/etc/b.txt", subPath: "sub/b.txt" },
        ],
      }, vols),
      [
        `${conf.path}:/etc/conf:ro`,
        `${scratch.path}/x:/tmp/s`,
        // A subPath of an atomic volume binds the current file itself, not the symlink.
        `${await Deno.realPath(`${conf.path}/..data`)}/sub/b.txt:/etc/b.txt:ro`,
      ],
    );
    await removePodDir(dataDir, "uid-1");
    await assert.rejects(() => Deno.stat(podDir(dataDir, "uid-1")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("preparePodVolumes() gives fsGroup volumes to the group and leaves hostPath alone", async () => {
  const dataDir = await Deno.makeTempDir();
  const host = await Deno.makeTempDir();
  const local = await Deno.makeTempDir();
  const pod: Pod = {
    metadata: { name: "p", namespace: "d", uid: "uid-fs" },
    spec: {
      securityContext: { fsGroup: 1001 },
      containers: [],
      volumes: [
        { name: "creds", secret: { secretName: "sec", defaultMode: 0o400 } },
        { name: "scratch", emptyDir: {} },
        { name: "host", hostPath: { path: host } },
        { name: "data", persistentVolumeClaim: { claimName: "data" } },
      ],
    },
  };
  const claim = {
    metadata: { name: "data", namespace: "d", uid: "c-fs" },
    spec: { volumeName: "pv-local" },
    status: { phase: "Bound" },
  };
  const volume = {
    metadata: { name: "pv-local" },
    spec: { claimRef: { uid: "c-fs" }, local: { path: local } },
  };
  const stat = async (path: string) => {
    const info = await Deno.stat(path);
    return [((info.mode ?? 0) & 0o7777).toString(8), info.gid];
  };
  try {
    await Deno.chmod(host, 0o700);
    await Deno.chmod(local, 0o700);
    const vols = await preparePodVolumes(pod, { dataDir, reader: claimReader(claim, volume) });
    // emptyDir: writable by all, the group's, setgid.
    assert.deepEqual(await stat(vols.get("scratch")!.path), ["2777", 1001]);
    // Secret: the 0400 file gets group read; the volume's directories are the group's.
    const creds = vols.get("creds")!.path;
    assert.deepEqual(await stat(`${creds}/pw`), ["440", 1001]);
    assert.deepEqual(await stat(creds), ["2755", 1001]);
    assert.deepEqual(await stat(`${creds}/..data`), ["2755", 1001]);
    // A local volume is the group's (rw); a hostPath is not touched.
    assert.deepEqual(await stat(local), ["2770", 1001]);
    assert.deepEqual(await stat(host), ["700", 0]);
    // Preparing again (every sync) changes nothing.
    await preparePodVolumes(pod, { dataDir, reader: claimReader(claim, volume) });
    assert.deepEqual(await stat(vols.get("scratch")!.path), ["2777", 1001]);
    assert.deepEqual(await stat(`${creds}/pw`), ["440", 1001]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(host, { recursive: true });
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("volumeBinds() maps mountPropagation to Docker's rslave and rshared", () => {
  const vols = new Map([["h", { path: "/srv", readOnly: false }]]);
  assert.deepEqual(
    volumeBinds({
      name: "c",
      volumeMounts: [
        { name: "h", mountPath: "/a", mountPropagation: "None" },
        { name: "h", mountPath: "/b", mountPropagation: "HostToContainer", readOnly: true },
        { name: "h", mountPath: "/c", mountPropagation: "Bidirectional" },
      ],
    }, vols),
    ["/srv:/a", "/srv:/b:ro,rslave", "/srv:/c:rshared"],
  );
  assert.throws(
    () =>
      volumeBinds({
        name: "c",
        volumeMounts: [{ name: "h", mountPath: "/d", mountPropagation: "x" }],
      }, vols),
    /unsupported mountPropagation "x"/,
  );
});

Deno.test("preparePodVolumes() names the volume when its ConfigMap is missing", async () => {
  const dataDir = await Deno.makeTempDir();
  const pod: Pod = {
    metadata: { name: "p", namespace: "d", uid: "uid-2" },
    spec: { containers: [], volumes: [{ name: "conf", configMap: { name: "nope" } }] },
  };
  try {
    await assert.rejects(
      () => preparePodVolumes(pod, { dataDir, reader }),
      /^Error: MountVolume.SetUp failed for volume "conf": configmap "nope" not found$/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("checkHostPathType() creates what *OrCreate names and checks every type as the kubelet does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await checkHostPathType(`${dir}/made/deep`, "DirectoryOrCreate");
    assert((await Deno.stat(`${dir}/made/deep`)).isDirectory);
    await checkHostPathType(`${dir}/f`, "FileOrCreate");
    assert((await Deno.stat(`${dir}/f`)).isFile);
    await checkHostPathType(dir, "Directory");
    await checkHostPathType(`${dir}/f`, "File");
    await checkHostPathType("/dev/null", "CharDevice");
    await checkHostPathType(`${dir}/missing`, "");
    const cases: [string, string, string][] = [
      [`${dir}/f`, "Directory", "a directory"],
      [`${dir}/f`, "DirectoryOrCreate", "a directory"],
      [dir, "File", "a file"],
      [`${dir}/missing`, "File", "a file"],
      [dir, "Socket", "a socket file"],
      [dir, "CharDevice", "a character device"],
      [dir, "BlockDevice", "a block device"],
    ];
    for (const [path, type, what] of cases) {
      await assert.rejects(() => checkHostPathType(path, type), {
        message: `hostPath type check failed: ${path} is not ${what}`,
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
function claimReader(claim: KubeObject | undefined, volume: KubeObject | undefined) {
  return {
    ...reader,
    getPersistentVolumeClaim: () => Promise.resolve(claim),
    getPersistentVolume: () => Promise.resolve(volume),
  };
}

Deno.test("a persistentVolumeClaim volume is its bound volume's directory, created on mount", async () => {
  const dataDir = await Deno.makeTempDir();
  const path = `${dataDir}/storage/pvc-1`;
  const claim = {
    metadata: { name: "data", namespace: "d", uid: "c-1" },
    spec: { volumeName: "pvc-1" },
    status: { phase: "Bound" },
  };
  const volume = {
    metadata: { name: "pvc-1" },
    spec: { claimRef: { uid: "c-1" }, hostPath: { path, type: "DirectoryOrCreate" } },
  };
  const pod: Pod = {
    metadata: { name: "p", namespace: "d", uid: "uid-2" },
    spec: {
      containers: [],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data", readOnly: true } }],
    },
  };
  try {
    const vols = await preparePodVolumes(pod, { dataDir, reader: claimReader(claim, volume) });
    assert.deepEqual(vols.get("data"), { path, readOnly: true });
    assert.equal((await Deno.stat(path)).isDirectory, true);
    // The claim's data is not the pod's: removing the pod's directory keeps it.
    await removePodDir(dataDir, "uid-2");
    assert.equal((await Deno.stat(path)).isDirectory, true);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a claim that is not bound, or whose volume names another claim, is not mounted", async () => {
  const pending = {
    metadata: { name: "data", uid: "c-1" },
    spec: {},
    status: { phase: "Pending" },
  };
  await assert.rejects(
    () => claimVolumePath("d", "data", claimReader(pending, undefined)),
    /PVC d\/data has non-bound phase \("Pending"\) or empty pvc.Spec.VolumeName \(""\)/,
  );
  const bound = {
    metadata: { name: "data", uid: "c-1" },
    spec: { volumeName: "pv" },
    status: { phase: "Bound" },
  };
  const other = {
    metadata: { name: "pv" },
    spec: { claimRef: { uid: "c-9" }, hostPath: { path: "/x" } },
  };
  await assert.rejects(
    () => claimVolumePath("d", "data", claimReader(bound, other)),
    /persistentvolume "pv" is not bound to claim "data"/,
  );
  await assert.rejects(
    () => claimVolumePath("d", "gone", claimReader(undefined, undefined)),
    /persistentvolumeclaim "gone" not found/,
  );
});
