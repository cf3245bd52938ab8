/**
 * Every field of a PodSpec, and whether Skiff's node honours it. This table is the contract of
 * "accepted means honoured": a field is either honoured (the entry names the test that proves
 * it) or refused at admission with a 422 naming the field (`pod_spec_support.ts` reads the
 * refusals from here). `pod_spec_fields_test.ts` walks the zod schema of PodSpec and fails when a
 * field has no entry, so a new field can never be silently dropped.
 *
 * Paths are PodSpec-relative with `[]` for list elements; init containers share the entries of
 * `containers[]` (the test checks both). An entry with `subtree` covers the fields below it.
 */

/** What Skiff does with one PodSpec field. */
export interface FieldSupport {
  /** The test that proves the node honours the field (every value, unless `refused` is set). */
  honoured?: string;
  /** A value that admission refuses (422), used by the table test. */
  refused?: unknown;
  /**
   * Values accepted although the feature is not implemented, because they ask for nothing
   * beyond what the node does anyway (`hostPID: false`, Kubernetes' defaults).
   */
  noop?: unknown[];
  /** When set, only these values are accepted (`Unsupported value` lists them). */
  supported?: unknown[];
  /** A predicate for values that are honoured (beyond `noop`/`supported`). */
  allowed?: (value: unknown) => boolean;
  /** The entry covers every field below this one. */
  subtree?: boolean;
  /** Why, for the README's "Not supported" list. */
  note?: string;
}

const T = {
  run:
    "agent runs an httpd pod reachable on its own pod IP (no port published), then deletes it gracefully",
  config:
    "agent configures containers from the pod spec: env, ConfigMap/Secret/emptyDir volumes, limits",
  restart: "agent restarts containers: crash loop, liveness, readiness, restartPolicy Never",
  init: "init containers run in order to completion before the app containers start",
  grace:
    "deleting a pod sends SIGTERM, then SIGKILL after the grace period, then finishes the delete",
  scheduler:
    "the scheduler honours tolerations, nodeSelector, affinity, other schedulers, and spreads replicas",
  nodeAffinity: "nodeSelector and required node affinity operators",
  preferredNodeAffinity:
    "the scheduler places a pod on the node its preferred affinity weighs most",
  podAffinity:
    "required pod affinity follows the matching pods' zone; the first pod of a group may go anywhere",
  podAntiAffinity:
    "kubectl applies a Deployment with required pod anti-affinity: one replica per node, the extra one Pending",
  topologySpread:
    "kubectl applies a Deployment spread across zones by topologySpreadConstraints: skew held at 1",
  tolerations: "tolerations: Equal, Exists, empty key with Exists, effect matching",
  hostPort: "a hostPort conflict is reported on the pod, and the message clears once it runs",
  sandbox:
    "a sandboxed pod has its own pod-network address, publishes only hostPorts, shares localhost",
  sandboxOptions: "sandboxCreateOptions() sets the hostname, host network and published ports",
  env: "resolveEnv() resolves values, valueFrom and envFrom with $(VAR) expansion",
  envResource: "resolveEnv() gives a container's own cpu and memory for resourceFieldRef",
  volumes: "preparePodVolumes() projects ConfigMaps and Secrets, makes emptyDirs, and binds them",
  memoryVolume:
    "a memory-backed emptyDir is one tmpfs of its sizeLimit for all containers, gone with the pod",
  ephemeral:
    "kubectl debug adds an ephemeral container to a running pod, sharing the target's processes",
  subPathExpr: "subPathExpr mounts the part of a volume its expanded variables name, one per pod",
  schedulingGates:
    "a gated pod stays unscheduled (SchedulingGated) until its gates are removed, then is scheduled",
  sidecars:
    "sidecar containers start before the next init container, run beside the app, restart, and stop after it",
  storageLimits:
    "a pod over an emptyDir sizeLimit or an ephemeral-storage limit is evicted as the kubelet does",
  hostPathType:
    "checkHostPathType() creates what *OrCreate names and checks every type as the kubelet does",
  createOptions: "containerCreateOptions() maps command/args, resources and joins the sandbox",
  securityOptions: "containerCreateOptions() maps the security context, stdinOnce and tty",
  runAsNonRoot: "verifyRunAsNonRoot() refuses to run as root with the kubelet's messages",
  restrictedPod:
    "a restricted namespace runs only conforming pods, and Docker enforces their security context",
  httpProbe: "runProbe() httpGet: 2xx/3xx pass, others fail with the status, named ports resolve",
  tcpProbe: "runProbe() tcpSocket: an open port passes, a closed one fails",
  images: "ImageManager: present images run, missing ones back off, Never never pulls",
  pullSecrets:
    "imagePullSecrets: a private registry's image runs with the pod's or its ServiceAccount's pull secret, and fails without",
  logs: "agent API serves logs with tail, timestamps, follow and previous, to the server only",
  attach: "kubectl logs, exec, attach, port-forward, top and drain work through the agents",
  readinessGates: "computePodStatus() holds Ready until every readiness gate is True",
  serviceAccount:
    "ServiceAccount admission refuses a pod naming a missing ServiceAccount with Kubernetes' error",
  automount:
    "ServiceAccount admission adds the kube-api-access volume unless automount is off (pod or SA)",
  saVolume:
    "a pod reads its ServiceAccount token, namespace and ca.crt, and its ConfigMap and label files follow updates atomically",
  projected:
    "volumePayload() projects ConfigMap, Secret, downwardAPI and token sources into one volume",
  downwardAPI:
    "volumePayload() writes downwardAPI files: pod fields, labels, annotations, container resources",
  itemMode: "AtomicWriter gives each file its mode and swaps ..data in one rename",
  liveUpdate:
    "a pod reads its ServiceAccount token, namespace and ca.crt, and its ConfigMap and label files follow updates atomically",
  podDns: "a pod resolves Services through the node-local DNS and gets service variables and hosts",
  dnsPolicy: "dnsPolicy: host network, Default, None, ClusterFirstWithHostNet",
  dnsConfig:
    "dnsConfig is merged: servers and searches appended without duplicates, options by name",
  hostname: "hostname: spec.hostname or the pod name; FQDN with a subdomain",
  claims:
    "local-path volumes on real agents: data outlives pods, Delete and Retain, pending claims",
  hooks: "exec hooks: postStart runs before the container is Running, preStop before SIGTERM",
  httpHooks: "httpGet and sleep hooks run against the pod, in order, within the grace period",
  failedHooks:
    "a failing postStart kills the container (FailedPostStartHook); tcpSocket hooks fail",
  stopSignal: "lifecycle.stopSignal: deletion stops the container with its own signal",
  terminationMessage: "termination messages: file, custom path, fallback to logs, 4096-byte cap",
  shareProcessNamespace: "shareProcessNamespace: containers see each other's processes",
  hostNamespaces:
    "hostPID and hostIPC: the pod's containers are in the node's PID and IPC namespaces",
  mountPropagation:
    "mountPropagation: a HostToContainer hostPath sees the node's later mounts, a private one does not",
  fsGroup: "fsGroup: a non-root container writes its emptyDir and reads its Secret as the group",
  fsGroupChangePolicy:
    "setVolumeOwnership() walks the volume unless OnRootMismatch finds its root right",
  setHostnameAsFQDN:
    "setHostnameAsFQDN: the hostname is the pod's FQDN; one over 64 characters fails the sandbox",
  activeDeadline:
    "activeDeadlineSeconds: the pod fails with DeadlineExceeded and its containers stop",
  sysctls: "pod sysctls: the safe set and allowed unsafe ones are set; others reject the pod",
  limits: "limits: a memory limit ends in OOMKilled with exit code 137; the CPU quota is set",
  priorityAdmission:
    "Priority admission resolves priorityClassName to priority and preemptionPolicy, or refuses the pod",
  preemption:
    "a high-priority pod preempts a low-priority one on a full node; a Never pod stays Pending",
} as const;

/** The names of the tests honoured entries point at (for the table test). */
export const TEST_NAMES = T;

/** Refused wherever it is set. */
function refused(sample: unknown, note?: string, extra: Partial<FieldSupport> = {}): FieldSupport {
  return { refused: sample, subtree: true, note, ...extra };
}

function honoured(test: string, extra: Partial<FieldSupport> = {}): FieldSupport {
  return { honoured: test, ...extra };
}

const PROBE = (kind: string, test: string): Record<string, FieldSupport> => ({
  [`containers[].${kind}`]: honoured(test),
  [`containers[].${kind}.exec`]: honoured(T.restart, { subtree: true }),
  [`containers[].${kind}.httpGet`]: honoured(T.httpProbe),
  [`containers[].${kind}.httpGet.path`]: honoured(T.httpProbe),
  [`containers[].${kind}.httpGet.port`]: honoured(T.httpProbe),
  [`containers[].${kind}.httpGet.host`]: honoured(T.httpProbe),
  [`containers[].${kind}.httpGet.scheme`]: honoured(T.httpProbe, {
    refused: "HTTPS",
    supported: ["HTTP"],
    note: "HTTPS probes (the agent cannot skip certificate verification as the kubelet does)",
  }),
  [`containers[].${kind}.httpGet.httpHeaders`]: honoured(T.httpProbe, { subtree: true }),
  [`containers[].${kind}.tcpSocket`]: honoured(T.tcpProbe, { subtree: true }),
  [`containers[].${kind}.grpc`]: refused({ port: 9000 }, "gRPC probes"),
  [`containers[].${kind}.initialDelaySeconds`]: honoured(test),
  [`containers[].${kind}.timeoutSeconds`]: honoured(test),
  [`containers[].${kind}.periodSeconds`]: honoured(test),
  [`containers[].${kind}.successThreshold`]: honoured(test),
  [`containers[].${kind}.failureThreshold`]: honoured(test),
  [`containers[].${kind}.terminationGracePeriodSeconds`]: refused(
    5,
    "a probe's own terminationGracePeriodSeconds (the pod's is used)",
  ),
});

/** The fieldRef paths a downwardAPI volume file may name (Kubernetes' list for volumes). */
const VOLUME_FIELD_PATHS = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "metadata.labels",
  "metadata.annotations",
];

/** The items of a downwardAPI volume or projection. */
const DOWNWARD_ITEMS = (at: string): Record<string, FieldSupport> => ({
  [`${at}.items`]: honoured(T.downwardAPI),
  [`${at}.items[].path`]: honoured(T.downwardAPI),
  [`${at}.items[].mode`]: honoured(T.itemMode),
  [`${at}.items[].fieldRef`]: honoured(T.downwardAPI),
  [`${at}.items[].fieldRef.apiVersion`]: honoured(T.downwardAPI, {
    refused: "v2",
    supported: ["v1"],
  }),
  [`${at}.items[].fieldRef.fieldPath`]: honoured(T.downwardAPI, {
    refused: "status.podIP",
    allowed: (v) =>
      typeof v === "string" &&
      (VOLUME_FIELD_PATHS.includes(v) || /^metadata\.(labels|annotations)\['[^']+'\]$/.test(v)),
    note: "downwardAPI volume `fieldRef` paths other than metadata.name/namespace/uid/labels/" +
      "annotations (Kubernetes allows no others in volumes)",
  }),
  [`${at}.items[].resourceFieldRef`]: honoured(T.downwardAPI),
  [`${at}.items[].resourceFieldRef.containerName`]: honoured(T.downwardAPI),
  [`${at}.items[].resourceFieldRef.resource`]: honoured(T.downwardAPI, {
    refused: "limits.ephemeral-storage",
    supported: ["limits.cpu", "limits.memory", "requests.cpu", "requests.memory"],
  }),
  [`${at}.items[].resourceFieldRef.divisor`]: refused(
    "1m",
    "`resourceFieldRef.divisor`",
    { noop: ["1"] },
  ),
});

/** A ConfigMap or Secret projection. */
const KEY_SOURCE = (at: string): Record<string, FieldSupport> => ({
  [at]: honoured(T.projected),
  [`${at}.name`]: honoured(T.projected),
  [`${at}.optional`]: honoured(T.projected),
  [`${at}.items`]: honoured(T.projected),
  [`${at}.items[].key`]: honoured(T.projected),
  [`${at}.items[].path`]: honoured(T.projected),
  [`${at}.items[].mode`]: honoured(T.itemMode),
});
/** A lifecycle hook (`postStart`, `preStop`); tcpSocket is accepted and fails, as in Kubernetes. */
const HOOK = (kind: string): Record<string, FieldSupport> => {
  const p = `containers[].lifecycle.${kind}`;
  return {
    [p]: honoured(T.hooks),
    [`${p}.exec`]: honoured(T.hooks, { subtree: true }),
    [`${p}.httpGet`]: honoured(T.httpHooks),
    [`${p}.httpGet.path`]: honoured(T.httpHooks),
    [`${p}.httpGet.port`]: honoured(T.httpHooks),
    [`${p}.httpGet.host`]: honoured(T.httpHooks),
    [`${p}.httpGet.scheme`]: honoured(T.httpHooks, {
      refused: "HTTPS",
      supported: ["HTTP"],
      note: "HTTPS lifecycle hooks",
    }),
    [`${p}.httpGet.httpHeaders`]: honoured(T.httpHooks, { subtree: true }),
    [`${p}.tcpSocket`]: honoured(T.failedHooks, { subtree: true }),
    [`${p}.sleep`]: honoured(T.httpHooks, { subtree: true }),
  };
};

/** seccomp/AppArmor: the runtime's default profile or none; `Localhost` profiles are refused. */
/** The resources a node has and Skiff accounts for, in requests and limits. */
const NODE_RESOURCES = ["cpu", "memory", "ephemeral-storage"];

const PROFILE: Partial<FieldSupport> = {
  refused: { type: "Localhost", localhostProfile: "profile.json" },
  allowed: (v) => ["RuntimeDefault", "Unconfined"].includes((v as { type?: string }).type ?? ""),
  subtree: true,
  note: "`Localhost` seccomp and AppArmor profiles",
};

/** Every PodSpec field, by path. */
export const POD_SPEC_FIELDS: Record<string, FieldSupport> = {
  // --- volumes ---------------------------------------------------------------------------
  "volumes": honoured(T.volumes),
  "volumes[].name": honoured(T.volumes),
  "volumes[].emptyDir": honoured(T.volumes),
  "volumes[].emptyDir.medium": honoured(T.memoryVolume, {
    refused: "HugePages",
    supported: ["", "Memory"],
    note: '`emptyDir.medium` other than `""` and `Memory` (huge pages)',
  }),
  "volumes[].emptyDir.sizeLimit": honoured(T.storageLimits),
  "volumes[].hostPath": honoured(T.logs),
  "volumes[].hostPath.path": honoured(T.logs),
  "volumes[].hostPath.type": honoured(T.hostPathType, {
    refused: "Fifo",
    supported: [
      "",
      "DirectoryOrCreate",
      "Directory",
      "FileOrCreate",
      "File",
      "Socket",
      "CharDevice",
      "BlockDevice",
    ],
  }),
  "volumes[].configMap": honoured(T.liveUpdate),
  "volumes[].configMap.name": honoured(T.volumes),
  "volumes[].configMap.items": honoured(T.volumes),
  "volumes[].configMap.items[].key": honoured(T.volumes),
  "volumes[].configMap.items[].path": honoured(T.volumes),
  "volumes[].configMap.items[].mode": honoured(T.itemMode),
  "volumes[].configMap.defaultMode": honoured(T.volumes),
  "volumes[].configMap.optional": honoured(T.config),
  "volumes[].secret": honoured(T.volumes),
  "volumes[].secret.secretName": honoured(T.volumes),
  "volumes[].secret.items": honoured(T.volumes),
  "volumes[].secret.items[].key": honoured(T.volumes),
  "volumes[].secret.items[].path": honoured(T.volumes),
  "volumes[].secret.items[].mode": honoured(T.itemMode),
  "volumes[].secret.defaultMode": honoured(T.volumes),
  "volumes[].secret.optional": honoured(T.config),
  "volumes[].persistentVolumeClaim": honoured(T.claims, { subtree: true }),
  "volumes[].downwardAPI": honoured(T.downwardAPI),
  "volumes[].downwardAPI.defaultMode": honoured(T.itemMode),
  ...DOWNWARD_ITEMS("volumes[].downwardAPI"),
  "volumes[].projected": honoured(T.projected),
  "volumes[].projected.defaultMode": honoured(T.itemMode),
  "volumes[].projected.sources": honoured(T.projected),
  ...KEY_SOURCE("volumes[].projected.sources[].configMap"),
  ...KEY_SOURCE("volumes[].projected.sources[].secret"),
  "volumes[].projected.sources[].downwardAPI": honoured(T.projected),
  ...DOWNWARD_ITEMS("volumes[].projected.sources[].downwardAPI"),
  "volumes[].projected.sources[].serviceAccountToken": honoured(T.saVolume),
  "volumes[].projected.sources[].serviceAccountToken.path": honoured(T.saVolume),
  "volumes[].projected.sources[].serviceAccountToken.expirationSeconds": honoured(T.saVolume),
  "volumes[].projected.sources[].serviceAccountToken.audience": honoured(T.saVolume),
  "volumes[].projected.sources[].clusterTrustBundle": refused(
    { signerName: "x.example/y", path: "ca.pem" },
    "`clusterTrustBundle` projections (no ClusterTrustBundle API)",
  ),
  "volumes[].nfs": refused({ server: "nfs.example", path: "/x" }, "nfs volumes"),
  "volumes[].csi": refused({ driver: "x.csi.example" }, "csi volumes"),
  "volumes[].ephemeral": refused({}, "ephemeral volumes"),
  "volumes[].image": refused({ reference: "busybox" }, "image volumes"),
  "volumes[].iscsi": refused({}, "iscsi volumes"),
  "volumes[].glusterfs": refused({}, "glusterfs volumes"),
  "volumes[].rbd": refused({}, "rbd volumes"),
  "volumes[].flexVolume": refused({}, "flexVolume volumes"),
  "volumes[].cinder": refused({}, "cinder volumes"),
  "volumes[].cephfs": refused({}, "cephfs volumes"),
  "volumes[].flocker": refused({}, "flocker volumes"),
  "volumes[].fc": refused({}, "fc volumes"),
  "volumes[].azureFile": refused({}, "azureFile volumes"),
  "volumes[].azureDisk": refused({}, "azureDisk volumes"),
  "volumes[].vsphereVolume": refused({}, "vsphereVolume volumes"),
  "volumes[].quobyte": refused({}, "quobyte volumes"),
  "volumes[].photonPersistentDisk": refused({}, "photonPersistentDisk volumes"),
  "volumes[].portworxVolume": refused({}, "portworxVolume volumes"),
  "volumes[].scaleIO": refused({}, "scaleIO volumes"),
  "volumes[].storageos": refused({}, "storageos volumes"),
  "volumes[].gcePersistentDisk": refused({}, "gcePersistentDisk volumes"),
  "volumes[].awsElasticBlockStore": refused({}, "awsElasticBlockStore volumes"),
  "volumes[].gitRepo": refused({}, "gitRepo volumes"),

  // --- containers (init containers use the same entries) -----------------------------------
  "initContainers": honoured(T.init),
  "containers": honoured(T.run),
  "containers[].name": honoured(T.run),
  "containers[].image": honoured(T.run),
  "containers[].command": honoured(T.createOptions),
  "containers[].args": honoured(T.createOptions),
  "containers[].workingDir": honoured(T.config),
  "containers[].ports": honoured(T.sandbox),
  "containers[].ports[].name": honoured(T.httpProbe),
  "containers[].ports[].containerPort": honoured(T.sandbox),
  "containers[].ports[].hostPort": honoured(T.hostPort),
  "containers[].ports[].hostIP": honoured(T.sandboxOptions),
  "containers[].ports[].protocol": honoured(T.sandbox),
  "containers[].envFrom": honoured(T.env, { subtree: true }),
  "containers[].env": honoured(T.env),
  "containers[].env[].name": honoured(T.env),
  "containers[].env[].value": honoured(T.env),
  "containers[].env[].valueFrom": honoured(T.env),
  "containers[].env[].valueFrom.configMapKeyRef": honoured(T.env, { subtree: true }),
  "containers[].env[].valueFrom.secretKeyRef": honoured(T.env, { subtree: true }),
  "containers[].env[].valueFrom.fieldRef": honoured(T.env),
  "containers[].env[].valueFrom.fieldRef.apiVersion": honoured(T.env, {
    refused: "v2",
    supported: ["v1"],
  }),
  "containers[].env[].valueFrom.fieldRef.fieldPath": honoured(T.env, {
    refused: "status.podIPs",
    allowed: (v) =>
      typeof v === "string" &&
      (ENV_FIELD_PATHS.includes(v) ||
        /^metadata\.(labels|annotations)\['[^']+'\]$/.test(v)),
    note: "`fieldRef` paths other than " + "metadata.name/namespace/uid/labels/annotations, " +
      "spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP",
  }),
  "containers[].env[].valueFrom.resourceFieldRef": honoured(T.envResource),
  "containers[].env[].valueFrom.resourceFieldRef.containerName": refused(
    "other",
    "`resourceFieldRef.containerName` (a container's own resources only)",
  ),
  "containers[].env[].valueFrom.resourceFieldRef.resource": honoured(T.envResource, {
    refused: "limits.ephemeral-storage",
    supported: ["limits.cpu", "limits.memory", "requests.cpu", "requests.memory"],
  }),
  "containers[].env[].valueFrom.resourceFieldRef.divisor": refused(
    "1m",
    "`resourceFieldRef.divisor`",
    { noop: ["1"] },
  ),
  "containers[].resources": honoured(T.config),
  // Maps (resource lists, nodeSelector) are leaves: `subtree` keeps their keys from being walked.
  // `ephemeral-storage` limits evict the pod as the kubelet does (T.storageLimits), its requests
  // count in the scheduler's NodeResourcesFit (server/scheduler/node_resources_fit_test.ts).
  "containers[].resources.limits": honoured(T.limits, {
    subtree: true,
    refused: { "nvidia.com/gpu": "1" },
    allowed: (v) => Object.keys(v as object).every((k) => NODE_RESOURCES.includes(k)),
    note: "resources other than cpu, memory and ephemeral-storage in limits/requests",
  }),
  "containers[].resources.requests": honoured(T.scheduler, {
    subtree: true,
    refused: { "nvidia.com/gpu": "1" },
    allowed: (v) => Object.keys(v as object).every((k) => NODE_RESOURCES.includes(k)),
  }),
  "containers[].resources.claims": refused([{ name: "gpu" }], "resource claims (DRA)"),
  "containers[].volumeMounts": honoured(T.volumes),
  "containers[].volumeMounts[].name": honoured(T.volumes),
  "containers[].volumeMounts[].mountPath": honoured(T.volumes),
  "containers[].volumeMounts[].readOnly": honoured(T.volumes),
  "containers[].volumeMounts[].subPath": honoured(T.volumes),
  "containers[].volumeMounts[].subPathExpr": honoured(T.subPathExpr),
  "containers[].volumeMounts[].mountPropagation": honoured(T.mountPropagation),
  ...PROBE("livenessProbe", T.restart),
  ...PROBE("readinessProbe", T.restart),
  ...PROBE("startupProbe", T.restart),
  "containers[].lifecycle": honoured(T.hooks),
  ...HOOK("postStart"),
  ...HOOK("preStop"),
  "containers[].lifecycle.stopSignal": honoured(T.stopSignal),
  "containers[].terminationMessagePath": honoured(T.terminationMessage),
  "containers[].terminationMessagePolicy": honoured(T.terminationMessage),
  "containers[].imagePullPolicy": honoured(T.images),
  "containers[].securityContext": honoured(T.securityOptions),
  "containers[].securityContext.privileged": honoured(T.securityOptions),
  "containers[].securityContext.runAsUser": honoured(T.securityOptions),
  "containers[].securityContext.runAsGroup": honoured(T.securityOptions),
  "containers[].securityContext.capabilities": honoured(T.restrictedPod, { subtree: true }),
  "containers[].securityContext.seLinuxOptions": refused(
    { type: "container_t" },
    "SELinux options",
  ),
  "containers[].securityContext.windowsOptions": refused({}, "Windows options"),
  "containers[].securityContext.runAsNonRoot": honoured(T.restrictedPod),
  "containers[].securityContext.readOnlyRootFilesystem": honoured(T.restrictedPod),
  "containers[].securityContext.allowPrivilegeEscalation": honoured(T.restrictedPod),
  "containers[].securityContext.procMount": refused("Unmasked", "`procMount: Unmasked`", {
    noop: ["Default"],
  }),
  "containers[].securityContext.seccompProfile": honoured(T.securityOptions, PROFILE),
  "containers[].securityContext.appArmorProfile": honoured(T.securityOptions, PROFILE),
  // Validation allows it on init containers only, and only `Always` (sidecars).
  "containers[].restartPolicy": honoured(T.sidecars),
  "containers[].stdin": honoured(T.attach),
  "containers[].stdinOnce": honoured(T.securityOptions),
  "containers[].tty": honoured(T.attach),
  "containers[].resizePolicy": refused(
    [{ resourceName: "cpu", restartPolicy: "NotRequired" }],
    "in-place resize",
  ),
  "containers[].volumeDevices": refused([{ name: "v", devicePath: "/dev/x" }], "block volumes"),

  // --- the pod -------------------------------------------------------------------------------
  "restartPolicy": honoured(T.restart),
  "terminationGracePeriodSeconds": honoured(T.grace),
  "activeDeadlineSeconds": honoured(T.activeDeadline),
  "dnsPolicy": honoured(T.dnsPolicy),
  "dnsConfig": honoured(T.dnsConfig, { subtree: true }),
  "nodeSelector": honoured(T.scheduler, { subtree: true }),
  "serviceAccountName": honoured(T.serviceAccount),
  "serviceAccount": honoured(T.serviceAccount),
  "automountServiceAccountToken": honoured(T.automount),
  "nodeName": honoured(T.run),
  "hostNetwork": honoured(T.sandboxOptions),
  "hostPID": honoured(T.hostNamespaces),
  "hostIPC": honoured(T.hostNamespaces),
  "shareProcessNamespace": honoured(T.shareProcessNamespace),
  "securityContext": honoured(T.run),
  "securityContext.seLinuxOptions": refused({ type: "container_t" }, "SELinux options"),
  "securityContext.windowsOptions": refused({}, "Windows options"),
  "securityContext.runAsUser": honoured(T.restrictedPod),
  "securityContext.runAsGroup": honoured(T.restrictedPod),
  "securityContext.runAsNonRoot": honoured(T.restrictedPod),
  "securityContext.supplementalGroups": honoured(T.securityOptions),
  "securityContext.supplementalGroupsPolicy": refused(
    "Strict",
    "`supplementalGroupsPolicy: Strict`",
    {
      noop: ["Merge"],
    },
  ),
  "securityContext.fsGroup": honoured(T.fsGroup),
  "securityContext.fsGroupChangePolicy": honoured(T.fsGroupChangePolicy),
  // Unsafe sysctls are the node's call (`--allowed-unsafe-sysctls`), as the kubelet's.
  "securityContext.sysctls": honoured(T.sysctls, { subtree: true }),
  "securityContext.seccompProfile": honoured(T.restrictedPod, PROFILE),
  "securityContext.appArmorProfile": honoured(T.securityOptions, PROFILE),
  "securityContext.seLinuxChangePolicy": refused("MountOption", "SELinux options"),
  "imagePullSecrets": honoured(T.pullSecrets, { subtree: true }),
  "hostname": honoured(T.hostname),
  "subdomain": honoured(T.hostname),
  "affinity": honoured(T.scheduler),
  "affinity.nodeAffinity": honoured(T.nodeAffinity),
  "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution": honoured(
    T.nodeAffinity,
    { subtree: true },
  ),
  "affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution": honoured(
    T.preferredNodeAffinity,
    { subtree: true },
  ),
  // Every term field (server/scheduler/); matchLabelKeys and mismatchLabelKeys are merged into
  // the selector on create (server/registry/pod_affinity_label_keys.ts).
  "affinity.podAffinity": honoured(T.podAffinity, { subtree: true }),
  "affinity.podAntiAffinity": honoured(T.podAntiAffinity, { subtree: true }),
  "schedulerName": honoured(T.scheduler),
  "tolerations": honoured(T.tolerations, { subtree: true }),
  "hostAliases": honoured(T.podDns, { subtree: true }),
  "priorityClassName": honoured(T.priorityAdmission),
  "priority": honoured(T.priorityAdmission),
  "preemptionPolicy": honoured(T.preemption),
  "readinessGates": honoured(T.readinessGates, { subtree: true }),
  "runtimeClassName": refused("gvisor", "RuntimeClasses"),
  "enableServiceLinks": honoured(T.podDns),
  // maxSkew, minDomains, both inclusion policies and matchLabelKeys (server/scheduler/).
  "topologySpreadConstraints": honoured(T.topologySpread, { subtree: true }),
  "overhead": refused({ cpu: "100m" }, "pod overhead (RuntimeClasses)"),
  "os": honoured(T.run),
  "os.name": honoured(T.run, { refused: "windows", supported: ["linux"] }),
  "setHostnameAsFQDN": honoured(T.setHostnameAsFQDN),
  "hostUsers": refused(false, "user namespaces (`hostUsers: false`)", { noop: [true] }),
  "schedulingGates": honoured(T.schedulingGates, { subtree: true }),
  "resourceClaims": refused([{ name: "gpu" }], "resource claims (DRA)", { noop: [[]] }),
  // Added to running pods only (`pods/ephemeralcontainers`, `kubectl debug`): validation refuses
  // them on create and in templates, as Kubernetes does.
  "ephemeralContainers": honoured(T.ephemeral),
  "ephemeralContainers[].targetContainerName": honoured(T.ephemeral),
  "resources": refused({ limits: { cpu: "1" } }, "pod-level resources"),
};

/** The `fieldRef` paths the agent resolves for environment variables. */
export const ENV_FIELD_PATHS = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.podIP",
  "status.hostIP",
];

/**
 * Paths already looked up: every pod write walks the same few hundred. Only found paths are kept
 * (they are the table's keys, so the map stays small); a path with no entry is a refused field,
 * and a client could send any number of those.
 */
const found = new Map<string, { key: string; entry: FieldSupport }>();

/** The entry for a PodSpec-relative path (`initContainers[]` shares `containers[]`), if any. */
export function fieldSupport(path: string): { key: string; entry: FieldSupport } | undefined {
  const cached = found.get(path);
  if (cached) return cached;
  const result = lookUp(path);
  if (result) found.set(path, result);
  return result;
}

/**
 * The table's path for a PodSpec path: init and ephemeral containers share the entries of
 * `containers[]` (an ephemeral container's own `targetContainerName` has its own).
 */
export function tablePath(path: string): string {
  if (path === "ephemeralContainers[].targetContainerName") return path;
  return path.replace(/^(initContainers|ephemeralContainers)\[\]/, "containers[]");
}

function lookUp(path: string): { key: string; entry: FieldSupport } | undefined {
  const key = tablePath(path);
  let probe = key;
  for (;;) {
    const entry = POD_SPEC_FIELDS[probe];
    if (entry && (probe === key || entry.subtree)) return { key: probe, entry };
    const cut = Math.max(probe.lastIndexOf("."), probe.lastIndexOf("[]"));
    if (cut <= 0) return undefined;
    probe = probe.slice(0, cut);
  }
}
