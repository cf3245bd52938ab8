/**
 * core/v1 kinds: Namespace, Node, Pod, Service, Endpoints, ReplicationController, ConfigMap,
 * Secret, ServiceAccount, Event and Binding, with the pod template shared by the workload kinds of apps/v1.
 *
 * Unconditional Kubernetes defaults (`restartPolicy: Always`, `protocol: TCP`, probe periods, ...)
 * are `.default()`s here; defaults that depend on other fields (imagePullPolicy from the image
 * tag, a Service port's targetPort, a ReplicationController's selector) are in defaults.ts.
 */
import { z } from "zod";
import {
  Condition,
  CONDITIONS_PATCH,
  Int32,
  Int64,
  IntOrString,
  LabelSelector,
  MERGE_BY_NAME,
  ObjectMeta,
  StringMap,
  Time,
  TypeMeta,
} from "./meta.ts";
import { Quantity, ResourceList } from "./quantity.ts";
import { PreemptionPolicy } from "./scheduling_v1.ts";

const gvk = (kind: string) => ({
  "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind }],
});

/** A reference to another object (events' involvedObject, endpoint targets, bindings). */
export const ObjectReference = z.object({
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  apiVersion: z.string().optional(),
  resourceVersion: z.string().optional(),
  fieldPath: z.string().optional(),
}).meta({ id: "io.k8s.api.core.v1.ObjectReference" });
export type ObjectReference = z.infer<typeof ObjectReference>;

/** `{name}` reference to an object in the same namespace (imagePullSecrets, envFrom). */
export const LocalObjectReference = z.object({ name: z.string().optional() });

// ---------------------------------------------------------------------------------------------
// Containers.

/** The protocols of container and service ports. */
export const Protocol = z.enum(["TCP", "UDP", "SCTP"]);
export type Protocol = z.infer<typeof Protocol>;

/** containers[].ports[]. */
export const ContainerPort = z.object({
  name: z.string().optional(),
  containerPort: Int32,
  hostPort: Int32.optional(),
  hostIP: z.string().optional(),
  protocol: Protocol.default("TCP"),
}).meta({ id: "io.k8s.api.core.v1.ContainerPort" });
export type ContainerPort = z.infer<typeof ContainerPort>;

const KeySelector = z.object({
  name: z.string().optional(),
  key: z.string(),
  optional: z.boolean().optional(),
});

/** env[].valueFrom. */
export const EnvVarSource = z.object({
  configMapKeyRef: KeySelector.optional(),
  secretKeyRef: KeySelector.optional(),
  fieldRef: z.object({
    apiVersion: z.string().default("v1"),
    fieldPath: z.string(),
  }).optional(),
  resourceFieldRef: z.object({
    containerName: z.string().optional(),
    resource: z.string(),
    divisor: Quantity.optional(),
  }).optional(),
});
export type EnvVarSource = z.infer<typeof EnvVarSource>;

/** containers[].env[]. */
export const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: EnvVarSource.optional(),
}).meta({ id: "io.k8s.api.core.v1.EnvVar" });
export type EnvVar = z.infer<typeof EnvVar>;

/** containers[].envFrom[]. */
export const EnvFromSource = z.object({
  prefix: z.string().optional(),
  configMapRef: z.object({ name: z.string().optional(), optional: z.boolean().optional() })
    .optional(),
  secretRef: z.object({ name: z.string().optional(), optional: z.boolean().optional() })
    .optional(),
});
export type EnvFromSource = z.infer<typeof EnvFromSource>;

/** containers[].resources. */
export const ResourceRequirements = z.object({
  limits: ResourceList.optional(),
  requests: ResourceList.optional(),
  claims: z.array(z.looseObject({ name: z.string() })).optional(),
}).meta({ id: "io.k8s.api.core.v1.ResourceRequirements" });
export type ResourceRequirements = z.infer<typeof ResourceRequirements>;

/** probe.httpGet and lifecycle handlers' httpGet. */
export const HTTPGetAction = z.object({
  path: z.string().default("/"),
  port: IntOrString,
  host: z.string().optional(),
  scheme: z.enum(["HTTP", "HTTPS"]).default("HTTP"),
  httpHeaders: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});
export type HTTPGetAction = z.infer<typeof HTTPGetAction>;

/** probe.tcpSocket. */
export const TCPSocketAction = z.object({
  port: IntOrString,
  host: z.string().optional(),
});
export type TCPSocketAction = z.infer<typeof TCPSocketAction>;

/** probe.exec. */
export const ExecAction = z.object({ command: z.array(z.string()).optional() });
export type ExecAction = z.infer<typeof ExecAction>;

/** liveness/readiness/startup probes, with Kubernetes' defaults for the timings. */
export const Probe = z.object({
  exec: ExecAction.optional(),
  httpGet: HTTPGetAction.optional(),
  tcpSocket: TCPSocketAction.optional(),
  grpc: z.object({ port: Int32, service: z.string().optional() }).optional(),
  initialDelaySeconds: Int32.optional(),
  timeoutSeconds: Int32.default(1),
  periodSeconds: Int32.default(10),
  successThreshold: Int32.default(1),
  failureThreshold: Int32.default(3),
  terminationGracePeriodSeconds: Int64.optional(),
}).meta({
  id: "io.k8s.api.core.v1.Probe",
  description: "A health check the agent runs against a container.",
});
export type Probe = z.infer<typeof Probe>;

/** containers[].volumeMounts[]. */
export const VolumeMount = z.object({
  name: z.string(),
  mountPath: z.string(),
  readOnly: z.boolean().optional(),
  subPath: z.string().optional(),
  subPathExpr: z.string().optional(),
  mountPropagation: z.string().optional(),
}).meta({ id: "io.k8s.api.core.v1.VolumeMount" });
export type VolumeMount = z.infer<typeof VolumeMount>;

/**
 * The seccomp/AppArmor profile of a security context. Security contexts and lifecycle hooks are
 * "loose": Skiff passes what it does not model through unchanged; the modelled fields give
 * `kubectl apply` the schema it needs to merge them.
 */
const SecurityProfile = z.looseObject({
  type: z.string(),
  localhostProfile: z.string().optional(),
});

const SELinuxOptions = z.looseObject({
  user: z.string().optional(),
  role: z.string().optional(),
  type: z.string().optional(),
  level: z.string().optional(),
});

/** containers[].securityContext (loose). */
export const SecurityContext = z.looseObject({
  capabilities: z.looseObject({
    add: z.array(z.string()).optional(),
    drop: z.array(z.string()).optional(),
  }).optional(),
  privileged: z.boolean().optional(),
  seLinuxOptions: SELinuxOptions.optional(),
  windowsOptions: z.looseObject({}).optional(),
  runAsUser: Int64.optional(),
  runAsGroup: Int64.optional(),
  runAsNonRoot: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  procMount: z.string().optional(),
  seccompProfile: SecurityProfile.optional(),
  appArmorProfile: SecurityProfile.optional(),
}).meta({ id: "io.k8s.api.core.v1.SecurityContext" });
export type SecurityContext = z.infer<typeof SecurityContext>;

/** spec.securityContext of a pod (loose). */
export const PodSecurityContext = z.looseObject({
  seLinuxOptions: SELinuxOptions.optional(),
  windowsOptions: z.looseObject({}).optional(),
  runAsUser: Int64.optional(),
  runAsGroup: Int64.optional(),
  runAsNonRoot: z.boolean().optional(),
  supplementalGroups: z.array(Int64).optional(),
  supplementalGroupsPolicy: z.string().optional(),
  fsGroup: Int64.optional(),
  fsGroupChangePolicy: z.string().optional(),
  sysctls: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  seccompProfile: SecurityProfile.optional(),
  appArmorProfile: SecurityProfile.optional(),
  seLinuxChangePolicy: z.string().optional(),
}).meta({ id: "io.k8s.api.core.v1.PodSecurityContext" });
export type PodSecurityContext = z.infer<typeof PodSecurityContext>;

/** A lifecycle hook: one of exec, httpGet, tcpSocket, sleep. */
export const LifecycleHandler = z.looseObject({
  exec: ExecAction.optional(),
  httpGet: HTTPGetAction.optional(),
  tcpSocket: TCPSocketAction.optional(),
  sleep: z.object({ seconds: Int64 }).optional(),
});
export type LifecycleHandler = z.infer<typeof LifecycleHandler>;

/** containers[].lifecycle (loose). */
export const Lifecycle = z.looseObject({
  postStart: LifecycleHandler.optional(),
  preStop: LifecycleHandler.optional(),
  stopSignal: z.string().optional(),
}).meta({ id: "io.k8s.api.core.v1.Lifecycle" });
export type Lifecycle = z.infer<typeof Lifecycle>;

/** How the kubelet pulls a container's image. */
export const PullPolicy = z.enum(["Always", "IfNotPresent", "Never"]);
export type PullPolicy = z.infer<typeof PullPolicy>;

/** One container (also the shape of initContainers). */
export const Container = z.object({
  name: z.string(),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  ports: z.array(ContainerPort).optional().meta({
    "x-kubernetes-patch-merge-key": "containerPort",
    "x-kubernetes-patch-strategy": "merge",
  }),
  envFrom: z.array(EnvFromSource).optional(),
  env: z.array(EnvVar).optional().meta(MERGE_BY_NAME),
  resources: ResourceRequirements.optional(),
  volumeMounts: z.array(VolumeMount).optional().meta({
    "x-kubernetes-patch-merge-key": "mountPath",
    "x-kubernetes-patch-strategy": "merge",
  }),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  startupProbe: Probe.optional(),
  lifecycle: Lifecycle.optional(),
  terminationMessagePath: z.string().default("/dev/termination-log"),
  terminationMessagePolicy: z.enum(["File", "FallbackToLogsOnError"]).default("File"),
  imagePullPolicy: PullPolicy.optional(),
  securityContext: SecurityContext.optional(),
  restartPolicy: z.string().optional(),
  stdin: z.boolean().optional(),
  stdinOnce: z.boolean().optional(),
  resizePolicy: z.array(z.object({ resourceName: z.string(), restartPolicy: z.string() }))
    .optional(),
  volumeDevices: z.array(z.object({ name: z.string(), devicePath: z.string() })).optional(),
  tty: z.boolean().optional(),
}).meta({ id: "io.k8s.api.core.v1.Container", description: "A single container of a pod." });
export type Container = z.infer<typeof Container>;

/**
 * A container added to a running pod for debugging (`kubectl debug`) through the
 * `pods/ephemeralcontainers` subresource; it may share the process namespace of
 * `targetContainerName`.
 */
export const EphemeralContainer = Container.extend({
  targetContainerName: z.string().optional(),
}).meta({
  id: "io.k8s.api.core.v1.EphemeralContainer",
  description: "A container added to a running pod for user-initiated activities such as " +
    "debugging; never restarted, with no ports, probes, lifecycle or resources.",
});
export type EphemeralContainer = z.infer<typeof EphemeralContainer>;

// ---------------------------------------------------------------------------------------------
// Volumes.

/** `items` of configMap/secret volumes: which keys land at which paths. */
export const KeyToPath = z.object({
  key: z.string(),
  path: z.string(),
  mode: Int32.optional(),
});
export type KeyToPath = z.infer<typeof KeyToPath>;

/** Volume sources Kubernetes has and Skiff only models (admission refuses them). */
export const UNSUPPORTED_VOLUME_SOURCES = [
  "iscsi",
  "glusterfs",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "fc",
  "azureFile",
  "azureDisk",
  "vsphereVolume",
  "quobyte",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
] as const;

/** One file of a downwardAPI volume (or projected source): a pod field or a container resource. */
export const DownwardAPIVolumeFile = z.object({
  path: z.string(),
  fieldRef: z.object({ apiVersion: z.string().default("v1"), fieldPath: z.string() }).optional(),
  resourceFieldRef: z.object({
    containerName: z.string().optional(),
    resource: z.string(),
    divisor: Quantity.optional(),
  }).optional(),
  mode: Int32.optional(),
}).meta({ id: "io.k8s.api.core.v1.DownwardAPIVolumeFile" });
export type DownwardAPIVolumeFile = z.infer<typeof DownwardAPIVolumeFile>;

/** One source of a projected volume. */
export const VolumeProjection = z.object({
  secret: z.object({
    name: z.string().optional(),
    items: z.array(KeyToPath).optional(),
    optional: z.boolean().optional(),
  }).optional(),
  configMap: z.object({
    name: z.string().optional(),
    items: z.array(KeyToPath).optional(),
    optional: z.boolean().optional(),
  }).optional(),
  downwardAPI: z.object({ items: z.array(DownwardAPIVolumeFile).optional() }).optional(),
  serviceAccountToken: z.object({
    audience: z.string().optional(),
    expirationSeconds: Int64.default(3600),
    path: z.string(),
  }).optional(),
  // Modelled so that admission can refuse it by name.
  clusterTrustBundle: z.looseObject({}).optional(),
}).meta({ id: "io.k8s.api.core.v1.VolumeProjection" });
export type VolumeProjection = z.infer<typeof VolumeProjection>;

/** A pod volume; exactly one source should be set (Skiff runs the first four). */
export const Volume = z.object({
  name: z.string(),
  emptyDir: z.object({
    medium: z.string().optional(),
    sizeLimit: Quantity.optional(),
  }).optional(),
  hostPath: z.object({
    path: z.string(),
    type: z.string().default(""),
  }).optional(),
  configMap: z.object({
    name: z.string().optional(),
    items: z.array(KeyToPath).optional(),
    defaultMode: Int32.default(420),
    optional: z.boolean().optional(),
  }).optional(),
  secret: z.object({
    secretName: z.string().optional(),
    items: z.array(KeyToPath).optional(),
    defaultMode: Int32.default(420),
    optional: z.boolean().optional(),
  }).optional(),
  persistentVolumeClaim: z.looseObject({
    claimName: z.string(),
    readOnly: z.boolean().optional(),
  }).optional(),
  downwardAPI: z.object({
    items: z.array(DownwardAPIVolumeFile).optional(),
    defaultMode: Int32.default(420),
  }).optional(),
  projected: z.object({
    sources: z.array(VolumeProjection).optional(),
    defaultMode: Int32.default(420),
  }).optional(),
  // Sources Skiff does not run: modelled so that admission can refuse them by name (422).
  nfs: z.looseObject({ server: z.string(), path: z.string() }).optional(),
  csi: z.looseObject({ driver: z.string() }).optional(),
  ephemeral: z.looseObject({}).optional(),
  image: z.looseObject({ reference: z.string().optional() }).optional(),
  ...Object.fromEntries(UNSUPPORTED_VOLUME_SOURCES.map((s) => [s, z.looseObject({}).optional()])),
}).meta({
  id: "io.k8s.api.core.v1.Volume",
  description: "A named volume of a pod; exactly one source should be set.",
});
export type Volume = z.infer<typeof Volume>;

// ---------------------------------------------------------------------------------------------
// Pod spec and status.

const NodeSelectorRequirement = z.object({
  key: z.string(),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
  values: z.array(z.string()).optional(),
});

/** One term of node affinity: requirements ANDed. */
export const NodeSelectorTerm = z.object({
  matchExpressions: z.array(NodeSelectorRequirement).optional(),
  matchFields: z.array(NodeSelectorRequirement).optional(),
});
export type NodeSelectorTerm = z.infer<typeof NodeSelectorTerm>;

/** One pod (anti-)affinity term: pods matching the selector, within one topology domain. */
export const PodAffinityTerm = z.looseObject({
  labelSelector: LabelSelector.optional(),
  namespaces: z.array(z.string()).optional(),
  topologyKey: z.string(),
  namespaceSelector: LabelSelector.optional(),
  matchLabelKeys: z.array(z.string()).optional(),
  mismatchLabelKeys: z.array(z.string()).optional(),
});
export type PodAffinityTerm = z.infer<typeof PodAffinityTerm>;

/** podAffinity / podAntiAffinity (the scheduler's InterPodAffinity plugin honours every field). */
export const PodAffinity = z.looseObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(PodAffinityTerm).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(z.object({
    weight: Int32,
    podAffinityTerm: PodAffinityTerm,
  })).optional(),
});
export type PodAffinity = z.infer<typeof PodAffinity>;

/** spec.affinity: node affinity and pod (anti-)affinity. */
export const Affinity = z.object({
  nodeAffinity: z.object({
    requiredDuringSchedulingIgnoredDuringExecution: z.object({
      nodeSelectorTerms: z.array(NodeSelectorTerm),
    }).optional(),
    preferredDuringSchedulingIgnoredDuringExecution: z.array(z.object({
      weight: Int32,
      preference: NodeSelectorTerm,
    })).optional(),
  }).optional(),
  podAffinity: PodAffinity.optional(),
  podAntiAffinity: PodAffinity.optional(),
});
export type Affinity = z.infer<typeof Affinity>;

/** The effects of taints and tolerations. */
export const TaintEffect = z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]);
export type TaintEffect = z.infer<typeof TaintEffect>;

/** spec.tolerations[]. */
export const Toleration = z.object({
  key: z.string().optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: z.string().optional(),
  effect: z.union([TaintEffect, z.literal("")]).optional(),
  tolerationSeconds: Int64.optional(),
});
export type Toleration = z.infer<typeof Toleration>;

/** The pod's restart policy. */
export const RestartPolicy = z.enum(["Always", "OnFailure", "Never"]);
export type RestartPolicy = z.infer<typeof RestartPolicy>;

/** Pod spec: containers, volumes and how the pod is scheduled and run. */
export const PodSpec = z.object({
  volumes: z.array(Volume).optional().meta({
    "x-kubernetes-patch-merge-key": "name",
    "x-kubernetes-patch-strategy": "merge,retainKeys",
  }),
  initContainers: z.array(Container).optional().meta(MERGE_BY_NAME),
  containers: z.array(Container).meta(MERGE_BY_NAME),
  restartPolicy: RestartPolicy.default("Always"),
  terminationGracePeriodSeconds: Int64.default(30),
  activeDeadlineSeconds: Int64.optional(),
  dnsPolicy: z.enum(["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]).default(
    "ClusterFirst",
  ),
  dnsConfig: z.looseObject({
    nameservers: z.array(z.string()).optional(),
    searches: z.array(z.string()).optional(),
    options: z.array(z.object({ name: z.string(), value: z.string().optional() })).optional(),
  }).optional(),
  nodeSelector: StringMap.optional(),
  serviceAccountName: z.string().optional(),
  serviceAccount: z.string().optional(),
  automountServiceAccountToken: z.boolean().optional(),
  nodeName: z.string().optional(),
  hostNetwork: z.boolean().optional(),
  hostPID: z.boolean().optional(),
  hostIPC: z.boolean().optional(),
  shareProcessNamespace: z.boolean().optional(),
  securityContext: PodSecurityContext.default({}),
  imagePullSecrets: z.array(LocalObjectReference).optional().meta(MERGE_BY_NAME),
  hostname: z.string().optional(),
  subdomain: z.string().optional(),
  affinity: Affinity.optional(),
  schedulerName: z.string().default("default-scheduler"),
  tolerations: z.array(Toleration).optional(),
  hostAliases: z.array(z.object({
    ip: z.string(),
    hostnames: z.array(z.string()).optional(),
  })).optional(),
  priorityClassName: z.string().optional(),
  priority: Int32.optional(),
  preemptionPolicy: PreemptionPolicy.optional(),
  readinessGates: z.array(z.object({ conditionType: z.string() })).optional(),
  runtimeClassName: z.string().optional(),
  enableServiceLinks: z.boolean().optional(),
  topologySpreadConstraints: z.array(z.looseObject({
    maxSkew: Int32,
    topologyKey: z.string(),
    whenUnsatisfiable: z.string(),
    labelSelector: LabelSelector.optional(),
    minDomains: Int32.optional(),
    nodeAffinityPolicy: z.string().optional(),
    nodeTaintsPolicy: z.string().optional(),
    matchLabelKeys: z.array(z.string()).optional(),
  })).optional().meta({
    "x-kubernetes-patch-merge-key": "topologyKey",
    "x-kubernetes-patch-strategy": "merge",
  }),
  overhead: ResourceList.optional(),
  os: z.object({ name: z.string() }).optional(),
  setHostnameAsFQDN: z.boolean().optional(),
  hostUsers: z.boolean().optional(),
  schedulingGates: z.array(z.object({ name: z.string() })).optional().meta(MERGE_BY_NAME),
  resourceClaims: z.array(z.looseObject({ name: z.string() })).optional().meta(MERGE_BY_NAME),
  ephemeralContainers: z.array(EphemeralContainer).optional().meta(MERGE_BY_NAME),
  resources: ResourceRequirements.optional(),
}).meta({
  id: "io.k8s.api.core.v1.PodSpec",
  description: "The description of a pod: its containers, volumes and how it is scheduled and run.",
});
export type PodSpec = z.infer<typeof PodSpec>;

/** A container's state: exactly one of running, waiting, terminated. */
export const ContainerState = z.object({
  running: z.object({ startedAt: Time.optional() }).optional(),
  waiting: z.object({ reason: z.string().optional(), message: z.string().optional() })
    .optional(),
  terminated: z.object({
    exitCode: Int32,
    signal: Int32.optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
    startedAt: Time.optional(),
    finishedAt: Time.optional(),
    containerID: z.string().optional(),
  }).optional(),
});
export type ContainerState = z.infer<typeof ContainerState>;

/** status.containerStatuses[] / initContainerStatuses[]. */
export const ContainerStatus = z.object({
  name: z.string(),
  state: ContainerState.optional(),
  lastState: ContainerState.optional(),
  ready: z.boolean(),
  started: z.boolean().optional(),
  restartCount: Int32,
  image: z.string(),
  imageID: z.string(),
  containerID: z.string().optional(),
  allocatedResources: ResourceList.optional(),
  resources: ResourceRequirements.optional(),
  volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })).optional(),
  user: z.looseObject({}).optional(),
  allocatedResourcesStatus: z.array(z.looseObject({ name: z.string() })).optional(),
  stopSignal: z.string().optional(),
}).meta({ id: "io.k8s.api.core.v1.ContainerStatus" });
export type ContainerStatus = z.infer<typeof ContainerStatus>;

/**
 * Skiff extension `status.portMappings[]`: where the agent published each container port on the
 * node (declared hostPort, else an ephemeral one). Endpoints use `hostIP:hostPort` as backends.
 */
export const PortMapping = z.object({
  containerName: z.string(),
  name: z.string().optional(),
  containerPort: Int32,
  protocol: Protocol.default("TCP"),
  hostIP: z.string(),
  hostPort: Int32,
});
export type PortMapping = z.infer<typeof PortMapping>;

/** The phases of a pod. */
export const PodPhase = z.enum(["Pending", "Running", "Succeeded", "Failed", "Unknown"]);
export type PodPhase = z.infer<typeof PodPhase>;

const PodIP = z.object({ ip: z.string() });

/** Pod status as reported by the agent (phase Pending until then). */
export const PodStatus = z.object({
  phase: PodPhase.default("Pending"),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
  message: z.string().optional(),
  reason: z.string().optional(),
  nominatedNodeName: z.string().optional(),
  hostIP: z.string().optional(),
  hostIPs: z.array(PodIP).optional(),
  podIP: z.string().optional(),
  podIPs: z.array(PodIP).optional(),
  startTime: Time.optional(),
  initContainerStatuses: z.array(ContainerStatus).optional(),
  containerStatuses: z.array(ContainerStatus).optional(),
  qosClass: z.enum(["Guaranteed", "Burstable", "BestEffort"]).optional(),
  ephemeralContainerStatuses: z.array(ContainerStatus).optional(),
  resize: z.string().optional(),
  resourceClaimStatuses: z.array(z.looseObject({ name: z.string() })).optional(),
  portMappings: z.array(PortMapping).optional(),
}).meta({
  id: "io.k8s.api.core.v1.PodStatus",
  description: "The most recently observed state of a pod, written by the node's agent.",
});
export type PodStatus = z.infer<typeof PodStatus>;

/** core/v1 Pod. */
export const Pod = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: PodSpec.prefault({ containers: [] }),
  status: PodStatus.prefault({}),
}).meta({
  id: "io.k8s.api.core.v1.Pod",
  description:
    "Pod is a group of containers that run together on one node, sharing network and volumes.",
  ...gvk("Pod"),
});
export type Pod = z.infer<typeof Pod>;

/** A pod template (Deployment, ReplicaSet, ReplicationController). */
export const PodTemplateSpec = z.object({
  metadata: ObjectMeta.default({}),
  spec: PodSpec.prefault({ containers: [] }),
}).meta({
  id: "io.k8s.api.core.v1.PodTemplateSpec",
  description: "The template of the pods a workload creates.",
});
export type PodTemplateSpec = z.infer<typeof PodTemplateSpec>;

/** core/v1 Binding: the scheduler's `pods/binding` body (assigns a pod to a node). */
export const Binding = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  target: ObjectReference,
}).meta({
  id: "io.k8s.api.core.v1.Binding",
  description: "Binding assigns a pod to a node (the scheduler's pods/binding body).",
  ...gvk("Binding"),
});
export type Binding = z.infer<typeof Binding>;

// ---------------------------------------------------------------------------------------------
// Services and endpoints.

/** The types of a Service. */
export const ServiceType = z.enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]);
export type ServiceType = z.infer<typeof ServiceType>;

/** spec.ports[] of a Service; targetPort defaults to port (defaults.ts). */
export const ServicePort = z.object({
  name: z.string().optional(),
  protocol: Protocol.default("TCP"),
  appProtocol: z.string().optional(),
  port: Int32,
  targetPort: IntOrString.optional(),
  nodePort: Int32.optional(),
}).meta({ id: "io.k8s.api.core.v1.ServicePort" });
export type ServicePort = z.infer<typeof ServicePort>;

/** Service spec. */
export const ServiceSpec = z.object({
  type: ServiceType.default("ClusterIP"),
  ports: z.array(ServicePort).optional().meta({
    "x-kubernetes-patch-merge-key": "port",
    "x-kubernetes-patch-strategy": "merge",
  }),
  selector: StringMap.optional(),
  clusterIP: z.string().optional(),
  clusterIPs: z.array(z.string()).optional(),
  externalIPs: z.array(z.string()).optional(),
  sessionAffinity: z.enum(["None", "ClientIP"]).default("None"),
  sessionAffinityConfig: z.object({
    clientIP: z.object({ timeoutSeconds: Int32.optional() }).optional(),
  }).optional(),
  externalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
  internalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
  loadBalancerIP: z.string().optional(),
  loadBalancerSourceRanges: z.array(z.string()).optional(),
  loadBalancerClass: z.string().optional(),
  allocateLoadBalancerNodePorts: z.boolean().optional(),
  externalName: z.string().optional(),
  ipFamilies: z.array(z.enum(["IPv4", "IPv6"])).optional(),
  ipFamilyPolicy: z.enum(["SingleStack", "PreferDualStack", "RequireDualStack"]).optional(),
  publishNotReadyAddresses: z.boolean().optional(),
  healthCheckNodePort: Int32.optional(),
  trafficDistribution: z.string().optional(),
}).meta({
  id: "io.k8s.api.core.v1.ServiceSpec",
  description: "The behaviour of a Service: its type, ports, selector and addresses.",
});
export type ServiceSpec = z.infer<typeof ServiceSpec>;

/** One load-balancer ingress point (`status.loadBalancer.ingress[]`). */
export const LoadBalancerIngress = z.object({
  ip: z.string().optional(),
  hostname: z.string().optional(),
  ipMode: z.string().optional(),
  ports: z.array(z.object({
    port: Int32,
    protocol: Protocol.default("TCP"),
    error: z.string().optional(),
  })).optional(),
});
export type LoadBalancerIngress = z.infer<typeof LoadBalancerIngress>;

/** Service status. */
export const ServiceStatus = z.object({
  loadBalancer: z.object({ ingress: z.array(LoadBalancerIngress).optional() }).default({}),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
});
export type ServiceStatus = z.infer<typeof ServiceStatus>;

/** core/v1 Service. */
export const Service = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: ServiceSpec.prefault({}),
  status: ServiceStatus.prefault({}),
}).meta({
  id: "io.k8s.api.core.v1.Service",
  description: "Service gives a stable virtual address and port to the pods its selector matches.",
  ...gvk("Service"),
});
export type Service = z.infer<typeof Service>;

/** One backend address of an Endpoints subset. */
export const EndpointAddress = z.object({
  ip: z.string(),
  hostname: z.string().optional(),
  nodeName: z.string().optional(),
  targetRef: ObjectReference.optional(),
});
export type EndpointAddress = z.infer<typeof EndpointAddress>;

/** One port of an Endpoints subset. */
export const EndpointPort = z.object({
  name: z.string().optional(),
  port: Int32,
  protocol: Protocol.default("TCP"),
  appProtocol: z.string().optional(),
});
export type EndpointPort = z.infer<typeof EndpointPort>;

/** One subset: every address serves every port. */
export const EndpointSubset = z.object({
  addresses: z.array(EndpointAddress).optional(),
  notReadyAddresses: z.array(EndpointAddress).optional(),
  ports: z.array(EndpointPort).optional(),
});
export type EndpointSubset = z.infer<typeof EndpointSubset>;

/** core/v1 Endpoints: a Service's backends (written by the endpoints controller). */
export const Endpoints = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  subsets: z.array(EndpointSubset).optional(),
}).meta({
  id: "io.k8s.api.core.v1.Endpoints",
  description: "Endpoints lists the backend addresses and ports of a Service.",
  ...gvk("Endpoints"),
});
export type Endpoints = z.infer<typeof Endpoints>;

// ---------------------------------------------------------------------------------------------
// Nodes and namespaces.

/** spec.taints[] of a node. */
export const Taint = z.object({
  key: z.string(),
  value: z.string().optional(),
  effect: TaintEffect,
  timeAdded: Time.optional(),
});
export type Taint = z.infer<typeof Taint>;

/** Node spec. */
export const NodeSpec = z.object({
  podCIDR: z.string().optional(),
  podCIDRs: z.array(z.string()).optional(),
  providerID: z.string().optional(),
  unschedulable: z.boolean().optional(),
  taints: z.array(Taint).optional(),
  externalID: z.string().optional(),
});
export type NodeSpec = z.infer<typeof NodeSpec>;

/** status.addresses[] of a node. */
export const NodeAddress = z.object({
  type: z.string(),
  address: z.string(),
});
export type NodeAddress = z.infer<typeof NodeAddress>;

/** status.nodeInfo of a node. */
export const NodeSystemInfo = z.object({
  machineID: z.string().default(""),
  systemUUID: z.string().default(""),
  bootID: z.string().default(""),
  kernelVersion: z.string().default(""),
  osImage: z.string().default(""),
  containerRuntimeVersion: z.string().default(""),
  kubeletVersion: z.string().default(""),
  kubeProxyVersion: z.string().default(""),
  operatingSystem: z.string().default(""),
  architecture: z.string().default(""),
});
export type NodeSystemInfo = z.infer<typeof NodeSystemInfo>;

/** Node status as reported by the agent. */
export const NodeStatus = z.object({
  capacity: ResourceList.optional(),
  allocatable: ResourceList.optional(),
  phase: z.string().optional(),
  conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
  addresses: z.array(NodeAddress).optional().meta(CONDITIONS_PATCH),
  daemonEndpoints: z.object({
    kubeletEndpoint: z.object({ Port: Int32 }).optional(),
  }).optional(),
  nodeInfo: NodeSystemInfo.optional(),
  images: z.array(z.object({
    names: z.array(z.string()).optional(),
    sizeBytes: Int64.optional(),
  })).optional(),
  volumesInUse: z.array(z.string()).optional(),
  volumesAttached: z.array(z.looseObject({})).optional(),
  config: z.looseObject({}).optional(),
  runtimeHandlers: z.array(z.looseObject({})).optional(),
  features: z.looseObject({}).optional(),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

/** core/v1 Node. */
export const Node = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: NodeSpec.default({}),
  status: NodeStatus.default({}),
}).meta({
  id: "io.k8s.api.core.v1.Node",
  description: "Node is a machine running a Skiff agent that pods are scheduled onto.",
  ...gvk("Node"),
});
export type Node = z.infer<typeof Node>;

/** core/v1 Namespace; new namespaces are Active and carry the `kubernetes` finalizer. */
export const Namespace = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({
    finalizers: z.array(z.string()).default(["kubernetes"]),
  }).prefault({}),
  status: z.object({
    phase: z.enum(["Active", "Terminating"]).default("Active"),
    conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
  }).prefault({}),
}).meta({
  id: "io.k8s.api.core.v1.Namespace",
  description: "Namespace is a scope for the names of namespaced objects.",
  ...gvk("Namespace"),
});
export type Namespace = z.infer<typeof Namespace>;

// ---------------------------------------------------------------------------------------------
// Workloads, configuration and events.

/** core/v1 ReplicationController (selector and labels default to the template's labels). */
export const ReplicationController = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({
    replicas: Int32.default(1),
    minReadySeconds: Int32.optional(),
    selector: StringMap.optional(),
    template: PodTemplateSpec.optional(),
  }).prefault({}),
  status: z.object({
    replicas: Int32.default(0),
    fullyLabeledReplicas: Int32.optional(),
    readyReplicas: Int32.optional(),
    availableReplicas: Int32.optional(),
    observedGeneration: Int64.optional(),
    conditions: z.array(Condition).optional().meta(CONDITIONS_PATCH),
  }).prefault({}),
}).meta({
  id: "io.k8s.api.core.v1.ReplicationController",
  description: "ReplicationController keeps a number of copies of a pod template running.",
  ...gvk("ReplicationController"),
});
export type ReplicationController = z.infer<typeof ReplicationController>;

/** core/v1 ConfigMap. */
export const ConfigMap = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  data: StringMap.optional(),
  binaryData: StringMap.optional(),
  immutable: z.boolean().optional(),
}).meta({
  id: "io.k8s.api.core.v1.ConfigMap",
  description: "ConfigMap holds configuration data for pods to consume.",
  ...gvk("ConfigMap"),
});
export type ConfigMap = z.infer<typeof ConfigMap>;

/** core/v1 Secret; `stringData` is merged into base64 `data` on write (defaults.ts). */
export const Secret = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  data: StringMap.optional(),
  stringData: StringMap.optional(),
  type: z.string().default("Opaque"),
  immutable: z.boolean().optional(),
}).meta({
  id: "io.k8s.api.core.v1.Secret",
  description: "Secret holds sensitive data (base64 in data) for pods to consume.",
  ...gvk("Secret"),
});
export type Secret = z.infer<typeof Secret>;

/** core/v1 ServiceAccount: an identity for processes in pods (tokens come from TokenRequest). */
export const ServiceAccount = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  secrets: z.array(ObjectReference).optional().meta(MERGE_BY_NAME),
  imagePullSecrets: z.array(LocalObjectReference).optional(),
  automountServiceAccountToken: z.boolean().optional(),
}).meta({
  id: "io.k8s.api.core.v1.ServiceAccount",
  description: "ServiceAccount binds together a name, understood by users and by systems, " +
    "and the tokens that prove it.",
  ...gvk("ServiceAccount"),
});
export type ServiceAccount = z.infer<typeof ServiceAccount>;

/** core/v1 Event. */
export const Event = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  involvedObject: ObjectReference,
  reason: z.string().optional(),
  message: z.string().optional(),
  source: z.object({
    component: z.string().optional(),
    host: z.string().optional(),
  }).optional(),
  firstTimestamp: Time.optional(),
  lastTimestamp: Time.optional(),
  count: Int32.optional(),
  type: z.string().optional(),
  eventTime: Time.optional(),
  series: z.object({
    count: Int32.optional(),
    lastObservedTime: Time.optional(),
  }).optional(),
  action: z.string().optional(),
  related: ObjectReference.optional(),
  reportingComponent: z.string().optional(),
  reportingInstance: z.string().optional(),
}).meta({
  id: "io.k8s.api.core.v1.Event",
  description: "Event is a report of something that happened to an object.",
  ...gvk("Event"),
});
export type Event = z.infer<typeof Event>;
