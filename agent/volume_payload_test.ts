import assert from "node:assert/strict";
import type { KeyValueSource, Pod } from "./pod_types.ts";
import { formatMap, type PayloadSources, volumePayload } from "./volume_payload.ts";

const CONFIGMAPS: Record<string, KeyValueSource> = {
  "kube-root-ca.crt": { metadata: { name: "kube-root-ca.crt" }, data: { "ca.crt": "PEM" } },
  cfg: { metadata: { name: "cfg" }, data: { a: "1" }, binaryData: { b: btoa("2") } },
};
const sources: PayloadSources = {
  getConfigMap: (_ns, name) => Promise.resolve(CONFIGMAPS[name]),
  getSecret: (_ns, name): Promise<KeyValueSource | undefined> =>
    Promise.resolve(name === "sec" ? { metadata: { name }, data: { pw: btoa("s3") } } : undefined),
  serviceAccountToken: (pod, source) =>
    Promise.resolve(`tok:${pod.spec.serviceAccountName}:${source.audience ?? ""}`),
};
const facts = { nodeName: "n1", hostIP: "", podIP: "" };

const pod: Pod = {
  metadata: {
    name: "web",
    namespace: "apps",
    uid: "u-1",
    labels: { tier: "front", app: "web" },
    annotations: { note: 'say "hi"' },
  },
  spec: {
    serviceAccountName: "builder",
    containers: [{
      name: "c",
      resources: { limits: { cpu: "2", memory: "64Mi" }, requests: { memory: "32Mi" } },
    }],
  },
};

const text = (m: Map<string, { data: Uint8Array; mode: number }> | undefined, k: string) =>
  new TextDecoder().decode(m!.get(k)!.data);

Deno.test("volumePayload() projects ConfigMap, Secret, downwardAPI and token sources into one volume", async () => {
  const files = await volumePayload(pod, {
    name: "v",
    projected: {
      defaultMode: 0o440,
      sources: [
        { serviceAccountToken: { path: "token", expirationSeconds: 3607, audience: "vault" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { secret: { name: "sec", items: [{ key: "pw", path: "creds/pw", mode: 0o400 }] } },
        { configMap: { name: "missing", optional: true } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
          },
        },
      ],
    },
  }, { sources, facts });
  assert.deepEqual([...files!.keys()].sort(), ["ca.crt", "creds/pw", "namespace", "token"]);
  assert.equal(text(files, "token"), "tok:builder:vault");
  assert.equal(text(files, "ca.crt"), "PEM");
  assert.equal(text(files, "creds/pw"), "s3");
  assert.equal(files!.get("creds/pw")!.mode, 0o400);
  assert.equal(files!.get("ca.crt")!.mode, 0o440);
  assert.equal(text(files, "namespace"), "apps");

  await assert.rejects(
    () =>
      volumePayload(pod, { name: "v", projected: { sources: [{ secret: { name: "nope" } }] } }, {
        sources,
        facts,
      }),
    /secret "nope" not found/,
  );
  await assert.rejects(
    () =>
      volumePayload(pod, {
        name: "v",
        configMap: { name: "cfg", items: [{ key: "zz", path: "z" }] },
      }, { sources, facts }),
    /non-existent config key: zz/,
  );
  const cm = await volumePayload(pod, { name: "v", configMap: { name: "cfg" } }, {
    sources,
    facts,
  });
  assert.equal(text(cm, "a"), "1");
  assert.equal(text(cm, "b"), "2");
});

Deno.test("volumePayload() writes downwardAPI files: pod fields, labels, annotations, container resources", async () => {
  const files = await volumePayload(pod, {
    name: "v",
    downwardAPI: {
      items: [
        { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
        { path: "annotations", fieldRef: { fieldPath: "metadata.annotations" } },
        { path: "tier", fieldRef: { fieldPath: "metadata.labels['tier']" } },
        { path: "name", fieldRef: { fieldPath: "metadata.name" } },
        { path: "uid", fieldRef: { fieldPath: "metadata.uid" }, mode: 0o600 },
        { path: "cpu", resourceFieldRef: { containerName: "c", resource: "limits.cpu" } },
        { path: "mem", resourceFieldRef: { containerName: "c", resource: "requests.memory" } },
      ],
    },
  }, { sources, facts });
  assert.equal(text(files, "labels"), 'app="web"\ntier="front"');
  assert.equal(text(files, "annotations"), 'note="say \\"hi\\""');
  assert.equal(text(files, "tier"), "front");
  assert.equal(text(files, "name"), "web");
  assert.equal(text(files, "uid"), "u-1");
  assert.equal(files!.get("uid")!.mode, 0o600);
  assert.equal(files!.get("name")!.mode, 0o644);
  assert.equal(text(files, "cpu"), "2");
  assert.equal(text(files, "mem"), String(32 * 1024 * 1024));
  assert.equal(formatMap({}), "");
});

Deno.test("volumePayload() with an fsGroup: group-readable files, the token 0640", async () => {
  const owned: Pod = { ...pod, spec: { ...pod.spec, securityContext: { fsGroup: 2000 } } };
  const files = await volumePayload(owned, {
    name: "kube-api-access",
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { path: "token" } },
        { secret: { name: "sec", items: [{ key: "pw", path: "pw", mode: 0o400 }] } },
        { configMap: { name: "kube-root-ca.crt" } },
      ],
    },
  }, { sources, facts });
  const modes = Object.fromEntries([...files!].map(([k, f]) => [k, f.mode.toString(8)]));
  assert.deepEqual(modes, { "token": "640", "pw": "440", "ca.crt": "644" });
  // Without an fsGroup the token has the volume's mode.
  const plain = await volumePayload(pod, {
    name: "v",
    projected: { defaultMode: 0o644, sources: [{ serviceAccountToken: { path: "token" } }] },
  }, { sources, facts });
  assert.equal(plain!.get("token")!.mode, 0o644);
});
