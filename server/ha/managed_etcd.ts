/**
 * Managed etcd, k3s style: the server runs one etcd member (Debian's `etcd` binary from
 * etcd-server) as a supervised child process with its data in `<data-dir>/etcd`, client and peer
 * traffic on TLS from the cluster CA (mutual: members and the server present certificates the CA
 * signed), bound on the address of the server's `--listen` (ports 2379/2380 by default), so three
 * servers on three loopback addresses of one machine work without more flags.
 *
 * `--cluster-init` starts a new one-member cluster; `--join URL` asks that server to add a member
 * (server/ha/member_route.ts, which calls etcd's member API) and starts this member with the
 * cluster's member list; `--leave` removes this member. The member API is etcd's v3 JSON gateway
 * (`/v3/cluster/member/list|add|remove`), as the store uses its KV API.
 */
import { issueCertificate, loadOrCreateCa } from "../pki.ts";
import { writePrivateFile } from "../kubeconfig.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { delay } from "../../shared/backoff.ts";

/** One etcd member as the member API lists it. */
export interface EtcdMember {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

/** Where this server's member lives. */
export interface ManagedEtcdOptions {
  /** The binary (default `etcd` on PATH). */
  binary?: string;
  dataDir: string;
  /** Member name: the server's name. */
  name: string;
  /** Address the member binds and advertises (the `--listen` address, or the node address). */
  ip: string;
  /** Address to bind when it differs from the advertised one (`0.0.0.0` listens). */
  bindIp?: string;
  clientPort: number;
  peerPort: number;
  logger?: Logger;
}

/** A client of a member: TLS with the cluster CA and this server's client certificate. */
export interface EtcdClient {
  endpoint: string;
  fetch: typeof fetch;
  close(): void;
}

/** The member's URLs. */
export function memberUrls(o: { ip: string; clientPort: number; peerPort: number }) {
  const host = o.ip.includes(":") ? `[${o.ip}]` : o.ip;
  return { client: `https://${host}:${o.clientPort}`, peer: `https://${host}:${o.peerPort}` };
}

/** Issues (once) the member's server/peer certificate and the server's etcd client certificate. */
export async function ensureEtcdCertificates(o: ManagedEtcdOptions): Promise<string> {
  const dir = `${o.dataDir}/tls/etcd`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await loadOrCreateCa(`${o.dataDir}/tls`);
  const sans = [...new Set([o.ip, "127.0.0.1", "localhost"])].sort().join(",");
  const stamp = `${sans}\n${ca.pem}`;
  const existing = await Deno.readTextFile(`${dir}/stamp`).catch(() => "");
  if (existing !== stamp) {
    const member = await issueCertificate(ca, {
      subject: `CN=etcd-${o.name}`,
      sans: sans.split(","),
      serverAuth: true,
      clientAuth: true, // peers authenticate each other with it
    });
    const client = await issueCertificate(ca, {
      subject: "CN=skiff-apiserver-etcd-client",
      sans: [],
      clientAuth: true,
    });
    await Deno.writeTextFile(`${dir}/member.crt`, member.certPem);
    await writePrivateFile(`${dir}/member.key`, member.keyPem);
    await Deno.writeTextFile(`${dir}/client.crt`, client.certPem);
    await writePrivateFile(`${dir}/client.key`, client.keyPem);
    await Deno.writeTextFile(`${dir}/ca.crt`, ca.pem);
    await Deno.writeTextFile(`${dir}/stamp`, stamp);
  }
  return dir;
}

/** A TLS client of the member at `endpoint` with the server's etcd client certificate. */
export async function etcdClient(dataDir: string, endpoint: string): Promise<EtcdClient> {
  const dir = `${dataDir}/tls/etcd`;
  const httpClient = Deno.createHttpClient({
    caCerts: [await Deno.readTextFile(`${dir}/ca.crt`)],
    cert: await Deno.readTextFile(`${dir}/client.crt`),
    key: await Deno.readTextFile(`${dir}/client.key`),
  });
  return {
    endpoint,
    fetch: (input, init) => fetch(input, { ...init, client: httpClient }),
    close: () => httpClient.close(),
  };
}

/** Calls etcd's member API. */
export async function memberCall<T>(
  client: EtcdClient,
  op: "list" | "add" | "remove",
  body: Record<string, unknown>,
): Promise<T> {
  const r = await client.fetch(`${client.endpoint}/v3/cluster/member/${op}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`etcd member ${op} answered ${r.status}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * A member add or remove. etcd's strict reconfiguration check refuses one ("unhealthy cluster")
 * until every member has been connected for a few seconds (right after a join or a restart), so
 * that answer is retried for up to 30 s.
 */
export async function memberChange<T>(
  client: EtcdClient,
  op: "add" | "remove",
  body: Record<string, unknown>,
): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await memberCall<T>(client, op, body);
    } catch (e) {
      if (!/unhealthy cluster/.test((e as Error).message) || Date.now() > deadline) throw e;
      await delay(1000);
    }
  }
}

/** The cluster's members. */
export async function listMembers(client: EtcdClient): Promise<EtcdMember[]> {
  return (await memberCall<{ members?: EtcdMember[] }>(client, "list", {})).members ?? [];
}

/** How to start the member. */
export type MemberStart =
  | { state: "new" }
  | { state: "existing"; members: { name: string; peerURL: string }[] };

/**
 * Runs the member until `signal` aborts, restarting it (with backoff) when it exits; resolves
 * once `ready` when its client URL answers /health, and `finished` after it stopped.
 */
export function runEtcdMember(
  o: ManagedEtcdOptions,
  start: MemberStart,
  signal: AbortSignal,
): { ready: Promise<void>; finished: Promise<void> } {
  const logger = (o.logger ?? silentLogger).child("etcd");
  const urls = memberUrls(o);
  const bind = memberUrls({ ...o, ip: o.bindIp ?? o.ip });
  const tls = `${o.dataDir}/tls/etcd`;
  const cluster = start.state === "new"
    ? `${o.name}=${urls.peer}`
    : start.members.map((m) => `${m.name}=${m.peerURL}`).join(",");
  const args = [
    `--name=${o.name}`,
    `--data-dir=${o.dataDir}/etcd`,
    `--listen-client-urls=${bind.client}`,
    `--advertise-client-urls=${urls.client}`,
    `--listen-peer-urls=${bind.peer}`,
    `--initial-advertise-peer-urls=${urls.peer}`,
    `--initial-cluster=${cluster}`,
    `--initial-cluster-state=${start.state}`,
    `--cert-file=${tls}/member.crt`,
    `--key-file=${tls}/member.key`,
    `--trusted-ca-file=${tls}/ca.crt`,
    "--client-cert-auth",
    `--peer-cert-file=${tls}/member.crt`,
    `--peer-key-file=${tls}/member.key`,
    `--peer-trusted-ca-file=${tls}/ca.crt`,
    "--peer-client-cert-auth",
    "--log-level=error",
  ];
  let markReady!: () => void;
  const ready = new Promise<void>((r) => markReady = r);
  const finished = (async () => {
    let backoff = 500;
    while (!signal.aborted) {
      const child = new Deno.Command(o.binary ?? "etcd", {
        args,
        stdout: "null",
        stderr: "piped",
        stdin: "null",
      }).spawn();
      const onAbort = () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // gone
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      // Health is polled until the member answers, this child exits, or shutdown.
      const exited = new AbortController();
      child.status.finally(() => exited.abort());
      const health = waitHealthy(o.dataDir, urls.client, AbortSignal.any([signal, exited.signal]))
        .then((ok) => ok && markReady());
      const [status, errText] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      signal.removeEventListener("abort", onAbort);
      await health;
      if (signal.aborted) break;
      logger.warn("etcd exited; restarting", {
        code: status.code,
        stderr: errText.trim().split("\n").slice(-3).join(" | "),
      });
      await delay(backoff, signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
  })();
  return { ready, finished };
}

async function waitHealthy(dataDir: string, endpoint: string, signal: AbortSignal) {
  const client = await etcdClient(dataDir, endpoint);
  try {
    while (!signal.aborted) {
      try {
        const r = await client.fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) });
        if (r.ok && (await r.text()).includes("true")) return true;
      } catch {
        // not up yet
      }
      await delay(200, signal);
    }
    return false;
  } finally {
    client.close();
  }
}
