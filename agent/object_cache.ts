/**
 * The objects a node's pods read through the API (ConfigMaps, Secrets, PersistentVolumeClaims,
 * PersistentVolumes), kept on disk beside the pod copy so that pods can be (re)started while the
 * server is unreachable. {@linkcode CachingObjectReader} wraps the agent's reader: an answer from
 * the server is kept (written only when it changed), "not found" removes the copy, and only a
 * failure to reach the server (no HTTP status, or a 5xx) falls back to the copy. Every file is
 * mode 0600 in a 0700 directory; {@linkcode CachingObjectReader.prune} removes the copies no
 * cached pod refers to any more, so a Secret leaves the disk with the last pod that mounted it.
 */
import type { KubeObject } from "../shared/api/object.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { writeFileAtomic } from "../shared/write_file_atomic.ts";
import type { KeyValueSource, Pod } from "./pod_types.ts";
import type { ObjectReader } from "./volumes.ts";
import { isUnreachable } from "./unreachable.ts";

type Kind = "configmaps" | "secrets" | "persistentvolumeclaims" | "persistentvolumes";
const KINDS: Kind[] = ["configmaps", "secrets", "persistentvolumeclaims", "persistentvolumes"];

/** The objects a pod refers to, as `kind/namespace_name` file keys (PVs are found via claims). */
export function podObjectRefs(pod: Pod): Set<string> {
  const ns = pod.metadata.namespace ?? "default";
  const refs = new Set<string>();
  const add = (kind: Kind, name: string | undefined) => name && refs.add(`${kind}/${ns}_${name}`);
  // Loosely typed: volume sources the agent type does not name yet (projected) count too.
  type Source = {
    configMap?: { name?: string };
    secret?: { secretName?: string; name?: string };
    persistentVolumeClaim?: { claimName?: string };
    projected?: { sources?: Source[] };
  };
  const visit = (v: Source) => {
    add("configmaps", v.configMap?.name);
    add("secrets", v.secret?.secretName ?? v.secret?.name);
    add("persistentvolumeclaims", v.persistentVolumeClaim?.claimName);
    for (const s of v.projected?.sources ?? []) visit(s);
  };
  for (const v of (pod.spec.volumes ?? []) as Source[]) visit(v);
  // Pull secrets too: a pod restarted offline may need to pull its image again.
  for (const r of pod.spec.imagePullSecrets ?? []) add("secrets", r.name);
  const ephemeral = (pod.spec.ephemeralContainers ?? []) as typeof pod.spec.containers;
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers, ...ephemeral]) {
    for (const e of c.env ?? []) {
      add("configmaps", e.valueFrom?.configMapKeyRef?.name);
      add("secrets", e.valueFrom?.secretKeyRef?.name);
    }
    for (const f of c.envFrom ?? []) {
      add("configmaps", f.configMapRef?.name);
      add("secrets", f.secretRef?.name);
    }
  }
  return refs;
}

/** Options for {@linkcode CachingObjectReader}. */
export interface CachingObjectReaderOptions {
  /** The reader that asks the server. */
  inner: ObjectReader;
  /** Directory of the copies (`<dataDir>/state/objects`). */
  dir: string;
  logger?: Logger;
}

/** An {@linkcode ObjectReader} that keeps what it read on disk and falls back to it offline. */
export class CachingObjectReader implements ObjectReader {
  readonly #o: CachingObjectReaderOptions;
  readonly #log: Logger;
  /** File key → the JSON last written (or read back), so unchanged objects are not rewritten. */
  readonly #written = new Map<string, string>();

  constructor(options: CachingObjectReaderOptions) {
    this.#o = options;
    this.#log = (options.logger ?? silentLogger).child("objects");
  }

  getConfigMap(namespace: string, name: string): Promise<KeyValueSource | undefined> {
    return this.#get(
      "configmaps",
      `${namespace}_${name}`,
      () => this.#o.inner.getConfigMap(namespace, name),
    );
  }

  getSecret(namespace: string, name: string): Promise<KeyValueSource | undefined> {
    return this.#get(
      "secrets",
      `${namespace}_${name}`,
      () => this.#o.inner.getSecret(namespace, name),
    );
  }

  getPersistentVolumeClaim(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.#get(
      "persistentvolumeclaims",
      `${namespace}_${name}`,
      () => this.#o.inner.getPersistentVolumeClaim(namespace, name),
    );
  }

  getPersistentVolume(name: string): Promise<KubeObject | undefined> {
    return this.#get("persistentvolumes", name, () => this.#o.inner.getPersistentVolume(name));
  }

  /** ServiceAccount tokens are asked of the server (they are short-lived: never copied to disk). */
  serviceAccountToken(
    pod: Pod,
    source: { audience?: string; expirationSeconds?: number },
  ): Promise<string> {
    if (!this.#o.inner.serviceAccountToken) {
      return Promise.reject(new Error("no ServiceAccount token source"));
    }
    return this.#o.inner.serviceAccountToken(pod, source);
  }

  /** Path of a copy. */
  path(kind: Kind, fileName: string): string {
    return `${this.#o.dir}/${kind}/${fileName}.json`;
  }

  async #get<T extends object>(
    kind: Kind,
    fileName: string,
    read: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const key = `${kind}/${fileName}`;
    let obj: T | undefined;
    try {
      obj = await read();
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      const copy = await this.#readCopy<T>(kind, fileName);
      if (copy === undefined) throw e;
      this.#log.debug("server unreachable; using the local copy", { object: key });
      return copy;
    }
    if (obj === undefined) await this.#remove(key);
    else await this.#save(kind, fileName, obj);
    return obj;
  }

  async #readCopy<T>(kind: Kind, fileName: string): Promise<T | undefined> {
    try {
      const text = await Deno.readTextFile(this.path(kind, fileName));
      this.#written.set(`${kind}/${fileName}`, text);
      return JSON.parse(text) as T;
    } catch {
      return undefined;
    }
  }

  async #save(kind: Kind, fileName: string, obj: object): Promise<void> {
    const key = `${kind}/${fileName}`;
    const text = JSON.stringify(obj);
    if (this.#written.get(key) === text) return;
    try {
      await Deno.mkdir(`${this.#o.dir}/${kind}`, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.path(kind, fileName), text, 0o600);
      this.#written.set(key, text);
    } catch (e) {
      // The copy is a fallback: failing to write it must not fail the pod's sync.
      this.#log.warn("cannot write a local copy", { object: key, error: e });
    }
  }

  async #remove(key: string): Promise<void> {
    this.#written.delete(key);
    await Deno.remove(`${this.#o.dir}/${key}.json`).catch(() => {});
  }

  /**
   * Removes every copy no pod in `pods` refers to (PersistentVolumes: those no kept claim is
   * bound to). Call with the node's pods whenever they change.
   */
  async prune(pods: Pod[]): Promise<void> {
    const keep = new Set<string>();
    for (const p of pods) for (const r of podObjectRefs(p)) keep.add(r);
    for (const ref of keep) {
      if (!ref.startsWith("persistentvolumeclaims/")) continue;
      const [, fileName] = ref.split("/");
      const pvc = await this.#readCopy<KubeObject>("persistentvolumeclaims", fileName);
      const volumeName = (pvc?.spec as { volumeName?: string } | undefined)?.volumeName;
      if (volumeName) keep.add(`persistentvolumes/${volumeName}`);
    }
    for (const kind of KINDS) {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(`${this.#o.dir}/${kind}`));
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isFile || !e.name.endsWith(".json")) continue;
        const key = `${kind}/${e.name.slice(0, -5)}`;
        if (!keep.has(key)) await this.#remove(key);
      }
    }
  }
}
