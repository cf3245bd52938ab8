/**
 * How a CustomResourceDefinition becomes a served kind, at run time and without a restart (the
 * job of kube-apiextensions-apiserver's crdHandler plus its naming, establishing and finalizing
 * controllers). One reconcile per CRD name, fed by the CRD watch cache:
 *
 * 1. **Names**: the CRD's names must not clash with another accepted CRD of its group
 *    (`NamesAccepted`); accepted names are written to `status.acceptedNames`, then `Established`.
 * 2. **Serving**: an established CRD gets one watch cache over its storage prefix
 *    (`/registry/<group>/<plural>/`) and, per served version, a ResourceStore view of that cache
 *    (objects read at the version's apiVersion, written at the storage version: conversion
 *    `None`) and an ordinary GenericRegistry with the CRD's schema as its validator, its status
 *    and scale subresources and its printer columns. Discovery and OpenAPI read {@linkcode
 *    CustomResources.resources} on every request.
 * 3. **Deletion**: a deleted CRD (held by `customresourcecleanup.apiextensions.k8s.io`) gets the
 *    `Terminating` condition, refuses new objects (405), deletes every object of its kind, then
 *    drops the finalizer; when it is gone its kind stops being served.
 */
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
} from "../../shared/api/apiextensions_v1.ts";
import type { Condition } from "../../shared/api/meta.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceInfo } from "../../shared/api/resource_info.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import { ALL_VERBS } from "../../shared/api/resources.ts";
import { runController } from "../../shared/controller.ts";
import { GoneError, MethodNotAllowedError, NotFoundError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import { rfc3339 } from "../../shared/time.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import type { AdmissionPlugin } from "../admission/admission.ts";
import type { Printer } from "../api/tables/mod.ts";
import type { Backend } from "../store/backend.ts";
import { GenericRegistry, type KindValidator } from "../registry/generic_registry.ts";
import { ResourceStore } from "../registry/resource_store.ts";
import { CRD_CLEANUP_FINALIZER } from "./crd_validation.ts";
import { customResourcePrinter } from "./cr_table.ts";
import { customResourceValidator } from "./cr_validation.ts";
import type { JSONSchemaProps } from "./schema.ts";

/** A served version of a custom resource kind: what discovery, tables and OpenAPI read. */
export interface CustomResourceInfo extends ResourceInfo {
  /** The server-side Table printer (additionalPrinterColumns). */
  printer: Printer;
  /** The version's openAPIV3Schema. */
  schema: JSONSchemaProps;
  /** The list kind (`CronTabList`). */
  listKind: string;
}

interface ServedVersion {
  info: CustomResourceInfo;
  registry: GenericRegistry;
}

interface ServedCrd {
  uid: string;
  generation: number;
  /** Owns the kind's watch cache; every version's store is a view of it. */
  storage: ResourceStore;
  stop: AbortController;
  running: Promise<void>;
  versions: ServedVersion[];
  terminating: boolean;
  storageApiVersion: string;
}

/** What {@linkcode CustomResources} needs from the server. */
export interface CustomResourcesOptions {
  backend: Backend;
  /** The registry of customresourcedefinitions. */
  crds: GenericRegistry;
  namespaceOf: (name: string) => KubeObject | undefined;
  admission?: AdmissionPlugin;
  historySize?: number;
  logger: Logger;
}

type Crd = CustomResourceDefinition & KubeObject;

/** The served custom resource kinds; see the module comment. */
export class CustomResources {
  readonly #o: CustomResourcesOptions;
  readonly #served = new Map<string, ServedCrd>();
  #byPath = new Map<string, GenericRegistry>();
  #infos: CustomResourceInfo[] = [];
  #generation = 0;
  readonly #queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 5_000 });
  readonly #log: Logger;

  constructor(options: CustomResourcesOptions) {
    this.#o = options;
    this.#log = options.logger.child("apiextensions");
  }

  /** The registry serving `group/version/plural`, if a CRD serves it. */
  lookup(group: string, version: string, plural: string): GenericRegistry | undefined {
    return this.#byPath.get(`${group}/${version}/${plural}`);
  }

  /** Every served custom resource version, CRDs by name, versions in priority order. */
  resources(): readonly CustomResourceInfo[] {
    return this.#infos;
  }

  /** Moves whenever the served set changes (for caches of derived documents). */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Serves every CRD stored now (so a restarted server serves them before it is ready), then
   * follows CRD changes until `signal` aborts; the returned promise resolves once started.
   */
  async start(signal: AbortSignal): Promise<{ finished: Promise<void> }> {
    const { items, revision } = this.#o.crds.store.list();
    for (const crd of items) await this.reconcile(crd.metadata.name!);
    const finished = Promise.all([
      this.#follow(revision, signal),
      runController({
        name: "customresourcedefinitions",
        queue: this.#queue,
        reconcile: (name) => this.reconcile(name),
        logger: this.#log,
      }, signal),
    ]).then(async () => {
      for (const s of this.#served.values()) s.stop.abort();
      await Promise.all([...this.#served.values()].map((s) => s.running));
    });
    return { finished };
  }

  async #follow(from: number, signal: AbortSignal): Promise<void> {
    let revision = from;
    while (!signal.aborted) {
      try {
        for await (const e of this.#o.crds.store.watch({ afterRevision: revision, signal })) {
          if (e.type === "BOOKMARK") continue;
          revision = e.revision;
          this.#queue.add(e.object.metadata.name!);
          // A CRD that goes frees its names: its group's refused CRDs may be accepted now.
          if (e.type === "DELETED") {
            for (const other of this.#o.crds.store.list().items as Crd[]) {
              if (other.spec.group === (e.object as Crd).spec.group) {
                this.#queue.add(other.metadata.name!);
              }
            }
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        if (!(e instanceof GoneError)) this.#log.warn("CRD watch failed", { error: e });
        const { items, revision: now } = this.#o.crds.store.list();
        for (const crd of items) this.#queue.add(crd.metadata.name!);
        for (const name of this.#served.keys()) this.#queue.add(name);
        revision = now;
      }
    }
  }

  /** Brings the serving of one CRD in line with its stored state. */
  async reconcile(name: string): Promise<void> {
    const crd = this.#o.crds.store.find(undefined, name) as Crd | undefined;
    if (!crd) return await this.#unserve(name);
    const status = this.#namingStatus(crd);
    const established = status.conditions?.some((c) =>
      c.type === "Established" && c.status === "True"
    );
    // Served before Established is written: whoever sees the condition can use the kind.
    if (established) this.#serve({ ...crd, status } as Crd);
    if (JSON.stringify(status) !== JSON.stringify(crd.status ?? {})) {
      await this.#writeStatus(name, status);
    }
    if (crd.metadata.deletionTimestamp) await this.#finalize(crd);
  }

  async #writeStatus(name: string, status: Crd["status"]): Promise<void> {
    try {
      await this.#o.crds.updateWith(undefined, name, (c) => ({ ...c, status }), {
        subresource: "status",
      });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  /** The status the naming and establishing controllers would write. */
  #namingStatus(crd: Crd): NonNullable<Crd["status"]> {
    const now = rfc3339(new Date());
    const old = crd.status ?? {};
    const names = crd.spec.names;
    const conflict = this.#nameConflict(crd);
    const conditions: Condition[] = [...(old.conditions ?? [])];
    const set = (c: Omit<Condition, "lastTransitionTime">) => {
      const i = conditions.findIndex((x) => x.type === c.type);
      const prev = conditions[i];
      const next = {
        ...c,
        lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
      };
      if (i >= 0) conditions[i] = next;
      else conditions.push(next);
    };
    let acceptedNames = old.acceptedNames ?? { plural: "", kind: "" };
    if (conflict) {
      set({
        type: "NamesAccepted",
        status: "False",
        reason: conflict.reason,
        message: conflict.message,
      });
    } else {
      acceptedNames = { ...names };
      set({
        type: "NamesAccepted",
        status: "True",
        reason: "NoConflicts",
        message: "no conflicts found",
      });
    }
    const wasEstablished = conditions.some((c) => c.type === "Established" && c.status === "True");
    if (!wasEstablished) {
      if (conflict) {
        set({
          type: "Established",
          status: "False",
          reason: "NotAccepted",
          message: "not all names are accepted",
        });
      } else {
        set({
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
        });
      }
    }
    if (crd.metadata.deletionTimestamp) {
      set({
        type: "Terminating",
        status: "True",
        reason: "InstanceDeletionInProgress",
        message: "CustomResource deletion is in progress",
      });
    }
    return { ...old, conditions, acceptedNames };
  }

  /** A clash of this CRD's names with another CRD of its group whose names were accepted. */
  #nameConflict(crd: Crd): { reason: string; message: string } | undefined {
    const names = crd.spec.names;
    for (const other of this.#o.crds.store.list().items as Crd[]) {
      if (other.metadata.name === crd.metadata.name || other.spec.group !== crd.spec.group) {
        continue;
      }
      const taken = other.status?.acceptedNames;
      if (!taken?.plural) continue;
      if (taken.plural === names.plural) {
        return { reason: "PluralConflict", message: `"${names.plural}" is already in use` };
      }
      if (names.singular && taken.singular === names.singular) {
        return { reason: "SingularConflict", message: `"${names.singular}" is already in use` };
      }
      if (taken.kind === names.kind) {
        return { reason: "KindConflict", message: `"${names.kind}" is already in use` };
      }
      if (names.listKind && taken.listKind === names.listKind) {
        return { reason: "ListKindConflict", message: `"${names.listKind}" is already in use` };
      }
      const short = (names.shortNames ?? []).find((s) => (taken.shortNames ?? []).includes(s));
      if (short) return { reason: "ShortNamesConflict", message: `"${short}" is already in use` };
    }
    return undefined;
  }

  #serve(crd: Crd): void {
    const name = crd.metadata.name!;
    let served = this.#served.get(name);
    if (served && served.uid !== crd.metadata.uid) {
      served.stop.abort();
      this.#served.delete(name);
      served = undefined;
    }
    const terminating = crd.metadata.deletionTimestamp !== undefined;
    if (served && served.generation === crd.metadata.generation) {
      served.terminating = terminating;
      return;
    }
    const storageVersion = crd.spec.versions.find((v) => v.storage)!;
    const storageInfo = this.#info(crd, storageVersion);
    if (!served) {
      const storage = new ResourceStore(this.#o.backend, storageInfo, {
        logger: this.#log,
        historySize: this.#o.historySize,
      });
      const stop = new AbortController();
      served = {
        uid: crd.metadata.uid!,
        generation: 0,
        storage,
        stop,
        running: storage.run(stop.signal).catch((e) => {
          this.#log.error("custom resource cache failed", { crd: name, error: e });
        }),
        versions: [],
        terminating,
        storageApiVersion: apiVersionOf(storageInfo),
      };
      this.#served.set(name, served);
    }
    const s = served;
    s.generation = crd.metadata.generation ?? 0;
    s.terminating = terminating;
    s.storageApiVersion = apiVersionOf(storageInfo);
    s.versions = sortVersions(crd.spec.versions.filter((v) => v.served)).map((v) => {
      const info = this.#info(crd, v);
      const store = new ResourceStore(this.#o.backend, info, {
        logger: this.#log,
        sharedWith: s.storage,
        storageApiVersion: () => s.storageApiVersion,
      });
      const scale = v.subresources?.scale;
      const registry = new GenericRegistry(store, {
        strategy: {
          statusSubresource: v.subresources?.status !== undefined,
          noStrategicMergePatch: true,
          ...(scale ? { scale } : {}),
          ...customResourceGeneration,
        },
        namespaceOf: this.#o.namespaceOf,
        admission: this.#o.admission,
        validator: refuseWhileTerminating(
          customResourceValidator(info, info.schema),
          () => s.terminating,
        ),
      });
      return { info, registry };
    });
    this.#rebuildIndex();
  }

  #info(crd: Crd, v: CustomResourceDefinitionVersion): CustomResourceInfo {
    const names = crd.status?.acceptedNames?.plural
      ? { ...crd.spec.names, ...crd.status.acceptedNames }
      : crd.spec.names;
    const subresources: string[] = [];
    if (v.subresources?.status !== undefined) subresources.push("status");
    if (v.subresources?.scale) subresources.push("scale");
    return {
      group: crd.spec.group,
      version: v.name,
      kind: names.kind,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced: crd.spec.scope === "Namespaced",
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: [...ALL_VERBS],
      subresources,
      printer: customResourcePrinter(v.additionalPrinterColumns),
      schema: (v.schema?.openAPIV3Schema ?? { type: "object" }) as JSONSchemaProps,
      listKind: names.listKind ?? `${names.kind}List`,
    };
  }

  #rebuildIndex(): void {
    const byPath = new Map<string, GenericRegistry>();
    const infos: CustomResourceInfo[] = [];
    for (const name of [...this.#served.keys()].sort()) {
      for (const v of this.#served.get(name)!.versions) {
        byPath.set(`${v.info.group}/${v.info.version}/${v.info.plural}`, v.registry);
        infos.push(v.info);
      }
    }
    this.#byPath = byPath;
    this.#infos = infos;
    this.#generation++;
  }

  async #unserve(name: string): Promise<void> {
    const served = this.#served.get(name);
    if (!served) return;
    this.#served.delete(name);
    this.#rebuildIndex();
    served.stop.abort();
    await served.running;
    this.#log.info("stopped serving custom resources", { crd: name });
  }

  /** Deletes every object of a terminating CRD's kind, then releases the CRD. */
  async #finalize(crd: Crd): Promise<void> {
    const name = crd.metadata.name!;
    if (!(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) return;
    const served = this.#served.get(name);
    if (served) {
      const registry = served.versions.find((v) =>
        apiVersionOf(v.info) === served.storageApiVersion
      )
        ?.registry ?? served.versions[0]?.registry;
      const { items } = served.storage.list();
      let remaining = 0;
      for (const obj of items) {
        try {
          const { gone } = await registry!.delete(obj.metadata.namespace, obj.metadata.name!);
          if (!gone) remaining++;
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
      if (remaining > 0) {
        // Objects held by their own finalizers: look again shortly.
        this.#queue.addAfter(name, 1_000);
        return;
      }
    }
    await this.#o.crds.updateWith(undefined, name, (c) => ({
      ...c,
      metadata: {
        ...c.metadata,
        finalizers: (c.metadata.finalizers ?? []).filter((f: string) =>
          f !== CRD_CLEANUP_FINALIZER
        ),
      },
    }));
  }
}

/**
 * metadata.generation as kube-apiextensions' strategy keeps it: 1 on create, and one more on
 * every update that changes anything but metadata (status never reaches a main-resource update
 * when the status subresource is on: the registry keeps the stored one).
 */
const customResourceGeneration = {
  prepareForCreate(obj: KubeObject) {
    obj.metadata.generation = 1;
  },
  prepareForUpdate(obj: KubeObject, old: KubeObject) {
    const { metadata: _m, ...next } = obj;
    const { metadata: _o, ...prev } = old;
    const base = old.metadata.generation ?? 0;
    obj.metadata.generation = JSON.stringify(next) === JSON.stringify(prev) ? base : base + 1;
  },
};

/** New objects are refused while their CRD is being deleted (as kube-apiextensions-apiserver). */
function refuseWhileTerminating(v: KindValidator, terminating: () => boolean): KindValidator {
  return {
    create: (obj, options) => {
      if (terminating()) {
        throw new MethodNotAllowedError(
          "create not allowed while custom resource definition is terminating",
        );
      }
      return v.create(obj, options);
    },
    update: v.update,
  };
}

/**
 * Kubernetes' version priority: GA (v2 > v1) before beta before alpha (each by major, then
 * minor, highest first), then other names alphabetically.
 */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0, v];
    const stage = m[2] === undefined ? 0 : m[2] === "beta" ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0), v];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
  return ra[3] < rb[3] ? -1 : ra[3] > rb[3] ? 1 : 0;
}

function sortVersions(
  versions: CustomResourceDefinitionVersion[],
): CustomResourceDefinitionVersion[] {
  return [...versions].sort((a, b) => compareVersions(a.name, b.name));
}
