/**
 * The ClusterRole aggregation controller (kube-controller-manager's `clusterrole-aggregation`):
 * a ClusterRole with an `aggregationRule` gets as its rules the union of the rules of every
 * other ClusterRole matched by one of its `clusterRoleSelectors`, in name order, without
 * duplicates — so `admin`, `edit` and `view` grow when a CRD's package ships a ClusterRole
 * labelled `rbac.authorization.k8s.io/aggregate-to-view: "true"`.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { PolicyRule } from "../../shared/api/rbac_v1.ts";
import { CLUSTER_ROLES } from "../../shared/client/refs.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { runController } from "../../shared/controller.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { selectorFromLabelSelector } from "../../shared/labels.ts";
import type { Lister } from "../../shared/lister.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { WorkQueue } from "../../shared/work_queue.ts";
import { jsonEqual } from "../../shared/api/validation.ts";

/** The rules an aggregated ClusterRole should have, given every ClusterRole. */
export function aggregatedRules(role: KubeObject, all: readonly KubeObject[]): PolicyRule[] {
  const selectors = (role.aggregationRule?.clusterRoleSelectors ?? []).map(
    // deno-lint-ignore no-explicit-any
    (s: any) => selectorFromLabelSelector(s),
  );
  const sources = all
    .filter((other) => other.metadata.name !== role.metadata.name)
    .filter((other) =>
      selectors.some((s: { matches(l?: Record<string, string>): boolean }) =>
        s.matches(other.metadata.labels ?? {})
      )
    )
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  const rules: PolicyRule[] = [];
  for (const source of sources) {
    for (const r of (source.rules ?? []) as PolicyRule[]) {
      if (!rules.some((have) => jsonEqual(have, r))) rules.push(r);
    }
  }
  return rules;
}

/** Reconciles aggregated ClusterRoles over a lister and a client. */
export class ClusterRoleAggregationController {
  readonly #roles: Lister<KubeObject>;
  readonly #client: ControllerClient;

  constructor(deps: { roles: Lister<KubeObject>; client: ControllerClient }) {
    this.#roles = deps.roles;
    this.#client = deps.client;
  }

  /** Brings the aggregated ClusterRole `name` up to date (nothing for a plain one). */
  async reconcile(name: string): Promise<void> {
    const role = this.#roles.get(name);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, this.#roles.list());
    if (jsonEqual(rules, role.rules ?? [])) return;
    try {
      await this.#client.update(CLUSTER_ROLES, { ...structuredClone(role), rules });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** The aggregated ClusterRoles (every one of them may gather from a changed role). */
  aggregatedNames(): string[] {
    return this.#roles.list().filter((r) => r.aggregationRule).map((r) => r.metadata.name!);
  }
}

/** Runs the aggregation controller until `signal` aborts. */
export async function runClusterRoleAggregationController(
  options: { informers: InformerSet; logger?: Logger },
  signal: AbortSignal,
): Promise<void> {
  const roles = options.informers.get(CLUSTER_ROLES);
  const queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 30_000 });
  const controller = new ClusterRoleAggregationController({
    roles,
    client: options.informers.client,
  });
  const enqueueAll = () => {
    for (const name of controller.aggregatedNames()) queue.add(name);
  };
  roles.addEventHandler({ onAdd: enqueueAll, onUpdate: enqueueAll, onDelete: enqueueAll });
  await runController({
    name: "clusterrole-aggregation",
    queue,
    reconcile: (key) => controller.reconcile(key),
    informers: [roles],
    logger: options.logger ?? silentLogger,
  }, signal);
}
