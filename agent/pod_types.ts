/**
 * The structural subset of the core/v1 Pod the agent reads and writes. The full types come from
 * the zod schemas in shared/api; these interfaces name only the fields the agent uses, with
 * defaulted fields optional, so any schema-typed Pod satisfies them and tests can build pods
 * without spelling out every default (`z.infer` output types make defaulted fields required).
 */

import type { KubeObject, ObjectMeta } from "../shared/api/object.ts";

/** core/v1 EnvVar. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string; apiVersion?: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: { resource: string; containerName?: string };
  };
}

/** core/v1 EnvFromSource. */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

/** core/v1 ContainerPort. */
export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  protocol?: string;
}

/** core/v1 Probe. */
export interface Probe {
  exec?: { command?: string[] };
  httpGet?: {
    path?: string;
    port: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number | string; host?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

/** core/v1 VolumeMount. */
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

/** core/v1 LifecycleHandler: what a postStart or preStop hook does. */
export interface LifecycleHandler {
  exec?: { command?: string[] };
  httpGet?: {
    path?: string;
    port: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number | string; host?: string };
  sleep?: { seconds: number };
}

/** core/v1 Lifecycle. */
export interface Lifecycle {
  postStart?: LifecycleHandler;
  preStop?: LifecycleHandler;
  stopSignal?: string;
}

/** core/v1 Container. */
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  resources?: {
    limits?: Record<string, string | number>;
    requests?: Record<string, string | number>;
  };
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  imagePullPolicy?: string;
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  securityContext?: SecurityContext;
  lifecycle?: Lifecycle;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
}

/** A security profile (seccomp, AppArmor). */
export interface SecurityProfile {
  type: string;
  localhostProfile?: string;
}

/** core/v1 SecurityContext: the fields the agent maps to Docker. */
export interface SecurityContext {
  privileged?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: SecurityProfile;
  appArmorProfile?: SecurityProfile;
}

/** core/v1 PodSecurityContext: the fields the agent maps to Docker. */
export interface PodSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  supplementalGroups?: number[];
  seccompProfile?: SecurityProfile;
  appArmorProfile?: SecurityProfile;
  sysctls?: { name: string; value: string }[];
}

/** core/v1 DownwardAPIVolumeFile: one file of a downwardAPI volume or projection. */
export interface DownwardAPIVolumeFile {
  path: string;
  fieldRef?: { fieldPath: string; apiVersion?: string };
  resourceFieldRef?: { resource: string; containerName?: string; divisor?: string | number };
  mode?: number;
}

/** A ConfigMap or Secret key projected to a file. */
interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** core/v1 VolumeProjection: one source of a projected volume. */
export interface VolumeProjection {
  configMap?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: DownwardAPIVolumeFile[] };
  serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
}

/** core/v1 Volume (the sources the agent supports). */
export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  hostPath?: { path: string; type?: string };
  configMap?: {
    name: string;
    items?: KeyToPath[];
    defaultMode?: number;
    optional?: boolean;
  };
  secret?: {
    secretName: string;
    items?: KeyToPath[];
    defaultMode?: number;
    optional?: boolean;
  };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  downwardAPI?: { items?: DownwardAPIVolumeFile[]; defaultMode?: number };
  projected?: { sources?: VolumeProjection[]; defaultMode?: number };
}

/** core/v1 PodSpec (subset). */
export interface PodSpec {
  nodeName?: string;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  restartPolicy?: string;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  securityContext?: PodSecurityContext;
  hostname?: string;
  subdomain?: string;
  setHostnameAsFQDN?: boolean;
  dnsPolicy?: string;
  dnsConfig?: {
    nameservers?: string[];
    searches?: string[];
    options?: { name: string; value?: string }[];
  };
  hostAliases?: { ip: string; hostnames?: string[] }[];
  enableServiceLinks?: boolean;
  readinessGates?: { conditionType: string }[];
  serviceAccountName?: string;
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  shareProcessNamespace?: boolean;
  hostIPC?: boolean;
  hostPID?: boolean;
  activeDeadlineSeconds?: number;
  os?: { name: string };
}

/** core/v1 ContainerState: exactly one of the three. */
export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    exitCode: number;
    signal?: number;
    reason?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
    containerID?: string;
  };
}

/** core/v1 ContainerStatus. */
export interface ContainerStatus {
  name: string;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started?: boolean;
  stopSignal?: string;
}

/** core/v1 PodCondition. */
export interface PodCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** Skiff extension `status.portMappings[]`: where a container port is published on the node. */
export interface PortMapping {
  containerName: string;
  name?: string;
  containerPort: number;
  protocol: string;
  hostIP: string;
  hostPort: number;
}

/** core/v1 PodStatus (plus Skiff's `portMappings`). */
export interface PodStatus {
  phase?: string;
  conditions?: PodCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  qosClass?: string;
  portMappings?: PortMapping[];
}

/** A Pod as the agent sees it. */
export interface Pod extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string; uid: string };
  spec: PodSpec;
  status?: PodStatus;
}

/** A ConfigMap or Secret: only the data the agent projects. */
export interface KeyValueSource extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  stringData?: Record<string, string>;
}
