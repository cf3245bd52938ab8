/**
 * `POST /skiff/v1/members`: a server started with `--join` asks an existing server to add it to
 * the managed etcd cluster (as k3s's `/db/info` + member add). The caller authenticates with the
 * join token (or an admin token) and proves it knows the cluster secret (an HMAC of its name and
 * peer URL), so a node's join token alone cannot add members. The answer is the member list to
 * start with and the cluster's credentials as sealed in the datastore (only the secret opens them).
 * A join that would leave exactly two voting members is refused unless `force` (a two-member
 * cluster stops when either member stops; add the third right after).
 */
import type { Hono } from "hono";
import { z } from "zod";
import type { User } from "../auth/authorizer.ts";
import { readBody } from "../api/body.ts";
import { jsonResponse } from "../api/responses.ts";
import { ApiError, BadRequestError, ForbiddenError } from "../../shared/errors.ts";
import type { Backend } from "../store/backend.ts";
import { clusterProof } from "./cluster_crypto.ts";
import { type EtcdClient, type EtcdMember, listMembers, memberChange } from "./managed_etcd.ts";
import { TRUST_BUNDLE_KEY } from "./shared_trust.ts";

/** The path joining servers post to. */
export const MEMBERS_PATH = "/skiff/v1/members";

const MemberRequest = z.object({
  name: z.string().min(1),
  peerURL: z.string().url(),
  proof: z.string().regex(/^[0-9a-f]{64}$/),
  force: z.boolean().default(false),
});

/** The answer: whom to start with, and the sealed credentials. */
export interface MemberAnswer {
  members: { name: string; peerURL: string }[];
  bundle: string;
}

/** The message a joining server signs. */
export function memberProofMessage(name: string, peerURL: string): string {
  return `skiff-member:${name}:${peerURL}`;
}

/** Mounts the route (servers running managed etcd only). */
export function mountMemberRoute(
  app: Hono<{ Variables: { user: User } }>,
  deps: { etcd: EtcdClient; backend: Backend; clusterSecret: string },
): void {
  app.post(MEMBERS_PATH, async (c) => {
    const user = c.get("user");
    if (user.role !== "join" && user.role !== "admin") {
      throw new ForbiddenError({ resource: "members" }, `User "${user.name}" cannot add members`);
    }
    const parsed = MemberRequest.safeParse(await readBody(c.req.raw));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BadRequestError(
        `invalid member request: ${issue.path.join(".")}: ${issue.message}`,
      );
    }
    const req = parsed.data;
    const want = await clusterProof(deps.clusterSecret, memberProofMessage(req.name, req.peerURL));
    if (want !== req.proof) {
      throw new ForbiddenError(
        { resource: "members" },
        "the joining server's cluster secret differs from this cluster's",
      );
    }
    // Read before the member is added: with two members of which one has not started yet, etcd
    // has no quorum for reads until the new one is up.
    const bundle = await deps.backend.get(TRUST_BUNDLE_KEY);
    if (!bundle) {
      throw new ApiError(503, "ServiceUnavailable", "the cluster has no credentials yet");
    }
    let members = await listMembers(deps.etcd);
    const clash = members.find((m) => m.name === req.name && !m.peerURLs?.includes(req.peerURL));
    if (clash) {
      throw new ApiError(409, "AlreadyExists", `an etcd member named "${req.name}" already exists`);
    }
    // A member added before (a join that failed before its etcd started) is reused.
    if (!members.some((m) => m.peerURLs?.includes(req.peerURL))) {
      const voting = members.filter((m) => !m.isLearner).length;
      if (voting + 1 === 2 && !req.force) {
        throw new ApiError(
          409,
          "Conflict",
          "refusing a cluster of two etcd members (it stops when either stops): join with " +
            "--force and add a third server right after",
        );
      }
      const added = await memberChange<{ members?: EtcdMember[] }>(deps.etcd, "add", {
        peerURLs: [req.peerURL],
      });
      members = added.members ?? [];
    }
    const answer: MemberAnswer = {
      members: members.map((m: EtcdMember) => ({
        name: m.name || (m.peerURLs?.includes(req.peerURL) ? req.name : ""),
        peerURL: m.peerURLs?.[0] ?? "",
      })).filter((m) => m.name && m.peerURL),
      bundle: bundle.value,
    };
    return jsonResponse(answer, 200);
  });
}
