/**
 * A real private registry for tests: CNCF distribution (Debian's `docker-registry`) with
 * htpasswd (bcrypt) users, serving plain HTTP on a loopback address — the Docker engine talks
 * HTTP to 127.0.0.0/8 registries without being told. Images are pushed with the Docker CLI under
 * a config directory of its own (`docker login` never touches ~/.docker), which is logged out and
 * whose pushed tags are removed again, so that only the agent's pulls can bring them back.
 */
import { waitFor } from "./test_utils.ts";

/** A running registry. */
export interface TestRegistry {
  /** `address:port`, the registry part of image references. */
  host: string;
  /**
   * Pushes the local image `source` as `<host>/<repository>` (as the first user), then logs the
   * CLI out and untags it locally. Returns the pushed reference.
   */
  push(source: string, repository: string): Promise<string>;
  /** Stops the registry, removes its directory and untags every pushed reference. */
  stop(): Promise<void>;
}

/** True when the registry and htpasswd binaries are installed (scripts/setup.sh). */
export function haveRegistry(): boolean {
  return ["/usr/bin/docker-registry", "/usr/bin/htpasswd"].every((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

async function run(cmd: string, args: string[], options: { env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return text;
}

/** A port free on `address` now (the registry binds it a moment later). */
function freePort(address: string): number {
  const l = Deno.listen({ hostname: address, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a registry on `address` (a free port) whose users are `users` (name → password),
 * under a new directory `/tmp/<prefix>-…`, and waits until it answers.
 */
export async function startTestRegistry(options: {
  address: string;
  users: Record<string, string>;
  dirPrefix: string;
}): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: `${options.dirPrefix}-` });
  const host = `${options.address}:${freePort(options.address)}`;
  const htpasswd: string[] = [];
  for (const [user, password] of Object.entries(options.users)) {
    htpasswd.push((await run("htpasswd", ["-Bbn", user, password])).trim());
  }
  await Deno.writeTextFile(`${dir}/htpasswd`, htpasswd.join("\n") + "\n");
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log: { level: error, accesslog: { disabled: true } }",
      `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
      `http: { addr: "${host}" }`,
      `auth: { htpasswd: { realm: skiff-test, path: ${dir}/htpasswd } }`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/config.yml`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const pushed: string[] = [];
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
    await stderr;
    for (const ref of pushed) await run("docker", ["rmi", ref]).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    // Up once /v2/ answers — with 401, since every request needs a user.
    await waitFor("the registry answers", async () => {
      const res = await fetch(`http://${host}/v2/`).catch(() => undefined);
      await res?.body?.cancel();
      return res?.status === 401;
    }, { timeoutMs: 10_000, intervalMs: 50 });
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}: ${await stderr}`);
  }
  const [user, password] = Object.entries(options.users)[0];
  // The CLI's login lives in a directory of its own, gone with the registry.
  const env = { DOCKER_CONFIG: `${dir}/docker-cli` };
  return {
    host,
    async push(source, repository) {
      const ref = `${host}/${repository}`;
      await run("docker", ["tag", source, ref]);
      pushed.push(ref);
      await run("docker", ["login", host, "-u", user, "-p", password], { env });
      try {
        await run("docker", ["push", ref], { env });
      } finally {
        await run("docker", ["logout", host], { env });
      }
      await run("docker", ["rmi", ref]);
      return ref;
    },
    stop,
  };
}
