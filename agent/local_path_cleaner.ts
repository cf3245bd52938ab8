/**
 * The node's half of the `skiff.io/local-path` provisioner: when a PersistentVolume provisioned on
 * this node is deleted, remove its directory (reclaim policy Delete; Retain keeps the data) and
 * then release the `storage.skiff.io/local-path-cleanup` finalizer that held the object. Only
 * volumes labelled `storage.skiff.io/node=<this node>` are watched, and only the directory
 * `<data-dir>/storage/<pv-name>` is ever removed (see shared/local_path.ts).
 */
import type { KubeObject } from "../shared/api/object.ts";
import type { ApiClient } from "../shared/client/client.ts";
import type { ControllerClient } from "../shared/client/controller_client.ts";
import type { Lister } from "../shared/lister.ts";
import { PERSISTENT_VOLUMES } from "../shared/client/refs.ts";
import { runController } from "../shared/controller.ts";
import { isNotFound } from "../shared/errors.ts";
import { Informer } from "../shared/informer.ts";
import { LOCAL_PATH_CLEANUP_FINALIZER, LOCAL_PATH_NODE_LABEL } from "../shared/local_path.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import { WorkQueue } from "../shared/work_queue.ts";

/** The agent's local-path storage root: `<data-dir>/storage`. */
export function localPathRoot(dataDir: string): string {
  return `${dataDir}/storage`;
}

/** What {@linkcode LocalPathCleaner} reads and writes with. */
export interface LocalPathCleanerDeps {
  listers: { volumes: Lister<KubeObject> };
  client: ControllerClient;
  /** `<data-dir>/storage`, absolute. */
  root: string;
  logger?: Logger;
}

/** Reconciles deleted local-path volumes of this node. */
export class LocalPathCleaner {
  readonly #d: LocalPathCleanerDeps;
  readonly #log: Logger;

  constructor(deps: LocalPathCleanerDeps) {
    this.#d = deps;
    this.#log = deps.logger ?? silentLogger;
  }

  /** Cleans up the volume `name` if it is being deleted and still holds our finalizer. */
  async reconcile(name: string): Promise<void> {
    const pv = this.#d.listers.volumes.get(name);
    if (!pv?.metadata.deletionTimestamp) return;
    const finalizers: string[] = pv.metadata.finalizers ?? [];
    if (!finalizers.includes(LOCAL_PATH_CLEANUP_FINALIZER)) return;
    if (pv.spec?.persistentVolumeReclaimPolicy === "Delete") await this.#removeDirectory(pv);
    const next = structuredClone(pv);
    next.metadata.finalizers = finalizers.filter((f) => f !== LOCAL_PATH_CLEANUP_FINALIZER);
    try {
      await this.#d.client.update(PERSISTENT_VOLUMES, next);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #removeDirectory(pv: KubeObject): Promise<void> {
    const expected = `${this.#d.root}/${pv.metadata.name}`;
    const path: string | undefined = pv.spec?.hostPath?.path;
    if (path !== expected) {
      // Never remove a directory the provisioner did not make.
      this.#log.warn("not removing a volume directory outside the local-path root", {
        volume: pv.metadata.name,
        path,
        expected,
      });
      return;
    }
    try {
      await Deno.remove(path, { recursive: true });
      this.#log.info("removed the directory of a deleted volume", {
        volume: pv.metadata.name,
        path,
      });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/** Runs the cleaner for `nodeName` until `signal` aborts. */
export async function runLocalPathCleaner(
  options: { client: ApiClient; nodeName: string; dataDir: string; logger?: Logger },
  signal: AbortSignal,
): Promise<void> {
  const logger = (options.logger ?? silentLogger).child("local-path");
  const volumes = new Informer(options.client, PERSISTENT_VOLUMES, {
    labelSelector: `${LOCAL_PATH_NODE_LABEL}=${options.nodeName}`,
    logger,
  });
  const queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  volumes.addEventHandler({
    onAdd: (pv) => queue.add(pv.metadata.name!),
    onUpdate: (_, pv) => queue.add(pv.metadata.name!),
  });
  const cleaner = new LocalPathCleaner({
    listers: { volumes },
    client: options.client,
    root: localPathRoot(options.dataDir),
    logger,
  });
  await Promise.all([
    volumes.run(signal),
    runController({
      name: "local-path-cleaner",
      queue,
      reconcile: (name) => cleaner.reconcile(name),
      informers: [volumes],
      logger,
    }, signal),
  ]);
}
