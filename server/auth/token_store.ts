/**
 * Bearer tokens and what they may do, kept in `<data-dir>/tokens.json` (mode 0600) as SHA-256
 * hashes only: the admin token, join tokens for new nodes, each joined node's own token, and user
 * tokens with a role. A token reads `skiff.<id>.<secret>`; `<id>` names it in listings and
 * revocation.
 *
 * The file is shared with `skiff token` running as another process: every change re-reads the
 * file first and replaces it atomically, and a running server notices the file changing (checked
 * at most once a second, and at once when a token is unknown) so that a created token works and a
 * revoked one stops working without a restart.
 */
import { encodeHex, randomSecret, sha256Hex } from "../../shared/crypto_util.ts";

/** What a token lets its holder do. */
export type Role = "admin" | "edit" | "view" | "join" | "node" | "serviceaccount";

/** The roles `skiff token create --role` accepts. */
export const USER_ROLES = ["join", "view", "edit", "admin"] as const;

/** One stored token (never the secret itself). */
export interface TokenRecord {
  id: string;
  hash: string;
  role: Role;
  /** For `node` tokens: the node these credentials belong to. */
  nodeName?: string;
  description?: string;
  createdAt: string;
  /** RFC 3339; absent = never expires. */
  expiresAt?: string;
}

/** A token known to the server, looked up by its secret. */
export interface TokenIdentity {
  id: string;
  role: Role;
  nodeName?: string;
}

/** Options of {@linkcode TokenStore.create}. */
export interface CreateTokenOptions {
  nodeName?: string;
  description?: string;
  /** Lifetime; absent or 0 = never expires. */
  ttlSeconds?: number;
  id?: string;
}

/** How often a running server looks at the file for changes made by another process. */
const RELOAD_CHECK_MS = 1000;

/** Persistent token table; see the module comment. */
export class TokenStore {
  readonly #hashes = new Map<string, string>();
  readonly #path: string;
  #records: TokenRecord[];
  readonly #byHash = new Map<string, TokenRecord>();
  #stamp = "";
  #checkedAt = 0;
  /** Serialises changes in this process (each is re-read, change, write). */
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(path: string, records: TokenRecord[], stamp: string) {
    this.#path = path;
    this.#records = records;
    this.#stamp = stamp;
    this.#checkedAt = Date.now();
    this.#reindex();
  }

  /** Opens (or starts empty) the table at `path`. */
  static async open(path: string): Promise<TokenStore> {
    const { records, stamp } = await readTable(path);
    return new TokenStore(path, records, stamp);
  }

  /** The file this table lives in. */
  get path(): string {
    return this.#path;
  }

  /** Every token record, oldest first. */
  list(): TokenRecord[] {
    return [...this.#records];
  }

  /** Creates a token and returns its secret text (shown once). */
  async create(
    role: Role,
    options: CreateTokenOptions = {},
  ): Promise<{ token: string; record: TokenRecord }> {
    return await this.#change(async () => {
      const { token, record } = await this.#newRecord(role, options);
      this.#records.push(record);
      return { token, record };
    });
  }

  /**
   * Issues node `nodeName` a new `node` token, revoking the node's previous ones in the same
   * write (a re-join rotates the node's credentials).
   */
  async issueNodeToken(nodeName: string): Promise<{ token: string; record: TokenRecord }> {
    return await this.#change(async () => {
      const { token, record } = await this.#newRecord("node", {
        nodeName,
        description: `credentials of node ${nodeName}`,
      });
      this.#records = this.#records.filter((r) => !(r.role === "node" && r.nodeName === nodeName));
      this.#records.push(record);
      return { token, record };
    });
  }

  /** Removes a token by id; false when there is none. */
  async revoke(id: string): Promise<boolean> {
    let found = false;
    await this.#change(() => {
      const before = this.#records.length;
      this.#records = this.#records.filter((r) => r.id !== id);
      found = this.#records.length !== before;
      return Promise.resolve();
    });
    return found;
  }

  /**
   * SHA-256 of a presented token, remembered for the tokens seen recently: every API request
   * authenticates, and hashing costs more than the rest of a small request. Revocation is
   * unaffected (the record is still looked up by hash on every request).
   */
  async #hashOf(token: string): Promise<string> {
    let hash = this.#hashes.get(token);
    if (hash === undefined) {
      hash = await sha256Hex(token);
      if (this.#hashes.size >= 1024) this.#hashes.clear();
      this.#hashes.set(token, hash);
    }
    return hash;
  }

  /** The identity behind a presented token, or undefined (unknown, revoked or expired). */
  async authenticate(token: string): Promise<TokenIdentity | undefined> {
    const hash = await this.#hashOf(token);
    await this.#refresh(RELOAD_CHECK_MS);
    let record = this.#byHash.get(hash);
    // An unknown token may have just been created by `skiff token create`: one stat() tells.
    if (!record && await this.#refresh(0)) record = this.#byHash.get(hash);
    if (!record) return undefined;
    if (record.expiresAt && Date.parse(record.expiresAt) < Date.now()) return undefined;
    return { id: record.id, role: record.role, nodeName: record.nodeName };
  }

  /** Re-reads the file (after `skiff token` changed it from another process). */
  async reload(): Promise<void> {
    const { records, stamp } = await readTable(this.#path);
    this.#records = records;
    this.#stamp = stamp;
    this.#checkedAt = Date.now();
    this.#reindex();
  }

  /** Runs one change on freshly read records and writes them, one change at a time. */
  #change<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(async () => {
      await this.reload();
      const result = await fn();
      await this.#save();
      return result;
    });
    this.#writing = run.catch(() => {});
    return run;
  }

  /** Reloads when the file changed and it was last checked `minAgeMs` ago; true if reloaded. */
  async #refresh(minAgeMs: number): Promise<boolean> {
    if (Date.now() - this.#checkedAt < minAgeMs) return false;
    this.#checkedAt = Date.now();
    if (await fileStamp(this.#path) === this.#stamp) return false;
    await this.reload();
    return true;
  }

  async #newRecord(
    role: Role,
    options: CreateTokenOptions,
  ): Promise<{ token: string; record: TokenRecord }> {
    const id = options.id ?? encodeHex(crypto.getRandomValues(new Uint8Array(3)));
    if (this.#records.some((r) => r.id === id)) throw new Error(`token "${id}" already exists`);
    const token = `skiff.${id}.${randomSecret(24)}`;
    const record: TokenRecord = {
      id,
      hash: await sha256Hex(token),
      role,
      createdAt: new Date().toISOString(),
    };
    if (options.nodeName) record.nodeName = options.nodeName;
    if (options.description) record.description = options.description;
    if (options.ttlSeconds) {
      record.expiresAt = new Date(Date.now() + options.ttlSeconds * 1000).toISOString();
    }
    return { token, record };
  }

  #reindex(): void {
    this.#byHash.clear();
    for (const r of this.#records) this.#byHash.set(r.hash, r);
  }

  async #save(): Promise<void> {
    this.#reindex();
    const tmp = `${this.#path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(this.#records, null, 2) + "\n", { mode: 0o600 });
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, this.#path);
    this.#stamp = await fileStamp(this.#path);
    this.#checkedAt = Date.now();
  }
}

/** Modification time, size and inode: changes whenever another process replaces the file. */
async function fileStamp(path: string): Promise<string> {
  try {
    const st = await Deno.stat(path);
    return `${st.mtime?.getTime()}:${st.size}:${st.ino}`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "absent";
    throw e;
  }
}

async function readTable(path: string): Promise<{ records: TokenRecord[]; stamp: string }> {
  // The stamp is taken first: a change racing the read is then seen on the next check.
  const stamp = await fileStamp(path);
  try {
    return { records: JSON.parse(await Deno.readTextFile(path)), stamp };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { records: [], stamp };
    throw e;
  }
}
