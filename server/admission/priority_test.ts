import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { type PriorityClass, systemPriorityClasses } from "../../shared/api/scheduling_v1.ts";
import { ForbiddenError } from "../../shared/errors.ts";
import type { AdmissionAttributes } from "./admission.ts";
import {
  podPriorityAdmission,
  priorityClassAdmission,
  refuseSystemPriorityClassDelete,
} from "./priority.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const pod = (spec: Obj = {}): KubeObject =>
  ({
    metadata: { name: "web", namespace: "apps" },
    spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
  }) as KubeObject;

const pc = (name: string, value: number, extra: Partial<PriorityClass> = {}): PriorityClass =>
  ({
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name },
    value,
    preemptionPolicy: "PreemptLowerPriority",
    ...extra,
  }) as PriorityClass;

const admit = (classes: PriorityClass[]) =>
  podPriorityAdmission({
    priorityClasses: () => classes,
    priorityClass: (name) => classes.find((c) => c.metadata.name === name),
  });

function forbidden(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ForbiddenError, String(e));
    assert.equal(e.code, 403);
    return e.message;
  }
  assert.fail("expected a ForbiddenError");
}

Deno.test("Priority admission resolves priorityClassName to priority and preemptionPolicy, or refuses the pod", () => {
  const classes = [
    ...systemPriorityClasses(),
    pc("high", 1000),
    pc("batch", 10, { preemptionPolicy: "Never" }),
  ];
  const high = pod({ priorityClassName: "high" });
  admit(classes)(high);
  assert.equal(high.spec.priority, 1000);
  assert.equal(high.spec.preemptionPolicy, "PreemptLowerPriority");

  const batch = pod({ priorityClassName: "batch" });
  admit(classes)(batch);
  assert.equal(batch.spec.priority, 10);
  assert.equal(batch.spec.preemptionPolicy, "Never");

  // The system classes are allowed in any namespace (Kubernetes since 1.17).
  const critical = pod({ priorityClassName: "system-node-critical" });
  admit(classes)(critical);
  assert.equal(critical.spec.priority, 2_000_001_000);

  // No class and no global default: priority 0, and the pod may preempt.
  const plain = pod();
  admit(classes)(plain);
  assert.equal(plain.spec.priority, 0);
  assert.equal(plain.spec.priorityClassName, undefined);
  assert.equal(plain.spec.preemptionPolicy, "PreemptLowerPriority");

  // A priority that agrees with the class is accepted.
  const agreeing = pod({ priorityClassName: "high", priority: 1000 });
  admit(classes)(agreeing);
  assert.equal(agreeing.spec.priority, 1000);

  assert.equal(
    forbidden(() => admit(classes)(pod({ priorityClassName: "nope" }), "web-")),
    'pods "web-" is forbidden: no PriorityClass with name nope was found',
  );
  assert.equal(
    forbidden(() => admit(classes)(pod({ priorityClassName: "high", priority: 5 }))),
    'pods "web" is forbidden: the integer value of priority (5) must not be provided in pod ' +
      "spec; priority admission controller computed 1000 from the given PriorityClass name",
  );
  assert.equal(
    forbidden(() => admit(classes)(pod({ priority: 7 }))),
    'pods "web" is forbidden: the integer value of priority (7) must not be provided in pod ' +
      "spec; priority admission controller computed 0 from the given PriorityClass name",
  );
  assert.match(
    forbidden(() =>
      admit(classes)(pod({ priorityClassName: "batch", preemptionPolicy: "PreemptLowerPriority" }))
    ),
    /the string value of PreemptionPolicy \(PreemptLowerPriority\) must not be provided in pod spec; priority admission controller computed Never/,
  );
});

Deno.test("Priority admission gives a pod without a class the global default (the lowest, if several)", () => {
  const classes = [
    pc("normal", 100, { globalDefault: true }),
    pc("low-default", 50, { globalDefault: true, preemptionPolicy: "Never" }),
    pc("high", 1000),
  ];
  const p = pod();
  admit(classes)(p);
  assert.equal(p.spec.priorityClassName, "low-default");
  assert.equal(p.spec.priority, 50);
  assert.equal(p.spec.preemptionPolicy, "Never");
});

Deno.test("PriorityClass admission allows one global default; system classes cannot be deleted", () => {
  const classes = [pc("normal", 100, { globalDefault: true })];
  const plugin = priorityClassAdmission({ priorityClasses: () => classes });
  const attrs = (operation: "CREATE" | "UPDATE", obj: PriorityClass): AdmissionAttributes => ({
    operation,
    resource: "priorityclasses",
    group: "scheduling.k8s.io",
    kind: "PriorityClass",
    name: obj.metadata.name!,
    object: obj as unknown as KubeObject,
    dryRun: false,
    warnings: [],
  });
  assert.equal(
    forbidden(() => plugin(attrs("CREATE", pc("other", 5, { globalDefault: true })))),
    'priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass normal is already ' +
      "marked as default. Only one default can exist",
  );
  forbidden(() => plugin(attrs("UPDATE", pc("high", 5, { globalDefault: true }))));
  // The default itself may be updated, and classes that are not defaults are not judged.
  plugin(attrs("UPDATE", pc("normal", 100, { globalDefault: true, description: "d" })));
  plugin(attrs("CREATE", pc("other", 5)));

  assert.equal(
    forbidden(() => refuseSystemPriorityClassDelete("system-node-critical")),
    'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system ' +
      "priority class and cannot be deleted",
  );
  forbidden(() => refuseSystemPriorityClassDelete("system-cluster-critical"));
  refuseSystemPriorityClassDelete("normal");
});
