import assert from "node:assert/strict";
import { RESOURCES } from "../../shared/api/resources.ts";
import { openApiV2, servedOpenApiV2, toV2Schema } from "./openapi_v2.ts";
import { decodeOpenApiV2 } from "./openapi_v2_proto.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("toV2Schema() rewrites refs, lone allOf refs, nullable and numeric exclusive bounds", () => {
  assert.deepEqual(toV2Schema({ $ref: "#/components/schemas/a.B" }), { $ref: "#/definitions/a.B" });
  assert.deepEqual(
    toV2Schema({ allOf: [{ $ref: "#/components/schemas/a.B" }], description: "d" }),
    { $ref: "#/definitions/a.B", description: "d" },
  );
  assert.deepEqual(
    toV2Schema({
      type: "object",
      nullable: true,
      properties: { n: { type: "integer", exclusiveMinimum: 0 }, l: { anyOf: [{}, {}] } },
    }),
    {
      type: "object",
      properties: { n: { type: "integer", minimum: 0, exclusiveMinimum: true }, l: {} },
    },
  );
});

Deno.test("toV2Schema() publishes loose objects as open maps, strict ones with their fields", () => {
  assert.deepEqual(
    toV2Schema({ type: "object", properties: { a: { type: "string" } }, additionalProperties: {} }),
    { type: "object", additionalProperties: {} },
  );
  assert.deepEqual(
    toV2Schema({
      type: "object",
      properties: { a: { type: "string" } },
      additionalProperties: false,
    }),
    { type: "object", properties: { a: { type: "string" } } },
  );
});

Deno.test("openApiV2() has every served kind with its GVK and no dangling reference", () => {
  const doc = openApiV2();
  assert.equal(doc.swagger, "2.0");
  const gvks = new Set<string>();
  for (const d of Object.values(doc.definitions as Record<string, Any>)) {
    for (const g of d["x-kubernetes-group-version-kind"] ?? []) {
      gvks.add(`${g.group}/${g.version}/${g.kind}`);
    }
  }
  for (const r of RESOURCES) {
    assert.ok(gvks.has(`${r.group}/${r.version}/${r.kind}`), r.kind);
    assert.ok(gvks.has(`${r.group}/${r.version}/${r.listKind}`), r.listKind);
  }
  const text = JSON.stringify(doc);
  for (const m of text.matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)) {
    assert.ok(doc.definitions[m[1]], `dangling ref ${m[1]}`);
  }
  assert.doesNotMatch(text, /#\/components\//);
  const patch = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
  assert.equal(patch["x-kubernetes-action"], "patch");
  assert.ok(patch.parameters.some((p: Any) => p.in === "body"));
});

Deno.test("the protobuf form decodes back to the same definitions, extensions as YAML", async () => {
  const served = await servedOpenApiV2();
  assert.match(served.protobuf.etag, /^"[0-9a-f]{32}"$/);
  assert.notEqual(served.protobuf.etag, served.json.etag);
  const doc = decodeOpenApiV2(served.protobuf.body);
  assert.equal(doc.swagger, "2.0");
  const defs = new Map<string, Any>(
    doc.definitions.additionalProperties.map((n: Any) => [n.name, n.value]),
  );
  assert.equal(defs.size, Object.keys(openApiV2().definitions).length);
  const cm = defs.get("io.k8s.api.core.v1.ConfigMap");
  const gvk = cm.vendorExtension.find((e: Any) => e.name === "x-kubernetes-group-version-kind");
  assert.match(gvk.value.yaml, /kind: ConfigMap/);
  const fields = cm.properties.additionalProperties.map((n: Any) => n.name);
  assert.ok(fields.includes("data") && fields.includes("metadata"));
  const data = cm.properties.additionalProperties.find((n: Any) => n.name === "data").value;
  assert.deepEqual(data.type.value, ["object"]);
  assert.deepEqual(data.additionalProperties.schema.type.value, ["string"]);
});
