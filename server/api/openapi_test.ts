import assert from "node:assert/strict";
import { openApiGroupVersion, openApiRoot } from "./openapi.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("openApiRoot() lists every served group-version with a hashed URL", () => {
  const root = openApiRoot() as Any;
  for (const key of ["api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1"]) {
    assert.match(
      root.paths[key].serverRelativeURL,
      new RegExp(`^/openapi/v3/${key}\\?hash=[0-9A-F]{16}$`),
    );
  }
  assert.equal(openApiRoot(), root, "generated once");
});

Deno.test("openApiGroupVersion() resolves keys with or without a slash or query", () => {
  assert.ok(openApiGroupVersion("apis/apps/v1"));
  assert.equal(openApiGroupVersion("/apis/apps/v1?hash=X"), openApiGroupVersion("apis/apps/v1"));
  assert.equal(openApiGroupVersion("apis/nope/v1"), undefined);
});

Deno.test("every object PATCH carries the GVK, fieldValidation and the four patch types", () => {
  for (
    const [gv, kind, path] of [
      ["apis/apps/v1", "Deployment", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"],
      ["api/v1", "Pod", "/api/v1/namespaces/{namespace}/pods/{name}"],
      ["api/v1", "Service", "/api/v1/namespaces/{namespace}/services/{name}"],
      ["api/v1", "Node", "/api/v1/nodes/{name}"],
      ["api/v1", "ConfigMap", "/api/v1/namespaces/{namespace}/configmaps/{name}"],
    ]
  ) {
    const doc = openApiGroupVersion(gv) as Any;
    const patch = doc.paths[path]?.patch;
    assert.ok(patch, path);
    assert.equal(patch["x-kubernetes-group-version-kind"].kind, kind);
    const names = patch.parameters.map((p: Any) => p.name);
    for (const n of ["fieldValidation", "dryRun", "fieldManager"]) assert.ok(names.includes(n), n);
    assert.equal(patch.parameters.find((p: Any) => p.name === "fieldValidation").in, "query");
    assert.deepEqual(Object.keys(patch.requestBody.content).sort(), [
      "application/apply-patch+yaml",
      "application/json-patch+json",
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
    ]);
    const item = doc.paths[path];
    assert.ok(item.get && item.put && item.delete, path);
  }
  const apps = openApiGroupVersion("apis/apps/v1") as Any;
  const coll = apps.paths["/apis/apps/v1/namespaces/{namespace}/deployments"];
  assert.ok(coll.get && coll.post && coll.delete);
  assert.equal(
    apps.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"].patch[
      "x-kubernetes-group-version-kind"
    ].kind,
    "Scale",
  );
});

Deno.test("component schemas carry GVKs and resolve every $ref", () => {
  for (const gv of Object.keys((openApiRoot() as Any).paths)) {
    const doc = openApiGroupVersion(gv) as Any;
    const schemas = doc.components.schemas;
    const text = JSON.stringify(doc);
    for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(schemas[m[1]], `${gv}: dangling $ref ${m[1]}`);
    }
    assert.equal(text.includes('"$id"'), false);
    assert.equal(text.includes("exclusiveMinimum"), false);
  }
  const core = (openApiGroupVersion("api/v1") as Any).components.schemas;
  assert.deepEqual(core["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"], [
    { group: "", version: "v1", kind: "Pod" },
  ]);
  assert.equal(
    core["io.k8s.api.core.v1.Pod"].properties.metadata.allOf[0].$ref,
    "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
  );
  assert.equal(core["io.k8s.apimachinery.pkg.util.intstr.IntOrString"].format, "int-or-string");
  const apps = (openApiGroupVersion("apis/apps/v1") as Any).components.schemas;
  assert.deepEqual(apps["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"], [
    { group: "apps", version: "v1", kind: "Deployment" },
  ]);
  assert.equal(apps["io.k8s.api.core.v1.Pod"], undefined, "only schemas the group-version uses");
});

Deno.test("list fields carry the strategic merge keys Kubernetes uses", () => {
  const all = (openApiGroupVersion("api/v1") as Any).components.schemas;
  const s = (name: string) => all[`io.k8s.api.core.v1.${name}`];
  const key = (schema: Any, field: string) => [
    schema.properties[field]["x-kubernetes-patch-merge-key"],
    schema.properties[field]["x-kubernetes-patch-strategy"],
  ];
  assert.deepEqual(key(s("PodSpec"), "containers"), ["name", "merge"]);
  assert.deepEqual(key(s("PodSpec"), "initContainers"), ["name", "merge"]);
  assert.deepEqual(key(s("PodSpec"), "volumes"), ["name", "merge,retainKeys"]);
  assert.deepEqual(key(s("Container"), "env"), ["name", "merge"]);
  assert.deepEqual(key(s("Container"), "ports"), ["containerPort", "merge"]);
  assert.deepEqual(key(s("Container"), "volumeMounts"), ["mountPath", "merge"]);
  assert.deepEqual(key(s("ServiceSpec"), "ports"), ["port", "merge"]);
  assert.equal(
    s("PodSpec").properties.containers.items.$ref,
    "#/components/schemas/io.k8s.api.core.v1.Container",
  );
});
