/**
 * The core/v1 Pod types the agent reads and writes, derived from the zod schemas in shared/api.
 * They are the schemas' input types (`z.input`): defaulted fields stay optional, so any
 * schema-typed Pod satisfies them and tests can build pods without spelling out every default.
 * The agent's own narrowing — a Pod it runs has a name, namespace and uid — is added here.
 */

import type { z } from "zod";
import type * as core from "../shared/api/core_v1.ts";
import type { Condition } from "../shared/api/meta.ts";
import type { KubeObject, ObjectMeta } from "../shared/api/object.ts";

/** core/v1 EnvVar. */
export type EnvVar = z.input<typeof core.EnvVar>;
/** core/v1 EnvFromSource. */
export type EnvFromSource = z.input<typeof core.EnvFromSource>;
/** core/v1 ContainerPort. */
export type ContainerPort = z.input<typeof core.ContainerPort>;
/** core/v1 Probe. */
export type Probe = z.input<typeof core.Probe>;
/** core/v1 VolumeMount. */
export type VolumeMount = z.input<typeof core.VolumeMount>;
/** core/v1 LifecycleHandler: what a postStart or preStop hook does. */
export type LifecycleHandler = z.input<typeof core.LifecycleHandler>;
/** core/v1 Lifecycle. */
export type Lifecycle = z.input<typeof core.Lifecycle>;
/** core/v1 Container. */
export type Container = z.input<typeof core.Container>;
/** core/v1 SecurityContext. */
export type SecurityContext = z.input<typeof core.SecurityContext>;
/** core/v1 PodSecurityContext. */
export type PodSecurityContext = z.input<typeof core.PodSecurityContext>;
/** core/v1 DownwardAPIVolumeFile: one file of a downwardAPI volume or projection. */
export type DownwardAPIVolumeFile = z.input<typeof core.DownwardAPIVolumeFile>;
/** core/v1 VolumeProjection: one source of a projected volume. */
export type VolumeProjection = z.input<typeof core.VolumeProjection>;
/** core/v1 Volume. */
export type Volume = z.input<typeof core.Volume>;
/** core/v1 PodSpec. */
export type PodSpec = z.input<typeof core.PodSpec>;
/** core/v1 ContainerState: exactly one of the three. */
export type ContainerState = z.input<typeof core.ContainerState>;
/** core/v1 ContainerStatus; the agent always reports both states. */
export type ContainerStatus = z.input<typeof core.ContainerStatus> & {
  state: ContainerState;
  lastState: ContainerState;
};
/**
 * core/v1 PodCondition. `lastProbeTime` may be `null`, as Kubernetes writes a zero time (and as
 * a merge patch clears it).
 */
export type PodCondition = Omit<z.input<typeof Condition>, "lastProbeTime"> & {
  lastProbeTime?: string | null;
};
/** Skiff extension `status.portMappings[]`: where a container port is published on the node. */
export type PortMapping = z.input<typeof core.PortMapping>;
/** core/v1 PodStatus (plus Skiff's `portMappings`). */
export type PodStatus =
  & Omit<
    z.input<typeof core.PodStatus>,
    "conditions" | "containerStatuses" | "initContainerStatuses"
  >
  & {
    conditions?: PodCondition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };

/** A Pod as the agent sees it: one it runs has a name, a namespace and a uid. */
export interface Pod extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string; uid: string };
  spec: PodSpec;
  status?: PodStatus;
}

/** A ConfigMap or Secret: only the data the agent projects (and a Secret's type). */
export interface KeyValueSource extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  stringData?: Record<string, string>;
}
