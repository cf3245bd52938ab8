/**
 * Builders for the scheduler's unit tests: Node and Pod objects, a cache holding nodes and placed
 * pods, and one scheduling decision with the default profile.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { SchedulerCache } from "./cache.ts";
import { schedule } from "./framework.ts";
import { podInfo } from "./pod_info.ts";
import { defaultProfile } from "./profile.ts";

/** A ready node with 2 CPUs and 4Gi, labelled with its hostname plus `labels`. */
export function testNode(name: string, opts: {
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
} = {}): KubeObject {
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...opts.labels } },
    spec: { taints: opts.taints },
    status: {
      allocatable: { cpu: "2", memory: "4Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

/** A pod in `default` (or `meta.namespace`) with one container and `spec` merged in. */
export function testPod(
  name: string,
  spec: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): KubeObject {
  return {
    metadata: { name, namespace: "default", ...meta },
    spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
  } as KubeObject;
}

/** A cache with `nodes`, and `placed` pods bound where their `nodeName` says. */
export function testCache(nodes: KubeObject[], placed: KubeObject[] = []): SchedulerCache {
  const c = new SchedulerCache();
  for (const n of nodes) c.setNode(n);
  for (const p of placed) c.updatePod(p);
  return c;
}

/** `pod` bound to `nodeName`. */
export function on(nodeName: string, pod: KubeObject): KubeObject {
  return { ...pod, spec: { ...pod.spec, nodeName } };
}

/**
 * One decision with the default profile; `namespaceLabels` as the scheduler would give them;
 * `tie: "first"|"last"` picks among equally scored nodes deterministically (in name order).
 */
export function scheduleIn(
  c: SchedulerCache,
  pod: KubeObject,
  options: { namespaceLabels?: Record<string, Record<string, string>>; tie?: "first" | "last" } =
    {},
) {
  const info = podInfo(pod);
  const labels = options.namespaceLabels;
  if (labels) info.namespaceLabels = (ns) => labels[ns];
  // The framework replaces its pick among ties when random() * ties < 1.
  const random = options.tie === undefined
    ? undefined
    : options.tie === "first"
    ? () => 0.999
    : () => 0;
  return schedule(info, c.nodes(), { profile: defaultProfile(), random });
}

/** The nodes a pod may get among equally good ones: the first and the last tied in name order. */
export function tiedChoices(c: SchedulerCache, pod: KubeObject): string[] {
  const first = scheduleIn(c, pod, { tie: "first" }).node?.name;
  const last = scheduleIn(c, pod, { tie: "last" }).node?.name;
  return [...new Set([first, last])].filter((n): n is string => !!n).sort();
}

/** The FailedScheduling message of a decision that found no node (fails when one was found). */
export function failure(r: ReturnType<typeof scheduleIn>): string {
  if (r.node) throw new Error(`expected no node, got ${r.node.name}`);
  return r.message;
}
