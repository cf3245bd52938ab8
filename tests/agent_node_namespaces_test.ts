/**
 * The node-side pod fields of monitoring agents and packaged apps against real Docker, each seen
 * from inside a container: `hostPID`/`hostIPC` (the node's init and namespaces; Pod Security's
 * baseline level refuses them), `mountPropagation` (a mount made on the node after the container
 * started shows up under a HostToContainer hostPath; a container's Bidirectional mount in an
 * emptyDir reaches its neighbour and the node), `fsGroup` (the group of a non-root user, who
 * writes its emptyDir and reads its 0400 Secret through it) and `setHostnameAsFQDN`.
 */

import assert from "node:assert/strict";
import { DockerRuntime } from "../agent/docker_runtime.ts";
import type { Pod } from "../agent/pod_types.ts";
import { containerCreateOptions } from "../agent/container_config.ts";
import { sandboxCreateOptions } from "../agent/pod_sandbox.ts";
import { podDir, preparePodVolumes, removePodDir, volumeBinds } from "../agent/volumes.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { EVENTS, PODS } from "../shared/client/refs.ts";
import { isCode } from "../shared/errors.ts";
import {
  allowPrivilegedPods,
  boundPod,
  createPod,
  createSecret,
  eventFor,
  type PodEvent,
  SLEEP_UNTIL_TERM,
  startAgentTest,
  waitForPod,
  waitForPodGone,
} from "./agent_test_utils.ts";
import { ensureTestImages } from "./images.ts";
import { waitFor } from "./test_utils.ts";

const running = (p: Pod) =>
  (p.status?.containerStatuses ?? []).length > 0 &&
  p.status!.containerStatuses!.every((s) => s.state.running);

/** The Docker ID of the pod's container `name`. */
function idOf(p: Pod, name: string): string {
  return p.status!.containerStatuses!.find((s) => s.name === name)!.containerID!.slice(9);
}

async function sh(args: string[]): Promise<void> {
  const r = await new Deno.Command(args[0], { args: args.slice(1), stderr: "piped" }).output();
  if (r.code !== 0) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

/** Mount points at or below `path` in this mount namespace. */
async function mountsUnder(path: string): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  return text.split("\n").map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p === path || p.startsWith(`${path}/`));
}

async function deletePod(client: ApiClient, name: string): Promise<void> {
  await client.delete(PODS, name, { namespace: "default" });
  await waitForPodGone(client, name);
}

Deno.test("node namespaces and volumes: hostPID, hostIPC, mountPropagation, fsGroup, setHostnameAsFQDN", async (t) => {
  const { images, client, config, stop } = await startAgentTest({ nodeAddress: "127.0.6.11" });
  const rt = new DockerRuntime({ nodeName: config.nodeName });
  const exec = async (id: string, cmd: string) => await rt.exec(id, ["sh", "-c", cmd]);
  // A directory of the node that is a shared mount, as / is on a systemd host.
  const shared = await Deno.makeTempDir({ prefix: "hns-prop-" });
  const private_ = await Deno.makeTempDir({ prefix: "hns-priv-" });
  try {
    await t.step({
      name: "hostPID and hostIPC: the pod's containers are in the node's PID and IPC namespaces",
      fn: async () => {
        const spec = (extra: Partial<Pod["spec"]>) =>
          boundPod("hostns", config.nodeName, {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "app", image: images.busybox, command: SLEEP_UNTIL_TERM }],
            ...extra,
          });
        // The cluster's default level is baseline: host namespaces are refused, with PSA's words.
        await assert.rejects(
          () => createPod(client, spec({ hostPID: true, hostIPC: true })),
          (e) =>
            isCode(e, 403) &&
            /violates PodSecurity "baseline:latest": host namespaces \(hostPID=true, hostIPC=true\)/
              .test(String(e)),
        );
        await allowPrivilegedPods(client);

        const hostInit = (await Deno.readTextFile("/proc/1/comm")).trim();
        const hostPidNs = await Deno.readLink("/proc/self/ns/pid");
        const hostIpcNs = await Deno.readLink("/proc/self/ns/ipc");
        const look = async (p: Pod) => {
          const id = idOf(p, "app");
          return [
            (await exec(id, "cat /proc/1/comm")).stdout.trim(),
            (await exec(id, "readlink /proc/self/ns/pid")).stdout.trim(),
            (await exec(id, "readlink /proc/self/ns/ipc")).stdout.trim(),
          ];
        };

        await createPod(client, spec({ hostPID: true, hostIPC: true }));
        const p = await waitForPod(client, "hostns", "Running", running);
        assert.deepEqual(await look(p), [hostInit, hostPidNs, hostIpcNs]);
        await deletePod(client, "hostns");

        // Without them the pod has namespaces of its own (its PID 1 is its command).
        await createPod(client, spec({}));
        const own = await look(await waitForPod(client, "hostns", "Running", running));
        assert.equal(own[0], "sh");
        assert.notEqual(own[1], hostPidNs);
        assert.notEqual(own[2], hostIpcNs);
        await deletePod(client, "hostns");
      },
    });

    await t.step({
      name:
        "mountPropagation: a HostToContainer hostPath sees the node's later mounts, a private one does not",
      fn: async () => {
        await sh(["mount", "--bind", shared, shared]);
        await sh(["mount", "--make-rshared", shared]);
        await createPod(
          client,
          boundPod("prop", config.nodeName, {
            terminationGracePeriodSeconds: 1,
            volumes: [{ name: "host", hostPath: { path: shared } }],
            containers: [{
              name: "follow",
              image: images.busybox,
              command: SLEEP_UNTIL_TERM,
              volumeMounts: [{
                name: "host",
                mountPath: "/host",
                mountPropagation: "HostToContainer",
              }],
            }, {
              name: "still",
              image: images.busybox,
              command: SLEEP_UNTIL_TERM,
              volumeMounts: [{ name: "host", mountPath: "/host" }],
            }],
          }),
        );
        const p = await waitForPod(client, "prop", "Running", running);
        // Mounted on the node after both containers started.
        await Deno.mkdir(`${shared}/later`);
        await sh(["mount", "-t", "tmpfs", "tmpfs", `${shared}/later`]);
        await Deno.writeTextFile(`${shared}/later/hello`, "from the node");
        assert.equal(
          (await exec(idOf(p, "follow"), "cat /host/later/hello")).stdout,
          "from the node",
        );
        // None (private): the container keeps the directory as it was bound.
        const still = await exec(idOf(p, "still"), "[ -d /host/later ] && ls -A /host/later");
        assert.deepEqual([still.exitCode, still.stdout], [0, ""]);
        await deletePod(client, "prop");

        // A hostPath on a private mount cannot propagate: Docker refuses, as containerd does (/ is
        // private on this machine; a systemd host's is shared).
        await createPod(
          client,
          boundPod("noprop", config.nodeName, {
            volumes: [{ name: "host", hostPath: { path: private_ } }],
            containers: [{
              name: "app",
              image: images.busybox,
              command: SLEEP_UNTIL_TERM,
              volumeMounts: [{
                name: "host",
                mountPath: "/host",
                mountPropagation: "HostToContainer",
              }],
            }],
          }),
        );
        // Docker checks at start: the container fails to run, with Docker's reason in the event.
        const failed = await waitFor("the noprop container's start failure", async () => {
          const list = await client.list<PodEvent>(EVENTS, { namespace: "default" });
          return list.items.find((e) =>
            e.involvedObject.name === "noprop" && e.reason === "Failed" &&
            e.message.includes(
              `path ${private_} is mounted on / but it is not a shared or slave mount`,
            )
          );
        });
        assert.match(failed.message, /^Error: /);
        await deletePod(client, "noprop");
      },
    });

    await t.step({
      name: "fsGroup: a non-root container writes its emptyDir and reads its Secret as the group",
      fn: async () => {
        await createSecret(client, "creds", { pw: "s3cret" });
        await createPod(
          client,
          boundPod("fsgroup", config.nodeName, {
            terminationGracePeriodSeconds: 1,
            securityContext: { runAsUser: 1001, runAsGroup: 3000, fsGroup: 2000 },
            volumes: [
              { name: "data", emptyDir: {} },
              { name: "creds", secret: { secretName: "creds", defaultMode: 0o400 } },
            ],
            containers: [{
              name: "app",
              image: images.busybox,
              command: SLEEP_UNTIL_TERM,
              volumeMounts: [
                { name: "data", mountPath: "/data" },
                { name: "creds", mountPath: "/creds" },
              ],
            }],
          }),
        );
        const p = await waitForPod(client, "fsgroup", "Running", running);
        const id = idOf(p, "app");
        assert.equal((await exec(id, "id -u")).stdout.trim(), "1001");
        assert.deepEqual((await exec(id, "id -G")).stdout.trim().split(" ").sort(), [
          "2000",
          "3000",
        ]);
        // What the user creates in the emptyDir is the fsGroup's (the directory is setgid).
        const write = await exec(id, "echo x > /data/f && stat -c '%u %g' /data/f");
        assert.equal(write.stdout.trim(), "1001 2000");
        // The Secret's 0400 file is root's; the group read bit lets the fsGroup read it.
        assert.equal((await exec(id, "stat -L -c '%a %g' /creds/pw")).stdout.trim(), "440 2000");
        assert.equal((await exec(id, "cat /creds/pw")).stdout, "s3cret");
        await deletePod(client, "fsgroup");
      },
    });

    await t.step({
      name:
        "setHostnameAsFQDN: the hostname is the pod's FQDN; one over 64 characters fails the sandbox",
      fn: async () => {
        const fqdnPod = (name: string, hostname: string, subdomain: string) =>
          boundPod(name, config.nodeName, {
            terminationGracePeriodSeconds: 1,
            hostname,
            subdomain,
            setHostnameAsFQDN: true,
            containers: [{ name: "app", image: images.busybox, command: SLEEP_UNTIL_TERM }],
          });
        await createPod(client, fqdnPod("fqdn", "web", "front"));
        const p = await waitForPod(client, "fqdn", "Running", running);
        assert.equal(
          (await exec(idOf(p, "app"), "hostname")).stdout.trim(),
          `web.front.default.svc.${config.clusterDomain}`,
        );
        await deletePod(client, "fqdn");

        const long = fqdnPod("longfqdn", "h".repeat(40), "s".repeat(20));
        await createPod(client, long);
        const fqdn = `${"h".repeat(40)}.${"s".repeat(20)}.default.svc.${config.clusterDomain}`;
        const e = await eventFor(client, "longfqdn", "FailedCreatePodSandBox");
        assert.equal(
          e.message,
          `Failed to create pod sandbox: failed to construct FQDN from pod hostname and cluster domain, FQDN ${fqdn} is too long (64 characters is the max, ${fqdn.length} characters requested)`,
        );
        await deletePod(client, "longfqdn");
      },
    });
  } finally {
    await stop();
    for (const dir of [shared, private_]) {
      for (const m of (await mountsUnder(dir)).sort((a, b) => b.length - a.length)) {
        await sh(["umount", "-l", m]).catch(() => {});
      }
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("mountPropagation Bidirectional: a container's mount in its emptyDir reaches the node and the pod's other containers", async () => {
  const images = await ensureTestImages();
  const rt = new DockerRuntime({ nodeName: `hns-${crypto.randomUUID().slice(0, 8)}` });
  const dataDir = await Deno.makeTempDir({ prefix: "hns-data-" });
  const uid = crypto.randomUUID();
  const mount = (name: string, mountPropagation: string) => ({
    name,
    mountPath: "/shared",
    mountPropagation,
  });
  const pod: Pod = {
    metadata: { name: "bidi", namespace: "default", uid },
    spec: {
      volumes: [{ name: "shared", emptyDir: {} }],
      containers: [{
        // Started first, so the mount below is made after its bind: it can only arrive by
        // propagation.
        name: "reader",
        image: images.busybox,
        command: ["sh", "-c", "touch /shared/ready; exec sleep 300"],
        volumeMounts: [mount("shared", "HostToContainer")],
      }, {
        name: "mounter",
        image: images.busybox,
        securityContext: { privileged: true },
        command: [
          "sh",
          "-c",
          "until [ -e /shared/ready ]; do sleep 0.1; done; mkdir /shared/m; " +
          "mount -t tmpfs tmpfs /shared/m; echo from-mounter > /shared/m/f; exec sleep 300",
        ],
        volumeMounts: [mount("shared", "Bidirectional")],
      }],
    },
  };
  const none = () => Promise.resolve(undefined);
  const objects = {
    getConfigMap: none,
    getSecret: none,
    getPersistentVolumeClaim: none,
    getPersistentVolume: none,
  };
  try {
    const volumes = await preparePodVolumes(pod, { dataDir, reader: objects });
    const infra = await rt.createContainer(sandboxCreateOptions(pod, {
      pauseImage: images.pause,
      nodeAddress: "127.0.6.11",
      network: "none",
      attempt: 0,
    }));
    await rt.startContainer(infra);
    const ids: Record<string, string> = {};
    for (const c of pod.spec.containers) {
      const options = containerCreateOptions(pod, c, {
        infraId: infra,
        restartCount: 0,
        env: [],
        binds: volumeBinds(c, volumes),
        image: c.image!,
      });
      if (c.securityContext?.privileged) {
        // This machine's runtime cannot start privileged containers (its capability bounding
        // set lacks CAP_SYS_RESOURCE); mounting needs only CAP_SYS_ADMIN. Propagation is the
        // bind's, whatever the privilege.
        options.HostConfig!.Privileged = false;
        options.HostConfig!.CapAdd = ["SYS_ADMIN"];
      }
      ids[c.name] = await rt.createContainer(options);
      await rt.startContainer(ids[c.name]);
    }
    const seen = await waitFor("the mounter's tmpfs in the reader", async () => {
      const r = await rt.exec(ids.reader, ["cat", "/shared/m/f"]);
      return r.exitCode === 0 ? r.stdout : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(seen, "from-mounter\n");
    // And on the node, under the pod's volume.
    const dir = volumes.get("shared")!.path;
    assert.equal(await Deno.readTextFile(`${dir}/m/f`), "from-mounter\n");
    for (const c of await rt.listContainers()) await rt.removeContainer(c.Id);
    // The pod's directory goes with every mount in it.
    await removePodDir(dataDir, uid);
    assert.deepEqual(await mountsUnder(podDir(dataDir, uid)), []);
    await assert.rejects(() => Deno.stat(podDir(dataDir, uid)), Deno.errors.NotFound);
  } finally {
    for (const c of await rt.listContainers()) await rt.removeContainer(c.Id);
    await removePodDir(dataDir, uid);
    await Deno.remove(dataDir, { recursive: true });
  }
});
