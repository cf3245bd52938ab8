/**
 * Feeds the node's {@linkcode IngressServer}: from the Ingresses Skiff serves (class `skiff`, or
 * no class while the default class is Skiff's), their Services' ready endpoints and the TLS
 * Secrets they name, it builds the routing state each sync. Secrets are never listed or watched:
 * each named `kubernetes.io/tls` Secret is fetched by name (the node restriction lets a node get
 * exactly those) and fetched again every `secretRefreshMs` so a renewed certificate is picked up.
 */

import type { Endpoints, Secret, Service } from "../shared/api/core_v1.ts";
import { type Ingress, type IngressClass, servedBySkiff } from "../shared/api/networking_v1.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { SECRETS } from "../shared/client/refs.ts";
import { isNotFound } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { buildIngressRoutes } from "./ingress_rules.ts";
import type { CertKey } from "./sni_server.ts";
import type { IngressCerts, IngressState } from "./ingress_server.ts";
import { backendKey, RoundRobin } from "./round_robin.ts";
import { backendsFor } from "./service_table.ts";

const MISS_RETRY_MS = 2_000;

interface CachedSecret {
  fetchedAt: number;
  resourceVersion: string;
  cert?: CertKey;
}

/** Options of {@linkcode IngressSync}. */
export interface IngressSyncOptions {
  client: ApiClient;
  logger: Logger;
  /** How long a fetched TLS Secret is trusted before it is fetched again. */
  secretRefreshMs: number;
  now?: () => number;
}

/** Builds {@linkcode IngressState} from the informers' caches. */
export class IngressSync {
  readonly #o: IngressSyncOptions;
  /** `namespace/service/port` → rotation, kept across syncs so the turn carries on. */
  #rotations = new Map<string, RoundRobin>();
  readonly #secrets = new Map<string, CachedSecret>();

  constructor(options: IngressSyncOptions) {
    this.#o = options;
  }

  /** The Ingresses this node serves. */
  served(ingresses: readonly Ingress[], classes: readonly IngressClass[]): Ingress[] {
    return ingresses.filter((i) => servedBySkiff(i, classes));
  }

  /** The routing state for the served Ingresses; fetches TLS Secrets that are due. */
  async state(
    served: readonly Ingress[],
    lookups: {
      service: (namespace: string, name: string) => Service | undefined;
      endpoints: (namespace: string, name: string) => Endpoints | undefined;
    },
  ): Promise<IngressState> {
    const routes = buildIngressRoutes(served);
    const rotations = new Map<string, RoundRobin>();
    const refs = [
      ...[...routes.hosts.values(), ...routes.wildcards.values(), routes.anyHost].flat()
        .map((p) => p.backend),
      ...(routes.defaultBackend ? [routes.defaultBackend] : []),
    ];
    for (const ref of refs) {
      const key = ref.key;
      if (rotations.has(key)) continue;
      const svc = lookups.service(ref.namespace, ref.service);
      if (!svc || svc.spec?.type === "ExternalName") continue;
      const port = (svc.spec?.ports ?? []).find((p) =>
        ref.port.name !== undefined ? p.name === ref.port.name : p.port === ref.port.number
      );
      if (!port || (port.protocol ?? "TCP") !== "TCP") continue;
      const rr = this.#rotations.get(key) ?? new RoundRobin();
      rr.set(backendsFor(port, lookups.endpoints(ref.namespace, ref.service)));
      rotations.set(key, rr);
    }
    this.#rotations = rotations;
    const certs = await this.#certs(served);
    const endpoints = new Set(
      [...rotations.values()].flatMap((rr) => rr.backends.map((b) => backendKey(b))),
    );
    return { routes, backends: (ref) => rotations.get(ref.key), certs, endpoints };
  }

  /** When the next Secret refresh is due (ms from now), or undefined without TLS. */
  nextRefreshMs(): number | undefined {
    if (this.#secrets.size === 0) return undefined;
    const now = this.#o.now?.() ?? Date.now();
    const oldest = Math.min(...[...this.#secrets.values()].map((s) => s.fetchedAt));
    return Math.max(0, oldest + this.#o.secretRefreshMs - now);
  }

  async #certs(served: readonly Ingress[]): Promise<IngressCerts> {
    const out: IngressCerts = { hosts: new Map(), wildcards: new Map(), version: "" };
    const wanted = new Set<string>();
    const versions: string[] = [];
    // Oldest Ingress first: on a host claimed twice, the older Ingress's certificate wins.
    const ordered = [...served].sort((a, b) =>
      (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "")
    );
    for (const ing of ordered) {
      const namespace = ing.metadata.namespace ?? "default";
      for (const tls of ing.spec?.tls ?? []) {
        if (!tls.secretName) continue;
        const key = `${namespace}/${tls.secretName}`;
        wanted.add(key);
        const cached = await this.#secret(namespace, tls.secretName);
        if (!cached?.cert) continue;
        versions.push(`${key}@${cached.resourceVersion}`);
        out.fallback ??= cached.cert;
        for (const h of tls.hosts ?? []) {
          const host = h.toLowerCase();
          const map = host.startsWith("*.") ? out.wildcards : out.hosts;
          const k = host.startsWith("*.") ? host.slice(1) : host;
          if (!map.has(k)) map.set(k, cached.cert);
        }
      }
    }
    for (const key of [...this.#secrets.keys()]) if (!wanted.has(key)) this.#secrets.delete(key);
    out.version = versions.join(",");
    return out;
  }

  async #secret(namespace: string, name: string): Promise<CachedSecret | undefined> {
    const key = `${namespace}/${name}`;
    const now = this.#o.now?.() ?? Date.now();
    const cached = this.#secrets.get(key);
    if (cached && now - cached.fetchedAt < this.#o.secretRefreshMs) return cached;
    try {
      const s = await this.#o.client.get<Secret>(SECRETS, name, { namespace });
      const entry: CachedSecret = {
        fetchedAt: now,
        resourceVersion: s.metadata.resourceVersion ?? "",
        cert: tlsPair(s),
      };
      if (!entry.cert) {
        this.#o.logger.warn("ingress TLS secret has no tls.crt/tls.key", { secret: key });
      }
      this.#secrets.set(key, entry);
      return entry;
    } catch (e) {
      // Missing or not readable yet (the node restriction checks the Ingress names it): serve
      // without it and look again at the next refresh.
      if (!isNotFound(e)) {
        this.#o.logger.warn("cannot read ingress TLS secret", { secret: key, error: e });
      }
      // A miss is retried after a few seconds, not after the full refresh period.
      const fetchedAt = now - this.#o.secretRefreshMs + MISS_RETRY_MS;
      const entry: CachedSecret = { fetchedAt, resourceVersion: "", cert: undefined };
      this.#secrets.set(key, entry);
      return entry;
    }
  }
}

function tlsPair(s: Secret): CertKey | undefined {
  const data = s.data ?? {};
  const crt = data["tls.crt"];
  const key = data["tls.key"];
  if (!crt || !key) return undefined;
  const decode = (b64: string) =>
    new TextDecoder().decode(
      Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
    );
  return { cert: decode(crt), key: decode(key) };
}
