/**
 * A TLS listener choosing its certificate by the client's SNI name, which `Deno.serve` and the
 * typed `Deno.listenTls` options do not offer (one `cert`/`key`). Deno 2's `Deno.listenTls`
 * takes a per-name key resolver under `Symbol.for("unstableSniResolver")` — the hook its node:tls
 * `SNICallback` is built on; the answer is cached per name for the listener's life. The fallback
 * certificate is passed as `cert`/`key` too, so a Deno without the hook still listens, serving
 * that one certificate to every name.
 */

/** A PEM certificate chain and key. */
export interface CertKey {
  cert: string;
  key: string;
}

const SNI_RESOLVER = Symbol.for("unstableSniResolver");

/**
 * Listens for TLS on `hostname:port` (HTTP/1.1 by ALPN), asking `resolve(serverName)` for each
 * new name's certificate (`""` when the client sent no SNI). Throws when the port cannot be bound.
 */
export function listenTlsSni(options: {
  hostname: string;
  port: number;
  fallback: CertKey;
  resolve: (serverName: string) => CertKey;
}): Deno.TlsListener {
  return Deno.listenTls(
    {
      hostname: options.hostname,
      port: options.port,
      alpnProtocols: ["http/1.1"],
      cert: options.fallback.cert,
      key: options.fallback.key,
      [SNI_RESOLVER]: (name: string) => options.resolve(name),
    } as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
  );
}
