/**
 * CRD validation rules (`x-kubernetes-validations`) with the real kubectl against a real server:
 * a CRD whose rule does not compile is refused with the rule's field path; the docs' CronTab
 * rules (`minReplicas <= replicas <= maxReplicas`) refuse a custom resource in Kubernetes'
 * words; a transition rule (`self == oldSelf`) makes a field immutable on update but lets the
 * create through, while other fields still change; an ip/cidr library rule refuses a subnet
 * outside 10.0.0.0/8; a format library rule refuses a host that is not a DNS label, in the words
 * of its messageExpression.
 */
import assert from "node:assert/strict";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, waitKubectl } from "./kubectl_helpers.ts";
import { startTestServer } from "./test_utils.ts";

function crd(rules: Record<string, unknown>[]): string {
  return JSON.stringify({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "crontabs.cel.example.com" },
    spec: {
      group: "cel.example.com",
      scope: "Namespaced",
      names: { plural: "crontabs", singular: "crontab", kind: "CronTab" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                "x-kubernetes-validations": rules,
                properties: {
                  cronSpec: { type: "string" },
                  replicas: { type: "integer" },
                  minReplicas: { type: "integer" },
                  maxReplicas: { type: "integer" },
                  host: {
                    type: "string",
                    "x-kubernetes-validations": [{
                      rule: "!format.dns1123Label().validate(self).hasValue()",
                      messageExpression:
                        "'host: ' + format.dns1123Label().validate(self).value().join('; ')",
                    }],
                  },
                  subnet: {
                    type: "string",
                    "x-kubernetes-validations": [{
                      rule: 'isCIDR(self) && cidr("10.0.0.0/8").containsCIDR(self)',
                      message: "subnet must be a CIDR inside 10.0.0.0/8",
                    }],
                  },
                  owner: {
                    type: "string",
                    "x-kubernetes-validations": [
                      { rule: "self == oldSelf", message: "owner is immutable" },
                    ],
                  },
                },
              },
            },
          },
        },
      }],
    },
  });
}

const cronTab = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: "cel.example.com/v1",
    kind: "CronTab",
    metadata: { name, namespace: "default" },
    spec,
  });

/** `kubectl create` of `bad` fails with stderr matching `words`; then `good` is created. */
async function refusedThenCreated(
  k: Parameters<typeof kubectl>[0],
  bad: string,
  words: RegExp,
  good: string,
): Promise<void> {
  const r = await kubectl(k, ["create", "-f", "-"], { stdin: bad });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, words);
  await kubectlOk(k, ["create", "-f", "-"], { stdin: good });
}

Deno.test({
  name: "kubectl: CRD validation rules refuse bad CRDs and bad custom resources",
  ignore: !haveKubectl(),
  async fn(t) {
    const cacheDir = await Deno.makeTempDir({ prefix: "skiff-cel-kubectl-" });
    const server = await startTestServer({ controllers: false });
    const k = { kubeconfigPath: server.kubeconfigPath, cacheDir };
    try {
      await t.step("a rule that does not compile refuses the CRD", async () => {
        const r = await kubectl(k, ["create", "-f", "-"], {
          stdin: crd([{ rule: "self.replicas <=" }]),
        });
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\[spec\]\.x-kubernetes-validations\[0\]\.rule: Invalid value: "self\.replicas <=": compilation failed/,
        );
      });

      await t.step("the docs' rules: a CronTab out of its bounds is refused", async () => {
        await kubectlOk(k, ["create", "-f", "-"], {
          stdin: crd([
            {
              rule: "self.minReplicas <= self.replicas",
              message: "replicas should be greater than or equal to minReplicas.",
            },
            {
              rule: "self.replicas <= self.maxReplicas",
              message: "replicas should be smaller than or equal to maxReplicas.",
            },
          ]),
        });
        await waitKubectl(
          k,
          ["api-resources", "--api-group=cel.example.com"],
          (s) => s.includes("crontabs"),
        );
        await refusedThenCreated(
          k,
          cronTab("too-many", { minReplicas: 0, replicas: 20, maxReplicas: 10 }),
          /The CronTab "too-many" is invalid: spec: Invalid value: "object": replicas should be smaller than or equal to maxReplicas\./,
          cronTab("ok", { minReplicas: 0, replicas: 2, maxReplicas: 10, owner: "ann" }),
        );
      });

      await t.step("a cidr rule refuses a subnet outside its range", async () => {
        const inBounds = { minReplicas: 0, replicas: 1, maxReplicas: 2 };
        await refusedThenCreated(
          k,
          cronTab("elsewhere", { ...inBounds, subnet: "192.168.0.0/16" }),
          /spec\.subnet: Invalid value: "string": subnet must be a CIDR inside 10\.0\.0\.0\/8/,
          cronTab("inside", { ...inBounds, subnet: "10.1.0.0/16" }),
        );
      });

      await t.step("a format rule refuses a host that is not a DNS label", async () => {
        const inBounds = { minReplicas: 0, replicas: 1, maxReplicas: 2 };
        await refusedThenCreated(
          k,
          cronTab("badhost", { ...inBounds, host: "Not_A_Label" }),
          /spec\.host: Invalid value: "string": host: a lowercase RFC 1123 label must consist of/,
          cronTab("goodhost", { ...inBounds, host: "edge-1" }),
        );
      });

      await t.step("a transition rule keeps a field immutable after the create", async () => {
        const r = await kubectl(k, [
          "patch",
          "crontab",
          "ok",
          "--type=merge",
          "-p",
          '{"spec":{"owner":"bob"}}',
        ]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /spec\.owner: Invalid value: "string": owner is immutable/);
        await kubectlOk(k, [
          "patch",
          "crontab",
          "ok",
          "--type=merge",
          "-p",
          '{"spec":{"replicas":3}}',
        ]);
        const replicas = await kubectlOk(k, [
          "get",
          "crontab",
          "ok",
          "-o",
          "jsonpath={.spec.replicas}",
        ]);
        assert.equal(replicas, "3");
      });
    } finally {
      await server.stop();
      await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    }
  },
});
