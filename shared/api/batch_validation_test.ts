import assert from "node:assert/strict";
import { InvalidError, type StatusCause } from "../errors.ts";
import { invalidCauses } from "../testing/invalid_causes.ts";
import { parseIndexesFormat } from "./batch_validation.ts";
import { findResource } from "./resources.ts";
import { validateCreate, validateUpdate } from "./validation.ts";
import type { KubeObject } from "./object.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const JOBS = findResource("batch", "v1", "jobs")!;
const CRONJOBS = findResource("batch", "v1", "cronjobs")!;

/** An Indexed Job (the API server's create path: defaults, then validation). */
function job(spec: Any = {}): Any {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "work", namespace: "default" },
    spec: {
      completionMode: "Indexed",
      completions: 5,
      parallelism: 2,
      template: {
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] },
      },
      ...spec,
    },
  };
}

/** `field: message` of every cause of the 422 that creating `obj` gives ([] when accepted). */
function errorsOf(obj: Any, info = JOBS): string[] {
  try {
    validateCreate(info, obj);
    return [];
  } catch (e) {
    if (!(e instanceof InvalidError)) throw e;
    assert.equal(e.code, 422);
    return e.causes.map((c: StatusCause) => `${c.field}: ${c.message}`);
  }
}

/** A stored Job (created, with a uid and resourceVersion) to update. */
function stored(spec: Any): KubeObject {
  const o = validateCreate(JOBS, job(spec)) as KubeObject;
  o.metadata.uid = "u";
  o.metadata.resourceVersion = "1";
  return o;
}

/** `field: message` of every cause of the 422 that updating `old` with `spec` gives. */
function updateErrors(old: KubeObject, spec: Any): string[] {
  return invalidCauses(() => validateUpdate(JOBS, { ...old, spec: { ...old.spec, ...spec } }, old));
}

Deno.test("Job validation: backoffLimitPerIndex and maxFailedIndexes as kube-apiserver", () => {
  assert.deepEqual(errorsOf(job({ backoffLimitPerIndex: 1, maxFailedIndexes: 5 })), []);
  assert.deepEqual(errorsOf(job({ backoffLimitPerIndex: -1 })), [
    "spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0",
  ]);
  assert.deepEqual(errorsOf(job({ backoffLimitPerIndex: 1, maxFailedIndexes: -1 })), [
    "spec.maxFailedIndexes: Invalid value: -1: must be greater than or equal to 0",
  ]);
  assert.deepEqual(errorsOf(job({ maxFailedIndexes: 1 })), [
    "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
  ]);
  assert.deepEqual(errorsOf(job({ backoffLimitPerIndex: 1, maxFailedIndexes: 6 })), [
    "spec.maxFailedIndexes: Invalid value: 6: must be less than or equal to completions",
  ]);
  assert.deepEqual(
    errorsOf(job({ completions: 100_000, backoffLimitPerIndex: 1, maxFailedIndexes: 100_001 })),
    [
      "spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to completions",
      "spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to 100000",
    ],
  );
});

Deno.test("Job validation: backoffLimitPerIndex and maxFailedIndexes need Indexed mode", () => {
  const nonIndexed = { completionMode: "NonIndexed", backoffLimitPerIndex: 1, maxFailedIndexes: 1 };
  assert.deepEqual(errorsOf(job(nonIndexed)), [
    "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
    "spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode",
  ]);
  // Unset completionMode is NonIndexed too.
  assert.deepEqual(errorsOf(job({ completionMode: undefined, backoffLimitPerIndex: 0 })), [
    "spec.backoffLimitPerIndex: Invalid value: 0: requires indexed completion mode",
  ]);
});

Deno.test("Job validation: above 10^5 completions backoffLimitPerIndex needs tighter limits", () => {
  // Without backoffLimitPerIndex an Indexed Job may have any number of completions (1.32).
  assert.deepEqual(errorsOf(job({ completions: 200_000, parallelism: 20_000 })), []);
  assert.deepEqual(
    errorsOf(job({ completions: 200_000, parallelism: 20_000, backoffLimitPerIndex: 1 })),
    [
      "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000",
      "spec.parallelism: Invalid value: 20000: must be less than or equal to 10000 when " +
      "completions are above 100000 and used with backoff limit per index",
    ],
  );
  assert.deepEqual(
    errorsOf(job({ completions: 200_000, backoffLimitPerIndex: 1, maxFailedIndexes: 10_001 })),
    [
      "spec.maxFailedIndexes: Invalid value: 10001: must be less than or equal to 10000 when " +
      "completions are above 100000 and used with backoff limit per index",
    ],
  );
  assert.deepEqual(errorsOf(job({ completions: 100_000, parallelism: 100_001 })), [
    "spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when " +
    "completion mode is Indexed",
  ]);
});

Deno.test("Job validation: the FailIndex action requires backoffLimitPerIndex", () => {
  const policy = {
    rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [42] } }],
  };
  assert.deepEqual(errorsOf(job({ podFailurePolicy: policy, backoffLimitPerIndex: 1 })), []);
  assert.deepEqual(errorsOf(job({ podFailurePolicy: policy })), [
    'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the ' +
    "backoffLimitPerIndex to be set",
  ]);
});

Deno.test("Job validation: list limits are reported as Too many", () => {
  const rule = { action: "Count", onExitCodes: { operator: "In", values: [1] } };
  assert.deepEqual(
    errorsOf(job({ podFailurePolicy: { rules: Array.from({ length: 21 }, () => rule) } })),
    ["spec.podFailurePolicy.rules: Too many: 21: must have at most 20 items"],
  );
  const codes = Array.from({ length: 256 }, (_, i) => i + 1);
  assert.deepEqual(
    errorsOf(job({
      podFailurePolicy: {
        rules: [{ action: "Count", onExitCodes: { operator: "In", values: codes } }],
      },
    })),
    ["spec.podFailurePolicy.rules[0].onExitCodes.values: Too many: 256: must have at most 255 items"],
  );
});

Deno.test("Job validation: successPolicy only for Indexed Jobs, rules as kube-apiserver", () => {
  const policy = (rules: Any[]) => ({ successPolicy: { rules } });
  assert.deepEqual(errorsOf(job(policy([{ succeededIndexes: "0,2-4", succeededCount: 2 }]))), []);
  assert.deepEqual(errorsOf(job(policy([{ succeededCount: 5 }]))), []);
  assert.deepEqual(
    errorsOf(job({ completionMode: "NonIndexed", ...policy([{ succeededCount: 1 }]) })),
    [
      'spec.successPolicy: Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed ' +
      "completion mode",
    ],
  );
  assert.deepEqual(errorsOf(job(policy([]))), [
    "spec.successPolicy.rules: Required value: at least one rules must be specified when the " +
    "successPolicy is specified",
  ]);
  assert.deepEqual(errorsOf(job(policy([{}]))), [
    "spec.successPolicy.rules[0]: Required value: at least one of succeededCount or " +
    "succeededIndexes must be specified",
  ]);
  assert.deepEqual(
    errorsOf(job(policy(Array.from({ length: 21 }, () => ({ succeededCount: 1 }))))),
    ["spec.successPolicy.rules: Too many: 21: must have at most 20 items"],
  );
  assert.deepEqual(errorsOf(job(policy([{ succeededCount: -1 }]))), [
    "spec.successPolicy.rules[0].succeededCount: Invalid value: -1: must be greater than or " +
    "equal to 0",
  ]);
  assert.deepEqual(errorsOf(job(policy([{ succeededCount: 6 }]))), [
    "spec.successPolicy.rules[0].succeededCount: Invalid value: 6: must be less than or equal " +
    "to 5 (the number of specified completions)",
  ]);
  assert.deepEqual(errorsOf(job(policy([{ succeededIndexes: "1-2", succeededCount: 3 }]))), [
    "spec.successPolicy.rules[0].succeededCount: Invalid value: 3: must be less than or equal " +
    "to 2 (the number of indexes in the specified succeededIndexes field)",
  ]);
  assert.deepEqual(errorsOf(job(policy([{ succeededIndexes: "5" }]))), [
    'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "5": error parsing ' +
    'succeededIndexes: too large index: "5"',
  ]);
  assert.deepEqual(
    errorsOf(job(policy([{ succeededIndexes: "x".repeat(64 * 1024 + 1) }]))).map((e) =>
      e.slice(0, 90)
    ),
    [
      "spec.successPolicy.rules[0].succeededIndexes: Too long: may not be more than 65536 bytes",
      'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "xxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    ],
  );
});

Deno.test("parseIndexesFormat(): kube-apiserver's validateIndexesFormat errors", () => {
  assert.deepEqual(parseIndexesFormat("", 5), { total: 0 });
  assert.deepEqual(parseIndexesFormat("0,2-4", 5), { total: 4 });
  assert.deepEqual(parseIndexesFormat("1-2-3", 5), {
    error: 'the fragment "1-2-3" violates the requirement that an index interval can have at ' +
      "most two parts separated by '-'",
  });
  assert.deepEqual(parseIndexesFormat("a", 5), {
    error: 'cannot convert string to integer for index: "a"',
  });
  assert.deepEqual(parseIndexesFormat("1,", 5), {
    error: 'cannot convert string to integer for index: ""',
  });
  assert.deepEqual(parseIndexesFormat("0-5", 5), { error: 'too large index: "5"' });
  assert.deepEqual(parseIndexesFormat("3-1", 5), {
    error: "non-increasing order, previous: 3, current: 1",
  });
  assert.deepEqual(parseIndexesFormat("2-2", 5), {
    error: "non-increasing order, previous: 2, current: 2",
  });
  assert.deepEqual(parseIndexesFormat("0-2,2", 5), {
    error: "non-increasing order, previous: 2, current: 2",
  });
  assert.deepEqual(parseIndexesFormat("+1", 5), { total: 1 });
});

Deno.test("Job defaults: backoffLimit is MaxInt32 with backoffLimitPerIndex, else 6", () => {
  assert.equal(
    validateCreate(JOBS, job({ backoffLimitPerIndex: 1 })).spec.backoffLimit,
    2147483647,
  );
  assert.equal(validateCreate(JOBS, job()).spec.backoffLimit, 6);
  assert.equal(
    validateCreate(JOBS, job({ backoffLimitPerIndex: 1, backoffLimit: 3 })).spec.backoffLimit,
    3,
  );
});

Deno.test("Job update: backoffLimitPerIndex and successPolicy are immutable, maxFailedIndexes is not", () => {
  const old = stored({
    backoffLimitPerIndex: 1,
    maxFailedIndexes: 1,
    successPolicy: { rules: [{ succeededCount: 1 }] },
  });
  const update = (spec: Any) => updateErrors(old, spec);
  assert.deepEqual(update({ maxFailedIndexes: 3 }), []);
  assert.deepEqual(update({ backoffLimitPerIndex: 2 }), [
    "spec.backoffLimitPerIndex: Invalid value: 2: field is immutable",
  ]);
  assert.deepEqual(update({ successPolicy: { rules: [{ succeededCount: 2 }] } }), [
    'spec.successPolicy: Invalid value: {"rules":[{"succeededCount":2}]}: field is immutable',
  ]);
});

Deno.test("Job update: an Indexed Job's completions change with parallelism; manualSelector may change", () => {
  const indexed = stored({ completions: 2, parallelism: 2 });
  assert.deepEqual(updateErrors(indexed, { completions: 4, parallelism: 4 }), []);
  assert.deepEqual(updateErrors(indexed, { completions: 4 }), [
    "spec.completions: Invalid value: 4: can only be modified in tandem with spec.parallelism",
  ]);
  const nonIndexed = stored({ completionMode: "NonIndexed", completions: 2, parallelism: 2 });
  assert.deepEqual(updateErrors(nonIndexed, { completions: 4, parallelism: 4 }), [
    "spec.completions: Invalid value: 4: field is immutable",
  ]);
  assert.deepEqual(updateErrors(indexed, { manualSelector: false }), []);
});

Deno.test("CronJob validation: a Job template's successPolicy is checked too", () => {
  const cj = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "nightly", namespace: "default" },
    spec: {
      schedule: "0 3 * * *",
      jobTemplate: { spec: { ...job().spec, successPolicy: { rules: [{ succeededCount: 9 }] } } },
    },
  };
  assert.deepEqual(errorsOf(cj, CRONJOBS), [
    "spec.jobTemplate.spec.successPolicy.rules[0].succeededCount: Invalid value: 9: must be " +
    "less than or equal to 5 (the number of specified completions)",
  ]);
});

Deno.test("Job validation: activeDeadlineSeconds 0 is allowed, a negative one is not", () => {
  assert.deepEqual(errorsOf(job({ activeDeadlineSeconds: 0 })), []);
  assert.deepEqual(errorsOf(job({ activeDeadlineSeconds: -1 })), [
    "spec.activeDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
  ]);
});

Deno.test("Job validation: podFailurePolicy exit codes, duplicates and order as kube-apiserver", () => {
  const rule = (values: number[]) =>
    job({
      completionMode: "NonIndexed",
      podFailurePolicy: {
        rules: [{ action: "FailJob", onExitCodes: { operator: "In", values } }],
      },
    });
  const at = "spec.podFailurePolicy.rules[0].onExitCodes.values";
  assert.deepEqual(errorsOf(rule([1, 2, 3])), []);
  assert.deepEqual(errorsOf(rule([3, 1, 1])), [
    `${at}[2]: Duplicate value: 1`,
    `${at}: Invalid value: [3,1,1]: must be ordered`,
  ]);
  assert.deepEqual(errorsOf(rule([0, 2])), [
    `${at}[0]: Invalid value: 0: must not be 0 for the In operator`,
  ]);
});
