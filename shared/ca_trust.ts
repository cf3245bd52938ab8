/**
 * First contact with a server: a join token `K10<sha256>::<secret>` names the server's CA by its
 * hash, so the agent fetches `/cacerts` without verifying TLS (the only unverified request it ever
 * makes), checks the hash, and from then on verifies every connection against that CA.
 * `node:https` is imported only for that request: a joined node never loads Node's HTTP stack
 * (several MB of RSS on an idle agent).
 */
import { sha256Hex } from "./crypto_util.ts";
import { parseJoinToken } from "./join_token.ts";

/** The server did not answer (down, unreachable, timed out, 5xx): worth retrying. */
export class ServerUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerUnreachableError";
  }
}

/** Fetches the CA from `server` and checks it against the token's hash; throws when it differs. */
export async function fetchTrustedCa(server: string, token: string): Promise<string | undefined> {
  const join = parseJoinToken(token);
  const url = new URL(server);
  if (url.protocol !== "https:") return undefined;
  if (!join) {
    throw new Error(
      "the token does not carry the server's CA hash (K10<sha256>::...): use the server's join token",
    );
  }
  const pem = await insecureGet(url, "/cacerts");
  const hash = await sha256Hex(pem);
  if (hash !== join.caHash) {
    throw new Error(
      `the server's CA does not match the join token (got sha256 ${
        hash.slice(0, 12)
      }…, token names ${join.caHash.slice(0, 12)}…)`,
    );
  }
  return pem;
}

async function insecureGet(url: URL, path: string): Promise<string> {
  const { default: https } = await import("node:https");
  return await new Promise((resolve, reject) => {
    const req = https.get({
      host: url.hostname,
      port: url.port || 443,
      path,
      rejectUnauthorized: false,
      timeout: 10_000,
    }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => body += chunk);
      res.on("end", () => {
        if (res.statusCode === 200) resolve(body);
        else if ((res.statusCode ?? 0) >= 500) {
          reject(new ServerUnreachableError(`GET ${path} answered ${res.statusCode}`));
        } else reject(new Error(`GET ${path} answered ${res.statusCode}`));
      });
    });
    req.on("timeout", () => req.destroy(new ServerUnreachableError(`GET ${path} timed out`)));
    req.on("error", (e: Error) =>
      reject(
        e instanceof ServerUnreachableError
          ? e
          : new ServerUnreachableError(`cannot reach ${url.host}: ${e.message}`),
      ));
  });
}
