import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { ApiError } from "../../shared/errors.ts";
import { applyStrategicMergePatch } from "../api/patch/mod.ts";
import {
  apply,
  BEFORE_FIRST_APPLY,
  defaultManager,
  type ManagedFieldsEntry,
  trackUpdate,
} from "./field_manager.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const CM_SCOPE = { kind: "ConfigMap", statusSubresource: false };
const DEPLOY_SCOPE = { kind: "Deployment", statusSubresource: true };

const cm = (data: Record<string, string>, managedFields?: ManagedFieldsEntry[]): KubeObject =>
  ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "default", ...(managedFields ? { managedFields } : {}) },
    data,
  }) as KubeObject;

/** One apply of `config` by `manager` onto `live` (undefined: a create), as the API runs it. */
function applied(
  live: KubeObject | undefined,
  config: KubeObject,
  manager: string,
  o: { force?: boolean; scope?: typeof CM_SCOPE } = {},
): KubeObject {
  const merged = live
    ? applyStrategicMergePatch(live, config, { kind: config.kind! }) as KubeObject
    : structuredClone(config);
  return apply({
    live,
    config,
    merged,
    manager,
    force: o.force ?? false,
    apiVersion: config.apiVersion!,
    scope: o.scope ?? CM_SCOPE,
  });
}

function owners(obj: KubeObject): Record<string, unknown> {
  return Object.fromEntries(
    (obj.metadata.managedFields as ManagedFieldsEntry[]).map((
      e,
    ) => [`${e.manager}/${e.operation}`, e.fieldsV1]),
  );
}

function conflict(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError && e.code === 409, String(e));
    return e.message;
  }
  assert.fail("expected a 409 conflict");
}

Deno.test("apply: the applier owns what it applied; another manager's different value conflicts", () => {
  const first = applied(undefined, cm({ a: "1", b: "2" }), "kubectl");
  assert.deepEqual(owners(first), {
    "kubectl/Apply": { "f:data": { "f:a": {}, "f:b": {} } },
  });
  assert.equal(
    conflict(() => applied(first, cm({ a: "9" }), "other")),
    'Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.a',
  );
  // The same value is shared ownership, not a conflict.
  const shared = applied(first, cm({ a: "1" }), "other");
  assert.deepEqual(owners(shared)["other/Apply"], { "f:data": { "f:a": {} } });
  assert.deepEqual(owners(shared)["kubectl/Apply"], { "f:data": { "f:a": {}, "f:b": {} } });
  // Forced, the field changes hands.
  const forced = applied(first, cm({ a: "9" }), "other", { force: true });
  assert.equal(forced.data.a, "9");
  assert.deepEqual(owners(forced), {
    "kubectl/Apply": { "f:data": { "f:b": {} } },
    "other/Apply": { "f:data": { "f:a": {} } },
  });
});

Deno.test("apply: a field the applier leaves out goes, unless another manager owns it", () => {
  const first = applied(undefined, cm({ a: "1", b: "2" }), "kubectl");
  const shared = applied(first, cm({ b: "2" }), "other");
  const next = applied(shared, cm({ c: "3" }), "kubectl");
  assert.deepEqual(next.data, { b: "2", c: "3" }, "a dropped (kubectl's alone), b kept (shared)");
  assert.deepEqual(owners(next), {
    "other/Apply": { "f:data": { "f:b": {} } },
    "kubectl/Apply": { "f:data": { "f:c": {} } },
  });
});

const deployment = (containers: Any[], replicas?: number): KubeObject =>
  ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers } },
    },
  }) as KubeObject;

Deno.test("apply: list elements merged by key are owned one by one, and removed when left out", () => {
  const a = {
    name: "a",
    image: "a:1",
    env: [{ name: "X", value: "1" }, { name: "Y", value: "2" }],
  };
  const b = { name: "b", image: "b:1" };
  const first = applied(undefined, deployment([a, b], 2), "kubectl", { scope: DEPLOY_SCOPE });
  const fields = owners(first)["kubectl/Apply"] as Any;
  const containers = fields["f:spec"]["f:template"]["f:spec"]["f:containers"];
  assert.deepEqual(Object.keys(containers), ['k:{"name":"a"}', 'k:{"name":"b"}']);
  assert.deepEqual(containers['k:{"name":"a"}']["."], {});
  const next = applied(first, deployment([{ ...a, env: [a.env[0]] }]), "kubectl", {
    scope: DEPLOY_SCOPE,
  });
  assert.deepEqual(next.spec.template.spec.containers, [{ ...a, env: [a.env[0]] }]);
  assert.equal(next.spec.replicas, undefined, "replicas left out: removed");
  assert.match(
    conflict(() =>
      applied(next, deployment([{ ...a, image: "a:2" }]), "ci", { scope: DEPLOY_SCOPE })
    ),
    /conflict with "kubectl" using apps\/v1: \.spec\.template\.spec\.containers\[name="a"\]\.image/,
  );
});

Deno.test("updates take the fields they change; a later apply of another value conflicts", () => {
  const first = applied(undefined, deployment([{ name: "a", image: "a:1" }], 2), "kubectl", {
    scope: DEPLOY_SCOPE,
  });
  const scaled = structuredClone(first);
  scaled.spec.replicas = 5;
  trackUpdate(first, scaled, {
    manager: "kubectl-scale",
    apiVersion: "apps/v1",
    scope: DEPLOY_SCOPE,
  });
  assert.deepEqual(owners(scaled)["kubectl-scale/Update"], { "f:spec": { "f:replicas": {} } });
  const kubectlFields = owners(scaled)["kubectl/Apply"] as Any;
  assert.equal(kubectlFields["f:spec"]["f:replicas"], undefined);
  assert.equal(
    conflict(() =>
      applied(scaled, deployment([{ name: "a", image: "a:1" }], 2), "kubectl", {
        scope: DEPLOY_SCOPE,
      })
    ),
    'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas',
  );
  // Status is the status subresource's: a main-resource update of it is not tracked there.
  const status = structuredClone(scaled);
  status.status = { replicas: 5 };
  trackUpdate(scaled, status, {
    manager: "skiff",
    apiVersion: "apps/v1",
    scope: { ...DEPLOY_SCOPE, subresource: "status" },
  });
  assert.deepEqual(
    (status.metadata.managedFields as ManagedFieldsEntry[]).find((e) => e.manager === "skiff"),
    {
      manager: "skiff",
      operation: "Update",
      apiVersion: "apps/v1",
      time: (status.metadata.managedFields as ManagedFieldsEntry[]).at(-1)!.time,
      fieldsType: "FieldsV1",
      fieldsV1: { "f:status": { "f:replicas": {} } },
      subresource: "status",
    },
  );
});

Deno.test("an object written before any apply: its fields are before-first-apply's", () => {
  const live = cm({ a: "1" });
  assert.equal(
    conflict(() => applied(live, cm({ a: "2" }), "kubectl")),
    `Apply failed with 1 conflict: conflict with "${BEFORE_FIRST_APPLY}" using v1: .data.a`,
  );
  const same = applied(live, cm({ a: "1", b: "2" }), "kubectl");
  assert.deepEqual(Object.keys(owners(same)), [`${BEFORE_FIRST_APPLY}/Update`, "kubectl/Apply"]);
  // Objects nobody applied carry no managedFields, and updates leave them so.
  const next = cm({ a: "3" });
  trackUpdate(live, next, { manager: "kubectl", apiVersion: "v1", scope: CM_SCOPE });
  assert.equal(next.metadata.managedFields, undefined);
});

Deno.test("defaultManager() is the User-Agent's product", () => {
  assert.equal(defaultManager("kubectl/v1.32.0 (linux/amd64) kubernetes/abc"), "kubectl");
  assert.equal(defaultManager(null), "unknown");
});

Deno.test("apply: the same configuration again keeps the entry as it was (a no-op write)", () => {
  const first = applied(undefined, cm({ a: "1" }), "kubectl");
  const entries = structuredClone(first.metadata.managedFields) as ManagedFieldsEntry[];
  entries[0].time = "2020-01-01T00:00:00Z";
  const aged = { ...first, metadata: { ...first.metadata, managedFields: entries } } as KubeObject;
  assert.deepEqual(applied(aged, cm({ a: "1" }), "kubectl").metadata.managedFields, entries);
});
