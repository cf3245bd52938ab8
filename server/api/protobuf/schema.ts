/**
 * The protobuf messages Skiff decodes, written as a compact table: for each message, its fields'
 * numbers, JSON names and types. The field numbers are the wire contract published by the
 * upstream API (`generated.proto` of k8s.io/api and k8s.io/apimachinery); the table itself is
 * ours and lists only the kinds `kubectl create <generator>` and `kubectl autoscale` send,
 * together with everything those kinds embed (and what `kubectl debug --copy-to` sends back: every
 * pod's projected service-account volume, affinity). A field we do not list is refused when it
 * carries a value (415, naming it: decode.ts), never dropped.
 */

/**
 * One message field: `[number, jsonName, type, flags]`.
 *
 * - `type` is a scalar (`string`, `int32`, `int64`, `bool`, `bytes`, `double`), a message name
 *   from {@linkcode MESSAGES}, or `map:<valueType>` (keys are always strings).
 * - `flags`: `r` repeated; `k` keep the zero value (the Go field is a pointer, or its JSON tag has
 *   no `omitempty`) — without `k` a zero scalar is dropped, because proto2 carries the zero value
 *   of every non-pointer field even when the JSON form would omit it; `i` inline (a Go embedded
 *   struct whose fields JSON flattens into the parent object).
 */
export type FieldSpec = readonly [number: number, name: string, type: string, flags?: string];

/**
 * Wire types with a special JSON form, converted by the decoder rather than copied field by field:
 * `Time` → RFC 3339 string, `Quantity` → its string, `IntOrString` → number or string.
 */
export const SPECIAL_TYPES: Readonly<Record<string, readonly FieldSpec[]>> = {
  Time: [[1, "seconds", "int64"], [2, "nanos", "int32"]],
  Quantity: [[1, "string", "string"]],
  IntOrString: [[1, "type", "int64"], [2, "intVal", "int32"], [3, "strVal", "string"]],
};

/** The `runtime.Unknown` envelope that follows the `k8s\0` magic, and its type metadata. */
export const ENVELOPE: Readonly<Record<string, readonly FieldSpec[]>> = {
  Unknown: [
    [1, "typeMeta", "TypeMeta"],
    [2, "raw", "bytes"],
    [3, "contentEncoding", "string"],
    [4, "contentType", "string"],
  ],
  TypeMeta: [[1, "apiVersion", "string"], [2, "kind", "string"]],
};

/** Every message the decoder knows, by name. */
export const MESSAGES: Readonly<Record<string, readonly FieldSpec[]>> = {
  DeleteOptions: [
    [1, "gracePeriodSeconds", "int64", "k"],
    [2, "preconditions", "Preconditions"],
    [3, "orphanDependents", "bool", "k"],
    [4, "propagationPolicy", "string", "k"],
    [5, "dryRun", "string", "r"],
    [6, "ignoreStoreReadErrorWithClusterBreakingPotential", "bool", "k"],
  ],
  Preconditions: [
    [1, "uid", "string", "k"],
    [2, "resourceVersion", "string", "k"],
  ],
  Eviction: [
    [1, "metadata", "ObjectMeta"],
    [2, "deleteOptions", "DeleteOptions"],
  ],
  ObjectMeta: [
    [1, "name", "string"],
    [2, "generateName", "string"],
    [3, "namespace", "string"],
    [4, "selfLink", "string"],
    [5, "uid", "string"],
    [6, "resourceVersion", "string"],
    [7, "generation", "int64"],
    [8, "creationTimestamp", "Time"],
    [9, "deletionTimestamp", "Time", "k"],
    [10, "deletionGracePeriodSeconds", "int64", "k"],
    [11, "labels", "map:string"],
    [12, "annotations", "map:string"],
    [13, "ownerReferences", "OwnerReference", "r"],
    [14, "finalizers", "string", "r"],
  ],
  OwnerReference: [
    [5, "apiVersion", "string", "k"],
    [1, "kind", "string", "k"],
    [3, "name", "string", "k"],
    [4, "uid", "string", "k"],
    [6, "controller", "bool", "k"],
    [7, "blockOwnerDeletion", "bool", "k"],
  ],
  LabelSelector: [
    [1, "matchLabels", "map:string"],
    [2, "matchExpressions", "LabelSelectorRequirement", "r"],
  ],
  LabelSelectorRequirement: [
    [1, "key", "string", "k"],
    [2, "operator", "string", "k"],
    [3, "values", "string", "r"],
  ],
  Pod: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "PodSpec"],
    [3, "status", "PodStatus"],
  ],
  PodSpec: [
    [1, "volumes", "Volume", "r"],
    [20, "initContainers", "Container", "r"],
    [2, "containers", "Container", "r"],
    [3, "restartPolicy", "string"],
    [4, "terminationGracePeriodSeconds", "int64", "k"],
    [5, "activeDeadlineSeconds", "int64", "k"],
    [6, "dnsPolicy", "string"],
    [7, "nodeSelector", "map:string"],
    [8, "serviceAccountName", "string"],
    [9, "serviceAccount", "string"],
    [21, "automountServiceAccountToken", "bool", "k"],
    [10, "nodeName", "string"],
    [11, "hostNetwork", "bool"],
    [12, "hostPID", "bool"],
    [13, "hostIPC", "bool"],
    [27, "shareProcessNamespace", "bool", "k"],
    [14, "securityContext", "PodSecurityContext"],
    [15, "imagePullSecrets", "LocalObjectReference", "r"],
    [16, "hostname", "string"],
    [17, "subdomain", "string"],
    [18, "affinity", "Affinity"],
    [19, "schedulerName", "string"],
    [22, "tolerations", "Toleration", "r"],
    [23, "hostAliases", "HostAlias", "r"],
    [24, "priorityClassName", "string"],
    [25, "priority", "int32", "k"],
    [26, "dnsConfig", "PodDNSConfig"],
    [28, "readinessGates", "PodReadinessGate", "r"],
    [29, "runtimeClassName", "string", "k"],
    [30, "enableServiceLinks", "bool", "k"],
    [31, "preemptionPolicy", "string", "k"],
    [32, "overhead", "map:Quantity"],
    [33, "topologySpreadConstraints", "TopologySpreadConstraint", "r"],
    [35, "setHostnameAsFQDN", "bool", "k"],
    [36, "os", "PodOS"],
    [37, "hostUsers", "bool", "k"],
    [38, "schedulingGates", "PodSchedulingGate", "r"],
    [40, "resources", "ResourceRequirements"],
    [41, "hostnameOverride", "string", "k"],
  ],
  PodStatus: [
    [17, "observedGeneration", "int64"],
    [1, "phase", "string"],
    [3, "message", "string"],
    [4, "reason", "string"],
    [11, "nominatedNodeName", "string"],
    [5, "hostIP", "string"],
    [6, "podIP", "string"],
    [7, "startTime", "Time", "k"],
    [9, "qosClass", "string"],
    [14, "resize", "string"],
    [19, "allocatedResources", "map:Quantity"],
    [20, "resources", "ResourceRequirements"],
  ],
  PodTemplateSpec: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "PodSpec"],
  ],
  Container: [
    [1, "name", "string", "k"],
    [2, "image", "string"],
    [3, "command", "string", "r"],
    [4, "args", "string", "r"],
    [5, "workingDir", "string"],
    [6, "ports", "ContainerPort", "r"],
    [19, "envFrom", "EnvFromSource", "r"],
    [7, "env", "EnvVar", "r"],
    [8, "resources", "ResourceRequirements"],
    [24, "restartPolicy", "string", "k"],
    [9, "volumeMounts", "VolumeMount", "r"],
    [10, "livenessProbe", "Probe"],
    [11, "readinessProbe", "Probe"],
    [22, "startupProbe", "Probe"],
    [12, "lifecycle", "Lifecycle"],
    [13, "terminationMessagePath", "string"],
    [20, "terminationMessagePolicy", "string"],
    [14, "imagePullPolicy", "string"],
    [15, "securityContext", "SecurityContext"],
    [16, "stdin", "bool"],
    [17, "stdinOnce", "bool"],
    [18, "tty", "bool"],
  ],
  ContainerPort: [
    [1, "name", "string"],
    [2, "hostPort", "int32"],
    [3, "containerPort", "int32", "k"],
    [4, "protocol", "string"],
    [5, "hostIP", "string"],
  ],
  EnvVar: [
    [1, "name", "string", "k"],
    [2, "value", "string"],
    [3, "valueFrom", "EnvVarSource"],
  ],
  EnvVarSource: [
    [1, "fieldRef", "ObjectFieldSelector"],
    [2, "resourceFieldRef", "ResourceFieldSelector"],
    [3, "configMapKeyRef", "ConfigMapKeySelector"],
    [4, "secretKeyRef", "SecretKeySelector"],
  ],
  ConfigMapKeySelector: [
    [1, "localObjectReference", "LocalObjectReference", "i"],
    [2, "key", "string", "k"],
    [3, "optional", "bool", "k"],
  ],
  SecretKeySelector: [
    [1, "localObjectReference", "LocalObjectReference", "i"],
    [2, "key", "string", "k"],
    [3, "optional", "bool", "k"],
  ],
  ObjectFieldSelector: [
    [1, "apiVersion", "string"],
    [2, "fieldPath", "string", "k"],
  ],
  ResourceFieldSelector: [
    [1, "containerName", "string"],
    [2, "resource", "string", "k"],
    [3, "divisor", "Quantity"],
  ],
  EnvFromSource: [
    [1, "prefix", "string"],
    [2, "configMapRef", "ConfigMapEnvSource"],
    [3, "secretRef", "SecretEnvSource"],
  ],
  ConfigMapEnvSource: [
    [1, "localObjectReference", "LocalObjectReference", "i"],
    [2, "optional", "bool", "k"],
  ],
  SecretEnvSource: [
    [1, "localObjectReference", "LocalObjectReference", "i"],
    [2, "optional", "bool", "k"],
  ],
  LocalObjectReference: [
    [1, "name", "string"],
  ],
  ResourceRequirements: [
    [1, "limits", "map:Quantity"],
    [2, "requests", "map:Quantity"],
    [3, "claims", "ResourceClaim", "r"],
  ],
  ResourceClaim: [
    [1, "name", "string", "k"],
    [2, "request", "string"],
  ],
  VolumeMount: [
    [1, "name", "string", "k"],
    [2, "readOnly", "bool"],
    [7, "recursiveReadOnly", "string", "k"],
    [3, "mountPath", "string", "k"],
    [4, "subPath", "string"],
    [5, "mountPropagation", "string", "k"],
    [6, "subPathExpr", "string"],
    [8, "bindMountOptions", "string", "r"],
  ],
  Probe: [
    [1, "handler", "ProbeHandler", "i"],
    [2, "initialDelaySeconds", "int32"],
    [3, "timeoutSeconds", "int32"],
    [4, "periodSeconds", "int32"],
    [5, "successThreshold", "int32"],
    [6, "failureThreshold", "int32"],
    [7, "terminationGracePeriodSeconds", "int64", "k"],
  ],
  ProbeHandler: [
    [1, "exec", "ExecAction"],
    [2, "httpGet", "HTTPGetAction"],
    [3, "tcpSocket", "TCPSocketAction"],
    [4, "grpc", "GRPCAction"],
  ],
  ExecAction: [
    [1, "command", "string", "r"],
  ],
  HTTPGetAction: [
    [1, "path", "string"],
    [2, "port", "IntOrString", "k"],
    [3, "host", "string"],
    [4, "scheme", "string"],
    [5, "httpHeaders", "HTTPHeader", "r"],
    [6, "protocol", "string", "k"],
  ],
  HTTPHeader: [
    [1, "name", "string", "k"],
    [2, "value", "string", "k"],
  ],
  TCPSocketAction: [
    [1, "port", "IntOrString", "k"],
    [2, "host", "string"],
  ],
  GRPCAction: [
    [1, "port", "int32", "k"],
    [2, "service", "string", "k"],
    [3, "mode", "string", "k"],
  ],
  Lifecycle: [
    [1, "postStart", "LifecycleHandler"],
    [2, "preStop", "LifecycleHandler"],
    [3, "stopSignal", "string", "k"],
  ],
  LifecycleHandler: [
    [1, "exec", "ExecAction"],
    [2, "httpGet", "HTTPGetAction"],
    [3, "tcpSocket", "TCPSocketAction"],
    [4, "sleep", "SleepAction"],
  ],
  SleepAction: [
    [1, "seconds", "int64", "k"],
  ],
  SecurityContext: [
    [1, "capabilities", "Capabilities"],
    [2, "privileged", "bool", "k"],
    [4, "runAsUser", "int64", "k"],
    [8, "runAsGroup", "int64", "k"],
    [5, "runAsNonRoot", "bool", "k"],
    [6, "readOnlyRootFilesystem", "bool", "k"],
    [7, "allowPrivilegeEscalation", "bool", "k"],
    [9, "procMount", "string", "k"],
    [11, "seccompProfile", "SeccompProfile"],
  ],
  Capabilities: [
    [1, "add", "string", "r"],
    [2, "drop", "string", "r"],
  ],
  PodSecurityContext: [
    [2, "runAsUser", "int64", "k"],
    [6, "runAsGroup", "int64", "k"],
    [3, "runAsNonRoot", "bool", "k"],
    [4, "supplementalGroups", "int64", "r"],
    [12, "supplementalGroupsPolicy", "string", "k"],
    [5, "fsGroup", "int64", "k"],
    [7, "sysctls", "Sysctl", "r"],
    [9, "fsGroupChangePolicy", "string", "k"],
    [10, "seccompProfile", "SeccompProfile"],
    [13, "seLinuxChangePolicy", "string", "k"],
  ],
  Volume: [
    [1, "name", "string", "k"],
    [2, "volumeSource", "VolumeSource", "i"],
  ],
  VolumeSource: [
    [1, "hostPath", "HostPathVolumeSource"],
    [2, "emptyDir", "EmptyDirVolumeSource"],
    [6, "secret", "SecretVolumeSource"],
    [10, "persistentVolumeClaim", "PersistentVolumeClaimVolumeSource"],
    [16, "downwardAPI", "DownwardAPIVolumeSource"],
    [19, "configMap", "ConfigMapVolumeSource"],
    [26, "projected", "ProjectedVolumeSource"],
  ],
  DownwardAPIVolumeSource: [
    [1, "items", "DownwardAPIVolumeFile", "r"],
    [2, "defaultMode", "int32", "k"],
    [3, "defaultUser", "int64", "k"],
  ],
  DownwardAPIVolumeFile: [
    [1, "path", "string", "k"],
    [2, "fieldRef", "ObjectFieldSelector"],
    [3, "resourceFieldRef", "ResourceFieldSelector"],
    [4, "mode", "int32", "k"],
    [5, "user", "int64", "k"],
  ],
  ProjectedVolumeSource: [
    [1, "sources", "VolumeProjection", "r"],
    [2, "defaultMode", "int32", "k"],
    [3, "defaultUser", "int64", "k"],
  ],
  VolumeProjection: [
    [1, "secret", "SecretProjection"],
    [2, "downwardAPI", "DownwardAPIProjection"],
    [3, "configMap", "ConfigMapProjection"],
    [4, "serviceAccountToken", "ServiceAccountTokenProjection"],
  ],
  SecretProjection: [
    [1, "localObjectReference", "LocalObjectReference", "i"],
    [2, "items", "KeyToPath", "r"],
    [4, "optional", "bool", "k"],
  ],
  ConfigMapProjection: [
    [1, "localObjectReference", "LocalObjectReference", "i"],
    [2, "items", "KeyToPath", "r"],
    [4, "optional", "bool", "k"],
  ],
  DownwardAPIProjection: [[1, "items", "DownwardAPIVolumeFile", "r"]],
  ServiceAccountTokenProjection: [
    [1, "audience", "string"],
    [2, "expirationSeconds", "int64", "k"],
    [3, "path", "string", "k"],
    [4, "user", "int64", "k"],
  ],
  Affinity: [
    [1, "nodeAffinity", "NodeAffinity"],
    [2, "podAffinity", "PodAffinity"],
    [3, "podAntiAffinity", "PodAntiAffinity"],
  ],
  NodeAffinity: [
    [1, "requiredDuringSchedulingIgnoredDuringExecution", "NodeSelector"],
    [2, "preferredDuringSchedulingIgnoredDuringExecution", "PreferredSchedulingTerm", "r"],
  ],
  NodeSelector: [[1, "nodeSelectorTerms", "NodeSelectorTerm", "r"]],
  NodeSelectorTerm: [
    [1, "matchExpressions", "NodeSelectorRequirement", "r"],
    [2, "matchFields", "NodeSelectorRequirement", "r"],
  ],
  NodeSelectorRequirement: [
    [1, "key", "string", "k"],
    [2, "operator", "string", "k"],
    [3, "values", "string", "r"],
  ],
  PreferredSchedulingTerm: [
    [1, "weight", "int32", "k"],
    [2, "preference", "NodeSelectorTerm", "k"],
  ],
  PodAffinity: [
    [1, "requiredDuringSchedulingIgnoredDuringExecution", "PodAffinityTerm", "r"],
    [2, "preferredDuringSchedulingIgnoredDuringExecution", "WeightedPodAffinityTerm", "r"],
  ],
  PodAntiAffinity: [
    [1, "requiredDuringSchedulingIgnoredDuringExecution", "PodAffinityTerm", "r"],
    [2, "preferredDuringSchedulingIgnoredDuringExecution", "WeightedPodAffinityTerm", "r"],
  ],
  PodAffinityTerm: [
    [1, "labelSelector", "LabelSelector"],
    [2, "namespaces", "string", "r"],
    [3, "topologyKey", "string", "k"],
    [4, "namespaceSelector", "LabelSelector"],
    [5, "matchLabelKeys", "string", "r"],
    [6, "mismatchLabelKeys", "string", "r"],
  ],
  WeightedPodAffinityTerm: [
    [1, "weight", "int32", "k"],
    [2, "podAffinityTerm", "PodAffinityTerm", "k"],
  ],
  TopologySpreadConstraint: [
    [1, "maxSkew", "int32", "k"],
    [2, "topologyKey", "string", "k"],
    [3, "whenUnsatisfiable", "string", "k"],
    [4, "labelSelector", "LabelSelector"],
    [5, "minDomains", "int32", "k"],
    [6, "nodeAffinityPolicy", "string", "k"],
    [7, "nodeTaintsPolicy", "string", "k"],
    [8, "matchLabelKeys", "string", "r"],
  ],
  EmptyDirVolumeSource: [
    [1, "medium", "string"],
    [2, "sizeLimit", "Quantity", "k"],
    [3, "mode", "int32", "k"],
  ],
  HostPathVolumeSource: [
    [1, "path", "string", "k"],
    [2, "type", "string", "k"],
  ],
  ConfigMapVolumeSource: [
    [1, "localObjectReference", "LocalObjectReference", "i"],
    [2, "items", "KeyToPath", "r"],
    [3, "defaultMode", "int32", "k"],
    [4, "optional", "bool", "k"],
    [5, "defaultUser", "int64", "k"],
  ],
  SecretVolumeSource: [
    [1, "secretName", "string"],
    [2, "items", "KeyToPath", "r"],
    [3, "defaultMode", "int32", "k"],
    [4, "optional", "bool", "k"],
    [5, "defaultUser", "int64", "k"],
  ],
  KeyToPath: [
    [1, "key", "string", "k"],
    [2, "path", "string", "k"],
    [3, "mode", "int32", "k"],
    [4, "user", "int64", "k"],
  ],
  PersistentVolumeClaimVolumeSource: [
    [1, "claimName", "string", "k"],
    [2, "readOnly", "bool"],
  ],
  Toleration: [
    [1, "key", "string"],
    [2, "operator", "string"],
    [3, "value", "string"],
    [4, "effect", "string"],
    [5, "tolerationSeconds", "int64", "k"],
  ],
  HostAlias: [
    [1, "ip", "string", "k"],
    [2, "hostnames", "string", "r"],
  ],
  PodDNSConfig: [
    [1, "nameservers", "string", "r"],
    [2, "searches", "string", "r"],
    [3, "options", "PodDNSConfigOption", "r"],
  ],
  PodDNSConfigOption: [
    [1, "name", "string"],
    [2, "value", "string", "k"],
  ],
  Service: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "ServiceSpec"],
    [3, "status", "ServiceStatus"],
  ],
  ServiceSpec: [
    [1, "ports", "ServicePort", "r"],
    [2, "selector", "map:string"],
    [3, "clusterIP", "string"],
    [18, "clusterIPs", "string", "r"],
    [4, "type", "string"],
    [5, "externalIPs", "string", "r"],
    [7, "sessionAffinity", "string"],
    [8, "loadBalancerIP", "string"],
    [9, "loadBalancerSourceRanges", "string", "r"],
    [10, "externalName", "string"],
    [11, "externalTrafficPolicy", "string"],
    [12, "healthCheckNodePort", "int32"],
    [13, "publishNotReadyAddresses", "bool"],
    [14, "sessionAffinityConfig", "SessionAffinityConfig"],
    [19, "ipFamilies", "string", "r"],
    [17, "ipFamilyPolicy", "string", "k"],
    [20, "allocateLoadBalancerNodePorts", "bool", "k"],
    [21, "loadBalancerClass", "string", "k"],
    [22, "internalTrafficPolicy", "string", "k"],
    [23, "trafficDistribution", "string", "k"],
  ],
  ServicePort: [
    [1, "name", "string"],
    [2, "protocol", "string"],
    [6, "appProtocol", "string", "k"],
    [3, "port", "int32", "k"],
    [4, "targetPort", "IntOrString"],
    [5, "nodePort", "int32"],
  ],
  ServiceStatus: [
    [1, "loadBalancer", "LoadBalancerStatus"],
  ],
  LoadBalancerStatus: [
    [1, "ingress", "LoadBalancerIngress", "r"],
  ],
  LoadBalancerIngress: [
    [1, "ip", "string"],
    [2, "hostname", "string"],
    [3, "ipMode", "string", "k"],
  ],
  SessionAffinityConfig: [
    [1, "clientIP", "ClientIPConfig"],
  ],
  ClientIPConfig: [
    [1, "timeoutSeconds", "int32", "k"],
  ],
  ConfigMap: [
    [1, "metadata", "ObjectMeta"],
    [4, "immutable", "bool", "k"],
    [2, "data", "map:string"],
    [3, "binaryData", "map:bytes"],
  ],
  Secret: [
    [1, "metadata", "ObjectMeta"],
    [5, "immutable", "bool", "k"],
    [2, "data", "map:bytes"],
    [4, "stringData", "map:string"],
    [3, "type", "string"],
  ],
  Namespace: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "NamespaceSpec"],
    [3, "status", "NamespaceStatus"],
  ],
  NamespaceSpec: [
    [1, "finalizers", "string", "r"],
  ],
  NamespaceStatus: [
    [1, "phase", "string"],
  ],
  ReplicationController: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "ReplicationControllerSpec"],
    [3, "status", "ReplicationControllerStatus"],
  ],
  ReplicationControllerSpec: [
    [1, "replicas", "int32", "k"],
    [4, "minReadySeconds", "int32"],
    [2, "selector", "map:string"],
    [3, "template", "PodTemplateSpec"],
  ],
  ReplicationControllerStatus: [
    [1, "replicas", "int32", "k"],
    [2, "fullyLabeledReplicas", "int32"],
    [4, "readyReplicas", "int32"],
    [5, "availableReplicas", "int32"],
    [3, "observedGeneration", "int64"],
  ],
  ServiceAccount: [
    [1, "metadata", "ObjectMeta"],
    [2, "secrets", "ObjectReference", "r"],
    [3, "imagePullSecrets", "LocalObjectReference", "r"],
    [4, "automountServiceAccountToken", "bool", "k"],
  ],
  TokenRequest: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "TokenRequestSpec"],
  ],
  TokenRequestSpec: [
    [1, "audiences", "string", "r"],
    [4, "expirationSeconds", "int64", "k"],
    [3, "boundObjectRef", "BoundObjectReference"],
  ],
  BoundObjectReference: [
    [1, "kind", "string"],
    [2, "apiVersion", "string"],
    [3, "name", "string"],
    [4, "uid", "string"],
  ],
  ObjectReference: [
    [1, "kind", "string"],
    [2, "namespace", "string"],
    [3, "name", "string"],
    [4, "uid", "string"],
    [5, "apiVersion", "string"],
    [6, "resourceVersion", "string"],
    [7, "fieldPath", "string"],
  ],
  Deployment: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "DeploymentSpec"],
    [3, "status", "DeploymentStatus"],
  ],
  DeploymentSpec: [
    [1, "replicas", "int32", "k"],
    [2, "selector", "LabelSelector"],
    [3, "template", "PodTemplateSpec"],
    [4, "strategy", "DeploymentStrategy"],
    [5, "minReadySeconds", "int32"],
    [6, "revisionHistoryLimit", "int32", "k"],
    [7, "paused", "bool"],
    [9, "progressDeadlineSeconds", "int32", "k"],
  ],
  DeploymentStrategy: [
    [1, "type", "string"],
    [2, "rollingUpdate", "RollingUpdateDeployment"],
  ],
  RollingUpdateDeployment: [
    [1, "maxUnavailable", "IntOrString", "k"],
    [2, "maxSurge", "IntOrString", "k"],
  ],
  DeploymentStatus: [
    [1, "observedGeneration", "int64"],
    [2, "replicas", "int32"],
    [3, "updatedReplicas", "int32"],
    [7, "readyReplicas", "int32"],
    [4, "availableReplicas", "int32"],
    [5, "unavailableReplicas", "int32"],
    [9, "terminatingReplicas", "int32", "k"],
    [6, "conditions", "DeploymentCondition", "r"],
    [8, "collisionCount", "int32", "k"],
  ],
  DeploymentCondition: [
    [1, "type", "string", "k"],
    [2, "status", "string", "k"],
    [6, "lastUpdateTime", "Time"],
    [7, "lastTransitionTime", "Time"],
    [4, "reason", "string"],
    [5, "message", "string"],
  ],
  ReplicaSet: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "ReplicaSetSpec"],
    [3, "status", "ReplicaSetStatus"],
  ],
  ReplicaSetSpec: [
    [1, "replicas", "int32", "k"],
    [4, "minReadySeconds", "int32"],
    [2, "selector", "LabelSelector"],
    [3, "template", "PodTemplateSpec"],
  ],
  ReplicaSetStatus: [
    [1, "replicas", "int32", "k"],
    [2, "fullyLabeledReplicas", "int32"],
    [4, "readyReplicas", "int32"],
    [5, "availableReplicas", "int32"],
    [7, "terminatingReplicas", "int32", "k"],
    [3, "observedGeneration", "int64"],
    [6, "conditions", "ReplicaSetCondition", "r"],
  ],
  Scale: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "ScaleSpec"],
    [3, "status", "ScaleStatus"],
  ],
  ScaleSpec: [
    [1, "replicas", "int32"],
  ],
  ScaleStatus: [
    [1, "replicas", "int32", "k"],
    [2, "selector", "string"],
  ],
  HorizontalPodAutoscaler: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "HorizontalPodAutoscalerSpec"],
    [3, "status", "HorizontalPodAutoscalerStatus"],
  ],
  HorizontalPodAutoscalerSpec: [
    [1, "scaleTargetRef", "CrossVersionObjectReference"],
    [2, "minReplicas", "int32", "k"],
    [3, "maxReplicas", "int32", "k"],
    [4, "targetCPUUtilizationPercentage", "int32", "k"],
  ],
  CrossVersionObjectReference: [
    [1, "kind", "string", "k"],
    [2, "name", "string", "k"],
    [3, "apiVersion", "string"],
  ],
  HorizontalPodAutoscalerStatus: [
    [1, "observedGeneration", "int64", "k"],
    [2, "lastScaleTime", "Time", "k"],
    [3, "currentReplicas", "int32", "k"],
    [4, "desiredReplicas", "int32", "k"],
    [5, "currentCPUUtilizationPercentage", "int32", "k"],
  ],
  Job: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "JobSpec"],
    [3, "status", "JobStatus"],
  ],
  JobSpec: [
    [1, "parallelism", "int32", "k"],
    [2, "completions", "int32", "k"],
    [3, "activeDeadlineSeconds", "int64", "k"],
    [7, "backoffLimit", "int32", "k"],
    [12, "backoffLimitPerIndex", "int32", "k"],
    [13, "maxFailedIndexes", "int32", "k"],
    [4, "selector", "LabelSelector"],
    [5, "manualSelector", "bool", "k"],
    [6, "template", "PodTemplateSpec"],
    [8, "ttlSecondsAfterFinished", "int32", "k"],
    [9, "completionMode", "string", "k"],
    [10, "suspend", "bool", "k"],
    [14, "podReplacementPolicy", "string", "k"],
    [15, "managedBy", "string", "k"],
  ],
  JobStatus: [
    [2, "startTime", "Time", "k"],
    [3, "completionTime", "Time", "k"],
    [4, "active", "int32"],
    [5, "succeeded", "int32"],
    [6, "failed", "int32"],
    [11, "terminating", "int32", "k"],
    [7, "completedIndexes", "string"],
    [10, "failedIndexes", "string", "k"],
    [9, "ready", "int32", "k"],
  ],
  CronJob: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "CronJobSpec"],
    [3, "status", "CronJobStatus"],
  ],
  CronJobSpec: [
    [1, "schedule", "string", "k"],
    [8, "timeZone", "string", "k"],
    [2, "startingDeadlineSeconds", "int64", "k"],
    [3, "concurrencyPolicy", "string"],
    [4, "suspend", "bool", "k"],
    [5, "jobTemplate", "JobTemplateSpec"],
    [6, "successfulJobsHistoryLimit", "int32", "k"],
    [7, "failedJobsHistoryLimit", "int32", "k"],
  ],
  JobTemplateSpec: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "JobSpec"],
  ],
  CronJobStatus: [
    [1, "active", "ObjectReference", "r"],
    [4, "lastScheduleTime", "Time", "k"],
    [5, "lastSuccessfulTime", "Time", "k"],
  ],
  PodDisruptionBudget: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "PodDisruptionBudgetSpec"],
    [3, "status", "PodDisruptionBudgetStatus"],
  ],
  PodDisruptionBudgetSpec: [
    [1, "minAvailable", "IntOrString"],
    [2, "selector", "LabelSelector"],
    [3, "maxUnavailable", "IntOrString"],
    [4, "unhealthyPodEvictionPolicy", "string", "k"],
  ],
  PodDisruptionBudgetStatus: [
    [1, "observedGeneration", "int64"],
    [3, "disruptionsAllowed", "int32", "k"],
    [4, "currentHealthy", "int32", "k"],
    [5, "desiredHealthy", "int32", "k"],
    [6, "expectedPods", "int32", "k"],
  ],
  Ingress: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "IngressSpec"],
    [3, "status", "IngressStatus"],
  ],
  IngressSpec: [
    [1, "defaultBackend", "IngressBackend"],
    [2, "tls", "IngressTLS", "r"],
    [3, "rules", "IngressRule", "r"],
    [4, "ingressClassName", "string", "k"],
  ],
  IngressBackend: [
    [3, "resource", "TypedLocalObjectReference"],
    [4, "service", "IngressServiceBackend"],
  ],
  TypedLocalObjectReference: [
    [1, "apiGroup", "string", "k"],
    [2, "kind", "string", "k"],
    [3, "name", "string", "k"],
  ],
  IngressServiceBackend: [
    [1, "name", "string", "k"],
    [2, "port", "ServiceBackendPort"],
  ],
  ServiceBackendPort: [
    [1, "name", "string"],
    [2, "number", "int32"],
  ],
  IngressTLS: [
    [1, "hosts", "string", "r"],
    [2, "secretName", "string"],
  ],
  IngressRule: [
    [1, "host", "string"],
    [2, "ingressRuleValue", "IngressRuleValue", "i"],
  ],
  IngressRuleValue: [
    [1, "http", "HTTPIngressRuleValue"],
  ],
  HTTPIngressRuleValue: [
    [1, "paths", "HTTPIngressPath", "r"],
  ],
  HTTPIngressPath: [
    [1, "path", "string"],
    [2, "backend", "IngressBackend"],
    [3, "pathType", "string", "k"],
  ],
  IngressStatus: [
    [1, "loadBalancer", "IngressLoadBalancerStatus"],
  ],
  IngressLoadBalancerStatus: [
    [1, "ingress", "IngressLoadBalancerIngress", "r"],
  ],
  IngressLoadBalancerIngress: [
    [1, "ip", "string"],
    [2, "hostname", "string"],
  ],
  PodOS: [
    [1, "name", "string", "k"],
  ],
  PodReadinessGate: [
    [1, "conditionType", "string", "k"],
  ],
  PodSchedulingGate: [
    [1, "name", "string", "k"],
  ],
  Sysctl: [
    [1, "name", "string", "k"],
    [2, "value", "string", "k"],
  ],
  SeccompProfile: [
    [1, "type", "string", "k"],
    [2, "localhostProfile", "string", "k"],
  ],
  ReplicaSetCondition: [
    [1, "type", "string", "k"],
    [2, "status", "string", "k"],
    [3, "lastTransitionTime", "Time"],
    [4, "reason", "string"],
    [5, "message", "string"],
  ],
  // core/v1 ResourceQuota (`kubectl create quota`).
  ResourceQuota: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "ResourceQuotaSpec"],
    [3, "status", "ResourceQuotaStatus"],
  ],
  ResourceQuotaSpec: [
    [1, "hard", "map:Quantity"],
    [2, "scopes", "string", "r"],
    [3, "scopeSelector", "ScopeSelector"],
  ],
  ScopeSelector: [[1, "matchExpressions", "ScopedResourceSelectorRequirement", "r"]],
  ScopedResourceSelectorRequirement: [
    [1, "scopeName", "string", "k"],
    [2, "operator", "string", "k"],
    [3, "values", "string", "r"],
  ],
  ResourceQuotaStatus: [
    [1, "hard", "map:Quantity"],
    [2, "used", "map:Quantity"],
  ],
  // scheduling.k8s.io/v1 (`kubectl create priorityclass`).
  PriorityClass: [
    [1, "metadata", "ObjectMeta"],
    [2, "value", "int32", "k"],
    [3, "globalDefault", "bool", "k"],
    [4, "description", "string"],
    [5, "preemptionPolicy", "string", "k"],
  ],
  // rbac.authorization.k8s.io/v1 (`kubectl create role|clusterrole|rolebinding|clusterrolebinding`).
  PolicyRule: [
    [1, "verbs", "string", "r"],
    [2, "apiGroups", "string", "r"],
    [3, "resources", "string", "r"],
    [4, "resourceNames", "string", "r"],
    [5, "nonResourceURLs", "string", "r"],
  ],
  AggregationRule: [[1, "clusterRoleSelectors", "LabelSelector", "r"]],
  Role: [
    [1, "metadata", "ObjectMeta"],
    [2, "rules", "PolicyRule", "r"],
  ],
  ClusterRole: [
    [1, "metadata", "ObjectMeta"],
    [2, "rules", "PolicyRule", "r"],
    [3, "aggregationRule", "AggregationRule"],
  ],
  Subject: [
    [1, "kind", "string", "k"],
    [2, "apiGroup", "string"],
    [3, "name", "string", "k"],
    [4, "namespace", "string"],
  ],
  RoleRef: [
    [1, "apiGroup", "string", "k"],
    [2, "kind", "string", "k"],
    [3, "name", "string", "k"],
  ],
  RoleBinding: [
    [1, "metadata", "ObjectMeta"],
    [2, "subjects", "Subject", "r"],
    [3, "roleRef", "RoleRef"],
  ],
  // authorization.k8s.io/v1 and authentication.k8s.io/v1 reviews (`kubectl auth can-i|whoami`).
  ResourceAttributes: [
    [1, "namespace", "string"],
    [2, "verb", "string"],
    [3, "group", "string"],
    [4, "version", "string"],
    [5, "resource", "string"],
    [6, "subresource", "string"],
    [7, "name", "string"],
  ],
  NonResourceAttributes: [
    [1, "path", "string"],
    [2, "verb", "string"],
  ],
  SelfSubjectAccessReviewSpec: [
    [1, "resourceAttributes", "ResourceAttributes"],
    [2, "nonResourceAttributes", "NonResourceAttributes"],
  ],
  SubjectAccessReviewSpec: [
    [1, "resourceAttributes", "ResourceAttributes"],
    [2, "nonResourceAttributes", "NonResourceAttributes"],
    [3, "user", "string"],
    [4, "groups", "string", "r"],
    [6, "uid", "string"],
  ],
  SelfSubjectAccessReview: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "SelfSubjectAccessReviewSpec"],
  ],
  SubjectAccessReview: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "SubjectAccessReviewSpec"],
  ],
  SelfSubjectRulesReview: [
    [1, "metadata", "ObjectMeta"],
    [2, "spec", "SelfSubjectRulesReviewSpec"],
  ],
  SelfSubjectRulesReviewSpec: [[1, "namespace", "string"]],
  SelfSubjectReview: [[1, "metadata", "ObjectMeta"]],
};

/** `apiVersion/kind` of each top-level kind → its message in {@linkcode MESSAGES}. */
export const KINDS: Readonly<Record<string, string>> = {
  "v1/Pod": "Pod",
  "v1/Service": "Service",
  "v1/ConfigMap": "ConfigMap",
  "v1/Secret": "Secret",
  "v1/Namespace": "Namespace",
  "v1/ReplicationController": "ReplicationController",
  "v1/ServiceAccount": "ServiceAccount",
  "v1/ResourceQuota": "ResourceQuota",
  "authentication.k8s.io/v1/TokenRequest": "TokenRequest",
  "apps/v1/Deployment": "Deployment",
  "apps/v1/ReplicaSet": "ReplicaSet",
  "autoscaling/v1/Scale": "Scale",
  "autoscaling/v1/HorizontalPodAutoscaler": "HorizontalPodAutoscaler",
  "batch/v1/Job": "Job",
  "batch/v1/CronJob": "CronJob",
  "policy/v1/Eviction": "Eviction",
  "policy/v1/PodDisruptionBudget": "PodDisruptionBudget",
  "rbac.authorization.k8s.io/v1/Role": "Role",
  "rbac.authorization.k8s.io/v1/ClusterRole": "ClusterRole",
  "rbac.authorization.k8s.io/v1/RoleBinding": "RoleBinding",
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": "RoleBinding",
  "authorization.k8s.io/v1/SelfSubjectAccessReview": "SelfSubjectAccessReview",
  "authorization.k8s.io/v1/SubjectAccessReview": "SubjectAccessReview",
  "authorization.k8s.io/v1/LocalSubjectAccessReview": "SubjectAccessReview",
  "authorization.k8s.io/v1/SelfSubjectRulesReview": "SelfSubjectRulesReview",
  "authentication.k8s.io/v1/SelfSubjectReview": "SelfSubjectReview",
  "networking.k8s.io/v1/Ingress": "Ingress",
  "scheduling.k8s.io/v1/PriorityClass": "PriorityClass",
};

/**
 * Kinds registered in every API group version, so accepted whatever `apiVersion` says: typed
 * clients send DeleteOptions as `v1` (e.g. `kubectl drain` deleting pods when eviction is off).
 */
export const ANY_VERSION_KINDS: Readonly<Record<string, string>> = {
  DeleteOptions: "DeleteOptions",
};
