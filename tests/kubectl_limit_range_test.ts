/**
 * LimitRanges with the real kubectl: the documentation's default and bounds examples applied as
 * written, kubectl's columns and `describe`, containers given default requests and limits (with
 * the `kubernetes.io/limit-ranger` annotation and a QoS class to match), and pods and claims
 * outside the bounds refused with LimitRanger's messages; invalid LimitRanges refused as
 * kube-apiserver refuses them.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed } from "./kubectl_helpers.ts";
import { startTestServer } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** https://kubernetes.io/docs/tasks/administer-cluster/manage-resources/ (defaults and bounds). */
const LIMITS = `
apiVersion: v1
kind: LimitRange
metadata:
  name: cpu-mem
spec:
  limits:
  - type: Container
    default:
      memory: 512Mi
      cpu: "1"
    defaultRequest:
      memory: 256Mi
    max:
      cpu: "2"
    min:
      cpu: 100m
    maxLimitRequestRatio:
      cpu: "4"
  - type: Pod
    max:
      memory: 1Gi
  - type: PersistentVolumeClaim
    min:
      storage: 1Gi
    max:
      storage: 2Gi
`;

const pod = (name: string, resources: Json, containers = 1) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      containers: Array.from({ length: containers }, (_, i) => ({
        name: `c${i}`,
        image: "busybox",
        resources,
      })),
    },
  });

Deno.test({
  name: "LimitRanges default containers' resources and refuse pods and claims outside their bounds",
  ignore: !haveKubectl(),
  async fn() {
    const server = await startTestServer({ controllers: false });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-limits-kubectl-" });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    try {
      assert.equal(
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: LIMITS }),
        "limitrange/cpu-mem created\n",
      );
      const rows = parseTable(await kubectlOk(k, ["get", "limits"]));
      assert.deepEqual(Object.keys(rowNamed(rows, "cpu-mem")), ["NAME", "CREATED AT"]);
      const stored: Json = JSON.parse(
        await kubectlOk(k, ["get", "limitrange", "cpu-mem", "-o", "json"]),
      );
      // kube-apiserver's defaults: a default request from the default limit where none is given.
      assert.deepEqual(stored.spec.limits[0].defaultRequest, { memory: "256Mi", cpu: "1" });
      const described = await kubectlOk(k, ["describe", "limitrange", "cpu-mem"]);
      assert.match(described, /Container\s+cpu\s+100m\s+2\s+1\s+1\s+4/);

      // A container without resources gets the defaults, noted as LimitRanger notes them.
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: pod("plain", {}) });
      const plain: Json = JSON.parse(await kubectlOk(k, ["get", "pod", "plain", "-o", "json"]));
      assert.deepEqual(plain.spec.containers[0].resources, {
        limits: { memory: "512Mi", cpu: "1" },
        requests: { memory: "256Mi", cpu: "1" },
      });
      assert.equal(
        plain.metadata.annotations["kubernetes.io/limit-ranger"],
        "LimitRanger plugin set: cpu, memory request for container c0; cpu, memory limit for container c0",
      );
      assert.equal(plain.status.qosClass, "Burstable");

      // Outside the bounds: refused (403) with LimitRanger's words.
      const refused = async (name: string, manifest: string) => {
        const r = await kubectl(k, ["apply", "-f", "-"], { stdin: manifest });
        assert.notEqual(r.code, 0, `${name} was accepted`);
        return r.stderr;
      };
      assert.match(
        await refused("small", pod("small", { requests: { cpu: "50m" }, limits: { cpu: "100m" } })),
        /pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m/,
      );
      assert.match(
        await refused("big", pod("big", { requests: { cpu: "1" }, limits: { cpu: "3" } })),
        /pods "big" is forbidden: maximum cpu usage per Container is 2, but limit is 3/,
      );
      assert.match(
        await refused("ratio", pod("ratio", { requests: { cpu: "200m" }, limits: { cpu: "2" } })),
        /cpu max limit to request ratio per Container is 4, but provided ratio is 10\.000000/,
      );
      // Three containers of 512Mi limit each: the pod's 1536Mi is over the Pod max of 1Gi.
      assert.match(
        await refused("many", pod("many", {}, 3)),
        /pods "many" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1536Mi/,
      );
      const claim = (name: string, size: string) =>
        JSON.stringify({
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
        });
      assert.match(
        await refused("tiny", claim("tiny", "500Mi")),
        /persistentvolumeclaims "tiny" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi/,
      );
      await kubectlOk(k, ["apply", "-f", "-"], { stdin: claim("fits", "1Gi") });

      // An invalid LimitRange is refused as kube-apiserver refuses it.
      const bad = await kubectl(k, ["apply", "-f", "-"], {
        stdin: `apiVersion: v1
kind: LimitRange
metadata: {name: bad}
spec:
  limits:
  - type: Container
    min: {cpu: "2"}
    max: {cpu: "1"}
  - type: Pod
    default: {cpu: "1"}
`,
      });
      assert.notEqual(bad.code, 0);
      assert.match(
        bad.stderr,
        /spec\.limits\[0\]\.min\[cpu\]: Invalid value: "2": min value 2 is greater than max value 1/,
      );
      assert.match(
        bad.stderr,
        /spec\.limits\[1\]\.default: Forbidden: may not be specified when `type` is 'Pod'/,
      );
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
