/**
 * `deno task dist` end to end: scripts/dist.sh builds the self-extracting files from the npm
 * packages of Deno (no runtime download), and each one, run as `skiff-linux-<arch>.run agent …`
 * from an empty directory, joins a real server by its join token and runs a pod on Docker. The
 * arm64 file runs under qemu-user through binfmt_misc, as on a Pi; that part is skipped, with
 * the reason printed, where the emulator is not set up (scripts/setup.sh sets it up as root).
 */
import assert from "node:assert/strict";
import { removeNodeContainers } from "./cluster.ts";
import { ensureTestImages, type TestImages } from "./images.ts";
import { api, startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const DIST_SH = new URL("../scripts/dist.sh", import.meta.url).pathname;
const AARCH64_SYSROOT = "/usr/aarch64-linux-gnu";

/** Why the arm64 file cannot run here, or undefined when it can. */
function arm64Unavailable(): string | undefined {
  if (Deno.build.arch === "aarch64") return undefined;
  try {
    const entry = Deno.readTextFileSync("/proc/sys/fs/binfmt_misc/qemu-aarch64");
    if (!entry.startsWith("enabled")) return "the qemu-aarch64 binfmt_misc entry is disabled";
  } catch {
    return "no qemu-aarch64 binfmt_misc entry (install qemu-user-static; scripts/setup.sh " +
      "registers it as root)";
  }
  try {
    Deno.statSync(`${AARCH64_SYSROOT}/lib/libgcc_s.so.1`);
  } catch {
    return `no arm64 libraries in ${AARCH64_SYSROOT} (libc6-arm64-cross, libgcc-s1-arm64-cross)`;
  }
  return undefined;
}

async function joinAndRunPod(
  server: TestServer,
  images: TestImages,
  options: { file: string; work: string; address: string; env?: Record<string, string> },
): Promise<void> {
  const nodeName = `dist-${crypto.randomUUID().slice(0, 6)}`;
  const agent = new Deno.Command(options.file, {
    args: [
      "agent",
      "--server",
      server.url,
      "--token",
      server.joinToken,
      "--node-name",
      nodeName,
      "--node-address",
      options.address,
      "--api-port",
      "0",
      "--data-dir",
      `${options.work}/agent-${nodeName}`,
      "--pause-image",
      images.pause,
      // Not a proxy test: no nftables table of the host's to share with other tests.
      "--proxy-mode",
      "userspace",
      "--log-level",
      "error",
    ],
    cwd: options.work,
    env: { SKIFF_RUNTIME_DIR: `${options.work}/runtime`, ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: Deno.env.get("SKIFF_TEST_LOG") ? "inherit" : "null",
  }).spawn();
  try {
    await waitFor(`node ${nodeName} Ready`, async () => {
      const r = await api(server, "GET", `/api/v1/nodes/${nodeName}`);
      return r.status === 200 &&
        r.body.status?.conditions?.some((c: { type: string; status: string }) =>
          c.type === "Ready" && c.status === "True"
        );
    }, { timeoutMs: 180_000, intervalMs: 500 });
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `p-${nodeName}` },
      spec: {
        nodeName,
        containers: [{ name: "c", image: images.busybox, command: ["sleep", "3600"] }],
      },
    };
    const created = await api(server, "POST", "/api/v1/namespaces/default/pods", { body: pod });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitFor(`pod on ${nodeName} Running`, async () => {
      const r = await api(server, "GET", `/api/v1/namespaces/default/pods/${pod.metadata.name}`);
      return r.body.status?.phase === "Running";
    }, { timeoutMs: 120_000, intervalMs: 500 });
    await api(server, "DELETE", `/api/v1/namespaces/default/pods/${pod.metadata.name}`);
  } finally {
    try {
      agent.kill("SIGTERM");
    } catch {
      // exited
    }
    await agent.status;
    await removeNodeContainers([nodeName]);
  }
}

Deno.test("the self-extracting files from deno task dist join a server and run a pod", async (t) => {
  const images = await ensureTestImages();
  const work = await Deno.makeTempDir({ prefix: "skiff-dist-" });
  const server = await startTestServer();
  try {
    const denoDir = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
    const arm64Reason = arm64Unavailable();
    const arches = Deno.build.arch === "x86_64"
      ? ["x64", ...(arm64Reason ? [] : ["arm64"])]
      : ["arm64"];
    const built = await new Deno.Command("bash", {
      args: [DIST_SH, ...arches],
      env: { PATH: `${denoDir}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
    const dist = new URL("../dist/", import.meta.url).pathname;

    await t.step("this machine's file: --help, then an agent that runs a pod", async () => {
      const file = `${dist}skiff-linux-${Deno.build.arch === "x86_64" ? "x64" : "arm64"}.run`;
      const help = await new Deno.Command(file, {
        args: ["--help"],
        cwd: work,
        env: { SKIFF_RUNTIME_DIR: `${work}/runtime` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
      assert.ok(new TextDecoder().decode(help.stdout).includes("Usage: skiff"));
      await joinAndRunPod(server, images, { file, work, address: "127.0.0.14" });
    });

    await t.step({
      name: "the arm64 file under qemu-user joins the x86 server and runs a pod",
      ignore: Deno.build.arch !== "x86_64" || arm64Reason !== undefined,
      fn: () =>
        joinAndRunPod(server, images, {
          file: `${dist}skiff-linux-arm64.run`,
          work,
          address: "127.0.0.15",
          env: { QEMU_LD_PREFIX: AARCH64_SYSROOT },
        }),
    });
    if (Deno.build.arch === "x86_64" && arm64Reason) {
      console.log(`skipped the arm64 step: ${arm64Reason}`);
    }
  } finally {
    await server.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
