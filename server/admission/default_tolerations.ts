/**
 * The DefaultTolerationSeconds admission step the API server runs on every new pod: tolerate
 * the `not-ready` and `unreachable` NoExecute taints for a while, so a pod leaves a dead node
 * after that time (the node lifecycle controller evicts it) rather than at once or never.
 */
import type { Toleration } from "../../shared/api/core_v1.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from "../../shared/api/well_known_taints.ts";

/**
 * Adds Kubernetes' default tolerations to a new pod (in place, and returns it): tolerate the
 * `not-ready` and `unreachable` NoExecute taints for `tolerationSeconds` (default 15 s here,
 * 300 s in Kubernetes) unless the pod already tolerates them, so a workload can set its own.
 */
export function defaultTolerations(
  pod: KubeObject,
  options: { tolerationSeconds?: number } = {},
): KubeObject {
  const seconds = options.tolerationSeconds ?? 15;
  const spec = (pod.spec ??= {});
  const tolerations: Toleration[] = (spec.tolerations ??= []);
  for (const key of [TAINT_NOT_READY, TAINT_UNREACHABLE]) {
    const has = tolerations.some((t) =>
      (t.key === key || (!t.key && t.operator === "Exists")) &&
      (!t.effect || t.effect === "NoExecute")
    );
    if (!has) {
      tolerations.push({
        key,
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: seconds,
      });
    }
  }
  return pod;
}
