/**
 * The Pod Security Standards checks (Kubernetes' pod-security-admission `policy` package,
 * re-expressed): each check inspects a pod's metadata and spec and either allows it or gives a
 * reason and detail in Kubernetes' exact words. Checks are versioned (a check's behaviour at
 * policy version 1.N is the newest variant whose minimum version is <= N); `restricted` runs the
 * baseline checks too, except those a restricted check overrides. Results come in Kubernetes'
 * order: baseline check IDs sorted, then restricted ones.
 */
import type { Level } from "./pod_security_policy.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** The outcome of one check. */
export interface CheckResult {
  allowed: boolean;
  reason?: string;
  detail?: string;
}

type CheckFn = (meta: Obj, spec: Obj) => CheckResult;

interface VersionedCheck {
  minimumMinor: number;
  check: CheckFn;
  overrides?: string[];
}

interface Check {
  id: string;
  level: Exclude<Level, "privileged">;
  versions: VersionedCheck[];
}

const ALLOWED: CheckResult = { allowed: true };

function deny(reason: string, detail: string): CheckResult {
  return { allowed: false, reason, detail };
}

/** `"a", "b"` */
function joinQuote(items: readonly string[]): string {
  return items.length === 0 ? "" : items.map((s) => JSON.stringify(s)).join(", ");
}

function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** `container "a"` / `containers "a", "b"` */
function containers(names: readonly string[]): string {
  return `${pluralize("container", "containers", names.length)} ${joinQuote(names)}`;
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Init containers, containers and ephemeral containers, in that order. */
function visitContainers(spec: Obj, visit: (c: Obj) => void): void {
  for (const list of [spec.initContainers, spec.containers, spec.ephemeralContainers]) {
    for (const c of (list as Obj[] | undefined) ?? []) visit(c);
  }
}

function isWindows(spec: Obj): boolean {
  return spec.os?.name === "windows";
}

// --- baseline -------------------------------------------------------------------------------

function appArmorProfile(meta: Obj, spec: Obj): CheckResult {
  const allowedType = (t: unknown) => t === "RuntimeDefault" || t === "Localhost";
  const badSetters: string[] = [];
  const badValues = new Set<string>();
  const podProfile = spec.securityContext?.appArmorProfile;
  if (podProfile && !allowedType(podProfile.type)) {
    badSetters.push("pod");
    badValues.add(String(podProfile.type ?? ""));
  }
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    const p = c.securityContext?.appArmorProfile;
    if (p && !allowedType(p.type)) {
      bad.push(c.name);
      badValues.add(String(p.type ?? ""));
    }
  });
  if (bad.length > 0) badSetters.push(containers(bad));
  const annotations: string[] = [];
  for (const [k, v] of Object.entries((meta.annotations ?? {}) as Record<string, string>)) {
    if (!k.startsWith("container.apparmor.security.beta.kubernetes.io/")) continue;
    if (v === "" || v === "runtime/default" || v.startsWith("localhost/")) continue;
    annotations.push(`${k}=${JSON.stringify(v)}`);
  }
  const values = [...badValues].sort();
  if (annotations.length > 0) {
    values.push(...annotations.sort());
    badSetters.push(pluralize("annotation", "annotations", annotations.length));
  }
  if (badSetters.length === 0) return ALLOWED;
  return deny(
    pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", values.length),
    `${badSetters.join(" and ")} must not set AppArmor profile type to ${joinQuote(values)}`,
  );
}

const DEFAULT_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

function capabilitiesBaseline(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  const caps = new Set<string>();
  visitContainers(spec, (c) => {
    let valid = true;
    for (const cap of (c.securityContext?.capabilities?.add as string[] | undefined) ?? []) {
      if (!DEFAULT_CAPABILITIES.has(cap)) {
        valid = false;
        caps.add(cap);
      }
    }
    if (!valid) bad.push(c.name);
  });
  if (bad.length === 0) return ALLOWED;
  return deny(
    "non-default capabilities",
    `${containers(bad)} must not include ${
      joinQuote(sortedUnique(caps))
    } in securityContext.capabilities.add`,
  );
}

function hostNamespaces(_meta: Obj, spec: Obj): CheckResult {
  const found: string[] = [];
  if (spec.hostNetwork) found.push("hostNetwork=true");
  if (spec.hostPID) found.push("hostPID=true");
  if (spec.hostIPC) found.push("hostIPC=true");
  return found.length === 0 ? ALLOWED : deny("host namespaces", found.join(", "));
}

function hostPathVolumes(_meta: Obj, spec: Obj): CheckResult {
  const names = ((spec.volumes as Obj[] | undefined) ?? []).filter((v) => v.hostPath)
    .map((v) => v.name as string);
  if (names.length === 0) return ALLOWED;
  return deny(
    "hostPath volumes",
    `${pluralize("volume", "volumes", names.length)} ${joinQuote(names)}`,
  );
}

function hostPorts(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  const ports = new Set<string>();
  visitContainers(spec, (c) => {
    let valid = true;
    for (const p of (c.ports as Obj[] | undefined) ?? []) {
      if (p.hostPort !== undefined && p.hostPort !== 0) {
        valid = false;
        ports.add(String(p.hostPort));
      }
    }
    if (!valid) bad.push(c.name);
  });
  if (bad.length === 0) return ALLOWED;
  const list = sortedUnique(ports);
  return deny(
    "hostPort",
    `${containers(bad)} ${pluralize("uses", "use", bad.length)} ${
      pluralize("hostPort", "hostPorts", list.length)
    } ${list.join(", ")}`,
  );
}

function privileged(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.privileged === true) bad.push(c.name);
  });
  if (bad.length === 0) return ALLOWED;
  return deny("privileged", `${containers(bad)} must not set securityContext.privileged=true`);
}

function procMount(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  const types = new Set<string>();
  visitContainers(spec, (c) => {
    const pm = c.securityContext?.procMount;
    if (pm === undefined || pm === null || pm === "Default") return;
    bad.push(c.name);
    types.add(String(pm));
  });
  if (bad.length === 0) return ALLOWED;
  return deny(
    "procMount",
    `${containers(bad)} must not set securityContext.procMount to ${
      joinQuote(sortedUnique(types))
    }`,
  );
}

function seLinuxOptions(allowedTypes: ReadonlySet<string>): CheckFn {
  return (_meta, spec) => {
    const badSetters: string[] = [];
    const badTypes = new Set<string>();
    let setUser = false;
    let setRole = false;
    const valid = (o: Obj) => {
      let ok = true;
      const type = String(o.type ?? "");
      if (!allowedTypes.has(type)) {
        ok = false;
        badTypes.add(type);
      }
      if (o.user) {
        ok = false;
        setUser = true;
      }
      if (o.role) {
        ok = false;
        setRole = true;
      }
      return ok;
    };
    const podOptions = spec.securityContext?.seLinuxOptions;
    if (podOptions && !valid(podOptions)) badSetters.push("pod");
    const bad: string[] = [];
    visitContainers(spec, (c) => {
      const o = c.securityContext?.seLinuxOptions;
      if (o && !valid(o)) bad.push(c.name);
    });
    if (bad.length > 0) badSetters.push(containers(bad));
    if (badSetters.length === 0) return ALLOWED;
    const data: string[] = [];
    if (badTypes.size > 0) {
      data.push(
        `${pluralize("type", "types", badTypes.size)} ${joinQuote(sortedUnique(badTypes))}`,
      );
    }
    if (setUser) data.push("user may not be set");
    if (setRole) data.push("role may not be set");
    return deny(
      "seLinuxOptions",
      `${badSetters.join(" and ")} set forbidden securityContext.seLinuxOptions: ${
        data.join("; ")
      }`,
    );
  };
}

const SELINUX_TYPES_1_0 = new Set(["", "container_t", "container_init_t", "container_kvm_t"]);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, "container_engine_t"]);

const SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/";

function validSeccompType(t: unknown): boolean {
  return t === "Localhost" || t === "RuntimeDefault";
}

/** Policy versions before 1.19 checked the alpha annotations. */
function seccompBaseline1_0(meta: Obj, spec: Obj): CheckResult {
  const annotations = (meta.annotations ?? {}) as Record<string, string>;
  const validValue = (v: string) =>
    v === "runtime/default" || v === "docker/default" || v.startsWith("localhost/");
  const forbidden = new Set<string>();
  const podValue = annotations[SECCOMP_POD_ANNOTATION];
  if (podValue !== undefined && !validValue(podValue)) {
    forbidden.add(`${SECCOMP_POD_ANNOTATION}=${JSON.stringify(podValue)}`);
  }
  visitContainers(spec, (c) => {
    const key = SECCOMP_CONTAINER_ANNOTATION + c.name;
    const v = annotations[key];
    if (v !== undefined && !validValue(v)) forbidden.add(`${key}=${JSON.stringify(v)}`);
  });
  if (forbidden.size === 0) return ALLOWED;
  return deny(
    "seccompProfile",
    `forbidden ${pluralize("annotation", "annotations", forbidden.size)} ${
      sortedUnique(forbidden).join(", ")
    }`,
  );
}

function seccompBaseline1_19(_meta: Obj, spec: Obj): CheckResult {
  const badSetters: string[] = [];
  const badValues = new Set<string>();
  const podProfile = spec.securityContext?.seccompProfile;
  if (podProfile && !validSeccompType(podProfile.type)) {
    badSetters.push("pod");
    badValues.add(String(podProfile.type ?? ""));
  }
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    const p = c.securityContext?.seccompProfile;
    if (p && !validSeccompType(p.type)) {
      bad.push(c.name);
      badValues.add(String(p.type ?? ""));
    }
  });
  if (bad.length > 0) badSetters.push(containers(bad));
  if (badSetters.length === 0) return ALLOWED;
  return deny(
    "seccompProfile",
    `${badSetters.join(" and ")} must not set securityContext.seccompProfile.type to ${
      joinQuote(sortedUnique(badValues))
    }`,
  );
}

const SYSCTLS_1_0 = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, "net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29 = [
  ...SYSCTLS_1_27,
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];

function sysctls(allowed: readonly string[]): CheckFn {
  const set = new Set(allowed);
  return (_meta, spec) => {
    const forbidden = ((spec.securityContext?.sysctls as Obj[] | undefined) ?? [])
      .map((s) => String(s.name)).filter((n) => !set.has(n));
    return forbidden.length === 0 ? ALLOWED : deny("forbidden sysctls", forbidden.join(", "));
  };
}

function windowsHostProcess(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.windowsOptions?.hostProcess === true) bad.push(c.name);
  });
  const setters: string[] = [];
  if (spec.securityContext?.windowsOptions?.hostProcess === true) setters.push("pod");
  if (bad.length > 0) setters.push(containers(bad));
  if (setters.length === 0) return ALLOWED;
  return deny(
    "hostProcess",
    `${setters.join(" and ")} must not set securityContext.windowsOptions.hostProcess=true`,
  );
}

// --- restricted -----------------------------------------------------------------------------

function allowPrivilegeEscalation1_8(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.allowPrivilegeEscalation !== false) bad.push(c.name);
  });
  if (bad.length === 0) return ALLOWED;
  return deny(
    "allowPrivilegeEscalation != false",
    `${containers(bad)} must set securityContext.allowPrivilegeEscalation=false`,
  );
}

/** From 1.25, Windows pods (`spec.os.name: windows`) are exempt from some restricted checks. */
function exceptWindows(check: CheckFn): CheckFn {
  return (meta, spec) => isWindows(spec) ? ALLOWED : check(meta, spec);
}

function capabilitiesRestricted1_22(_meta: Obj, spec: Obj): CheckResult {
  const missingDropAll: string[] = [];
  const addingForbidden: string[] = [];
  const forbidden = new Set<string>();
  visitContainers(spec, (c) => {
    const caps = c.securityContext?.capabilities;
    if (!caps) {
      missingDropAll.push(c.name);
      return;
    }
    if (!((caps.drop as string[] | undefined) ?? []).includes("ALL")) missingDropAll.push(c.name);
    let added = false;
    for (const cap of (caps.add as string[] | undefined) ?? []) {
      if (cap !== "NET_BIND_SERVICE") {
        added = true;
        forbidden.add(cap);
      }
    }
    if (added) addingForbidden.push(c.name);
  });
  const details: string[] = [];
  if (missingDropAll.length > 0) {
    details.push(
      `${containers(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`,
    );
  }
  if (addingForbidden.length > 0) {
    details.push(
      `${containers(addingForbidden)} must not include ${
        joinQuote(sortedUnique(forbidden))
      } in securityContext.capabilities.add`,
    );
  }
  return details.length === 0 ? ALLOWED : deny("unrestricted capabilities", details.join("; "));
}

/** The volume sources the restricted level allows. */
const RESTRICTED_ALLOWED_VOLUMES = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "image",
  "persistentVolumeClaim",
  "projected",
  "secret",
];

/** The volume sources Kubernetes names in the restricted volume check, in its order. */
const RESTRICTED_NAMED_VOLUMES = [
  "hostPath",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "nfs",
  "iscsi",
  "glusterfs",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "fc",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "storageos",
];

function restrictedVolumes(_meta: Obj, spec: Obj): CheckResult {
  const bad: string[] = [];
  const types = new Set<string>();
  for (const v of (spec.volumes as Obj[] | undefined) ?? []) {
    if (RESTRICTED_ALLOWED_VOLUMES.some((s) => v[s] !== undefined && v[s] !== null)) continue;
    bad.push(v.name);
    types.add(
      RESTRICTED_NAMED_VOLUMES.find((s) => v[s] !== undefined && v[s] !== null) ?? "unknown",
    );
  }
  if (bad.length === 0) return ALLOWED;
  const list = sortedUnique(types);
  return deny(
    "restricted volume types",
    `${pluralize("volume", "volumes", bad.length)} ${joinQuote(bad)} ${
      pluralize("uses", "use", bad.length)
    } ${pluralize("restricted volume type", "restricted volume types", list.length)} ${
      joinQuote(list)
    }`,
  );
}

function runAsNonRoot(_meta: Obj, spec: Obj): CheckResult {
  const badSetters: string[] = [];
  let podRunAsNonRoot = false;
  const pod = spec.securityContext?.runAsNonRoot;
  if (pod === false) badSetters.push("pod");
  else if (pod === true) podRunAsNonRoot = true;
  const explicit: string[] = [];
  const implicit: string[] = [];
  visitContainers(spec, (c) => {
    const v = c.securityContext?.runAsNonRoot;
    if (v !== undefined && v !== null) {
      if (v === false) explicit.push(c.name);
    } else if (!podRunAsNonRoot) implicit.push(c.name);
  });
  if (explicit.length > 0) badSetters.push(containers(explicit));
  if (badSetters.length > 0) {
    return deny(
      "runAsNonRoot != true",
      `${badSetters.join(" and ")} must not set securityContext.runAsNonRoot=false`,
    );
  }
  if (implicit.length > 0) {
    return deny(
      "runAsNonRoot != true",
      `pod or ${containers(implicit)} must set securityContext.runAsNonRoot=true`,
    );
  }
  return ALLOWED;
}

function runAsUser(_meta: Obj, spec: Obj): CheckResult {
  const badSetters: string[] = [];
  if (spec.securityContext?.runAsUser === 0) badSetters.push("pod");
  const bad: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.runAsUser === 0) bad.push(c.name);
  });
  if (bad.length > 0) badSetters.push(containers(bad));
  if (badSetters.length === 0) return ALLOWED;
  return deny("runAsUser=0", `${badSetters.join(" and ")} must not set runAsUser=0`);
}

function seccompRestricted1_19(_meta: Obj, spec: Obj): CheckResult {
  const badSetters: string[] = [];
  const badValues = new Set<string>();
  let podSet = false;
  const podProfile = spec.securityContext?.seccompProfile;
  if (podProfile) {
    if (!validSeccompType(podProfile.type)) {
      badSetters.push("pod");
      badValues.add(String(podProfile.type ?? ""));
    } else podSet = true;
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  visitContainers(spec, (c) => {
    const p = c.securityContext?.seccompProfile;
    if (p) {
      if (!validSeccompType(p.type)) {
        explicit.push(c.name);
        badValues.add(String(p.type ?? ""));
      }
    } else if (!podSet) implicit.push(c.name);
  });
  if (explicit.length > 0) badSetters.push(containers(explicit));
  if (badSetters.length > 0) {
    return deny(
      "seccompProfile",
      `${badSetters.join(" and ")} must not set securityContext.seccompProfile.type to ${
        joinQuote(sortedUnique(badValues))
      }`,
    );
  }
  if (implicit.length > 0) {
    return deny(
      "seccompProfile",
      `pod or ${
        containers(implicit)
      } must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    );
  }
  return ALLOWED;
}

/** Every check Skiff evaluates (Kubernetes' default checks up to policy version 1.32). */
const CHECKS: Check[] = [
  {
    id: "appArmorProfile",
    level: "baseline",
    versions: [{ minimumMinor: 0, check: appArmorProfile }],
  },
  {
    id: "capabilities_baseline",
    level: "baseline",
    versions: [{ minimumMinor: 0, check: capabilitiesBaseline }],
  },
  {
    id: "hostNamespaces",
    level: "baseline",
    versions: [{ minimumMinor: 0, check: hostNamespaces }],
  },
  {
    id: "hostPathVolumes",
    level: "baseline",
    versions: [{ minimumMinor: 0, check: hostPathVolumes }],
  },
  { id: "hostPorts", level: "baseline", versions: [{ minimumMinor: 0, check: hostPorts }] },
  { id: "privileged", level: "baseline", versions: [{ minimumMinor: 0, check: privileged }] },
  { id: "procMount", level: "baseline", versions: [{ minimumMinor: 0, check: procMount }] },
  {
    id: "seLinuxOptions",
    level: "baseline",
    versions: [
      { minimumMinor: 0, check: seLinuxOptions(SELINUX_TYPES_1_0) },
      { minimumMinor: 31, check: seLinuxOptions(SELINUX_TYPES_1_31) },
    ],
  },
  {
    id: "seccompProfile_baseline",
    level: "baseline",
    versions: [
      { minimumMinor: 0, check: seccompBaseline1_0 },
      { minimumMinor: 19, check: seccompBaseline1_19 },
    ],
  },
  {
    id: "sysctls",
    level: "baseline",
    versions: [
      { minimumMinor: 0, check: sysctls(SYSCTLS_1_0) },
      { minimumMinor: 27, check: sysctls(SYSCTLS_1_27) },
      { minimumMinor: 29, check: sysctls(SYSCTLS_1_29) },
      { minimumMinor: 32, check: sysctls(SYSCTLS_1_32) },
    ],
  },
  {
    id: "windowsHostProcess",
    level: "baseline",
    versions: [{ minimumMinor: 0, check: windowsHostProcess }],
  },
  {
    id: "allowPrivilegeEscalation",
    level: "restricted",
    versions: [
      { minimumMinor: 8, check: allowPrivilegeEscalation1_8 },
      { minimumMinor: 25, check: exceptWindows(allowPrivilegeEscalation1_8) },
    ],
  },
  {
    id: "capabilities_restricted",
    level: "restricted",
    versions: [
      { minimumMinor: 22, check: capabilitiesRestricted1_22, overrides: ["capabilities_baseline"] },
      {
        minimumMinor: 25,
        check: exceptWindows(capabilitiesRestricted1_22),
        overrides: ["capabilities_baseline"],
      },
    ],
  },
  {
    id: "restrictedVolumes",
    level: "restricted",
    versions: [{ minimumMinor: 0, check: restrictedVolumes, overrides: ["hostPathVolumes"] }],
  },
  { id: "runAsNonRoot", level: "restricted", versions: [{ minimumMinor: 0, check: runAsNonRoot }] },
  { id: "runAsUser", level: "restricted", versions: [{ minimumMinor: 23, check: runAsUser }] },
  {
    id: "seccompProfile_restricted",
    level: "restricted",
    versions: [
      {
        minimumMinor: 19,
        check: seccompRestricted1_19,
        overrides: ["seccompProfile_baseline"],
      },
      {
        minimumMinor: 25,
        check: exceptWindows(seccompRestricted1_19),
        overrides: ["seccompProfile_baseline"],
      },
    ],
  },
];

/** The variant of `check` in force at minor version `minor`, if any. */
function at(check: Check, minor: number): VersionedCheck | undefined {
  let found: VersionedCheck | undefined;
  for (const v of check.versions) if (v.minimumMinor <= minor) found = v;
  return found;
}

const ORDER = [
  ...CHECKS.filter((c) => c.level === "baseline").map((c) => c.id).sort(),
  ...CHECKS.filter((c) => c.level === "restricted").map((c) => c.id).sort(),
];

const cache = new Map<string, CheckFn[]>();

/** The checks of `level` at policy minor version `minor`, in Kubernetes' order. */
export function checksFor(level: Exclude<Level, "privileged">, minor: number): CheckFn[] {
  const key = `${level}:${minor}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const active = new Map<string, VersionedCheck>();
  for (const c of CHECKS) {
    if (c.level === "restricted" && level === "baseline") continue;
    const v = at(c, minor);
    if (v) active.set(c.id, v);
  }
  if (level === "restricted") {
    for (const v of active.values()) for (const id of v.overrides ?? []) active.delete(id);
  }
  const fns = ORDER.filter((id) => active.has(id)).map((id) => active.get(id)!.check);
  cache.set(key, fns);
  return fns;
}

/** The failed checks of one evaluation, in order. */
export interface AggregateResult {
  allowed: boolean;
  reasons: string[];
  details: string[];
}

/** Runs the checks of `level` at `minor` on a pod (or template) metadata and spec. */
export function evaluatePod(
  level: Level,
  minor: number,
  pod: { metadata?: Obj; spec?: Obj },
): AggregateResult {
  const out: AggregateResult = { allowed: true, reasons: [], details: [] };
  if (level === "privileged") return out;
  const meta = pod.metadata ?? {};
  const spec = pod.spec ?? {};
  for (const check of checksFor(level, minor)) {
    const r = check(meta, spec);
    if (r.allowed) continue;
    out.allowed = false;
    out.reasons.push(r.reason || "unknown forbidden reason");
    out.details.push(r.detail ?? "");
  }
  return out;
}

/** `hostPath volumes (volume "data"), privileged (container "c" must not ...)`. */
export function forbiddenDetail(r: AggregateResult): string {
  return r.reasons.map((reason, i) => r.details[i] ? `${reason} (${r.details[i]})` : reason)
    .join(", ");
}

/** `hostPath volumes, privileged` (used for existing pods when a namespace's level changes). */
export function forbiddenReason(r: AggregateResult): string {
  return r.reasons.join(", ");
}
