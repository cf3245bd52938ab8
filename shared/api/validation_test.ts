import assert from "node:assert/strict";
import { BadRequestError, InvalidError, type StatusCause } from "../errors.ts";
import { findResource } from "./resources.ts";
import {
  dropNulls,
  jsonEqual,
  parseObject,
  unknownFields,
  validateCreate,
  validateUpdate,
} from "./validation.ts";
import type { ValidateOptions } from "./validation.ts";
import type { KubeObject } from "./object.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const PODS = findResource("", "v1", "pods")!;
const SERVICES = findResource("", "v1", "services")!;
const DEPLOYMENTS = findResource("apps", "v1", "deployments")!;
const REPLICASETS = findResource("apps", "v1", "replicasets")!;
const RCS = findResource("", "v1", "replicationcontrollers")!;
const NAMESPACES = findResource("", "v1", "namespaces")!;
const CONFIGMAPS = findResource("", "v1", "configmaps")!;
const SECRETS = findResource("", "v1", "secrets")!;
const NODES = findResource("", "v1", "nodes")!;

/** The causes of the InvalidError that `fn` throws. */
function causesOf(fn: () => unknown): StatusCause[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidError) {
      assert.equal(e.code, 422);
      return e.causes;
    }
    throw e;
  }
  assert.fail("expected an InvalidError");
}

/** Asserts that exactly one cause names `field` and its message matches `message`. */
function assertCause(causes: StatusCause[], field: string, message: string | RegExp): void {
  const hits = causes.filter((c) => c.field === field);
  assert.ok(hits.length > 0, `no cause for ${field}; got ${JSON.stringify(causes)}`);
  if (typeof message === "string") assert.equal(hits[0].message, message);
  else assert.match(hits[0].message, message);
}

function pod(spec: Any = {}, metadata: Any = {}): Any {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default", ...metadata },
    spec: { containers: [{ name: "web", image: "nginx:1.27" }], ...spec },
  };
}

function podCauses(spec: Any, metadata: Any = {}): StatusCause[] {
  return causesOf(() => validateCreate(PODS, pod(spec, metadata)));
}

const template = {
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
};

function deployment(spec: Any = {}): Any {
  return {
    metadata: { name: "web" },
    spec: { selector: { matchLabels: { app: "web" } }, template, ...spec },
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding.

Deno.test("validateCreate() accepts kubectl run's body with nulls and empty objects", () => {
  const body = {
    kind: "Pod",
    apiVersion: "v1",
    metadata: { name: "hello", labels: { run: "hello" }, creationTimestamp: null },
    spec: {
      containers: [{ name: "hello", image: "busybox", resources: {} }],
      restartPolicy: "Always",
      dnsPolicy: "ClusterFirst",
    },
    status: {},
  };
  const p = validateCreate(PODS, body);
  assert.equal(p.metadata.name, "hello");
  assert.equal("creationTimestamp" in p.metadata, false);
  assert.deepEqual(p.spec.containers[0].resources, {});
});

Deno.test("validateCreate() refuses a body that is not an object with 400", () => {
  for (const body of [[], "pod", 3, null]) {
    assert.throws(() => validateCreate(PODS, body), BadRequestError);
  }
});

Deno.test("validateCreate() refuses a kind or apiVersion of another endpoint with 400", () => {
  assert.throws(
    () => validateCreate(PODS, { ...pod(), kind: "Service" }),
    (e: unknown) =>
      e instanceof BadRequestError && e.code === 400 &&
      /does not match the expected kind/.test(e.message),
  );
  assert.throws(
    () => validateCreate(DEPLOYMENTS, { ...deployment(), apiVersion: "extensions/v1beta1" }),
    /does not match the expected API version \(apps\/v1\)/,
  );
});

Deno.test("validateCreate() names shape errors with Kubernetes field paths", () => {
  const causes = causesOf(() =>
    validateCreate(PODS, {
      metadata: { name: "web" },
      spec: {
        restartPolicy: "Sometimes",
        containers: [{ name: "web", image: "nginx", ports: [{ containerPort: "eighty" }] }],
      },
    })
  );
  assertCause(
    causes,
    "spec.restartPolicy",
    'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  );
  assertCause(
    causes,
    "spec.containers[0].ports[0].containerPort",
    /^Invalid value: "eighty": must be of type number/,
  );
  const missing = causesOf(() =>
    validateCreate(PODS, { metadata: { name: "web" }, spec: { containers: [{ image: "x" }] } })
  );
  assertCause(missing, "spec.containers[0].name", "Required value");
  const fractional = podCauses({
    containers: [{ name: "web", image: "nginx", ports: [{ containerPort: 80.5 }] }],
  });
  assertCause(fractional, "spec.containers[0].ports[0].containerPort", /must be an integer/);
});

Deno.test("InvalidError reads like the apiserver's message", () => {
  try {
    validateCreate(PODS, pod({ containers: [{ name: "web" }] }));
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof InvalidError);
    assert.equal(e.message, 'Pod "web" is invalid: spec.containers[0].image: Required value');
    const status = e.toStatus();
    assert.equal(status.reason, "Invalid");
    assert.equal(status.details?.kind, "Pod");
    assert.equal(status.details?.causes?.[0].reason, "FieldValueRequired");
  }
});

// ---------------------------------------------------------------------------------------------
// Unknown fields.

Deno.test("fieldValidation=Strict refuses unknown fields with kubectl's message (400)", () => {
  const body = pod();
  body.spec.foo = 1;
  body.spec.containers[0].bar = true;
  assert.throws(
    () => validateCreate(PODS, body, { fieldValidation: "Strict" }),
    (e: unknown) => {
      assert.ok(e instanceof BadRequestError);
      assert.equal(e.code, 400);
      assert.equal(
        e.message,
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: ' +
          'unknown field "spec.containers[0].bar", unknown field "spec.foo"',
      );
      return true;
    },
  );
});

Deno.test("fieldValidation=Warn drops unknown fields and reports warnings", () => {
  const body = deployment();
  body.spec.template.spec.containers = [{ name: "web", image: "nginx:1", colour: "blue" }];
  body.extra = { a: 1 };
  const options: ValidateOptions = { fieldValidation: "Warn", warnings: [] };
  const d = validateCreate(DEPLOYMENTS, body, options);
  assert.equal("extra" in d, false);
  assert.equal("colour" in d.spec.template.spec.containers[0], false);
  assert.deepEqual(options.warnings, [
    'unknown field "extra"',
    'unknown field "spec.template.spec.containers[0].colour"',
  ]);
});

Deno.test("fieldValidation=Ignore drops unknown fields silently", () => {
  const body = pod();
  body.spec.foo = 1;
  const warnings: string[] = [];
  const p = validateCreate(PODS, body, { fieldValidation: "Ignore", warnings });
  assert.equal("foo" in p.spec, false);
  assert.deepEqual(warnings, []);
});

Deno.test("loose fields (securityContext, lifecycle) keep what they are given", () => {
  const body = pod({
    securityContext: { runAsUser: 1000 },
    containers: [{
      name: "web",
      image: "nginx:1",
      securityContext: { capabilities: { add: ["NET_ADMIN"] } },
    }],
  });
  const p = validateCreate(PODS, body, { fieldValidation: "Strict" });
  assert.deepEqual(p.spec.containers[0].securityContext, { capabilities: { add: ["NET_ADMIN"] } });
  assert.equal(p.spec.securityContext.runAsUser, 1000);
});

Deno.test("unknownFields() and dropNulls() walk objects and arrays", () => {
  assert.deepEqual(unknownFields({ a: 1, b: [{ c: 1, d: 2 }] }, { a: 1, b: [{ c: 1 }] }), [
    "b[0].d",
  ]);
  assert.deepEqual(dropNulls({ a: null, b: [{ c: null, d: 1 }] }), { b: [{ d: 1 }] });
});

Deno.test("dropNulls() copies only the way to a dropped field and never changes its input", () => {
  const input = { keep: { x: [1, null] }, b: [{ c: null, d: 1 }, { e: 2 }], u: undefined };
  const before = structuredClone(input);
  const out = dropNulls(input) as Any;
  assert.deepEqual(out, { keep: { x: [1, null] }, b: [{ d: 1 }, { e: 2 }] });
  assert.deepEqual(input, before);
  assert.equal(out.keep, input.keep);
  assert.equal(out.b[1], input.b[1]);
  assert.notEqual(out.b[0], input.b[0]);
  const clean = { a: { b: [1, { c: "x" }] } };
  assert.equal(dropNulls(clean), clean);
});

Deno.test("jsonEqual() ignores key order and undefined fields, not missing or extra ones", () => {
  assert.ok(jsonEqual({ a: 1, b: [{ c: 2, d: 3 }] }, { b: [{ d: 3, c: 2 }], a: 1 }));
  assert.ok(jsonEqual({ a: 1, u: undefined }, { a: 1 }));
  assert.ok(jsonEqual({ a: 1 }, { a: 1, u: undefined }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!jsonEqual({ a: 1, b: 2 }, { a: 1, c: 2 }));
  assert.ok(!jsonEqual({ a: 1, b: 2 }, { a: 1 }));
  assert.ok(!jsonEqual([1, 2], [2, 1]));
  assert.ok(!jsonEqual({ a: null }, { a: undefined }));
});

// ---------------------------------------------------------------------------------------------
// Names and labels.

Deno.test("names must be RFC 1123 subdomains (labels for namespaces, 1035 for services)", () => {
  assertCause(
    podCauses({}, { name: "Foo_bar" }),
    "metadata.name",
    /^Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must consist of lower case/,
  );
  assertCause(
    causesOf(() => validateCreate(NAMESPACES, { metadata: { name: "a.b" } })),
    "metadata.name",
    /RFC 1123 label/,
  );
  assertCause(
    causesOf(() =>
      validateCreate(SERVICES, { metadata: { name: "1web" }, spec: { ports: [{ port: 80 }] } })
    ),
    "metadata.name",
    /DNS-1035 label/,
  );
  assertCause(
    causesOf(() => validateCreate(PODS, { spec: template.spec })),
    "metadata.name",
    "Required value: name or generateName is required",
  );
  assert.equal(validateCreate(PODS, pod({}, { name: "web.v1-2" })).metadata.name, "web.v1-2");
});

Deno.test("label keys and values are validated", () => {
  const causes = podCauses({}, { labels: { "bad key": "x", ok: "not ok!" } });
  const fields = causes.filter((c) => c.field === "metadata.labels");
  assert.equal(fields.length, 2);
  assert.match(fields[0].message, /^Invalid value: "bad key": name part must consist of/);
  assert.match(fields[1].message, /^Invalid value: "not ok!": a valid label must be/);
  assertCause(podCauses({ nodeSelector: { "-x": "y" } }), "spec.nodeSelector", /Invalid value/);
});

// ---------------------------------------------------------------------------------------------
// Pods.

Deno.test("a pod needs containers, each with a unique name and an image", () => {
  assertCause(podCauses({ containers: [] }), "spec.containers", "Required value");
  assertCause(
    causesOf(() => validateCreate(PODS, { metadata: { name: "web" } })),
    "spec.containers",
    "Required value",
  );
  const causes = podCauses({
    containers: [{ name: "web", image: "a" }, { name: "web", image: "" }],
    initContainers: [{ name: "Init", image: "b" }],
  });
  assertCause(causes, "spec.containers[1].name", 'Duplicate value: "web"');
  assertCause(causes, "spec.containers[1].image", "Required value");
  assertCause(causes, "spec.initContainers[0].name", /RFC 1123 label/);
});

Deno.test("container ports must be in range with unique names", () => {
  const causes = podCauses({
    containers: [{
      name: "web",
      image: "nginx",
      ports: [
        { containerPort: 0 },
        { containerPort: 70000, name: "http" },
        { containerPort: 81, name: "http", hostPort: 65536 },
        { containerPort: 82, name: "Bad_Name" },
      ],
    }],
  });
  assertCause(
    causes,
    "spec.containers[0].ports[0].containerPort",
    "Invalid value: 0: must be between 1 and 65535, inclusive",
  );
  assertCause(causes, "spec.containers[0].ports[1].containerPort", /70000/);
  assertCause(causes, "spec.containers[0].ports[2].name", 'Duplicate value: "http"');
  assertCause(causes, "spec.containers[0].ports[2].hostPort", /65536: must be between 1 and 65535/);
  assertCause(causes, "spec.containers[0].ports[3].name", /alpha-numeric/);
});

Deno.test("volume mounts must name a declared volume; volumes need one source", () => {
  const causes = podCauses({
    volumes: [{ name: "data", emptyDir: {} }, { name: "data", hostPath: { path: "/x" } }, {
      name: "none",
    }],
    containers: [{
      name: "web",
      image: "nginx",
      volumeMounts: [{ name: "data", mountPath: "/data" }, { name: "cache", mountPath: "/c" }],
    }],
  });
  assertCause(causes, "spec.volumes[1].name", 'Duplicate value: "data"');
  assertCause(causes, "spec.volumes[2]", "Required value: must specify a volume type");
  assertCause(causes, "spec.containers[0].volumeMounts[1].name", 'Not found: "cache"');
  assert.equal(
    causes.some((c) => c.field === "spec.containers[0].volumeMounts[0].name"),
    false,
  );
});

Deno.test("env valueFrom must have exactly one source", () => {
  const causes = podCauses({
    containers: [{
      name: "web",
      image: "nginx",
      env: [
        { name: "A", value: "1" },
        { name: "B", valueFrom: {} },
        {
          name: "C",
          valueFrom: {
            configMapKeyRef: { name: "cm", key: "k" },
            secretKeyRef: { name: "s", key: "k" },
          },
        },
        { name: "D", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      ],
    }],
  });
  assertCause(causes, "spec.containers[0].env[1].valueFrom", /must specify one of/);
  assertCause(causes, "spec.containers[0].env[2].valueFrom", /more than one field/);
  assert.equal(causes.length, 2);
});

Deno.test("probes need one handler, valid ports, and liveness successThreshold 1", () => {
  const causes = podCauses({
    containers: [{
      name: "web",
      image: "nginx",
      livenessProbe: { httpGet: { port: 0 }, successThreshold: 2 },
      readinessProbe: { periodSeconds: 5 },
      startupProbe: { exec: { command: ["true"] }, tcpSocket: { port: 80 } },
    }],
  });
  assertCause(causes, "spec.containers[0].livenessProbe.httpGet.port", /must be between 1/);
  assertCause(
    causes,
    "spec.containers[0].livenessProbe.successThreshold",
    "Invalid value: 2: must be 1",
  );
  assertCause(
    causes,
    "spec.containers[0].readinessProbe",
    "Required value: must specify a handler type",
  );
  assertCause(causes, "spec.containers[0].startupProbe.tcpSocket", /more than 1 handler type/);
});

Deno.test("resources: quantities must parse and requests stay within limits", () => {
  const bad = podCauses({
    containers: [{ name: "web", image: "nginx", resources: { limits: { memory: "lots" } } }],
  });
  assertCause(bad, "spec.containers[0].resources.limits[memory]", /quantities must match/);
  const over = podCauses({
    containers: [{
      name: "web",
      image: "nginx",
      resources: { requests: { cpu: "2" }, limits: { cpu: "1" } },
    }],
  });
  assertCause(
    over,
    "spec.containers[0].resources.requests",
    'Invalid value: "2": must be less than or equal to cpu limit of 1',
  );
});

Deno.test("tolerations, affinity and deadlines are checked", () => {
  const causes = podCauses({
    activeDeadlineSeconds: 0,
    tolerations: [{ operator: "Equal", value: "x" }, { key: "k", operator: "Exists", value: "v" }],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In" }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 101,
          preference: { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] },
        }],
      },
    },
  });
  assertCause(causes, "spec.activeDeadlineSeconds", /must be between 1/);
  assertCause(causes, "spec.tolerations[0].operator", /must be Exists when `key` is empty/);
  assertCause(causes, "spec.tolerations[1].operator", /value must be empty/);
  assertCause(
    causes,
    "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values",
    /Required value/,
  );
  assertCause(
    causes,
    "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
    /range 1-100/,
  );
  assertCause(
    causes,
    "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values",
    /Forbidden/,
  );
});

Deno.test("mountPropagation, fsGroup and hostPID are checked as Kubernetes does", () => {
  const volumes = [{ name: "v", hostPath: { path: "/mnt" } }];
  const causes = podCauses({
    hostPID: true,
    shareProcessNamespace: true,
    securityContext: { fsGroup: -1, fsGroupChangePolicy: "Sometimes" },
    volumes,
    containers: [{
      name: "web",
      image: "nginx:1.27",
      volumeMounts: [
        { name: "v", mountPath: "/a", mountPropagation: "Bidirectional" },
        { name: "v", mountPath: "/b", mountPropagation: "Slave" },
      ],
    }],
  });
  const mounts = "spec.containers[0].volumeMounts";
  assertCause(
    causes,
    `${mounts}[0].mountPropagation`,
    "Forbidden: Bidirectional mount propagation is available only to privileged containers",
  );
  assertCause(
    causes,
    `${mounts}[1].mountPropagation`,
    'Unsupported value: "Slave": supported values: "Bidirectional", "HostToContainer", "None"',
  );
  assertCause(
    causes,
    "spec.securityContext.fsGroup",
    "Invalid value: -1: must be between 0 and 2147483647, inclusive",
  );
  assertCause(
    causes,
    "spec.securityContext.fsGroupChangePolicy",
    'Unsupported value: "Sometimes": supported values: "Always", "OnRootMismatch"',
  );
  assertCause(
    causes,
    "spec.securityContext.shareProcessNamespace",
    "Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled",
  );
  // A privileged container may propagate both ways; the other modes need no privilege.
  validateCreate(
    PODS,
    pod({
      hostPID: true,
      hostIPC: true,
      securityContext: { fsGroup: 1001, fsGroupChangePolicy: "OnRootMismatch" },
      volumes,
      containers: [{
        name: "web",
        image: "nginx:1.27",
        securityContext: { privileged: true },
        volumeMounts: [
          { name: "v", mountPath: "/a", mountPropagation: "Bidirectional" },
          { name: "v", mountPath: "/b", mountPropagation: "HostToContainer" },
          { name: "v", mountPath: "/c", mountPropagation: "None" },
        ],
      }],
    }),
  );
});

Deno.test("pod affinity and topology spread constraints are validated on create", () => {
  const causes = podCauses({
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{
          labelSelector: { matchLabels: { app: "web" } },
          topologyKey: "",
        }],
      },
    },
    topologySpreadConstraints: [{
      maxSkew: 0,
      topologyKey: "zone",
      whenUnsatisfiable: "DoNotSchedule",
    }],
  });
  assertCause(
    causes,
    "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
    "Required value: can not be empty",
  );
  assertCause(
    causes,
    "spec.topologySpreadConstraints[0].maxSkew",
    "Invalid value: 0: must be greater than zero",
  );
});

Deno.test("a full pod manifest with every modelled field validates", () => {
  const p = validateCreate(
    PODS,
    pod({
      initContainers: [{ name: "init", image: "busybox:1", command: ["sh", "-c", "true"] }],
      containers: [{
        name: "web",
        image: "nginx:1.27",
        command: ["nginx"],
        args: ["-g", "daemon off;"],
        workingDir: "/",
        env: [
          { name: "A", value: "1" },
          { name: "B", valueFrom: { configMapKeyRef: { name: "cm", key: "b" } } },
          { name: "C", valueFrom: { secretKeyRef: { name: "s", key: "c", optional: true } } },
          { name: "D", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          {
            name: "E",
            valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1m" } },
          },
        ],
        envFrom: [{ configMapRef: { name: "cm" } }, { prefix: "S_", secretRef: { name: "s" } }],
        ports: [{ name: "http", containerPort: 80, hostPort: 8080, hostIP: "127.0.0.1" }],
        resources: {
          requests: { cpu: "100m", memory: "64Mi" },
          limits: { cpu: 1.5, memory: "2Gi" },
        },
        livenessProbe: {
          httpGet: { path: "/healthz", port: "http", httpHeaders: [{ name: "X", value: "y" }] },
          initialDelaySeconds: 3,
        },
        readinessProbe: { tcpSocket: { port: 80 } },
        startupProbe: { exec: { command: ["true"] }, failureThreshold: 30 },
        volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg", readOnly: true }],
        imagePullPolicy: "IfNotPresent",
        stdin: true,
        tty: true,
        lifecycle: { preStop: { exec: { command: ["sleep", "1"] } } },
      }],
      volumes: [
        { name: "cfg", configMap: { name: "cm", items: [{ key: "a", path: "a.conf" }] } },
        { name: "sec", secret: { secretName: "s" } },
        { name: "host", hostPath: { path: "/var/log", type: "Directory" } },
        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      ],
      restartPolicy: "OnFailure",
      nodeName: "node-a",
      nodeSelector: { "kubernetes.io/os": "linux" },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{
              matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }],
            }],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 10,
            preference: { matchExpressions: [{ key: "ssd", operator: "Exists" }] },
          }],
        },
      },
      tolerations: [{ key: "k", operator: "Equal", value: "v", effect: "NoSchedule" }, {
        operator: "Exists",
      }],
      terminationGracePeriodSeconds: 5,
      schedulerName: "default-scheduler",
      hostNetwork: false,
      serviceAccountName: "default",
      priority: 0,
      activeDeadlineSeconds: 600,
    }),
    { fieldValidation: "Strict" },
  );
  assert.equal(p.spec.containers[0].resources.limits.cpu, "1.5");
  assert.equal(p.status.qosClass, "Burstable");
});

// ---------------------------------------------------------------------------------------------
// Workloads.

Deno.test("workload selectors must match their template labels", () => {
  assertCause(
    causesOf(() =>
      validateCreate(DEPLOYMENTS, deployment({ selector: { matchLabels: { app: "other" } } }))
    ),
    "spec.template.metadata.labels",
    /`selector` does not match template `labels`/,
  );
  assertCause(
    causesOf(() =>
      validateCreate(REPLICASETS, deployment({ selector: { matchLabels: { app: "x" } } }))
    ),
    "spec.template.metadata.labels",
    /does not match/,
  );
  assertCause(
    causesOf(() =>
      validateCreate(RCS, { metadata: { name: "web" }, spec: { selector: { app: "x" }, template } })
    ),
    "spec.template.metadata.labels",
    /does not match/,
  );
  assertCause(
    causesOf(() => validateCreate(DEPLOYMENTS, deployment({ selector: {} }))),
    "spec.selector",
    /empty selector is invalid/,
  );
  assertCause(
    causesOf(() => validateCreate(DEPLOYMENTS, { metadata: { name: "web" }, spec: { template } })),
    "spec.selector",
    "Required value",
  );
  const expr = validateCreate(
    DEPLOYMENTS,
    deployment({
      selector: { matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] },
    }),
  );
  assert.equal(expr.spec.selector.matchExpressions[0].operator, "In");
});

Deno.test("workload templates must restart Always; strategies are checked", () => {
  const t = structuredClone(template) as Any;
  t.spec.restartPolicy = "Never";
  assertCause(
    causesOf(() => validateCreate(DEPLOYMENTS, deployment({ template: t }))),
    "spec.template.spec.restartPolicy",
    'Unsupported value: "Never": supported values: "Always"',
  );
  assertCause(
    causesOf(() =>
      validateCreate(
        DEPLOYMENTS,
        deployment({ strategy: { type: "Recreate", rollingUpdate: { maxSurge: 1 } } }),
      )
    ),
    "spec.strategy.rollingUpdate",
    /Forbidden/,
  );
  const zero = causesOf(() =>
    validateCreate(
      DEPLOYMENTS,
      deployment({ strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: "0%" } } }),
    )
  );
  assertCause(
    zero,
    "spec.strategy.rollingUpdate.maxUnavailable",
    /may not be 0 when `maxSurge` is 0/,
  );
  assertCause(
    causesOf(() =>
      validateCreate(DEPLOYMENTS, deployment({ strategy: { rollingUpdate: { maxSurge: "x%" } } }))
    ),
    "spec.strategy.rollingUpdate.maxSurge",
    /valid percent/,
  );
  assertCause(
    causesOf(() => validateCreate(DEPLOYMENTS, deployment({ replicas: -1 }))),
    "spec.replicas",
    "Invalid value: -1: must be greater than or equal to 0",
  );
  assertCause(
    causesOf(() => validateCreate(DEPLOYMENTS, deployment({ strategy: { type: "BlueGreen" } }))),
    "spec.strategy.type",
    'Unsupported value: "BlueGreen": supported values: "RollingUpdate", "Recreate"',
  );
});

// ---------------------------------------------------------------------------------------------
// Services.

function service(spec: Any): Any {
  return { metadata: { name: "web" }, spec };
}

Deno.test("service ports: required, in range, named when several, nodePort a port number", () => {
  assertCause(
    causesOf(() => validateCreate(SERVICES, service({ selector: { app: "web" } }))),
    "spec.ports",
    "Required value",
  );
  const causes = causesOf(() =>
    validateCreate(
      SERVICES,
      service({
        type: "NodePort",
        ports: [
          { port: 80, nodePort: 70000 },
          { port: 0, name: "b", targetPort: 70000 },
        ],
      }),
    )
  );
  assertCause(causes, "spec.ports[0].name", "Required value");
  // The configured node port range is the allocator's check, not validation's.
  assertCause(causes, "spec.ports[0].nodePort", /must be between 1 and 65535/);
  assertCause(causes, "spec.ports[1].port", /must be between 1 and 65535/);
  assertCause(
    causesOf(() => validateCreate(SERVICES, service({ ports: [{ port: 80, protocol: "ICMP" }] }))),
    "spec.ports[0].protocol",
    'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
  );
});

Deno.test("service port rules beyond shape", () => {
  const causes = causesOf(() =>
    validateCreate(
      SERVICES,
      service({
        ports: [
          { port: 80, name: "a", nodePort: 30080 },
          { port: 81, name: "a", targetPort: 70000 },
          { port: 82, name: "c", targetPort: "Not_A_Name" },
        ],
        clusterIP: "not-an-ip",
        externalIPs: ["127.0.0.20", "nope"],
      }),
    )
  );
  assertCause(
    causes,
    "spec.ports[0].nodePort",
    "Forbidden: may not be used when `type` is 'ClusterIP'",
  );
  assertCause(causes, "spec.ports[1].name", 'Duplicate value: "a"');
  assertCause(causes, "spec.ports[1].targetPort", /70000: must be between 1 and 65535/);
  assertCause(causes, "spec.ports[2].targetPort", /alpha-numeric/);
  assertCause(causes, "spec.clusterIP", /must be empty, 'None', or a valid IP address/);
  assertCause(causes, "spec.externalIPs[1]", /valid IP/);
});

Deno.test("kubectl expose's LoadBalancer body validates; ExternalName needs a name", () => {
  const s = validateCreate(SERVICES, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { labels: { app: "hello-kube" }, name: "hello-kube" },
    spec: {
      externalIPs: ["127.0.0.20"],
      ports: [{ port: 8300, protocol: "TCP", targetPort: 80, nodePort: 31234 }],
      selector: { app: "hello-kube" },
      type: "LoadBalancer",
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    },
    status: { loadBalancer: {} },
  }, { fieldValidation: "Strict" });
  assert.equal(s.spec.ports[0].nodePort, 31234);
  assertCause(
    causesOf(() => validateCreate(SERVICES, service({ type: "ExternalName" }))),
    "spec.externalName",
    "Required value",
  );
  assertCause(
    causesOf(() =>
      validateCreate(
        SERVICES,
        service({
          ports: [{ port: 80 }],
          sessionAffinity: "ClientIP",
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
        }),
      )
    ),
    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
    /must be greater than 0/,
  );
});

// ---------------------------------------------------------------------------------------------
// Config, nodes.

Deno.test("ConfigMap and Secret keys must be valid; Secret data must be base64", () => {
  assertCause(
    causesOf(() => validateCreate(CONFIGMAPS, { metadata: { name: "c" }, data: { "a/b": "x" } })),
    "data[a/b]",
    /a valid config key must consist of/,
  );
  assertCause(
    causesOf(() =>
      validateCreate(SECRETS, { metadata: { name: "s" }, data: { k: "not base64!" } })
    ),
    "data[k]",
    /illegal base64 data/,
  );
});

Deno.test("node taints need a valid key and a known effect", () => {
  const causes = causesOf(() =>
    validateCreate(NODES, {
      metadata: { name: "node-a" },
      spec: { taints: [{ key: "a b", effect: "NoSchedule" }, { key: "x", effect: "Sometimes" }] },
    })
  );
  assertCause(causes, "spec.taints[1].effect", /Unsupported value: "Sometimes"/);
  const key = causesOf(() =>
    validateCreate(NODES, {
      metadata: { name: "node-a" },
      spec: { taints: [{ key: "a b", effect: "NoSchedule" }] },
    })
  );
  assertCause(key, "spec.taints[0].key", /name part must consist/);
});

// ---------------------------------------------------------------------------------------------
// Updates.

function stored(info: Any, obj: Any): KubeObject {
  const v = validateCreate(info, obj);
  v.metadata.uid = "uid-1";
  v.metadata.resourceVersion = "5";
  return v;
}

Deno.test("validateUpdate() lets a pod change only images, deadline and added tolerations", () => {
  const old = stored(PODS, pod({ tolerations: [{ key: "a", operator: "Exists" }] }));
  const next = structuredClone(old);
  next.spec.containers[0].image = "nginx:1.28";
  next.spec.activeDeadlineSeconds = 30;
  next.spec.tolerations.push({ key: "b", operator: "Exists" });
  next.metadata.labels = { changed: "yes" };
  const updated = validateUpdate(PODS, next, old);
  assert.equal(updated.spec.containers[0].image, "nginx:1.28");

  const bad = structuredClone(old);
  bad.spec.restartPolicy = "Never";
  const causes = causesOf(() => validateUpdate(PODS, bad, old));
  assertCause(causes, "spec", /^Forbidden: pod updates may not change fields other than/);

  const removed = structuredClone(old);
  removed.spec.tolerations = [];
  assertCause(causesOf(() => validateUpdate(PODS, removed, old)), "spec", /Forbidden/);
});

Deno.test("validateUpdate() allows setting an unset nodeName (binding) but not moving a pod", () => {
  const old = stored(PODS, pod());
  const bound = structuredClone(old);
  bound.spec.nodeName = "node-a";
  const b = validateUpdate(PODS, bound, old);
  const moved = structuredClone(b);
  moved.spec.nodeName = "node-b";
  assertCause(causesOf(() => validateUpdate(PODS, moved, b)), "spec", /Forbidden/);
});

Deno.test("validateUpdate() keeps a Service's clusterIP and nodePorts and refuses changes", () => {
  const old = stored(SERVICES, service({ type: "NodePort", ports: [{ port: 80 }] }));
  old.spec.clusterIP = "10.43.0.10";
  old.spec.clusterIPs = ["10.43.0.10"];
  old.spec.ports[0].nodePort = 30080;
  const replaced = validateUpdate(
    SERVICES,
    service({ type: "NodePort", ports: [{ port: 80 }], selector: { app: "x" } }),
    old,
  );
  assert.equal(replaced.spec.clusterIP, "10.43.0.10");
  assert.equal(replaced.spec.ports[0].nodePort, 30080);
  const moved = structuredClone(old);
  moved.spec.clusterIP = "10.43.0.11";
  moved.spec.clusterIPs = ["10.43.0.11"];
  assertCause(
    causesOf(() => validateUpdate(SERVICES, moved, old)),
    "spec.clusterIP",
    'Invalid value: "10.43.0.11": field is immutable',
  );
});

Deno.test("validateUpdate() refuses a new Deployment or ReplicaSet selector", () => {
  const old = stored(DEPLOYMENTS, deployment());
  const next = structuredClone(old);
  next.spec.selector = { matchLabels: { app: "web", tier: "x" } };
  next.spec.template.metadata.labels = { app: "web", tier: "x" };
  assertCause(causesOf(() => validateUpdate(DEPLOYMENTS, next, old)), "spec.selector", /immutable/);
  const scaled = structuredClone(old);
  scaled.spec.replicas = 5;
  assert.equal(validateUpdate(DEPLOYMENTS, scaled, old).spec.replicas, 5);
  const rs = stored(REPLICASETS, deployment());
  const rsNext = structuredClone(rs);
  rsNext.spec.selector = { matchLabels: { app: "web", v: "2" } };
  rsNext.spec.template.metadata.labels = { app: "web", v: "2" };
  assertCause(
    causesOf(() => validateUpdate(REPLICASETS, rsNext, rs)),
    "spec.selector",
    /immutable/,
  );
});

Deno.test("validateUpdate() refuses data changes of an immutable ConfigMap or Secret", () => {
  const cm = stored(CONFIGMAPS, { metadata: { name: "c" }, data: { a: "1" }, immutable: true });
  const next = structuredClone(cm);
  next.data.a = "2";
  assertCause(
    causesOf(() => validateUpdate(CONFIGMAPS, next, cm)),
    "data",
    "Forbidden: field is immutable when `immutable` is set",
  );
  const unset = structuredClone(cm);
  unset.immutable = false;
  assertCause(causesOf(() => validateUpdate(CONFIGMAPS, unset, cm)), "immutable", /Forbidden/);
  const secret = stored(SECRETS, {
    metadata: { name: "s" },
    stringData: { a: "1" },
    immutable: true,
  });
  const sNext = structuredClone(secret);
  sNext.stringData = { a: "2" };
  assertCause(causesOf(() => validateUpdate(SECRETS, sNext, secret)), "data", /Forbidden/);
  const labelled = structuredClone(cm);
  labelled.metadata.labels = { a: "b" };
  assert.deepEqual(validateUpdate(CONFIGMAPS, labelled, cm).metadata.labels, { a: "b" });
});

Deno.test("validateUpdate() refuses renaming", () => {
  const old = stored(CONFIGMAPS, { metadata: { name: "c", namespace: "default" } });
  const next = structuredClone(old);
  next.metadata.name = "d";
  assertCause(causesOf(() => validateUpdate(CONFIGMAPS, next, old)), "metadata.name", /immutable/);
});

Deno.test("a wrong enum value is reported together with the other field errors", () => {
  const causes = causesOf(() =>
    validateCreate(PODS, {
      metadata: { name: "Bad_Name" },
      spec: { restartPolicy: "Sometimes", containers: [{ name: "c" }] },
    })
  );
  assert.deepEqual(causes.map((c) => c.field), [
    "spec.restartPolicy",
    "metadata.name",
    "spec.containers[0].image",
  ]);
  const missing = causesOf(() =>
    validateCreate(PODS, { metadata: { name: "Bad_Name" }, spec: { containers: [{}] } })
  );
  assert.deepEqual(missing.map((c) => c.field), ["spec.containers[0].name"]);
});

Deno.test("parseObject() parses leniently: unknown fields dropped, no semantic rules", () => {
  const p = parseObject(PODS, { metadata: { name: "Not_Valid" }, spec: { containers: [], x: 1 } });
  assert.equal(p.metadata.name, "Not_Valid");
  assert.equal("x" in p.spec, false);
  assert.equal(p.spec.restartPolicy, "Always");
  assert.throws(() => parseObject(PODS, { spec: { restartPolicy: 1 } }), InvalidError);
});

Deno.test("validateUpdate() drops untouched nodePorts when a Service becomes ClusterIP", () => {
  const old = stored(SERVICES, service({ type: "NodePort", ports: [{ port: 80 }] }));
  old.spec.clusterIP = "10.43.0.10";
  old.spec.ports[0].nodePort = 30080;
  const next = structuredClone(old);
  next.spec.type = "ClusterIP";
  const s = validateUpdate(SERVICES, next, old);
  assert.equal(s.spec.ports[0].nodePort, undefined);
  assert.equal(s.spec.externalTrafficPolicy, undefined);
  assert.equal(s.spec.clusterIP, "10.43.0.10");
  const ext = structuredClone(old);
  ext.spec = { type: "ExternalName", externalName: "example.com", clusterIP: "10.43.0.10" };
  const e = validateUpdate(SERVICES, ext, old);
  assert.equal(e.spec.clusterIP, undefined);
});

Deno.test("typed Secrets need their keys, and a Secret's type cannot change", () => {
  assertCause(
    causesOf(() =>
      validateCreate(SECRETS, { metadata: { name: "t" }, type: "kubernetes.io/tls", data: {} })
    ),
    "data[tls.crt]",
    "Required value",
  );
  const ok = stored(SECRETS, {
    metadata: { name: "r" },
    type: "kubernetes.io/dockerconfigjson",
    stringData: { ".dockerconfigjson": "{}" },
  });
  const next = structuredClone(ok);
  next.type = "Opaque";
  assertCause(causesOf(() => validateUpdate(SECRETS, next, ok)), "type", /field is immutable/);
});

Deno.test("registry-credential Secrets need their key holding a JSON object, as kube-apiserver", () => {
  const secret = (type: string, stringData: Record<string, string>) =>
    causesOf(() => validateCreate(SECRETS, { metadata: { name: "r" }, type, stringData }));
  assertCause(
    secret("kubernetes.io/dockerconfigjson", {}),
    "data[.dockerconfigjson]",
    "Required value",
  );
  assertCause(secret("kubernetes.io/dockercfg", {}), "data[.dockercfg]", "Required value");
  const redacted = 'Invalid value: "<secret contents redacted>": ';
  assertCause(
    secret("kubernetes.io/dockerconfigjson", { ".dockerconfigjson": "not json" }),
    "data[.dockerconfigjson]",
    /^Invalid value: "<secret contents redacted>": \S/,
  );
  assertCause(
    secret("kubernetes.io/dockerconfigjson", { ".dockerconfigjson": "" }),
    "data[.dockerconfigjson]",
    `${redacted}unexpected end of JSON input`,
  );
  assertCause(
    secret("kubernetes.io/dockercfg", { ".dockercfg": "[]" }),
    "data[.dockercfg]",
    `${redacted}json: cannot unmarshal array into Go value of type map[string]interface {}`,
  );
  assertCause(
    secret("kubernetes.io/dockercfg", { ".dockercfg": "x" }),
    "data[.dockercfg]",
    `${redacted}invalid character 'x' looking for beginning of value`,
  );
  // Valid JSON objects pass, and an Opaque Secret may hold anything under those keys.
  stored(SECRETS, {
    metadata: { name: "ok" },
    type: "kubernetes.io/dockercfg",
    stringData: { ".dockercfg": '{"r.example":{"auth":"dTpw"}}' },
  });
  stored(SECRETS, { metadata: { name: "o" }, stringData: { ".dockerconfigjson": "nope" } });
});

Deno.test("an Event's involvedObject lives in the event's namespace", () => {
  const events = findResource("", "v1", "events")!;
  assertCause(
    causesOf(() =>
      validateCreate(events, {
        metadata: { name: "e.1", namespace: "default" },
        involvedObject: { kind: "Pod", name: "p", namespace: "other" },
      })
    ),
    "involvedObject.namespace",
    /does not match event.namespace/,
  );
});

Deno.test("lifecycle hooks: one handler each, none on init containers, stopSignal needs the OS", () => {
  const c = (lifecycle: Any) => [{ name: "web", image: "nginx:1.27", lifecycle }];
  assertCause(
    podCauses({ containers: c({ postStart: {} }) }),
    "spec.containers[0].lifecycle.postStart",
    "Required value: must specify a handler type",
  );
  assertCause(
    podCauses({ containers: c({ preStop: { exec: { command: ["x"] }, sleep: { seconds: 1 } } }) }),
    "spec.containers[0].lifecycle.preStop.sleep",
    "Forbidden: may not specify more than 1 handler type",
  );
  assertCause(
    podCauses({ containers: c({ preStop: { sleep: { seconds: 0 } } }) }),
    "spec.containers[0].lifecycle.preStop.sleep.seconds",
    /must be greater than 0/,
  );
  assertCause(
    podCauses({ initContainers: c({ preStop: { exec: { command: ["x"] } } }) }),
    "spec.initContainers[0].lifecycle",
    "Forbidden: may not be set for init containers without restartPolicy=Always",
  );
  assertCause(
    podCauses({ containers: c({ stopSignal: "SIGUSR1" }) }),
    "spec.containers[0].lifecycle.stopSignal",
    "Forbidden: may not be set for containers with empty `spec.os.name`",
  );
  assertCause(
    podCauses({ os: { name: "linux" }, containers: c({ stopSignal: "SIGNOPE" }) }),
    "spec.containers[0].lifecycle.stopSignal",
    /^Unsupported value: "SIGNOPE"/,
  );
  validateCreate(PODS, pod({ os: { name: "linux" }, containers: c({ stopSignal: "SIGRTMIN+3" }) }));
});

Deno.test("validateUpdate() takes fields carried over from the stored object as they are, and parses the rest", () => {
  const old = stored(PODS, pod());
  // A status write: spec and metadata are the stored object's own.
  const statusWrite = {
    ...old,
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True", extra: 1 }] },
  };
  const warnings: string[] = [];
  const updated = validateUpdate(PODS, statusWrite, old, { warnings });
  assert.equal(updated.spec, old.spec);
  assert.equal(updated.metadata, old.metadata);
  // The status is parsed: unknown fields dropped (and reported), key order as a whole parse's.
  assert.deepEqual(updated.status.conditions, [{ type: "Ready", status: "True" }]);
  assert.deepEqual(warnings, ['unknown field "status.conditions[0].extra"']);
  const whole = validateUpdate(PODS, structuredClone(statusWrite), old);
  assert.equal(JSON.stringify(updated), JSON.stringify(whole));
  // A shape error in the parsed part is reported with its full path, as before.
  const bad = { ...old, status: { phase: 7 } };
  assertCause(
    causesOf(() => validateUpdate(PODS, bad, old)),
    "status.phase",
    /^Unsupported value: 7/,
  );
  // A spec that is a copy, not the stored object itself, is parsed again.
  const copied = validateUpdate(PODS, { ...old, spec: structuredClone(old.spec) }, old);
  assert.notEqual(copied.spec, old.spec);
  assert.deepEqual(copied.spec, old.spec);
});

Deno.test("finalizers are qualified names, and an object being deleted gains none", () => {
  const cm = (finalizers: string[], deletionTimestamp?: string) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "default", finalizers, deletionTimestamp },
  });
  const bad = causesOf(() => validateCreate(CONFIGMAPS, cm(["example.com/ok", "bad_fin!"])));
  assert.deepEqual(bad.map((c) => c.field), ["metadata.finalizers[1]"]);
  const old = validateCreate(CONFIGMAPS, cm(["a.com/x", "b.com/y"], "2026-12-06T00:00:00Z"));
  // Removing one is what finalizer owners do; adding one is Forbidden.
  validateUpdate(CONFIGMAPS, cm(["b.com/y"], "2026-12-06T00:00:00Z"), old);
  const added = causesOf(() =>
    validateUpdate(CONFIGMAPS, cm(["a.com/x", "new.com/z"], "2026-12-06T00:00:00Z"), old)
  );
  assert.deepEqual(added, [{
    reason: "FieldValueForbidden",
    field: "metadata.finalizers",
    message:
      'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"new.com/z"}',
  }]);
  // Without a deletionTimestamp, finalizers come and go freely.
  validateUpdate(CONFIGMAPS, cm(["new.com/z"]), validateCreate(CONFIGMAPS, cm(["a.com/x"])));
});

Deno.test("env var names: printable ASCII other than '=' (Kubernetes' relaxed rule)", () => {
  const pod = (name: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default" },
    spec: { containers: [{ name: "c", image: "busybox", env: [{ name, value: "1" }] }] },
  });
  validateCreate(PODS, pod("1.odd-but fine"));
  for (const name of ["1bad=", "tab\there", "é"]) {
    const causes = causesOf(() => validateCreate(PODS, pod(name)));
    assert.deepEqual(causes.map((c) => c.field), ["spec.containers[0].env[0].name"], name);
    assert.match(causes[0].message, /printable ASCII characters other than '='/);
  }
});

Deno.test("restartPolicy on a container: only init containers (sidecars), only Always", () => {
  const c = (extra: Any = {}) => ({ name: "c", image: "busybox", ...extra });
  assertCause(
    podCauses({ containers: [c({ restartPolicy: "Always" })] }),
    "spec.containers[0].restartPolicy",
    "Forbidden: may not be set for non-init containers",
  );
  assertCause(
    podCauses({
      containers: [c()],
      initContainers: [c({ name: "i", restartPolicy: "OnFailure" })],
    }),
    "spec.initContainers[0].restartPolicy",
    'Unsupported value: "OnFailure": supported values: "Always"',
  );
  // A sidecar may have probes and lifecycle hooks, which a regular init container may not.
  const probe = { exec: { command: ["true"] } };
  validateCreate(
    PODS,
    pod({
      containers: [c()],
      initContainers: [c({ name: "s", restartPolicy: "Always", readinessProbe: probe })],
    }),
  );
  assertCause(
    podCauses({ containers: [c()], initContainers: [c({ name: "i", readinessProbe: probe })] }),
    "spec.initContainers[0].readinessProbe",
    /may not be set for init containers/,
  );
});

Deno.test("subPath and subPathExpr stay inside their volume, and only one of them is set", () => {
  const causes = podCauses({
    volumes: [{ name: "v", emptyDir: {} }],
    containers: [{
      name: "c",
      image: "busybox",
      volumeMounts: [
        { name: "v", mountPath: "/a", subPath: "../etc" },
        { name: "v", mountPath: "/b", subPath: "/abs" },
        { name: "v", mountPath: "/c", subPath: "x", subPathExpr: "$(POD_NAME)" },
      ],
    }],
  });
  const m = "spec.containers[0].volumeMounts";
  assertCause(causes, `${m}[0].subPath`, `Invalid value: "../etc": must not contain '..'`);
  assertCause(causes, `${m}[1].subPath`, `Invalid value: "/abs": must be a relative path`);
  assertCause(
    causes,
    `${m}[2].subPathExpr`,
    `Invalid value: "$(POD_NAME)": subPathExpr and subPath are mutually exclusive`,
  );
});

Deno.test("user and group IDs are bounded as kube-apiserver bounds them", () => {
  const causes = podCauses({
    securityContext: { runAsUser: -1, runAsGroup: 2147483648, supplementalGroups: [1, -5] },
    containers: [{ name: "c", image: "busybox", securityContext: { runAsUser: -2 } }],
  });
  const range = "must be between 0 and 2147483647, inclusive";
  assertCause(causes, "spec.securityContext.runAsUser", `Invalid value: -1: ${range}`);
  assertCause(causes, "spec.securityContext.runAsGroup", `Invalid value: 2147483648: ${range}`);
  assertCause(causes, "spec.securityContext.supplementalGroups[1]", `Invalid value: -5: ${range}`);
  assertCause(
    causes,
    "spec.containers[0].securityContext.runAsUser",
    `Invalid value: -2: ${range}`,
  );
});
