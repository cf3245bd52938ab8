/**
 * The real kubectl against the API server's schemas: `apply` builds its strategic merge patches
 * from our OpenAPI v3 document (no fallback warning), `fieldValidation=Strict` refuses unknown
 * fields with kubectl's usual message, `--validate=false` drops them, invalid objects are
 * reported field by field, and `kubectl explain` reads the generated schemas.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { startTestServer } from "./test_utils.ts";

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { app: web }
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
        ports: [{ containerPort: 80 }]
        env:
        - { name: A, value: "1" }
        - { name: B, value: "2" }
        resources:
          limits: { cpu: 500m, memory: 64Mi }
        securityContext:
          capabilities: { add: [NET_ADMIN] }
      - name: side
        image: skiff.local/busybox:1
        command: ["sleep", "3600"]
`;

const CHANGED = DEPLOYMENT.slice(0, DEPLOYMENT.indexOf("      - name: side"))
  .replace("replicas: 2", "replicas: 4")
  .replace(`        - { name: B, value: "2" }\n`, "")
  .replace("NET_ADMIN", "NET_RAW");

const UNKNOWN = `
apiVersion: v1
kind: Pod
metadata:
  name: strict
spec:
  foo: bar
  containers:
  - name: c
    image: skiff.local/busybox:1
    colour: blue
`;

const INVALID = `
apiVersion: v1
kind: Pod
metadata:
  name: Bad_Name
spec:
  restartPolicy: Sometimes
  containers:
  - name: c
    ports: [{ containerPort: 70000 }]
`;

Deno.test({
  name: "kubectl apply, strict field validation and explain work from the generated schemas",
  ignore: !haveKubectl(),
  async fn() {
    const server = await startTestServer({ controllers: false });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-schema-" });
    const cluster = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const file = (name: string, text: string) => {
      const path = `${cacheDir}/${name}`;
      Deno.writeTextFileSync(path, text);
      return path;
    };
    try {
      const first = await kubectl(cluster, ["apply", "-f", file("v1.yaml", DEPLOYMENT)]);
      assert.equal(first.code, 0, first.stderr);
      const second = await kubectl(cluster, ["apply", "-f", file("v2.yaml", CHANGED)]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /deployment.apps\/web configured/);
      assert.doesNotMatch(second.stderr, /openapi/i, "the v3 schemas served for the patch");
      const got = await kubectl(cluster, ["get", "deploy", "web", "-o", "json"]);
      const d = JSON.parse(got.stdout);
      assert.equal(d.spec.replicas, 4);
      const containers = d.spec.template.spec.containers;
      assert.deepEqual(containers.map((c: { name: string }) => c.name), ["web"]);
      assert.deepEqual(containers[0].env, [{ name: "A", value: "1" }]);
      assert.deepEqual(containers[0].securityContext, { capabilities: { add: ["NET_RAW"] } });

      const strict = await kubectl(cluster, ["apply", "-f", file("unknown.yaml", UNKNOWN)]);
      assert.equal(strict.code, 1);
      assert.match(
        strict.stderr,
        /Error from server \(BadRequest\): .*Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers\[0\].colour", unknown field "spec.foo"/,
      );
      const lenient = await kubectl(cluster, [
        "create",
        "-f",
        `${cacheDir}/unknown.yaml`,
        "--validate=false",
      ]);
      assert.equal(lenient.code, 0, lenient.stderr);
      const pod = JSON.parse(
        (await kubectl(cluster, ["get", "pod", "strict", "-o", "json"])).stdout,
      );
      assert.equal(pod.spec.foo, undefined);
      assert.equal(pod.spec.containers[0].colour, undefined);

      const invalid = await kubectl(cluster, ["create", "-f", file("invalid.yaml", INVALID)]);
      assert.equal(invalid.code, 1);
      assert.match(invalid.stderr, /The Pod "Bad_Name" is invalid:/);
      assert.match(invalid.stderr, /spec\.restartPolicy: Unsupported value: "Sometimes"/);
      assert.match(
        invalid.stderr,
        /metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123/,
      );
      assert.match(invalid.stderr, /spec\.containers\[0\]\.image: Required value/);
      assert.match(
        invalid.stderr,
        /spec\.containers\[0\]\.ports\[0\]\.containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive/,
      );

      const explain = await kubectl(cluster, ["explain", "deployment.spec.strategy"]);
      assert.equal(explain.code, 0, explain.stderr);
      assert.match(explain.stdout, /enum: RollingUpdate, Recreate/);
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
