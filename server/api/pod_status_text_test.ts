import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { podStatusSummary } from "./pod_status_text.ts";

const now = new Date("2026-11-28T12:00:00Z");

function pod(spec: object, status: object, metadata: object = {}): KubeObject {
  return { metadata: { name: "p", ...metadata }, spec, status };
}

const oneContainer = { containers: [{ name: "c", image: "i" }] };

Deno.test("a pending pod without container statuses shows Pending", () => {
  const s = podStatusSummary(pod(oneContainer, { phase: "Pending" }), now);
  assert.deepEqual([s.ready, s.status, s.restartsText], ["0/1", "Pending", "0"]);
});

Deno.test("a waiting reason (ContainerCreating, ImagePullBackOff, ErrImagePull) shows as STATUS", () => {
  for (const reason of ["ContainerCreating", "ImagePullBackOff", "ErrImagePull"]) {
    const s = podStatusSummary(
      pod(oneContainer, {
        phase: "Pending",
        containerStatuses: [{
          name: "c",
          ready: false,
          restartCount: 0,
          state: { waiting: { reason } },
        }],
      }),
      now,
    );
    assert.equal(s.status, reason);
    assert.equal(s.ready, "0/1");
  }
});

Deno.test("a running ready pod shows Running 1/1", () => {
  const s = podStatusSummary(
    pod(oneContainer, {
      phase: "Running",
      containerStatuses: [{
        name: "c",
        ready: true,
        restartCount: 0,
        state: { running: { startedAt: "2026-11-28T11:00:00Z" } },
      }],
    }),
    now,
  );
  assert.deepEqual([s.ready, s.status, s.restartsText], ["1/1", "Running", "0"]);
});

Deno.test("CrashLoopBackOff with restarts shows when the last restart was", () => {
  const s = podStatusSummary(
    pod(oneContainer, {
      phase: "Running",
      containerStatuses: [{
        name: "c",
        ready: false,
        restartCount: 2,
        state: { waiting: { reason: "CrashLoopBackOff" } },
        lastState: {
          terminated: { exitCode: 1, reason: "Error", finishedAt: "2026-11-28T11:55:00Z" },
        },
      }],
    }),
    now,
  );
  assert.deepEqual([s.ready, s.status, s.restarts, s.restartsText], [
    "0/1",
    "CrashLoopBackOff",
    2,
    "2 (5m ago)",
  ]);
});

Deno.test("terminated containers: Completed, Error, OOMKilled, ExitCode:N, Signal:N", () => {
  const cases: [object, string][] = [
    [{ exitCode: 0, reason: "Completed" }, "Completed"],
    [{ exitCode: 1, reason: "Error" }, "Error"],
    [{ exitCode: 137, reason: "OOMKilled" }, "OOMKilled"],
    [{ exitCode: 3 }, "ExitCode:3"],
    [{ exitCode: 0, signal: 9 }, "Signal:9"],
  ];
  for (const [terminated, want] of cases) {
    const s = podStatusSummary(
      pod(oneContainer, {
        phase: "Succeeded",
        containerStatuses: [{ name: "c", ready: false, restartCount: 0, state: { terminated } }],
      }),
      now,
    );
    assert.equal(s.status, want);
  }
});

Deno.test("a pod being deleted shows Terminating; on a lost node, Unknown", () => {
  const running = {
    phase: "Running",
    containerStatuses: [{ name: "c", ready: true, restartCount: 0, state: { running: {} } }],
  };
  const deleting = { deletionTimestamp: "2026-11-28T11:59:00Z" };
  assert.equal(podStatusSummary(pod(oneContainer, running, deleting), now).status, "Terminating");
  assert.equal(
    podStatusSummary(pod(oneContainer, { ...running, reason: "NodeLost" }, deleting), now).status,
    "Unknown",
  );
  assert.equal(
    podStatusSummary(pod(oneContainer, { phase: "Succeeded" }, deleting), now).status,
    "Succeeded",
    "finished pods are not Terminating",
  );
});

Deno.test("init containers: Init:x/y, Init:<reason>, Init:ExitCode, then PodInitializing", () => {
  const spec = {
    initContainers: [{ name: "i1" }, { name: "i2" }],
    containers: [{ name: "c" }],
  };
  const done = { name: "i1", restartCount: 0, state: { terminated: { exitCode: 0 } } };
  assert.equal(
    podStatusSummary(
      pod(spec, {
        phase: "Pending",
        initContainerStatuses: [done, { name: "i2", restartCount: 0, state: { running: {} } }],
      }),
      now,
    ).status,
    "Init:1/2",
  );
  assert.equal(
    podStatusSummary(
      pod(spec, {
        phase: "Pending",
        initContainerStatuses: [{
          name: "i1",
          restartCount: 0,
          state: { waiting: { reason: "ErrImagePull" } },
        }, { name: "i2", state: {} }],
      }),
      now,
    ).status,
    "Init:ErrImagePull",
  );
  assert.equal(
    podStatusSummary(
      pod(spec, {
        phase: "Pending",
        initContainerStatuses: [{ name: "i1", state: { terminated: { exitCode: 2 } } }],
      }),
      now,
    ).status,
    "Init:ExitCode:2",
  );
  assert.equal(
    podStatusSummary(
      pod(spec, {
        phase: "Pending",
        initContainerStatuses: [done, { ...done, name: "i2" }],
        containerStatuses: [{ name: "c", state: { waiting: { reason: "PodInitializing" } } }],
      }),
      now,
    ).status,
    "PodInitializing",
  );
});

Deno.test("a running sidecar init container counts towards READY", () => {
  const spec = {
    initContainers: [{ name: "side", restartPolicy: "Always" }],
    containers: [{ name: "c" }],
  };
  const s = podStatusSummary(
    pod(spec, {
      phase: "Running",
      conditions: [{ type: "Initialized", status: "True" }, { type: "Ready", status: "True" }],
      initContainerStatuses: [{
        name: "side",
        started: true,
        ready: true,
        restartCount: 1,
        state: { running: {} },
      }],
      containerStatuses: [{ name: "c", ready: true, restartCount: 0, state: { running: {} } }],
    }),
    now,
  );
  assert.deepEqual([s.ready, s.status, s.restartsText], ["2/2", "Running", "1"]);
});

Deno.test("the pod's own reason (Evicted) overrides the phase", () => {
  assert.equal(
    podStatusSummary(pod(oneContainer, { phase: "Failed", reason: "Evicted" }), now).status,
    "Evicted",
  );
});
