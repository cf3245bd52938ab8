import assert from "node:assert/strict";
import { findResource } from "./resources.ts";
import { validateCreate } from "./validation.ts";
import { defaultPullPolicy } from "./defaults.ts";
import { qosClass } from "./qos_class.ts";
import type { KubeObject } from "./object.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function create(plural: string, obj: unknown, group = "", version = "v1"): Any {
  const info = findResource(group, version, plural);
  assert.ok(info, plural);
  return validateCreate(info, obj) as KubeObject;
}

const pod = (spec: Any = {}) => ({
  metadata: { name: "web" },
  spec: { containers: [{ name: "web", image: "nginx:1.27" }], ...spec },
});

Deno.test("Pod defaults: restartPolicy, dnsPolicy, grace period, scheduler, status", () => {
  const p = create("pods", pod());
  assert.equal(p.apiVersion, "v1");
  assert.equal(p.kind, "Pod");
  assert.equal(p.spec.restartPolicy, "Always");
  assert.equal(p.spec.dnsPolicy, "ClusterFirst");
  assert.equal(p.spec.terminationGracePeriodSeconds, 30);
  assert.equal(p.spec.schedulerName, "default-scheduler");
  assert.deepEqual(p.spec.securityContext, {});
  assert.equal(p.status.phase, "Pending");
  assert.equal(p.status.qosClass, "BestEffort");
});

Deno.test("Pod defaults keep values the client set", () => {
  const p = create(
    "pods",
    pod({ restartPolicy: "Never", dnsPolicy: "Default", terminationGracePeriodSeconds: 0 }),
  );
  assert.equal(p.spec.restartPolicy, "Never");
  assert.equal(p.spec.dnsPolicy, "Default");
  assert.equal(p.spec.terminationGracePeriodSeconds, 0);
});

Deno.test("container defaults: pull policy by tag, termination message, port protocol", () => {
  const p = create("pods", {
    metadata: { name: "web" },
    spec: {
      containers: [
        { name: "a", image: "nginx", ports: [{ containerPort: 80 }] },
        { name: "b", image: "nginx:latest" },
        { name: "c", image: "registry.local:5000/nginx" },
        { name: "d", image: "registry.local:5000/nginx:1.2" },
        { name: "e", image: "nginx@sha256:abcd" },
        { name: "f", image: "nginx", imagePullPolicy: "Never" },
      ],
      initContainers: [{ name: "init", image: "busybox:1.36" }],
    },
  });
  const c = p.spec.containers;
  assert.deepEqual(c.map((x: Any) => x.imagePullPolicy), [
    "Always",
    "Always",
    "Always",
    "IfNotPresent",
    "IfNotPresent",
    "Never",
  ]);
  assert.equal(p.spec.initContainers[0].imagePullPolicy, "IfNotPresent");
  assert.equal(c[0].terminationMessagePath, "/dev/termination-log");
  assert.equal(c[0].terminationMessagePolicy, "File");
  assert.equal(c[0].ports[0].protocol, "TCP");
  assert.equal(defaultPullPolicy(undefined), "Always");
});

Deno.test("probe defaults: timings, httpGet scheme and path", () => {
  const p = create(
    "pods",
    pod({
      containers: [{
        name: "web",
        image: "nginx:1",
        livenessProbe: { httpGet: { port: 80 } },
        readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 5 },
        ports: [{ name: "http", containerPort: 80 }],
      }],
    }),
  );
  const live = p.spec.containers[0].livenessProbe;
  assert.deepEqual(live, {
    httpGet: { path: "/", port: 80, scheme: "HTTP" },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(p.spec.containers[0].readinessProbe.periodSeconds, 5);
});

Deno.test("Pod requests default to limits, and the QoS class follows", () => {
  const p = create(
    "pods",
    pod({
      containers: [{
        name: "web",
        image: "nginx:1",
        resources: { limits: { cpu: "500m", memory: 134217728 } },
      }],
    }),
  );
  assert.deepEqual(p.spec.containers[0].resources.requests, { cpu: "500m", memory: "134217728" });
  assert.equal(p.status.qosClass, "Guaranteed");
  assert.equal(
    qosClass({ containers: [{ resources: { requests: { cpu: "100m" } } }] }),
    "Burstable",
  );
});

Deno.test("volume defaults: configMap/secret defaultMode", () => {
  const p = create(
    "pods",
    pod({
      volumes: [
        { name: "cfg", configMap: { name: "cfg" } },
        { name: "sec", secret: { secretName: "sec" } },
        { name: "tmp", emptyDir: {} },
      ],
    }),
  );
  assert.equal(p.spec.volumes[0].configMap.defaultMode, 420);
  assert.equal(p.spec.volumes[1].secret.defaultMode, 420);
  assert.deepEqual(p.spec.volumes[2].emptyDir, {});
});

Deno.test("Service defaults: type, sessionAffinity, protocol, targetPort = port", () => {
  const s = create("services", {
    metadata: { name: "web" },
    spec: {
      selector: { app: "web" },
      ports: [{ name: "http", port: 80 }, { name: "https", port: 443, targetPort: "https" }],
    },
  });
  assert.equal(s.spec.type, "ClusterIP");
  assert.equal(s.spec.sessionAffinity, "None");
  assert.equal(s.spec.ports[0].protocol, "TCP");
  assert.equal(s.spec.ports[0].targetPort, 80);
  assert.equal(s.spec.ports[1].targetPort, "https");
  assert.equal(s.spec.internalTrafficPolicy, "Cluster");
  assert.equal(s.spec.externalTrafficPolicy, undefined);
  assert.deepEqual(s.status, { loadBalancer: {} });
});

Deno.test("Service defaults: NodePort gets externalTrafficPolicy, ClientIP a timeout", () => {
  const s = create("services", {
    metadata: { name: "web" },
    spec: { type: "NodePort", sessionAffinity: "ClientIP", ports: [{ port: 80 }] },
  });
  assert.equal(s.spec.externalTrafficPolicy, "Cluster");
  assert.equal(s.spec.sessionAffinityConfig.clientIP.timeoutSeconds, 10800);
});

const template = {
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
};

Deno.test("Deployment defaults: replicas, strategy 25%/25%, history, deadline", () => {
  const d = create("deployments", {
    metadata: { name: "web" },
    spec: { selector: { matchLabels: { app: "web" } }, template, strategy: {} },
  }, "apps");
  assert.equal(d.apiVersion, "apps/v1");
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
  });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.minReadySeconds, 0);
  assert.equal(d.spec.template.spec.restartPolicy, "Always");
  assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, "IfNotPresent");
});

Deno.test("Deployment with Recreate gets no rollingUpdate", () => {
  const d = create("deployments", {
    metadata: { name: "web" },
    spec: { selector: { matchLabels: { app: "web" } }, template, strategy: { type: "Recreate" } },
  }, "apps");
  assert.deepEqual(d.spec.strategy, { type: "Recreate" });
});

Deno.test("ReplicaSet defaults replicas to 1", () => {
  const rs = create("replicasets", {
    metadata: { name: "web" },
    spec: { selector: { matchLabels: { app: "web" } }, template },
  }, "apps");
  assert.equal(rs.spec.replicas, 1);
  assert.equal(rs.spec.template.spec.dnsPolicy, "ClusterFirst");
});

Deno.test("ReplicationController takes selector and labels from its template", () => {
  const rc = create("replicationcontrollers", { metadata: { name: "web" }, spec: { template } });
  assert.equal(rc.spec.replicas, 1);
  assert.deepEqual(rc.spec.selector, { app: "web" });
  assert.deepEqual(rc.metadata.labels, { app: "web" });
});

Deno.test("Namespace defaults: phase Active, kubernetes finalizer", () => {
  const ns = create("namespaces", { metadata: { name: "team-a" } });
  assert.deepEqual(ns.spec, { finalizers: ["kubernetes"] });
  assert.deepEqual(ns.status, { phase: "Active" });
  const again = create("namespaces", { metadata: { name: "team-b" } });
  assert.notEqual(again.spec.finalizers, ns.spec.finalizers, "defaults are not shared objects");
});

Deno.test("Secret defaults: type Opaque, stringData merged into base64 data", () => {
  const s = create("secrets", {
    metadata: { name: "creds" },
    data: { user: btoa("admin") },
    stringData: { password: "pässword", user: "root" },
  });
  assert.equal(s.type, "Opaque");
  assert.equal(s.stringData, undefined);
  assert.equal(s.data.user, btoa("root"), "stringData wins over data");
  const bytes = Uint8Array.from(atob(s.data.password), (c) => c.charCodeAt(0));
  assert.equal(new TextDecoder().decode(bytes), "pässword");
});
