/**
 * Turns one container of a pod spec into Docker's create options: command/args as Docker's
 * Entrypoint/Cmd (the same semantics as Kubernetes), environment (values, `valueFrom`, `envFrom`,
 * `$(VAR)` expansion), working directory, limits and requests as cgroup settings, volume binds,
 * the security context and the pod's namespaces (`hostPID`, `hostIPC`, `shareProcessNamespace`),
 * and the labels and Kubernetes-style name that tie the container back to its pod.
 */

import type { Docker } from "./docker_runtime.ts";
import {
  dockerContainerName,
  LABEL_CONTAINER_HASH,
  LABEL_CONTAINER_NAME,
  LABEL_GRACE_PERIOD,
  LABEL_KIND,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_RESTART_COUNT,
} from "./labels.ts";
import type { Container, KeyValueSource, Pod, SecurityContext } from "./pod_types.ts";
import { parseQuantity } from "../shared/api/quantity.ts";
import type { ObjectReader } from "./volumes.ts";

/** Stable JSON: object keys sorted, so equal specs always hash alike. */
function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/**
 * A short hash of the container spec (FNV-1a, hex). A running container whose label differs from
 * the current spec's hash was made from an older spec and is replaced.
 */
export function containerHash(container: Container): string {
  const s = stableStringify(container);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** The labels shared by every container of a pod (infra included). */
export function podLabels(pod: Pod): Record<string, string> {
  return {
    [LABEL_POD_UID]: pod.metadata.uid,
    [LABEL_POD_NAME]: pod.metadata.name,
    [LABEL_POD_NAMESPACE]: pod.metadata.namespace,
    [LABEL_GRACE_PERIOD]: String(pod.spec.terminationGracePeriodSeconds ?? 30),
  };
}

/** Facts about the pod's place on the node, for `fieldRef` env values. */
export interface PodRuntimeFacts {
  nodeName: string;
  hostIP: string;
  podIP: string;
}

/** The value of a `fieldRef` path of `pod` (env and downwardAPI volumes). */
export function fieldValue(pod: Pod, path: string, facts: PodRuntimeFacts): string {
  switch (path) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "spec.nodeName":
      return pod.spec.nodeName ?? facts.nodeName;
    case "spec.serviceAccountName":
      return String((pod.spec as { serviceAccountName?: string }).serviceAccountName ?? "");
    case "status.podIP":
      return facts.podIP;
    case "status.hostIP":
      return facts.hostIP;
  }
  const m = /^metadata\.(labels|annotations)\['?([^']+)'?\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? "";
  throw new Error(`unsupported fieldRef fieldPath "${path}"`);
}

function keyValue(obj: KeyValueSource, key: string, secret: boolean): string | undefined {
  const v = obj.data?.[key];
  if (v !== undefined) return secret ? atob(v) : v;
  const b = obj.binaryData?.[key];
  return b !== undefined ? atob(b) : undefined;
}

/**
 * Expands `$(NAME)` references from `env` as Kubernetes does: `$$(NAME)` is a literal
 * `$(NAME)`, unknown names are left as written.
 */
export function expandVars(s: string, env: Pick<Map<string, string>, "has" | "get">): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name?: string) => {
    if (all === "$$") return "$";
    return env.has(name!) ? env.get(name!)! : all;
  });
}

/** The value of a `resourceFieldRef` of `container` (env and downwardAPI volumes). */
export function resourceValue(container: Container, resource: string): string {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  switch (resource) {
    case "limits.cpu":
      return String(Math.ceil(parseQuantity(limits.cpu ?? requests.cpu ?? 0)) || "");
    case "limits.memory":
      return String(parseQuantity(limits.memory ?? requests.memory ?? 0) || "");
    case "requests.cpu":
      return String(Math.ceil(parseQuantity(requests.cpu ?? 0)));
    case "requests.memory":
      return String(parseQuantity(requests.memory ?? 0));
  }
  throw new Error(`unsupported resourceFieldRef resource "${resource}"`);
}

/**
 * The container's environment in order, with `envFrom`, `valueFrom` and `$(VAR)` expansion
 * resolved, then the service variables (service_env.ts) the container does not define itself:
 * as the kubelet, `$(VAR)` sees the container's variables first, then the services'. Throws (a
 * readable `CreateContainerConfigError` message) when a required ConfigMap, Secret or key is
 * missing.
 */
export async function resolveEnv(
  pod: Pod,
  container: Container,
  options: { reader: ObjectReader; facts: PodRuntimeFacts; serviceEnv?: [string, string][] },
): Promise<[string, string][]> {
  const ns = pod.metadata.namespace;
  const env = new Map<string, string>();
  const services = new Map(options.serviceEnv ?? []);
  const lookup = {
    has: (k: string) => env.has(k) || services.has(k),
    get: (k: string) => env.has(k) ? env.get(k) : services.get(k),
  };
  const cache = new Map<string, KeyValueSource | undefined>();
  const read = async (kind: "configmap" | "secret", name: string) => {
    const k = `${kind}/${name}`;
    if (!cache.has(k)) {
      cache.set(
        k,
        kind === "configmap"
          ? await options.reader.getConfigMap(ns, name)
          : await options.reader.getSecret(ns, name),
      );
    }
    return cache.get(k);
  };
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const secret = !!from.secretRef;
    const obj = await read(secret ? "secret" : "configmap", ref.name ?? "");
    if (!obj) {
      if (ref.optional) continue;
      throw new Error(`${secret ? "secret" : "configmap"} "${ref.name}" not found`);
    }
    for (const key of Object.keys({ ...obj.data, ...obj.binaryData })) {
      env.set(`${from.prefix ?? ""}${key}`, keyValue(obj, key, secret)!);
    }
  }
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) {
      env.set(e.name, expandVars(e.value ?? "", lookup));
      continue;
    }
    if (vf.fieldRef) {
      env.set(e.name, fieldValue(pod, vf.fieldRef.fieldPath, options.facts));
    } else if (vf.resourceFieldRef) {
      env.set(e.name, resourceValue(container, vf.resourceFieldRef.resource));
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
      const secret = !!vf.secretKeyRef;
      const kind = secret ? "secret" : "configmap";
      const obj = await read(kind, ref.name ?? "");
      const v = obj ? keyValue(obj, ref.key, secret) : undefined;
      if (v === undefined) {
        if (ref.optional) continue;
        throw new Error(
          obj
            ? `couldn't find key ${ref.key} in ${
              kind === "secret" ? "Secret" : "ConfigMap"
            } ${ns}/${ref.name}`
            : `${kind} "${ref.name}" not found`,
        );
      }
      env.set(e.name, v);
    }
  }
  const out = [...env];
  for (const [k, v] of services) if (!env.has(k)) out.push([k, v]);
  return out;
}

/** Everything {@linkcode containerCreateOptions} needs besides the pod and container. */
export interface ContainerCreateContext {
  /** ID of the pod's infra container, whose network (and IPC, PID) namespaces it may join. */
  infraId: string;
  restartCount: number;
  env: [string, string][];
  binds: string[];
  /** The image reference to run (as in the spec). */
  image: string;
  /**
   * The Docker ID of the container whose PID namespace an ephemeral container with a
   * `targetContainerName` joins (the kubelet's NamespaceMode TARGET).
   */
  pidTargetId?: string;
}

/** Docker create options for one app container of the pod. */
export function containerCreateOptions(
  pod: Pod,
  container: Container,
  ctx: ContainerCreateContext,
): Docker.ContainerCreateOptions {
  const env = new Map(ctx.env);
  const expand = (list?: string[]) => list?.map((s) => expandVars(s, env));
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const host: Docker.HostConfig = {
    NetworkMode: `container:${ctx.infraId}`,
    ...podNamespaceModes(pod, ctx.infraId, ctx.pidTargetId),
    Binds: ctx.binds,
    // The agent owns restarts (with back-off); Docker must never restart on its own.
    RestartPolicy: { Name: "no" },
  };
  if (limits.memory !== undefined) host.Memory = Math.floor(parseQuantity(limits.memory));
  if (limits.cpu !== undefined) host.NanoCpus = Math.round(parseQuantity(limits.cpu) * 1e9);
  const cpuRequest = requests.cpu ?? limits.cpu;
  // Kubernetes maps 1 CPU of request to 1024 shares, with 2 as the floor.
  if (cpuRequest !== undefined) {
    host.CpuShares = Math.max(2, Math.floor(parseQuantity(cpuRequest) * 1024));
  }
  const options: Docker.ContainerCreateOptions = {
    name: dockerContainerName(pod.metadata, container.name, ctx.restartCount),
    Image: ctx.image,
    Env: ctx.env.map(([k, v]) => `${k}=${v}`),
    Labels: {
      ...podLabels(pod),
      [LABEL_KIND]: "container",
      [LABEL_CONTAINER_NAME]: container.name,
      [LABEL_RESTART_COUNT]: String(ctx.restartCount),
      [LABEL_CONTAINER_HASH]: containerHash(container),
    },
    Tty: container.tty ?? false,
    OpenStdin: container.stdin ?? false,
    HostConfig: host,
  };
  // command replaces the image's ENTRYPOINT (and drops its CMD); args replaces CMD.
  if (container.command?.length) options.Entrypoint = expand(container.command);
  if (container.args?.length) options.Cmd = expand(container.args);
  else if (container.command?.length) options.Cmd = [];
  if (container.workingDir) options.WorkingDir = container.workingDir;
  if (container.stdinOnce) options.StdinOnce = true;
  // The signal Docker's stop sends first (the image's STOPSIGNAL, else SIGTERM, without it).
  if (container.lifecycle?.stopSignal) options.StopSignal = container.lifecycle.stopSignal;
  applySecurityContext(options, effectiveSecurityContext(pod, container));
  const groups = supplementalGroups(pod);
  if (groups.length > 0) host.GroupAdd = groups.map(String);
  return options;
}

/**
 * The IPC and PID namespaces of an app container, as the kubelet's NamespaceModes: `hostIPC` and
 * `hostPID` put it in the node's (NODE, named on the container itself as the kubelet's container
 * config does); otherwise it joins the sandbox's IPC namespace, and with `shareProcessNamespace`
 * its PID namespace (POD: the pause process is PID 1); an ephemeral container with a target joins
 * its target's (TARGET) otherwise. Validation refuses `shareProcessNamespace` together with
 * `hostPID`.
 */
function podNamespaceModes(
  pod: Pod,
  infraId: string,
  pidTargetId?: string,
): Pick<Docker.HostConfig, "IpcMode" | "PidMode"> {
  return {
    IpcMode: pod.spec.hostIPC ? "host" : `container:${infraId}`,
    PidMode: pod.spec.hostPID
      ? "host"
      : pod.spec.shareProcessNamespace
      ? `container:${infraId}`
      : pidTargetId
      ? `container:${pidTargetId}`
      : undefined,
  };
}

/**
 * The pod's supplementary groups for every container, as the kubelet synthesizes them: `fsGroup`
 * (so the processes can use the volumes it owns) and then `supplementalGroups`, without repeats.
 */
export function supplementalGroups(pod: Pod): number[] {
  const sc = pod.spec.securityContext ?? {};
  const groups = [
    ...(sc.fsGroup !== undefined ? [sc.fsGroup] : []),
    ...(sc.supplementalGroups ?? []),
  ];
  return [...new Set(groups)];
}

/**
 * A container's security context with the pod's defaults filled in, as the kubelet merges them:
 * the container's own value wins, the pod's applies otherwise.
 */
export function effectiveSecurityContext(pod: Pod, container: Container): SecurityContext {
  const p = pod.spec.securityContext ?? {};
  const c = container.securityContext ?? {};
  return {
    ...c,
    runAsUser: c.runAsUser ?? p.runAsUser,
    runAsGroup: c.runAsGroup ?? p.runAsGroup,
    runAsNonRoot: c.runAsNonRoot ?? p.runAsNonRoot,
    seccompProfile: c.seccompProfile ?? p.seccompProfile,
    appArmorProfile: c.appArmorProfile ?? p.appArmorProfile,
  };
}

/**
 * Maps a security context onto Docker's options. `RuntimeDefault` seccomp and AppArmor profiles
 * are Docker's defaults; `Unconfined` turns them off; admission refuses `Localhost` profiles.
 */
function applySecurityContext(options: Docker.ContainerCreateOptions, sc: SecurityContext): void {
  const host = options.HostConfig!;
  host.Privileged = sc.privileged ?? false;
  if (sc.runAsUser !== undefined) {
    options.User = sc.runAsGroup !== undefined
      ? `${sc.runAsUser}:${sc.runAsGroup}`
      : String(sc.runAsUser);
  }
  if (sc.capabilities?.add?.length) host.CapAdd = sc.capabilities.add;
  if (sc.capabilities?.drop?.length) host.CapDrop = sc.capabilities.drop;
  if (sc.readOnlyRootFilesystem) host.ReadonlyRootfs = true;
  const securityOpt: string[] = [];
  if (sc.allowPrivilegeEscalation === false) securityOpt.push("no-new-privileges");
  if (sc.seccompProfile?.type === "Unconfined") securityOpt.push("seccomp=unconfined");
  if (sc.appArmorProfile?.type === "Unconfined") securityOpt.push("apparmor=unconfined");
  if (securityOpt.length > 0) host.SecurityOpt = securityOpt;
}

/**
 * The kubelet's `runAsNonRoot` check: throws (a CreateContainerConfigError message in
 * Kubernetes' words) when the container would run as root. `imageUser` is the image's
 * `Config.User` (empty: root).
 */
export function verifyRunAsNonRoot(pod: Pod, container: Container, imageUser: string): void {
  const sc = effectiveSecurityContext(pod, container);
  if (!sc.runAsNonRoot) return;
  const who = `(pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", ` +
    `container: ${container.name})`;
  if (sc.runAsUser !== undefined) {
    if (sc.runAsUser === 0) throw new Error(`container's runAsUser breaks non-root policy ${who}`);
    return;
  }
  const user = imageUser.split(":")[0];
  if (user !== "" && !/^\d+$/.test(user)) {
    throw new Error(
      `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root ${who}`,
    );
  }
  if (user === "" || Number(user) === 0) {
    throw new Error(`container has runAsNonRoot and image will run as root ${who}`);
  }
}
