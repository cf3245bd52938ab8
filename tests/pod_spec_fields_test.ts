/**
 * "Accepted means honoured", checked over the whole PodSpec: walks the zod schema of PodSpec and
 * asserts that every field has an entry in server/admission/pod_spec_fields.ts, that every
 * honoured entry names a test that exists, and that every refused value is refused by a real
 * server with a 422 naming the field — on a pod, an init container and a Deployment's template.
 */
import assert from "node:assert/strict";
import { PodSpec } from "../shared/api/core_v1.ts";
import {
  fieldSupport,
  POD_SPEC_FIELDS,
  tablePath,
  TEST_NAMES,
} from "../server/admission/pod_spec_fields.ts";
import { NOT_SUPPORTED, withField } from "../server/admission/pod_spec_support.ts";
import { api, startTestServer } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Every field path of a zod object schema (`[]` marks list elements). */
function schemaPaths(schema: unknown, path = "", out: string[] = []): string[] {
  // deno-lint-ignore no-explicit-any
  const def = (schema as any)._zod.def;
  switch (def.type) {
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
      return schemaPaths(def.innerType, path, out);
    case "pipe":
      return schemaPaths(def.in, path, out);
    case "array":
      // deno-lint-ignore no-explicit-any
      if ((def.element as any)._zod.def.type === "object") {
        if (path) out.push(path);
        return schemaPaths(def.element, `${path}[]`, out);
      }
      out.push(path);
      return out;
    case "object":
      if (path && !path.endsWith("[]")) out.push(path);
      for (const [k, v] of Object.entries(def.shape)) {
        schemaPaths(v, path ? `${path}.${k}` : k, out);
      }
      return out;
    default:
      out.push(path);
      return out;
  }
}

async function testNamesInRepo(): Promise<Set<string>> {
  const names = new Set<string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory && !e.name.startsWith(".") && e.name !== "node_modules") await walk(p);
      else if (e.name.endsWith("_test.ts")) {
        const text = await Deno.readTextFile(p);
        for (const m of text.matchAll(/Deno\.test\(\s*"((?:[^"\\]|\\.)*)"/g)) names.add(m[1]);
        for (const m of text.matchAll(/name:\s*"((?:[^"\\]|\\.)*)"/g)) names.add(m[1]);
      }
    }
  };
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  for (const dir of ["agent", "server", "shared", "proxy", "tests"]) await walk(`${root}/${dir}`);
  return names;
}

/** A downwardAPI item of the kind of field under test (an item may name only one). */
function downwardItem(path: string): Obj {
  return path.includes("resourceFieldRef")
    ? { path: "p", resourceFieldRef: { containerName: "c", resource: "limits.cpu" } }
    : { path: "p", fieldRef: { fieldPath: "metadata.name" } };
}

/** The projected volume source of the kind under test (a source may hold only one). */
function projectedSource(path: string): Obj {
  const kind = /^volumes\[\]\.projected\.sources\[\]\.(\w+)/.exec(path)?.[1] ?? "downwardAPI";
  const bases: Obj = {
    downwardAPI: { items: [downwardItem(path)] },
    configMap: { name: "cm", items: [{ key: "k", path: "p" }] },
    secret: { name: "s", items: [{ key: "k", path: "p" }] },
    serviceAccountToken: { path: "token" },
  };
  return kind in bases ? { [kind]: bases[kind] } : {};
}

/** A valid spec with the parents of `path` in place, so that only the field under test is new. */
function scaffold(path: string): Obj {
  const container: Obj = { name: "c", image: "busybox" };
  const spec: Obj = { containers: [container] };
  const c = path.startsWith("initContainers")
    ? (spec.initContainers = [{ ...container, name: "i" }])[0]
    : container;
  const rel = path.replace(/^(init)?[cC]ontainers\[\]\./, "");
  const probe = /^(liveness|readiness|startup)Probe\.(\w+)/.exec(rel);
  if (probe) {
    c[`${probe[1]}Probe`] = probe[2] === "httpGet"
      ? { httpGet: { port: 80 } }
      : probe[2] === "grpc"
      ? {}
      : { exec: { command: ["true"] } };
  }
  const hook = /^lifecycle\.(postStart|preStop)\.httpGet/.exec(rel);
  if (hook) c.lifecycle = { [hook[1]]: { httpGet: { port: 80 } } };
  if (rel.startsWith("env[].valueFrom.fieldRef")) {
    c.env = [{ name: "E", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }];
  }
  if (rel.startsWith("env[].valueFrom.resourceFieldRef")) {
    c.env = [{ name: "E", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } }];
  }
  if (rel.startsWith("volumeMounts[].")) {
    spec.volumes = [{ name: "v", emptyDir: {} }];
    c.volumeMounts = [{ name: "v", mountPath: "/m" }];
  }
  const vol = /^volumes\[\]\.(\w+)/.exec(path);
  if (vol) {
    const bases: Obj = {
      configMap: { name: "cm", items: [{ key: "k", path: "p" }] },
      secret: { secretName: "s", items: [{ key: "k", path: "p" }] },
      emptyDir: {},
      hostPath: { path: "/tmp" },
      downwardAPI: { items: [downwardItem(path)] },
      projected: { sources: [projectedSource(path)] },
    };
    spec.volumes = [{ name: "v", ...(vol[1] in bases ? { [vol[1]]: bases[vol[1]] } : {}) }];
  }
  return spec;
}

/** `spec.containers[0].x` for `containers[].x`. */
function concrete(specPath: string, path: string): string {
  return `${specPath}.${path.replaceAll("[]", "[0]")}`;
}

Deno.test("every PodSpec field is honoured (with a test) or refused at admission with a 422", async () => {
  const paths = schemaPaths(PodSpec);
  const missing = paths.filter((p) => !fieldSupport(p));
  assert.deepEqual(missing, [], "PodSpec fields without an entry in pod_spec_fields.ts");
  const known = new Set(paths.map(tablePath));
  const stale = Object.keys(POD_SPEC_FIELDS).filter((k) => !known.has(k));
  assert.deepEqual(stale, [], "entries for fields the schema does not have");

  const tests = await testNamesInRepo();
  for (const [path, entry] of Object.entries(POD_SPEC_FIELDS)) {
    assert.ok(entry.honoured !== undefined || entry.refused !== undefined, path);
    if (entry.honoured) {
      assert.ok(tests.has(entry.honoured), `${path}: no test named "${entry.honoured}"`);
    }
  }
  assert.ok(Object.values(TEST_NAMES).length > 0);

  const s = await startTestServer({ controllers: false });
  try {
    // Refusals are what admission decides: make Pod Security stay out of the way.
    await api(s, "PATCH", "/api/v1/namespaces/default", {
      body: {
        metadata: {
          labels: {
            "pod-security.kubernetes.io/enforce": "privileged",
            "pod-security.kubernetes.io/warn": "privileged",
            "pod-security.kubernetes.io/audit": "privileged",
          },
        },
      },
      contentType: "application/merge-patch+json",
    });
    const createPod = (spec: Obj) =>
      api(s, "POST", "/api/v1/namespaces/default/pods?dryRun=All", {
        body: { metadata: { name: "f" }, spec },
      });
    const createDeployment = (spec: Obj) =>
      api(s, "POST", "/apis/apps/v1/namespaces/default/deployments?dryRun=All", {
        body: {
          metadata: { name: "f" },
          spec: {
            selector: { matchLabels: { a: "b" } },
            template: { metadata: { labels: { a: "b" } }, spec },
          },
        },
      });
    const expectRefused = (
      r: { status: number; body: Obj },
      field: string,
      what: string,
      options: { anyReason?: boolean } = {},
    ) => {
      assert.equal(r.status, 422, `${what}: ${JSON.stringify(r.body)}`);
      const cause = (r.body.details?.causes as Obj[]).find((c) => c.field === field);
      assert.ok(cause, `${what}: no cause for ${field} in ${JSON.stringify(r.body.details)}`);
      assert.ok(
        options.anyReason || cause.message.includes(NOT_SUPPORTED) ||
          cause.reason === "FieldValueNotSupported",
        `${what}: ${cause.message}`,
      );
    };
    let refusals = 0;
    for (const [path, entry] of Object.entries(POD_SPEC_FIELDS)) {
      if (entry.refused === undefined) continue;
      // Init containers share the entries; probes and hooks are not allowed on them at all.
      const variants = path.startsWith("containers[]") && !/Probe\b|lifecycle/.test(path)
        ? [path, path.replace(/^containers/, "initContainers")]
        : [path];
      for (const p of variants) {
        const spec = withField(scaffold(p), p, entry.refused);
        await expectRefused(await createPod(spec), concrete("spec", p), `pod ${p}`);
        refusals++;
      }
      const spec = withField(scaffold(path), path, entry.refused);
      await expectRefused(
        await createDeployment(spec),
        concrete("spec.template.spec", path),
        `deployment ${path}`,
        // Some fields are refused in templates by validation already, as Kubernetes does.
        { anyReason: true },
      );
      for (const value of entry.noop ?? []) {
        const r = await createPod(withField(scaffold(path), path, value));
        assert.equal(r.status, 201, `${path}=${JSON.stringify(value)}: ${JSON.stringify(r.body)}`);
      }
    }
    assert.ok(refusals > 40, `only ${refusals} refusals checked`);
  } finally {
    await s.stop();
  }
});

Deno.test("ServiceAccount admission refuses a pod naming a missing ServiceAccount with Kubernetes' error", async () => {
  const s = await startTestServer({ controllers: false });
  try {
    const pod = (spec: Obj) => ({
      metadata: { name: "sa" },
      spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
    });
    const r = await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: pod({ serviceAccountName: "builder" }),
    });
    assert.equal(r.status, 403);
    assert.equal(
      r.body.message,
      'pods "sa" is forbidden: error looking up service account default/builder: serviceaccount "builder" not found',
    );
    // A controller's pod (generateName) is named by its prefix, as kube-apiserver's mutating
    // admission runs before the name is generated: its repeated refusals read the same.
    const generated = await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: { ...pod({ serviceAccountName: "builder" }), metadata: { generateName: "web-7d9f8-" } },
    });
    assert.equal(generated.status, 403);
    assert.equal(
      generated.body.message,
      'pods "web-7d9f8-" is forbidden: error looking up service account default/builder: serviceaccount "builder" not found',
    );
    const legacy = await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: pod({ serviceAccount: "old" }),
    });
    assert.equal(legacy.status, 403);
    const sa = await api(s, "POST", "/api/v1/namespaces/default/serviceaccounts", {
      body: { metadata: { name: "builder" } },
    });
    assert.equal(sa.status, 201, JSON.stringify(sa.body));
    const named = await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: { ...pod({ serviceAccountName: "builder" }), metadata: { name: "sa2" } },
    });
    assert.equal(named.status, 201, JSON.stringify(named.body));
    const ok = await api(s, "POST", "/api/v1/namespaces/default/pods", {
      body: pod({ serviceAccountName: "default" }),
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  } finally {
    await s.stop();
  }
});
