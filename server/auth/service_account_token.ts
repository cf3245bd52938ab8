/**
 * ServiceAccount tokens: bound, expiring JWTs (ES256, WebCrypto) as kube-apiserver issues them
 * for TokenRequest. The P-256 signing key is generated once into `<data-dir>/service-account.jwk`
 * (mode 0600) and reused across restarts, so tokens survive a restart of the server; servers
 * sharing a datastore share it (server/ha/shared_trust.ts). A token's
 * claims follow Kubernetes': `iss` (https://kubernetes.default.svc.<cluster-domain>), `sub`
 * (`system:serviceaccount:<ns>:<sa>`), `aud`, `exp`, `iat`, `nbf`, `jti` and the private
 * `kubernetes.io` claim naming the namespace, the ServiceAccount and the bound pod with their uids.
 *
 * This module only signs and checks signatures and times; whether the ServiceAccount and the pod
 * still exist with the same uids is the authenticator's question (service_account_auth.ts).
 */

import { writeFileAtomic } from "../../shared/write_file_atomic.ts";

/** The signing key's file in the server's data dir. */
export const SERVICE_ACCOUNT_KEY_FILE = "service-account.jwk";

/** The private `kubernetes.io` claim. */
export interface KubernetesClaim {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  node?: { name: string; uid?: string };
}

/** The claims of a ServiceAccount token. */
export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  "kubernetes.io": KubernetesClaim;
}

/** What {@linkcode ServiceAccountTokenSigner.issue} needs. */
export interface IssueOptions {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  pod?: { name: string; uid: string; nodeName?: string };
  audiences: string[];
  expirationSeconds: number;
  /** Default: now. */
  now?: Date;
}

/** The issuer of a cluster: kube-apiserver's `--service-account-issuer` as kubeadm sets it. */
export function issuerFor(clusterDomain: string): string {
  return `https://kubernetes.default.svc.${clusterDomain}`;
}

/** The username of a ServiceAccount. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** True when a bearer token has the shape of a JWT (three base64url parts, a JSON header). */
export function looksLikeJwt(token: string): boolean {
  return token.startsWith("eyJ") && token.split(".").length === 3;
}

const ALG = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

/** The public signing key as the issuer's JWKS lists it (kube-apiserver's members). */
export interface PublicJwk {
  use: "sig";
  kty: "EC";
  kid: string;
  crv: "P-256";
  alg: "ES256";
  x: string;
  y: string;
}

/**
 * Generates the signing key into `keyPath` (mode 0600) unless a key is there already. Servers
 * sharing a datastore call it before publishing their trust, and load the signer after (a
 * joining server has the cluster's key in `keyPath` by then).
 */
export async function ensureServiceAccountKey(keyPath: string): Promise<void> {
  try {
    await Deno.stat(keyPath);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const pair = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  await writeFileAtomic(keyPath, JSON.stringify(jwk) + "\n", 0o600);
}

/** Signs and checks ServiceAccount tokens with the cluster's key. */
export class ServiceAccountTokenSigner {
  readonly issuer: string;
  readonly #privateKey: CryptoKey;
  readonly #publicKey: CryptoKey;
  readonly #publicJwk: PublicJwk;

  private constructor(o: {
    issuer: string;
    privateKey: CryptoKey;
    publicKey: CryptoKey;
    publicJwk: PublicJwk;
  }) {
    this.issuer = o.issuer;
    this.#privateKey = o.privateKey;
    this.#publicKey = o.publicKey;
    this.#publicJwk = o.publicJwk;
  }

  /** Loads the key from `keyPath`, generating and saving it (mode 0600) on first start. */
  static async open(keyPath: string, issuer: string): Promise<ServiceAccountTokenSigner> {
    await ensureServiceAccountKey(keyPath);
    const jwk: JsonWebKey = JSON.parse(await Deno.readTextFile(keyPath));
    const privateKey = await crypto.subtle.importKey("jwk", jwk, ALG, false, ["sign"]);
    const verifyJwk: JsonWebKey = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
    const publicKey = await crypto.subtle.importKey("jwk", verifyJwk, ALG, true, ["verify"]);
    // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
    const thumb = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    const kid = base64url(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(thumb))),
    );
    const publicJwk: PublicJwk = {
      use: "sig",
      kty: "EC",
      kid,
      crv: "P-256",
      alg: "ES256",
      x: jwk.x!,
      y: jwk.y!,
    };
    return new ServiceAccountTokenSigner({ issuer, privateKey, publicKey, publicJwk });
  }

  /** The public half of the signing key as a JWK (`kid` as in the tokens' headers). */
  get publicJwk(): PublicJwk {
    return { ...this.#publicJwk };
  }

  /** Issues a token; returns it with its expiry. */
  async issue(options: IssueOptions): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
    const exp = now + options.expirationSeconds;
    const k8s: KubernetesClaim = {
      namespace: options.namespace,
      serviceaccount: { ...options.serviceAccount },
    };
    if (options.pod) {
      k8s.pod = { name: options.pod.name, uid: options.pod.uid };
      if (options.pod.nodeName) k8s.node = { name: options.pod.nodeName };
    }
    const claims: ServiceAccountClaims = {
      aud: options.audiences,
      exp,
      iat: now,
      iss: this.issuer,
      jti: crypto.randomUUID(),
      "kubernetes.io": k8s,
      nbf: now,
      sub: serviceAccountUsername(options.namespace, options.serviceAccount.name),
    };
    const header = { alg: "ES256", kid: this.#publicJwk.kid, typ: "JWT" };
    const input = `${encodeJson(header)}.${encodeJson(claims)}`;
    const sig = await crypto.subtle.sign(SIGN, this.#privateKey, new TextEncoder().encode(input));
    return { token: `${input}.${base64url(new Uint8Array(sig))}`, expiresAt: new Date(exp * 1000) };
  }

  /**
   * The claims of a token this signer issued, checked for signature, issuer, audience (one of
   * `audiences`) and time; an Error saying why otherwise.
   */
  async verify(
    token: string,
    options: { audiences: string[]; now?: Date },
  ): Promise<ServiceAccountClaims | Error> {
    const parts = token.split(".");
    if (parts.length !== 3) return new Error("invalid token format");
    let header: { alg?: string; kid?: string };
    let claims: ServiceAccountClaims;
    try {
      header = JSON.parse(new TextDecoder().decode(fromBase64url(parts[0])));
      claims = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])));
    } catch {
      return new Error("invalid token format");
    }
    if (header.alg !== "ES256") return new Error("unexpected signing algorithm");
    const ok = await crypto.subtle.verify(
      SIGN,
      this.#publicKey,
      fromBase64url(parts[2]) as BufferSource,
      new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    );
    if (!ok) return new Error("invalid signature");
    if (claims.iss !== this.issuer) return new Error("token issued by another issuer");
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud as unknown as string];
    if (!aud.some((a) => options.audiences.includes(a))) {
      return new Error("token audiences is invalid");
    }
    const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
    if (typeof claims.exp !== "number" || now >= claims.exp) {
      return new Error("service account token has expired");
    }
    if (typeof claims.nbf === "number" && now < claims.nbf - 60) {
      return new Error("service account token is not valid yet");
    }
    if (!claims["kubernetes.io"]?.serviceaccount?.name || !claims["kubernetes.io"].namespace) {
      return new Error("service account token has no kubernetes.io claim");
    }
    return claims;
  }
}

function encodeJson(value: unknown): string {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
}

/** base64url without padding (RFC 7515). */
export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
