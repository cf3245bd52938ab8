/**
 * What a relying party does with a ServiceAccount token and the issuer's JWKS, written apart from
 * the signer so tests check the served key independently: read the token's header (its `kid`) and
 * verify its ES256 signature with a public JWK. Import only from tests.
 */

/** The public members of an EC JWK as a JWKS lists them. */
export interface EcPublicJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
}

function bytes(part: string): Uint8Array<ArrayBuffer> {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0));
}

/** The decoded header of a JWT (`alg`, `kid`, `typ`). */
export function jwtHeader(token: string): { alg?: string; kid?: string; typ?: string } {
  return JSON.parse(new TextDecoder().decode(bytes(token.split(".")[0])));
}

/** Whether `jwk` verifies the ES256 signature of `token`. */
export async function verifiesWithJwk(token: string, jwk: EcPublicJwk): Promise<boolean> {
  const [header, payload, signature] = token.split(".");
  const key = await crypto.subtle.importKey(
    "jwk",
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  return await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    bytes(signature),
    new TextEncoder().encode(`${header}.${payload}`),
  );
}
