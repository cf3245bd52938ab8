/**
 * Jobs and CronJobs with the real kubectl against real agents on Docker: the documentation's
 * `pi` Job (a busybox shell computing pi instead of perl) runs to Complete and `kubectl wait`
 * sees it, `kubectl logs job/pi`, `kubectl create job` (protobuf) and `--from=cronjob/…`, an
 * Indexed Job, a Job failing past its backoffLimit, podFailurePolicy FailJob, suspend/resume,
 * garbage collection of a deleted Job's pods, and a CronJob firing on its own within ~70 s.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { TEST_IMAGES } from "./images.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import {
  jobPods,
  kubectlGetJson,
  kubectlOk,
  parseTable,
  rowNamed,
  waitJobCondition,
  waitKubectl,
} from "./kubectl_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const BUSYBOX = TEST_IMAGES.busybox;

// The documentation's pi Job, with busybox's awk computing pi (Leibniz series) instead of perl.
const PI = `
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      containers:
      - name: pi
        image: ${BUSYBOX}
        command: ["sh", "-c", "awk 'BEGIN { s = 0; for (k = 0; k < 200000; k++) s += (k % 2 ? -4 : 4) / (2 * k + 1); printf \\"%.4f\\\\n\\", s }'"]
      restartPolicy: Never
  backoffLimit: 4
`;

const INDEXED = `
apiVersion: batch/v1
kind: Job
metadata:
  name: indexed
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: worker
        image: ${BUSYBOX}
        command: ["sh", "-c", "echo index=$JOB_COMPLETION_INDEX host=$(hostname)"]
`;

const FAILING = `
apiVersion: batch/v1
kind: Job
metadata:
  name: failing
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: fail
        image: ${BUSYBOX}
        command: ["sh", "-c", "exit 1"]
`;

const POLICY = `
apiVersion: batch/v1
kind: Job
metadata:
  name: policy
spec:
  backoffLimit: 6
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes:
        containerName: main
        operator: In
        values: [42]
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: ${BUSYBOX}
        command: ["sh", "-c", "exit 42"]
`;

const SUSPENDED = `
apiVersion: batch/v1
kind: Job
metadata:
  name: later
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: ${BUSYBOX}
        command: ["sh", "-c", "echo resumed"]
`;

Deno.test({
  name: "kubectl runs Jobs and CronJobs on real nodes",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const k = cluster.kubectl;
    const getJson = (...args: string[]): Promise<Json> => kubectlGetJson(k, ...args);
    const podsOf = (job: string): Promise<Json[]> => jobPods(k, job);
    const wait = (what: string, job: string, timeout = "90s") =>
      waitJobCondition(k, what, job, timeout);
    try {
      // Started first: it fires within a minute while the other steps run.
      await t.step("kubectl create cronjob (protobuf) every minute", async () => {
        const out = await kubectlOk(k, [
          "create",
          "cronjob",
          "tick",
          `--image=${BUSYBOX}`,
          "--schedule=*/1 * * * *",
          "--",
          "sh",
          "-c",
          "echo tick",
        ]);
        assert.match(out, /cronjob.batch\/tick created/);
        const cj = await getJson("cronjob", "tick");
        assert.equal(cj.spec.concurrencyPolicy, "Allow");
        assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
        const rows = parseTable(await kubectlOk(k, ["get", "cronjobs"]));
        assert.equal(rowNamed(rows, "tick").SCHEDULE, "*/1 * * * *");
        assert.equal(rowNamed(rows, "tick")["LAST SCHEDULE"], "<none>");
      });

      await t.step(
        "the pi Job completes, kubectl wait sees it, logs job/pi prints pi",
        async () => {
          await kubectlOk(k, ["apply", "-f", "-"], { stdin: PI });
          assert.match(await wait("complete", "pi"), /job.batch\/pi condition met/);
          assert.equal(await kubectlOk(k, ["logs", "job/pi"]), "3.1416\n");
          const job = await getJson("job", "pi");
          assert.equal(job.status.succeeded, 1);
          assert.ok(job.status.completionTime);
          const types = job.status.conditions.map((c: Json) => `${c.type}=${c.status}`);
          assert.deepEqual(types, ["SuccessCriteriaMet=True", "Complete=True"]);
          // The generated selector and labels tie the pods to this Job only.
          const uid = job.metadata.uid;
          assert.deepEqual(job.spec.selector.matchLabels, {
            "batch.kubernetes.io/controller-uid": uid,
          });
          const row = rowNamed(parseTable(await kubectlOk(k, ["get", "jobs"])), "pi");
          assert.equal(row.STATUS, "Complete");
          assert.equal(row.COMPLETIONS, "1/1");
          const pods = await podsOf("pi");
          assert.equal(pods.length, 1);
          assert.equal(pods[0].metadata.labels["controller-uid"], uid);
          assert.deepEqual(pods[0].metadata.finalizers ?? [], []); // counted and released
          const podRow = rowNamed(
            parseTable(await kubectlOk(k, ["get", "pods"])),
            pods[0].metadata.name,
          );
          assert.equal(podRow.STATUS, "Completed");
        },
      );

      await t.step("the template of a Job is immutable", async () => {
        const r = await kubectl(k, ["set", "image", "job/pi", `pi=${TEST_IMAGES.pause}`]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /spec.template: Invalid value: .*field is immutable/);
      });

      await t.step("a Job without restartPolicy Never/OnFailure is refused", async () => {
        const r = await kubectl(k, ["apply", "-f", "-"], {
          stdin: PI.replace("restartPolicy: Never", "restartPolicy: Always"),
        });
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"/,
        );
      });

      await t.step("kubectl create job (protobuf) runs to completion", async () => {
        await kubectlOk(k, ["create", "job", "hello", `--image=${BUSYBOX}`, "--", "echo", "hi"]);
        await wait("complete", "hello");
        assert.equal(await kubectlOk(k, ["logs", "job/hello"]), "hi\n");
      });

      await t.step("an Indexed Job runs one pod per index with JOB_COMPLETION_INDEX", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: INDEXED });
        await wait("complete", "indexed");
        const job = await getJson("job", "indexed");
        assert.equal(job.status.completedIndexes, "0-2");
        assert.equal(job.status.succeeded, 3);
        const logs: string[] = [];
        for (const pod of await podsOf("indexed")) {
          const index = pod.metadata.annotations["batch.kubernetes.io/job-completion-index"];
          const log = await kubectlOk(k, ["logs", pod.metadata.name]);
          assert.equal(log, `index=${index} host=indexed-${index}\n`);
          logs.push(log);
        }
        assert.equal(logs.length, 3);
        assert.equal(
          rowNamed(parseTable(await kubectlOk(k, ["get", "jobs"])), "indexed").COMPLETIONS,
          "3/3",
        );
      });

      await t.step("a Job failing past backoffLimit retries once, then is Failed", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: FAILING });
        await wait("failed", "failing", "120s");
        const job = await getJson("job", "failing");
        assert.equal(job.status.failed, 2);
        const failed = job.status.conditions.find((c: Json) => c.type === "Failed");
        assert.equal(failed.reason, "BackoffLimitExceeded");
        // The retry came after the pod back-off (10 s), not at once.
        const pods = (await podsOf("failing")).sort((a, b) =>
          a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1
        );
        assert.equal(pods.length, 2);
        const gap = Date.parse(pods[1].metadata.creationTimestamp) -
          Date.parse(pods[0].status.containerStatuses[0].state.terminated.finishedAt);
        assert.ok(gap >= 9_000, `second pod ${gap} ms after the first failure`);
        assert.equal(
          rowNamed(parseTable(await kubectlOk(k, ["get", "jobs"])), "failing").STATUS,
          "Failed",
        );
      });

      await t.step("podFailurePolicy FailJob on exit code 42 fails the Job at once", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: POLICY });
        await wait("failed", "policy");
        const job = await getJson("job", "policy");
        const failed = job.status.conditions.find((c: Json) => c.type === "Failed");
        assert.equal(failed.reason, "PodFailurePolicy");
        assert.match(failed.message, /failed with exit code 42 matching FailJob rule at index 0/);
        assert.equal((await podsOf("policy")).length, 1);
      });

      await t.step("a suspended Job runs nothing until resumed", async () => {
        await kubectlOk(k, ["apply", "-f", "-"], { stdin: SUSPENDED });
        await waitKubectl(k, ["get", "jobs"], (out) => {
          const row = parseTable(out).find((r) => r.NAME === "later");
          return row?.STATUS === "Suspended";
        });
        assert.equal((await podsOf("later")).length, 0);
        await kubectlOk(k, [
          "patch",
          "job",
          "later",
          "--type=merge",
          "-p",
          '{"spec":{"suspend":false}}',
        ]);
        await wait("complete", "later");
        assert.equal(await kubectlOk(k, ["logs", "job/later"]), "resumed\n");
      });

      await t.step("deleting a Job deletes its pods", async () => {
        assert.equal((await podsOf("hello")).length, 1);
        await kubectlOk(k, ["delete", "job", "hello"]);
        await waitKubectl(
          k,
          ["get", "pods", "-l", "batch.kubernetes.io/job-name=hello", "-o", "name"],
          (out) => out.trim() === "",
        );
      });

      await t.step("the CronJob has run on its own; create job --from=cronjob works", async () => {
        const out = await waitKubectl(k, ["get", "cronjob", "tick", "-o", "json"], (text) => {
          const cj = JSON.parse(text);
          return !!cj.status.lastSuccessfulTime;
        }, { timeoutMs: 75_000, what: "a scheduled run of tick to complete" });
        const cj = JSON.parse(out);
        assert.match(cj.status.lastScheduleTime, /:00Z$/);
        const jobs = (await getJson("jobs")).items.filter((j: Json) =>
          j.metadata.ownerReferences?.[0]?.name === "tick"
        );
        assert.ok(jobs.length >= 1);
        const scheduled = jobs[0].metadata.annotations[
          "batch.kubernetes.io/cronjob-scheduled-timestamp"
        ];
        assert.equal(jobs[0].metadata.name, `tick-${Date.parse(scheduled) / 60_000}`);
        assert.equal(await kubectlOk(k, ["logs", `job/${jobs[0].metadata.name}`]), "tick\n");
        await kubectlOk(k, ["create", "job", "manual", "--from=cronjob/tick"]);
        await wait("complete", "manual");
        const manual = await getJson("job", "manual");
        assert.equal(manual.metadata.annotations["cronjob.kubernetes.io/instantiate"], "manual");
        assert.notEqual(
          rowNamed(parseTable(await kubectlOk(k, ["get", "cronjobs"])), "tick")["LAST SCHEDULE"],
          "<none>",
        );
      });

      await t.step("kubectl get all lists jobs and cronjobs", async () => {
        const out = await kubectlOk(k, ["get", "all"]);
        assert.match(out, /job.batch\/pi\s+Complete\s+1\/1/);
        assert.match(out, /cronjob.batch\/tick\s+\*\/1 \* \* \* \*/);
      });
    } finally {
      await cluster.stop();
    }
  },
});
