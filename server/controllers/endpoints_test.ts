import assert from "node:assert/strict";
import { Endpoints, Pod, Service } from "../../shared/api/core_v1.ts";
import { EndpointSlice } from "../../shared/api/discovery_v1.ts";
import { FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import {
  desiredEndpointSlices,
  EndpointsReconciler,
  endpointSubsets,
  serviceBackends,
} from "./endpoints.ts";

function service(o: { selector?: Record<string, string>; publishNotReady?: boolean } = {}) {
  return Service.parse({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default", uid: "svc-uid" },
    spec: {
      selector: o.selector === undefined ? { app: "web" } : o.selector,
      publishNotReadyAddresses: o.publishNotReady,
      ports: [{ name: "http", port: 80, targetPort: "web" }],
    },
  });
}

interface PodOpts {
  ready?: boolean;
  podIP?: string | null;
  /** The port the container names `web` (null: the pod declares no such port). */
  containerPort?: number | null;
  hostname?: string;
  subdomain?: string;
  phase?: "Running" | "Succeeded" | "Failed";
  terminating?: boolean;
  labels?: Record<string, string>;
}

function pod(name: string, o: PodOpts = {}): Pod {
  return Pod.parse({
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      labels: o.labels ?? { app: "web" },
      ...(o.terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      nodeName: "n1",
      hostname: o.hostname,
      subdomain: o.subdomain,
      containers: [{
        name: "c",
        image: "x",
        ports: o.containerPort === null
          ? []
          : [{ name: "web", containerPort: o.containerPort ?? 8080 }],
      }],
    },
    status: {
      phase: o.phase ?? "Running",
      hostIP: "192.0.2.1",
      podIP: o.podIP === null ? undefined : (o.podIP ?? "10.42.0.5"),
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  });
}

const readinessCases: {
  name: string;
  pod: Pod;
  publishNotReady?: boolean;
  want: "ready" | "notReady" | "absent";
}[] = [
  { name: "a ready pod is a ready address", pod: pod("a"), want: "ready" },
  {
    name: "a not-ready pod is a notReady address",
    pod: pod("a", { ready: false }),
    want: "notReady",
  },
  {
    name: "publishNotReadyAddresses makes a not-ready pod ready",
    pod: pod("a", { ready: false }),
    publishNotReady: true,
    want: "ready",
  },
  { name: "a terminating pod is left out", pod: pod("a", { terminating: true }), want: "absent" },
  {
    name: "a terminating pod stays with publishNotReadyAddresses",
    pod: pod("a", { terminating: true }),
    publishNotReady: true,
    want: "ready",
  },
  { name: "a finished pod is left out", pod: pod("a", { phase: "Succeeded" }), want: "absent" },
  { name: "a failed pod is left out", pod: pod("a", { phase: "Failed" }), want: "absent" },
  {
    name: "a pod without a pod IP yet is left out",
    pod: pod("a", { podIP: null }),
    want: "absent",
  },
  {
    name: "a pod that does not declare the named targetPort is left out",
    pod: pod("a", { containerPort: null }),
    want: "absent",
  },
];

for (const c of readinessCases) {
  Deno.test(`endpointSubsets(serviceBackends()): ${c.name}`, () => {
    const subsets = endpointSubsets(
      serviceBackends(service({ publishNotReady: c.publishNotReady }), [c.pod]),
    );
    const got = subsets.length === 0
      ? "absent"
      : subsets[0].addresses?.length
      ? "ready"
      : "notReady";
    assert.equal(got, c.want);
  });
}

Deno.test("serviceBackends() lists the pod IP with the named targetPort resolved on the pod", () => {
  const [b] = serviceBackends(service(), [pod("a", { containerPort: 8081 })]);
  assert.deepEqual(b.ports, [{ name: "http", port: 8081, protocol: "TCP" }]);
  assert.equal(b.ip, "10.42.0.5");
});

Deno.test("serviceBackends() takes a numeric targetPort as given, declared or not", () => {
  const svc = service();
  svc.spec!.ports![0].targetPort = 8000;
  const [b] = serviceBackends(svc, [pod("a", { containerPort: null })]);
  assert.deepEqual(b.ports, [{ name: "http", port: 8000, protocol: "TCP" }]);
});

Deno.test("an address carries the pod's hostname when its subdomain is the Service", () => {
  const subsets = endpointSubsets(serviceBackends(service(), [
    pod("a", { hostname: "web-0", subdomain: "web", podIP: "10.42.0.1" }),
    pod("b", { hostname: "x", subdomain: "other", podIP: "10.42.0.2" }),
  ]));
  assert.deepEqual(subsets[0].addresses?.map((a) => a.hostname), ["web-0", undefined]);
});

Deno.test("endpointSubsets() puts pods with different target ports in separate subsets, sorted", () => {
  const subsets = endpointSubsets(serviceBackends(service(), [
    pod("b", { podIP: "10.42.0.2", containerPort: 8081 }),
    pod("a", { podIP: "10.42.0.1", containerPort: 8080 }),
    pod("c", { podIP: "10.42.0.3", containerPort: 8080 }),
  ]));
  assert.deepEqual(
    subsets.map((s) => [s.ports?.[0].port, s.addresses?.map((a) => a.targetRef?.name)]),
    [[8080, ["a", "c"]], [8081, ["b"]]],
  );
});

Deno.test("desiredEndpointSlices() makes one owned slice per port list with conditions", () => {
  const slices = [
    ...desiredEndpointSlices(
      service(),
      serviceBackends(service(), [
        pod("a"),
        pod("b", { ready: false }),
      ]),
    ).values(),
  ];
  assert.equal(slices.length, 1);
  const [s] = slices;
  assert.equal(s.metadata.labels?.["kubernetes.io/service-name"], "web");
  assert.equal(s.metadata.ownerReferences?.[0].uid, "svc-uid");
  assert.deepEqual(s.endpoints.map((e) => [e.targetRef?.name, e.conditions.ready]), [
    ["a", true],
    ["b", false],
  ]);
  assert.deepEqual(s.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
});

Deno.test("slices keep a terminating pod (ready false, serving, terminating); Endpoints drop it", async () => {
  const pods = [
    pod("a"),
    pod("b", { terminating: true }),
    pod("c", { terminating: true, ready: false }),
  ];
  const { client, reconciler } = setup({ services: [service()], pods });
  await reconciler.reconcile("default/web");
  const [endpoints] = client.bodies<Endpoints>("create", "endpoints");
  assert.deepEqual(
    endpoints.subsets?.flatMap((s) => (s.addresses ?? []).map((a) => a.targetRef?.name)),
    [
      "a",
    ],
  );
  assert.deepEqual(endpoints.subsets?.flatMap((s) => s.notReadyAddresses ?? []), []);
  const [slice] = client.bodies<EndpointSlice>("create", "endpointslices");
  assert.deepEqual(slice.endpoints.map((e) => [e.targetRef?.name, e.conditions]), [
    ["a", { ready: true, serving: true, terminating: false }],
    ["b", { ready: false, serving: true, terminating: true }],
    ["c", { ready: false, serving: false, terminating: true }],
  ]);
});

function setup(o: {
  services?: Service[];
  pods?: Pod[];
  endpoints?: Endpoints[];
  slices?: EndpointSlice[];
}) {
  const client = new RecordingClient();
  const reconciler = new EndpointsReconciler({
    listers: {
      services: new FakeLister(o.services ?? []),
      pods: new FakeLister(o.pods ?? []),
      endpoints: new FakeLister(o.endpoints ?? []),
      slices: new FakeLister(o.slices ?? []),
    },
    client,
  });
  return { client, reconciler };
}

/** What the reconciler wrote for `svc` and `pods`, as stored objects (to seed the next round). */
function current(svc: Service, pods: Pod[]) {
  const backends = serviceBackends(svc, pods);
  const endpoints = Endpoints.parse({
    metadata: { name: "web", namespace: "default", labels: {} },
    subsets: endpointSubsets(backends),
  });
  const slices = [
    ...desiredEndpointSlices(svc, serviceBackends(svc, pods, { terminating: true })).values(),
  ].map((s) => EndpointSlice.parse(s));
  return { endpoints, slices };
}

Deno.test("EndpointsReconciler creates Endpoints and a slice for a new Service", async () => {
  const { client, reconciler } = setup({ services: [service()], pods: [pod("a")] });
  await reconciler.reconcile("default/web");
  assert.equal(client.actions()[0], "create endpoints default");
  assert.equal(client.actions()[1], "create endpointslices default");
  assert.equal(client.actions().length, 2);
});

Deno.test("EndpointsReconciler writes nothing when nothing changed", async () => {
  const svc = service();
  const pods = [pod("a"), pod("b", { ready: false })];
  const { endpoints, slices } = current(svc, pods);
  const { client, reconciler } = setup({ services: [svc], pods, endpoints: [endpoints], slices });
  await reconciler.reconcile("default/web");
  assert.deepEqual(client.actions(), []);
});

Deno.test("EndpointsReconciler updates Endpoints and slice when a pod becomes ready", async () => {
  const svc = service();
  const { endpoints, slices } = current(svc, [pod("a", { ready: false })]);
  const { client, reconciler } = setup({
    services: [svc],
    pods: [pod("a")],
    endpoints: [endpoints],
    slices,
  });
  await reconciler.reconcile("default/web");
  assert.deepEqual(client.actions(), [
    "update endpoints default/web",
    `update endpointslices default/${slices[0].metadata.name}`,
  ]);
  const [ep] = client.bodies<Endpoints>("update", "endpoints");
  assert.equal(ep.subsets?.[0].addresses?.[0].targetRef?.name, "a");
});

Deno.test("EndpointsReconciler replaces a slice whose port list changed", async () => {
  const svc = service();
  const { endpoints, slices } = current(svc, [pod("a", { containerPort: 8080 })]);
  const { client, reconciler } = setup({
    services: [svc],
    pods: [pod("a", { containerPort: 9090 })],
    endpoints: [endpoints],
    slices,
  });
  await reconciler.reconcile("default/web");
  assert.deepEqual(client.actions(), [
    "update endpoints default/web",
    `delete endpointslices default/${slices[0].metadata.name}`,
    "create endpointslices default",
  ]);
});

Deno.test("EndpointsReconciler deletes a deleted Service's Endpoints and leaves selector-less ones", async () => {
  const ep = Endpoints.parse({ metadata: { name: "web", namespace: "default" } });
  const gone = setup({ endpoints: [ep] });
  await gone.reconciler.reconcile("default/web");
  assert.deepEqual(gone.client.actions(), ["delete endpoints default/web"]);
  const manual = setup({ services: [service({ selector: {} })], endpoints: [ep] });
  await manual.reconciler.reconcile("default/web");
  assert.deepEqual(manual.client.actions(), []);
});

Deno.test("the Endpoints of a Service without a selector are mirrored into a slice", async () => {
  const ep = Endpoints.parse({
    metadata: { name: "web", namespace: "default" },
    subsets: [{
      addresses: [{ ip: "192.0.2.10" }],
      notReadyAddresses: [{ ip: "192.0.2.11" }],
      ports: [{ name: "http", port: 8080 }],
    }],
  });
  const svc = service({ selector: {} });
  const { client, reconciler } = setup({ services: [svc], endpoints: [ep] });
  await reconciler.reconcile("default/web");
  const [slice] = client.bodies<EndpointSlice>("create", "endpointslices");
  assert.deepEqual(slice.metadata.labels, {
    "kubernetes.io/service-name": "web",
    "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io",
  });
  assert.equal(slice.metadata.ownerReferences?.[0].uid, "svc-uid");
  assert.deepEqual(slice.endpoints.map((e) => [e.addresses[0], e.conditions.ready]), [
    ["192.0.2.10", true],
    ["192.0.2.11", false],
  ]);
  assert.deepEqual(slice.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  // Labelled skip-mirror, the Endpoints have no slice.
  const skipped = Endpoints.parse({
    ...ep,
    metadata: { ...ep.metadata, labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
  });
  const again = setup({
    services: [svc],
    endpoints: [skipped],
    slices: [
      EndpointSlice.parse({ ...slice, metadata: { ...slice.metadata, resourceVersion: "1" } }),
    ],
  });
  await again.reconciler.reconcile("default/web");
  assert.deepEqual(again.client.actions(), [
    `delete endpointslices default/${slice.metadata.name}`,
  ]);
});

Deno.test("servicesForPod() finds the Services whose selector matches", () => {
  const other = Service.parse({ ...service(), metadata: { name: "other", namespace: "default" } });
  other.spec.selector = { app: "other" };
  const none = Service.parse({ ...service(), metadata: { name: "none", namespace: "default" } });
  none.spec.selector = undefined;
  const { reconciler } = setup({ services: [service(), other, none] });
  assert.deepEqual(reconciler.servicesForPod(pod("a")), ["default/web"]);
});
