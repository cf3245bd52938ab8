/**
 * Kubernetes' ServiceAccount admission plugin, on pod create:
 * - `serviceAccountName` defaults to `default` (and the deprecated `serviceAccount` follows it);
 * - a pod naming a ServiceAccount that does not exist is refused with Kubernetes' 403
 *   (`error looking up service account NS/NAME: serviceaccount "NAME" not found`);
 * - unless `automountServiceAccountToken: false` (on the pod, else on the ServiceAccount), the pod
 *   gets the projected volume `kube-api-access-<5 random>` — a ServiceAccount token (3607 s, as
 *   the kubelet asks), `ca.crt` from the `kube-root-ca.crt` ConfigMap and the namespace from the
 *   downward API — mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every
 *   container and init container that mounts nothing there already (a pod that has a
 *   `kube-api-access-*` volume already gets that one mounted, as Kubernetes does);
 * - a pod without `imagePullSecrets` gets its ServiceAccount's.
 *
 * The `default` ServiceAccount of a namespace created a moment ago may not exist yet (its
 * controller creates it right after the namespace): the plugin waits for it a few seconds before
 * refusing, where Kubernetes leaves the retry to the client.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { ForbiddenError } from "../../shared/errors.ts";

/** Where the service-account volume is mounted. */
export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The prefix of the service-account volume's name. */
export const SERVICE_ACCOUNT_VOLUME_PREFIX = "kube-api-access-";
/** The token lifetime the kubelet asks for (an hour and 7 s, so that its use can be told apart). */
export const KUBELET_TOKEN_SECONDS = 3607;

/** What the plugin looks up. */
export interface ServiceAccountAdmissionDeps {
  findServiceAccount(namespace: string, name: string): KubeObject | undefined;
  /** How long to wait for a missing `default` ServiceAccount (default 5000 ms). */
  defaultWaitMs?: number;
}

// Kubernetes' utilrand alphabet: no vowels (no words) and no easily confused characters.
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

function randomSuffix(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => ALPHANUMS[b % ALPHANUMS.length]).join("");
}

/** The projected volume Kubernetes adds for a pod's ServiceAccount token. */
export function serviceAccountVolume(name: string): Record<string, unknown> {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: KUBELET_TOKEN_SECONDS, path: "token" } },
        {
          configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] },
        },
        {
          downwardAPI: {
            items: [{
              path: "namespace",
              fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
            }],
          },
        },
      ],
    },
  };
}

interface PodShape {
  metadata: { namespace?: string; name?: string };
  spec: {
    serviceAccountName?: string;
    serviceAccount?: string;
    automountServiceAccountToken?: boolean;
    imagePullSecrets?: { name?: string }[];
    volumes?: Record<string, unknown>[];
    containers?: { volumeMounts?: { mountPath: string }[] }[];
    initContainers?: { volumeMounts?: { mountPath: string }[] }[];
  };
}

/**
 * Builds the mutating hook run on every new pod. `requestedName` is the pod's name as its
 * request gave it (the generateName of a controller's pod), which a refusal names.
 */
export function serviceAccountAdmission(
  deps: ServiceAccountAdmissionDeps,
): (pod: KubeObject, requestedName?: string) => Promise<void> {
  const waitFor = async (ns: string, name: string) => {
    let sa = deps.findServiceAccount(ns, name);
    const deadline = Date.now() + (deps.defaultWaitMs ?? 5000);
    while (!sa && name === "default" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      sa = deps.findServiceAccount(ns, name);
    }
    return sa;
  };
  return async (obj, requestedName) => {
    const pod = obj as unknown as PodShape;
    const ns = pod.metadata.namespace ?? "default";
    const spec = pod.spec;
    const name = spec.serviceAccountName || spec.serviceAccount || "default";
    spec.serviceAccountName = name;
    spec.serviceAccount = name;
    const sa = await waitFor(ns, name);
    if (!sa) {
      throw new ForbiddenError(
        { resource: "pods", name: requestedName ?? pod.metadata.name },
        `error looking up service account ${ns}/${name}: serviceaccount ${
          JSON.stringify(name)
        } not found`,
      );
    }
    const saPullSecrets = (sa as { imagePullSecrets?: { name?: string }[] }).imagePullSecrets;
    if (!spec.imagePullSecrets?.length && saPullSecrets?.length) {
      spec.imagePullSecrets = saPullSecrets.map((r) => ({ name: r.name ?? "" }));
    }
    const automount = spec.automountServiceAccountToken ??
      (sa as { automountServiceAccountToken?: boolean }).automountServiceAccountToken ?? true;
    if (!automount) return;
    const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
    const needing = containers.filter((c) =>
      !(c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)
    );
    if (needing.length === 0) return;
    // A pod that has the volume already (a copy of a pod: `kubectl debug --copy-to`) gets it
    // mounted in its new containers, not a second one.
    const names = new Set((spec.volumes ?? []).map((v) => String(v.name)));
    let volumeName = [...names].find((n) => n.startsWith(SERVICE_ACCOUNT_VOLUME_PREFIX));
    if (!volumeName) {
      do {
        volumeName = SERVICE_ACCOUNT_VOLUME_PREFIX + randomSuffix(5);
      } while (names.has(volumeName));
      spec.volumes = [...(spec.volumes ?? []), serviceAccountVolume(volumeName)];
    }
    for (const c of needing) {
      c.volumeMounts = [
        ...(c.volumeMounts ?? []),
        { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH } as {
          mountPath: string;
        },
      ];
    }
  };
}
