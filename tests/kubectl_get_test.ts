/**
 * The real kubectl reading a real two-node cluster: version, cluster-info, api-resources, `get`
 * of every served kind with kubectl's own table columns and values (pod STATUS as kubectl
 * computes it), the output formats, selectors, `-A`, `--show-labels`, `-w`, and `describe` of a
 * pod, a node, a deployment and a service with their events.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, spawnKubectl, waitKubectl } from "./kubectl_helpers.ts";

const NODES = ["127.0.0.11", "127.0.0.12"];

/** Pods in every state kubectl's STATUS column knows (the registry at 127.0.0.1:1 refuses). */
const STATUS_PODS = `
apiVersion: v1
kind: Pod
metadata: { name: absent, labels: { set: status } }
spec:
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: "127.0.0.1:1/skiff-test/absent:1" }]
---
apiVersion: v1
kind: Pod
metadata: { name: crash, labels: { set: status } }
spec:
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: "skiff.local/busybox:1", command: ["sh", "-c", "exit 3"] }]
---
apiVersion: v1
kind: Pod
metadata: { name: done, labels: { set: status } }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: "skiff.local/busybox:1", command: ["true"] }]
---
apiVersion: v1
kind: Pod
metadata: { name: failed, labels: { set: status } }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: "skiff.local/busybox:1", command: ["false"] }]
---
apiVersion: v1
kind: Pod
metadata: { name: held, labels: { set: status }, finalizers: [skiff.test/hold] }
spec:
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: "skiff.local/pause:1" }]
`;

const RC = `
apiVersion: v1
kind: ReplicationController
metadata: { name: legacy }
spec:
  replicas: 1
  selector: { app: legacy }
  template:
    metadata: { labels: { app: legacy } }
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{ name: pause, image: "skiff.local/pause:1" }]
`;

Deno.test({
  name: "kubectl reads the cluster: discovery, get tables and formats, watch, describe",
  ignore: !haveKubectl(),
  async fn(t) {
    const cluster = await startTestCluster({ nodeAddresses: NODES });
    const k = cluster.kubectl;
    const [n11, n12] = cluster.nodes.map((n) => n.name);
    try {
      await t.step("version, cluster-info and api-resources", async () => {
        const version = await kubectlOk(k, ["version"]);
        assert.match(version, /^Server Version: v1\.32\.\d+/m);
        const info = await kubectlOk(k, ["cluster-info"]);
        assert.match(info, /Kubernetes control plane.* is running at .*https:\/\/127\.0\.0\.1:\d+/);
        const versions = (await kubectlOk(k, ["api-versions"])).trim().split("\n");
        for (const v of ["v1", "apps/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1"]) {
          assert.ok(versions.includes(v), `api-versions lists ${v}`);
        }
        const resources = parseTable(await kubectlOk(k, ["api-resources"]));
        const byName = (name: string, version: string) =>
          resources.find((r) => r.NAME === name && r.APIVERSION === version);
        assert.deepEqual(
          { ...byName("pods", "v1") },
          { NAME: "pods", SHORTNAMES: "po", APIVERSION: "v1", NAMESPACED: "true", KIND: "Pod" },
        );
        assert.equal(byName("deployments", "apps/v1")?.SHORTNAMES, "deploy");
        assert.equal(byName("services", "v1")?.SHORTNAMES, "svc");
        assert.equal(byName("nodes", "v1")?.NAMESPACED, "false");
        for (const r of ["replicasets", "endpoints", "configmaps", "secrets", "events"]) {
          assert.ok(resources.some((x) => x.NAME === r), `api-resources lists ${r}`);
        }
      });

      await t.step("get nodes and get nodes -o wide", async () => {
        const rows = parseTable(await kubectlOk(k, ["get", "nodes"]));
        assert.deepEqual(rows.map((r) => r.NAME), [n11, n12]);
        for (const r of rows) {
          assert.equal(r.STATUS, "Ready");
          assert.equal(r.ROLES, "<none>");
          assert.match(r.AGE, /^\d+s$/);
          assert.match(r.VERSION, /^v1\.32\.\d+/);
        }
        const wide = parseTable(await kubectlOk(k, ["get", "nodes", "-o", "wide"]));
        assert.equal(rowNamed(wide, n11)["INTERNAL-IP"], "127.0.0.11");
        assert.equal(rowNamed(wide, n12)["INTERNAL-IP"], "127.0.0.12");
        for (const r of wide) {
          assert.equal(r["EXTERNAL-IP"], "<none>");
          assert.notEqual(r["OS-IMAGE"], "");
          assert.notEqual(r["KERNEL-VERSION"], "");
          assert.match(r["CONTAINER-RUNTIME"], /^docker:\/\/\S+$/);
        }
      });

      await t.step(
        "a deployment's pods in -o wide, -l, -A, --show-labels and -o formats",
        async () => {
          // `create deployment` posts protobuf; the pods land on both nodes.
          await kubectlOk(k, [
            "create",
            "deployment",
            "web",
            "--image=skiff.local/busybox:1",
            "--replicas=2",
            "--port=80",
            "--",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
          ]);
          await kubectlOk(k, ["rollout", "status", "deployment/web", "--timeout=60s"]);
          const wide = parseTable(
            await kubectlOk(k, ["get", "pods", "-o", "wide", "-l", "app=web"]),
          );
          assert.equal(wide.length, 2);
          for (const r of wide) {
            assert.match(r.NAME, /^web-[a-z0-9]+-[a-z0-9]{5}$/);
            assert.equal(r.READY, "1/1");
            assert.equal(r.STATUS, "Running");
            assert.equal(r.RESTARTS, "0");
            assert.match(r.IP, /^\d+\.\d+\.\d+\.\d+$/);
          }
          assert.deepEqual(wide.map((r) => r.NODE).sort(), [n11, n12]);

          const labels = parseTable(
            await kubectlOk(k, ["get", "pods", "-l", "app=web", "--show-labels"]),
          );
          for (const r of labels) assert.match(r.LABELS, /^app=web,pod-template-hash=[a-z0-9]+$/);
          const none = await kubectlOk(k, ["get", "pods", "-l", "app=nothing", "-o", "name"]);
          assert.equal(none, "");

          const all = parseTable(await kubectlOk(k, ["get", "pods", "-A"]));
          assert.ok(all.length >= 2);
          for (const r of all) assert.equal(r.NAMESPACE, "default");

          const names = (await kubectlOk(k, ["get", "pods", "-l", "app=web", "-o", "name"]))
            .trim().split("\n");
          assert.deepEqual(names, wide.map((r) => `pod/${r.NAME}`).sort());
          const json = JSON.parse(await kubectlOk(k, ["get", "deploy", "web", "-o", "json"]));
          assert.equal(json.kind, "Deployment");
          assert.equal(json.apiVersion, "apps/v1");
          assert.equal(json.status.readyReplicas, 2);
          const yaml = await kubectlOk(k, ["get", "deploy", "web", "-o", "yaml"]);
          assert.match(yaml, /^kind: Deployment$/m);
          assert.match(yaml, /^ {2}replicas: 2$/m);
          const phases = await kubectlOk(k, [
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].status.phase}",
          ]);
          assert.equal(phases, "Running Running");
          const hosts = await kubectlOk(k, [
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            'jsonpath={range .items[*]}{.spec.nodeName}={.status.hostIP}{"\\n"}{end}',
          ]);
          assert.deepEqual(hosts.trim().split("\n").sort(), [
            `${n11}=127.0.0.11`,
            `${n12}=127.0.0.12`,
          ]);
        },
      );

      await t.step("get deploy, rs, svc, ep, rc, cm, secrets, events, ns and all", async () => {
        await kubectlOk(k, ["expose", "deployment", "web", "--port=80", "--type=NodePort"]);
        await kubectlOk(k, ["create", "configmap", "settings", "--from-literal=mode=edge"]);
        await kubectlOk(k, ["create", "secret", "generic", "creds", "--from-literal=pw=x"]);
        await kubectlOk(k, ["create", "-f", "-"], { stdin: RC });

        const deploy = rowNamed(parseTable(await kubectlOk(k, ["get", "deploy"])), "web");
        assert.deepEqual([deploy.READY, deploy["UP-TO-DATE"], deploy.AVAILABLE], ["2/2", "2", "2"]);
        const rs = parseTable(await kubectlOk(k, ["get", "rs"]));
        assert.equal(rs.length, 1);
        assert.deepEqual([rs[0].DESIRED, rs[0].CURRENT, rs[0].READY], ["2", "2", "2"]);

        const svc = rowNamed(parseTable(await kubectlOk(k, ["get", "svc"])), "web");
        assert.equal(svc.TYPE, "NodePort");
        assert.match(svc["CLUSTER-IP"], /^127\.43\.\d+\.\d+$/);
        assert.equal(svc["EXTERNAL-IP"], "<none>");
        assert.match(svc["PORT(S)"], /^80:3\d{4}\/TCP$/);

        // Endpoints are the pods' own IPs and the target port.
        const ep = await waitKubectl(
          k,
          ["get", "ep", "web"],
          (out) => (rowNamed(parseTable(out), "web").ENDPOINTS.match(/:/g) ?? []).length === 2,
        );
        const backends = rowNamed(parseTable(ep), "web").ENDPOINTS.split(",");
        const podIPs = await kubectlOk(k, [
          "get",
          "pods",
          "-l",
          "app=web",
          "-o",
          "jsonpath={.items[*].status.podIP}",
        ]);
        assert.deepEqual(
          backends.map((b) => b.split(":")[0]).sort(),
          podIPs.split(" ").sort(),
        );

        const rc = await waitKubectl(
          k,
          ["get", "rc", "legacy"],
          (out) => rowNamed(parseTable(out), "legacy").READY === "1",
        );
        assert.equal(rowNamed(parseTable(rc), "legacy").DESIRED, "1");

        const cm = rowNamed(parseTable(await kubectlOk(k, ["get", "cm"])), "settings");
        assert.equal(cm.DATA, "1");
        const secret = rowNamed(parseTable(await kubectlOk(k, ["get", "secrets"])), "creds");
        assert.deepEqual([secret.TYPE, secret.DATA], ["Opaque", "1"]);
        assert.equal(
          await kubectlOk(k, ["get", "secret", "creds", "-o", "jsonpath={.data.pw}"]),
          btoa("x"),
        );

        const events = parseTable(await kubectlOk(k, ["get", "events"]));
        assert.ok(
          events.some((e) =>
            e.REASON === "Scheduled" && e.TYPE === "Normal" && e.OBJECT.startsWith("pod/web-")
          ),
          JSON.stringify(events),
        );
        assert.ok(events.some((e) => e.REASON === "ScalingReplicaSet"));

        const ns = parseTable(await kubectlOk(k, ["get", "ns"]));
        for (const name of ["default", "kube-system"]) {
          assert.equal(rowNamed(ns, name).STATUS, "Active");
        }

        const everything = parseTable(await kubectlOk(k, ["get", "all"])).map((r) => r.NAME);
        for (const prefix of ["pod/web-", "pod/legacy-", "replicationcontroller/legacy"]) {
          assert.ok(everything.some((n) => n.startsWith(prefix)), `${prefix} in get all`);
        }
        for (const name of ["service/web", "deployment.apps/web"]) {
          assert.ok(everything.includes(name), `${name} in ${everything}`);
        }
        assert.ok(everything.some((n) => n.startsWith("replicaset.apps/web-")));
      });

      await t.step("get pods -w prints a new pod's rows as it starts", async () => {
        const run = (name: string) =>
          kubectlOk(k, ["run", name, "--image=skiff.local/pause:1", "--labels=app=watched"]);
        // An anchor pod in the initial list shows when kubectl has listed and is watching from
        // that list's resourceVersion: everything created afterwards arrives as an event.
        await run("anchor");
        const watch = spawnKubectl(k, ["get", "pods", "-w", "-l", "app=watched"]);
        try {
          await watch.waitOutput((s) => /^anchor\s/m.test(s), "the initial list");
          await run("watched");
          const out = await watch.waitOutput(
            (s) => /^watched\s+1\/1\s+Running\s+0\s+/m.test(s),
            "watched pod Running in the watch output",
          );
          // Watch rows are not re-aligned to the header, so split them on blanks.
          const [header, ...rows] = out.trim().split("\n").map((l) => l.split(/\s+/));
          assert.deepEqual(header, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
          const statuses = rows.filter((r) => r[0] === "watched").map((r) => r[2]);
          // Pending (created, then bound), ContainerCreating (the agent took it), Running.
          assert.equal(statuses[0], "Pending");
          assert.ok(statuses.includes("ContainerCreating"), statuses.join(","));
          assert.equal(statuses.at(-1), "Running");
        } finally {
          await watch.stop();
        }
      });

      await t.step(
        "pod STATUS: ImagePullBackOff, CrashLoopBackOff, Completed, Error, Terminating",
        async () => {
          await kubectlOk(k, ["create", "-f", "-"], { stdin: STATUS_PODS });
          const want: Record<string, (r: Record<string, string>) => boolean> = {
            absent: (r) => r.STATUS === "ImagePullBackOff" && r.READY === "0/1",
            crash: (r) => r.STATUS === "CrashLoopBackOff" && Number(r.RESTARTS.split(" ")[0]) >= 1,
            done: (r) => r.STATUS === "Completed" && r.READY === "0/1",
            failed: (r) => r.STATUS === "Error" && r.READY === "0/1",
            held: (r) => r.STATUS === "Running",
          };
          const out = await waitKubectl(k, ["get", "pods", "-l", "set=status"], (s) => {
            const rows = parseTable(s);
            return Object.entries(want).every(([name, ok]) =>
              rows.some((r) => r.NAME === name && ok(r))
            );
          }, { what: "every pod in its expected STATUS", timeoutMs: 45_000 });
          // A crash-looped container's RESTARTS shows how long ago it last restarted.
          assert.match(rowNamed(parseTable(out), "crash").RESTARTS, /^\d+ \(\d+s ago\)$/);

          // A finalizer holds the deleted pod: it shows Terminating until the finalizer goes.
          await kubectlOk(k, ["delete", "pod", "held", "--wait=false"]);
          const held = rowNamed(parseTable(await kubectlOk(k, ["get", "pod", "held"])), "held");
          assert.equal(held.STATUS, "Terminating");
          await kubectlOk(k, [
            "patch",
            "pod",
            "held",
            "--type=merge",
            "-p",
            '{"metadata":{"finalizers":null}}',
          ]);
          await kubectlOk(k, ["wait", "--for=delete", "pod/held", "--timeout=30s"]);
        },
      );

      await t.step("describe pod, node, deployment and service show their events", async () => {
        const pod = (await kubectlOk(k, ["get", "pods", "-l", "app=web", "-o", "name"]))
          .trim().split("\n")[0];
        const podText = await kubectlOk(k, ["describe", pod]);
        assert.match(podText, new RegExp(`^Name:\\s+${pod.slice(4)}$`, "m"));
        assert.match(podText, /^Node:\s+node-1[12]-\w+\/127\.0\.0\.1[12]$/m);
        assert.match(podText, /^Status:\s+Running$/m);
        assert.match(podText, /^Controlled By:\s+ReplicaSet\/web-/m);
        assert.match(podText, /^\s+Image:\s+skiff\.local\/busybox:1$/m);
        assert.match(podText, /^\s+Ready:\s+True$/m);
        assert.match(
          podText,
          /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned/,
        );
        assert.match(podText, /Normal\s+Started\s+\S+\s+kubelet\s+Started container busybox/);

        // Between a crash and its back-off the state is Terminated: wait for the back-off.
        const crash = await waitKubectl(
          k,
          ["describe", "pod", "crash"],
          (s) => /^\s+Reason:\s+CrashLoopBackOff$/m.test(s),
        );
        assert.match(crash, /^\s+Last State:\s+Terminated$/m);
        assert.match(crash, /^\s+Exit Code:\s+3$/m);
        assert.match(crash, /Warning\s+BackOff\s+.*Back-off restarting failed container c/);

        const node = await kubectlOk(k, ["describe", "node", n11]);
        assert.match(node, new RegExp(`^Name:\\s+${n11}$`, "m"));
        assert.match(node, /^\s+InternalIP:\s+127\.0\.0\.11$/m);
        assert.match(node, /^\s+Ready\s+True\s/m);
        assert.match(node, /^Non-terminated Pods:\s+\(\d+ in total\)$/m);

        const deploy = await kubectlOk(k, ["describe", "deployment", "web"]);
        assert.match(
          deploy,
          /^Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable$/m,
        );
        assert.match(deploy, /^StrategyType:\s+RollingUpdate$/m);
        assert.match(deploy, /^NewReplicaSet:\s+web-\S+ \(2\/2 replicas created\)$/m);
        assert.match(
          deploy,
          /Normal\s+ScalingReplicaSet\s+.*Scaled up replica set web-\S+ from 0 to 2/,
        );

        const svc = await kubectlOk(k, ["describe", "service", "web"]);
        assert.match(svc, /^Type:\s+NodePort$/m);
        assert.match(svc, /^IP:\s+127\.43\.\d+\.\d+$/m);
        assert.match(svc, /^NodePort:\s+<unset>\s+3\d{4}\/TCP$/m);
        assert.match(svc, /^Endpoints:\s+10\.[\d.]+:\d+,10\.[\d.]+:\d+$/m);
      });
    } finally {
      await cluster.stop();
    }
  },
});
