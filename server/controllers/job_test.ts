import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import { callsOf, eventLines, lastStatus } from "./_recorded_test_util.ts";
import { JobReconciler } from "./job.ts";
import { formatIndexes, parseIndexes } from "./job_utils.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const T0 = "2026-01-01T00:00:00Z";
const FINALIZER = "batch.kubernetes.io/job-tracking";

function job(spec: Obj = {}, status: Obj = {}, metadata: Obj = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: "pi",
      namespace: "default",
      uid: "job-uid",
      resourceVersion: "10",
      creationTimestamp: T0,
      ...metadata,
    },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      podReplacementPolicy: "TerminatingOrFailed",
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "job-uid" } },
      template: {
        metadata: { labels: { "batch.kubernetes.io/controller-uid": "job-uid" } },
        spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "busybox" }] },
      },
      ...spec,
    },
    status,
  };
}

interface PodOptions {
  phase?: string;
  index?: number;
  finalizer?: boolean;
  exitCode?: number;
  deleting?: boolean;
  /** The node has finished with the deleted pod (it deleted it with grace 0). */
  graceZero?: boolean;
  ready?: boolean;
  created?: string;
}

function pod(name: string, o: PodOptions = {}): KubeObject {
  const p: KubeObject = {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      creationTimestamp: o.created ?? T0,
      labels: { "batch.kubernetes.io/controller-uid": "job-uid" },
      finalizers: o.finalizer === false ? [] : [FINALIZER],
      ownerReferences: [{
        apiVersion: "batch/v1",
        kind: "Job",
        name: "pi",
        uid: "job-uid",
        controller: true,
      }],
    },
    spec: { nodeName: "n1" },
    status: { phase: o.phase ?? "Running" },
  };
  if (o.index !== undefined) {
    p.metadata.annotations = { "batch.kubernetes.io/job-completion-index": String(o.index) };
  }
  if (o.deleting) {
    p.metadata.deletionTimestamp = T0;
    p.metadata.deletionGracePeriodSeconds = o.graceZero ? 0 : 30;
  }
  if (o.ready) p.status.conditions = [{ type: "Ready", status: "True" }];
  if (o.exitCode !== undefined) {
    p.status.containerStatuses = [{
      name: "pi",
      restartCount: 0,
      state: { terminated: { exitCode: o.exitCode, finishedAt: T0 } },
    }];
  }
  return p;
}

function setup(jobs: KubeObject[], pods: KubeObject[], clock = new FakeClock()) {
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const controller = new JobReconciler({
    listers: { jobs: new FakeLister(jobs), pods: new FakeLister(pods) },
    client,
    recorder,
    clock,
  });
  return { client, recorder, controller, clock };
}

function conditionTypes(status: Obj | undefined): string[] {
  return (status?.conditions ?? []).filter((c: Obj) => c.status === "True").map((c: Obj) =>
    `${c.type}:${c.reason}`
  );
}

interface Case {
  name: string;
  job: KubeObject;
  pods?: KubeObject[];
  /** Pod names (generateName + counter) created, in order. */
  creates?: number;
  deletes?: string[];
  finalizerPatches?: string[];
  status?: Obj;
  conditions?: string[];
  events?: string[];
  requeue?: number;
}

const CASES: Case[] = [
  {
    name: "a new Job gets its pod with the tracking finalizer and a start time",
    job: job(),
    creates: 1,
    status: { startTime: T0, active: 1, ready: 0, terminating: 0, succeeded: 0, failed: 0 },
    events: ["Normal SuccessfulCreate Created pod: pi-00001"],
  },
  {
    name: "a running ready pod is counted active and ready, nothing is created",
    job: job({}, { startTime: T0 }),
    pods: [pod("pi-a", { ready: true })],
    creates: 0,
    status: { active: 1, ready: 1 },
  },
  {
    name: "a succeeded pod is counted, released, and the Job completes",
    job: job({}, { startTime: T0, active: 1 }),
    pods: [pod("pi-a", { phase: "Succeeded", exitCode: 0 })],
    creates: 0,
    finalizerPatches: ["pi-a"],
    status: { succeeded: 1, failed: 0, active: 0, completionTime: T0, uncountedTerminatedPods: {} },
    conditions: ["SuccessCriteriaMet:CompletionsReached", "Complete:CompletionsReached"],
    events: ["Normal Completed Job completed"],
  },
  {
    name: "a failure past backoffLimit fails the Job",
    job: job({ backoffLimit: 0 }, { startTime: T0 }),
    pods: [pod("pi-a", { phase: "Failed", exitCode: 1 })],
    creates: 0,
    finalizerPatches: ["pi-a"],
    status: { failed: 1, succeeded: 0 },
    conditions: ["FailureTarget:BackoffLimitExceeded", "Failed:BackoffLimitExceeded"],
    events: ["Warning BackoffLimitExceeded Job has reached the specified backoff limit"],
  },
  {
    name: "a failure within backoffLimit waits out the 10 s back-off before a new pod",
    job: job({ backoffLimit: 2 }, { startTime: T0 }),
    pods: [pod("pi-a", { phase: "Failed", exitCode: 1 })],
    creates: 0,
    finalizerPatches: ["pi-a"],
    status: { failed: 1, active: 0 },
    conditions: [],
    requeue: 10_000,
  },
  {
    name: "Indexed: one pod per pending index, with index annotation, env and hostname",
    job: job({ completionMode: "Indexed", completions: 3, parallelism: 2 }, {
      startTime: T0,
      completedIndexes: "0",
      succeeded: 1,
    }),
    creates: 2,
    status: { completedIndexes: "0", succeeded: 1 },
  },
  {
    name: "Indexed: a succeeded index joins completedIndexes; the Job completes with all",
    job: job({ completionMode: "Indexed", completions: 2, parallelism: 2 }, {
      startTime: T0,
      completedIndexes: "1",
      succeeded: 1,
    }),
    pods: [pod("pi-0-a", { phase: "Succeeded", index: 0 })],
    finalizerPatches: ["pi-0-a"],
    // Kubernetes writes a run of two indexes as "0,1", not "0-1".
    status: { completedIndexes: "0,1", succeeded: 2 },
    conditions: ["SuccessCriteriaMet:CompletionsReached", "Complete:CompletionsReached"],
  },
  {
    name: "Indexed: a duplicate of an index is deleted",
    job: job({ completionMode: "Indexed", completions: 2, parallelism: 2 }, { startTime: T0 }),
    pods: [
      pod("pi-0-a", { index: 0, ready: true }),
      pod("pi-0-b", { index: 0, created: "2026-01-01T00:00:05Z" }),
      pod("pi-1-a", { index: 1 }),
    ],
    deletes: ["pi-0-b"],
    creates: 0,
  },
  {
    name: "past activeDeadlineSeconds the active pods are deleted and the Job is failing",
    job: job({ activeDeadlineSeconds: 5 }, { startTime: "2025-12-31T23:59:00Z" }),
    pods: [pod("pi-a")],
    deletes: ["pi-a"],
    creates: 0,
    status: { active: 0, terminating: 1 },
    conditions: ["FailureTarget:DeadlineExceeded"],
  },
  {
    name: "a failing Job waits for its terminating pods before Failed",
    job: job({ activeDeadlineSeconds: 5 }, {
      startTime: "2025-12-31T23:59:00Z",
      conditions: [{
        type: "FailureTarget",
        status: "True",
        reason: "DeadlineExceeded",
        message: "Job was active longer than specified deadline",
      }],
    }),
    pods: [pod("pi-a", { deleting: true })],
    finalizerPatches: ["pi-a"],
    status: { failed: 1, terminating: 1 },
    conditions: ["FailureTarget:DeadlineExceeded"],
  },
  {
    name: "a failing Job whose pods are gone gets Failed",
    job: job({ activeDeadlineSeconds: 5 }, {
      startTime: "2025-12-31T23:59:00Z",
      conditions: [{
        type: "FailureTarget",
        status: "True",
        reason: "DeadlineExceeded",
        message: "Job was active longer than specified deadline",
      }],
    }),
    pods: [pod("pi-a", { deleting: true, graceZero: true })],
    finalizerPatches: ["pi-a"],
    status: { failed: 1 },
    conditions: ["FailureTarget:DeadlineExceeded", "Failed:DeadlineExceeded"],
    events: ["Warning DeadlineExceeded Job was active longer than specified deadline"],
  },
  {
    name: "a suspended Job deletes its active pods and is Suspended, without failures",
    job: job({ suspend: true }, { startTime: T0 }),
    pods: [pod("pi-a"), pod("pi-b", { deleting: true })],
    deletes: ["pi-a"],
    finalizerPatches: ["pi-b"],
    creates: 0,
    status: { failed: 0 },
    conditions: ["Suspended:JobSuspended"],
    events: ["Normal Suspended Job suspended"],
  },
  {
    name: "podFailurePolicy FailJob on an exit code fails the Job at once",
    job: job({
      backoffLimit: 6,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [42] } }],
      },
    }, { startTime: T0 }),
    pods: [pod("pi-a", { phase: "Failed", exitCode: 42 })],
    finalizerPatches: ["pi-a"],
    creates: 0,
    conditions: ["FailureTarget:PodFailurePolicy", "Failed:PodFailurePolicy"],
    events: [
      "Warning PodFailurePolicy Container pi for pod default/pi-a failed with exit code 42 " +
      "matching FailJob rule at index 0",
    ],
  },
  {
    name: "podFailurePolicy Ignore: the failure is not counted and a new pod starts at once",
    job: job({
      backoffLimit: 0,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [{ action: "Ignore", onExitCodes: { operator: "In", values: [3] } }],
      },
    }, { startTime: T0 }),
    pods: [pod("pi-a", { phase: "Failed", exitCode: 3 })],
    finalizerPatches: ["pi-a"],
    creates: 1,
    status: { failed: 0 },
    conditions: [],
  },
  {
    name: "without completions, the first success ends the Job once the others finish",
    job: job({ completions: undefined, parallelism: 2 }, { startTime: T0 }),
    pods: [pod("pi-a", { phase: "Succeeded" }), pod("pi-b", { phase: "Succeeded" })],
    finalizerPatches: ["pi-a", "pi-b"],
    creates: 0,
    status: { succeeded: 2 },
    conditions: ["SuccessCriteriaMet:CompletionsReached", "Complete:CompletionsReached"],
  },
  {
    name: "pods already counted (no finalizer) are not counted again",
    job: job({ completions: 2 }, { startTime: T0, succeeded: 1 }),
    pods: [pod("pi-a", { phase: "Succeeded", finalizer: false })],
    creates: 1,
    status: { succeeded: 1 },
  },
];

for (const c of CASES) {
  Deno.test(`JobReconciler.reconcile(): ${c.name}`, async () => {
    const { client, recorder, controller } = setup([c.job], c.pods ?? []);
    const requeue = await controller.reconcile("default/pi");
    if (c.creates !== undefined) {
      assert.equal(callsOf(client, "create").length, c.creates, "pods created");
    }
    if (c.deletes) {
      assert.deepEqual(callsOf(client, "delete").map((d) => d.name), c.deletes, "pods deleted");
    }
    if (c.finalizerPatches) {
      assert.deepEqual(callsOf(client, "patch").map((p) => p.name), c.finalizerPatches);
      for (const p of callsOf(client, "patch")) {
        assert.deepEqual(p.body, {
          metadata: { "$deleteFromPrimitiveList/finalizers": [FINALIZER] },
        });
      }
    }
    const status = lastStatus(client);
    for (const [k, v] of Object.entries(c.status ?? {})) {
      assert.deepEqual(status?.[k], v, `status.${k}`);
    }
    if (c.conditions) assert.deepEqual(conditionTypes(status), c.conditions);
    if (c.events) {
      for (const e of c.events) {
        assert.ok(eventLines(recorder).includes(e), `${e} in ${eventLines(recorder)}`);
      }
    }
    if (c.requeue !== undefined) assert.equal(requeue, c.requeue);
  });
}

Deno.test("JobReconciler: Indexed pods carry the index as annotation, label, env and hostname", async () => {
  const { client, controller } = setup([
    job({ completionMode: "Indexed", completions: 2, parallelism: 2 }, { startTime: T0 }),
  ], []);
  await controller.reconcile("default/pi");
  const created = callsOf(client, "create").map((c) => c.body as KubeObject);
  assert.deepEqual(created.map((p) => p.metadata.generateName), ["pi-0-", "pi-1-"]);
  const p1 = created[1];
  assert.equal(p1.metadata.annotations?.["batch.kubernetes.io/job-completion-index"], "1");
  assert.equal(p1.metadata.labels?.["batch.kubernetes.io/job-completion-index"], "1");
  assert.equal(p1.spec.hostname, "pi-1");
  assert.deepEqual(p1.spec.containers[0].env, [{
    name: "JOB_COMPLETION_INDEX",
    valueFrom: {
      fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" },
    },
  }]);
  assert.deepEqual(p1.metadata.finalizers, [FINALIZER]);
  assert.equal(p1.metadata.ownerReferences?.[0].uid, "job-uid");
});

Deno.test("JobReconciler: the back-off lets a new pod start once it has passed", async () => {
  const clock = new FakeClock();
  const failed = pod("pi-a", { phase: "Failed", exitCode: 1 });
  const jobs = new FakeLister([job({ backoffLimit: 3 }, { startTime: T0 })]);
  const pods = new FakeLister([failed]);
  const client = new RecordingClient();
  const controller = new JobReconciler({
    listers: { jobs, pods },
    client,
    recorder: new FakeRecorder(),
    clock,
  });
  assert.equal(await controller.reconcile("default/pi"), 10_000);
  assert.equal(callsOf(client, "create").length, 0);
  // The informers catch up: the failure is counted, the finalizer gone.
  const released = { ...failed, metadata: { ...failed.metadata, finalizers: [] } };
  controller.observePod(released, "update");
  pods.set(released);
  jobs.set(job({ backoffLimit: 3 }, { startTime: T0, failed: 1 }));
  clock.advance(4_000);
  assert.equal(await controller.reconcile("default/pi"), 6_000);
  assert.equal(callsOf(client, "create").length, 0);
  clock.advance(6_000);
  assert.equal(await controller.reconcile("default/pi"), undefined);
  assert.equal(callsOf(client, "create").length, 1);
});

Deno.test("JobReconciler: a finished Job is deleted after ttlSecondsAfterFinished", async () => {
  const clock = new FakeClock(Date.parse(T0) + 4_000);
  const done = job({ ttlSecondsAfterFinished: 5 }, {
    completionTime: T0,
    conditions: [{ type: "Complete", status: "True", lastTransitionTime: T0 }],
  });
  const s = setup([done], [], clock);
  assert.equal(await s.controller.reconcile("default/pi"), 1_000);
  assert.equal(callsOf(s.client, "delete").length, 0);
  clock.advance(1_000);
  await s.controller.reconcile("default/pi");
  assert.deepEqual(callsOf(s.client, "delete").map((d) => [d.resource, d.name]), [["jobs", "pi"]]);
});

Deno.test("JobReconciler: pods of a deleted Job lose the tracking finalizer", async () => {
  const s = setup([], [pod("pi-a", { phase: "Succeeded" }), pod("pi-b")]);
  await s.controller.reconcile("default/pi");
  assert.deepEqual(callsOf(s.client, "patch").map((p) => p.name), ["pi-a", "pi-b"]);
});

Deno.test("JobReconciler: a Job managed by another controller is left alone", async () => {
  const s = setup([job({ managedBy: "example.com/other" })], []);
  await s.controller.reconcile("default/pi");
  assert.equal(s.client.calls.length, 0);
});

Deno.test("completedIndexes notation round-trips", () => {
  // As the job controller's orderedIntervals: runs of three or more as a-b, of two as a,b.
  assert.equal(formatIndexes([5, 0, 1, 2, 7, 8]), "0-2,5,7,8");
  assert.equal(formatIndexes([3, 4]), "3,4");
  assert.equal(formatIndexes([]), "");
  assert.deepEqual([...parseIndexes("0-2,5,7-8", 8)], [0, 1, 2, 5, 7]);
});
