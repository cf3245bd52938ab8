/**
 * `POST /skiff/v1/join`: the one endpoint a join token may call. The body is
 * `{"nodeName": "...", "nodePassword": "..."}`; the answer is a `NodeCredentials` object (see
 * server/auth/node_join.ts) or a Status (401 without a valid token, 403 for a refused password).
 */
import type { Hono } from "hono";
import type { User } from "../auth/authorizer.ts";
import { joinNode, type NodeJoinDeps } from "../auth/node_join.ts";
import { readBody } from "./body.ts";
import { jsonResponse } from "./responses.ts";

/** The path agents post to. */
export const JOIN_PATH = "/skiff/v1/join";

/** Mounts the join endpoint on the (already authenticated) app. */
export function mountJoinRoute(app: Hono<{ Variables: { user: User } }>, deps: NodeJoinDeps): void {
  app.post(JOIN_PATH, async (c) => {
    const body = await readBody(c.req.raw);
    return jsonResponse(await joinNode(c.get("user"), body, deps), 200);
  });
}
