/**
 * The pod infra ("pause") image a node needs before it can run any pod. Docker Hub and other
 * registries may be out of reach (air-gapped edge clusters), so when the configured image is
 * neither present nor pullable and it is Skiff's default, the agent builds it locally: a root
 * filesystem holding only a static busybox (Debian's busybox-static), imported with
 * `docker import`, whose command sleeps until SIGTERM and then exits at once.
 */
import type { Logger } from "../shared/log.ts";

/** The default infra image, built locally when missing. */
export const DEFAULT_PAUSE_IMAGE = "skiff.local/pause:1";

/** What the pause container runs: wait forever, leave promptly on SIGTERM/SIGINT. */
export const PAUSE_COMMAND = [
  "/bin/sh",
  "-c",
  "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done",
];

/** Runs a command; `dockerHost` points the docker CLI at the agent's `--docker-socket`. */
async function run(
  args: string[],
  dockerHost = "unix:///var/run/docker.sock",
): Promise<{ ok: boolean; stderr: string }> {
  try {
    const out = await new Deno.Command(args[0], {
      args: args.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { DEBIAN_FRONTEND: "noninteractive", DOCKER_HOST: dockerHost },
    }).output();
    return { ok: out.success, stderr: new TextDecoder().decode(out.stderr).trim() };
  } catch (e) {
    return { ok: false, stderr: e instanceof Error ? e.message : String(e) };
  }
}

async function staticBusybox(logger: Logger): Promise<string | undefined> {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) {
    try {
      if ((await Deno.stat(p)).isFile) return p;
    } catch {
      // not here
    }
  }
  if (Deno.uid() !== 0) return undefined;
  logger.info("installing Debian's busybox-static to build the pause image");
  const ok = (await run(["apt-get", "install", "-y", "-qq", "busybox-static"])).ok ||
    ((await run(["apt-get", "update", "-qq"])).ok &&
      (await run(["apt-get", "install", "-y", "-qq", "busybox-static"])).ok);
  return ok ? "/bin/busybox" : undefined;
}

/** Builds `tag` from a static busybox binary (a minimal root filesystem + `docker import`). */
export async function buildPauseImage(
  tag: string,
  busybox: string,
  dockerHost?: string,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "skiff-pause-" });
  try {
    await Deno.mkdir(`${root}/bin`);
    await Deno.mkdir(`${root}/tmp`, { mode: 0o1777 });
    await Deno.copyFile(busybox, `${root}/bin/busybox`);
    await Deno.chmod(`${root}/bin/busybox`, 0o755);
    for (const applet of ["sh", "sleep"]) await Deno.symlink("busybox", `${root}/bin/${applet}`);
    const change = `CMD ${JSON.stringify(PAUSE_COMMAND)}`.replaceAll("'", "'\\''");
    const r = await run([
      "sh",
      "-c",
      `tar -C '${root}' -c . | docker import --change '${change}' - '${tag}'`,
    ], dockerHost);
    if (!r.ok) throw new Error(`cannot build the pause image ${tag}: ${r.stderr}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * Makes sure `image` is in the local engine: present, else pulled, else (for the default image)
 * built from a static busybox. Throws an Error with a one-line message saying what to do.
 */
export async function ensurePauseImage(
  image: string,
  options: { dockerSocket: string; logger: Logger },
): Promise<void> {
  const { logger } = options;
  const host = `unix://${options.dockerSocket}`;
  if ((await run(["docker", "image", "inspect", image], host)).ok) return;
  if (image !== DEFAULT_PAUSE_IMAGE) {
    const pulled = await run(["docker", "pull", image], host);
    if (pulled.ok) return;
    throw new Error(
      `the pause image ${image} is not present and cannot be pulled (${pulled.stderr}): load it with docker load, or use the default ${DEFAULT_PAUSE_IMAGE}`,
    );
  }
  const busybox = await staticBusybox(logger);
  if (!busybox) {
    throw new Error(
      `the pause image ${image} is missing and there is no static busybox to build it from: install busybox-static (Debian) or load the image with docker load`,
    );
  }
  logger.info("building the pause image", { image });
  await buildPauseImage(image, busybox, host);
}
