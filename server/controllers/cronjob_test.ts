import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { parseSchedule } from "../../shared/cron/schedule.ts";
import { rfc3339 } from "../../shared/time.ts";
import { FakeClock, FakeLister, FakeRecorder, RecordingClient } from "../../shared/testing/mod.ts";
import { callsOf, eventLines, lastStatus } from "./_recorded_test_util.ts";
import { CronJobReconciler, jobNameFor, mostRecentScheduleTime } from "./cronjob.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const T0 = Date.parse("2026-01-01T00:00:00Z");
const MIN = 60_000;
const iso = rfc3339;

function cronJob(spec: Obj = {}, status: Obj = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name: "hello",
      namespace: "default",
      uid: "cj-uid",
      resourceVersion: "5",
      creationTimestamp: iso(T0),
    },
    spec: {
      schedule: "* * * * *",
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { app: "hello" } },
        spec: {
          template: {
            spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] },
          },
        },
      },
      ...spec,
    },
    status,
  };
}

function child(name: string, o: { done?: "Complete" | "Failed"; start?: number } = {}): KubeObject {
  const j: KubeObject = {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      creationTimestamp: iso(o.start ?? T0),
      ownerReferences: [{
        apiVersion: "batch/v1",
        kind: "CronJob",
        name: "hello",
        uid: "cj-uid",
        controller: true,
      }],
    },
    spec: {},
    status: { startTime: iso(o.start ?? T0) },
  };
  if (o.done) {
    j.status.conditions = [{ type: o.done, status: "True" }];
    if (o.done === "Complete") j.status.completionTime = iso((o.start ?? T0) + 5000);
  }
  return j;
}

const ref = (name: string) => ({ kind: "Job", name, namespace: "default", uid: `uid-${name}` });

interface Case {
  name: string;
  cj: KubeObject;
  jobs?: KubeObject[];
  now: number;
  creates?: string[];
  deletes?: string[];
  status?: Obj;
  events?: string[];
  noEvents?: string[];
  requeue?: number;
}

const CASES: Case[] = [
  {
    name: "nothing before the first scheduled time; wakes just after it",
    cj: cronJob(),
    now: T0 + 30_000,
    creates: [],
    requeue: 30_100,
  },
  {
    name: "at the scheduled time a Job named after the minute is created and listed active",
    cj: cronJob(),
    now: T0 + MIN + 2_000,
    creates: [`hello-${(T0 + MIN) / MIN}`],
    status: { lastScheduleTime: iso(T0 + MIN), active: [{ name: `hello-${(T0 + MIN) / MIN}` }] },
    events: [`Normal SuccessfulCreate Created job hello-${(T0 + MIN) / MIN}`],
    requeue: 58_100,
  },
  {
    name: "after five missed hours only the most recent run starts (no burst)",
    cj: cronJob({ schedule: "@hourly" }, { lastScheduleTime: iso(T0) }),
    now: T0 + 5 * 60 * MIN + 10_000,
    creates: [`hello-${(T0 + 5 * 60 * MIN) / MIN}`],
    noEvents: ["Warning TooManyMissedTimes"],
  },
  {
    name: "more than 100 missed times: one run and a TooManyMissedTimes warning",
    cj: cronJob({}, { lastScheduleTime: iso(T0) }),
    now: T0 + 180 * MIN + 1_000,
    creates: [`hello-${(T0 + 180 * MIN) / MIN}`],
    events: [
      "Warning TooManyMissedTimes too many missed start times: 180. Set or decrease " +
      ".spec.startingDeadlineSeconds or check clock skew",
    ],
  },
  {
    name: "startingDeadlineSeconds: a start later than the deadline is not made",
    cj: cronJob({ schedule: "0 * * * *", startingDeadlineSeconds: 10 }, {
      lastScheduleTime: iso(T0),
    }),
    now: T0 + 60 * MIN + 30_000,
    creates: [],
  },
  {
    name: "Forbid: no new Job while one runs",
    cj: cronJob({ concurrencyPolicy: "Forbid" }, {
      lastScheduleTime: iso(T0),
      active: [ref("hello-old")],
    }),
    jobs: [child("hello-old")],
    now: T0 + MIN + 1_000,
    creates: [],
    events: [
      "Normal JobAlreadyActive Not starting job because prior execution is running and " +
      "concurrency policy is Forbid",
    ],
  },
  {
    name: "Replace: the running Job is deleted and the new one created",
    cj: cronJob({ concurrencyPolicy: "Replace" }, {
      lastScheduleTime: iso(T0),
      active: [ref("hello-old")],
    }),
    jobs: [child("hello-old")],
    now: T0 + MIN + 1_000,
    deletes: ["hello-old"],
    creates: [`hello-${(T0 + MIN) / MIN}`],
    status: { active: [{ name: `hello-${(T0 + MIN) / MIN}` }] },
  },
  {
    name: "Allow: a second Job runs beside the first",
    cj: cronJob({}, { lastScheduleTime: iso(T0), active: [ref("hello-old")] }),
    jobs: [child("hello-old")],
    now: T0 + MIN + 1_000,
    creates: [`hello-${(T0 + MIN) / MIN}`],
    status: { active: [{ name: "hello-old" }, { name: `hello-${(T0 + MIN) / MIN}` }] },
  },
  {
    name: "a finished Job leaves active; lastSuccessfulTime follows completed Jobs",
    cj: cronJob({}, { lastScheduleTime: iso(T0), active: [ref("hello-a")] }),
    jobs: [
      child("hello-a", { done: "Complete" }),
      child("hello-b", { done: "Complete", start: T0 - MIN }),
    ],
    now: T0 + 30_000,
    creates: [],
    status: { active: undefined, lastSuccessfulTime: iso(T0 - MIN + 5000) },
    events: ["Normal SawCompletedJob Saw completed job: hello-a, condition: Complete"],
  },
  {
    name: "history limits: the oldest finished Jobs beyond the limits are deleted",
    cj: cronJob({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 }, {
      lastScheduleTime: iso(T0),
    }),
    jobs: [
      child("hello-1", { done: "Complete", start: T0 - 3 * MIN }),
      child("hello-2", { done: "Complete", start: T0 - 2 * MIN }),
      child("hello-3", { done: "Failed", start: T0 - MIN }),
    ],
    now: T0 + 30_000,
    deletes: ["hello-1", "hello-3"],
    creates: [],
  },
  {
    name: "suspended: nothing is created",
    cj: cronJob({ suspend: true }, { lastScheduleTime: iso(T0) }),
    now: T0 + 10 * MIN,
    creates: [],
    requeue: undefined,
  },
  {
    name: "an active Job that no longer exists is dropped",
    cj: cronJob({}, { lastScheduleTime: iso(T0), active: [ref("hello-gone")] }),
    now: T0 + 30_000,
    creates: [],
    status: { active: undefined },
    events: ["Normal MissingJob Active job went missing: hello-gone"],
  },
];

for (const c of CASES) {
  Deno.test(`CronJobReconciler.reconcile(): ${c.name}`, async () => {
    const client = new RecordingClient();
    const recorder = new FakeRecorder();
    const controller = new CronJobReconciler({
      listers: { cronJobs: new FakeLister([c.cj]), jobs: new FakeLister(c.jobs ?? []) },
      client,
      recorder,
      clock: new FakeClock(c.now),
    });
    const requeue = await controller.reconcile("default/hello");
    if (c.creates) {
      assert.deepEqual(
        callsOf(client, "create").map((x) => (x.body as KubeObject).metadata.name),
        c.creates,
      );
    }
    if (c.deletes) assert.deepEqual(callsOf(client, "delete").map((x) => x.name), c.deletes);
    const status = lastStatus(client);
    for (const [k, v] of Object.entries(c.status ?? {})) {
      const actual = k === "active" && status?.active
        ? status.active.map((a: Obj) => ({ name: a.name }))
        : status?.[k];
      assert.deepEqual(actual, v, `status.${k}`);
    }
    for (const e of c.events ?? []) {
      assert.ok(
        eventLines(recorder).includes(e),
        `${e} not in ${JSON.stringify(eventLines(recorder))}`,
      );
    }
    for (const e of c.noEvents ?? []) {
      assert.ok(
        !eventLines(recorder).some((x) => x.startsWith(e)),
        `${e} in ${eventLines(recorder)}`,
      );
    }
    if ("requeue" in c) assert.equal(requeue, c.requeue);
  });
}

Deno.test("CronJobReconciler: the Job carries the template, owner and scheduled time in the zone", async () => {
  const client = new RecordingClient();
  const cj = cronJob({ schedule: "0 9 * * *", timeZone: "Asia/Tokyo" });
  cj.metadata.creationTimestamp = "2025-12-31T23:00:00Z";
  const controller = new CronJobReconciler({
    listers: { cronJobs: new FakeLister([cj]), jobs: new FakeLister([]) },
    client,
    recorder: new FakeRecorder(),
    clock: new FakeClock(T0 + 30_000),
  });
  await controller.reconcile("default/hello");
  const job = callsOf(client, "create")[0].body as KubeObject;
  assert.equal(job.metadata.name, jobNameFor(cj, T0));
  assert.equal(
    job.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
    "2026-01-01T09:00:00+09:00",
  );
  assert.deepEqual(job.metadata.labels, { app: "hello" });
  assert.equal(job.metadata.ownerReferences?.[0].kind, "CronJob");
  assert.equal(job.metadata.ownerReferences?.[0].controller, true);
  assert.equal(job.spec.template.spec.restartPolicy, "OnFailure");
});

Deno.test("mostRecentScheduleTime() walks only the tail after years of missed runs", () => {
  const cj = cronJob({}, { lastScheduleTime: iso(T0) });
  const now = T0 + 3 * 365 * 24 * 60 * MIN + 30_000;
  const check = mostRecentScheduleTime(cj, now, parseSchedule("* * * * *"), {
    withStartingDeadline: false,
  });
  assert.equal(check.mostRecent, now - 30_000);
  assert.ok(check.missed > 1_000_000);
});
