/** Tests of a pod's resource totals with sidecars, as Kubernetes' PodRequests adds them up. */
import assert from "node:assert/strict";
import { isSidecar, podTotal } from "./pod_resources.ts";

interface C {
  n: number;
  restartPolicy?: string;
}

Deno.test("podTotal() sums app containers and sidecars, and keeps what an init container needs beside its sidecars", () => {
  const amount = (c: C) => c.n;
  assert.equal(podTotal<C>({ containers: [{ n: 1 }, { n: 2 }] }, amount), 3);
  // A regular init container runs alone: the larger of it and the app containers.
  assert.equal(podTotal<C>({ containers: [{ n: 1 }], initContainers: [{ n: 5 }] }, amount), 5);
  // Sidecars run beside everything after them: 2 + 1 for the apps; 2 + 4 while `init` runs.
  const spec = {
    initContainers: [{ n: 2, restartPolicy: "Always" }, { n: 4 }],
    containers: [{ n: 1 }],
  };
  assert.equal(podTotal<C>(spec, amount), 6);
  assert.equal(podTotal<C>({ ...spec, containers: [{ n: 10 }] }, amount), 12);
  // A sidecar after the init container does not run beside it.
  assert.equal(
    podTotal<C>({
      initContainers: [{ n: 4 }, { n: 2, restartPolicy: "Always" }],
      containers: [{ n: 1 }],
    }, amount),
    4,
  );
  assert.equal(isSidecar({ restartPolicy: "Always" }), true);
  assert.equal(isSidecar({}), false);
});
