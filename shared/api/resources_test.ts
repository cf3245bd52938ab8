import assert from "node:assert/strict";
import { validateCreate, validateUpdate } from "./validation.ts";
import { findResource, resourceForKind, RESOURCES } from "./resources.ts";

Deno.test("RESOURCES serves every kind once, with list kinds and schemas", () => {
  const kinds = RESOURCES.map((r) => `${r.group}/${r.version}/${r.kind}`);
  assert.equal(new Set(kinds).size, kinds.length);
  for (
    const k of [
      "/v1/Namespace",
      "/v1/Node",
      "/v1/Pod",
      "/v1/Service",
      "/v1/Endpoints",
      "/v1/ReplicationController",
      "/v1/ConfigMap",
      "/v1/Secret",
      "/v1/Event",
      "coordination.k8s.io/v1/Lease",
      "apps/v1/Deployment",
      "apps/v1/ReplicaSet",
      "discovery.k8s.io/v1/EndpointSlice",
      "metrics.k8s.io/v1beta1/NodeMetrics",
      "metrics.k8s.io/v1beta1/PodMetrics",
    ]
  ) {
    assert.ok(kinds.includes(k), k);
  }
  for (const r of RESOURCES) {
    assert.equal(r.listKind, `${r.kind}List`);
    assert.equal(typeof r.schema.safeParse, "function");
  }
});

Deno.test("short names and the all category are those kubectl expects", () => {
  const short = (plural: string, group = "") => findResource(group, "v1", plural)?.shortNames;
  assert.deepEqual(short("pods"), ["po"]);
  assert.deepEqual(short("services"), ["svc"]);
  assert.deepEqual(short("nodes"), ["no"]);
  assert.deepEqual(short("namespaces"), ["ns"]);
  assert.deepEqual(short("endpoints"), ["ep"]);
  assert.deepEqual(short("replicationcontrollers"), ["rc"]);
  assert.deepEqual(short("configmaps"), ["cm"]);
  assert.deepEqual(short("events"), ["ev"]);
  assert.deepEqual(short("deployments", "apps"), ["deploy"]);
  assert.deepEqual(short("replicasets", "apps"), ["rs"]);
  const all = RESOURCES.filter((r) => r.categories.includes("all")).map((r) => r.plural);
  assert.deepEqual(all, [
    "pods",
    "services",
    "replicationcontrollers",
    "daemonsets",
    "deployments",
    "replicasets",
    "statefulsets",
    "jobs",
    "cronjobs",
    "horizontalpodautoscalers",
  ]);
  assert.deepEqual(short("daemonsets", "apps"), ["ds"]);
  assert.deepEqual(short("statefulsets", "apps"), ["sts"]);
  assert.deepEqual(short("cronjobs", "batch"), ["cj"]);
});

Deno.test("scopes, verbs and subresources", () => {
  assert.equal(findResource("", "v1", "nodes")?.namespaced, false);
  assert.equal(findResource("", "v1", "namespaces")?.namespaced, false);
  assert.equal(findResource("", "v1", "pods")?.namespaced, true);
  assert.deepEqual(findResource("metrics.k8s.io", "v1beta1", "pods")?.verbs, ["get", "list"]);
  assert.ok(findResource("", "v1", "pods")?.verbs.includes("watch"));
  assert.ok(findResource("apps", "v1", "deployments")?.subresources.includes("scale"));
  assert.ok(findResource("", "v1", "pods")?.subresources.includes("binding"));
  assert.ok(findResource("", "v1", "pods")?.subresources.includes("eviction"));
});

Deno.test("findResource() and resourceForKind() look entries up by address and by kind", () => {
  assert.equal(findResource("apps", "v1", "deployments")?.kind, "Deployment");
  assert.equal(findResource("", "v1", "deployments"), undefined);
  assert.equal(findResource("metrics.k8s.io", "v1beta1", "pods")?.kind, "PodMetrics");
  assert.equal(resourceForKind("v1", "Pod")?.plural, "pods");
  assert.equal(resourceForKind("apps/v1", "ReplicaSet")?.plural, "replicasets");
  assert.equal(resourceForKind("coordination.k8s.io/v1", "Lease")?.plural, "leases");
  assert.equal(resourceForKind("v1", "Deployment"), undefined);
});

const SAMPLES: Record<string, unknown> = {
  Pod: {
    metadata: { name: "web", namespace: "default" },
    spec: {
      containers: [{
        name: "web",
        image: "nginx:1.27",
        ports: [{ containerPort: 80 }],
        livenessProbe: { httpGet: { port: 80 } },
        resources: { limits: { cpu: "1" } },
      }],
      volumes: [{ name: "c", configMap: { name: "c" } }],
    },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True", lastProbeTime: null }],
      hostIP: "127.0.0.11",
      podIP: "172.17.0.2",
      containerStatuses: [{
        name: "web",
        ready: true,
        restartCount: 0,
        image: "nginx:1.27",
        imageID: "sha256:1",
        state: { running: { startedAt: "2026-01-01T00:00:00Z" } },
      }],
      portMappings: [{
        containerName: "web",
        containerPort: 80,
        protocol: "TCP",
        hostIP: "127.0.0.11",
        hostPort: 40000,
      }],
    },
  },
  Service: {
    metadata: { name: "web" },
    spec: { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }], clusterIP: "10.43.0.5" },
  },
  Endpoints: {
    metadata: { name: "web" },
    subsets: [{ addresses: [{ ip: "127.0.0.11" }], ports: [{ port: 40000 }] }],
  },
  ReplicationController: {
    metadata: { name: "web" },
    spec: {
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "w", image: "nginx" }] },
      },
    },
  },
  Namespace: { metadata: { name: "team-a" } },
  Node: {
    metadata: { name: "node-a" },
    spec: { taints: [{ key: "k", effect: "NoSchedule" }] },
    status: {
      capacity: { cpu: "2", memory: "4Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "InternalIP", address: "127.0.0.11" }],
      nodeInfo: { kubeletVersion: "v1.32.0" },
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    },
  },
  ConfigMap: { metadata: { name: "c" }, data: { a: "b" } },
  Secret: { metadata: { name: "s" }, stringData: { a: "b" } },
  ServiceAccount: {
    metadata: { name: "builder" },
    automountServiceAccountToken: false,
    imagePullSecrets: [{ name: "pull" }],
  },
  TokenReview: { metadata: { name: "r" }, spec: { token: "t", audiences: ["api"] } },
  Event: {
    metadata: { name: "web.1" },
    involvedObject: { kind: "Pod", name: "web", namespace: "default" },
    reason: "Scheduled",
    message: "assigned",
    type: "Normal",
    count: 1,
    source: { component: "default-scheduler" },
  },
  Deployment: {
    metadata: { name: "web" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "w", image: "nginx" }] },
      },
    },
  },
  ReplicaSet: {
    metadata: { name: "web" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "w", image: "nginx" }] },
      },
    },
  },
  DaemonSet: {
    metadata: { name: "agent" },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: { containers: [{ name: "a", image: "busybox" }] },
      },
    },
  },
  StatefulSet: {
    metadata: { name: "web" },
    spec: {
      serviceName: "nginx",
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "w", image: "nginx" }] },
      },
    },
  },
  ControllerRevision: {
    metadata: { name: "web-5d4f8" },
    data: { spec: { template: { $patch: "replace" } } },
    revision: 1,
  },
  Job: {
    metadata: { name: "pi" },
    spec: {
      template: {
        spec: { containers: [{ name: "pi", image: "busybox" }], restartPolicy: "Never" },
      },
    },
  },
  CronJob: {
    metadata: { name: "hello" },
    spec: {
      schedule: "* * * * *",
      jobTemplate: {
        spec: {
          template: {
            spec: { containers: [{ name: "c", image: "busybox" }], restartPolicy: "OnFailure" },
          },
        },
      },
    },
  },
  HorizontalPodAutoscaler: {
    metadata: { name: "web" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      maxReplicas: 5,
    },
  },
  PodDisruptionBudget: {
    metadata: { name: "web" },
    spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
  },
  Lease: {
    metadata: { name: "node-a", namespace: "kube-node-lease" },
    spec: {
      holderIdentity: "node-a",
      leaseDurationSeconds: 40,
      renewTime: "2026-01-01T00:00:00.000000Z",
    },
  },
  EndpointSlice: {
    metadata: { name: "web-abc" },
    addressType: "IPv4",
    endpoints: [{ addresses: ["127.0.0.11"], conditions: { ready: true } }],
    ports: [{ port: 40000 }],
  },
  PersistentVolume: {
    metadata: { name: "pv-a" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      hostPath: { path: "/data/pv-a" },
      storageClassName: "manual",
    },
  },
  PersistentVolumeClaim: {
    metadata: { name: "data", namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  },
  Ingress: {
    metadata: { name: "web", namespace: "default" },
    spec: {
      ingressClassName: "skiff",
      tls: [{ hosts: ["a.example.com"], secretName: "web-tls" }],
      rules: [{
        host: "*.example.com",
        http: {
          paths: [{
            path: "/api",
            pathType: "Prefix",
            backend: { service: { name: "api", port: { name: "http" } } },
          }],
        },
      }],
    },
  },
  NetworkPolicy: {
    metadata: { name: "np", namespace: "default" },
    spec: {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [{
        from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } }, {
          namespaceSelector: { matchLabels: { team: "a" } },
          podSelector: {},
        }],
        ports: [{ port: "http" }, { protocol: "UDP", port: 5000, endPort: 5010 }],
      }],
      egress: [{ ports: [{ protocol: "UDP", port: 53 }] }],
    },
  },
  IngressClass: {
    metadata: { name: "skiff" },
    spec: { controller: "skiff.io/ingress" },
  },
  PriorityClass: {
    metadata: { name: "high" },
    value: 1000,
  },
  LimitRange: {
    metadata: { name: "limits", namespace: "default" },
    spec: {
      limits: [
        { type: "Container", max: { cpu: "2" }, min: { memory: "64Mi" } },
        { type: "PersistentVolumeClaim", max: { storage: "2Gi" } },
      ],
    },
  },
  ResourceQuota: {
    metadata: { name: "compute", namespace: "default" },
    spec: {
      hard: { pods: "10", "requests.cpu": "1", "count/deployments.apps": "2" },
      scopeSelector: {
        matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }],
      },
    },
  },
  StorageClass: {
    metadata: { name: "local-path" },
    provisioner: "skiff.io/local-path",
    volumeBindingMode: "WaitForFirstConsumer",
  },
  CustomResourceDefinition: {
    metadata: { name: "crontabs.stable.example.com" },
    spec: {
      group: "stable.example.com",
      names: { plural: "crontabs", kind: "CronTab" },
      scope: "Namespaced",
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object" } },
      }],
    },
  },
  NodeMetrics: {
    metadata: { name: "node-a" },
    timestamp: "2026-01-01T00:00:00Z",
    window: "10s",
    usage: { cpu: "100m", memory: "1Gi" },
  },
  PodMetrics: {
    metadata: { name: "web", namespace: "default" },
    timestamp: "2026-01-01T00:00:00Z",
    window: "10s",
    containers: [{ name: "web", usage: { cpu: "1m", memory: "10Mi" } }],
  },
  Role: {
    metadata: { name: "cm-writer", namespace: "default" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["create"] }],
  },
  ClusterRole: {
    metadata: { name: "system:metrics-reader" },
    rules: [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }],
  },
  RoleBinding: {
    metadata: { name: "cm-writer", namespace: "default" },
    roleRef: { kind: "Role", name: "cm-writer" },
    subjects: [{ kind: "User", name: "token:abc" }, { kind: "ServiceAccount", name: "app" }],
  },
  ClusterRoleBinding: {
    metadata: { name: "metrics-reader" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "Group", name: "system:serviceaccounts" }],
  },
  SelfSubjectReview: { metadata: { name: "r" } },
  SelfSubjectAccessReview: {
    metadata: { name: "r" },
    spec: { resourceAttributes: { verb: "get", resource: "pods" } },
  },
  SelfSubjectRulesReview: { metadata: { name: "r" }, spec: { namespace: "default" } },
  SubjectAccessReview: {
    metadata: { name: "r" },
    spec: { user: "token:abc", nonResourceAttributes: { path: "/metrics", verb: "get" } },
  },
  LocalSubjectAccessReview: {
    metadata: { name: "r", namespace: "default" },
    spec: { user: "token:abc", resourceAttributes: { namespace: "default", verb: "get" } },
  },
};

Deno.test("every kind's parsed object re-validates strictly to itself (defaults are stable)", () => {
  for (const r of RESOURCES) {
    const sample = SAMPLES[r.kind];
    assert.ok(sample, `no sample for ${r.kind}`);
    const warnings: string[] = [];
    const first = validateCreate(r, sample, { fieldValidation: "Strict", warnings });
    const json = JSON.parse(JSON.stringify(first));
    const again = validateUpdate(r, json, first, { fieldValidation: "Strict", warnings });
    assert.deepEqual(again, first, r.kind);
    assert.deepEqual(warnings, [], r.kind);
    assert.equal(again.kind, r.kind);
  }
});
