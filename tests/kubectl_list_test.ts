/**
 * The real kubectl and `/openapi/v2`: kubectl validates `kind: List` files (what `kubectl get …
 * -o yaml` writes) on the client against the v2 document, in protobuf. A List is created, an
 * unknown field inside it is refused with kubectl's own message, and a `get -o yaml` → `delete
 * -f` → `apply -f` round trip recreates the objects.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk } from "./kubectl_helpers.ts";
import { startTestServer } from "./test_utils.ts";

const LIST = `
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: { name: one, labels: { rt: "yes" } }
  data: { a: "1" }
- apiVersion: apps/v1
  kind: Deployment
  metadata: { name: web, labels: { rt: "yes" } }
  spec:
    replicas: 1
    selector: { matchLabels: { app: web } }
    template:
      metadata: { labels: { app: web } }
      spec:
        containers:
        - name: web
          image: skiff.local/busybox:1
          ports: [{ containerPort: 8000, name: http }]
- apiVersion: v1
  kind: Service
  metadata: { name: web, labels: { rt: "yes" } }
  spec:
    selector: { app: web }
    ports: [{ port: 80, targetPort: http }]
`;

const UNKNOWN_IN_LIST = `
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: { name: two }
  dataa: { a: "1" }
`;

Deno.test({
  name: "kubectl creates kind: List files and round-trips get -o yaml, validating against v2",
  ignore: !haveKubectl(),
  async fn() {
    const server = await startTestServer({ controllers: false });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-list-" });
    const cluster = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const file = (name: string, text: string) => {
      const path = `${cacheDir}/${name}`;
      Deno.writeTextFileSync(path, text);
      return path;
    };
    try {
      const created = await kubectl(cluster, ["create", "-f", file("list.yaml", LIST), "-v=6"]);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stderr, /GET https:\/\/\S+\/openapi\/v2\?timeout=\d+s 200 OK/);
      assert.match(created.stdout, /configmap\/one created/);
      assert.match(created.stdout, /deployment.apps\/web created/);
      assert.match(created.stdout, /service\/web created/);

      const unknown = await kubectl(cluster, ["create", "-f", file("bad.yaml", UNKNOWN_IN_LIST)]);
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /error validating data: ValidationError\(ConfigMap\): unknown field "dataa" in io\.k8s\.api\.core\.v1\.ConfigMap/,
      );
      const none = await kubectl(cluster, ["get", "configmap", "two"]);
      assert.equal(none.code, 1, "nothing was created from the invalid list");

      const yaml = await kubectlOk(cluster, ["get", "deploy,svc,cm", "-l", "rt=yes", "-o", "yaml"]);
      const dump = file("dump.yaml", yaml);
      await kubectlOk(cluster, ["delete", "-f", dump]);
      const gone = await kubectl(cluster, ["get", "deploy", "web"]);
      assert.equal(gone.code, 1);
      const applied = await kubectlOk(cluster, ["apply", "-f", dump]);
      assert.match(applied, /deployment.apps\/web created/);
      assert.match(applied, /service\/web created/);
      assert.match(applied, /configmap\/one created/);
      const svc = JSON.parse(await kubectlOk(cluster, ["get", "svc", "web", "-o", "json"]));
      assert.equal(svc.spec.ports[0].targetPort, "http");
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

Deno.test("/openapi/v2 serves protobuf or JSON by Accept, with an ETag that answers 304", async () => {
  const server = await startTestServer({ controllers: false });
  try {
    const get = (headers: Record<string, string>) =>
      fetch(`${server.url}/openapi/v2`, {
        headers: { authorization: `Bearer ${server.token}`, ...headers },
        client: server.httpClient,
      });
    const pb = await get({ accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" });
    assert.equal(pb.status, 200);
    assert.equal(
      pb.headers.get("content-type"),
      "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    );
    const etag = pb.headers.get("etag")!;
    assert.ok((await pb.arrayBuffer()).byteLength > 10_000);
    const again = await get({
      accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
      "if-none-match": etag,
    });
    assert.equal(again.status, 304);
    await again.body?.cancel();
    const json = await get({ accept: "application/json" });
    assert.equal(json.headers.get("content-type"), "application/json");
    const doc = await json.json();
    assert.equal(doc.swagger, "2.0");
    assert.ok(doc.definitions["io.k8s.api.apps.v1.Deployment"]);
    const anonymous = await fetch(`${server.url}/openapi/v2`, { client: server.httpClient });
    assert.equal(anonymous.status, 401, "behind authentication like every API path");
    await anonymous.body?.cancel();
  } finally {
    await server.stop();
  }
});
