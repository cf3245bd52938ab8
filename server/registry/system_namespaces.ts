/**
 * The namespaces every cluster has. The server creates any that is missing at each start, and
 * none of them can be deleted (kube-apiserver's NamespaceLifecycle admission refuses with 403).
 */

/** `default`, `kube-system`, `kube-public` and `kube-node-lease`. */
export const SYSTEM_NAMESPACES: readonly string[] = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
];

/** True for a namespace that may not be deleted. */
export function isSystemNamespace(name: string): boolean {
  return SYSTEM_NAMESPACES.includes(name);
}
