/**
 * Join tokens in k3s's shape: `K10<sha256 of the CA PEM>::<secret>`. The hash lets a new agent
 * trust the server's certificate on first contact: it fetches `/cacerts` without verification,
 * checks the hash, and from then on verifies TLS against that CA.
 */

/** A parsed join token. */
export interface JoinToken {
  caHash: string;
  secret: string;
}

/** `K10<caHash>::<secret>`. */
export function formatJoinToken(caHash: string, secret: string): string {
  return `K10${caHash}::${secret}`;
}

/** Parses a join token, or returns undefined when the text is not one (a plain token). */
export function parseJoinToken(text: string): JoinToken | undefined {
  const m = /^K10([0-9a-f]{64})::(.+)$/.exec(text.trim());
  return m ? { caHash: m[1], secret: m[2] } : undefined;
}
