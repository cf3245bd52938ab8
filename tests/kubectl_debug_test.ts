/**
 * `kubectl debug` with the real kubectl over a real agent on Docker: an ephemeral container is
 * added to a running pod through `pods/ephemeralcontainers`, sees the target container's processes
 * (`--target`), is reported in `ephemeralContainerStatuses`, answers `logs -c`, and is never
 * restarted; what kube-apiserver refuses about ephemeral containers is refused in its words.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { kubectlOk, waitKubectl } from "./kubectl_helpers.ts";
import { api } from "./test_utils.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test({
  name:
    "kubectl debug adds an ephemeral container to a running pod, sharing the target's processes",
  ignore: !haveKubectl(),
  async fn() {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11"] });
    const k = cluster.kubectl;
    const busybox = cluster.images.busybox;
    try {
      await kubectlOk(k, [
        "run",
        "web",
        `--image=${busybox}`,
        "--",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 1; done",
      ]);
      await waitKubectl(
        k,
        ["get", "pod", "web", "-o", "json"],
        (s) => JSON.parse(s).status.phase === "Running",
        { what: "pod web running", timeoutMs: 90_000 },
      );
      // Not interactive: kubectl adds the container and returns.
      const out = await kubectlOk(k, [
        "debug",
        "web",
        `--image=${busybox}`,
        "--target=web",
        "-c",
        "dbg",
        "--",
        "sh",
        "-c",
        "ps; sleep 3600 & echo $! > /tmp/pid; wait",
      ]);
      assert.match(out, /^Targeting container "web"\./);
      const running = await waitKubectl(
        k,
        ["get", "pod", "web", "-o", "json"],
        (s) => !!JSON.parse(s).status.ephemeralContainerStatuses?.[0]?.state?.running,
        { what: "the ephemeral container running", timeoutMs: 90_000 },
      );
      const pod: Json = JSON.parse(running);
      assert.equal(pod.spec.ephemeralContainers[0].name, "dbg");
      assert.equal(pod.spec.ephemeralContainers[0].targetContainerName, "web");
      assert.equal(pod.status.ephemeralContainerStatuses[0].name, "dbg");
      assert.equal(pod.status.phase, "Running");
      assert.equal(
        pod.status.conditions.find((c: Json) => c.type === "Ready").status,
        "True",
        "an ephemeral container does not count in readiness",
      );
      // It shares the target's PID namespace: the target's shell loop is in its `ps`.
      const logs = await waitKubectl(
        k,
        ["logs", "web", "-c", "dbg"],
        (s) => s.includes("while :; do sleep 1; done"),
        { what: "ps in the debug container showing the target's processes" },
      );
      assert.match(logs, /PID\s+USER/);

      // Interactive (`-i`, what `kubectl debug -it` does without a terminal): kubectl waits for the
      // container and attaches to it.
      const interactive = await kubectlOk(k, [
        "debug",
        "-i",
        "web",
        `--image=${busybox}`,
        "-c",
        "shell",
        "--",
        "sh",
      ], { stdin: "echo hello-from-$(hostname)\nexit 0\n" });
      assert.match(interactive, /hello-from-web/);

      // Ephemeral containers are only ever added (kube-apiserver's words), not on create, and
      // not in templates.
      const path = "/api/v1/namespaces/default/pods/web/ephemeralcontainers";
      const changed: Json = JSON.parse(await kubectlOk(k, ["get", "pod", "web", "-o", "json"]));
      changed.spec.ephemeralContainers[0].image = "other:1";
      // Unconditional: the agent may write the pod's
      // status between the GET and the PUT, and a stale resourceVersion would be a 409 first.
      delete changed.metadata.resourceVersion;
      const r = await api(cluster.server, "PUT", path, { body: changed });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.match(
        (r.body as Json).message,
        /spec\.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed/,
      );
      const created = await api(cluster.server, "POST", "/api/v1/namespaces/default/pods", {
        body: {
          metadata: { name: "eph" },
          spec: {
            containers: [{ name: "a", image: busybox }],
            ephemeralContainers: [{ name: "d", image: busybox }],
          },
        },
      });
      assert.equal(created.status, 422);
      assert.match(
        (created.body as Json).message,
        /spec\.ephemeralContainers: Forbidden: cannot be set on create/,
      );
      const second = await kubectl(k, [
        "debug",
        "web",
        `--image=${busybox}`,
        "-c",
        "dbg2",
        "--profile=legacy",
        "--",
        "true",
      ]);
      assert.equal(second.code, 0, second.stderr);

      // Ephemeral containers that end stay ended: neither is restarted.
      // exec reaches the ephemeral container; its sleep runs in the target's PID namespace, so the
      // target's container can end it.
      const pid = (await kubectlOk(k, ["exec", "web", "-c", "dbg", "--", "cat", "/tmp/pid"]))
        .trim();
      assert.match(pid, /^\d+$/);
      await kubectlOk(k, ["exec", "web", "-c", "web", "--", "kill", pid]);
      await waitKubectl(
        k,
        ["get", "pod", "web", "-o", "json"],
        (s) => {
          const st = JSON.parse(s).status.ephemeralContainerStatuses ?? [];
          return st.length === 3 && st.every((x: Json) => !!x.state.terminated);
        },
        { what: "the ephemeral containers terminated, not restarted", timeoutMs: 90_000 },
      );
    } finally {
      await cluster.stop();
    }
  },
});
