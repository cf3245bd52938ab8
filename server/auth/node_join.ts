/**
 * Joining a node, in k3s's model: a caller holding a join token presents the node's name and a
 * node password it generated. The first join of a name stores the password's SHA-256 in the
 * Secret `kube-system/<node>.node-password.skiff`; later joins of that name must present the same
 * password (a second machine claiming an existing name is refused with 403). Each successful join
 * issues the node a fresh `node` token (revoking its previous one) and tells it the SHA-256 of the
 * cluster's agent-client token, the only credential its agent API will accept.
 */
import { z } from "zod";
import type { KubeObject } from "../../shared/api/object.ts";
import { BadRequestError, ForbiddenError, isAlreadyExists } from "../../shared/errors.ts";
import type { GenericRegistry } from "../registry/generic_registry.ts";
import type { User } from "./authorizer.ts";
import { sha256Hex } from "../../shared/crypto_util.ts";
import type { TokenStore } from "./token_store.ts";

/** Namespace of the node-password Secrets. */
export const NODE_PASSWORD_NAMESPACE = "kube-system";

/** The Secret holding node `nodeName`'s password hash. */
export function nodePasswordSecretName(nodeName: string): string {
  return `${nodeName}.node-password.skiff`;
}

/** Body of `POST /skiff/v1/join`. */
export const JoinRequest = z.object({
  nodeName: z.string().min(1).max(253).regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be a DNS subdomain",
  ),
  nodePassword: z.string().min(16).max(256),
});
/** A parsed join request. */
export type JoinRequest = z.infer<typeof JoinRequest>;

/** Answer of a successful join. */
export interface JoinResponse {
  apiVersion: "skiff.io/v1";
  kind: "NodeCredentials";
  nodeName: string;
  /** The node's own bearer token (role `node`). */
  token: string;
  /** SHA-256 (hex) of the token the server presents to the node's agent API. */
  agentClientTokenSha256: string;
  /** The cluster's Service CIDR, for the node's service proxy. */
  serviceCidr?: string;
  /** The cluster CIDR node podCIDRs come from: pod-to-pod traffic is not masqueraded. */
  clusterCidr?: string;
}

/** What joining needs from the server. */
export interface NodeJoinDeps {
  tokens: TokenStore;
  /** The Secrets registry (writes in-process, bypassing authorization). */
  secrets: GenericRegistry;
  /** SHA-256 of the agent-client token. */
  agentClientTokenSha256: string;
  /** Handed to joining nodes so that their proxies know which addresses are ClusterIPs. */
  serviceCidr?: string;
  /** Handed to joining nodes so that they masquerade only traffic leaving the pod network. */
  clusterCidr?: string;
}

/** Joins (or re-joins) a node; throws ForbiddenError / BadRequestError. */
export async function joinNode(
  user: User,
  body: unknown,
  deps: NodeJoinDeps,
): Promise<JoinResponse> {
  if (user.role !== "join" && user.role !== "admin") {
    throw new ForbiddenError(
      { resource: "nodes", group: "" },
      `User "${user.name}" cannot join nodes: only join tokens (skiff token create) can`,
    );
  }
  const parsed = JoinRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(`invalid join request: ${issue.path.join(".")}: ${issue.message}`);
  }
  const { nodeName, nodePassword } = parsed.data;
  await checkNodePassword(nodeName, await sha256Hex(nodePassword), deps.secrets);
  const { token } = await deps.tokens.issueNodeToken(nodeName);
  return {
    apiVersion: "skiff.io/v1",
    kind: "NodeCredentials",
    nodeName,
    token,
    agentClientTokenSha256: deps.agentClientTokenSha256,
    ...(deps.serviceCidr ? { serviceCidr: deps.serviceCidr } : {}),
    ...(deps.clusterCidr ? { clusterCidr: deps.clusterCidr } : {}),
  };
}

/** Stores the hash for a new node name, or checks it against the stored one. */
async function checkNodePassword(
  nodeName: string,
  hash: string,
  secrets: GenericRegistry,
): Promise<void> {
  const name = nodePasswordSecretName(nodeName);
  for (let attempt = 0; attempt < 2; attempt++) {
    const existing = secrets.store.find(NODE_PASSWORD_NAMESPACE, name) as
      | (KubeObject & { data?: Record<string, string> })
      | undefined;
    if (existing) {
      const stored = existing.data?.hash ? atob(existing.data.hash) : "";
      if (!constantTimeEqual(stored, hash)) {
        throw new ForbiddenError(
          { resource: "nodes", group: "", name: nodeName },
          `Node password rejected: a node named "${nodeName}" already joined with other ` +
            `credentials (to give the name to a new machine: kubectl delete node ${nodeName}, ` +
            `or delete the Secret ${NODE_PASSWORD_NAMESPACE}/${name} if no Node has that name)`,
        );
      }
      return;
    }
    try {
      await secrets.create(NODE_PASSWORD_NAMESPACE, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name,
          namespace: NODE_PASSWORD_NAMESPACE,
          labels: { "skiff.io/node-password": "true" },
        },
        type: "Opaque",
        data: { hash: btoa(hash) },
      });
      return;
    } catch (e) {
      // Two machines joining under one name at once: the loser compares with the winner's hash.
      if (!isAlreadyExists(e)) throw e;
    }
  }
  throw new Error(`cannot store the node password of ${nodeName}`);
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
