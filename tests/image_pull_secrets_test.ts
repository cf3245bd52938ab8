/**
 * Private registries end to end: a real registry with htpasswd users on loopback, a test image
 * pushed to it (and removed locally, so only a pull brings it back), and pods deployed with the
 * real kubectl. Without credentials, or with a wrong password, the pull fails with the registry's
 * words (ErrImagePull, then ImagePullBackOff); with a `kubectl create secret docker-registry`
 * Secret in `imagePullSecrets` — given on the pod, or by its ServiceAccount — the pod runs.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk, waitKubectl, writeManifest } from "./kubectl_helpers.ts";
import { haveRegistry, startTestRegistry } from "./registry.ts";
import { ensureTestImages } from "./images.ts";
import { waitFor } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const PASSWORD = `pw-${crypto.randomUUID().slice(0, 8)}`;

function podManifest(
  name: string,
  image: string,
  options: { pullPolicy?: string; spec?: Record<string, unknown> } = {},
): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: "app",
        image,
        imagePullPolicy: options.pullPolicy,
        command: ["sleep", "3600"],
      }],
      ...options.spec,
    },
  });
}

Deno.test({
  name:
    "imagePullSecrets: a private registry's image runs with the pod's or its ServiceAccount's pull secret, and fails without",
  ignore: !haveKubectl() || !haveRegistry(),
  async fn(t) {
    const images = await ensureTestImages();
    const registry = await startTestRegistry({
      address: "127.0.7.2",
      users: { alice: PASSWORD },
      dirPrefix: "hreg-registry",
    });
    const tag = crypto.randomUUID().slice(0, 8);
    const serverDir = await Deno.makeTempDir({ dir: "/tmp", prefix: "hreg-server-" });
    let cluster: Awaited<ReturnType<typeof startTestCluster>> | undefined;
    try {
      const image = await registry.push(images.busybox, `hreg/app:${tag}`);
      const imageForSa = await registry.push(images.busybox, `hreg/app:${tag}-sa`);
      cluster = await startTestCluster({
        dataDir: serverDir,
        nodeAddresses: ["127.0.7.11"],
        nodeNamePrefix: "hreg",
        clusterCidr: "10.153.0.0/16",
        serviceCidr: "127.0.7.128/25",
      });
      const k = cluster.kubectl;
      const dir = await Deno.makeTempDir({ dir: cluster.nodes[0].dataDir });
      const apply = async (name: string, text: string) =>
        await kubectlOk(k, ["apply", "-f", await writeManifest(dir, `${name}.json`, text)]);
      const getPod = async (name: string): Promise<Json> =>
        JSON.parse(await kubectlOk(k, ["get", "pod", name, "-o", "json"]));
      const waiting = async (name: string, reason: string) => {
        await waitKubectl(
          k,
          [
            "get",
            "pod",
            name,
            "-o",
            "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
          ],
          (out) => out === reason,
          { what: `pod ${name} ${reason}` },
        );
        return (await getPod(name)).status.containerStatuses[0].state.waiting.message as string;
      };
      /** Waits for an event of pod `name` (`<reason>: <message>`) that `test` accepts. */
      const event = async (name: string, test: (e: string) => boolean) => {
        let seen: string[] = [];
        await waitFor(`an event of pod ${name}`, async () => {
          const list = JSON.parse(
            await kubectlOk(k, [
              "get",
              "events",
              "--field-selector",
              `involvedObject.name=${name}`,
              "-o",
              "json",
            ]),
          );
          seen = (list.items as Json[]).map((e) => `${e.reason}: ${e.message}`);
          return seen.some(test);
        }, { timeoutMs: 30_000, intervalMs: 250 }).catch((e) => {
          throw new Error(`${e.message}; events:\n${seen.join("\n")}`);
        });
      };
      const pullFailed = (reason: RegExp) => (e: string) =>
        e.startsWith(`Failed: Failed to pull image "${image}": `) && reason.test(e);
      const secretArgs = (name: string, password: string) => [
        "create",
        "secret",
        "docker-registry",
        name,
        `--docker-server=${registry.host}`,
        "--docker-username=alice",
        `--docker-password=${password}`,
      ];
      await kubectlOk(k, secretArgs("regcred", PASSWORD));
      await kubectlOk(k, secretArgs("wrongcred", "not-the-password"));

      await t.step("without a pull secret the registry refuses the anonymous pull", async () => {
        await apply("anonymous", podManifest("anonymous", image));
        const message = await waiting("anonymous", "ImagePullBackOff");
        assert.match(message, /no basic auth credentials/);
        await event("anonymous", pullFailed(/no basic auth credentials/));
        await event("anonymous", (e) => e === "Failed: Error: ErrImagePull");
        assert.equal((await getPod("anonymous")).status.phase, "Pending");
      });

      await t.step(
        "a wrong password fails with the registry's words; a missing secret is named",
        async () => {
          await apply(
            "wrong",
            podManifest("wrong", image, {
              spec: { imagePullSecrets: [{ name: "absent" }, { name: "wrongcred" }] },
            }),
          );
          await waiting("wrong", "ImagePullBackOff");
          await event("wrong", pullFailed(/unauthorized: authentication required/));
          await event(
            "wrong",
            (e) =>
              e ===
                "FailedToRetrieveImagePullSecret: Unable to retrieve some image pull secrets (absent); attempting to pull the image may not succeed.",
          );
        },
      );

      await t.step("with the right pull secret the image is pulled and the pod runs", async () => {
        await apply(
          "private",
          podManifest("private", image, { spec: { imagePullSecrets: [{ name: "regcred" }] } }),
        );
        await kubectlOk(k, ["wait", "--for=condition=Ready", "pod/private", "--timeout=60s"]);
        await event("private", (e) => e.startsWith(`Pulled: Successfully pulled image "${image}"`));
      });

      await t.step(
        "IfNotPresent uses the image now present without credentials, as the kubelet",
        async () => {
          await apply("cached", podManifest("cached", image, { pullPolicy: "IfNotPresent" }));
          await kubectlOk(k, ["wait", "--for=condition=Ready", "pod/cached", "--timeout=60s"]);
          await event(
            "cached",
            (e) => e === `Pulled: Container image "${image}" already present on machine`,
          );
        },
      );

      await t.step(
        "Always asks the registry every time: the present image does not run without credentials",
        async () => {
          await apply("always", podManifest("always", image, { pullPolicy: "Always" }));
          assert.match(await waiting("always", "ImagePullBackOff"), /no basic auth credentials/);
        },
      );

      await t.step("a ServiceAccount's imagePullSecrets are given to its pods", async () => {
        await kubectlOk(k, ["create", "serviceaccount", "puller"]);
        await kubectlOk(k, [
          "patch",
          "serviceaccount",
          "puller",
          "-p",
          JSON.stringify({ imagePullSecrets: [{ name: "regcred" }] }),
        ]);
        await apply(
          "by-sa",
          podManifest("by-sa", imageForSa, { spec: { serviceAccountName: "puller" } }),
        );
        assert.deepEqual((await getPod("by-sa")).spec.imagePullSecrets, [{ name: "regcred" }]);
        await kubectlOk(k, ["wait", "--for=condition=Ready", "pod/by-sa", "--timeout=60s"]);
        await event(
          "by-sa",
          (e) => e.startsWith(`Pulled: Successfully pulled image "${imageForSa}"`),
        );
      });
    } finally {
      await cluster?.stop();
      await registry.stop();
      await Deno.remove(serverDir, { recursive: true }).catch(() => {});
    }
  },
});
