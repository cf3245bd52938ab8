/**
 * The taint keys Kubernetes itself puts on nodes, shared by the node lifecycle controller, the
 * default-tolerations admission step and the scheduler.
 */

/** Taint key of a node whose lease expired (Ready=Unknown). */
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
/** Taint key of a node reporting Ready=False. */
export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";
/** The NoSchedule taint a cordoned (`spec.unschedulable`) node carries, as Kubernetes shows it. */
export const TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";
