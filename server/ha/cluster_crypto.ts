/**
 * Encryption at rest for what servers share through the datastore (CA key, tokens): AES-256-GCM
 * on WebCrypto, the key derived from the cluster secret with PBKDF2-SHA256 (a fresh random salt
 * per sealed value, 100 000 iterations), so the datastore only ever holds
 * `{"v":1,"salt","iv","data"}` envelopes and a datastore dump without the secret reveals nothing.
 */

const ITERATIONS = 100_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The envelope stored in the datastore. */
interface Sealed {
  v: 1;
  salt: string;
  iv: string;
  data: string;
}

/** Seals and opens values with one cluster secret. */
export class ClusterCipher {
  readonly #secret: CryptoKey;
  /** Derived keys by salt (each salt is derived once per process). */
  readonly #keys = new Map<string, Promise<CryptoKey>>();

  private constructor(secret: CryptoKey) {
    this.#secret = secret;
  }

  /** A cipher for `secret` (the `--cluster-secret` text). */
  static async fromSecret(secret: string): Promise<ClusterCipher> {
    const material = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      "PBKDF2",
      false,
      ["deriveKey"],
    );
    return new ClusterCipher(material);
  }

  /** Encrypts `plain` into an envelope (JSON text). */
  async seal(plain: string): Promise<string> {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const key = await this.#key(salt.toBase64());
    const data = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, encoder.encode(plain)),
    );
    const sealed: Sealed = {
      v: 1,
      salt: salt.toBase64(),
      iv: iv.toBase64(),
      data: data.toBase64(),
    };
    return JSON.stringify(sealed);
  }

  /** Decrypts an envelope; throws when it was sealed with another secret or altered. */
  async open(text: string): Promise<string> {
    const sealed = JSON.parse(text) as Sealed;
    if (sealed.v !== 1) throw new Error(`Cannot open a sealed value of version ${sealed.v}`);
    const key = await this.#key(sealed.salt);
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: Uint8Array.fromBase64(sealed.iv) },
        key,
        Uint8Array.fromBase64(sealed.data),
      );
      return decoder.decode(plain);
    } catch {
      throw new Error(
        "Cannot decrypt the cluster's shared credentials: this server's cluster secret differs " +
          "from the one the cluster was started with",
      );
    }
  }

  #key(salt: string): Promise<CryptoKey> {
    let key = this.#keys.get(salt);
    if (!key) {
      key = crypto.subtle.deriveKey(
        {
          name: "PBKDF2",
          hash: "SHA-256",
          salt: Uint8Array.fromBase64(salt),
          iterations: ITERATIONS,
        },
        this.#secret,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
      this.#keys.set(salt, key);
    }
    return key;
  }
}

/**
 * Proof that the caller knows the cluster secret without sending it: HMAC-SHA256 of `message`
 * keyed with the secret, hex (a joining server signs its member name and peer URL).
 */
export async function clusterProof(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}
