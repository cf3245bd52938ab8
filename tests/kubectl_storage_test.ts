/**
 * The real kubectl on storage: PersistentVolumes, PersistentVolumeClaims and StorageClasses
 * applied from manifests (strict validation against the served OpenAPI), printed by
 * `kubectl get pv,pvc,sc` with Kubernetes' columns, and refused fields reported as 422s.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { startTestCluster } from "./cluster.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl, writeManifest } from "./kubectl_helpers.ts";
import { startTestServer, waitFor } from "./test_utils.ts";

const MANIFESTS = `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: manual-SUFFIX }
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
---
apiVersion: v1
kind: PersistentVolume
metadata: { name: pv-SUFFIX }
spec:
  capacity: { storage: 2Gi }
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: manual-SUFFIX
  hostPath: { path: /srv/pv-SUFFIX }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data-SUFFIX }
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual-SUFFIX
  resources: { requests: { storage: 1Gi } }
`;

Deno.test({
  name: "kubectl applies and prints PersistentVolumes, claims and StorageClasses",
  ignore: !haveKubectl(),
  async fn(t) {
    // No controllers: this test is about the API surface, not binding.
    const server = await startTestServer({ controllers: false });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-" });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const suffix = crypto.randomUUID().slice(0, 6);
    try {
      await t.step("api-resources lists pv, pvc and sc with their short names", async () => {
        const rows = parseTable(await kubectlOk(k, ["api-resources"]));
        const pv = rows.find((r) => r.NAME === "persistentvolumes");
        assert.equal(pv?.SHORTNAMES, "pv");
        assert.equal(pv?.NAMESPACED, "false");
        assert.equal(rows.find((r) => r.NAME === "persistentvolumeclaims")?.SHORTNAMES, "pvc");
        const sc = rows.find((r) => r.NAME === "storageclasses");
        assert.equal(sc?.APIVERSION, "storage.k8s.io/v1");
        assert.equal(sc?.SHORTNAMES, "sc");
      });

      await t.step("apply validates strictly and get prints Kubernetes' columns", async () => {
        const file = await writeManifest(
          cacheDir,
          "storage.yaml",
          MANIFESTS.replaceAll("SUFFIX", suffix),
        );
        await kubectlOk(k, ["apply", "-f", file]);
        const pv = rowNamed(parseTable(await kubectlOk(k, ["get", "pv"])), `pv-${suffix}`);
        assert.equal(pv.CAPACITY, "2Gi");
        assert.equal(pv["ACCESS MODES"], "RWO,ROX");
        assert.equal(pv["RECLAIM POLICY"], "Retain");
        assert.equal(pv.STATUS, "Pending");
        assert.equal(pv.STORAGECLASS, `manual-${suffix}`);
        assert.equal(pv.VOLUMEATTRIBUTESCLASS, "<unset>");
        const pvc = rowNamed(parseTable(await kubectlOk(k, ["get", "pvc"])), `data-${suffix}`);
        assert.equal(pvc.STATUS, "Pending");
        assert.equal(pvc.STORAGECLASS, `manual-${suffix}`);
        const sc = rowNamed(parseTable(await kubectlOk(k, ["get", "sc"])), `manual-${suffix}`);
        assert.equal(sc.PROVISIONER, "kubernetes.io/no-provisioner");
        assert.equal(sc.RECLAIMPOLICY, "Retain");
        assert.equal(sc.VOLUMEBINDINGMODE, "WaitForFirstConsumer");
        assert.equal(sc.ALLOWVOLUMEEXPANSION, "false");
      });

      await t.step("describe pv, pvc and sc", async () => {
        const pvc = await kubectlOk(k, ["describe", "pvc", `data-${suffix}`]);
        assert.match(pvc, new RegExp(`StorageClass:\\s+manual-${suffix}`));
        assert.match(pvc, /Status:\s+Pending/);
        assert.match(pvc, /kubernetes\.io\/pvc-protection/);
        const pv = await kubectlOk(k, ["describe", "pv", `pv-${suffix}`]);
        assert.match(pv, /Reclaim Policy:\s+Retain/);
        assert.match(pv, /Type:\s+HostPath/);
        assert.match(pv, new RegExp(`Path:\\s+/srv/pv-${suffix}`));
        const sc = await kubectlOk(k, ["describe", "sc", `manual-${suffix}`]);
        assert.match(sc, /VolumeBindingMode:\s+WaitForFirstConsumer/);
      });

      await t.step("the status subresource and a refused volume source", async () => {
        await kubectlOk(k, [
          "patch",
          "pv",
          `pv-${suffix}`,
          "--subresource=status",
          "--type=merge",
          "-p",
          '{"status":{"phase":"Available"}}',
        ]);
        const pv = rowNamed(parseTable(await kubectlOk(k, ["get", "pv"])), `pv-${suffix}`);
        assert.equal(pv.STATUS, "Available");
        const nfs = await writeManifest(
          cacheDir,
          "nfs.yaml",
          `
apiVersion: v1
kind: PersistentVolume
metadata: { name: nfs-${suffix} }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteMany]
  nfs: { server: nfs.example, path: /export }
`,
        );
        const r = await kubectl(k, ["apply", "-f", nfs]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /spec\.nfs: Forbidden: nfs volumes are not supported by Skiff/);
      });
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});

const NODES = ["127.0.0.11", "127.0.0.12"];

function claimYaml(name: string, extra = ""): string {
  return `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: ${name} }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 64Mi } }${extra}
`;
}

function podYaml(name: string, claim: string, command: string): string {
  return `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", ${JSON.stringify(command)}]
    volumeMounts: [{ name: data, mountPath: /data }]
  volumes:
  - name: data
    persistentVolumeClaim: { claimName: ${claim} }
`;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test({
  name: "local-path volumes on real agents: data outlives pods, Delete and Retain, pending claims",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: NODES });
    const k = cluster.kubectl;
    const dir = await Deno.makeTempDir({ prefix: "skiff-storage-" });
    const apply = async (name: string, text: string) =>
      await kubectlOk(k, ["apply", "-f", await writeManifest(dir, name, text)]);
    const jsonpath = (args: string[], path: string) =>
      kubectlOk(k, [...args, "-o", `jsonpath=${path}`]);
    const nodeDir = (nodeName: string) => cluster.nodes.find((n) => n.name === nodeName)!.dataDir;
    try {
      await t.step("the default StorageClass is local-path", async () => {
        const sc = rowNamed(parseTable(await kubectlOk(k, ["get", "sc"])), "local-path (default)");
        assert.equal(sc.PROVISIONER, "skiff.io/local-path");
        assert.equal(sc.RECLAIMPOLICY, "Delete");
        assert.equal(sc.VOLUMEBINDINGMODE, "WaitForFirstConsumer");
      });

      let pvName = "";
      let nodeName = "";
      await t.step("a claim waits for its first pod, then binds on the pod's node", async () => {
        await apply("data.yaml", claimYaml("data"));
        const pending = await waitKubectl(
          k,
          ["get", "events", "--field-selector", "involvedObject.name=data"],
          (out) => out.includes("WaitForFirstConsumer"),
        );
        assert.match(pending, /waiting for first consumer to be created before binding/);
        assert.equal(await jsonpath(["get", "pvc", "data"], "{.status.phase}"), "Pending");
        assert.equal(
          await jsonpath(["get", "pvc", "data"], "{.spec.storageClassName}"),
          "local-path",
        );
        await apply(
          "writer.yaml",
          podYaml("writer", "data", "echo persisted > /data/f && sleep 3600"),
        );
        await waitKubectl(
          k,
          ["get", "pod", "writer", "-o", "jsonpath={.status.phase}"],
          (s) => s === "Running",
          { timeoutMs: 60_000 },
        );
        nodeName = await jsonpath(["get", "pod", "writer"], "{.spec.nodeName}");
        pvName = await jsonpath(["get", "pvc", "data"], "{.spec.volumeName}");
        assert.match(pvName, /^pvc-[0-9a-f-]+$/);
        const pvc = rowNamed(parseTable(await kubectlOk(k, ["get", "pvc"])), "data");
        assert.equal(pvc.STATUS, "Bound");
        assert.equal(pvc.VOLUME, pvName);
        assert.equal(pvc.CAPACITY, "64Mi");
        assert.equal(pvc["ACCESS MODES"], "RWO");
        assert.equal(pvc.STORAGECLASS, "local-path");
        const pv = rowNamed(parseTable(await kubectlOk(k, ["get", "pv"])), pvName);
        assert.equal(pv.STATUS, "Bound");
        assert.equal(pv.CLAIM, "default/data");
        assert.equal(pv["RECLAIM POLICY"], "Delete");
        assert.equal(
          await jsonpath(
            ["get", "pvc", "data"],
            "{.metadata.annotations.volume\\.kubernetes\\.io/selected-node}",
          ),
          nodeName,
        );
        const file = `${nodeDir(nodeName)}/storage/${pvName}/f`;
        await waitFor("the pod's file on the node", async () => (await exists(file)) || undefined);
        assert.equal(await Deno.readTextFile(file), "persisted\n");
      });

      await t.step(
        "a new pod on the same claim reads the data back on the volume's node",
        async () => {
          await kubectlOk(k, ["delete", "pod", "writer"]);
          // Ballast on the volume's node makes LeastAllocated prefer the other node: only the
          // volume's node affinity can bring the reader back.
          await apply(
            "ballast.yaml",
            `
apiVersion: v1
kind: Pod
metadata: { name: ballast }
spec:
  nodeName: ${nodeName}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: skiff.local/pause:1
    resources: { requests: { cpu: 500m, memory: 256Mi } }
`,
          );
          await apply("reader.yaml", podYaml("reader", "data", "cat /data/f && sleep 3600"));
          await waitKubectl(k, ["logs", "reader"], (s) => s.includes("persisted"), {
            timeoutMs: 60_000,
          });
          assert.equal(await jsonpath(["get", "pod", "reader"], "{.spec.nodeName}"), nodeName);
        },
      );

      await t.step(
        "a claim in use stays Terminating until its pod is gone; Delete removes the directory",
        async () => {
          await kubectlOk(k, ["delete", "pvc", "data", "--wait=false"]);
          const row = rowNamed(parseTable(await kubectlOk(k, ["get", "pvc"])), "data");
          assert.equal(row.STATUS, "Terminating");
          assert.ok(await exists(`${nodeDir(nodeName)}/storage/${pvName}`));
          await kubectlOk(k, ["delete", "pod", "reader"]);
          await waitKubectl(
            k,
            ["get", "pvc,pv", "-o", "name"],
            (s) => !s.includes("persistentvolumeclaim/data") && !s.includes(pvName),
            { timeoutMs: 60_000 },
          );
          await waitFor(
            "the volume's directory removed",
            async () => !(await exists(`${nodeDir(nodeName)}/storage/${pvName}`)) || undefined,
          );
        },
      );

      await t.step("Retain keeps the directory and the volume goes Released", async () => {
        await apply(
          "retain.yaml",
          `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: local-retain }
provisioner: skiff.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
` + "---" + claimYaml("kept", "\n  storageClassName: local-retain") + "---" +
            podYaml("keeper", "kept", "echo kept > /data/f && sleep 3600"),
        );
        await waitKubectl(
          k,
          ["get", "pod", "keeper", "-o", "jsonpath={.status.phase}"],
          (s) => s === "Running",
          { timeoutMs: 60_000 },
        );
        const node = await jsonpath(["get", "pod", "keeper"], "{.spec.nodeName}");
        const pv = await jsonpath(["get", "pvc", "kept"], "{.spec.volumeName}");
        const file = `${nodeDir(node)}/storage/${pv}/f`;
        await waitFor("the file on the node", async () => (await exists(file)) || undefined);
        await kubectlOk(k, ["delete", "pod", "keeper"]);
        await kubectlOk(k, ["delete", "pvc", "kept"]);
        await waitKubectl(
          k,
          ["get", "pv", pv, "-o", "jsonpath={.status.phase}"],
          (s) => s === "Released",
        );
        assert.equal(await Deno.readTextFile(file), "kept\n");
        await kubectlOk(k, ["delete", "pv", pv]);
        assert.equal(await Deno.readTextFile(file), "kept\n");
      });

      await t.step(
        "pods whose claims cannot bind stay Pending with the scheduler's message",
        async () => {
          await apply(
            "pending.yaml",
            `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: nas }
provisioner: example.com/nas
volumeBindingMode: Immediate
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: local-static }
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
` + "---" + claimYaml("nas-claim", "\n  storageClassName: nas") + "---" +
              claimYaml("static-claim", "\n  storageClassName: local-static") + "---" +
              podYaml("nas-pod", "nas-claim", "sleep 3600") + "---" +
              podYaml("static-pod", "static-claim", "sleep 3600"),
          );
          const cond = '{.status.conditions[?(@.type=="PodScheduled")].message}';
          await waitKubectl(
            k,
            ["get", "pod", "nas-pod", "-o", `jsonpath=${cond}`],
            (s) =>
              s === "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
          );
          await waitKubectl(k, ["get", "pod", "static-pod", "-o", `jsonpath=${cond}`], (s) =>
            s ===
              "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind.");
          assert.equal(await jsonpath(["get", "pod", "nas-pod"], "{.status.phase}"), "Pending");
          assert.equal(await jsonpath(["get", "pod", "nas-pod"], "{.spec.nodeName}"), "");
        },
      );
    } finally {
      await kubectl(k, ["delete", "pod", "--all", "--wait=false"]);
      await cluster.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
