/**
 * A real one-member etcd on loopback for the etcd backend and server tests (Debian's
 * etcd-server, which scripts/setup.sh installs). Ports are free loopback ports; the data dir is
 * temporary and removed on stop.
 */
import { freePort } from "./server_process.ts";

/** Path of the etcd binary, or null when it is not installed. */
export function findEtcd(): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const path = `${dir}/etcd`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** A running etcd. */
export interface EtcdProcess {
  /** Client URL, e.g. `http://127.0.0.1:23790`. */
  endpoint: string;
  stop(): Promise<void>;
}

/** Starts etcd and resolves once its client endpoint answers /health. */
export async function startEtcd(binary: string): Promise<EtcdProcess> {
  const dir = await Deno.makeTempDir({ prefix: "skiff_etcd_" });
  const endpoint = `http://127.0.0.1:${freePort()}`;
  const peer = `http://127.0.0.1:${freePort()}`;
  const child = new Deno.Command(binary, {
    args: [
      "--name=skiff-test",
      `--data-dir=${dir}/data`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=skiff-test=${peer}`,
      "--log-level=error",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`${endpoint}/health`);
      const body = await r.text();
      if (r.ok && body.includes("true")) return { endpoint, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd did not answer on ${endpoint} within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
