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
}

/** One validating admission plugin. */
export type AdmissionPlugin = (attrs: AdmissionAttributes) => void | Promise<void>;

/** Runs plugins in order; the first one to throw fails the request. */
export function admissionChain(plugins: readonly AdmissionPlugin[]): AdmissionPlugin {
  return async (attrs) => {
    for (const plugin of plugins) await plugin(attrs);
  };
}
