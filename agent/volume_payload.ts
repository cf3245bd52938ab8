/**
 * What the files of a ConfigMap, Secret, downwardAPI or projected volume are, as the kubelet's
 * volume plugins compute them: path inside the volume → bytes and mode. The atomic writer
 * (atomic_writer.ts) puts them on disk; recomputing and rewriting them is how these volumes are
 * kept current in running pods.
 */
import type { PayloadFile } from "./atomic_writer.ts";
import { fieldValue, type PodRuntimeFacts, resourceValue } from "./container_config.ts";
import type {
  Container,
  DownwardAPIVolumeFile,
  KeyValueSource,
  Pod,
  Volume,
  VolumeProjection,
} from "./pod_types.ts";
import { fsGroupOf, ownedMode } from "./volume_ownership.ts";

/** Reads the objects a volume projects, and asks for ServiceAccount tokens. */
export interface PayloadSources {
  getConfigMap(namespace: string, name: string): Promise<KeyValueSource | undefined>;
  getSecret(namespace: string, name: string): Promise<KeyValueSource | undefined>;
  /** A token of the pod's ServiceAccount for a `serviceAccountToken` projection. */
  serviceAccountToken?(
    pod: Pod,
    source: { audience?: string; expirationSeconds?: number },
  ): Promise<string>;
}

/** Kubernetes' default mode of projected files (0644). */
const DEFAULT_MODE = 0o644;

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** True for the volume sources whose files this module computes. */
export function isProjectedKind(vol: Volume): boolean {
  return !!(vol.configMap || vol.secret || vol.downwardAPI || vol.projected);
}

/** The keys of a ConfigMap or Secret as files (items select and rename them). */
function keyFiles(
  obj: KeyValueSource | undefined,
  source: {
    kind: "configmap" | "secret";
    name: string;
    items?: { key: string; path: string; mode?: number }[];
    optional?: boolean;
    mode: number;
  },
  out: Map<string, PayloadFile>,
): void {
  if (!obj) {
    if (source.optional) return;
    throw new Error(`${source.kind} "${source.name}" not found`);
  }
  const enc = new TextEncoder();
  const all = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(obj.data ?? {})) {
    all.set(k, source.kind === "secret" ? decodeBase64(v) : enc.encode(v));
  }
  for (const [k, v] of Object.entries(obj.binaryData ?? {})) all.set(k, decodeBase64(v));
  if (!source.items?.length) {
    for (const [k, data] of all) out.set(k, { data, mode: source.mode });
    return;
  }
  for (const item of source.items) {
    const data = all.get(item.key);
    if (data === undefined) {
      if (source.optional) continue;
      throw new Error(`${source.kind} references non-existent config key: ${item.key}`);
    }
    out.set(item.path, { data, mode: item.mode ?? source.mode });
  }
}

/** `key="value"` lines sorted by key, as the kubelet formats labels and annotations. */
export function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {}).sort().map((k) => `${k}=${JSON.stringify(map![k])}`).join("\n");
}

/** The content of one downwardAPI file. */
export function downwardValue(pod: Pod, item: DownwardAPIVolumeFile, facts: PodRuntimeFacts) {
  if (item.fieldRef) {
    switch (item.fieldRef.fieldPath) {
      case "metadata.labels":
        return formatMap(pod.metadata.labels);
      case "metadata.annotations":
        return formatMap(pod.metadata.annotations);
    }
    return fieldValue(pod, item.fieldRef.fieldPath, facts);
  }
  if (item.resourceFieldRef) {
    const name = item.resourceFieldRef.containerName;
    const containers: Container[] = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
    const c = containers.find((c) => c.name === name);
    if (!c) throw new Error(`container "${name ?? ""}" not found in pod`);
    return resourceValue(c, item.resourceFieldRef.resource);
  }
  throw new Error(`downwardAPI item "${item.path}" names no field`);
}

function downwardFiles(
  pod: Pod,
  items: DownwardAPIVolumeFile[] | undefined,
  options: { mode: number; facts: PodRuntimeFacts },
  out: Map<string, PayloadFile>,
): void {
  const enc = new TextEncoder();
  for (const item of items ?? []) {
    out.set(item.path, {
      data: enc.encode(downwardValue(pod, item, options.facts)),
      mode: item.mode ?? options.mode,
    });
  }
}

async function projectionFiles(
  pod: Pod,
  src: VolumeProjection,
  options: { mode: number; facts: PodRuntimeFacts; sources: PayloadSources },
  out: Map<string, PayloadFile>,
): Promise<void> {
  const ns = pod.metadata.namespace;
  if (src.configMap) {
    const name = src.configMap.name ?? "";
    const cm = await options.sources.getConfigMap(ns, name);
    keyFiles(cm, { kind: "configmap", name, ...src.configMap, mode: options.mode }, out);
  } else if (src.secret) {
    const name = src.secret.name ?? "";
    const s = await options.sources.getSecret(ns, name);
    keyFiles(s, { kind: "secret", name, ...src.secret, mode: options.mode }, out);
  } else if (src.downwardAPI) {
    downwardFiles(pod, src.downwardAPI.items, options, out);
  } else if (src.serviceAccountToken) {
    if (!options.sources.serviceAccountToken) throw new Error("no ServiceAccount token source");
    const token = await options.sources.serviceAccountToken(pod, src.serviceAccountToken);
    out.set(src.serviceAccountToken.path, {
      data: new TextEncoder().encode(token),
      // As the kubelet: with an fsGroup the token is the owner's and its group's only (0600,
      // then 0640 with the group read bit), whatever the volume's defaultMode.
      mode: fsGroupOf(pod) !== undefined ? 0o600 : options.mode,
    });
  }
}

/**
 * The files of a ConfigMap, Secret, downwardAPI or projected volume (undefined for other
 * sources). Throws with the kubelet's words when a source is missing and not optional. With the
 * pod's fsGroup every mode also gets group read, as the kubelet's ownership change gives these
 * read-only volumes (volume_ownership.ts); the atomic writer gives the files to the group.
 */
export async function volumePayload(
  pod: Pod,
  vol: Volume,
  options: { sources: PayloadSources; facts: PodRuntimeFacts },
): Promise<Map<string, PayloadFile> | undefined> {
  const files = await payloadFiles(pod, vol, options);
  if (!files || fsGroupOf(pod) === undefined) return files;
  for (const file of files.values()) {
    file.mode = ownedMode(file.mode, { readOnly: true, dir: false });
  }
  return files;
}

async function payloadFiles(
  pod: Pod,
  vol: Volume,
  options: { sources: PayloadSources; facts: PodRuntimeFacts },
): Promise<Map<string, PayloadFile> | undefined> {
  const out = new Map<string, PayloadFile>();
  const ns = pod.metadata.namespace;
  if (vol.configMap) {
    // Admission requires the names; an empty one is simply not found.
    const name = vol.configMap.name ?? "";
    const cm = await options.sources.getConfigMap(ns, name);
    keyFiles(cm, {
      kind: "configmap",
      ...vol.configMap,
      name,
      mode: vol.configMap.defaultMode ?? DEFAULT_MODE,
    }, out);
    return out;
  }
  if (vol.secret) {
    const name = vol.secret.secretName ?? "";
    const s = await options.sources.getSecret(ns, name);
    keyFiles(s, {
      kind: "secret",
      ...vol.secret,
      name,
      mode: vol.secret.defaultMode ?? DEFAULT_MODE,
    }, out);
    return out;
  }
  if (vol.downwardAPI) {
    const mode = vol.downwardAPI.defaultMode ?? DEFAULT_MODE;
    downwardFiles(pod, vol.downwardAPI.items, { mode, facts: options.facts }, out);
    return out;
  }
  if (vol.projected) {
    const mode = vol.projected.defaultMode ?? DEFAULT_MODE;
    for (const src of vol.projected.sources ?? []) {
      await projectionFiles(pod, src, { mode, ...options }, out);
    }
    return out;
  }
  return undefined;
}
