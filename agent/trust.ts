/**
 * The agent's first contact with a server (CA from `/cacerts`, checked against the join token's
 * hash): the code lives in shared/ca_trust.ts, which a joining server uses too.
 */
export { fetchTrustedCa, ServerUnreachableError } from "../shared/ca_trust.ts";
