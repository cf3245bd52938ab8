import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import { callsOf, eventLines, lastStatus } from "./_recorded_test_util.ts";
import { JobReconciler } from "./job.ts";
import { formatIndexes, matchSuccessPolicy, parseIndexes } from "./job_utils.ts";

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

/** A reconciler over fake listers (returned, for tests that let the informers catch up). */
function setup(jobs: KubeObject[], pods: KubeObject[], clock = new FakeClock()) {
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const listers = { jobs: new FakeLister(jobs), pods: new FakeLister(pods) };
  const controller = new JobReconciler({ listers, client, recorder, clock });
  return { client, recorder, controller, clock, ...listers };
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
    // Not counted towards backoffLimit, but the pod failure back-off counts every failed pod
    // (the job controller's backoff record takes all newly failed pods).
    name: "podFailurePolicy Ignore: the failure is not counted; its replacement waits the back-off",
    job: job({
      backoffLimit: 0,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [{ action: "Ignore", onExitCodes: { operator: "In", values: [3] } }],
      },
    }, { startTime: T0 }),
    pods: [pod("pi-a", { phase: "Failed", exitCode: 3 })],
    finalizerPatches: ["pi-a"],
    creates: 0,
    status: { failed: 0 },
    conditions: [],
    requeue: 10_000,
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
  const failed = pod("pi-a", { phase: "Failed", exitCode: 1 });
  const { client, controller, clock, jobs, pods } = setup([
    job({ backoffLimit: 3 }, { startTime: T0 }),
  ], [failed]);
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

// ---- Backoff limit per index (Indexed Jobs).

const FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count";
const IGNORED_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count";

/** An Indexed Job with backoffLimitPerIndex (backoffLimit defaulted to MaxInt32, as the API). */
function perIndexJob(spec: Obj = {}, status: Obj = {}): KubeObject {
  return job({
    completionMode: "Indexed",
    completions: 3,
    parallelism: 3,
    backoffLimit: 2147483647,
    backoffLimitPerIndex: 1,
    ...spec,
  }, { startTime: T0, ...status });
}

/** A pod of index `index` carrying the index failure counts. */
function indexPod(
  name: string,
  index: number,
  o: PodOptions & { failures?: number; ignored?: number } = {},
): KubeObject {
  const p = pod(name, { ...o, index });
  p.metadata.annotations![FAILURE_COUNT] = String(o.failures ?? 0);
  if (o.ignored) p.metadata.annotations![IGNORED_COUNT] = String(o.ignored);
  return p;
}

function createdPods(client: RecordingClient): KubeObject[] {
  return callsOf(client, "create").map((c) => c.body as KubeObject);
}

Deno.test("backoffLimitPerIndex: a new Indexed Job's pods carry the failure count 0", async () => {
  const { client, controller } = setup([perIndexJob()], []);
  await controller.reconcile("default/pi");
  const created = createdPods(client);
  assert.deepEqual(created.map((p) => p.metadata.annotations?.[FAILURE_COUNT]), ["0", "0", "0"]);
  assert.ok(created.every((p) => p.metadata.annotations?.[IGNORED_COUNT] === undefined));
  // failedIndexes is "" (not absent) once backoffLimitPerIndex is set, as in Kubernetes.
  assert.equal(lastStatus(client)?.failedIndexes, "");
});

Deno.test("without backoffLimitPerIndex there is no failedIndexes and no failure count", async () => {
  const { client, controller } = setup([
    job({ completionMode: "Indexed", completions: 2, parallelism: 2 }, { startTime: T0 }),
  ], []);
  await controller.reconcile("default/pi");
  assert.equal(createdPods(client)[0].metadata.annotations?.[FAILURE_COUNT], undefined);
  assert.ok(!("failedIndexes" in (lastStatus(client) ?? {})));
});

Deno.test("backoffLimitPerIndex: a failure within the index's limit is retried after the index's back-off, with the count carried on", async () => {
  const { client, controller, clock, pods } = setup([perIndexJob()], [
    indexPod("pi-1-a", 1, { phase: "Failed", exitCode: 1 }),
    indexPod("pi-0-a", 0, { ready: true }),
    indexPod("pi-2-a", 2, { ready: true }),
  ]);
  // The failed pod is held (no finalizer removal, not counted yet) until its replacement exists.
  assert.equal(await controller.reconcile("default/pi"), 10_000);
  assert.equal(createdPods(client).length, 0);
  assert.equal(callsOf(client, "patch").length, 0);
  const held = lastStatus(client)!;
  assert.equal(held.failed, 0);
  assert.equal(held.failedIndexes, "");
  assert.deepEqual(held.uncountedTerminatedPods, {});
  clock.advance(4_000);
  assert.equal(await controller.reconcile("default/pi"), 6_000);
  assert.equal(createdPods(client).length, 0);
  clock.advance(6_000);
  await controller.reconcile("default/pi");
  const [replacement] = createdPods(client);
  assert.equal(replacement.metadata.generateName, "pi-1-");
  assert.equal(replacement.metadata.annotations?.[FAILURE_COUNT], "1");
  assert.equal(callsOf(client, "patch").length, 0, "held until the replacement is seen");
  // The informer sees the replacement: now the failed pod is counted and let go.
  pods.set({ ...replacement, metadata: { ...replacement.metadata, name: "pi-1-b", uid: "b" } });
  controller.observePod(pods.get("default/pi-1-b")!, "add");
  await controller.reconcile("default/pi");
  assert.deepEqual(callsOf(client, "patch").map((p) => p.name), ["pi-1-a"]);
  assert.equal(lastStatus(client)?.failed, 1);
  assert.equal(lastStatus(client)?.failedIndexes, "");
});

Deno.test("backoffLimitPerIndex: each index waits out its own back-off; a first pod starts at once", async () => {
  const s = setup([perIndexJob({ parallelism: 2 })], [
    indexPod("pi-0-a", 0, { phase: "Failed", exitCode: 1 }),
  ]);
  const requeue = await s.controller.reconcile("default/pi");
  // Index 0 waits 10 s; index 1 (never failed) starts now; index 2 is beyond parallelism.
  assert.deepEqual(createdPods(s.client).map((p) => p.metadata.generateName), ["pi-1-"]);
  assert.equal(requeue, 10_000);
});

Deno.test("backoffLimitPerIndex: the back-off grows with the index's failures, ignored ones included", async () => {
  const s = setup([perIndexJob({ backoffLimitPerIndex: 5 })], [
    indexPod("pi-0-a", 0, { phase: "Failed", exitCode: 1, failures: 2, ignored: 1 }),
    indexPod("pi-1-a", 1, { ready: true }),
    indexPod("pi-2-a", 2, { ready: true }),
  ]);
  // Fourth failure of the index: 10 s · 2^3.
  assert.equal(await s.controller.reconcile("default/pi"), 80_000);
});

Deno.test("backoffLimitPerIndex: the last allowed failure fails the index; the Job fails with FailedIndexes once every index is done", async () => {
  const s = setup([perIndexJob({}, { completedIndexes: "0,2", succeeded: 2 })], [
    indexPod("pi-1-b", 1, { phase: "Failed", exitCode: 1, failures: 1 }),
  ]);
  await s.controller.reconcile("default/pi");
  assert.equal(createdPods(s.client).length, 0);
  assert.deepEqual(callsOf(s.client, "patch").map((p) => p.name), ["pi-1-b"]);
  const status = lastStatus(s.client)!;
  assert.equal(status.failedIndexes, "1");
  assert.equal(status.completedIndexes, "0,2");
  assert.equal(status.failed, 1);
  assert.deepEqual(conditionTypes(status), [
    "FailureTarget:FailedIndexes",
    "Failed:FailedIndexes",
  ]);
  assert.equal(
    status.conditions.find((c: Obj) => c.type === "Failed").message,
    "Job has failed indexes",
  );
  assert.ok(eventLines(s.recorder).includes("Warning FailedIndexes Job has failed indexes"));
});

Deno.test("backoffLimitPerIndex: a failed index is not retried while other indexes still run", async () => {
  const s = setup([perIndexJob()], [
    indexPod("pi-0-a", 0, { ready: true }),
    indexPod("pi-1-b", 1, { phase: "Failed", exitCode: 1, failures: 1 }),
    indexPod("pi-2-a", 2, { ready: true }),
  ]);
  assert.equal(await s.controller.reconcile("default/pi"), undefined);
  assert.equal(createdPods(s.client).length, 0);
  const status = lastStatus(s.client)!;
  assert.equal(status.failedIndexes, "1");
  assert.deepEqual(conditionTypes(status), []);
  assert.equal(status.active, 2);
});

Deno.test("backoffLimitPerIndex: the FailIndex action fails the index at its first failure", async () => {
  const s = setup([
    perIndexJob({
      backoffLimitPerIndex: 3,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [42] } }],
      },
    }),
  ], [
    indexPod("pi-0-a", 0, { ready: true }),
    indexPod("pi-1-a", 1, { phase: "Failed", exitCode: 42 }),
    indexPod("pi-2-a", 2, { phase: "Failed", exitCode: 1 }),
  ]);
  await s.controller.reconcile("default/pi");
  const status = lastStatus(s.client)!;
  assert.equal(status.failedIndexes, "1");
  // Index 2's failure (exit 1, no rule) is within its limit: held for a retry, not counted yet.
  assert.deepEqual(callsOf(s.client, "patch").map((p) => p.name), ["pi-1-a"]);
  assert.equal(status.failed, 1);
});

Deno.test("backoffLimitPerIndex: more failed indexes than maxFailedIndexes fails the Job at once", async () => {
  const s = setup([perIndexJob({ maxFailedIndexes: 0 })], [
    indexPod("pi-0-a", 0, { ready: true }),
    indexPod("pi-1-b", 1, { phase: "Failed", exitCode: 1, failures: 1 }),
    indexPod("pi-2-a", 2, { phase: "Failed", exitCode: 1 }),
  ]);
  await s.controller.reconcile("default/pi");
  // The running pod is deleted; the held failure of index 2 is counted and let go too.
  assert.deepEqual(callsOf(s.client, "delete").map((d) => d.name), ["pi-0-a"]);
  assert.deepEqual(callsOf(s.client, "patch").map((p) => p.name).sort(), ["pi-1-b", "pi-2-a"]);
  const status = lastStatus(s.client)!;
  assert.equal(status.failed, 2);
  assert.equal(status.failedIndexes, "1");
  assert.deepEqual(conditionTypes(status), ["FailureTarget:MaxFailedIndexesExceeded"]);
  assert.equal(
    status.conditions[0].message,
    "Job has exceeded the specified maximal number of failed indexes",
  );
});

Deno.test("backoffLimitPerIndex: as many failed indexes as maxFailedIndexes keeps the Job running", async () => {
  const s = setup([perIndexJob({ maxFailedIndexes: 1 })], [
    indexPod("pi-0-a", 0, { ready: true }),
    indexPod("pi-1-b", 1, { phase: "Failed", exitCode: 1, failures: 1 }),
    indexPod("pi-2-a", 2, { ready: true }),
  ]);
  await s.controller.reconcile("default/pi");
  assert.equal(callsOf(s.client, "delete").length, 0);
  assert.deepEqual(conditionTypes(lastStatus(s.client)), []);
});

Deno.test("backoffLimitPerIndex: a failure an Ignore rule matches is not counted; the replacement carries the ignored count", async () => {
  const s = setup(
    [
      perIndexJob({
        backoffLimitPerIndex: 0,
        parallelism: 1,
        completions: 1,
        podReplacementPolicy: "Failed",
        podFailurePolicy: {
          rules: [{ action: "Ignore", onExitCodes: { operator: "In", values: [3] } }],
        },
      }),
    ],
    [indexPod("pi-0-a", 0, { phase: "Failed", exitCode: 3 })],
    new FakeClock(Date.parse(T0) + 10_000),
  );
  await s.controller.reconcile("default/pi");
  // backoffLimitPerIndex 0 would have failed the index, had the failure counted.
  const [replacement] = createdPods(s.client);
  assert.equal(replacement.metadata.annotations?.[FAILURE_COUNT], "0");
  assert.equal(replacement.metadata.annotations?.[IGNORED_COUNT], "1");
  const status = lastStatus(s.client)!;
  assert.equal(status.failedIndexes, "");
  assert.equal(status.failed, 0);
});

Deno.test("backoffLimitPerIndex: the Job-wide backoffLimit still counts every failure", async () => {
  const s = setup([perIndexJob({ backoffLimit: 1, backoffLimitPerIndex: 3 })], [
    indexPod("pi-0-a", 0, { phase: "Failed", exitCode: 1 }),
    indexPod("pi-1-a", 1, { phase: "Failed", exitCode: 1 }),
    indexPod("pi-2-a", 2, { ready: true }),
  ]);
  await s.controller.reconcile("default/pi");
  const status = lastStatus(s.client)!;
  assert.deepEqual(conditionTypes(status), ["FailureTarget:BackoffLimitExceeded"]);
  assert.equal(status.failed, 2);
  assert.deepEqual(callsOf(s.client, "delete").map((d) => d.name), ["pi-2-a"]);
});

// ---- Success policy (Indexed Jobs).

Deno.test("successPolicy: the named index succeeding meets the policy; the other pods are deleted", async () => {
  const s = setup([
    job({
      completionMode: "Indexed",
      completions: 3,
      parallelism: 3,
      successPolicy: { rules: [{ succeededIndexes: "1" }] },
    }, { startTime: T0 }),
  ], [
    pod("pi-0-a", { index: 0, ready: true }),
    pod("pi-1-a", { index: 1, phase: "Succeeded" }),
    pod("pi-2-a", { index: 2 }),
  ]);
  await s.controller.reconcile("default/pi");
  assert.deepEqual(callsOf(s.client, "delete").map((d) => d.name).sort(), ["pi-0-a", "pi-2-a"]);
  assert.equal(createdPods(s.client).length, 0);
  const status = lastStatus(s.client)!;
  assert.equal(status.completedIndexes, "1");
  assert.equal(status.succeeded, 1);
  // Complete waits for the deleted pods to be gone.
  assert.deepEqual(conditionTypes(status), ["SuccessCriteriaMet:SuccessPolicy"]);
  assert.equal(status.conditions[0].message, "Matched rules at index 0");
  assert.equal(status.terminating, 2);
});

Deno.test("successPolicy: once its pods are gone the Job is Complete with reason SuccessPolicy", async () => {
  const met = {
    type: "SuccessCriteriaMet",
    status: "True",
    reason: "SuccessPolicy",
    message: "Matched rules at index 1",
  };
  const s = setup([
    job({
      completionMode: "Indexed",
      completions: 3,
      parallelism: 3,
      successPolicy: { rules: [{ succeededIndexes: "0" }, { succeededCount: 1 }] },
    }, { startTime: T0, completedIndexes: "2", succeeded: 1, conditions: [met] }),
  ], [
    pod("pi-0-a", { index: 0, deleting: true, graceZero: true }),
  ]);
  await s.controller.reconcile("default/pi");
  const status = lastStatus(s.client)!;
  assert.deepEqual(conditionTypes(status), [
    "SuccessCriteriaMet:SuccessPolicy",
    "Complete:SuccessPolicy",
  ]);
  assert.equal(status.conditions[1].message, "Matched rules at index 1");
  assert.equal(status.completionTime, T0);
  assert.equal(status.failed, 1, "the deleted pod counts as failed, as in Kubernetes");
  assert.ok(eventLines(s.recorder).includes("Normal Completed Job completed"));
});

Deno.test("successPolicy: succeededCount counts succeeded indexes, within succeededIndexes when both are given", async () => {
  const spec = (rules: Obj[]) =>
    job({ completionMode: "Indexed", completions: 4, parallelism: 1, successPolicy: { rules } }, {
      startTime: T0,
      completedIndexes: "0,3",
      succeeded: 2,
    });
  const outcome = async (rules: Obj[]) => {
    const s = setup([spec(rules)], [pod("pi-1-a", { index: 1 })]);
    await s.controller.reconcile("default/pi");
    return conditionTypes(lastStatus(s.client)).join(" ");
  };
  assert.equal(await outcome([{ succeededCount: 3 }]), "");
  assert.equal(await outcome([{ succeededCount: 2 }]), "SuccessCriteriaMet:SuccessPolicy");
  assert.equal(await outcome([{ succeededIndexes: "1-3", succeededCount: 2 }]), "");
  assert.equal(
    await outcome([{ succeededIndexes: "1-3", succeededCount: 1 }]),
    "SuccessCriteriaMet:SuccessPolicy",
  );
  assert.equal(await outcome([{ succeededIndexes: "0,3" }]), "SuccessCriteriaMet:SuccessPolicy");
  assert.equal(await outcome([{ succeededIndexes: "0-2" }]), "");
});

Deno.test("matchSuccessPolicy(): the first rule met, in Kubernetes' words", () => {
  const succeeded = new Set([0, 2, 3]);
  const m = (rules: Obj[]) => matchSuccessPolicy(rules, { completions: 5, succeeded });
  assert.equal(
    m([{ succeededIndexes: "1" }, { succeededIndexes: "2-3" }]),
    "Matched rules at index 1",
  );
  assert.equal(m([{ succeededCount: 3 }]), "Matched rules at index 0");
  assert.equal(m([{ succeededCount: 4 }]), undefined);
  assert.equal(m([{ succeededIndexes: "0-4", succeededCount: 3 }]), "Matched rules at index 0");
  assert.equal(m([{ succeededIndexes: "0-4", succeededCount: 4 }]), undefined);
  // No index succeeded yet: even succeededCount 0 is not met.
  assert.equal(
    matchSuccessPolicy([{ succeededCount: 0 }], { completions: 5, succeeded: new Set() }),
    undefined,
  );
});
