/**
 * ResourceQuotas with the real kubectl against a server with its controllers and no nodes (a
 * quota counts pods whether or not they are scheduled): `kubectl create quota`, kubectl's
 * REQUEST/LIMIT columns and `describe`, pods charged at admission and refused with
 * kube-apiserver's 403s once the quota is full, usage released by the quota controller when a
 * pod is deleted or finishes, a charge taken back when the create fails on an existing name,
 * `count/deployments.apps`, and invalid quotas refused with kube-apiserver's 422.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";
import { startTestServer } from "./test_utils.ts";

const pod = (name: string, resources: unknown) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "c0", image: "busybox", resources }] },
  });

const small = { requests: { cpu: "100m" }, limits: { memory: "64Mi" } };

Deno.test({
  name: "ResourceQuotas are created, shown, enforced at admission and released by the controller",
  ignore: !haveKubectl(),
  async fn() {
    const server = await startTestServer();
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-quota-kubectl-" });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const quotaRow = async () =>
      rowNamed(parseTable(await kubectlOk(k, ["get", "quota"])), "compute");
    const refused = async (manifest: string) => {
      const r = await kubectl(k, ["create", "-f", "-"], { stdin: manifest });
      assert.notEqual(r.code, 0, `accepted: ${manifest}`);
      return r.stderr;
    };
    try {
      await waitKubectl(k, ["get", "serviceaccount", "default"], (out) => out.includes("default"));
      assert.equal(
        await kubectlOk(k, [
          "create",
          "quota",
          "compute",
          "--hard=pods=2,requests.cpu=1,limits.memory=1Gi",
        ]),
        "resourcequota/compute created\n",
      );
      // The controller takes the quota on: status.hard and zero usage.
      await waitKubectl(
        k,
        ["get", "quota", "compute"],
        (out) => out.includes("pods: 0/2, requests.cpu: 0/1"),
      );
      const fresh = await quotaRow();
      assert.deepEqual(Object.keys(fresh), ["NAME", "REQUEST", "LIMIT", "AGE"]);
      assert.equal(fresh.LIMIT, "limits.memory: 0/1Gi");

      // Admission charges each pod before it is stored: the quota shows it at once.
      await kubectlOk(k, ["create", "-f", "-"], { stdin: pod("p1", small) });
      await kubectlOk(k, ["create", "-f", "-"], { stdin: pod("p2", small) });
      const full = await quotaRow();
      assert.equal(full.REQUEST, "pods: 2/2, requests.cpu: 200m/1");
      assert.equal(full.LIMIT, "limits.memory: 128Mi/1Gi");

      // Full: refused with kube-apiserver's message; a pod leaving out a tracked resource too.
      assert.match(
        await refused(pod("p3", small)),
        /pods "p3" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2/,
      );
      assert.match(
        await refused(pod("bare", { requests: { cpu: "100m" } })),
        /pods "bare" is forbidden: failed quota: compute: must specify limits.memory for: c0/,
      );
      const described = await kubectlOk(k, ["describe", "quota", "compute"]);
      assert.match(described, /Resource\s+Used\s+Hard/);
      assert.match(described, /limits\.memory\s+128Mi\s+1Gi/);
      assert.match(described, /pods\s+2\s+2/);
      assert.match(described, /requests\.cpu\s+200m\s+1/);

      // Deleting a pod releases its usage (the quota controller measures the pods again).
      await kubectlOk(k, ["delete", "pod", "p1", "--wait=false"]);
      await waitKubectl(
        k,
        ["get", "quota", "compute"],
        (out) => out.includes("pods: 1/2, requests.cpu: 100m/1") && out.includes("64Mi/1Gi"),
      );

      // A create that fails on an existing name gives its charge back at once.
      const exists = await refused(pod("p2", small));
      assert.match(exists, /pods "p2" already exists/);
      assert.equal((await quotaRow()).REQUEST, "pods: 1/2, requests.cpu: 100m/1");

      await kubectlOk(k, ["create", "-f", "-"], { stdin: pod("p3", small) });
      assert.equal((await quotaRow()).REQUEST, "pods: 2/2, requests.cpu: 200m/1");

      // A finished pod no longer counts toward compute quota.
      await kubectlOk(k, [
        "patch",
        "pod",
        "p2",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Succeeded"}}',
      ]);
      await waitKubectl(
        k,
        ["get", "quota", "compute"],
        (out) => out.includes("pods: 1/2, requests.cpu: 100m/1"),
      );

      // Any kind is counted by count/<resource>.<group>.
      await kubectlOk(k, ["create", "quota", "objects", "--hard=count/deployments.apps=1"]);
      await waitKubectl(
        k,
        ["get", "quota", "objects"],
        (out) => out.includes("count/deployments.apps: 0/1"),
      );
      await kubectlOk(k, ["create", "deployment", "web", "--image=busybox", "--replicas=0"]);
      const second = await kubectl(k, [
        "create",
        "deployment",
        "web2",
        "--image=busybox",
        "--replicas=0",
      ]);
      assert.notEqual(second.code, 0);
      assert.match(
        second.stderr,
        /deployments.apps "web2" is forbidden: exceeded quota: objects, requested: count\/deployments.apps=1, used: count\/deployments.apps=1, limited: count\/deployments.apps=1/,
      );

      // Invalid quotas are refused as kube-apiserver refuses them.
      const bad = await kubectl(k, ["create", "quota", "bad", "--hard=foo=1,pods=-1"]);
      assert.notEqual(bad.code, 0);
      assert.match(
        bad.stderr,
        /spec\.hard\[foo\]: Invalid value: "foo": must be a standard resource for quota/,
      );
      assert.match(
        bad.stderr,
        /spec\.hard\[pods\]: Invalid value: "-1": must be greater than or equal to 0/,
      );
      const scoped = await kubectl(k, [
        "create",
        "quota",
        "scoped",
        "--hard=cpu=1",
        "--scopes=BestEffort",
      ]);
      assert.notEqual(scoped.code, 0);
      assert.match(
        scoped.stderr,
        /spec\.scopes: Invalid value: \[\]core\.ResourceQuotaScope\{"BestEffort"\}: unsupported scope applied to resource/,
      );
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "a BestEffort-scoped quota counts only pods without requests or limits",
  ignore: !haveKubectl(),
  async fn() {
    const server = await startTestServer();
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-quota-scope-kubectl-" });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    try {
      await waitKubectl(k, ["get", "serviceaccount", "default"], (out) => out.includes("default"));
      await kubectlOk(k, ["create", "quota", "be", "--hard=pods=1", "--scopes=BestEffort"]);
      await waitKubectl(k, ["get", "quota", "be"], (out) => out.includes("pods: 0/1"));
      await kubectlOk(k, ["create", "-f", "-"], { stdin: pod("be1", {}) });
      // Burstable pods are outside the scope: as many as wanted.
      await kubectlOk(k, ["create", "-f", "-"], { stdin: pod("burst1", small) });
      await kubectlOk(k, ["create", "-f", "-"], { stdin: pod("burst2", small) });
      const r = await kubectl(k, ["create", "-f", "-"], { stdin: pod("be2", {}) });
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /pods "be2" is forbidden: exceeded quota: be, requested: pods=1, used: pods=1, limited: pods=1/,
      );
      const json = JSON.parse(await kubectlOk(k, ["get", "quota", "be", "-o", "json"]));
      assert.deepEqual(json.status, { hard: { pods: "1" }, used: { pods: "1" } });
      assert.deepEqual(json.spec.scopes, ["BestEffort"]);
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
