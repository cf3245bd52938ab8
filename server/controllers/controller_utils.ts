/**
 * Helpers the workload controllers share: controller references, pod readiness and
 * availability, and "expectations" — how many creations and deletions a controller has asked for
 * but not yet seen in its informer, so it doesn't act twice on a stale cache.
 */
import type { KubeObject, OwnerReference } from "../../shared/api/object.ts";
import type { Lister } from "../../shared/lister.ts";

/** The owner reference with `controller: true`, if any. */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  for (const r of obj.metadata.ownerReferences ?? []) if (r.controller) return r;
  return undefined;
}

/** A controller reference to `owner` for objects it creates or adopts. */
export function newControllerRef(
  owner: KubeObject,
  type: { apiVersion: string; kind: string },
): OwnerReference {
  return {
    apiVersion: type.apiVersion,
    kind: type.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The pod's Ready condition, if present. */
export function readyCondition(
  pod: KubeObject,
): { status: string; lastTransitionTime?: string } | undefined {
  return (pod.status?.conditions as { type: string; status: string }[] | undefined)?.find((c) =>
    c.type === "Ready"
  );
}

/** Ready=True. */
export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === "True";
}

/**
 * Ready for at least `minReadySeconds` at `now` (ms). Returns `true`, or the ms to wait until it
 * becomes available, or `false` when not ready at all.
 */
export function podAvailability(
  pod: KubeObject,
  minReadySeconds: number,
  now: number,
): true | false | number {
  const c = readyCondition(pod);
  if (c?.status !== "True") return false;
  if (!minReadySeconds) return true;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  if (Number.isNaN(since)) return true;
  const left = since + minReadySeconds * 1000 - now;
  return left <= 0 ? true : left;
}

/** Phase Succeeded/Failed or being deleted: no longer counts as a replica. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata.deletionTimestamp;
}

interface Expectation {
  adds: number;
  deletes: Set<string>;
  at: number;
}

/**
 * Per-controller counts of creations and deletions still to be observed. While a key has
 * outstanding expectations the controller only updates status; expectations older than
 * `ttlMs` (5 min, as in Kubernetes) are treated as met so a lost event can't wedge it.
 */
export class Expectations {
  readonly #byKey = new Map<string, Expectation>();
  readonly #ttlMs: number;

  constructor(ttlMs = 5 * 60_000) {
    this.#ttlMs = ttlMs;
  }

  /** True when the controller may act on its cache. */
  satisfied(key: string): boolean {
    const e = this.#byKey.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.deletes.size === 0) || Date.now() - e.at > this.#ttlMs) {
      this.#byKey.delete(key);
      return true;
    }
    return false;
  }

  /** Expect `n` more creations. */
  expectAdds(key: string, n: number): void {
    const e = this.#get(key);
    e.adds += n;
    e.at = Date.now();
  }

  /** A creation was observed (or failed and will never be observed). */
  observeAdd(key: string): void {
    const e = this.#byKey.get(key);
    if (e) e.adds--;
  }

  /** Expect the deletion of these pods (`namespace/name`). */
  expectDeletes(key: string, podKeys: string[]): void {
    const e = this.#get(key);
    for (const k of podKeys) e.deletes.add(k);
    e.at = Date.now();
  }

  /** A deletion was observed (or failed). */
  observeDelete(key: string, podKey: string): void {
    this.#byKey.get(key)?.deletes.delete(podKey);
  }

  /** Drops a controller's expectations (it was deleted). */
  delete(key: string): void {
    this.#byKey.delete(key);
  }

  #get(key: string): Expectation {
    let e = this.#byKey.get(key);
    if (!e) {
      e = { adds: 0, deletes: new Set(), at: Date.now() };
      this.#byKey.set(key, e);
    }
    return e;
  }
}

/** `namespace/name`. */
export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : obj.metadata.name!;
}

/** Index of objects by their controller's uid; orphans are filed under `orphan:<namespace>`. */
export const CONTROLLER_INDEX = "controller";

/**
 * Adds {@linkcode CONTROLLER_INDEX} to a (shared) informer once, so a controller finds its pods
 * without scanning the namespace: `byIndex(CONTROLLER_INDEX, uid)` and
 * `byIndex(CONTROLLER_INDEX, orphanIndexValue(ns))`.
 */
export function ensureControllerIndex<T extends KubeObject>(lister: Lister<T>): void {
  // A shared informer keeps the first indexer of a name, so adding it twice is harmless.
  lister.addIndexer(CONTROLLER_INDEX, (o) => {
    const ref = controllerRef(o);
    return [ref ? ref.uid : orphanIndexValue(o.metadata.namespace ?? "")];
  });
}

/** The {@linkcode CONTROLLER_INDEX} value of a namespace's orphans. */
export function orphanIndexValue(namespace: string): string {
  return `orphan:${namespace}`;
}
