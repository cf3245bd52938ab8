/**
 * The namespaces every cluster has. The server creates any that is missing at each start, and
 * none of them can be deleted (kube-apiserver's NamespaceLifecycle admission refuses with 403).
 */

import { ForbiddenError } from "../../shared/errors.ts";

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
