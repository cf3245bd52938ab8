/**
 * One trust for every server on one datastore: the cluster CA (certificate and key), the admin
 * and join tokens, the agent client secret, the ServiceAccount token signing key and the token
 * table are kept in each server's data dir as before, and mirrored through the datastore sealed
 * with the cluster secret ({@linkcode ClusterCipher}), never in the clear. The first server to
 * start writes them; every later server bootstraps its data dir from them before it loads its
 * PKI, tokens and signing key, so the existing file-based code (server/pki.ts,
 * server/auth/token_store.ts, server/auth/service_account_token.ts) runs unchanged on the same
 * files, and what a data dir had from an earlier life on its own gives way to the cluster's. The
 * token table keeps changing (node tokens issued at join, `skiff token`), so it is synchronised
 * both ways while the server runs.
 */
import type { Backend } from "../store/backend.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { randomSecret } from "../../shared/crypto_util.ts";
import { SERVICE_ACCOUNT_KEY_FILE } from "../auth/service_account_token.ts";
import { ClusterCipher } from "./cluster_crypto.ts";
import { writeFileAtomic } from "../../shared/write_file_atomic.ts";

/**
 * Files (relative to the data dir) shared by every server: add a credential here and every server
 * gets the same one (a bundle published before the file was added gets it from the first server
 * that starts knowing it: {@linkcode SharedTrust.publish}).
 */
export const SHARED_TRUST_FILES = [
  "tls/ca.crt",
  "tls/ca.key",
  "admin-token",
  "token",
  "agent-client-token",
  SERVICE_ACCOUNT_KEY_FILE,
];

/** How often a server retries adding its files to a bundle other servers change meanwhile. */
const COMPLETE_ATTEMPTS = 5;

/** Datastore keys (outside `/registry/`, so no watch cache ever reads them). */
export const TRUST_BUNDLE_KEY = "/skiff/trust/bundle";
export const TRUST_TOKENS_KEY = "/skiff/trust/tokens";

/** The token table, relative to the data dir. */
const TOKENS_FILE = "tokens.json";

/** Where the cluster secret comes from. */
export interface ClusterSecretSource {
  clusterSecret?: string;
  clusterSecretFile?: string;
  /** Managed etcd's first server may make one (written to `<dataDir>/cluster-secret`). */
  generate?: boolean;
  dataDir: string;
}

/** The cluster secret, or undefined when none was given (and none may be generated). */
export async function clusterSecretFrom(s: ClusterSecretSource): Promise<string | undefined> {
  if (s.clusterSecret) return s.clusterSecret;
  if (s.clusterSecretFile) {
    const text = (await Deno.readTextFile(s.clusterSecretFile)).trim();
    if (text.length < 16) {
      throw new Error(
        `Cannot use ${s.clusterSecretFile}: a cluster secret has 16 characters or more`,
      );
    }
    return text;
  }
  const own = `${s.dataDir}/cluster-secret`;
  try {
    const text = (await Deno.readTextFile(own)).trim();
    if (text) return text;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (!s.generate) return undefined;
  const secret = randomSecret(24);
  await writeTrustFile(own, secret + "\n");
  return secret;
}

/** The shared trust of one server; see the module comment. */
export class SharedTrust {
  readonly #backend: Backend;
  readonly #cipher: ClusterCipher;
  readonly #dataDir: string;
  readonly #logger: Logger;
  /** True when the datastore already held the bundle at start (this server joined). */
  readonly joined: boolean;
  /** The token table as last agreed with the datastore, and the key's modRevision then. */
  #base = "[]";
  #baseRevision = 0;

  private constructor(o: {
    backend: Backend;
    cipher: ClusterCipher;
    dataDir: string;
    logger: Logger;
    joined: boolean;
  }) {
    this.#backend = o.backend;
    this.#cipher = o.cipher;
    this.#dataDir = o.dataDir;
    this.#logger = o.logger;
    this.joined = o.joined;
  }

  /**
   * Bootstraps the data dir from the datastore when the cluster's credentials are there (this
   * server is not the first); call before the PKI and tokens are loaded.
   */
  static async pull(
    o: { backend: Backend; secret: string; dataDir: string; logger?: Logger },
  ): Promise<SharedTrust> {
    const cipher = await ClusterCipher.fromSecret(o.secret);
    const logger = (o.logger ?? silentLogger).child("shared-trust");
    const bundle = await o.backend.get(TRUST_BUNDLE_KEY);
    const trust = new SharedTrust({ ...o, cipher, logger, joined: bundle !== null });
    if (bundle) {
      const files = JSON.parse(await cipher.open(bundle.value)) as Record<string, string>;
      const oldCa = await readIfExists(`${o.dataDir}/tls/ca.crt`);
      const oldKey = await readIfExists(`${o.dataDir}/${SERVICE_ACCOUNT_KEY_FILE}`);
      for (const [path, text] of Object.entries(files)) {
        await writeTrustFile(`${o.dataDir}/${path}`, text);
      }
      // A CA other than the one this data dir had: the serving certificate must be re-issued.
      if (oldCa !== undefined && oldCa !== files["tls/ca.crt"]) {
        await Deno.remove(`${o.dataDir}/tls/server.sans`).catch(() => {});
      }
      const key = files[SERVICE_ACCOUNT_KEY_FILE];
      if (oldKey !== undefined && key !== undefined && oldKey !== key) {
        logger.warn(
          "this data dir's ServiceAccount signing key gave way to the cluster's: tokens this " +
            "server issued before no longer work",
        );
      }
      const tokens = await o.backend.get(TRUST_TOKENS_KEY);
      if (tokens) {
        const table = await cipher.open(tokens.value);
        await writeTrustFile(`${o.dataDir}/${TOKENS_FILE}`, table);
        trust.#base = table;
        trust.#baseRevision = tokens.modRevision;
      }
      logger.info("loaded the cluster's CA and tokens from the datastore");
    }
    return trust;
  }

  /**
   * The first server publishes its credentials (after creating them). Throws when another server
   * published first in the meantime: restarting this one then loads theirs. A joining server
   * adds the shared files the cluster's bundle lacks ({@linkcode SharedTrust.complete}).
   */
  async publish(): Promise<void> {
    if (this.joined) return await this.complete();
    const files: Record<string, string> = {};
    for (const path of SHARED_TRUST_FILES) {
      const text = await readIfExists(`${this.#dataDir}/${path}`);
      if (text !== undefined) files[path] = text;
    }
    const created = await this.#backend.create(
      TRUST_BUNDLE_KEY,
      await this.#cipher.seal(JSON.stringify(files)),
    );
    if (!created.ok) {
      throw new Error(
        "Cannot publish this server's CA: another server initialised the cluster at the same " +
          "time; restart this server to load the cluster's credentials",
      );
    }
    await this.syncTokens();
  }

  /**
   * A bundle published by an older Skiff lacks the files added to {@linkcode SHARED_TRUST_FILES}
   * since (the ServiceAccount signing key): the first server to start knowing them adds its own,
   * and every later one adopts those. The update is a compare-and-swap; when another server
   * changed the bundle meanwhile, what it added is written here and the rest tried again. Call
   * before loading those files.
   */
  async complete(): Promise<void> {
    for (let attempt = 0; attempt < COMPLETE_ATTEMPTS; attempt++) {
      const kv = await this.#backend.get(TRUST_BUNDLE_KEY);
      if (!kv) throw new Error("Cannot complete the cluster's trust: its bundle is gone");
      const files = JSON.parse(await this.#cipher.open(kv.value)) as Record<string, string>;
      const added: string[] = [];
      for (const path of SHARED_TRUST_FILES) {
        const local = await readIfExists(`${this.#dataDir}/${path}`);
        if (path in files) {
          if (local !== files[path]) await writeTrustFile(`${this.#dataDir}/${path}`, files[path]);
        } else if (local !== undefined) {
          files[path] = local;
          added.push(path);
        }
      }
      if (!added.length) return;
      const sealed = await this.#cipher.seal(JSON.stringify(files));
      if ((await this.#backend.update(TRUST_BUNDLE_KEY, sealed, kv.modRevision)).ok) {
        this.#logger.info("added to the cluster's shared trust", { files: added.join(",") });
        return;
      }
    }
    throw new Error(
      "Cannot add this server's files to the cluster's trust: the bundle kept changing; restart " +
        "this server",
    );
  }

  /** Synchronises the token table both ways every `intervalMs` until `signal` aborts. */
  async run(signal: AbortSignal, intervalMs = 1000): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.syncTokens();
      } catch (e) {
        if (!signal.aborted) {
          this.#logger.warn("cannot synchronise tokens", { error: (e as Error).message });
        }
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const t = setTimeout(done, intervalMs);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  /**
   * One pass: a table changed only here is written to the datastore, one changed only there is
   * written here, and one changed on both sides is merged (records added or removed on this side
   * since the last agreement are applied to the datastore's table).
   */
  async syncTokens(): Promise<void> {
    const path = `${this.#dataDir}/${TOKENS_FILE}`;
    const local = normaliseTable((await readIfExists(path)) ?? "[]");
    const remoteKv = await this.#backend.get(TRUST_TOKENS_KEY);
    const remoteChanged = (remoteKv?.modRevision ?? 0) !== this.#baseRevision;
    const localChanged = local !== this.#base;
    if (!remoteChanged && !localChanged) return;
    const remote = remoteKv
      ? normaliseTable(await this.#cipher.open(remoteKv.value))
      : (remoteChanged ? "[]" : this.#base);
    let next = remoteChanged && localChanged ? mergeTables(this.#base, local, remote) : local;
    if (remoteChanged && !localChanged) next = remote;
    if (next !== local) await writeTrustFile(path, next);
    if (next !== remote || !remoteKv) {
      const sealed = await this.#cipher.seal(next);
      const r = remoteKv
        ? await this.#backend.update(TRUST_TOKENS_KEY, sealed, remoteKv.modRevision)
        : await this.#backend.create(TRUST_TOKENS_KEY, sealed);
      if (!r.ok) return; // changed meanwhile: the next pass merges again
      this.#baseRevision = r.kv.modRevision;
    } else {
      this.#baseRevision = remoteKv.modRevision;
    }
    this.#base = next;
  }
}

interface Rec {
  id: string;
}

/** The table as canonical JSON (sorted by id), so equal tables compare equal as text. */
function normaliseTable(text: string): string {
  const records = JSON.parse(text) as Rec[];
  records.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return JSON.stringify(records, null, 2) + "\n";
}

/** Three-way merge by record id: `remote` plus what `local` added or removed since `base`. */
export function mergeTables(base: string, local: string, remote: string): string {
  const ids = (t: string) => new Map((JSON.parse(t) as Rec[]).map((r) => [r.id, r]));
  const b = ids(base), l = ids(local), out = ids(remote);
  for (const [id, r] of l) if (!b.has(id)) out.set(id, r);
  for (const id of b.keys()) if (!l.has(id)) out.delete(id);
  return normaliseTable(JSON.stringify([...out.values()]));
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Writes a shared file (mode 0600) into the data dir, making its directory if needed. */
async function writeTrustFile(path: string, text: string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, text, 0o600);
}
