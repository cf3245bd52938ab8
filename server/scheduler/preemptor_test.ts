import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { silentLogger } from "../../shared/log.ts";
import { FakeLister } from "../../shared/testing/fake_lister.ts";
import { FakeRecorder } from "../../shared/testing/fake_recorder.ts";
import { RecordingClient } from "../../shared/testing/recording_client.ts";
import { SchedulerCache } from "./cache.ts";
import { Nominator } from "./nominator.ts";
import { podInfo } from "./pod_info.ts";
import { Preemptor } from "./preemptor.ts";
import { defaultProfile } from "./profile.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const NODE: KubeObject = {
  metadata: { name: "n1", labels: {} },
  spec: {},
  status: {
    allocatable: { cpu: "1", memory: "4Gi", pods: "110" },
    conditions: [{ type: "Ready", status: "True" }],
  },
};

function pod(name: string, cpu: string, priority: number, extra: Obj = {}): KubeObject {
  return {
    metadata: { name, namespace: "default", uid: `uid-${name}`, ...extra.metadata },
    spec: {
      priority,
      containers: [{ name: "c", image: "busybox", resources: { requests: { cpu } } }],
      ...extra.spec,
    },
    status: { phase: extra.spec?.nodeName ? "Running" : "Pending", ...extra.status },
  };
}

function setup(pods: KubeObject[]) {
  const cache = new SchedulerCache();
  cache.setNode(NODE);
  for (const p of pods) cache.updatePod(p);
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const nominator = new Nominator();
  const requeued: string[] = [];
  const preemptor = new Preemptor({
    listers: { pods: new FakeLister(pods), pdbs: new FakeLister() },
    client,
    recorder,
    nominator,
    profile: defaultProfile(),
    schedulerName: "default-scheduler",
    logger: silentLogger,
    requeue: (key) => requeued.push(key),
  });
  return { cache, client, recorder, nominator, preemptor, requeued };
}

Deno.test("Preemptor marks and deletes the victim, nominates the node and displaces lower nominations", async () => {
  const victim = pod("victim", "800m", 1, { spec: { nodeName: "n1" } });
  const waiting = pod("waiting", "100m", 5, { status: { nominatedNodeName: "n1" } });
  const s = setup([victim, waiting]);
  s.nominator.update("default/waiting", waiting);
  const vip = pod("vip", "500m", 100);
  const work = s.preemptor.preempt("default/vip", vip, podInfo(vip), s.cache.nodes());
  assert.ok(work);
  assert.equal(s.nominator.nodeOf("default/vip"), "n1");
  await work;
  assert.deepEqual(s.client.actions(), [
    "patch/status pods default/victim",
    "delete pods default/victim",
    "patch/status pods default/vip",
    "patch/status pods default/waiting",
  ]);
  const [disruption, nominated, cleared] = s.client.bodies<Obj>("patch", "pods");
  const condition = disruption.status.conditions[0];
  assert.equal(condition.type, "DisruptionTarget");
  assert.equal(condition.status, "True");
  assert.equal(condition.reason, "PreemptionByScheduler");
  assert.equal(
    condition.message,
    "default-scheduler: preempting to accommodate a higher priority pod",
  );
  assert.deepEqual(nominated, { status: { nominatedNodeName: "n1" } });
  assert.deepEqual(cleared, { status: { nominatedNodeName: null } });
  assert.deepEqual(s.recorder.events, [{
    object: "default/victim",
    type: "Normal",
    reason: "Preempted",
    message: "Preempted by pod uid-vip on node n1",
  }]);
  assert.equal(s.nominator.nodeOf("default/waiting"), undefined);
  assert.deepEqual(s.requeued, ["default/waiting"]);
});

Deno.test("Preemptor leaves Never pods and pods with nothing to preempt alone", () => {
  const victim = pod("victim", "800m", 1, { spec: { nodeName: "n1" } });
  const s = setup([victim]);
  const never = pod("never", "500m", 100, { spec: { preemptionPolicy: "Never" } });
  assert.equal(
    s.preemptor.preempt("default/never", never, podInfo(never), s.cache.nodes()),
    undefined,
  );
  const peer = pod("peer", "500m", 1);
  assert.equal(
    s.preemptor.preempt("default/peer", peer, podInfo(peer), s.cache.nodes()),
    undefined,
  );
  assert.deepEqual(s.client.actions(), []);
  assert.deepEqual(s.recorder.events, []);
});
