import assert from "node:assert/strict";
import { Node } from "../../shared/api/core_v1.ts";
import { SECRETS } from "../../shared/client/refs.ts";
import { ForbiddenError, NotFoundError } from "../../shared/errors.ts";
import { FakeLister, RecordingClient } from "../../shared/testing/mod.ts";
import { NodePasswordReconciler } from "./node_password.ts";

const node = (name: string): Node =>
  Node.parse({ apiVersion: "v1", kind: "Node", metadata: { name } });

const cases: {
  name: string;
  nodes: Node[];
  deleteError?: Error;
  actions: string[];
  throws?: boolean;
}[] = [
  {
    name: "deletes the password Secret of a deleted node",
    nodes: [],
    actions: ["delete secrets kube-system/pi-1.node-password.skiff"],
  },
  {
    name: "keeps the password of a node registered again since",
    nodes: [node("pi-1")],
    actions: [],
  },
  {
    name: "counts a Secret already gone as done",
    nodes: [],
    deleteError: new NotFoundError({ resource: "secrets", name: "pi-1.node-password.skiff" }),
    actions: ["delete secrets kube-system/pi-1.node-password.skiff"],
  },
  {
    name: "throws other errors so the key is retried",
    nodes: [],
    deleteError: new ForbiddenError({ resource: "secrets" }, "no"),
    actions: ["delete secrets kube-system/pi-1.node-password.skiff"],
    throws: true,
  },
];

for (const c of cases) {
  Deno.test(`NodePasswordReconciler.reconcile() ${c.name}`, async () => {
    const client = new RecordingClient();
    if (c.deleteError) client.fail("delete", SECRETS.plural, c.deleteError);
    const r = new NodePasswordReconciler({ listers: { nodes: new FakeLister(c.nodes) }, client });
    if (c.throws) await assert.rejects(r.reconcile("pi-1"));
    else await r.reconcile("pi-1");
    assert.deepEqual(client.actions(), c.actions);
  });
}
