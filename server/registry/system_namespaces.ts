/**
 * The server's namespace rules. Every namespace carries the immutable label
 * `kubernetes.io/metadata.name` with its name (kube-apiserver sets it on every create and update,
 * so NetworkPolicies and webhooks can select a namespace by name). The system namespaces exist in
 * every cluster: the server creates any that is missing at each start, and none of them can be
 * deleted (kube-apiserver's NamespaceLifecycle admission refuses with 403).
 */

import type { KubeObject } from "../../shared/api/object.ts";
import { ForbiddenError } from "../../shared/errors.ts";

/** The label kube-apiserver keeps equal to a namespace's name. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * Sets {@linkcode NAMESPACE_NAME_LABEL} to the namespace's name (whatever the request said, as
 * kube-apiserver's defaulting and Canonicalize do: the label cannot be changed or removed).
 */
export function labelWithName(ns: KubeObject): void {
  const name = ns.metadata.name;
  if (!name) return;
  ns.metadata.labels = { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: name };
}

/** `default`, `kube-system`, `kube-public` and `kube-node-lease`. */
export const SYSTEM_NAMESPACES: readonly string[] = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
];

/** The namespaces' `beforeDelete`: NamespaceLifecycle admission keeps the system ones. */
export function refuseSystemNamespaceDelete(name: string): void {
  if (SYSTEM_NAMESPACES.includes(name)) {
    throw new ForbiddenError({ resource: "namespaces", name }, "this namespace may not be deleted");
  }
}
