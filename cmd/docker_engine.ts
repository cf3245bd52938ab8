/**
 * Makes sure a Docker engine answers before a node starts: pings the socket; when none answers and
 * we are root on Debian, installs `docker.io` and starts `dockerd` (as the test setup does);
 * otherwise fails with one line saying how to get one.
 */
import type { Logger } from "../shared/log.ts";

/** True when the Docker engine at `socketPath` answers `/_ping`. */
export async function dockerAnswers(socketPath: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path: socketPath });
    try {
      await conn.write(new TextEncoder().encode("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"));
      const buf = new Uint8Array(256);
      const n = await conn.read(buf);
      return n !== null && new TextDecoder().decode(buf.subarray(0, n)).includes(" 200 ");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "null",
      stderr: "null",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

function which(cmd: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Ensures an engine answers on `socketPath`; throws an Error with a one-line message if not. */
export async function ensureDockerEngine(socketPath: string, logger: Logger): Promise<void> {
  if (await dockerAnswers(socketPath)) return;
  const root = Deno.uid() === 0;
  const hint = "install Docker (Debian: apt-get install docker.io) and start it";
  if (!root) throw new Error(`no Docker engine answers on ${socketPath}: ${hint}`);
  if (!which("dockerd")) {
    if (!which("apt-get")) throw new Error(`no Docker engine answers on ${socketPath}: ${hint}`);
    logger.info("installing Debian's docker.io");
    if (
      !await run("apt-get", ["update", "-qq"]) ||
      !await run("apt-get", ["install", "-y", "-qq", "docker.io"])
    ) {
      throw new Error("apt-get install docker.io failed: install Docker by hand and start it");
    }
    if (await dockerAnswers(socketPath)) return;
  }
  logger.info("starting dockerd");
  // Detached, so that the engine outlives this process as a system service would.
  await run("sh", ["-c", "nohup dockerd >>/var/log/skiff-dockerd.log 2>&1 &"]);
  for (let i = 0; i < 120; i++) {
    if (await dockerAnswers(socketPath)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("dockerd did not answer within 60 s (see /var/log/skiff-dockerd.log)");
}
