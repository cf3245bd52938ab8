/**
 * The per-kind validation rules that go beyond a schema's shape, run on parsed and defaulted
 * objects: names, labels, selectors matching templates, unique container/port/volume names,
 * port ranges, probes, resources, Service port rules, ConfigMap/Secret keys. Each rule reports
 * into a FieldErrors with the Kubernetes field path of the bad value.
 */
import { validateLimitRange } from "./limit_range.ts";
import { validateResourceQuota } from "./resource_quota.ts";
import { labelKeyErrors, labelValueErrors, selectorFromLabelSelector } from "../labels.ts";
import type { LabelSelector as SelectorShape } from "../labels.ts";
import { ApiError } from "../errors.ts";
import {
  configKeyErrors,
  dns1035LabelErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  FieldErrors,
  isIP,
  portNameErrors,
} from "./field_errors.ts";
import { quantityMillis } from "./quantity.ts";
import {
  validatePodAffinities,
  validateSetOperatorValues,
  validateTopologySpreadConstraints,
} from "./pod_scheduling_validation.ts";
import { UNSUPPORTED_VOLUME_SOURCES } from "./core_v1.ts";
import { validateLocalDescendingPath, validateVolumeFiles } from "./volume_file_validation.ts";
import { validateDaemonSet, validateStatefulSet } from "./validation_apps.ts";
import {
  validatePersistentVolume,
  validatePersistentVolumeClaim,
  validateStorageClass,
} from "./storage_validation.ts";
import { validateCronJob, validateJob } from "./batch_validation.ts";
import { validatePodDisruptionBudget } from "./policy_validation.ts";
import { validateHorizontalPodAutoscaler } from "./autoscaling_validation.ts";
import {
  pathSegmentNameErrors,
  validateClusterRole,
  validateRole,
  validateRoleBinding,
} from "./rbac_validation.ts";
import { validateIngress, validateIngressClass } from "./networking_validation.ts";
import { validatePriorityClass } from "./scheduling_validation.ts";
import { validateNetworkPolicy } from "./network_policy_validation.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const TOTAL_ANNOTATION_BYTES = 256 * 1024;
const CONFIG_BYTES = 1024 * 1024;

function nameRule(kind: string): (value: string) => string[] {
  switch (kind) {
    case "Namespace":
      return dns1123LabelErrors;
    case "Service":
    case "Endpoints":
      return dns1035LabelErrors;
    case "Role":
    case "ClusterRole":
    case "RoleBinding":
    case "ClusterRoleBinding":
      return pathSegmentNameErrors;
    default:
      return dns1123SubdomainErrors;
  }
}

/** metadata: name (by the kind's rule), namespace, labels, annotations, ownerReferences. */
export function validateObjectMeta(
  kind: string,
  meta: Obj,
  errs: FieldErrors,
  options: { namespaced: boolean },
): void {
  if (!meta.name) {
    if (!meta.generateName) errs.required("metadata.name", "name or generateName is required");
  } else {
    for (const e of nameRule(kind)(meta.name)) errs.invalid("metadata.name", meta.name, e);
  }
  if (options.namespaced && meta.namespace) {
    for (const e of dns1123LabelErrors(meta.namespace)) {
      errs.invalid("metadata.namespace", meta.namespace, e);
    }
  }
  validateLabels(meta.labels, "metadata.labels", errs);
  (meta.finalizers as string[] | undefined)?.forEach((f, i) => {
    for (const e of labelKeyErrors(f)) errs.invalid(`metadata.finalizers[${i}]`, f, e);
  });
  let annotationBytes = 0;
  for (const [k, v] of Object.entries((meta.annotations ?? {}) as Record<string, string>)) {
    for (const e of labelKeyErrors(k.toLowerCase())) errs.invalid("metadata.annotations", k, e);
    annotationBytes += k.length + v.length;
  }
  if (annotationBytes > TOTAL_ANNOTATION_BYTES) {
    errs.tooLong("metadata.annotations", TOTAL_ANNOTATION_BYTES);
  }
  (meta.ownerReferences as Obj[] | undefined)?.forEach((ref, i) => {
    const f = `metadata.ownerReferences[${i}]`;
    if (!ref.apiVersion) {
      errs.invalid(`${f}.apiVersion`, ref.apiVersion, "version must not be empty");
    }
    if (!ref.kind) errs.invalid(`${f}.kind`, ref.kind, "kind must not be empty");
    if (!ref.name) errs.invalid(`${f}.name`, ref.name, "name must not be empty");
    if (!ref.uid) errs.invalid(`${f}.uid`, ref.uid, "uid must not be empty");
  });
  const controllers = (meta.ownerReferences as Obj[] | undefined)?.filter((r) => r.controller);
  if (controllers && controllers.length > 1) {
    errs.invalid(
      "metadata.ownerReferences",
      controllers.map((r) => r.name),
      "Only one reference can have Controller set to true",
    );
  }
}

/** An object being deleted may lose finalizers but gain none (ValidateObjectMetaUpdate). */
export function validateNoNewFinalizers(next: Obj, old: Obj, errs: FieldErrors): void {
  if (old.metadata?.deletionTimestamp === undefined) return;
  const before = new Set<string>(old.metadata.finalizers ?? []);
  const added = [...new Set<string>(next.metadata?.finalizers ?? [])].filter((f) => !before.has(f))
    .sort();
  if (added.length === 0) return;
  errs.forbidden(
    "metadata.finalizers",
    `no new finalizers can be added if the object is being deleted, found new finalizers []string{${
      added.map((f) => JSON.stringify(f)).join(", ")
    }}`,
  );
}

/** Label keys and values (also nodeSelector and Service selectors). */
export function validateLabels(
  labels: Record<string, string> | undefined,
  field: string,
  errs: FieldErrors,
): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const e of labelKeyErrors(k)) errs.invalid(field, k, e);
    for (const e of labelValueErrors(v)) errs.invalid(field, v, e);
  }
}

function validatePortNumber(
  value: number,
  field: string,
  errs: FieldErrors,
  options: { allowZero?: boolean } = {},
): void {
  if (options.allowZero && value === 0) return;
  if (value < 1 || value > 65535) {
    errs.invalid(field, value, "must be between 1 and 65535, inclusive");
  }
}

function validateIntOrPortName(value: number | string, field: string, errs: FieldErrors): void {
  if (typeof value === "number") validatePortNumber(value, field, errs);
  else if (/^\d+$/.test(value)) validatePortNumber(Number(value), field, errs);
  else for (const e of portNameErrors(value)) errs.invalid(field, value, e);
}

/** `value` ≥ 0 when present. */
export function validateNonNegative(
  value: number | undefined,
  field: string,
  errs: FieldErrors,
): void {
  if (value !== undefined && value < 0) {
    errs.invalid(field, value, "must be greater than or equal to 0");
  }
}

function validateProbe(
  probe: Obj | undefined,
  field: string,
  errs: FieldErrors,
  options: { mustSucceedOnce: boolean },
): void {
  if (!probe) return;
  const handlers = ["exec", "httpGet", "tcpSocket", "grpc"].filter((h) => probe[h] !== undefined);
  if (handlers.length === 0) errs.required(field, "must specify a handler type");
  if (handlers.length > 1) {
    errs.forbidden(`${field}.${handlers[1]}`, "may not specify more than 1 handler type");
  }
  if (probe.httpGet) validateIntOrPortName(probe.httpGet.port, `${field}.httpGet.port`, errs);
  if (probe.tcpSocket) validateIntOrPortName(probe.tcpSocket.port, `${field}.tcpSocket.port`, errs);
  if (probe.grpc) validatePortNumber(probe.grpc.port, `${field}.grpc.port`, errs);
  if (probe.exec && !(probe.exec.command?.length > 0)) errs.required(`${field}.exec.command`);
  for (const k of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds"]) {
    validateNonNegative(probe[k], `${field}.${k}`, errs);
  }
  for (const k of ["timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"]) {
    if (probe[k] !== undefined && probe[k] < 1) {
      errs.invalid(`${field}.${k}`, probe[k], "must be greater than or equal to 1");
    }
  }
  if (options.mustSucceedOnce && probe.successThreshold !== 1) {
    errs.invalid(`${field}.successThreshold`, probe.successThreshold, "must be 1");
  }
}

/** The signals a Linux container may name in `lifecycle.stopSignal` (Kubernetes' list). */
export const LINUX_STOP_SIGNALS: readonly string[] = [
  ..."ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ"
    .split(" ").map((s) => `SIG${s}`),
  "SIGRTMIN",
  ...Array.from({ length: 15 }, (_, i) => `SIGRTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `SIGRTMAX-${14 - i}`),
  "SIGRTMAX",
];

/** `lifecycle.stopSignal`: needs the pod's OS, and a signal that OS has. */
function validateStopSignal(
  signal: unknown,
  field: string,
  errs: FieldErrors,
  osName: string | undefined,
): void {
  if (signal === undefined) return;
  if (!osName) {
    errs.forbidden(field, "may not be set for containers with empty `spec.os.name`");
  } else if (osName === "linux" && !LINUX_STOP_SIGNALS.includes(String(signal))) {
    errs.notSupported(field, signal, LINUX_STOP_SIGNALS);
  }
}

/** A lifecycle hook: exactly one handler (Kubernetes' validateHandler). */
function validateLifecycleHandler(hook: Obj | undefined, field: string, errs: FieldErrors): void {
  if (!hook) return;
  const handlers = ["exec", "httpGet", "tcpSocket", "sleep"].filter((h) => hook[h] !== undefined);
  if (handlers.length === 0) errs.required(field, "must specify a handler type");
  if (handlers.length > 1) {
    errs.forbidden(`${field}.${handlers[1]}`, "may not specify more than 1 handler type");
  }
  if (hook.httpGet) validateIntOrPortName(hook.httpGet.port, `${field}.httpGet.port`, errs);
  if (hook.exec && !(hook.exec.command?.length > 0)) errs.required(`${field}.exec.command`);
  if (hook.sleep && !(hook.sleep.seconds > 0)) {
    errs.invalid(`${field}.sleep.seconds`, hook.sleep.seconds, "must be greater than 0");
  }
}

function validateResources(res: Obj | undefined, field: string, errs: FieldErrors): void {
  if (!res) return;
  for (const part of ["limits", "requests"]) {
    for (const [name, q] of Object.entries((res[part] ?? {}) as Record<string, string>)) {
      if (quantityMillis(q) < 0) {
        errs.invalid(`${field}.${part}[${name}]`, q, "must be greater than or equal to 0");
      }
    }
  }
  for (const [name, req] of Object.entries((res.requests ?? {}) as Record<string, string>)) {
    const limit = res.limits?.[name];
    if (limit !== undefined && quantityMillis(req) > quantityMillis(limit)) {
      errs.invalid(
        `${field}.requests`,
        req,
        `must be less than or equal to ${name} limit of ${limit}`,
      );
    }
  }
}

function validateEnv(env: Obj[] | undefined, field: string, errs: FieldErrors): void {
  env?.forEach((e, i) => {
    const f = `${field}[${i}]`;
    if (!e.name) errs.required(`${f}.name`);
    // Kubernetes' relaxed rule (RelaxedEnvironmentVariableValidation, on by default since 1.30).
    else if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(e.name)) {
      errs.invalid(
        `${f}.name`,
        e.name,
        "a valid environment variable name must consist only of printable ASCII characters other than '='",
      );
    }
    if (!e.valueFrom) return;
    const sources = ["configMapKeyRef", "secretKeyRef", "fieldRef", "resourceFieldRef"].filter((
      s,
    ) => e.valueFrom[s] !== undefined);
    if (e.value) {
      errs.invalid(`${f}.valueFrom`, "", "may not be specified when `value` is not empty");
    }
    if (sources.length === 0) {
      errs.invalid(
        `${f}.valueFrom`,
        "",
        "must specify one of: `fieldRef`, `resourceFieldRef`, " +
          "`configMapKeyRef` or `secretKeyRef`",
      );
    } else if (sources.length > 1) {
      errs.invalid(`${f}.valueFrom`, "", "may not have more than one field specified at a time");
    }
    for (const s of ["configMapKeyRef", "secretKeyRef"]) {
      const ref = e.valueFrom[s];
      if (ref && !ref.name) errs.required(`${f}.valueFrom.${s}.name`);
      if (ref && !ref.key) errs.required(`${f}.valueFrom.${s}.key`);
    }
  });
}

function validateContainers(
  containers: Obj[],
  field: string,
  errs: FieldErrors,
  ctx: {
    names: Set<string>;
    volumes: Set<string>;
    init: boolean;
    osName?: string;
    /** Ephemeral containers' own checks are validateEphemeralContainers'. */
    ephemeral?: boolean;
  },
): void {
  containers.forEach((c, i) => {
    const f = `${field}[${i}]`;
    if (!c.name) errs.required(`${f}.name`);
    else {
      for (const e of dns1123LabelErrors(c.name)) errs.invalid(`${f}.name`, c.name, e);
      if (ctx.names.has(c.name)) errs.duplicate(`${f}.name`, c.name);
      ctx.names.add(c.name);
    }
    if (!c.image || !String(c.image).trim()) errs.required(`${f}.image`);
    const portNames = new Set<string>();
    (c.ports as Obj[] | undefined)?.forEach((p, j) => {
      const pf = `${f}.ports[${j}]`;
      validatePortNumber(p.containerPort, `${pf}.containerPort`, errs);
      if (p.hostPort !== undefined) {
        validatePortNumber(p.hostPort, `${pf}.hostPort`, errs, { allowZero: true });
      }
      if (p.hostIP !== undefined && p.hostIP !== "" && !isIP(p.hostIP)) {
        errs.invalid(`${pf}.hostIP`, p.hostIP, "must be a valid IP address");
      }
      if (p.name) {
        for (const e of portNameErrors(p.name)) errs.invalid(`${pf}.name`, p.name, e);
        if (portNames.has(p.name)) errs.duplicate(`${pf}.name`, p.name);
        portNames.add(p.name);
      }
    });
    validateEnv(c.env, `${f}.env`, errs);
    (c.volumeMounts as Obj[] | undefined)?.forEach((m, j) => {
      const mf = `${f}.volumeMounts[${j}]`;
      if (!m.name) errs.required(`${mf}.name`);
      else if (!ctx.volumes.has(m.name)) errs.notFound(`${mf}.name`, m.name);
      if (!m.mountPath) errs.required(`${mf}.mountPath`);
      validateMountPropagation(m.mountPropagation, c, `${mf}.mountPropagation`, errs);
      if (m.subPath) validateLocalDescendingPath(m.subPath, `${mf}.subPath`, errs);
      if (m.subPathExpr) {
        if (m.subPath) {
          errs.invalid(
            `${mf}.subPathExpr`,
            m.subPathExpr,
            "subPathExpr and subPath are mutually exclusive",
          );
        }
        validateLocalDescendingPath(m.subPathExpr, `${mf}.subPathExpr`, errs);
      }
    });
    validateResources(c.resources, `${f}.resources`, errs);
    // Sidecars: only an init container may restart on its own, and only always.
    if (c.restartPolicy !== undefined && !ctx.ephemeral) {
      if (!ctx.init) errs.forbidden(`${f}.restartPolicy`, "may not be set for non-init containers");
      else if (c.restartPolicy !== "Always") {
        errs.notSupported(`${f}.restartPolicy`, c.restartPolicy, ["Always"]);
      }
    }
    if (ctx.init) {
      for (const p of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        if (c[p] && c.restartPolicy !== "Always") {
          errs.forbidden(`${f}.${p}`, "may not be set for init containers");
        }
      }
      if (c.lifecycle && c.restartPolicy !== "Always") {
        errs.forbidden(
          `${f}.lifecycle`,
          "may not be set for init containers without restartPolicy=Always",
        );
      }
    }
    validateStopSignal(c.lifecycle?.stopSignal, `${f}.lifecycle.stopSignal`, errs, ctx.osName);
    validateLifecycleHandler(c.lifecycle?.postStart, `${f}.lifecycle.postStart`, errs);
    validateLifecycleHandler(c.lifecycle?.preStop, `${f}.lifecycle.preStop`, errs);
    validateProbe(c.livenessProbe, `${f}.livenessProbe`, errs, { mustSucceedOnce: true });
    validateProbe(c.readinessProbe, `${f}.readinessProbe`, errs, { mustSucceedOnce: false });
    validateProbe(c.startupProbe, `${f}.startupProbe`, errs, { mustSucceedOnce: true });
  });
}

const MOUNT_PROPAGATIONS = ["Bidirectional", "HostToContainer", "None"];

/** Kubernetes' validateMountPropagation: a known mode; Bidirectional in privileged containers. */
function validateMountPropagation(
  mode: string | undefined,
  container: Obj,
  field: string,
  errs: FieldErrors,
): void {
  if (mode === undefined) return;
  if (!MOUNT_PROPAGATIONS.includes(mode)) errs.notSupported(field, mode, MOUNT_PROPAGATIONS);
  if (mode === "Bidirectional" && container.securityContext?.privileged !== true) {
    errs.forbidden(
      field,
      "Bidirectional mount propagation is available only to privileged containers",
    );
  }
}

const FS_GROUP_CHANGE_POLICIES = ["Always", "OnRootMismatch"];

/**
 * The pod-level security fields Kubernetes checks in validatePodSpecSecurityContext that Skiff's
 * node acts on: fsGroup a valid group ID, a known fsGroupChangePolicy, and shareProcessNamespace
 * not with hostPID (Kubernetes reports that one under `securityContext`, where its internal type
 * keeps both).
 */
/** A user or group ID, as kube-apiserver's ValidateNonnegativeField bounds it. */
function validateId(id: number | undefined, field: string, errs: FieldErrors): void {
  if (id !== undefined && (id < 0 || id > 2147483647)) {
    errs.invalid(field, id, "must be between 0 and 2147483647, inclusive");
  }
}

/** `runAsUser` and `runAsGroup` of a pod's or a container's security context. */
function validateIds(sc: Obj, field: string, errs: FieldErrors): void {
  validateId(sc.runAsUser, `${field}.runAsUser`, errs);
  validateId(sc.runAsGroup, `${field}.runAsGroup`, errs);
}

function validatePodSecurityContext(spec: Obj, field: string, errs: FieldErrors): void {
  const sc = spec.securityContext ?? {};
  const f = `${field}.securityContext`;
  validateId(sc.fsGroup, `${f}.fsGroup`, errs);
  validateIds(sc, f, errs);
  ((sc.supplementalGroups ?? []) as number[]).forEach((g, i) =>
    validateId(g, `${f}.supplementalGroups[${i}]`, errs)
  );
  const lists = ["initContainers", "containers", "ephemeralContainers"];
  for (const list of lists) {
    ((spec[list] ?? []) as Obj[]).forEach((c, i) => {
      if (c.securityContext) {
        validateIds(c.securityContext, `${field}.${list}[${i}].securityContext`, errs);
      }
    });
  }
  if (
    sc.fsGroupChangePolicy !== undefined &&
    !FS_GROUP_CHANGE_POLICIES.includes(sc.fsGroupChangePolicy)
  ) {
    errs.notSupported(`${f}.fsGroupChangePolicy`, sc.fsGroupChangePolicy, FS_GROUP_CHANGE_POLICIES);
  }
  if (spec.shareProcessNamespace === true && spec.hostPID === true) {
    errs.invalid(
      `${f}.shareProcessNamespace`,
      true,
      "ShareProcessNamespace and HostPID cannot both be enabled",
    );
  }
}

const VOLUME_SOURCES = [
  "emptyDir",
  "hostPath",
  "configMap",
  "secret",
  "persistentVolumeClaim",
  "downwardAPI",
  "projected",
  "nfs",
  "csi",
  "ephemeral",
  "image",
  ...UNSUPPORTED_VOLUME_SOURCES,
];

function validateVolumes(
  volumes: Obj[] | undefined,
  field: string,
  errs: FieldErrors,
): Set<string> {
  const names = new Set<string>();
  volumes?.forEach((v, i) => {
    const f = `${field}[${i}]`;
    if (!v.name) errs.required(`${f}.name`);
    else {
      for (const e of dns1123LabelErrors(v.name)) errs.invalid(`${f}.name`, v.name, e);
      if (names.has(v.name)) errs.duplicate(`${f}.name`, v.name);
      names.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined);
    if (sources.length === 0) errs.required(f, "must specify a volume type");
    else if (sources.length > 1) {
      errs.forbidden(`${f}.${sources[1]}`, "may not specify more than 1 volume type");
    }
    if (v.hostPath && !v.hostPath.path) errs.required(`${f}.hostPath.path`);
    if (v.configMap && !v.configMap.name) errs.required(`${f}.configMap.name`);
    if (v.secret && !v.secret.secretName) errs.required(`${f}.secret.secretName`);
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) {
      errs.required(`${f}.persistentVolumeClaim.claimName`);
    }
    validateVolumeFiles(v, f, errs);
  });
  return names;
}

/** One node selector term (node affinity, a volume's node affinity) under `field`. */
export function validateNodeSelectorTerm(term: Obj, field: string, errs: FieldErrors): void {
  for (const part of ["matchExpressions", "matchFields"]) {
    (term[part] as Obj[] | undefined)?.forEach((req, i) => {
      const f = `${field}.${part}[${i}]`;
      const values: string[] = req.values ?? [];
      const setOperator = validateSetOperatorValues(req.operator, values, f, errs);
      if (!setOperator && (req.operator === "Gt" || req.operator === "Lt")) {
        if (values.length !== 1 || !/^-?\d+$/.test(values[0])) {
          errs.required(
            `${f}.values`,
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
          );
        }
      }
      if (part === "matchExpressions") {
        for (const e of labelKeyErrors(req.key)) errs.invalid(`${f}.key`, req.key, e);
      }
    });
  }
}

/** Fields an ephemeral container may not set (to a non-empty value), as kube-apiserver lists them. */
const NOT_FOR_EPHEMERAL = [
  "lifecycle",
  "livenessProbe",
  "ports",
  "readinessProbe",
  "resizePolicy",
  "resources",
  "restartPolicy",
  "startupProbe",
];

/**
 * Ephemeral containers: containers in every other respect (names unique among all of the pod's),
 * without what a debugging container cannot have, and targeting one of the pod's containers.
 */
function validateEphemeralContainers(
  containers: Obj[],
  field: string,
  errs: FieldErrors,
  ctx: { names: Set<string>; volumes: Set<string> },
): void {
  const targets = new Set(ctx.names);
  validateContainers(containers, field, errs, { ...ctx, init: false, ephemeral: true });
  containers.forEach((c, i) => {
    const f = `${field}[${i}]`;
    for (const p of NOT_FOR_EPHEMERAL) {
      if (isNonEmpty(c[p])) errs.forbidden(`${f}.${p}`, "cannot be set for an Ephemeral Container");
    }
    if (c.targetContainerName !== undefined && !targets.has(c.targetContainerName)) {
      errs.notFound(`${f}.targetContainerName`, c.targetContainerName);
    }
  });
}

/** A value Go would not see as its zero value (`resources: {}` is empty). */
function isNonEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.values(v as Obj).some(isNonEmpty);
  return v !== "" && v !== 0 && v !== false;
}

/** A pod spec (Pods and the templates of workloads) under `field` (`spec`, `spec.template.spec`). */
export function validatePodSpec(spec: Obj, field: string, errs: FieldErrors): void {
  const volumes = validateVolumes(spec.volumes, `${field}.volumes`, errs);
  const names = new Set<string>();
  if (!spec.containers || spec.containers.length === 0) errs.required(`${field}.containers`);
  else {validateContainers(spec.containers, `${field}.containers`, errs, {
      names,
      volumes,
      init: false,
      osName: spec.os?.name,
    });}
  if (spec.initContainers) {
    validateContainers(spec.initContainers, `${field}.initContainers`, errs, {
      names,
      volumes,
      init: true,
    });
  }
  validatePodSecurityContext(spec, field, errs);
  const gates = new Set<string>();
  ((spec.schedulingGates ?? []) as Obj[]).forEach((g, i) => {
    const f = `${field}.schedulingGates[${i}].name`;
    for (const e of labelKeyErrors(g.name ?? "")) errs.invalid(f, g.name ?? "", e);
    if (gates.has(g.name)) errs.duplicate(f, g.name);
    gates.add(g.name);
  });
  if (spec.ephemeralContainers && field !== "spec") {
    // A template's (`…template.spec`): they are added to running pods only.
    errs.forbidden(
      `${field}.ephemeralContainers`,
      "ephemeral containers not allowed in pod template",
    );
  } else if (spec.ephemeralContainers) {
    validateEphemeralContainers(spec.ephemeralContainers, `${field}.ephemeralContainers`, errs, {
      names,
      volumes,
    });
  }
  validateNonNegative(
    spec.terminationGracePeriodSeconds,
    `${field}.terminationGracePeriodSeconds`,
    errs,
  );
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds < 1) {
    errs.invalid(
      `${field}.activeDeadlineSeconds`,
      spec.activeDeadlineSeconds,
      "must be between 1 and 2147483647, inclusive",
    );
  }
  validateLabels(spec.nodeSelector, `${field}.nodeSelector`, errs);
  if (spec.nodeName) {
    for (const e of dns1123SubdomainErrors(spec.nodeName)) {
      errs.invalid(`${field}.nodeName`, spec.nodeName, e);
    }
  }
  if (spec.serviceAccountName) {
    for (const e of dns1123SubdomainErrors(spec.serviceAccountName)) {
      errs.invalid(`${field}.serviceAccountName`, spec.serviceAccountName, e);
    }
  }
  if (spec.priorityClassName) {
    for (const e of dns1123SubdomainErrors(spec.priorityClassName)) {
      errs.invalid(`${field}.priorityClassName`, spec.priorityClassName, e);
    }
  }
  (spec.tolerations as Obj[] | undefined)?.forEach((t, i) => {
    const f = `${field}.tolerations[${i}]`;
    if (t.key) { for (const e of labelKeyErrors(t.key)) errs.invalid(`${f}.key`, t.key, e); }
    if (!t.key && t.operator !== "Exists") {
      errs.invalid(
        `${f}.operator`,
        t.operator ?? "",
        'operator must be Exists when `key` is empty, which means "match all values and all keys"',
      );
    }
    if (t.operator === "Exists" && t.value) {
      errs.invalid(`${f}.operator`, t.operator, "value must be empty when `operator` is 'Exists'");
    }
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
      errs.invalid(
        `${f}.effect`,
        t.effect ?? "",
        "effect must be 'NoExecute' when `tolerationSeconds` is set",
      );
    }
  });
  const nodeAffinity = spec.affinity?.nodeAffinity;
  if (nodeAffinity) {
    const required = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    const rf = `${field}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`;
    if (required) {
      if (required.nodeSelectorTerms.length === 0) {
        errs.required(`${rf}.nodeSelectorTerms`, "must have at least one node selector term");
      }
      (required.nodeSelectorTerms as Obj[]).forEach((t, i) =>
        validateNodeSelectorTerm(t, `${rf}.nodeSelectorTerms[${i}]`, errs)
      );
    }
    const pf = `${field}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution`;
    (nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution as Obj[] | undefined)?.forEach(
      (p, i) => {
        if (p.weight < 1 || p.weight > 100) {
          errs.invalid(`${pf}[${i}].weight`, p.weight, "must be in the range 1-100");
        }
        validateNodeSelectorTerm(p.preference, `${pf}[${i}].preference`, errs);
      },
    );
  }
  validatePodAffinities(spec, field, errs);
  validateTopologySpreadConstraints(spec, field, errs);
  if (spec.hostNetwork) {
    // With host networking the container port is the host port.
    for (const [i, c] of (spec.containers as Obj[] ?? []).entries()) {
      (c.ports as Obj[] | undefined)?.forEach((p, j) => {
        if (p.hostPort !== undefined && p.hostPort !== p.containerPort) {
          errs.invalid(
            `${field}.containers[${i}].ports[${j}].hostPort`,
            p.hostPort,
            "must match `containerPort` when `hostNetwork` is true",
          );
        }
      });
    }
  }
}

/** A workload's pod template: labels matched by the selector, restartPolicy Always. */
export function validateTemplate(
  template: Obj | undefined,
  field: string,
  errs: FieldErrors,
  selectorMatches: (labels: Record<string, string>) => boolean,
): void {
  if (!template) {
    errs.required(field);
    return;
  }
  const labels = template.metadata?.labels ?? {};
  validateLabels(template.metadata?.labels, `${field}.metadata.labels`, errs);
  if (!selectorMatches(labels)) {
    errs.invalid(
      `${field}.metadata.labels`,
      labels,
      "`selector` does not match template `labels`",
    );
  }
  validatePodSpec(template.spec, `${field}.spec`, errs);
  if (template.spec.restartPolicy !== "Always") {
    errs.notSupported(`${field}.spec.restartPolicy`, template.spec.restartPolicy, ["Always"]);
  }
  if (template.spec.activeDeadlineSeconds !== undefined) {
    errs.forbidden(
      `${field}.spec.activeDeadlineSeconds`,
      "activeDeadlineSeconds in ReplicaSet is not Supported",
    );
  }
}

/** Checks a workload's selector (non-empty, well-formed) and returns its matcher. */
export function labelSelectorMatcher(
  selector: SelectorShape | undefined,
  field: string,
  errs: FieldErrors,
): (labels: Record<string, string>) => boolean {
  const empty = !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0);
  if (empty) {
    errs.invalid(field, selector ?? {}, "empty selector is invalid for deployment");
    return () => true;
  }
  validateLabels(selector.matchLabels ?? undefined, `${field}.matchLabels`, errs);
  try {
    const s = selectorFromLabelSelector(selector);
    return (labels) => s.matches(labels);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    errs.invalid(`${field}.matchExpressions`, selector.matchExpressions, e.message);
    return () => true;
  }
}

function validateReplicas(spec: Obj, errs: FieldErrors): void {
  validateNonNegative(spec.replicas, "spec.replicas", errs);
  validateNonNegative(spec.minReadySeconds, "spec.minReadySeconds", errs);
}

/** A percentage (`"25%"`) or a non-negative integer; returns whether it is zero. */
export function validateIntOrPercent(
  value: number | string | undefined,
  field: string,
  errs: FieldErrors,
): boolean {
  if (value === undefined) return false;
  if (typeof value === "number") {
    validateNonNegative(value, field, errs);
    return value === 0;
  }
  const m = /^(\d+)%$/.exec(value);
  if (!m) {
    errs.invalid(
      field,
      value,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    return false;
  }
  if (Number(m[1]) > 100) errs.invalid(field, value, "must not be greater than 100%");
  return Number(m[1]) === 0;
}

function validateDeployment(d: Obj, errs: FieldErrors): void {
  const spec = d.spec;
  validateReplicas(spec, errs);
  const matches = labelSelectorMatcher(spec.selector, "spec.selector", errs);
  validateTemplate(spec.template, "spec.template", errs, matches);
  const strategy = spec.strategy;
  if (strategy.type === "Recreate" && strategy.rollingUpdate) {
    errs.forbidden(
      "spec.strategy.rollingUpdate",
      "may not be specified when strategy `type` is 'Recreate'",
    );
  }
  if (strategy.type === "RollingUpdate" && strategy.rollingUpdate) {
    const ru = strategy.rollingUpdate;
    const unavailableZero = validateIntOrPercent(
      ru.maxUnavailable,
      "spec.strategy.rollingUpdate.maxUnavailable",
      errs,
    );
    const surgeZero = validateIntOrPercent(
      ru.maxSurge,
      "spec.strategy.rollingUpdate.maxSurge",
      errs,
    );
    if (unavailableZero && surgeZero) {
      errs.invalid(
        "spec.strategy.rollingUpdate.maxUnavailable",
        ru.maxUnavailable,
        "may not be 0 when `maxSurge` is 0",
      );
    }
  }
  validateNonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit", errs);
  if (spec.progressDeadlineSeconds !== undefined) {
    if (spec.progressDeadlineSeconds < 1) {
      errs.invalid(
        "spec.progressDeadlineSeconds",
        spec.progressDeadlineSeconds,
        "must be greater than 0",
      );
    } else if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.invalid(
        "spec.progressDeadlineSeconds",
        spec.progressDeadlineSeconds,
        "must be greater than minReadySeconds",
      );
    }
  }
}

function validateReplicaSet(rs: Obj, errs: FieldErrors): void {
  validateReplicas(rs.spec, errs);
  const matches = labelSelectorMatcher(rs.spec.selector, "spec.selector", errs);
  // A ReplicaSet without a template may exist (adopting pods), as in Kubernetes when replicas=0.
  if (rs.spec.template || rs.spec.replicas > 0) {
    validateTemplate(rs.spec.template, "spec.template", errs, matches);
  }
}

function validateReplicationController(rc: Obj, errs: FieldErrors): void {
  validateReplicas(rc.spec, errs);
  const selector: Record<string, string> = rc.spec.selector ?? {};
  if (Object.keys(selector).length === 0) errs.required("spec.selector");
  validateLabels(rc.spec.selector, "spec.selector", errs);
  validateTemplate(
    rc.spec.template,
    "spec.template",
    errs,
    (labels) => Object.entries(selector).every(([k, v]) => labels[k] === v),
  );
}

function validateService(svc: Obj, errs: FieldErrors): void {
  const spec = svc.spec;
  const ports: Obj[] = spec.ports ?? [];
  if (spec.type === "ExternalName") {
    if (!spec.externalName) errs.required("spec.externalName");
    else {
      for (const e of dns1123SubdomainErrors(spec.externalName.replace(/\.$/, ""))) {
        errs.invalid("spec.externalName", spec.externalName, e);
      }
    }
  } else if (ports.length === 0 && spec.clusterIP !== "None") {
    errs.required("spec.ports");
  }
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.required(`${f}.name`);
    if (p.name) {
      for (const e of dns1123LabelErrors(p.name)) errs.invalid(`${f}.name`, p.name, e);
      if (names.has(p.name)) errs.duplicate(`${f}.name`, p.name);
      names.add(p.name);
    }
    validatePortNumber(p.port, `${f}.port`, errs);
    const key = `${p.port}/${p.protocol}`;
    if (keys.has(key)) errs.duplicate(f, { port: p.port, protocol: p.protocol });
    keys.add(key);
    if (p.targetPort !== undefined) validateIntOrPortName(p.targetPort, `${f}.targetPort`, errs);
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (spec.type === "ClusterIP" || spec.type === "ExternalName") {
        errs.forbidden(`${f}.nodePort`, `may not be used when \`type\` is '${spec.type}'`);
      } else {
        // The configured range is the allocator's check (server/registry/service_allocator.ts).
        validatePortNumber(p.nodePort, `${f}.nodePort`, errs);
      }
    }
  });
  validateLabels(spec.selector, "spec.selector", errs);
  if (spec.clusterIP && spec.clusterIP !== "None" && !isIP(spec.clusterIP)) {
    errs.invalid("spec.clusterIP", spec.clusterIP, "must be empty, 'None', or a valid IP address");
  }
  (spec.clusterIPs as string[] | undefined)?.forEach((ip, i) => {
    if (ip !== "None" && !isIP(ip)) {
      errs.invalid(`spec.clusterIPs[${i}]`, ip, "must be 'None' or a valid IP address");
    }
  });
  if (spec.clusterIPs?.length && spec.clusterIP && spec.clusterIPs[0] !== spec.clusterIP) {
    errs.invalid("spec.clusterIPs", spec.clusterIPs, "element [0] must match `spec.clusterIP`");
  }
  (spec.externalIPs as string[] | undefined)?.forEach((ip, i) => {
    if (!isIP(ip)) errs.invalid(`spec.externalIPs[${i}]`, ip, "must be a valid IP address");
  });
  if (spec.loadBalancerIP && !isIP(spec.loadBalancerIP)) {
    errs.invalid("spec.loadBalancerIP", spec.loadBalancerIP, "must be a valid IP address");
  }
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinity === "ClientIP") {
    if (timeout !== undefined && (timeout < 1 || timeout > 86400)) {
      errs.invalid(
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        timeout,
        "must be greater than 0 and less than 86400",
      );
    }
  } else if (spec.sessionAffinityConfig) {
    errs.forbidden("spec.sessionAffinityConfig", "must not be set when `sessionAffinity` is None");
  }
  if (
    spec.externalTrafficPolicy !== undefined && spec.type !== "NodePort" &&
    spec.type !== "LoadBalancer"
  ) {
    errs.invalid(
      "spec.externalTrafficPolicy",
      spec.externalTrafficPolicy,
      "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
    );
  }
}

function validateConfigData(obj: Obj, errs: FieldErrors, options: { base64: boolean }): void {
  let bytes = 0;
  const seen = new Set<string>();
  for (const part of ["data", "binaryData"]) {
    for (const [k, v] of Object.entries((obj[part] ?? {}) as Record<string, string>)) {
      for (const e of configKeyErrors(k)) errs.invalid(`${part}[${k}]`, k, e);
      if (seen.has(k)) errs.invalid(`${part}[${k}]`, k, "duplicate of key present in data");
      seen.add(k);
      if (options.base64 || part === "binaryData") {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
          errs.invalid(`${part}[${k}]`, "<value omitted>", "illegal base64 data");
        }
      }
      bytes += v.length;
    }
  }
  if (bytes > CONFIG_BYTES) errs.tooLong(obj.data ? "data" : "binaryData", CONFIG_BYTES);
}

/** The keys each well-known Secret type must carry. */
const SECRET_TYPE_KEYS: Record<string, string[]> = {
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/dockercfg": [".dockercfg"],
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
  "kubernetes.io/basic-auth": [],
  "kubernetes.io/ssh-auth": ["ssh-privatekey"],
};

/** The key whose value must be a JSON object, for the two registry-credential Secret types. */
const DOCKER_CONFIG_KEYS: Record<string, string> = {
  "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
  "kubernetes.io/dockercfg": ".dockercfg",
};

/**
 * Why `text` does not decode as a JSON object, in the words of Go's encoding/json (what
 * kube-apiserver reports), or undefined when it does (`null` decodes into a map too).
 */
export function jsonObjectError(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const first = text.trimStart()[0];
    if (first === undefined || /end of JSON input/.test((e as Error).message)) {
      return "unexpected end of JSON input";
    }
    if (!/[{[\-0-9"tfn]/.test(first)) {
      return `invalid character ${
        JSON.stringify(first).replace(/^"|"$/g, "'")
      } looking for beginning of value`;
    }
    return (e as Error).message;
  }
  if (value === null || (typeof value === "object" && !Array.isArray(value))) return undefined;
  const kind = Array.isArray(value) ? "array" : typeof value === "boolean" ? "bool" : typeof value;
  return `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`;
}

function validateSecretType(secret: Obj, errs: FieldErrors): void {
  const keys = SECRET_TYPE_KEYS[secret.type];
  for (const k of keys ?? []) {
    if (secret.data?.[k] === undefined) errs.required(`data[${k}]`);
  }
  // As kube-apiserver: registry credentials must be well-formed JSON (the kubelet parses them).
  const configKey = DOCKER_CONFIG_KEYS[secret.type];
  const encoded = configKey ? secret.data?.[configKey] : undefined;
  if (typeof encoded === "string") {
    let text: string | undefined;
    try {
      text = new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
    } catch { /* illegal base64 is reported by validateConfigData */ }
    const why = text === undefined ? undefined : jsonObjectError(text);
    if (why) errs.invalid(`data[${configKey}]`, "<secret contents redacted>", why);
  }
  if (
    secret.type === "kubernetes.io/basic-auth" && !secret.data?.username && !secret.data?.password
  ) {
    errs.required("data[username]", "one of username or password is required");
  }
}

function validateNode(node: Obj, errs: FieldErrors): void {
  const seen = new Set<string>();
  (node.spec.taints as Obj[] | undefined)?.forEach((t, i) => {
    const f = `spec.taints[${i}]`;
    for (const e of labelKeyErrors(t.key)) errs.invalid(`${f}.key`, t.key, e);
    if (t.value) {
      for (const e of labelValueErrors(t.value)) errs.invalid(`${f}.value`, t.value, e);
    }
    const key = `${t.key}:${t.effect}`;
    if (seen.has(key)) {
      errs.duplicate(f, `taints must be unique by key and effect pair`);
    }
    seen.add(key);
  });
}

function validateEndpoints(ep: Obj, errs: FieldErrors): void {
  (ep.subsets as Obj[] | undefined)?.forEach((s, i) => {
    for (const part of ["addresses", "notReadyAddresses"]) {
      (s[part] as Obj[] | undefined)?.forEach((a, j) => {
        if (!isIP(a.ip)) {
          errs.invalid(`subsets[${i}].${part}[${j}].ip`, a.ip, "must be a valid IP address");
        }
      });
    }
    (s.ports as Obj[] | undefined)?.forEach((p, j) => {
      validatePortNumber(p.port, `subsets[${i}].ports[${j}].port`, errs);
    });
  });
}

/** Runs every rule of `kind` on a parsed, defaulted object. */
export function validateKind(
  kind: string,
  obj: Obj,
  errs: FieldErrors,
  options: { namespaced: boolean },
): void {
  validateObjectMeta(kind, obj.metadata, errs, options);
  switch (kind) {
    case "Pod":
      validatePodSpec(obj.spec, "spec", errs);
      break;
    case "Deployment":
      validateDeployment(obj, errs);
      break;
    case "ReplicaSet":
      validateReplicaSet(obj, errs);
      break;
    case "ReplicationController":
      validateReplicationController(obj, errs);
      break;
    case "DaemonSet":
      validateDaemonSet(obj, errs);
      break;
    case "StatefulSet":
      validateStatefulSet(obj, errs);
      break;
    case "ControllerRevision":
      validateNonNegative(obj.revision, "revision", errs);
      break;
    case "Service":
      validateService(obj, errs);
      break;
    case "ConfigMap":
      validateConfigData(obj, errs, { base64: false });
      break;
    case "Secret":
      validateConfigData(obj, errs, { base64: true });
      validateSecretType(obj, errs);
      break;
    case "Node":
      validateNode(obj, errs);
      break;
    case "Job":
      validateJob(obj, errs);
      break;
    case "CronJob":
      validateCronJob(obj, errs);
      break;
    case "PodDisruptionBudget":
      validatePodDisruptionBudget(obj, errs);
      break;
    case "LimitRange":
      validateLimitRange(obj, errs);
      break;
    case "ResourceQuota":
      validateResourceQuota(obj, errs);
      break;
    case "HorizontalPodAutoscaler":
      validateHorizontalPodAutoscaler(obj, errs);
      break;
    case "Endpoints":
      validateEndpoints(obj, errs);
      break;
    case "PersistentVolume":
      validatePersistentVolume(obj, errs);
      break;
    case "PersistentVolumeClaim":
      validatePersistentVolumeClaim(obj, errs);
      break;
    case "StorageClass":
      validateStorageClass(obj, errs);
      break;
    case "Role":
      validateRole(obj, errs);
      break;
    case "ClusterRole":
      validateClusterRole(obj, errs);
      break;
    case "RoleBinding":
      validateRoleBinding(obj, errs, true);
      break;
    case "ClusterRoleBinding":
      validateRoleBinding(obj, errs, false);
      break;
    case "Ingress":
      validateIngress(obj, errs);
      break;
    case "IngressClass":
      validateIngressClass(obj, errs);
      break;
    case "PriorityClass":
      validatePriorityClass(obj, errs);
      break;
    case "NetworkPolicy":
      validateNetworkPolicy(obj, errs);
      break;
    case "Lease":
      if (obj.spec.leaseDurationSeconds !== undefined && obj.spec.leaseDurationSeconds < 1) {
        errs.invalid(
          "spec.leaseDurationSeconds",
          obj.spec.leaseDurationSeconds,
          "must be greater than 0",
        );
      }
      break;
    case "Event": {
      const ns = obj.involvedObject?.namespace;
      if (ns && obj.metadata.namespace && ns !== obj.metadata.namespace) {
        errs.invalid("involvedObject.namespace", ns, "does not match event.namespace");
      }
      break;
    }
  }
}
