/**
 * The real kubectl against a real Skiff API server using the kubeconfig the server wrote:
 * get, create -f and delete of pods, services and deployments (nothing runs them here).
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { startTestServer } from "./test_utils.ts";

const MANIFEST = `
apiVersion: v1
kind: Pod
metadata:
  name: hello
  labels: { app: hello }
spec:
  containers:
  - name: hello
    image: skiff.local/busybox:1
    command: ["sleep", "3600"]
    resources:
      requests: { cpu: 100m, memory: 64Mi }
---
apiVersion: v1
kind: Service
metadata:
  name: hello
spec:
  selector: { app: hello }
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
      - name: web
        image: skiff.local/busybox:1
`;

Deno.test({
  name: "kubectl get, create -f and delete pods, services and deployments",
  ignore: !haveKubectl(),
  async fn() {
    const server = await startTestServer({ controllers: false });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-" });
    const cluster = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    try {
      const file = `${cacheDir}/app.yaml`;
      await Deno.writeTextFile(file, MANIFEST);
      const created = await kubectl(cluster, ["create", "-f", file]);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /pod\/hello created/);
      assert.match(created.stdout, /service\/hello created/);
      assert.match(created.stdout, /deployment.apps\/web created/);

      const pods = await kubectl(cluster, ["get", "pods"]);
      assert.equal(pods.code, 0, pods.stderr);
      assert.match(pods.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/m);
      assert.match(pods.stdout, /^hello\s+0\/1\s+Pending\s+0\s+/m);

      const svc = await kubectl(cluster, ["get", "svc", "hello", "-o", "json"]);
      assert.equal(svc.code, 0, svc.stderr);
      const svcObj = JSON.parse(svc.stdout);
      assert.match(svcObj.spec.clusterIP, /^127\.43\./);
      assert.equal(svcObj.spec.ports[0].targetPort, 8080);

      const deploy = await kubectl(cluster, [
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
      ]);
      assert.equal(deploy.stdout, "2");

      const names = await kubectl(cluster, ["get", "pods,svc,deploy", "-o", "name"]);
      assert.match(names.stdout, /pod\/hello/);
      assert.match(names.stdout, /service\/hello/);
      assert.match(names.stdout, /deployment.apps\/web/);

      const missing = await kubectl(cluster, ["get", "pod", "nope"]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /pods "nope" not found/);

      const deleted = await kubectl(cluster, ["delete", "-f", file]);
      assert.equal(deleted.code, 0, deleted.stderr);
      const after = await kubectl(cluster, ["get", "pods,svc,deploy", "-o", "name"]);
      assert.doesNotMatch(after.stdout, /hello|web/);
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
