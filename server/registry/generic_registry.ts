/**
 * The object lifecycle of one resource kind, as kube-apiserver's generic registry store does it:
 * create (names, uid, timestamps, defaults, validation, namespace existence), update of the main
 * resource or its `/status` (optimistic concurrency, generation, immutable metadata), and
 * Kubernetes' two-phase delete (graceful pod deletion, finalizers, propagation policy).
 * The HTTP layer only decodes requests and calls this.
 */
import { customAlphabet } from "nanoid";
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceInfo } from "../../shared/api/resource_info.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import { validateCreate, validateUpdate } from "../../shared/api/validation.ts";
import type { FieldValidation, ValidateOptions } from "../../shared/api/validation.ts";
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  OBJECT_MODIFIED,
} from "../../shared/errors.ts";
import { type AdmissionPlugin, runUndo } from "../admission/admission.ts";
import type { User } from "../auth/authorizer.ts";
import type { Preconditions, ResourceStore } from "./resource_store.ts";
import type { Strategy, StrategyContext } from "./strategy.ts";
import { resetSystemMetadata } from "./strategy.ts";
import { rfc3339 } from "../../shared/time.ts";
import { type Scope, trackUpdate, type WriteSubresource } from "./field_manager.ts";

/** Options every write takes. */
export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Who writes, for managedFields (the request's fieldManager, else its User-Agent's product). */
  fieldManager?: string;
  /** A server-side apply: the object's managedFields are already the apply's (field_manager.ts). */
  applying?: boolean;
  /** Collects warnings (unknown fields dropped under Warn) for the response headers. */
  warnings?: string[];
  /** Who asks (absent for the server's own writes); admission may judge by it. */
  user?: User;
}

/** meta/v1 DeleteOptions, the part Skiff honours. */
export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  preconditions?: Preconditions;
  dryRun?: boolean;
}

/** Result of a delete: the object as it is now, and whether it is gone from the store. */
export interface DeleteResult {
  object: KubeObject;
  gone: boolean;
}

/**
 * Decoding, defaulting and validation of one kind's objects. Built-in kinds use their zod schemas
 * (shared/api/validation.ts); custom resources the CRD's openAPIV3Schema (server/apiextensions/).
 */
export interface KindValidator {
  /** Returns the object to store, or throws BadRequestError / InvalidError. */
  create(obj: unknown, options: ValidateOptions): KubeObject;
  /** Same for the new version of an updated object (`old` is the stored one). */
  update(obj: unknown, old: KubeObject, options: ValidateOptions): KubeObject;
}

/** Kinds whose PUT creates an absent object (kube-apiserver's AllowCreateOnUpdate). */
const CREATE_ON_UPDATE = new Set(["endpoints", "leases", "events", "endpointslices"]);

// Kubernetes' generateName suffix alphabet: consonants and digits, 5 characters.
const suffix = customAlphabet("bcdfghjklmnpqrstvwxz2456789", 5);

/** Lifecycle of one kind; see the module comment. */
export class GenericRegistry {
  readonly info: ResourceInfo;
  readonly store: ResourceStore;
  readonly strategy: Strategy;
  readonly #namespaceOf: (name: string) => KubeObject | undefined;
  readonly #admission?: AdmissionPlugin;
  readonly #validator: KindValidator;

  constructor(
    store: ResourceStore,
    options: {
      strategy: Strategy;
      namespaceOf: (name: string) => KubeObject | undefined;
      /** Validating admission, run on creates and main-resource updates before storing. */
      admission?: AdmissionPlugin;
      /** The kind's validation (default: its zod schema). */
      validator?: KindValidator;
    },
  ) {
    this.info = store.info;
    this.store = store;
    this.strategy = options.strategy;
    this.#namespaceOf = options.namespaceOf;
    this.#admission = options.admission;
    this.#validator = options.validator ?? {
      create: (obj, opts) => validateCreate(this.info, obj, opts),
      update: (obj, old, opts) => validateUpdate(this.info, obj, old, opts),
    };
  }

  /** Creates an object from a client's body; returns what was (or, dry-run, would be) stored. */
  async create(
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): Promise<KubeObject> {
    const obj = this.#checkEnvelope(body);
    resetSystemMetadata(obj);
    if (this.info.namespaced) {
      const ns = namespace ?? obj.metadata.namespace ?? "default";
      if (obj.metadata.namespace && obj.metadata.namespace !== ns) {
        throw new BadRequestError(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      obj.metadata.namespace = ns;
      this.#checkNamespaceOpen(ns, obj.metadata.name ?? obj.metadata.generateName ?? "");
    } else {
      delete obj.metadata.namespace;
    }
    const requestedName = obj.metadata.name || obj.metadata.generateName;
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = obj.metadata.generateName + suffix();
    }
    const valid = this.#validator.create(obj, {
      fieldValidation: options.fieldValidation,
      warnings: options.warnings,
    });
    const now = new Date();
    valid.metadata.uid = crypto.randomUUID();
    valid.metadata.creationTimestamp = rfc3339(now);
    if ("spec" in valid) valid.metadata.generation = 1;
    await this.strategy.prepareForCreate?.(valid, { ...this.#ctx(now, options), requestedName });
    // What admission did beyond the object (a quota charged) is taken back if it is not stored.
    const undo: (() => Promise<void>)[] = [];
    try {
      await this.#admit("CREATE", valid, undefined, options, undo);
      if (options.dryRun) return valid;
      // A generated name can collide; Kubernetes retries with a new suffix only on the client
      // side, but a short server-side retry keeps `generateName` creates from failing spuriously.
      for (let attempt = 0;; attempt++) {
        try {
          return await this.store.create(valid);
        } catch (e) {
          if (!obj.metadata.generateName || attempt >= 3 || !(e instanceof Error)) throw e;
          if (!(e.name === "AlreadyExistsError")) throw e;
          valid.metadata.name = obj.metadata.generateName + suffix();
        }
      }
    } catch (e) {
      await runUndo(undo);
      throw e;
    }
  }

  /**
   * Replaces an object (PUT) or its status. The body's resourceVersion, when set, must match
   * (409 Conflict otherwise). Kinds that allow it are created when absent.
   */
  async update(
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions & { subresource?: WriteSubresource } = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    const obj = this.#checkEnvelope(body);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw new BadRequestError(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (
      this.info.namespaced && obj.metadata.namespace !== undefined &&
      obj.metadata.namespace !== namespace
    ) {
      throw new BadRequestError(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    obj.metadata.name = name;
    if (!this.store.find(namespace, name) && CREATE_ON_UPDATE.has(this.info.plural)) {
      return { object: await this.create(namespace, obj, options), created: true };
    }
    // Its resourceVersion, when it has one, is the update's precondition (updateWith).
    const object = await this.updateWith(namespace, name, () => obj, options);
    return { object, created: false };
  }

  /** What a write of this kind (or of its `subresource`) owns fields in (field_manager.ts). */
  fieldScope(subresource?: WriteSubresource): Scope {
    return {
      kind: this.info.kind,
      statusSubresource: this.strategy.statusSubresource,
      subresource,
    };
  }

  /**
   * The core of every update (PUT, PATCH, status writes, controllers' finalizer removal):
   * `desired` maps the current object to the client's intended one, without changing the object
   * it is given; system fields, the part the (sub)resource may not change, validation and
   * generation are applied here.
   */
  async updateWith(
    namespace: string | undefined,
    name: string,
    desired: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    options: WriteOptions & {
      subresource?: WriteSubresource;
      /**
       * A main-resource write that may change status too, in the same write (kube-apiserver's
       * binding sets spec.nodeName and the PodScheduled condition at once).
       */
      withStatus?: boolean;
    } = {},
  ): Promise<KubeObject> {
    let gone: KubeObject | undefined;
    let dryRunResult: KubeObject | undefined;
    // What admission did beyond the object for the try that was stored, if one was (see create).
    const undo: (() => Promise<void>)[] = [];
    let result: { object: KubeObject; changed: boolean };
    try {
      result = await this.#guaranteedUpdate(namespace, name, desired, options, {
        undo,
        gone: (obj) => gone = obj,
        dryRun: (obj) => dryRunResult = obj,
      });
    } catch (e) {
      await runUndo(undo);
      throw e;
    }
    if (!result.changed) await runUndo(undo);
    if (dryRunResult) return dryRunResult;
    if (gone) return (await this.#remove(gone)).object;
    return result.object;
  }

  /** The compare-and-swap loop of {@linkcode updateWith}. */
  #guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    desired: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    options: WriteOptions & { subresource?: WriteSubresource; withStatus?: boolean },
    out: {
      undo: (() => Promise<void>)[];
      gone: (obj: KubeObject) => void;
      dryRun: (obj: KubeObject) => void;
    },
  ): Promise<{ object: KubeObject; changed: boolean }> {
    return this.store.guaranteedUpdate(
      namespace,
      name,
      async (current) => {
        // Another try means the last one lost a race: what admission did for it is void.
        await runUndo(out.undo);
        // `desired` must not change its argument (`current` is the "old" object below); the
        // patch functions are pure and the other callers build new objects.
        const wanted = await desired(current);
        // As kube-apiserver's Update: a resourceVersion the new object carries (a PUT's body's,
        // or one a patch or an apply sets) is a precondition; without one the write applies to
        // whatever is current.
        const rv = wanted.metadata?.resourceVersion;
        if (rv && rv !== current.metadata.resourceVersion) {
          throw new ConflictError(
            { resource: this.info.plural, group: this.info.group, name },
            OBJECT_MODIFIED,
          );
        }
        const next = await this.#prepareUpdate(wanted, current, options, out.undo);
        if (options.dryRun) {
          out.dryRun(next);
          return null;
        }
        if (isReadyToGo(next)) {
          out.gone(next);
          return null;
        }
        return next;
      },
    );
  }

  /**
   * Deletes as Kubernetes does: a scheduled pod first gets a deletionTimestamp and a grace period
   * (its node's agent stops it and deletes again with grace 0); an object with finalizers (or a
   * propagation policy that adds one) gets a deletionTimestamp and waits for them; anything else
   * is removed at once.
   */
  async delete(
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<DeleteResult> {
    this.strategy.beforeDelete?.(name);
    let removeNow: KubeObject | undefined;
    const { object } = await this.store.guaranteedUpdate(
      namespace,
      name,
      (current) => {
        const next = structuredClone(current);
        const md = next.metadata;
        const now = new Date();
        const finalizers = new Set(md.finalizers ?? []);
        if (options.propagationPolicy === "Orphan") {
          finalizers.add("orphan");
          finalizers.delete("foregroundDeletion");
        } else if (options.propagationPolicy === "Foreground") {
          finalizers.add("foregroundDeletion");
          finalizers.delete("orphan");
        }
        const grace = this.#gracePeriod(next, options);
        const nsFinalizers: string[] = this.info.plural === "namespaces"
          ? next.spec?.finalizers ?? []
          : [];
        if (finalizers.size === 0 && grace === 0 && nsFinalizers.length === 0) {
          removeNow = current;
          return null;
        }
        if (finalizers.size > 0) md.finalizers = [...finalizers];
        // A first delete starts the grace period; a later one may only shorten it.
        if (!md.deletionTimestamp || grace < (md.deletionGracePeriodSeconds ?? 0)) {
          md.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
          md.deletionGracePeriodSeconds = grace;
        } else if (finalizers.size === (current.metadata.finalizers ?? []).length) {
          return null;
        }
        if (this.info.plural === "namespaces") {
          next.status = { ...next.status, phase: "Terminating" };
        }
        if (isReadyToGo(next)) {
          removeNow = current;
          return null;
        }
        return options.dryRun ? null : next;
      },
      options.preconditions,
    );
    if (removeNow) {
      if (options.dryRun) return { object: removeNow, gone: true };
      return await this.#remove(removeNow, options.preconditions);
    }
    return { object, gone: false };
  }

  async #remove(obj: KubeObject, preconditions?: Preconditions): Promise<DeleteResult> {
    try {
      const last = await this.store.delete(obj.metadata.namespace, obj.metadata.name!, {
        uid: obj.metadata.uid,
        ...(preconditions?.resourceVersion
          ? { resourceVersion: preconditions.resourceVersion }
          : {}),
      });
      await this.strategy.afterDelete?.(last);
      return { object: last, gone: true };
    } catch (e) {
      if (e instanceof NotFoundError) return { object: obj, gone: true };
      throw e;
    }
  }

  #gracePeriod(obj: KubeObject, options: DeleteOptions): number {
    if (this.info.plural !== "pods") return 0;
    // Unscheduled and finished pods have nothing to stop: they go at once.
    if (!obj.spec?.nodeName) return 0;
    if (obj.status?.phase === "Succeeded" || obj.status?.phase === "Failed") return 0;
    const grace = options.gracePeriodSeconds ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, grace);
  }

  async #prepareUpdate(
    wanted: KubeObject,
    current: KubeObject,
    options: WriteOptions & { subresource?: WriteSubresource; withStatus?: boolean },
    undo: (() => Promise<void>)[],
  ): Promise<KubeObject> {
    if (wanted.apiVersion === undefined) wanted.apiVersion = current.apiVersion;
    if (wanted.kind === undefined) wanted.kind = current.kind;
    let next: KubeObject;
    if (options.subresource) {
      // A subresource write changes its part only — the status, or a pod's ephemeral containers
      // (validation: only additions) — and nothing of metadata but an apply's managedFields.
      if (options.subresource === "status") next = { ...current, status: wanted.status };
      else {
        next = {
          ...current,
          spec: { ...current.spec, ephemeralContainers: wanted.spec?.ephemeralContainers },
        };
        if (next.spec.ephemeralContainers === undefined) delete next.spec.ephemeralContainers;
      }
      if (options.applying) {
        next.metadata = { ...current.metadata, managedFields: wanted.metadata.managedFields };
      }
    } else {
      next = wanted;
      // `current` is this update's private copy of the stored object: validation takes the
      // parts carried over from it as they are (they were parsed when stored).
      if (this.strategy.statusSubresource && !options.withStatus) next.status = current.status;
      const md = next.metadata ?? {};
      const old = current.metadata;
      next.metadata = {
        ...md,
        name: old.name,
        uid: old.uid,
        creationTimestamp: old.creationTimestamp,
        deletionTimestamp: old.deletionTimestamp,
        deletionGracePeriodSeconds: old.deletionGracePeriodSeconds,
        generation: old.generation,
      };
      if (this.info.namespaced) next.metadata.namespace = old.namespace;
      // A write that leaves managedFields out keeps them (as Kubernetes; [] clears them).
      if (md.managedFields === undefined && old.managedFields !== undefined) {
        next.metadata.managedFields = old.managedFields;
      }
      if (old.deletionTimestamp === undefined) delete next.metadata.deletionTimestamp;
      if (old.deletionGracePeriodSeconds === undefined) {
        delete next.metadata.deletionGracePeriodSeconds;
      }
      if (old.generation === undefined) delete next.metadata.generation;
    }
    const valid = this.#validator.update(next, current, {
      fieldValidation: options.fieldValidation,
      warnings: options.warnings,
      subresource: options.subresource,
    });
    if (!options.applying) {
      trackUpdate(current, valid, {
        manager: options.fieldManager ?? "unknown",
        apiVersion: apiVersionOf(this.info),
        scope: this.fieldScope(options.subresource),
      });
    }
    if (options.subresource !== "status") {
      if (
        current.metadata.generation !== undefined &&
        JSON.stringify(valid.spec) !== JSON.stringify(current.spec)
      ) {
        valid.metadata.generation = current.metadata.generation + 1;
      }
      await this.strategy.prepareForUpdate?.(valid, current, this.#ctx(new Date(), options));
      await this.#admit("UPDATE", valid, current, options, undo);
    }
    valid.metadata.resourceVersion = current.metadata.resourceVersion;
    return valid;
  }

  #checkEnvelope(body: unknown): KubeObject {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new BadRequestError(`the body of the request must be a ${this.info.kind} object`);
    }
    // Create and update rewrite only the envelope and metadata before the validator parses the
    // body into new objects: those two are copied, the rest (a client's request body, or an
    // object an in-process caller built for this call) is read, not changed.
    const source = body as KubeObject;
    const obj = { ...source } as KubeObject;
    const apiVersion = apiVersionOf(this.info);
    if (obj.kind !== undefined && obj.kind !== this.info.kind) {
      throw new BadRequestError(
        `the kind of the object (${obj.kind}) does not match the resource (${this.info.kind})`,
      );
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw new BadRequestError(
        `the API version of the object (${obj.apiVersion}) does not match the resource (${apiVersion})`,
      );
    }
    obj.apiVersion = apiVersion;
    obj.kind = this.info.kind;
    const meta = source.metadata;
    obj.metadata = typeof meta === "object" && meta !== null && !Array.isArray(meta)
      ? { ...meta }
      : {};
    return obj;
  }

  #checkNamespaceOpen(namespace: string, name: string): void {
    const ns = this.#namespaceOf(namespace);
    if (!ns) throw new NotFoundError({ resource: "namespaces", name: namespace });
    if (ns.metadata.deletionTimestamp) {
      throw new ForbiddenError(
        { resource: this.info.plural, group: this.info.group, name },
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  async #admit(
    operation: "CREATE" | "UPDATE",
    obj: KubeObject,
    old: KubeObject | undefined,
    options: WriteOptions,
    undo: (() => Promise<void>)[],
  ): Promise<void> {
    if (!this.#admission) return;
    const warnings: string[] = [];
    await this.#admission({
      operation,
      resource: this.info.plural,
      group: this.info.group,
      kind: this.info.kind,
      namespace: this.info.namespaced ? obj.metadata.namespace : (
        this.info.plural === "namespaces" ? obj.metadata.name : undefined
      ),
      name: obj.metadata.name ?? "",
      object: obj,
      oldObject: old,
      dryRun: options.dryRun ?? false,
      warnings,
      user: options.user,
      undo,
    });
    // A conflict-retried update is admitted again: report each warning once.
    for (const w of warnings) if (!options.warnings?.includes(w)) options.warnings?.push(w);
  }

  #ctx(now: Date, options: WriteOptions): StrategyContext {
    return { now, dryRun: options.dryRun ?? false };
  }
}

/** An object being deleted whose finalizers and grace period are all done. */
function isReadyToGo(obj: KubeObject): boolean {
  const md = obj.metadata;
  if (!md.deletionTimestamp) return false;
  if ((md.finalizers ?? []).length > 0) return false;
  if ((md.deletionGracePeriodSeconds ?? 0) > 0) return false;
  if (obj.kind === "Namespace" && (obj.spec?.finalizers ?? []).length > 0) return false;
  return true;
}
