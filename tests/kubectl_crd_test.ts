/**
 * CustomResourceDefinitions with the real kubectl: the CronTab CRD of the Kubernetes docs is
 * applied and served at once as a new kind (discovery, short name, `get all`), custom resources
 * are created, listed with their printer columns, watched, patched, validated with Kubernetes'
 * wording, scaled through the scale subresource, updated through the status subresource,
 * explained from the OpenAPI document, applied server-side, served at two versions, kept across a
 * server restart, and deleted with their CRD.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import {
  kubectlOk,
  parseTable,
  rowNamed,
  spawnKubectl,
  waitKubectl,
  writeManifest,
} from "./kubectl_helpers.ts";
import { startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const CRD = new URL("./fixtures/crontab_crd.yaml", import.meta.url).pathname;

const cronTab = (
  name: string,
  spec: Record<string, unknown>,
  apiVersion = "stable.example.com/v1",
) => JSON.stringify({ apiVersion, kind: "CronTab", metadata: { name }, spec });

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test({
  name: "kubectl serves a CustomResourceDefinition's kind: CRUD, columns, validation, subresources",
  ignore: !haveKubectl(),
  async fn(t) {
    const dataDir = await Deno.makeTempDir({ prefix: "skiff-crd-" });
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-crd-kubectl-" });
    let server: TestServer = await startTestServer({ dataDir, controllers: false });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const getJson = async (...args: string[]): Promise<Json> =>
      JSON.parse(await kubectlOk(k, ["get", ...args, "-o", "json"]));
    try {
      await t.step("apply the CRD: established, in discovery with its short name", async () => {
        // Warm kubectl's discovery cache first: the new kind must still be found.
        await kubectlOk(k, ["get", "pods"]);
        const out = await kubectlOk(k, ["apply", "-f", CRD]);
        assert.match(
          out,
          /customresourcedefinition.apiextensions.k8s.io\/crontabs.stable.example.com created/,
        );
        const crd = await getJson("crd", "crontabs.stable.example.com");
        const cond = (type: string) => crd.status.conditions.find((c: Json) => c.type === type);
        assert.equal(cond("NamesAccepted").status, "True");
        assert.equal(cond("Established").status, "True");
        assert.equal(crd.status.acceptedNames.kind, "CronTab");
        assert.deepEqual(crd.metadata.finalizers, ["customresourcecleanup.apiextensions.k8s.io"]);
        const resources = await kubectlOk(k, ["api-resources", "--api-group=stable.example.com"]);
        assert.match(resources, /crontabs\s+ct\s+stable.example.com\/v1\s+true\s+CronTab/);
      });

      await t.step("create, get with printer columns, defaults and pruning", async () => {
        const out = await kubectlOk(k, ["create", "-f", "-", "--validate=false"], {
          stdin: cronTab("my-new-cron-object", {
            cronSpec: "* * * * */5",
            image: "my-awesome-cron-image",
            unknownField: "dropped",
          }),
        });
        assert.match(out, /crontab.stable.example.com\/my-new-cron-object created/);
        const rows = parseTable(await kubectlOk(k, ["get", "crontabs"]));
        assert.deepEqual(Object.keys(rows[0]), ["NAME", "SPEC", "REPLICAS", "AGE"]);
        const row = rowNamed(rows, "my-new-cron-object");
        assert.equal(row.SPEC, "* * * * */5");
        assert.equal(row.REPLICAS, "1"); // the schema's default
        assert.match(row.AGE, /^\d+s$/);
        const obj = await getJson("ct", "my-new-cron-object");
        assert.equal(obj.spec.unknownField, undefined);
        assert.equal(obj.spec.replicas, 1);
        const all = await kubectlOk(k, ["get", "all"]);
        assert.match(all, /crontab.stable.example.com\/my-new-cron-object/);
      });

      await t.step("unknown fields under strict validation are a 400", async () => {
        const r = await kubectl(k, ["create", "-f", "-"], {
          stdin: cronTab("strict", { cronSpec: "* * * * *", bogus: 1 }),
        });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /strict decoding error: unknown field "spec.bogus"/);
      });

      await t.step("validation errors as Kubernetes words them", async () => {
        const r = await kubectl(k, [
          "patch",
          "ct",
          "my-new-cron-object",
          "--type=merge",
          "-p",
          '{"spec":{"replicas":"x"}}',
        ]);
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /The CronTab "my-new-cron-object" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"/,
        );
        const r2 = await kubectl(k, ["create", "-f", "-"], {
          stdin: cronTab("bad", { cronSpec: "not cron", replicas: 11 }),
        });
        assert.match(
          r2.stderr,
          /spec.cronSpec: Invalid value: "not cron": spec.cronSpec in body should match/,
        );
        assert.match(
          r2.stderr,
          /spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10/,
        );
      });

      await t.step("watch sees changes; patch and label selectors work", async () => {
        const watch = spawnKubectl(k, [
          "get",
          "ct",
          "--watch",
          "-o",
          "custom-columns=NAME:.metadata.name,IMAGE:.spec.image",
          "--no-headers",
        ]);
        try {
          await watch.waitOutput((s) => s.includes("my-new-cron-object"), "initial row");
          await kubectlOk(k, [
            "patch",
            "ct",
            "my-new-cron-object",
            "--type=merge",
            "-p",
            '{"spec":{"image":"v2-image"}}',
          ]);
          await watch.waitOutput((s) => s.includes("v2-image"), "the patched row");
          // A spec change moves generation; a label change (below) does not.
          assert.equal((await getJson("ct", "my-new-cron-object")).metadata.generation, 2);
        } finally {
          await watch.stop();
        }
        // A custom resource has no patch strategies: strategic merge is a 415, as in Kubernetes.
        const strategic = await kubectl(k, [
          "patch",
          "ct",
          "my-new-cron-object",
          "--type=strategic",
          "-p",
          '{"spec":{"image":"v3-image"}}',
        ]);
        assert.equal(strategic.code, 1);
        assert.match(strategic.stderr, /unknown format - accepted media types include/);
        await kubectlOk(k, ["label", "ct", "my-new-cron-object", "tier=batch"]);
        assert.equal((await getJson("ct", "my-new-cron-object")).metadata.generation, 2);
        assert.match(
          await kubectlOk(k, ["get", "ct", "-l", "tier=batch", "-o", "name"]),
          /my-new-cron-object/,
        );
        assert.equal(
          (await kubectlOk(k, ["get", "ct", "-l", "tier=web", "-o", "name"])).trim(),
          "",
        );
        const byName = await kubectlOk(k, [
          "get",
          "ct",
          "--field-selector",
          "metadata.name=my-new-cron-object",
          "-o",
          "name",
        ]);
        assert.equal(byName.trim(), "crontab.stable.example.com/my-new-cron-object");
      });

      await t.step("lists are paged", async () => {
        const base = "/apis/stable.example.com/v1/namespaces/default/crontabs";
        await kubectlOk(k, ["create", "-f", "-"], {
          stdin: cronTab("second", { cronSpec: "* * * * *" }),
        });
        const first = JSON.parse(await kubectlOk(k, ["get", "--raw", `${base}?limit=1`]));
        assert.equal(first.kind, "CronTabList");
        assert.equal(first.items.length, 1);
        assert.ok(first.metadata.continue, "a continue token");
        const rest = JSON.parse(
          await kubectlOk(k, [
            "get",
            "--raw",
            `${base}?limit=1&continue=${encodeURIComponent(first.metadata.continue)}`,
          ]),
        );
        assert.equal(rest.items.length, 1);
        assert.notEqual(rest.items[0].metadata.name, first.items[0].metadata.name);
        await kubectlOk(k, ["delete", "ct", "second"]);
      });

      await t.step("scale and status subresources", async () => {
        await kubectlOk(k, ["scale", "ct", "my-new-cron-object", "--replicas=3"]);
        assert.equal((await getJson("ct", "my-new-cron-object")).spec.replicas, 3);
        // The main resource ignores status; the status subresource changes only status.
        await kubectlOk(k, [
          "patch",
          "ct",
          "my-new-cron-object",
          "--type=merge",
          "-p",
          '{"status":{"replicas":9}}',
        ]);
        assert.equal((await getJson("ct", "my-new-cron-object")).status, undefined);
        await kubectlOk(k, [
          "patch",
          "ct",
          "my-new-cron-object",
          "--subresource=status",
          "--type=merge",
          "-p",
          '{"status":{"replicas":2,"labelSelector":"app=cron"},"spec":{"replicas":7}}',
        ]);
        const obj = await getJson("ct", "my-new-cron-object");
        assert.deepEqual(obj.status, { replicas: 2, labelSelector: "app=cron" });
        assert.equal(obj.spec.replicas, 3);
        const scale = JSON.parse(
          await kubectlOk(k, [
            "get",
            "--raw",
            "/apis/stable.example.com/v1/namespaces/default/crontabs/my-new-cron-object/scale",
          ]),
        );
        assert.deepEqual(scale.spec, { replicas: 3 });
        assert.deepEqual(scale.status, { replicas: 2, selector: "app=cron" });
      });

      await t.step("explain and apply (client-side and server-side)", async () => {
        const explain = await kubectlOk(k, ["explain", "crontab.spec"]);
        assert.match(explain, /KIND:\s+CronTab/);
        assert.match(explain, /cronSpec\s+<string>/);
        assert.match(explain, /replicas\s+<integer>/);
        const dir = await Deno.makeTempDir({ dir: cacheDir });
        const file = await writeManifest(
          dir,
          "ct.json",
          cronTab("applied", { cronSpec: "0 * * * *", image: "a" }),
        );
        assert.match(await kubectlOk(k, ["apply", "-f", file]), /created/);
        await writeManifest(
          dir,
          "ct.json",
          cronTab("applied", { cronSpec: "0 * * * *", image: "b" }),
        );
        assert.match(await kubectlOk(k, ["apply", "-f", file]), /configured/);
        assert.equal((await getJson("ct", "applied")).spec.image, "b");
        await writeManifest(
          dir,
          "ct.json",
          cronTab("applied", { cronSpec: "0 * * * *", image: "c" }),
        );
        assert.match(
          await kubectlOk(k, ["apply", "--server-side", "--force-conflicts", "-f", file]),
          /serverside-applied/,
        );
        assert.equal((await getJson("ct", "applied")).spec.image, "c");
      });

      await t.step("a second version: conversion None changes only apiVersion", async () => {
        const crd = await getJson("crd", "crontabs.stable.example.com");
        const v1 = crd.spec.versions[0];
        crd.spec.versions = [v1, { ...structuredClone(v1), name: "v2", storage: false }];
        delete crd.metadata.resourceVersion;
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: JSON.stringify(crd) });
        await kubectlOk(k, ["create", "-f", "-"], {
          stdin: cronTab("at-v2", { cronSpec: "1 * * * *" }, "stable.example.com/v2"),
        });
        const asV1 = JSON.parse(
          await kubectlOk(k, [
            "get",
            "--raw",
            "/apis/stable.example.com/v1/namespaces/default/crontabs/at-v2",
          ]),
        );
        assert.equal(asV1.apiVersion, "stable.example.com/v1");
        assert.equal(asV1.spec.cronSpec, "1 * * * *");
        const asV2 = await getJson("crontabs.v2.stable.example.com", "my-new-cron-object");
        assert.equal(asV2.apiVersion, "stable.example.com/v2");
        const r = await kubectl(k, [
          "patch",
          "crd",
          "crontabs.stable.example.com",
          "--type=merge",
          "-p",
          '{"spec":{"conversion":{"strategy":"Webhook"}}}',
        ]);
        assert.match(
          r.stderr,
          /spec.conversion.strategy: Unsupported value: "Webhook": supported values: "None"/,
        );
      });

      await t.step("a restarted server keeps serving the CRD", async () => {
        await server.stop();
        server = await startTestServer({
          dataDir,
          controllers: false,
          listen: new URL(server.url).host,
        });
        const rows = parseTable(await kubectlOk(k, ["get", "ct"]));
        assert.equal(rowNamed(rows, "my-new-cron-object").REPLICAS, "3");
      });

      await t.step("deleting the CRD deletes its objects and its kind", async () => {
        await kubectlOk(k, ["create", "namespace", "other"]);
        await kubectlOk(k, ["create", "-n", "other", "-f", "-"], {
          stdin: cronTab("elsewhere", { cronSpec: "* * * * *" }),
        });
        await kubectlOk(k, ["delete", "crd", "crontabs.stable.example.com", "--timeout=30s"]);
        await waitKubectl(k, ["get", "crd", "-o", "name"], (s) => !s.includes("crontabs"));
        const r = await kubectl(k, [
          "get",
          "--raw",
          "/apis/stable.example.com/v1/namespaces/other/crontabs",
        ]);
        assert.notEqual(r.code, 0);
        // Re-created, the kind starts empty: the objects were deleted, not hidden.
        await kubectlOk(k, ["apply", "-f", CRD]);
        await waitKubectl(k, ["get", "ct", "-A", "-o", "name"], (s) => s.trim() === "");
      });

      await t.step("names taken by another CRD are refused until it goes", async () => {
        const other = (await Deno.readTextFile(CRD))
          .replace("crontabs.stable.example.com", "crontabz.stable.example.com")
          .replace("plural: crontabs", "plural: crontabz")
          .replace("singular: crontab", "singular: crontabz")
          .replace("- ct\n", "- ctz\n");
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: other });
        const conditions = async () =>
          Object.fromEntries(
            (await getJson("crd", "crontabz.stable.example.com")).status.conditions.map((
              c: Json,
            ) => [c.type, `${c.status}/${c.reason}`]),
          );
        assert.deepEqual(await conditions(), {
          NamesAccepted: "False/KindConflict",
          Established: "False/NotAccepted",
        });
        await kubectlOk(k, ["delete", "crd", "crontabs.stable.example.com", "--timeout=30s"]);
        await waitFor("the freed names accepted", async () => {
          const c = await conditions();
          return c.Established === "True/InitialNamesAccepted" ? c : undefined;
        });
      });
    } finally {
      await server.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "custom resources take part in garbage collection and namespace deletion",
  ignore: !haveKubectl(),
  async fn(t) {
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-crd-gc-" });
    const server = await startTestServer();
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    const uidOf = async (...args: string[]) =>
      (await kubectlOk(k, ["get", ...args, "-o", "jsonpath={.metadata.uid}"])).trim();
    try {
      await kubectlOk(k, ["apply", "-f", CRD]);
      await waitKubectl(k, ["get", "ct", "-o", "name"], () => true);

      await t.step("a custom resource owned by a ConfigMap goes with it", async () => {
        await kubectlOk(k, ["create", "configmap", "owner"]);
        const uid = await uidOf("configmap", "owner");
        await kubectlOk(k, ["create", "-f", "-"], {
          stdin: JSON.stringify({
            apiVersion: "stable.example.com/v1",
            kind: "CronTab",
            metadata: {
              name: "dependent",
              ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid }],
            },
            spec: { cronSpec: "* * * * *" },
          }),
        });
        await kubectlOk(k, ["delete", "configmap", "owner"]);
        await waitKubectl(k, ["get", "ct", "-o", "name"], (s) => !s.includes("dependent"));
      });

      await t.step("a ConfigMap owned by a custom resource goes with it", async () => {
        await kubectlOk(k, ["create", "-f", "-"], {
          stdin: cronTab("owner-ct", { cronSpec: "* * * * *" }),
        });
        const uid = await uidOf("ct", "owner-ct");
        await kubectlOk(k, ["create", "-f", "-"], {
          stdin: JSON.stringify({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: {
              name: "owned-by-ct",
              ownerReferences: [{
                apiVersion: "stable.example.com/v1",
                kind: "CronTab",
                name: "owner-ct",
                uid,
              }],
            },
          }),
        });
        // Foreground: the CronTab waits for its dependents, so both being gone proves the GC
        // knew the custom kind.
        await kubectlOk(k, ["delete", "ct", "owner-ct", "--cascade=foreground", "--timeout=30s"]);
        await waitKubectl(k, ["get", "cm", "-o", "name"], (s) => !s.includes("owned-by-ct"));
      });

      await t.step("deleting a namespace deletes its custom resources", async () => {
        await kubectlOk(k, ["create", "namespace", "crd-ns"]);
        await kubectlOk(k, ["create", "-n", "crd-ns", "-f", "-"], {
          stdin: cronTab("in-ns", { cronSpec: "* * * * *" }),
        });
        await kubectlOk(k, ["delete", "namespace", "crd-ns", "--timeout=60s"]);
        const r = await kubectl(k, ["get", "--raw", "/apis/stable.example.com/v1/crontabs"]);
        assert.equal(JSON.parse(r.stdout).items.length, 0, r.stdout);
      });
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
