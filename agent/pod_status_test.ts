/** Tests of the kubelet's phase, condition and container-state rules. */

import assert from "node:assert/strict";
import {
  computePodStatus,
  type ContainerInstance,
  type ContainerView,
  oomMayBePending,
  podPhase,
} from "./pod_status.ts";
import type { Pod } from "./pod_types.ts";

function pod(restartPolicy: Pod["spec"]["restartPolicy"] = "Always", names = ["a"]): Pod {
  return {
    metadata: { name: "p", namespace: "d", uid: "u" },
    spec: { restartPolicy, containers: names.map((name) => ({ name, image: "img" })) },
  };
}

function inst(over: Partial<ContainerInstance> = {}): ContainerInstance {
  return {
    id: "c1",
    restartCount: 0,
    running: true,
    created: false,
    exitCode: 0,
    startedAt: "2026-01-01T00:00:00Z",
    oomKilled: false,
    imageID: "sha256:x",
    ...over,
  };
}

function view(p: Pod, over: Partial<ContainerView> = {}): ContainerView {
  return { spec: p.spec.containers[0], ready: true, started: true, ...over };
}

function status(p: Pod, views: ContainerView[], now = new Date("2026-01-01T00:00:10Z")) {
  return computePodStatus(p, {
    hostIP: "127.0.0.11",
    podIP: "172.17.0.2",
    portMappings: [],
    initContainers: [],
    containers: views,
    startTime: "2026-01-01T00:00:00Z",
  }, now);
}

Deno.test("computePodStatus() reports a running, ready pod", () => {
  const p = pod();
  const s = status(p, [view(p, { current: inst() })]);
  assert.equal(s.phase, "Running");
  assert.equal(s.podIP, "172.17.0.2");
  const cs = s.containerStatuses![0];
  assert.deepEqual(cs.state, { running: { startedAt: "2026-01-01T00:00:00Z" } });
  assert.equal(cs.ready, true);
  assert.equal(cs.containerID, "docker://c1");
  const cond = Object.fromEntries(s.conditions!.map((c) => [c.type, c.status]));
  assert.deepEqual(
    [cond.Ready, cond.ContainersReady, cond.Initialized, cond.PodScheduled],
    ["True", "True", "True", "True"],
  );
  assert.equal(s.qosClass, "BestEffort");
});

Deno.test("a crash-looping container keeps the pod Running, waiting, with lastState", () => {
  const p = pod();
  const dead = inst({
    running: false,
    exitCode: 3,
    finishedAt: "2026-01-01T00:00:05Z",
    restartCount: 2,
  });
  const s = status(p, [view(p, {
    current: dead,
    waiting: { reason: "CrashLoopBackOff", message: "back-off 20s" },
    ready: false,
  })]);
  assert.equal(s.phase, "Running");
  const cs = s.containerStatuses![0];
  assert.equal(cs.state.waiting?.reason, "CrashLoopBackOff");
  assert.equal(cs.lastState.terminated?.exitCode, 3);
  assert.equal(cs.lastState.terminated?.reason, "Error");
  assert.equal(cs.restartCount, 2);
  assert.equal(cs.ready, false);
  assert.equal(s.conditions!.find((c) => c.type === "Ready")?.reason, "ContainersNotReady");
});

Deno.test("podPhase() follows the restart policy for finished containers", () => {
  const term = (code: number) => ({
    name: "a",
    state: { terminated: { exitCode: code } },
    lastState: {},
    ready: false,
    restartCount: 0,
    image: "",
    imageID: "",
  });
  assert.equal(podPhase(pod("Never"), [], [term(0)]), "Succeeded");
  assert.equal(podPhase(pod("Never"), [], [term(1)]), "Failed");
  assert.equal(podPhase(pod("OnFailure"), [], [term(0)]), "Succeeded");
  assert.equal(podPhase(pod("OnFailure"), [], [term(1)]), "Running");
  assert.equal(podPhase(pod("Always"), [], [term(0)]), "Running");
  const waiting = { ...term(0), state: { waiting: { reason: "ErrImagePull" } } };
  assert.equal(podPhase(pod("Always"), [], [waiting]), "Pending");
  assert.equal(podPhase(pod("Never"), [term(1)], [waiting]), "Failed", "failed init container");
});

Deno.test("transition times only move when a condition's status changes", () => {
  const p = pod();
  const first = status(p, [view(p, { current: inst(), ready: false })]);
  const later = status(
    { ...p, status: first },
    [view(p, { current: inst(), ready: false })],
    new Date("2026-01-01T00:01:00Z"),
  );
  const t = (s: typeof first) => s.conditions!.find((c) => c.type === "Ready")!.lastTransitionTime;
  assert.equal(t(later), t(first));
  const flipped = status(
    { ...p, status: first },
    [view(p, { current: inst() })],
    new Date("2026-01-01T00:02:00Z"),
  );
  assert.equal(t(flipped), "2026-01-01T00:02:00Z");
});

Deno.test("computePodStatus() holds Ready until every readiness gate is True", () => {
  const p = pod();
  p.spec.readinessGates = [{ conditionType: "example.com/lb" }];
  const ready = (q: Pod) =>
    status(q, [view(q, { current: inst() })]).conditions!.find((c) => c.type === "Ready")!.status;
  assert.equal(ready(p), "False");
  p.status = { conditions: [{ type: "example.com/lb", status: "True" }] };
  assert.equal(ready(p), "True");
});

Deno.test("oomMayBePending(): only a fresh SIGKILL exit without the OOM mark waits", () => {
  const now = Date.parse("2026-12-06T00:00:10Z");
  const info = (state: Record<string, unknown>) =>
    ({
      State: {
        Status: "exited",
        Running: false,
        ExitCode: 137,
        OOMKilled: false,
        FinishedAt: "2026-12-06T00:00:09.500Z",
        ...state,
      },
    }) as unknown as Parameters<typeof oomMayBePending>[0];
  assert.equal(oomMayBePending(info({}), now), true);
  assert.equal(oomMayBePending(info({ OOMKilled: true }), now), false);
  assert.equal(oomMayBePending(info({ ExitCode: 1 }), now), false);
  assert.equal(oomMayBePending(info({ FinishedAt: "2026-12-06T00:00:05Z" }), now), false);
  assert.equal(oomMayBePending(info({ Status: "running", Running: true }), now), false);
});
