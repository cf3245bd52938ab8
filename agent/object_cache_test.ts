import assert from "node:assert/strict";
import { ForbiddenError, ServiceUnavailableError } from "../shared/errors.ts";
import { CachingObjectReader, podObjectRefs } from "./object_cache.ts";
import type { KeyValueSource, Pod } from "./pod_types.ts";
import type { ObjectReader } from "./volumes.ts";

const secret = (value: string): KeyValueSource => ({
  metadata: { name: "s" },
  data: { token: btoa(value) },
} as KeyValueSource);

function fakeReader(): ObjectReader & { fail?: Error; secrets: Map<string, KeyValueSource> } {
  const r = {
    fail: undefined as Error | undefined,
    secrets: new Map<string, KeyValueSource>(),
    getSecret(ns: string, name: string) {
      if (r.fail) return Promise.reject(r.fail);
      return Promise.resolve(r.secrets.get(`${ns}/${name}`));
    },
    getConfigMap: () => Promise.resolve(undefined),
    getPersistentVolumeClaim: () => Promise.resolve(undefined),
    getPersistentVolume: () => Promise.resolve(undefined),
  };
  return r;
}

const podUsing = (secretName: string): Pod => ({
  metadata: { name: "p", namespace: "ns", uid: "u" },
  spec: {
    volumes: [{ name: "v", secret: { secretName } }],
    containers: [{
      name: "c",
      envFrom: [{ configMapRef: { name: "cm" } }],
      env: [{ name: "X", valueFrom: { secretKeyRef: { name: "s2", key: "k" } } }],
    }],
  },
} as unknown as Pod);

Deno.test("podObjectRefs() names volume, env, envFrom and imagePullSecrets sources", () => {
  const pod = podUsing("s1");
  pod.spec.imagePullSecrets = [{ name: "pull" }, { name: "" }];
  assert.deepEqual([...podObjectRefs(pod)].sort(), [
    "configmaps/ns_cm",
    "secrets/ns_pull",
    "secrets/ns_s1",
    "secrets/ns_s2",
  ]);
});

Deno.test("CachingObjectReader falls back to its 0600 copy only when the server is unreachable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const inner = fakeReader();
    const reader = new CachingObjectReader({ inner, dir });
    inner.secrets.set("ns/s1", secret("one"));
    assert.deepEqual(await reader.getSecret("ns", "s1"), secret("one"));
    const path = reader.path("secrets", "ns_s1");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);

    inner.fail = new TypeError("error sending request: connection refused");
    assert.deepEqual(await reader.getSecret("ns", "s1"), secret("one"));
    inner.fail = new ServiceUnavailableError("starting");
    assert.deepEqual(await reader.getSecret("ns", "s1"), secret("one"));
    // A refusal is the server's answer, not an outage: no fallback.
    inner.fail = new ForbiddenError({ resource: "secrets", name: "s1" }, "no");
    await assert.rejects(reader.getSecret("ns", "s1"), ForbiddenError);
    // Unreachable and no copy: the failure stands.
    inner.fail = new TypeError("connection refused");
    await assert.rejects(reader.getSecret("ns", "other"), TypeError);

    // Deleted on the server: the copy goes too.
    inner.fail = undefined;
    inner.secrets.clear();
    assert.equal(await reader.getSecret("ns", "s1"), undefined);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CachingObjectReader.prune() removes the copies no pod refers to", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const inner = fakeReader();
    const reader = new CachingObjectReader({ inner, dir });
    inner.secrets.set("ns/s1", secret("one"));
    inner.secrets.set("ns/s9", secret("nine"));
    await reader.getSecret("ns", "s1");
    await reader.getSecret("ns", "s9");
    await reader.prune([podUsing("s1")]);
    assert.ok(await Deno.stat(reader.path("secrets", "ns_s1")));
    await assert.rejects(Deno.stat(reader.path("secrets", "ns_s9")), Deno.errors.NotFound);
    await reader.prune([]);
    await assert.rejects(Deno.stat(reader.path("secrets", "ns_s1")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
