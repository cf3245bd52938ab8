/**
 * The pause image built from a static busybox really is a pod infra image: it keeps running and
 * stops at once on SIGTERM; a missing non-default image is refused with a clear message.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../shared/log.ts";
import { buildPauseImage, ensurePauseImage } from "./pause_image.ts";

async function docker(...args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout).trim() + dec.decode(o.stderr).trim() };
}

Deno.test("buildPauseImage() makes an image that runs until SIGTERM and then exits 0", async () => {
  const tag = `skiff.local/pause-test:${crypto.randomUUID().slice(0, 8)}`;
  const name = `skiff-pause-test-${crypto.randomUUID().slice(0, 8)}`;
  await buildPauseImage(tag, "/bin/busybox");
  try {
    const run = await docker("run", "-d", "--name", name, tag);
    assert.equal(run.code, 0, run.out);
    const running = await docker("inspect", "-f", "{{.State.Running}}", name);
    assert.equal(running.out, "true");
    // Stopping with a long timeout: the container must leave on SIGTERM, not be killed.
    const stop = await docker("stop", "-t", "30", name);
    assert.equal(stop.code, 0, stop.out);
    const exit = await docker("inspect", "-f", "{{.State.ExitCode}}", name);
    assert.equal(exit.out, "0");
  } finally {
    await docker("rm", "-f", name);
    await docker("rmi", tag);
  }
});

Deno.test("ensurePauseImage() refuses a missing image it cannot pull, in one line", async () => {
  await assert.rejects(
    () =>
      ensurePauseImage("127.0.0.1:1/none/pause:1", {
        dockerSocket: "/var/run/docker.sock",
        logger: silentLogger,
      }),
    /the pause image 127\.0\.0\.1:1\/none\/pause:1 is not present and cannot be pulled/,
  );
});
