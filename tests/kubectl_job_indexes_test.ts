/**
 * Indexed Jobs' per-index features with the real kubectl against real agents on Docker:
 * backoffLimitPerIndex (an index that always fails is retried once after the per-index back-off,
 * then listed in `status.failedIndexes` while the other indexes succeed, and the Job fails with
 * FailedIndexes), the FailIndex action with maxFailedIndexes (MaxFailedIndexesExceeded at the
 * first failure, the running indexes stopped), a successPolicy (Complete with SuccessPolicy once
 * the named index succeeded, while the other indexes were still running), and kube-apiserver's
 * validation messages for the new fields.
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
const FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count";
/** Runs until stopped, and stops at once on SIGTERM (a shell as PID 1 ignores it otherwise). */
const RUN_UNTIL_STOPPED = `trap 'exit 143' TERM; sleep 300 & wait`;

// Index 1 always fails; 0 and 2 succeed. One retry per index is allowed.
const PER_INDEX = `
apiVersion: batch/v1
kind: Job
metadata:
  name: per-index
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  backoffLimitPerIndex: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: ${BUSYBOX}
        command: ["sh", "-c", "if [ \\"$JOB_COMPLETION_INDEX\\" = 1 ]; then exit 1; fi; echo ok"]
`;

// Index 0 exits 42, which FailIndex fails at once; no failed index is tolerated.
const FAIL_FAST = `
apiVersion: batch/v1
kind: Job
metadata:
  name: fail-fast
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  backoffLimitPerIndex: 3
  maxFailedIndexes: 0
  podFailurePolicy:
    rules:
    - action: FailIndex
      onExitCodes:
        containerName: main
        operator: In
        values: [42]
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: ${BUSYBOX}
        command: ["sh", "-c", "if [ \\"$JOB_COMPLETION_INDEX\\" = 0 ]; then sleep 2; exit 42; fi; ${RUN_UNTIL_STOPPED}"]
`;

// The leader (index 0) decides: the workers (1, 2) would run for five minutes.
const LEADER = `
apiVersion: batch/v1
kind: Job
metadata:
  name: leader
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  successPolicy:
    rules:
    - succeededIndexes: "0"
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: ${BUSYBOX}
        command: ["sh", "-c", "if [ \\"$JOB_COMPLETION_INDEX\\" = 0 ]; then sleep 3; echo done; exit 0; fi; ${RUN_UNTIL_STOPPED}"]
`;

Deno.test({
  name: "kubectl runs Indexed Jobs with backoffLimitPerIndex, FailIndex and a successPolicy",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.14.11", "127.0.14.12"] });
    const k = cluster.kubectl;
    const getJson = (...args: string[]): Promise<Json> => kubectlGetJson(k, ...args);
    const podsOf = (job: string): Promise<Json[]> => jobPods(k, job);
    const indexOf = (pod: Json) =>
      pod.metadata.annotations["batch.kubernetes.io/job-completion-index"];
    const wait = (what: string, job: string, timeout = "120s") =>
      waitJobCondition(k, what, job, timeout);
    const conditions = (job: Json) =>
      job.status.conditions.map((c: Json) => `${c.type}=${c.status}:${c.reason}`);
    try {
      await t.step("the three Jobs are accepted", async () => {
        // Applied together: their pods run side by side while the steps below check them.
        for (const manifest of [PER_INDEX, FAIL_FAST, LEADER]) {
          assert.match(
            await kubectlOk(k, ["apply", "-f", "-"], { stdin: manifest }),
            /job.batch\/\S+ created/,
          );
        }
        const job = await getJson("job", "per-index");
        // The Job-wide backoffLimit defaults to MaxInt32 with backoffLimitPerIndex.
        assert.equal(job.spec.backoffLimit, 2147483647);
        assert.equal(job.spec.backoffLimitPerIndex, 1);
      });

      await t.step("successPolicy: the Job completes once index 0 succeeded", async () => {
        assert.match(await wait("complete", "leader"), /job.batch\/leader condition met/);
        const job = await getJson("job", "leader");
        assert.deepEqual(conditions(job), [
          "SuccessCriteriaMet=True:SuccessPolicy",
          "Complete=True:SuccessPolicy",
        ]);
        for (const c of job.status.conditions) assert.equal(c.message, "Matched rules at index 0");
        assert.equal(job.status.completedIndexes, "0");
        assert.equal(job.status.succeeded, 1);
        assert.equal(job.status.active, 0);
        assert.ok(job.status.completionTime);
        // The workers were still running: they were stopped, not waited for.
        const started = Date.parse(job.status.startTime);
        assert.ok(Date.parse(job.status.completionTime) - started < 120_000);
        for (const pod of await podsOf("leader")) {
          if (indexOf(pod) === "0") assert.equal(pod.status.phase, "Succeeded");
          else assert.ok(pod.metadata.deletionTimestamp || pod.status.phase === "Failed");
        }
        assert.equal(await kubectlOk(k, ["logs", "job/leader"]), "done\n");
        const row = rowNamed(parseTable(await kubectlOk(k, ["get", "jobs"])), "leader");
        assert.equal(row.STATUS, "Complete");
        assert.equal(row.COMPLETIONS, "1/3");
      });

      await t.step(
        "FailIndex with maxFailedIndexes 0 fails the Job at the first failure",
        async () => {
          await wait("failed", "fail-fast");
          const job = await getJson("job", "fail-fast");
          assert.deepEqual(conditions(job), [
            "FailureTarget=True:MaxFailedIndexesExceeded",
            "Failed=True:MaxFailedIndexesExceeded",
          ]);
          const failed = job.status.conditions.find((c: Json) => c.type === "Failed");
          assert.equal(
            failed.message,
            "Job has exceeded the specified maximal number of failed indexes",
          );
          assert.equal(
            await kubectlOk(k, [
              "get",
              "job",
              "fail-fast",
              "-o",
              "jsonpath={.status.failedIndexes}",
            ]),
            "0",
          );
          // FailIndex: no retry of index 0 although backoffLimitPerIndex is 3.
          const pods = await podsOf("fail-fast");
          assert.equal(pods.filter((p) => indexOf(p) === "0").length, 1);
          assert.equal(job.status.active, 0);
        },
      );

      await t.step(
        "backoffLimitPerIndex: index 1 is retried once, then failed; the others succeed",
        async () => {
          assert.match(await wait("failed", "per-index"), /job.batch\/per-index condition met/);
          assert.equal(
            await kubectlOk(k, [
              "get",
              "job",
              "per-index",
              "-o",
              "jsonpath={.status.failedIndexes}",
            ]),
            "1",
          );
          const job = await getJson("job", "per-index");
          assert.deepEqual(conditions(job), [
            "FailureTarget=True:FailedIndexes",
            "Failed=True:FailedIndexes",
          ]);
          const failed = job.status.conditions.find((c: Json) => c.type === "Failed");
          assert.equal(failed.message, "Job has failed indexes");
          // As Kubernetes writes two indexes: "0,2".
          assert.equal(job.status.completedIndexes, "0,2");
          assert.equal(job.status.succeeded, 2);
          assert.equal(job.status.failed, 2);
          // Index 1 ran twice: failure counts 0 then 1, the retry after the 10 s back-off.
          const tries = (await podsOf("per-index")).filter((p) => indexOf(p) === "1").sort((
            a,
            b,
          ) => a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1);
          assert.deepEqual(tries.map((p) => p.metadata.annotations[FAILURE_COUNT]), ["0", "1"]);
          const gap = Date.parse(tries[1].metadata.creationTimestamp) -
            Date.parse(tries[0].status.containerStatuses[0].state.terminated.finishedAt);
          assert.ok(gap >= 9_000, `retry ${gap} ms after the first failure`);
          // Every pod is counted and released.
          for (const p of tries) assert.deepEqual(p.metadata.finalizers ?? [], []);
          const described = await kubectlOk(k, ["describe", "job", "per-index"]);
          // kubectl 1.32's JobDescriber prints completedIndexes, not failedIndexes; the failure
          // shows as the Job's event.
          assert.match(described, /Completed Indexes:\s+0,2\n/);
          assert.match(described, /Backoff Limit:\s+2147483647\n/);
          assert.match(
            described,
            /Pods Statuses:\s+0 Active \(0 Ready\) \/ 2 Succeeded \/ 2 Failed\n/,
          );
          assert.match(described, /Warning\s+FailedIndexes\s+.*Job has failed indexes/);
          const row = rowNamed(parseTable(await kubectlOk(k, ["get", "jobs"])), "per-index");
          assert.equal(row.STATUS, "Failed");
          assert.equal(row.COMPLETIONS, "2/3");
        },
      );

      await t.step("the new fields are validated with kube-apiserver's messages", async () => {
        const bad = PER_INDEX.replace("name: per-index", "name: bad")
          .replace("completionMode: Indexed", "completionMode: NonIndexed")
          .replace(
            "backoffLimitPerIndex: 1",
            "maxFailedIndexes: 1\n  successPolicy: {rules: [{}]}",
          );
        const r = await kubectl(k, ["apply", "-f", "-"], { stdin: bad });
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified/,
        );
        assert.match(
          r.stderr,
          /spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode/,
        );
        assert.match(
          r.stderr,
          /spec.successPolicy: Invalid value: .*requires indexed completion mode/,
        );
        const immutable = await kubectl(k, [
          "patch",
          "job",
          "per-index",
          "--type=merge",
          "-p",
          '{"spec":{"backoffLimitPerIndex":2}}',
        ]);
        assert.notEqual(immutable.code, 0);
        assert.match(
          immutable.stderr,
          /spec.backoffLimitPerIndex: Invalid value: 2: field is immutable/,
        );
      });

      await t.step("kubectl get pods shows the failed index's two tries", async () => {
        const out = await waitKubectl(
          k,
          [
            "get",
            "pods",
            "-l",
            "batch.kubernetes.io/job-completion-index=1,batch.kubernetes.io/job-name=per-index",
          ],
          (text) => parseTable(text).length === 2,
        );
        for (const row of parseTable(out)) assert.equal(row.STATUS, "Error");
      });
    } finally {
      await cluster.stop();
    }
  },
});
