/** Tests for the pod subresources' own checks (the streaming itself is in tests/kubectl_pod_io_test.ts). */
import { equal, throws } from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { BadRequestError } from "../../shared/errors.ts";
import { containerName } from "./pod_proxy.ts";

const pod = (containers: string[], inits: string[] = []): KubeObject => ({
  metadata: { name: "web", namespace: "default" },
  spec: {
    containers: containers.map((name) => ({ name })),
    ...(inits.length ? { initContainers: inits.map((name) => ({ name })) } : {}),
  },
});

Deno.test("containerName() takes the only container, or the named one (init containers too)", () => {
  equal(containerName(pod(["a"]), null), "a");
  equal(containerName(pod(["a", "b"]), "b"), "b");
  equal(containerName(pod(["a"], ["setup"]), "setup"), "setup");
});

Deno.test("containerName() asks to choose among several, as Kubernetes words it", () => {
  throws(() => containerName(pod(["a", "b"]), null), {
    name: "BadRequestError",
    message: "a container name must be specified for pod web, choose one of: [a b]",
  });
  throws(
    () => containerName(pod(["a", "b"], ["setup"]), null),
    (e: unknown) =>
      e instanceof BadRequestError &&
      e.message ===
        "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [setup]",
  );
  throws(() => containerName(pod(["a"]), "nope"), /container nope is not valid for pod web/);
});
