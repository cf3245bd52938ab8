/**
 * The shape of validating admission in Skiff, as kube-apiserver's: after an object has been
 * decoded, defaulted, validated and prepared by its kind's strategy, and before it is stored, each
 * admission plugin sees the request's attributes and either throws (the request fails with that
 * error) or lets it through, possibly adding warnings (`Warning: 299 - "..."` response headers).
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { User } from "../auth/authorizer.ts";

/** What an admission plugin learns about one create or update. */
export interface AdmissionAttributes {
  operation: "CREATE" | "UPDATE";
  /** Plural resource name, e.g. `pods`, `deployments`. */
  resource: string;
  /** API group ("" for core). */
  group: string;
  kind: string;
  /** Request namespace; for a Namespace object, its own name (as kube-apiserver sets it). */
  namespace?: string;
  name: string;
  /** The object about to be stored (plugins must not change it). */
  object: KubeObject;
  /** The stored object, on UPDATE. */
  oldObject?: KubeObject;
  dryRun: boolean;
  /** Warnings for the response headers. */
  warnings: string[];
  /** The requester; absent for the server's own writes (bootstrap), which are trusted. */
  user?: User;
  /**
   * Where a plugin that acts beyond the object (ResourceQuota admission charging a quota) leaves
   * the steps that take it back; the registry runs them when the write it admitted is not stored
   * after all (the name is taken, an update is retried on a conflict, a later plugin refuses).
   */
  undo?: (() => Promise<void>)[];
}

/** One validating admission plugin. */
export type AdmissionPlugin = (attrs: AdmissionAttributes) => void | Promise<void>;

/** Runs plugins in order; the first one to throw fails the request. */
export function admissionChain(plugins: readonly AdmissionPlugin[]): AdmissionPlugin {
  return async (attrs) => {
    for (const plugin of plugins) await plugin(attrs);
  };
}

/**
 * Runs the undo steps plugins left in `undo` (newest first) and empties it. Best effort: a step
 * that fails leaves its charge for the quota controller, which measures usage from the objects.
 */
export async function runUndo(undo: (() => Promise<void>)[]): Promise<void> {
  while (undo.length > 0) {
    const step = undo.pop()!;
    await step().catch(() => {});
  }
}
