/**
 * Tells a failure to reach the API server (no HTTP answer at all, or a 5xx from a server that is
 * starting or overloaded) from the server's own answer (404, 409, 403…): the agent keeps running
 * from its local state on the first kind, and acts on the second.
 */
import { ApiError } from "../shared/errors.ts";

/** True for a failure to reach the server (no HTTP answer, or a 5xx), not a refusal. */
export function isUnreachable(e: unknown): boolean {
  return !(e instanceof ApiError) || e.code >= 500;
}
