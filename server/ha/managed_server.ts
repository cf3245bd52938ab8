/**
 * The server side of managed etcd: before the store opens, `--cluster-init` starts a new member
 * and `--join` has the given server add this one (fetching the cluster CA checked against the
 * join token's hash, then the sealed credentials), and both return the TLS client the store uses.
 * `--leave` removes this server's member and its etcd data.
 */
import { fetchTrustedCa } from "../../shared/ca_trust.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { writePrivateFile } from "../kubeconfig.ts";
import { ClusterCipher, clusterProof } from "./cluster_crypto.ts";
import {
  ensureEtcdCertificates,
  type EtcdClient,
  etcdClient,
  listMembers,
  type ManagedEtcdOptions,
  memberChange,
  type MemberStart,
  memberUrls,
  runEtcdMember,
} from "./managed_etcd.ts";
import { type MemberAnswer, memberProofMessage, MEMBERS_PATH } from "./member_route.ts";
import { clusterSecretFrom } from "./shared_trust.ts";

/** The config fields read here. */
export interface ManagedConfig {
  dataDir: string;
  listen: string;
  nodeAddress?: string;
  clusterInit: boolean;
  join?: string;
  joinToken?: string;
  clusterSecret?: string;
  clusterSecretFile?: string;
  force: boolean;
  etcdClientPort: number;
  etcdPeerPort: number;
}

/** A running managed member and the store's client of it. */
export interface ManagedEtcd {
  client: EtcdClient;
  clusterSecret: string;
  finished: Promise<void>;
}

/** The member's addresses from `--listen` (a wildcard listen advertises the node address). */
export function memberOptions(
  config: ManagedConfig,
  name: string,
  logger?: Logger,
): ManagedEtcdOptions {
  const host = config.listen.slice(0, config.listen.lastIndexOf(":"));
  const wildcard = host === "0.0.0.0";
  return {
    dataDir: config.dataDir,
    name,
    ip: wildcard ? (config.nodeAddress ?? "127.0.0.1") : host,
    bindIp: host,
    clientPort: config.etcdClientPort,
    peerPort: config.etcdPeerPort,
    logger,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Starts (or joins) the member; undefined when the server does not manage etcd. */
export async function startManagedEtcd(
  config: ManagedConfig,
  name: string,
  o: { logger?: Logger; signal: AbortSignal },
): Promise<ManagedEtcd | undefined> {
  if (!config.clusterInit && !config.join) return undefined;
  const logger = (o.logger ?? silentLogger).child("managed-etcd");
  const member = memberOptions(config, name, logger);
  const urls = memberUrls(member);
  const secret = await clusterSecretFrom({ ...config, generate: config.clusterInit });
  if (!secret) {
    throw new Error(
      "--join needs the cluster secret the first server uses: --cluster-secret, or " +
        "--cluster-secret-file with a copy of its <data-dir>/cluster-secret",
    );
  }
  let start: MemberStart = { state: "new" };
  const joined = await exists(`${config.dataDir}/etcd/member`);
  if (config.join && !joined) {
    const answer = await askToJoin(config, name, urls.peer, secret);
    const files = JSON.parse(await (await ClusterCipher.fromSecret(secret)).open(answer.bundle));
    for (const [path, text] of Object.entries(files as Record<string, string>)) {
      await Deno.mkdir(`${config.dataDir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await writePrivateFile(`${config.dataDir}/${path}`, text);
    }
    start = { state: "existing", members: answer.members };
    logger.info("added as an etcd member", { members: answer.members.length });
  } else if (config.join) {
    start = { state: "existing", members: [{ name, peerURL: urls.peer }] };
  }
  await ensureEtcdCertificates(member);
  const running = runEtcdMember(member, start, o.signal);
  await Promise.race([running.ready, running.finished]);
  const client = await etcdClient(config.dataDir, urls.client);
  return {
    client,
    clusterSecret: secret,
    finished: running.finished.finally(() => client.close()),
  };
}

async function askToJoin(
  config: ManagedConfig,
  name: string,
  peerURL: string,
  secret: string,
): Promise<MemberAnswer> {
  const server = config.join!.replace(/\/+$/, "");
  const caPem = await fetchTrustedCa(server, config.joinToken!);
  const httpClient = Deno.createHttpClient(caPem ? { caCerts: [caPem] } : {});
  try {
    const r = await fetch(`${server}${MEMBERS_PATH}`, {
      method: "POST",
      client: httpClient,
      headers: {
        authorization: `Bearer ${config.joinToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        name,
        peerURL,
        proof: await clusterProof(secret, memberProofMessage(name, peerURL)),
        force: config.force,
      }),
    });
    const text = await r.text();
    if (!r.ok) {
      let message = text;
      try {
        message = JSON.parse(text).message ?? text;
      } catch {
        // not a Status
      }
      throw new Error(`Cannot join ${server}: ${message}`);
    }
    return JSON.parse(text) as MemberAnswer;
  } finally {
    httpClient.close();
  }
}

/**
 * `skiff server --leave`: starts this server's member, removes it from the cluster (refusing to
 * leave two members behind unless `force`), stops it and deletes `<data-dir>/etcd`.
 */
export async function leaveManagedEtcd(
  config: ManagedConfig,
  name: string,
  logger?: Logger,
): Promise<void> {
  if (!await exists(`${config.dataDir}/etcd/member`)) {
    throw new Error(`Cannot leave: ${config.dataDir}/etcd holds no etcd member`);
  }
  const member = memberOptions(config, name, logger);
  const urls = memberUrls(member);
  const stop = new AbortController();
  const running = runEtcdMember(member, {
    state: "existing",
    members: [{ name, peerURL: urls.peer }],
  }, stop.signal);
  const timeout = setTimeout(() => stop.abort(), 60_000);
  try {
    await Promise.race([running.ready, running.finished]);
    if (stop.signal.aborted) throw new Error("Cannot leave: this member did not start within 60 s");
    const client = await etcdClient(config.dataDir, urls.client);
    try {
      const members = await listMembers(client);
      const self = members.find((m) => m.name === name);
      if (!self) throw new Error(`Cannot leave: no etcd member named "${name}"`);
      if (members.length === 3 && !config.force) {
        throw new Error(
          "Cannot leave: two etcd members would remain (the cluster stops when either stops); " +
            "add a server first, or pass --force",
        );
      }
      // Asked through another member: a member removing itself stops before it answers.
      const other = members.find((m) => m.ID !== self.ID && m.clientURLs?.length);
      if (!other) throw new Error("Cannot leave: no other etcd member to ask");
      const peer = await etcdClient(config.dataDir, other.clientURLs![0]);
      try {
        await memberChange(peer, "remove", { ID: self.ID });
      } finally {
        peer.close();
      }
    } finally {
      client.close();
    }
  } finally {
    clearTimeout(timeout);
    stop.abort();
    await running.finished;
  }
  await Deno.remove(`${config.dataDir}/etcd`, { recursive: true });
}

/** Removes the etcd member named `name` (its Node was deleted); false when there is none. */
export async function removeMemberNamed(client: EtcdClient, name: string): Promise<boolean> {
  const members = await listMembers(client);
  const m = members.find((x) => x.name === name);
  if (!m) return false;
  await memberChange(client, "remove", { ID: m.ID });
  return true;
}
