/**
 * Per-kind behaviour of create, update and delete (kube-apiserver's "strategies"): what is reset
 * on create, which part a status update may change, when `generation` moves, and kind-specific
 * admission such as a Service's address allocation or a Pod's default tolerations.
 */
import type { KubeObject } from "../../shared/api/object.ts";

/** What a strategy hook may need from the rest of the server. */
export interface StrategyContext {
  now: Date;
  /** The request is a dry run: allocate nothing for real. */
  dryRun: boolean;
  /**
   * On create, the name as the request gave it: its `generateName` when the server generated
   * the name. kube-apiserver's mutating admission runs before the name is generated, so that is
   * the name its refusals give (`pods "web-7d9f8-" is forbidden: ...`), and repeated refusals of
   * a controller's pods read the same (their events aggregate).
   */
  requestedName?: string;
}

/** Hooks of one kind; every hook mutates the object it is given. */
export interface Strategy {
  /** The kind has a `/status` subresource: the main resource ignores status changes. */
  statusSubresource: boolean;
  /**
   * Where a custom resource's `scale` subresource reads and writes (`.spec.replicas`,
   * `.status.replicas`, an optional `.status.selector`); built-in kinds use their own fields.
   */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /**
   * The kind has no Go type with patch strategies to merge by (custom resources): a strategic
   * merge patch is a 415, as kube-apiserver answers it.
   */
  noStrategicMergePatch?: boolean;
  /** Called on a new object after validation and defaults. */
  prepareForCreate?(obj: KubeObject, ctx: StrategyContext): void | Promise<void>;
  /** Called on the new object of a main-resource update, with the current one. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): void | Promise<void>;
  /**
   * Called before a delete of the named object starts; throws to refuse it (kube-apiserver's
   * storage overriding Delete, as for the system PriorityClasses).
   */
  beforeDelete?(name: string): void;
  /** Called after an object is gone for good (release allocations). */
  afterDelete?(obj: KubeObject): void | Promise<void>;
}

/** Fields that only the system sets: never taken from a client's body. */
export function resetSystemMetadata(obj: KubeObject): void {
  delete obj.metadata.uid;
  delete obj.metadata.resourceVersion;
  delete obj.metadata.creationTimestamp;
  delete obj.metadata.deletionTimestamp;
  delete obj.metadata.deletionGracePeriodSeconds;
  delete obj.metadata.generation;
}

const DEFAULT_STRATEGY: Strategy = { statusSubresource: false };

/** Registry of strategies by plural resource name (`pods`); kinds not listed get the default. */
export class StrategyTable {
  readonly #byResource = new Map<string, Strategy>();

  /** Registers or extends the strategy of a resource. */
  set(resource: string, strategy: Partial<Strategy>): void {
    this.#byResource.set(resource, { ...this.get(resource), ...strategy });
  }

  /** The strategy of a resource. */
  get(resource: string): Strategy {
    return this.#byResource.get(resource) ?? DEFAULT_STRATEGY;
  }
}
