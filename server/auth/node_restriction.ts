/**
 * Kubernetes' NodeRestriction for a joined node's credentials (`system:node:<name>`): a node may
 * - read every Node, create its own and update/patch its own (and its status);
 * - get/create/update/patch/delete its own Lease in `kube-node-lease`;
 * - list/watch pods (all of them: the peers of its pods' NetworkPolicies may run anywhere, as
 *   k3s's agent-side policy controller reads them all), and get, delete and write the status of
 *   pods bound to it (a pod that does not exist is let through so the request answers 404, which
 *   the agent's final grace-0 delete expects);
 * - get the ConfigMaps and Secrets that pods bound to it reference (volumes, projected sources,
 *   env, envFrom, imagePullSecrets), looked up in the server's pod cache;
 * - get the PersistentVolumeClaims that pods bound to it use, and the PersistentVolumes bound to
 *   those claims or provisioned on it (label `storage.skiff.io/node=<itself>`); list/watch only
 *   the latter (with exactly that label selector) and update them, to release the local-path
 *   cleanup finalizer once their directory is gone;
 * - request tokens (`serviceaccounts/<sa>/token`) only for a ServiceAccount that a pod bound to
 *   it runs as, and only bound to such a pod (the request body's `boundObjectRef`);
 * - create/update/patch events;
 * - read Services, Endpoints and EndpointSlices (its service proxy), and Namespaces;
 * - read NetworkPolicies (its pods' firewall);
 * - read Ingresses and IngressClasses (its ingress), and get a Secret only when it is of type
 *   `kubernetes.io/tls` and an Ingress in its namespace names it in `spec.tls[].secretName` —
 *   never list or watch Secrets, so a node learns only the certificates it serves.
 * Anything else is refused by the caller with a 403.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { LOCAL_PATH_NODE_LABEL } from "../../shared/local_path.ts";
import { readBody } from "../api/body.ts";
import type { RequestAttributes } from "./authorizer.ts";

/** The server-side lookups NodeRestriction needs (the pod watch cache). */
export interface NodeRestrictionDeps {
  /** The stored pod, or undefined. */
  findPod(namespace: string, name: string): KubeObject | undefined;
  /** Pods in `namespace` bound to `nodeName`. */
  podsOnNode(namespace: string, nodeName: string): KubeObject[];
  /** The stored PersistentVolume, or undefined. */
  findVolume?(name: string): KubeObject | undefined;
  /** The stored PersistentVolumeClaim, or undefined. */
  findClaim?(namespace: string, name: string): KubeObject | undefined;
  /** The stored Secret, or undefined (its type decides whether an Ingress may expose it). */
  findSecret?(namespace: string, name: string): KubeObject | undefined;
  /** The Ingresses of a namespace. */
  ingressesIn?(namespace: string): KubeObject[];
}

const READ = new Set(["get", "list", "watch"]);
const PROXY_READABLE = new Set(["services", "endpoints", "endpointslices", "namespaces"]);
const INGRESS_READABLE = new Set(["ingresses", "ingressclasses"]);
const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** Whether node `nodeName` may make the request described by `attrs`. */
export async function nodeMayAccess(
  nodeName: string,
  attrs: RequestAttributes,
  deps: NodeRestrictionDeps,
): Promise<boolean> {
  const { verb, ri } = attrs;
  const core = ri.group === "";
  switch (`${ri.group}/${ri.resource}`) {
    case "/nodes":
      if (READ.has(verb) && !ri.subresource) return true;
      if (verb === "create" && !ri.subresource) return await bodyName(attrs) === nodeName;
      return (verb === "update" || verb === "patch") && ri.name === nodeName &&
        (!ri.subresource || ri.subresource === "status");
    case "coordination.k8s.io/leases":
      if (ri.namespace !== NODE_LEASE_NAMESPACE || ri.subresource) return false;
      if (verb === "create") return await bodyName(attrs) === nodeName;
      return ri.name === nodeName && ["get", "update", "patch", "delete"].includes(verb);
    case "/pods":
      return podAllowed(nodeName, attrs, deps);
    case "/configmaps":
    case "/secrets":
      if (verb !== "get" || !ri.namespace || !ri.name || ri.subresource) return false;
      if (ri.resource === "secrets" && ingressTlsSecret(ri.namespace, ri.name, deps)) return true;
      return deps.podsOnNode(ri.namespace, nodeName).some((pod) =>
        referencedNames(pod, ri.resource === "secrets" ? "secret" : "configMap").has(ri.name!)
      );
    case "networking.k8s.io/networkpolicies":
      return READ.has(verb) && !ri.subresource;
    case "networking.k8s.io/ingresses":
    case "networking.k8s.io/ingressclasses":
      return INGRESS_READABLE.has(ri.resource) && READ.has(verb) && !ri.subresource;
    case "/persistentvolumeclaims":
      if (verb !== "get" || !ri.namespace || !ri.name || ri.subresource) return false;
      return claimUsedOnNode(ri.namespace, ri.name, nodeName, deps);
    case "/persistentvolumes":
      return volumeAllowed(nodeName, attrs, deps);
    case "/serviceaccounts":
      return await tokenRequestAllowed(nodeName, attrs, deps);
    case "/events":
    case "events.k8s.io/events":
      return ["create", "update", "patch"].includes(verb);
    case "discovery.k8s.io/endpointslices":
      return READ.has(verb);
    default:
      return core && PROXY_READABLE.has(ri.resource) && READ.has(verb) && !ri.subresource;
  }
}

/** Whether a TLS Secret is named by an Ingress of its namespace (the proxy serves its cert). */
function ingressTlsSecret(namespace: string, name: string, deps: NodeRestrictionDeps): boolean {
  const secret = deps.findSecret?.(namespace, name) as { type?: string } | undefined;
  if (secret?.type !== "kubernetes.io/tls") return false;
  return (deps.ingressesIn?.(namespace) ?? []).some((ing) =>
    ((ing as { spec?: { tls?: { secretName?: string }[] } }).spec?.tls ?? [])
      .some((t) => t.secretName === name)
  );
}

function podAllowed(nodeName: string, attrs: RequestAttributes, deps: NodeRestrictionDeps) {
  const { verb, ri } = attrs;
  if (verb === "list" || verb === "watch") return !ri.subresource;
  if (!ri.namespace || !ri.name) return false;
  const allowedVerb = ri.subresource === "status"
    ? ["get", "update", "patch"].includes(verb)
    : !ri.subresource && (verb === "get" || verb === "delete");
  if (!allowedVerb) return false;
  const pod = deps.findPod(ri.namespace, ri.name);
  // An absent pod: let the request through so that it answers 404 (nothing to leak or change).
  if (!pod) return true;
  return (pod as { spec?: { nodeName?: string } }).spec?.nodeName === nodeName;
}

function claimUsedOnNode(
  namespace: string,
  name: string,
  nodeName: string,
  deps: NodeRestrictionDeps,
): boolean {
  return deps.podsOnNode(namespace, nodeName).some((pod) =>
    ((pod as PodRefs).spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name)
  );
}

function volumeAllowed(nodeName: string, attrs: RequestAttributes, deps: NodeRestrictionDeps) {
  const { verb, ri } = attrs;
  if (ri.subresource) return false;
  if (verb === "list" || verb === "watch") {
    const text = new URL(attrs.request.url).searchParams.get("labelSelector") ?? "";
    return text === `${LOCAL_PATH_NODE_LABEL}=${nodeName}`;
  }
  if (!ri.name || !["get", "update", "patch"].includes(verb)) return false;
  const pv = deps.findVolume?.(ri.name);
  // An absent volume: let the request through so that it answers 404.
  if (!pv) return verb === "get";
  if (pv.metadata.labels?.[LOCAL_PATH_NODE_LABEL] === nodeName) return true;
  if (verb !== "get") return false;
  const ref = pv.spec?.claimRef;
  if (!ref?.namespace || !ref.name) return false;
  const claim = deps.findClaim?.(ref.namespace, ref.name);
  return claim?.spec?.volumeName === ri.name &&
    claimUsedOnNode(ref.namespace, ref.name, nodeName, deps);
}

/**
 * Kubernetes' NodeRestriction for TokenRequests: a node may only ask for a token of the
 * ServiceAccount of a pod bound to it, bound to that very pod (name and uid).
 */
async function tokenRequestAllowed(
  nodeName: string,
  attrs: RequestAttributes,
  deps: NodeRestrictionDeps,
): Promise<boolean> {
  const { verb, ri } = attrs;
  if (verb !== "create" || ri.subresource !== "token" || !ri.namespace || !ri.name) return false;
  let ref: { kind?: string; name?: string; uid?: string } | undefined;
  try {
    const body = await readBody(attrs.request.clone()) as {
      spec?: { boundObjectRef?: { kind?: string; name?: string; uid?: string } };
    };
    ref = body?.spec?.boundObjectRef;
  } catch {
    return false;
  }
  if (ref?.kind !== "Pod" || !ref.name) return false;
  const pod = deps.findPod(ri.namespace, ref.name) as
    | { metadata: { uid?: string }; spec?: { nodeName?: string; serviceAccountName?: string } }
    | undefined;
  if (!pod || pod.spec?.nodeName !== nodeName) return false;
  if (ref.uid && ref.uid !== pod.metadata.uid) return false;
  return (pod.spec?.serviceAccountName || "default") === ri.name;
}

async function bodyName(attrs: RequestAttributes): Promise<string | undefined> {
  try {
    const body = await readBody(attrs.request.clone()) as KubeObject;
    return body?.metadata?.name;
  } catch {
    return undefined;
  }
}

interface NameRef {
  name?: string;
}
interface PodContainerRefs {
  env?: { valueFrom?: { secretKeyRef?: NameRef; configMapKeyRef?: NameRef } }[];
  envFrom?: { secretRef?: NameRef; configMapRef?: NameRef }[];
}
interface PodRefs {
  spec?: {
    containers?: PodContainerRefs[];
    initContainers?: PodContainerRefs[];
    ephemeralContainers?: PodContainerRefs[];
    imagePullSecrets?: NameRef[];
    volumes?: {
      secret?: { secretName?: string };
      configMap?: NameRef;
      projected?: { sources?: { secret?: NameRef; configMap?: NameRef }[] };
      persistentVolumeClaim?: { claimName?: string };
    }[];
  };
}

/** The names of the Secrets or ConfigMaps a pod uses. */
export function referencedNames(pod: KubeObject, kind: "secret" | "configMap"): Set<string> {
  const spec = (pod as PodRefs).spec ?? {};
  const names = new Set<string>();
  const add = (n: string | undefined) => n && names.add(n);
  const containers = [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      add(kind === "secret" ? e.valueFrom?.secretKeyRef?.name : e.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add(kind === "secret" ? e.secretRef?.name : e.configMapRef?.name);
    }
  }
  for (const v of spec.volumes ?? []) {
    add(kind === "secret" ? v.secret?.secretName : v.configMap?.name);
    for (const s of v.projected?.sources ?? []) {
      add(kind === "secret" ? s.secret?.name : s.configMap?.name);
    }
  }
  if (kind === "secret") { for (const s of spec.imagePullSecrets ?? []) add(s.name); }
  return names;
}
