/**
 * Reconciles the bootstrap ClusterRoles and ClusterRoleBindings at every server start, as
 * kube-apiserver's `rbac/bootstrap-roles` post-start hook: missing objects are created; present
 * ones annotated `rbac.authorization.kubernetes.io/autoupdate: "true"` (or without the
 * annotation) get back missing rules, labels, annotations and subjects — additions only, so a
 * user's extra grants stay; an aggregated role's rules are the aggregation controller's. A
 * binding whose roleRef no longer matches is recreated. `autoupdate: "false"` leaves an object
 * as the user made it.
 */
import type { KubeObject } from "../../../shared/api/object.ts";
import type { PolicyRule, Subject } from "../../../shared/api/rbac_v1.ts";
import { isAlreadyExists, isNotFound } from "../../../shared/errors.ts";
import { jsonEqual } from "../../../shared/api/validation.ts";
import type { GenericRegistry } from "../../registry/generic_registry.ts";
import {
  AUTOUPDATE_ANNOTATION,
  bootstrapClusterRoleBindings,
  bootstrapClusterRoles,
} from "./bootstrap_policy.ts";
import { ruleCovers } from "./policy_rule.ts";

/** The registries the reconciliation writes through. */
export interface BootstrapRegistries {
  clusterRoles: GenericRegistry;
  clusterRoleBindings: GenericRegistry;
}

/** Creates or reconciles every bootstrap object; see the module comment. */
export async function reconcileBootstrapPolicy(registries: BootstrapRegistries): Promise<void> {
  for (const role of bootstrapClusterRoles()) {
    await ensure(registries.clusterRoles, role as KubeObject, reconcileRole);
  }
  for (const binding of bootstrapClusterRoleBindings()) {
    await ensure(registries.clusterRoleBindings, binding as KubeObject, reconcileBinding);
  }
}

/** The reconciled version of `existing`, or undefined when it needs no change. */
type Reconcile = (existing: KubeObject, expected: KubeObject) => KubeObject | undefined;

async function ensure(
  registry: GenericRegistry,
  expected: KubeObject,
  reconcile: Reconcile,
): Promise<void> {
  const name = expected.metadata.name!;
  const existing = registry.store.find(undefined, name);
  if (!existing) {
    try {
      await registry.create(undefined, structuredClone(expected));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    return;
  }
  if (existing.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === "false") return;
  const next = reconcile(existing, expected);
  if (!next) return;
  if (!jsonEqual(next.roleRef ?? null, existing.roleRef ?? null)) {
    // roleRef is immutable: a binding to another role is replaced.
    try {
      await registry.delete(undefined, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const fresh = structuredClone(next);
    delete fresh.metadata.resourceVersion;
    await registry.create(undefined, fresh);
    return;
  }
  await registry.update(undefined, name, next);
}

function mergeMetadata(next: KubeObject, expected: KubeObject): void {
  next.metadata.labels = { ...next.metadata.labels, ...expected.metadata.labels };
  next.metadata.annotations = { ...expected.metadata.annotations, ...next.metadata.annotations };
}

/** Adds missing rules (unless aggregated), labels, annotations and the aggregationRule. */
export function reconcileRole(existing: KubeObject, expected: KubeObject): KubeObject | undefined {
  const next = structuredClone(existing);
  mergeMetadata(next, expected);
  if (expected.aggregationRule) {
    next.aggregationRule = expected.aggregationRule;
  } else {
    const rules: PolicyRule[] = next.rules ?? [];
    for (const r of (expected.rules ?? []) as PolicyRule[]) {
      if (!rules.some((have) => ruleCovers(have, r))) rules.push(r);
    }
    next.rules = rules;
  }
  return jsonEqual(next, existing) ? undefined : next;
}

/** Adds missing subjects, labels and annotations; takes the expected roleRef. */
export function reconcileBinding(
  existing: KubeObject,
  expected: KubeObject,
): KubeObject | undefined {
  const next = structuredClone(existing);
  mergeMetadata(next, expected);
  const subjects: Subject[] = next.subjects ?? [];
  for (const s of (expected.subjects ?? []) as Subject[]) {
    if (!subjects.some((have) => jsonEqual(have, s))) subjects.push(s);
  }
  next.subjects = subjects;
  next.roleRef = expected.roleRef;
  return jsonEqual(next, existing) ? undefined : next;
}
