/**
 * The kubelet's token manager: ServiceAccount tokens for pods' `serviceAccountToken`
 * projections, requested from the API (TokenRequest bound to the pod) and kept per pod,
 * audience and lifetime. A token is requested again once 80% of its lifetime has passed or it
 * is older than 24 hours, as the kubelet does; the volume refresh then writes the new one.
 */
import type { Pod } from "./pod_types.ts";

/** Asks the API for a token (`POST …/serviceaccounts/NAME/token`). */
export type TokenRequester = (
  namespace: string,
  serviceAccount: string,
  request: Record<string, unknown>,
) => Promise<{ token: string; expirationTimestamp: string }>;

interface CachedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

const MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Tokens of the pods on this node; see the module comment. */
export class ServiceAccountTokens {
  readonly #request: TokenRequester;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedToken>();

  constructor(request: TokenRequester, options: { now?: () => number } = {}) {
    this.#request = request;
    this.#now = options.now ?? Date.now;
  }

  /** A valid token of `pod`'s ServiceAccount for `audience`, requested when due. */
  async token(
    pod: Pod,
    source: { audience?: string; expirationSeconds?: number },
  ): Promise<string> {
    const seconds = source.expirationSeconds ?? 3600;
    const key = `${pod.metadata.uid}\0${source.audience ?? ""}\0${seconds}`;
    const cached = this.#cache.get(key);
    const now = this.#now();
    if (cached && !this.#due(cached, now)) return cached.token;
    const sa = pod.spec.serviceAccountName || "default";
    const answer = await this.#request(pod.metadata.namespace, sa, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: source.audience ? [source.audience] : [],
        expirationSeconds: seconds,
        boundObjectRef: {
          apiVersion: "v1",
          kind: "Pod",
          name: pod.metadata.name,
          uid: pod.metadata.uid,
        },
      },
    });
    this.#cache.set(key, {
      token: answer.token,
      issuedAt: now,
      expiresAt: Date.parse(answer.expirationTimestamp),
    });
    return answer.token;
  }

  /** Whether a token must be requested again: 80% of its lifetime or 24 h have passed. */
  #due(t: CachedToken, now: number): boolean {
    const ttl = t.expiresAt - t.issuedAt;
    return now - t.issuedAt > 0.8 * ttl || now - t.issuedAt > MAX_AGE_MS;
  }

  /** Drops a pod's tokens. */
  forget(uid: string): void {
    for (const key of this.#cache.keys()) {
      if (key.startsWith(`${uid}\0`)) this.#cache.delete(key);
    }
  }
}
