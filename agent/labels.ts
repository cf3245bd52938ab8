/**
 * The Docker labels and names the agent puts on every container it creates. Labels are the only
 * link between a Docker container and the pod it belongs to, so a restarted agent can adopt its
 * containers from Docker alone; the node label keeps agents sharing one engine out of each
 * other's containers.
 */

/** Node name of the agent that owns the container; an agent only ever touches its own. */
export const LABEL_NODE = "io.skiff.node";
/** metadata.uid of the pod. */
export const LABEL_POD_UID = "io.kubernetes.pod.uid";
/** metadata.name of the pod. */
export const LABEL_POD_NAME = "io.kubernetes.pod.name";
/** metadata.namespace of the pod. */
export const LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace";
/** Container name from the pod spec, or `POD` for the infra container. */
export const LABEL_CONTAINER_NAME = "io.kubernetes.container.name";
/** How many times this container had been restarted when this instance was created. */
export const LABEL_RESTART_COUNT = "io.kubernetes.container.restartCount";
/** Hash of the container spec the instance was created from (a changed spec means recreate). */
export const LABEL_CONTAINER_HASH = "io.kubernetes.container.hash";
/** The pod's termination grace period, so a restarted agent can still stop orphans politely. */
export const LABEL_GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod";
/** `sandbox` for the infra container, `container` for app containers. */
export const LABEL_KIND = "io.skiff.kind";

/** Container name of the infra container in labels and Docker names. */
export const INFRA_CONTAINER_NAME = "POD";

/** Which pod a container belongs to. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/**
 * The Docker container name, Kubernetes style:
 * `k8s_<container>_<pod>_<namespace>_<uid>_<restartCount>` (`k8s_POD_...` for the infra).
 */
export function dockerContainerName(pod: PodRef, container: string, restartCount: number): string {
  return `k8s_${container}_${pod.name}_${pod.namespace}_${pod.uid}_${restartCount}`;
}
