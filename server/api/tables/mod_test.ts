import assert from "node:assert/strict";
import type { KubeObject } from "../../../shared/api/object.ts";
import { tableFor } from "./mod.ts";

const now = new Date("2026-11-28T12:00:00Z");
const created = "2026-11-28T11:56:40Z"; // 3m20s before now

function info(group: string, kind: string, plural: string, version = "v1") {
  return { group, kind, plural, version };
}

function names(t: ReturnType<typeof tableFor>) {
  return t.columnDefinitions.map((c) => `${c.name}${c.priority ? "*" : ""}`);
}

Deno.test("pods table: columns, wide columns and the row of a running pod", () => {
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-1",
      namespace: "default",
      creationTimestamp: created,
      resourceVersion: "7",
      labels: { app: "web" },
    },
    spec: { nodeName: "node-a", containers: [{ name: "c", image: "nginx" }] },
    status: {
      phase: "Running",
      podIP: "172.17.0.3",
      podIPs: [{ ip: "172.17.0.3" }],
      containerStatuses: [{ name: "c", ready: true, restartCount: 0, state: { running: {} } }],
    },
  };
  const t = tableFor(info("", "Pod", "pods"), [pod], {
    now,
    includeObject: "Metadata",
    listMeta: { resourceVersion: "12" },
  });
  assert.equal(t.kind, "Table");
  assert.equal(t.apiVersion, "meta.k8s.io/v1");
  assert.deepEqual(t.metadata, { resourceVersion: "12" });
  assert.deepEqual(names(t), [
    "Name",
    "Ready",
    "Status",
    "Restarts",
    "Age",
    "IP*",
    "Node*",
    "Nominated Node*",
    "Readiness Gates*",
  ]);
  assert.equal(t.columnDefinitions[0].format, "name");
  assert.deepEqual(t.rows[0].cells, [
    "web-1",
    "1/1",
    "Running",
    "0",
    "3m20s",
    "172.17.0.3",
    "node-a",
    "<none>",
    "<none>",
  ]);
  assert.deepEqual(t.rows[0].object, {
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: pod.metadata,
  });
});

Deno.test("includeObject: Object embeds the full object with kind/apiVersion; None omits it", () => {
  const cm: KubeObject = { metadata: { name: "c", creationTimestamp: created }, data: { a: "1" } };
  const full = tableFor(info("", "ConfigMap", "configmaps"), [cm], {
    now,
    includeObject: "Object",
  });
  assert.deepEqual(full.rows[0].object, { ...cm, kind: "ConfigMap", apiVersion: "v1" });
  assert.deepEqual(
    tableFor(info("", "ConfigMap", "configmaps"), [cm], { now, includeObject: true }).rows[0]
      .object,
    full.rows[0].object,
  );
  const none = tableFor(info("", "ConfigMap", "configmaps"), [cm], { now, includeObject: "None" });
  assert.equal("object" in none.rows[0], false);
});

Deno.test("a single object's table carries its resourceVersion (GET, watch event)", () => {
  const cm: KubeObject = { metadata: { name: "c", resourceVersion: "42" } };
  assert.deepEqual(tableFor(info("", "ConfigMap", "configmaps"), [cm], { now }).metadata, {
    resourceVersion: "42",
  });
});

Deno.test("finished pods carry the Completed row condition", () => {
  const pod: KubeObject = {
    metadata: { name: "job" },
    spec: { containers: [{ name: "c" }] },
    status: {
      phase: "Succeeded",
      containerStatuses: [{
        name: "c",
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: "Completed" } },
      }],
    },
  };
  const t = tableFor(info("", "Pod", "pods"), [pod], { now });
  assert.equal(t.rows[0].cells[2], "Completed");
  assert.equal(t.rows[0].conditions?.[0].type, "Completed");
});

Deno.test("nodes table: Ready/NotReady/Unknown, SchedulingDisabled, roles, wide info", () => {
  const node: KubeObject = {
    metadata: {
      name: "n1",
      creationTimestamp: created,
      labels: { "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/edge": "" },
    },
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "Hostname", address: "n1" }, {
        type: "InternalIP",
        address: "127.0.0.11",
      }],
      nodeInfo: {
        kubeletVersion: "v1.32.0-skiff",
        osImage: "Debian GNU/Linux 12",
        kernelVersion: "6.1.0",
        containerRuntimeVersion: "docker://26.1.5",
      },
    },
  };
  const t = tableFor(info("", "Node", "nodes"), [node], { now });
  assert.deepEqual(names(t), [
    "Name",
    "Status",
    "Roles",
    "Age",
    "Version",
    "Internal-IP*",
    "External-IP*",
    "OS-Image*",
    "Kernel-Version*",
    "Container-Runtime*",
  ]);
  assert.deepEqual(t.rows[0].cells, [
    "n1",
    "Ready,SchedulingDisabled",
    "control-plane,edge",
    "3m20s",
    "v1.32.0-skiff",
    "127.0.0.11",
    "<none>",
    "Debian GNU/Linux 12",
    "6.1.0",
    "docker://26.1.5",
  ]);
  const notReady = {
    ...node,
    spec: {},
    status: { conditions: [{ type: "Ready", status: "Unknown" }] },
  };
  const bare = { metadata: { name: "n2" } };
  const t2 = tableFor(info("", "Node", "nodes"), [notReady, bare], { now });
  assert.deepEqual(t2.rows.map((r) => r.cells[1]), ["NotReady", "Unknown"]);
  assert.deepEqual(t2.rows[1].cells.slice(2), [
    "<none>",
    "<unknown>",
    "",
    "<none>",
    "<none>",
    "<unknown>",
    "<unknown>",
    "<unknown>",
  ]);
});

Deno.test("services table: types, external IPs and ports like kubectl", () => {
  const svc = (spec: object, status: object = {}): KubeObject => ({
    metadata: { name: "s", creationTimestamp: created },
    spec,
    status,
  });
  const rows = tableFor(info("", "Service", "services"), [
    svc({
      type: "ClusterIP",
      clusterIP: "10.43.0.10",
      ports: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }],
      selector: { k: "dns", a: "b" },
    }),
    svc({
      type: "NodePort",
      clusterIP: "10.43.0.11",
      ports: [{ port: 80, nodePort: 31234, protocol: "TCP" }],
    }),
    svc({
      type: "LoadBalancer",
      clusterIP: "10.43.0.12",
      ports: [{ port: 8300, nodePort: 30001 }],
    }),
    svc({
      type: "LoadBalancer",
      clusterIP: "10.43.0.13",
      externalIPs: ["127.0.0.20"],
      ports: [{ port: 80, nodePort: 30002 }],
    }, { loadBalancer: { ingress: [{ ip: "127.0.0.30" }] } }),
    svc({ type: "ClusterIP", clusterIP: "None" }),
  ], { now }).rows.map((r) => r.cells);
  assert.deepEqual(rows[0], [
    "s",
    "ClusterIP",
    "10.43.0.10",
    "<none>",
    "53/UDP,53/TCP",
    "3m20s",
    "a=b,k=dns",
  ]);
  assert.deepEqual(rows[1].slice(1, 5), ["NodePort", "10.43.0.11", "<none>", "80:31234/TCP"]);
  assert.deepEqual(rows[2].slice(1, 5), [
    "LoadBalancer",
    "10.43.0.12",
    "<pending>",
    "8300:30001/TCP",
  ]);
  assert.deepEqual(rows[3].slice(3, 4), ["127.0.0.30,127.0.0.20"]);
  assert.deepEqual(rows[4].slice(2, 5), ["None", "<none>", "<none>"]);
  assert.deepEqual(rows[4][6], "<none>");
});

Deno.test("deployments, replicasets, replication controllers", () => {
  const template = {
    metadata: { labels: { app: "web" } },
    spec: { containers: [{ name: "a", image: "nginx:1" }, { name: "b", image: "busybox" }] },
  };
  const deploy: KubeObject = {
    metadata: { name: "web", creationTimestamp: created },
    spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  };
  const d = tableFor(info("apps", "Deployment", "deployments"), [deploy], { now });
  assert.deepEqual(names(d), [
    "Name",
    "Ready",
    "Up-to-date",
    "Available",
    "Age",
    "Containers*",
    "Images*",
    "Selector*",
  ]);
  assert.deepEqual(d.rows[0].cells, [
    "web",
    "2/3",
    3,
    2,
    "3m20s",
    "a,b",
    "nginx:1,busybox",
    "app=web",
  ]);

  const rs: KubeObject = { ...deploy, status: { replicas: 3, readyReplicas: 1 } };
  const r = tableFor(info("apps", "ReplicaSet", "replicasets"), [rs], { now });
  assert.deepEqual(names(r), [
    "Name",
    "Desired",
    "Current",
    "Ready",
    "Age",
    "Containers*",
    "Images*",
    "Selector*",
  ]);
  assert.deepEqual(r.rows[0].cells, ["web", 3, 3, 1, "3m20s", "a,b", "nginx:1,busybox", "app=web"]);

  const rc: KubeObject = {
    metadata: { name: "old", creationTimestamp: created },
    spec: { selector: { app: "web" }, template },
    status: {},
  };
  const c = tableFor(info("", "ReplicationController", "replicationcontrollers"), [rc], { now });
  assert.deepEqual(c.rows[0].cells, ["old", 1, 0, 0, "3m20s", "a,b", "nginx:1,busybox", "app=web"]);
});

Deno.test("endpoints: ip:port list capped at three with + N more...", () => {
  const ep: KubeObject = {
    metadata: { name: "web", creationTimestamp: created },
    subsets: [{
      addresses: [{ ip: "127.0.0.11" }, { ip: "127.0.0.12" }],
      ports: [{ port: 31001 }, { port: 31002 }],
    }],
  };
  const t = tableFor(info("", "Endpoints", "endpoints"), [ep, { metadata: { name: "none" } }], {
    now,
  });
  assert.deepEqual(names(t), ["Name", "Endpoints", "Age"]);
  assert.equal(
    t.rows[0].cells[1],
    "127.0.0.11:31001,127.0.0.12:31001,127.0.0.11:31002 + 1 more...",
  );
  assert.equal(t.rows[1].cells[1], "<none>");
  const two: KubeObject = {
    metadata: { name: "w" },
    subsets: [{ addresses: [{ ip: "127.0.0.11" }], ports: [{ port: 31001 }] }, {
      addresses: [{ ip: "127.0.0.12" }],
      ports: [{ port: 31002 }],
    }],
  };
  assert.equal(
    tableFor(info("", "Endpoints", "endpoints"), [two], { now }).rows[0].cells[1],
    "127.0.0.11:31001,127.0.0.12:31002",
  );
});

Deno.test("configmaps, secrets, namespaces, leases", () => {
  const cm = tableFor(info("", "ConfigMap", "configmaps"), [{
    metadata: { name: "c", creationTimestamp: created },
    data: { a: "1", b: "2" },
    binaryData: { c: "AA==" },
  }], { now });
  assert.deepEqual(names(cm), ["Name", "Data", "Age"]);
  assert.deepEqual(cm.rows[0].cells, ["c", 3, "3m20s"]);

  const sec = tableFor(info("", "Secret", "secrets"), [{
    metadata: { name: "s", creationTimestamp: created },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": "e30=" },
  }], { now });
  assert.deepEqual(names(sec), ["Name", "Type", "Data", "Age"]);
  assert.deepEqual(sec.rows[0].cells, ["s", "kubernetes.io/dockerconfigjson", 1, "3m20s"]);

  const ns = tableFor(info("", "Namespace", "namespaces"), [{
    metadata: { name: "default", creationTimestamp: created },
    status: { phase: "Active" },
  }], { now });
  assert.deepEqual(ns.rows[0].cells, ["default", "Active", "3m20s"]);

  const lease = tableFor(info("coordination.k8s.io", "Lease", "leases"), [{
    metadata: { name: "n1", creationTimestamp: created },
    spec: { holderIdentity: "n1" },
  }], { now });
  assert.deepEqual(names(lease), ["Name", "Holder", "Age"]);
  assert.deepEqual(lease.rows[0].cells, ["n1", "n1", "3m20s"]);
});

Deno.test("events table: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE", () => {
  const ev: KubeObject = {
    metadata: { name: "web-1.abc", namespace: "default" },
    involvedObject: {
      kind: "Pod",
      name: "web-1",
      namespace: "default",
      fieldPath: "spec.containers{c}",
    },
    reason: "Pulled",
    message: "Container image already present",
    type: "Normal",
    source: { component: "kubelet", host: "n1" },
    firstTimestamp: "2026-11-28T11:00:00Z",
    lastTimestamp: created,
    count: 4,
  };
  const t = tableFor(info("", "Event", "events"), [ev], { now });
  assert.deepEqual(names(t), [
    "Last Seen",
    "Type",
    "Reason",
    "Object",
    "Subobject*",
    "Source*",
    "Message",
    "First Seen*",
    "Count*",
    "Name*",
  ]);
  assert.deepEqual(t.rows[0].cells, [
    "3m20s",
    "Normal",
    "Pulled",
    "pod/web-1",
    "spec.containers{c}",
    "kubelet, n1",
    "Container image already present",
    "60m",
    4,
    "web-1.abc",
  ]);
});

Deno.test("endpointslices and the generic NAME/AGE fallback", () => {
  const slice = tableFor(info("discovery.k8s.io", "EndpointSlice", "endpointslices"), [{
    metadata: { name: "web-x", creationTimestamp: created },
    addressType: "IPv4",
    ports: [{ port: 80 }],
    endpoints: [{ addresses: ["127.0.0.11"] }, { addresses: ["127.0.0.12"] }],
  }], { now });
  assert.deepEqual(slice.rows[0].cells, ["web-x", "IPv4", "80", "127.0.0.11,127.0.0.12", "3m20s"]);

  const other = tableFor(info("example.com", "Widget", "widgets"), [{
    metadata: { name: "w", creationTimestamp: created },
  }], { now });
  assert.deepEqual(names(other), ["Name", "Age"]);
  assert.deepEqual(other.rows[0].cells, ["w", "3m20s"]);
});

Deno.test("resourcequotas table: REQUEST and LIMIT as used/hard, sorted, limits apart", () => {
  const quota: KubeObject = {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "compute", namespace: "default", creationTimestamp: created },
    spec: {},
    status: {
      hard: {
        pods: "10",
        "requests.cpu": "1000m",
        "limits.memory": "2048Mi",
        "count/secrets": "5",
      },
      used: { pods: "1", "requests.cpu": "100m", "limits.memory": "64Mi" },
    },
  };
  const t = tableFor(info("", "ResourceQuota", "resourcequotas"), [quota], { now });
  assert.deepEqual(names(t), ["Name", "Request", "Limit", "Age"]);
  assert.deepEqual(t.rows[0].cells, [
    "compute",
    "count/secrets: 0/5, pods: 1/10, requests.cpu: 100m/1",
    "limits.memory: 64Mi/2Gi",
    "3m20s",
  ]);
});
