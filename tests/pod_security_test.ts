/**
 * Pod Security admission against a real server, as an attacker and as kubectl see it: the
 * cluster default (`baseline` everywhere but kube-system) refuses an edit token's hostPath pod of
 * the server's own data dir; only an admin's namespace label allows it; workloads and namespace
 * relabelling produce Kubernetes' warnings, which kubectl prints.
 */
import assert from "node:assert/strict";
import { TokenStore } from "../server/auth/token_store.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectl } from "./kubectl.ts";
import { api, startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const LABEL_PATCH = "application/merge-patch+json";

function warningsOf(headers: Headers): string[] {
  const raw = headers.get("warning");
  if (!raw) return [];
  // `299 - "text"` entries, comma-joined by the Headers API.
  return [...raw.matchAll(/299 - ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]));
}

async function withServer(fn: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startTestServer({ controllers: false });
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

async function editToken(s: TestServer): Promise<TestServer> {
  const tokens = await TokenStore.open(`${s.dataDir}/tokens.json`);
  const { token } = await tokens.create("edit", { description: "attacker" });
  const edit = { ...s, token };
  await waitFor("edit token known", async () => {
    const r = await api(edit, "GET", "/api/v1/namespaces/default/pods");
    return r.status === 200;
  });
  return edit;
}

const thief = (dataDir: string, name = "thief") => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: {
    containers: [{
      name: "c",
      image: "busybox",
      command: ["cat", "/data/admin-token"],
      volumeMounts: [{ name: "data", mountPath: "/data" }],
    }],
    volumes: [{ name: "data", hostPath: { path: dataDir } }],
  },
});

Deno.test("an edit token cannot mount the server's data dir; an admin's privileged label allows it", async () => {
  await withServer(async (s) => {
    const edit = await editToken(s);
    const refused = await api(edit, "POST", "/api/v1/namespaces/default/pods", {
      body: thief(s.dataDir),
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.reason, "Forbidden");
    assert.equal(
      refused.body.message,
      'pods "thief" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "data")',
    );
    // Dry run is admitted the same way, and nothing was stored.
    const dry = await api(edit, "POST", "/api/v1/namespaces/default/pods?dryRun=All", {
      body: thief(s.dataDir),
    });
    assert.equal(dry.status, 403);
    assert.equal((await api(s, "GET", "/api/v1/namespaces/default/pods/thief")).status, 404);

    // The namespace's level is an admin's decision: the edit token may not relabel it.
    const relabel = await api(edit, "PATCH", "/api/v1/namespaces/default", {
      body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
      contentType: LABEL_PATCH,
    });
    assert.equal(relabel.status, 403);

    const admin = await api(s, "PATCH", "/api/v1/namespaces/default", {
      body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
      contentType: LABEL_PATCH,
    });
    assert.equal(admin.status, 200);
    // Relaxing a level checks nothing and warns about nothing.
    assert.deepEqual(warningsOf(admin.headers), []);

    const allowed = await api(edit, "POST", "/api/v1/namespaces/default/pods", {
      body: thief(s.dataDir),
    });
    assert.equal(allowed.status, 201);
    // The cluster default still warns at baseline until the namespace says otherwise.
    assert.deepEqual(warningsOf(allowed.headers), [
      'would violate PodSecurity "baseline:latest": hostPath volumes (volume "data")',
    ]);
    await api(s, "PATCH", "/api/v1/namespaces/default", {
      body: { metadata: { labels: { "pod-security.kubernetes.io/warn": "privileged" } } },
      contentType: LABEL_PATCH,
    });
    const quiet = await api(edit, "POST", "/api/v1/namespaces/default/pods", {
      body: thief(s.dataDir, "thief-2"),
    });
    assert.equal(quiet.status, 201);
    assert.deepEqual(warningsOf(quiet.headers), []);
  });
});

Deno.test("namespace labels are validated; a stricter level warns about existing pods", async () => {
  await withServer(async (s) => {
    const ns = (labels: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "psa", labels },
    });
    const invalid = await api(s, "POST", "/api/v1/namespaces", {
      body: ns({ "pod-security.kubernetes.io/enforce": "strict" }),
    });
    assert.equal(invalid.status, 422);
    assert.equal(
      invalid.body.message,
      'Namespace "psa" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: ' +
        'Invalid value: "strict": must be one of privileged, baseline, restricted',
    );
    assert.equal(
      (await api(s, "POST", "/api/v1/namespaces", {
        body: ns({ "pod-security.kubernetes.io/enforce": "privileged" }),
      })).status,
      201,
    );
    for (const name of ["net-a", "net-b", "plain"]) {
      const r = await api(s, "POST", "/api/v1/namespaces/psa/pods", {
        body: {
          metadata: { name },
          spec: {
            hostNetwork: name !== "plain",
            containers: [{ name: "c", image: "busybox" }],
          },
        },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const stricter = await api(s, "PATCH", "/api/v1/namespaces/psa", {
      body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "baseline" } } },
      contentType: LABEL_PATCH,
    });
    assert.equal(stricter.status, 200);
    assert.deepEqual(warningsOf(stricter.headers), [
      'existing pods in namespace "psa" violate the new PodSecurity enforce level "baseline:latest"',
      "net-a (and 1 other pod): host namespaces",
    ]);
    // From now on the level is enforced.
    const refused = await api(s, "POST", "/api/v1/namespaces/psa/pods", {
      body: {
        metadata: { name: "net-c" },
        spec: { hostNetwork: true, containers: [{ name: "c", image: "busybox" }] },
      },
    });
    assert.equal(refused.status, 403);
    assert.match(
      refused.body.message,
      /violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)/,
    );
  });
});

Deno.test("workload templates get warnings, never refusals; kube-system is exempt", async () => {
  await withServer(async (s) => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: {
            containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }],
          },
        },
      },
    };
    const r = await api(s, "POST", "/apis/apps/v1/namespaces/default/deployments", {
      body: deployment,
    });
    assert.equal(r.status, 201);
    assert.deepEqual(warningsOf(r.headers), [
      'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
    ]);
    const system = await api(s, "POST", "/api/v1/namespaces/kube-system/pods", {
      body: thief(s.dataDir, "system"),
    });
    assert.equal(system.status, 201);
    assert.deepEqual(warningsOf(system.headers), []);
    const label = await api(s, "PATCH", "/api/v1/namespaces/kube-system", {
      body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
      contentType: LABEL_PATCH,
    });
    assert.deepEqual(warningsOf(label.headers), [
      'namespace "kube-system" is exempt from Pod Security, and the policy (enforce=restricted:latest) will be ignored',
    ]);
  });
});

Deno.test({
  name: "kubectl prints Pod Security warnings and refusals as it does against Kubernetes",
  ignore: !haveKubectl(),
  async fn() {
    await withServer(async (s) => {
      const cacheDir = await Deno.makeTempDir({ prefix: "skiff-kubectl-" });
      try {
        const k = { kubeconfigPath: s.kubeconfigPath, cacheDir };
        const manifest = `${cacheDir}/pod.yaml`;
        await Deno.writeTextFile(
          manifest,
          JSON.stringify({ ...thief("/var/lib"), metadata: { name: "hp" } }),
        );
        const refused = await kubectl(k, ["apply", "-f", manifest]);
        assert.notEqual(refused.code, 0);
        assert.match(
          refused.stderr,
          /pods "hp" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes \(volume "data"\)/,
        );
        await kubectl(k, [
          "label",
          "namespace",
          "default",
          "pod-security.kubernetes.io/enforce=privileged",
        ]);
        const warned = await kubectl(k, ["apply", "-f", manifest]);
        assert.equal(warned.code, 0, warned.stderr);
        assert.match(
          warned.stderr,
          /^Warning: would violate PodSecurity "baseline:latest": hostPath volumes \(volume "data"\)$/m,
        );
      } finally {
        await Deno.remove(cacheDir, { recursive: true });
      }
    });
  },
});
