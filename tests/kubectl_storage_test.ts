/**
 * The real kubectl on storage: PersistentVolumes, PersistentVolumeClaims and StorageClasses
 * applied from manifests (strict validation against the served OpenAPI), printed by
 * `kubectl get pv,pvc,sc` with Kubernetes' columns, and refused fields reported as 422s.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, writeManifest } from "./kubectl_helpers.ts";
import { startTestServer } from "./test_utils.ts";

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
