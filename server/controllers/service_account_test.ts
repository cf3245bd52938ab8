import assert from "node:assert/strict";
import type { ConfigMap, Namespace, ServiceAccount } from "../../shared/api/core_v1.ts";
import { FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import { ServiceAccountReconciler } from "./service_account.ts";

// deno-lint-ignore no-explicit-any
const as = <T>(o: any) => o as T;
const ns = (name: string, extra: Record<string, unknown> = {}) =>
  as<Namespace>({ metadata: { name, ...extra }, status: { phase: "Active" } });
const sa = (namespace: string) => as<ServiceAccount>({ metadata: { name: "default", namespace } });
const rootCa = (namespace: string, pem: string) =>
  as<ConfigMap>({
    metadata: { name: "kube-root-ca.crt", namespace, resourceVersion: "5" },
    data: { "ca.crt": pem },
  });

const cases: {
  name: string;
  namespaces: Namespace[];
  accounts?: ServiceAccount[];
  configMaps?: ConfigMap[];
  actions: string[];
}[] = [
  {
    name: "creates the default ServiceAccount and kube-root-ca.crt of a new namespace",
    namespaces: [ns("apps")],
    actions: ["create configmaps apps", "create serviceaccounts apps"],
  },
  {
    name: "leaves a namespace that has both alone",
    namespaces: [ns("apps")],
    accounts: [sa("apps")],
    configMaps: [rootCa("apps", "PEM")],
    actions: [],
  },
  {
    name: "restores a kube-root-ca.crt that was changed",
    namespaces: [ns("apps")],
    accounts: [sa("apps")],
    configMaps: [rootCa("apps", "forged")],
    actions: ["update configmaps apps/kube-root-ca.crt"],
  },
  {
    name: "does nothing in a namespace being deleted",
    namespaces: [ns("apps", { deletionTimestamp: "2026-01-01T00:00:00Z" })],
    actions: [],
  },
  { name: "does nothing for a namespace that is gone", namespaces: [], actions: [] },
];

for (const c of cases) {
  Deno.test(`ServiceAccountReconciler.reconcile() ${c.name}`, async () => {
    const client = new RecordingClient();
    const r = new ServiceAccountReconciler({
      listers: {
        namespaces: new FakeLister(c.namespaces),
        serviceAccounts: new FakeLister(c.accounts ?? []),
        configMaps: new FakeLister(c.configMaps ?? []),
      },
      client,
      rootCaPem: "PEM",
    });
    await r.reconcile("apps");
    assert.deepEqual(client.actions(), c.actions);
    const created = client.calls.find((call) => call.resource === "configmaps");
    if (created) {
      assert.deepEqual((created.body as ConfigMap).data, { "ca.crt": "PEM" });
    }
  });
}
