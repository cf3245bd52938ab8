/**
 * Bearer tokens and what they may do, kept in `<data-dir>/tokens.json` (mode 0600) as SHA-256
 * hashes only: the admin token, join tokens for new nodes, and user tokens with a role. A token
 * reads `skiff.<id>.<secret>`; `<id>` names it in listings and revocation.
 */
import { encodeHex, randomSecret, sha256Hex } from "./crypto_util.ts";

/** What a token lets its holder do. */
export type Role = "admin" | "edit" | "view" | "join" | "node";

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

/** Persistent token table; see the module comment. */
export class TokenStore {
  readonly #path: string;
  #records: TokenRecord[];
  readonly #byHash = new Map<string, TokenRecord>();

  private constructor(path: string, records: TokenRecord[]) {
    this.#path = path;
    this.#records = records;
    this.#reindex();
  }

  /** Opens (or starts empty) the table at `path`. */
  static async open(path: string): Promise<TokenStore> {
    let records: TokenRecord[] = [];
    try {
      records = JSON.parse(await Deno.readTextFile(path));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return new TokenStore(path, records);
  }

  /** Every token record, newest last. */
  list(): TokenRecord[] {
    return [...this.#records];
  }

  /** Creates a token and returns its secret text (shown once). */
  async create(
    role: Role,
    options: { nodeName?: string; description?: string; ttlSeconds?: number; id?: string } = {},
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
    this.#records.push(record);
    await this.#save();
    return { token, record };
  }

  /** Removes a token by id; false when there is none. */
  async revoke(id: string): Promise<boolean> {
    const before = this.#records.length;
    this.#records = this.#records.filter((r) => r.id !== id);
    if (this.#records.length === before) return false;
    await this.#save();
    return true;
  }

  /** The identity behind a presented token, or undefined (unknown, revoked or expired). */
  async authenticate(token: string): Promise<TokenIdentity | undefined> {
    const record = this.#byHash.get(await sha256Hex(token));
    if (!record) return undefined;
    if (record.expiresAt && Date.parse(record.expiresAt) < Date.now()) return undefined;
    return { id: record.id, role: record.role, nodeName: record.nodeName };
  }

  /** Re-reads the file (after `skiff token` changed it from another process). */
  async reload(): Promise<void> {
    try {
      this.#records = JSON.parse(await Deno.readTextFile(this.#path));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      this.#records = [];
    }
    this.#reindex();
  }

  #reindex(): void {
    this.#byHash.clear();
    for (const r of this.#records) this.#byHash.set(r.hash, r);
  }

  async #save(): Promise<void> {
    this.#reindex();
    const tmp = `${this.#path}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(this.#records, null, 2) + "\n", { mode: 0o600 });
    await Deno.rename(tmp, this.#path);
  }
}
