/**
 * `syncPod(key)`: brings what Docker runs for one pod in line with the pod in the API — the
 * kubelet's per-pod sync. Docker is the truth: the pod's containers are found by label on every
 * sync, so a restarted agent adopts running containers as they are. The sync creates the sandbox,
 * pulls images, starts and restarts containers (restart policy, crash-loop back-off, liveness
 * kills, spec changes), terminates deleted pods with their grace period and finishes the delete,
 * removes containers of pods that no longer exist, and patches `/status` when it changed.
 */

import { splitKey } from "../shared/api/object.ts";
import type { ApiClient } from "../shared/client/client.ts";
import { PODS } from "../shared/client/refs.ts";
import { isConflict, isNotFound } from "../shared/errors.ts";
import type { EventRecorder } from "../shared/events.ts";
import { type Logger, silentLogger } from "../shared/log.ts";
import {
  containerCreateOptions,
  containerHash,
  effectiveSecurityContext,
  resolveEnv,
  verifyRunAsNonRoot,
} from "./container_config.ts";
import type { Docker, DockerRuntime } from "./docker_runtime.ts";
import type { ImageManager } from "./image_manager.ts";
import { DockerKeyring, readPullSecrets } from "./docker_keyring.ts";
import {
  LABEL_CONTAINER_HASH,
  LABEL_CONTAINER_NAME,
  LABEL_GRACE_PERIOD,
  LABEL_KIND,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_RESTART_COUNT,
} from "./labels.ts";
import { portMappings, sandboxCreateOptions, sandboxIP } from "./pod_sandbox.ts";
import { type PodDnsSetup, writePodDnsFiles } from "./pod_dns.ts";
import { type EnvService, serviceEnvVars, visibleServices } from "./service_env.ts";
import {
  computePodStatus,
  type ContainerInstance,
  type ContainerView,
  instanceFromInspect,
  OOM_MARK_WAIT_MS,
  oomMayBePending,
  statusFingerprint,
} from "./pod_status.ts";
import type { Container, Pod, PodStatus } from "./pod_types.ts";
import type { AgentMetrics } from "./agent_metrics.ts";
import type { ProbeManager } from "./probes.ts";
import { isUnreachable } from "./unreachable.ts";
import {
  type HostVolume,
  type ObjectReader,
  podDir,
  preparePodVolumes,
  refreshPodVolumes,
  removePodDir,
  volumeBinds,
} from "./volumes.ts";
import { isProjectedKind } from "./volume_payload.ts";
import type { ServiceAccountTokens } from "./service_account_tokens.ts";
import { withDisruptionTarget } from "../shared/api/disruption_target.ts";
import { rfc3339 } from "../shared/time.ts";
import { runLifecycleHook, runPreStopHook } from "./lifecycle_hooks.ts";
import {
  readTerminationMessage,
  terminationMessageBind,
  terminationMessageFile,
} from "./termination_message.ts";
import { forbiddenSysctl } from "./sysctls.ts";
import { isSidecar } from "../shared/api/pod_resources.ts";
import { diskUsage, storageLimitsOf, type StorageUsage, storageVerdict } from "./local_storage.ts";

/** Crash-loop back-off numbers (Kubernetes: 10 s doubling to 5 min, reset after 10 min). */
export interface RestartBackoffOptions {
  initialMs: number;
  maxMs: number;
  /** A container that ran this long before exiting starts over at `initialMs`. */
  resetMs: number;
}

/** What {@linkcode PodSyncer} works with. */
export interface PodSyncerOptions {
  rt: DockerRuntime;
  client: ApiClient;
  images: ImageManager;
  probes: ProbeManager;
  events: EventRecorder;
  reader: ObjectReader;
  nodeName: string;
  nodeAddress: string;
  /** Docker network of the node's pods (pod_network.ts). */
  podNetwork: string;
  dataDir: string;
  pauseImage: string;
  backoff: RestartBackoffOptions;
  /** Sync `key` again after `ms` (back-off expiry, retries). */
  requeue: (key: string, ms: number) => void;
  /**
   * The node's Services (the informer the proxy and the DNS share), for service environment
   * variables; without it containers get none.
   */
  services?: { list(): EnvService[]; hasSynced(): boolean };
  /** Pods' resolv.conf and hosts files; without it Docker's own are left in place. */
  dns?: PodDnsSetup;
  /**
   * Unsafe sysctl names or `prefix.*` patterns pods may set (kubelet's
   * `--allowed-unsafe-sysctls`); the safe set is always allowed.
   */
  allowedUnsafeSysctls?: string[];
  /** How often a pod with local-storage limits is measured (default 10 s). */
  storageCheckMs?: number;
  /** Observes pod start latency (`kubelet_pod_start_duration_seconds`). */
  metrics?: AgentMetrics;
  /** The pods' ServiceAccount tokens (forgotten with the pod). */
  tokens?: ServiceAccountTokens;
  /**
   * How often a running pod's ConfigMap, Secret, downwardAPI and projected volumes are rewritten
   * from their sources (default 30 s; with the 10 s relist, a change shows within ~40 s).
   */
  volumeRefreshMs?: number;
  logger?: Logger;
}

/** One Docker container of the pod, inspected. */
interface Observed {
  id: string;
  name: string;
  kind: string;
  restartCount: number;
  hash: string;
  info: Docker.ContainerInspectInfo;
  inst: ContainerInstance;
}

interface CrashBackoff {
  delayMs: number;
}

/** What the agent remembers about a pod between syncs (lost on restart, rebuilt from Docker). */
interface PodState {
  uid: string;
  startTime: string;
  crash: Map<string, CrashBackoff>;
  /** When this agent first saw the pod (performance.now()). */
  seenAt: number;
  /**
   * All containers have run once (or the pod was already past Pending when first seen, e.g.
   * adopted after an agent restart): pod start latency is observed once, when this turns true.
   */
  started: boolean;
  lastStatus?: PodStatus;
  lastFingerprint?: string;
  /** When its projected-kind volumes were last written (performance.now()), and from what metadata. */
  volumesAt?: number;
  volumesMeta?: string;
  /** When its local storage was last measured (performance.now()). */
  storageAt?: number;
  /** The kubelet's eviction message once its local storage broke a limit: the pod has ended. */
  evicted?: string;
}

const GRACE_DEFAULT = 30;
/** The kubelet never gives a container less than this to stop after its preStop hook. */
const MINIMUM_GRACE_SECONDS = 2;

/** The kubelet's `activeDeadlineSeconds` verdict. */
const DEADLINE_REASON = "DeadlineExceeded";
const DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline";
/** The kubelet eviction manager's reason, and its DisruptionTarget condition's. */
const EVICTED_REASON = "Evicted";
const EVICTED_BY_KUBELET = "TerminationByKubelet";

/** Why a pod that is still running has ended: its deadline passed or the node evicted it. */
interface PodEnding {
  reason: string;
  message: string;
  /** Seconds its containers get to stop. */
  grace: number;
}

/** Status fields the agent sets only sometimes, and must null out in a merge patch. */
const CLEARABLE_STATUS_FIELDS = [
  "message",
  "reason",
  "podIP",
  "podIPs",
  "initContainerStatuses",
] as const;

/** The per-pod sync of one node. */
export class PodSyncer {
  readonly #o: PodSyncerOptions;
  readonly #log: Logger;
  readonly #states = new Map<string, PodState>();
  /** Inspect results by container ID, reused while Docker's list reports the same state. */
  readonly #inspectCache = new Map<
    string,
    { state: string; info: Docker.ContainerInspectInfo; terminationMessage?: string }
  >();
  /**
   * Docker events seen per container ID (a counter, cleared with the cache entry when the
   * container goes): an inspect that raced an event is used once but not cached.
   */
  readonly #changes = new Map<string, number>();

  constructor(options: PodSyncerOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * A Docker event about container `id` (die, oom, stop, …): its cached inspect result is stale
   * even when Docker's container list still reports the old state (measured: right after `die`,
   * `GET /containers/json` says running while the container's inspect says exited), so the next
   * sync inspects it again. Without this an exit was seen only at the next relist, up to 10 s on.
   */
  containerChanged(id: string, action: string): void {
    if (action === "destroy") return this.#forgetContainer(id);
    this.#inspectCache.delete(id);
    this.#changes.set(id, (this.#changes.get(id) ?? 0) + 1);
  }

  /** Drops what is kept about a removed container. */
  #forgetContainer(id: string): void {
    this.#inspectCache.delete(id);
    this.#changes.delete(id);
  }

  /**
   * Reconciles pod `key` (`namespace/name`); `pod` is the informer's cached copy, or undefined
   * when the pod no longer exists; `latest` reads the cache again during a long sync (a postStart
   * hook gives up when the pod is deleted meanwhile). Throws to be retried.
   */
  async sync(
    key: string,
    pod: Pod | undefined,
    latest: () => Pod | undefined = () => pod,
  ): Promise<void> {
    const { namespace, name } = splitKey(key);
    const all = await this.#o.rt.listContainers({
      [LABEL_POD_NAMESPACE]: namespace ?? "",
      [LABEL_POD_NAME]: name,
    });
    const uid = pod?.metadata.uid;
    const mine = all.filter((c) => uid !== undefined && c.Labels[LABEL_POD_UID] === uid);
    const stale = all.filter((c) => !mine.includes(c));
    if (stale.length) await this.#removeStale(key, stale);
    if (!pod || pod.spec.nodeName !== this.#o.nodeName) {
      this.#forget(key);
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      await this.#terminate(key, pod, mine);
      return;
    }
    await this.#reconcile(key, pod, mine, latest);
  }

  /**
   * Pod keys that have containers on this node (for the relist). Also removes pod directories
   * (volumes) left behind by pods that have neither containers nor an API object any more, e.g.
   * after the agent died between removing a pod's containers and its directory.
   */
  async keysInDocker(podsInApi: () => Pod[] = () => []): Promise<Set<string>> {
    const keys = new Set<string>();
    const uids = new Set<string>();
    for (const c of await this.#o.rt.listContainers()) {
      const ns = c.Labels[LABEL_POD_NAMESPACE];
      const name = c.Labels[LABEL_POD_NAME];
      if (ns && name) keys.add(`${ns}/${name}`);
      if (c.Labels[LABEL_POD_UID]) uids.add(c.Labels[LABEL_POD_UID]);
    }
    try {
      const dirs: string[] = [];
      for await (const e of Deno.readDir(`${this.#o.dataDir}/pods`)) {
        if (e.isDirectory && !uids.has(e.name)) dirs.push(e.name);
      }
      // Read the API's pods last, so a pod added meanwhile keeps the directory it is creating.
      for (const p of podsInApi()) uids.add(p.metadata.uid);
      for (const uid of dirs) if (!uids.has(uid)) await removePodDir(this.#o.dataDir, uid);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return keys;
  }

  #forget(key: string): void {
    const st = this.#states.get(key);
    if (st) this.#o.images.forget(st.uid);
    if (st) this.#o.tokens?.forget(st.uid);
    this.#states.delete(key);
  }

  async #removeStale(key: string, stale: Docker.ContainerInfo[]): Promise<void> {
    const uids = new Set(stale.map((c) => c.Labels[LABEL_POD_UID]));
    this.#log.info("removing containers of a pod that no longer exists", {
      pod: key,
      containers: stale.length,
    });
    const apps = stale.filter((c) => c.Labels[LABEL_KIND] !== "sandbox");
    const sandboxes = stale.filter((c) => c.Labels[LABEL_KIND] === "sandbox");
    await Promise.all(
      apps.filter((c) => c.State === "running").map((c) =>
        this.#o.rt.stopContainer(c.Id, Number(c.Labels[LABEL_GRACE_PERIOD] ?? GRACE_DEFAULT))
      ),
    );
    for (const c of [...apps, ...sandboxes]) {
      await this.#o.rt.removeContainer(c.Id);
      this.#forgetContainer(c.Id);
    }
    await this.#o.probes.retain(new Set(), key);
    for (const uid of uids) if (uid) await removePodDir(this.#o.dataDir, uid);
  }

  /** An exited container instance's termination message, read once (it never changes). */
  async #terminationMessage(
    cached: { info: Docker.ContainerInspectInfo; terminationMessage?: string },
    pod: Pod,
    spec: Container,
    restartCount: number,
  ): Promise<string> {
    cached.terminationMessage ??= await readTerminationMessage(spec, {
      rt: this.#o.rt,
      info: cached.info,
      file: terminationMessageFile(
        podDir(this.#o.dataDir, pod.metadata.uid),
        spec.name,
        restartCount,
      ),
    });
    return cached.terminationMessage;
  }

  async #observe(containers: Docker.ContainerInfo[], pod?: Pod): Promise<Observed[]> {
    const out: Observed[] = [];
    await Promise.all(containers.map(async (c) => {
      let cached = this.#inspectCache.get(c.Id);
      if (!cached || cached.state !== c.State) {
        const changes = this.#changes.get(c.Id);
        const info = await this.#inspect(c.Id);
        if (!info) return;
        cached = { state: c.State, info };
        if (this.#changes.get(c.Id) === changes) this.#inspectCache.set(c.Id, cached);
      }
      const info = cached.info;
      const restartCount = Number(c.Labels[LABEL_RESTART_COUNT] ?? 0);
      const name = c.Labels[LABEL_CONTAINER_NAME] ?? "";
      const inst = instanceFromInspect(info, restartCount);
      const spec = pod ? specOf(pod, name) : undefined;
      if (spec && !inst.running && !inst.created) {
        inst.terminationMessage = await this.#terminationMessage(cached, pod!, spec, restartCount);
      }
      out.push({
        id: c.Id,
        name,
        kind: c.Labels[LABEL_KIND] ?? "container",
        restartCount,
        hash: c.Labels[LABEL_CONTAINER_HASH] ?? "",
        info,
        inst,
      });
    }));
    // Newest first: highest restart count, then latest creation.
    return out.sort((a, b) =>
      b.restartCount - a.restartCount || b.info.Created.localeCompare(a.info.Created)
    );
  }

  /**
   * Inspects a container; one that has just died by SIGKILL is inspected again (every 100 ms,
   * within OOM_MARK_WAIT_MS) until Docker has had time to mark it OOMKilled.
   */
  async #inspect(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    let info = await this.#o.rt.inspectContainer(id);
    for (
      let waited = 0;
      waited < OOM_MARK_WAIT_MS && info && oomMayBePending(info);
      waited += 100
    ) {
      await new Promise((r) => setTimeout(r, 100));
      info = await this.#o.rt.inspectContainer(id);
    }
    return info;
  }

  async #refresh(o: Observed): Promise<Observed> {
    const info = await this.#inspect(o.id);
    if (!info) return o;
    this.#inspectCache.set(o.id, { state: info.State.Status, info });
    return { ...o, info, inst: instanceFromInspect(info, o.restartCount) };
  }

  #record(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void {
    this.#o.events.record({ ...pod, apiVersion: "v1", kind: "Pod" }, type, reason, message);
  }

  /** The pod's pull-secret keyring; Secrets it cannot read are left out with the kubelet's event. */
  async #pullKeyring(pod: Pod): Promise<DockerKeyring> {
    const { secrets, missing } = await readPullSecrets(pod, this.#o.reader);
    if (missing.length) {
      this.#record(
        pod,
        "Warning",
        "FailedToRetrieveImagePullSecret",
        `Unable to retrieve some image pull secrets (${
          missing.join(", ")
        }); attempting to pull the image may not succeed.`,
      );
    }
    return DockerKeyring.fromSecrets(secrets);
  }

  async #terminate(key: string, pod: Pod, mine: Docker.ContainerInfo[]): Promise<void> {
    const grace = pod.metadata.deletionGracePeriodSeconds ??
      pod.spec.terminationGracePeriodSeconds ?? GRACE_DEFAULT;
    const apps = mine.filter((c) => c.Labels[LABEL_KIND] !== "sandbox");
    const running = apps.filter((c) => c.State === "running");
    for (const c of running) {
      this.#record(
        pod,
        "Normal",
        "Killing",
        `Stopping container ${c.Labels[LABEL_CONTAINER_NAME]}`,
      );
    }
    await this.#o.probes.retain(new Set(), key);
    // The app containers first; the sidecars once they have stopped, last one first, within what
    // is left of the grace period (the kubelet's termination order).
    const started = performance.now();
    const sidecars = sidecarsLastFirst(pod);
    const isSidecarContainer = (c: Docker.ContainerInfo) =>
      sidecars.includes(c.Labels[LABEL_CONTAINER_NAME] ?? "");
    await Promise.all(
      running.filter((c) => !isSidecarContainer(c)).map((c) =>
        this.#killNamed(pod, c.Id, c.Labels[LABEL_CONTAINER_NAME], grace)
      ),
    );
    const byOrder = running.filter(isSidecarContainer).sort((a, b) =>
      sidecars.indexOf(a.Labels[LABEL_CONTAINER_NAME] ?? "") -
      sidecars.indexOf(b.Labels[LABEL_CONTAINER_NAME] ?? "")
    );
    for (const c of byOrder) {
      const left = grace - Math.floor((performance.now() - started) / 1000);
      const name = c.Labels[LABEL_CONTAINER_NAME];
      await this.#killNamed(pod, c.Id, name, Math.max(MINIMUM_GRACE_SECONDS, left));
    }
    for (const c of mine.filter((c) => c.Labels[LABEL_KIND] === "sandbox")) {
      await this.#o.rt.stopContainer(c.Id, 2);
    }
    for (const c of mine) {
      await this.#o.rt.removeContainer(c.Id);
      this.#forgetContainer(c.Id);
    }
    await removePodDir(this.#o.dataDir, pod.metadata.uid);
    this.#forget(key);
    try {
      await this.#o.client.delete(PODS, pod.metadata.name, {
        namespace: pod.metadata.namespace,
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (e) {
      // Already gone, or replaced by a new pod of the same name: nothing left to finish.
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  /**
   * Stops the pod's running ephemeral containers and sidecars (sidecars last one first), each with
   * the pod's grace period: a pod whose app containers have finished for good.
   */
  async #stopSidecars(pod: Pod, running: Observed[]): Promise<void> {
    const ephemeral = (pod.spec.ephemeralContainers ?? []).map((c) => c.name);
    const grace = pod.spec.terminationGracePeriodSeconds ?? GRACE_DEFAULT;
    for (const name of [...ephemeral, ...sidecarsLastFirst(pod)]) {
      for (const o of running.filter((o) => o.kind !== "sandbox" && o.name === name)) {
        this.#record(pod, "Normal", "Killing", `Stopping container ${name}`);
        await this.#killNamed(pod, o.id, name, grace);
      }
    }
  }

  /** {@linkcode #killContainer} for the pod's (init, ephemeral) container `name`, at its status IP. */
  #killNamed(pod: Pod, id: string, name: string | undefined, grace: number): Promise<void> {
    return this.#killContainer(pod, {
      id,
      spec: specOf(pod, name),
      grace,
      podIP: pod.status?.podIP ?? "",
    });
  }

  /**
   * The kubelet's killContainer: the preStop hook first (it may use up to the whole grace
   * period; `FailedPreStopHook` when it fails), then the stop signal with what is left of the
   * grace period (at least 2 s after a hook), then SIGKILL.
   */
  async #killContainer(
    pod: Pod,
    target: { id: string; spec?: Container; grace: number; podIP: string },
  ): Promise<void> {
    let grace = target.grace;
    const preStop = target.spec?.lifecycle?.preStop;
    if (preStop && grace > 0) {
      const r = await runPreStopHook(preStop, {
        rt: this.#o.rt,
        containerId: target.id,
        podIP: target.podIP,
        pod,
        container: target.spec!,
      }, grace);
      if (r.error) {
        this.#log.warn("preStop hook failed", { pod: pod.metadata.name, error: r.error });
        // As the kubelet: the event does not carry the hook's output (it may hold secrets).
        this.#record(pod, "Warning", "FailedPreStopHook", "PreStopHook failed");
      }
      grace = Math.max(MINIMUM_GRACE_SECONDS, grace - r.elapsedSeconds);
    }
    await this.#o.rt.stopContainer(target.id, grace);
  }

  #state(key: string, pod: Pod): PodState {
    let st = this.#states.get(key);
    if (!st || st.uid !== pod.metadata.uid) {
      st = {
        uid: pod.metadata.uid,
        startTime: pod.status?.startTime ?? rfc3339(),
        crash: new Map(),
        seenAt: performance.now(),
        started: (pod.status?.phase ?? "Pending") !== "Pending",
      };
      this.#states.set(key, st);
    }
    return st;
  }

  /** True when no container will ever run again (restart policy satisfied). */
  #isDone(pod: Pod, byName: Map<string, Observed[]>): boolean {
    const policy = pod.spec.restartPolicy ?? "Always";
    if (policy === "Always") return false;
    return pod.spec.containers.every((c) => {
      const latest = byName.get(c.name)?.[0];
      if (!latest || latest.inst.running || latest.inst.created) return false;
      return policy === "Never" || latest.inst.exitCode === 0;
    });
  }

  /**
   * The kubelet's pod admission for sysctls: a pod asking for one the node does not allow is
   * rejected (Failed, `SysctlForbidden`) before anything of it runs. True when rejected.
   */
  async #rejectForbiddenSysctls(pod: Pod, mine: Docker.ContainerInfo[]): Promise<boolean> {
    if (mine.length > 0) return false;
    const why = forbiddenSysctl(pod, this.#o.allowedUnsafeSysctls);
    if (!why) return false;
    const message = `Pod was rejected: ${why}`;
    if (pod.status?.phase === "Failed" && pod.status.message === message) return true;
    this.#record(pod, "Warning", "SysctlForbidden", why);
    await this.#o.client.patch(PODS, pod.metadata.name, {
      status: { phase: "Failed", reason: "SysctlForbidden", message },
    }, { namespace: pod.metadata.namespace, subresource: "status", type: "merge" });
    return true;
  }

  /**
   * `activeDeadlineSeconds`: true once the pod has been active on the node longer than its
   * deadline (its running containers are then killed and it fails, as the kubelet's
   * activeDeadlineHandler decides); before that, a sync is queued for the moment it runs out.
   */
  #pastDeadline(key: string, pod: Pod, st: PodState): boolean {
    const deadline = pod.spec.activeDeadlineSeconds;
    if (deadline === undefined) return false;
    const left = Date.parse(st.startTime) + deadline * 1000 - Date.now();
    if (left > 0) {
      this.#o.requeue(key, left + 50);
      return false;
    }
    return true;
  }

  /**
   * The kubelet's local-storage eviction: once its emptyDirs or containers use more than their
   * limits (measured every `storageCheckMs`), the pod ends as Evicted and stays so — also after
   * an agent restart, from its status. Undefined while it is within its limits.
   */
  async #evictedForStorage(
    key: string,
    pod: Pod,
    st: PodState,
    mine: Docker.ContainerInfo[],
  ): Promise<PodEnding | undefined> {
    const ended = (message: string): PodEnding => ({ reason: EVICTED_REASON, message, grace: 0 });
    if (st.evicted !== undefined) return ended(st.evicted);
    if (pod.status?.phase === "Failed" && pod.status.reason === EVICTED_REASON) {
      return ended(st.evicted = pod.status.message ?? "");
    }
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return undefined;
    const limits = storageLimitsOf(pod);
    if (!limits) return undefined;
    const every = this.#o.storageCheckMs ?? 10_000;
    const now = performance.now();
    if (st.storageAt !== undefined && now - st.storageAt < every) return undefined;
    st.storageAt = now;
    this.#o.requeue(key, every);
    const verdict = storageVerdict(limits, await this.#storageUsage(pod, mine));
    if (verdict === undefined) return undefined;
    this.#log.info("evicting a pod over its local storage limits", { pod: key, why: verdict });
    return ended(st.evicted = verdict);
  }

  /** What the pod's disk-backed emptyDirs and its current containers hold. */
  async #storageUsage(pod: Pod, mine: Docker.ContainerInfo[]): Promise<StorageUsage> {
    const usage: StorageUsage = { emptyDirs: new Map(), containers: new Map() };
    const dir = `${podDir(this.#o.dataDir, pod.metadata.uid)}/volumes/empty-dir`;
    for (const v of pod.spec.volumes ?? []) {
      if (!v.emptyDir || v.emptyDir.medium === "Memory") continue;
      usage.emptyDirs.set(v.name, await diskUsage(`${dir}/${v.name}`));
    }
    // Each container's current instance (the highest restart count): its layer and its log.
    const current = new Map<string, Docker.ContainerInfo>();
    for (const c of mine) {
      if (c.Labels[LABEL_KIND] === "sandbox") continue;
      const name = c.Labels[LABEL_CONTAINER_NAME] ?? "";
      const seen = current.get(name);
      const count = (x: Docker.ContainerInfo) => Number(x.Labels[LABEL_RESTART_COUNT] ?? 0);
      if (!seen || count(c) > count(seen)) current.set(name, c);
    }
    await Promise.all([...current].map(async ([name, c]) => {
      const info = await this.#o.rt.inspectContainer(c.Id, { size: true });
      if (!info) return;
      let log = 0;
      if (info.LogPath) log = await Deno.stat(info.LogPath).then((s) => s.size, () => 0);
      usage.containers.set(name, (info.SizeRw ?? 0) + log);
    }));
    return usage;
  }

  async #reconcile(
    key: string,
    pod: Pod,
    mine: Docker.ContainerInfo[],
    latest: () => Pod | undefined,
  ): Promise<void> {
    if (await this.#rejectForbiddenSysctls(pod, mine)) return;
    const st = this.#state(key, pod);
    const ending: PodEnding | undefined = this.#pastDeadline(key, pod, st)
      ? {
        reason: DEADLINE_REASON,
        message: DEADLINE_MESSAGE,
        grace: pod.spec.terminationGracePeriodSeconds ?? GRACE_DEFAULT,
      }
      : await this.#evictedForStorage(key, pod, st, mine);
    const expired = ending !== undefined;
    if (expired && mine.some((c) => c.Labels[LABEL_KIND] !== "sandbox" && c.State === "running")) {
      if (pod.status?.reason !== ending.reason) {
        const warn = ending.reason === EVICTED_REASON;
        this.#record(pod, warn ? "Warning" : "Normal", ending.reason, ending.message);
      }
      await this.#o.probes.retain(new Set(), key);
      const grace = ending.grace;
      await Promise.all(
        mine.filter((c) => c.Labels[LABEL_KIND] !== "sandbox" && c.State === "running").map((c) =>
          // An eviction overrides the grace period with 0: no preStop hook, and the kubelet's
          // minimal shutdown window before SIGKILL.
          grace === 0
            ? this.#o.rt.stopContainer(c.Id, MINIMUM_GRACE_SECONDS)
            : this.#killNamed(pod, c.Id, c.Labels[LABEL_CONTAINER_NAME], grace)
        ),
      );
      mine = await this.#o.rt.listContainers({
        [LABEL_POD_NAMESPACE]: pod.metadata.namespace,
        [LABEL_POD_NAME]: pod.metadata.name,
      });
      mine = mine.filter((c) => c.Labels[LABEL_POD_UID] === pod.metadata.uid);
    }
    const observed = await this.#observe(mine, pod);
    const sandboxes = observed.filter((o) => o.kind === "sandbox");
    const byName = new Map<string, Observed[]>();
    for (const o of observed) {
      if (o.kind === "sandbox") continue;
      const list = byName.get(o.name) ?? [];
      list.push(o);
      byName.set(o.name, list);
    }
    const done = expired || this.#isDone(pod, byName);
    // A sandbox on another network (made before this node had a pod network, or on an older
    // podCIDR's) is replaced, as the kubelet replaces a sandbox whose network changed.
    const wantMode = pod.spec.hostNetwork ? "host" : this.#o.podNetwork;
    let sandbox = sandboxes.find((s) =>
      s.inst.running && s.info.HostConfig.NetworkMode === wantMode
    );
    let podMessage: string | undefined;
    let volumes: Map<string, HostVolume> | undefined;
    const getVolumes = async () =>
      volumes ??= await preparePodVolumes(pod, {
        dataDir: this.#o.dataDir,
        reader: this.#o.reader,
      });

    if (!sandbox && !done) {
      // As the kubelet does before it starts a new pod: report its containers as being created
      // first, so `kubectl get pods` shows ContainerCreating while the sandbox and images are
      // prepared, not Pending.
      if (!st.lastStatus && observed.length === 0) await this.#reportCreating(pod, st);
      try {
        sandbox = await this.#createSandbox(pod, sandboxes, byName, getVolumes);
      } catch (e) {
        podMessage = (e as Error).message;
        // Volumes are set up before the sandbox: their failures are the kubelet's FailedMount.
        if (podMessage.startsWith("MountVolume.")) {
          this.#record(pod, "Warning", "FailedMount", podMessage);
        } else {
          this.#record(
            pod,
            "Warning",
            "FailedCreatePodSandBox",
            `Failed to create pod sandbox: ${podMessage}`,
          );
        }
        this.#o.requeue(key, this.#o.backoff.initialMs);
      }
    } else if (sandbox && done) {
      // A finished pod keeps its exited containers (for logs) but not its network; its sidecars
      // are stopped first, last one first, as the kubelet ends them once the app containers have.
      await this.#stopSidecars(pod, observed.filter((o) => o.inst.running));
      await this.#o.rt.stopContainer(sandbox.id, 2);
    }

    const podIP = sandbox && sandbox.inst.running
      ? sandboxIP(sandbox.info, this.#o.nodeAddress)
      : pod.status?.podIP;
    const mappings = sandbox && sandbox.inst.running
      ? portMappings(pod, sandbox.info, this.#o.nodeAddress)
      : pod.status?.portMappings ?? [];
    const canRun = !!sandbox && sandbox.inst.running && !done;
    const ctx = { key, pod, st, sandbox, podIP: podIP ?? "", getVolumes, latest };

    // Init containers run one at a time, each to success, before any app container; in a new
    // sandbox (the old one died) they all run again, as the kubelet does, unless the pod never
    // restarts anything. A sidecar (`restartPolicy: Always`) is started in its turn and the next
    // one goes once it has started (its startup probe passed); it keeps running beside the app
    // containers and is restarted whenever it stops, without holding back app containers that
    // have already run.
    const initViews: ContainerView[] = [];
    const keep = new Set<string>();
    let initDone = true;
    const ranElsewhere = (o: Observed) =>
      canRun && pod.spec.restartPolicy !== "Never" &&
      o.info.HostConfig.NetworkMode !== `container:${sandbox!.id}`;
    const appsStarted = pod.spec.containers.some((c) => (byName.get(c.name)?.length ?? 0) > 0);
    for (const c of pod.spec.initContainers ?? []) {
      const instances = byName.get(c.name) ?? [];
      if (isSidecar(c)) {
        const v = canRun
          ? await this.#syncContainer(ctx, c, instances, false)
          : viewOf(c, instances);
        initViews.push(v);
        const up = !!v.current?.running && !v.waiting;
        if (up) keep.add(v.current!.id);
        if ((up && v.started) || appsStarted || !canRun) continue;
        initDone = false;
        break;
      }
      const latest = instances[0];
      const succeeded = latest && !latest.inst.running && !latest.inst.created &&
        latest.inst.exitCode === 0;
      if (succeeded && !ranElsewhere(latest)) {
        initViews.push(viewOf(c, instances));
        continue;
      }
      initDone = false;
      if (!canRun) initViews.push(viewOf(c, instances));
      else initViews.push(await this.#syncContainer(ctx, c, instances, true, !!succeeded));
      // Still running, waiting, or just started: the next init container has to wait.
      const after = initViews[initViews.length - 1];
      if (
        after.current && !after.current.running && after.current.exitCode === 0 && !after.waiting
      ) {
        initDone = true;
        continue;
      }
      break;
    }
    for (const c of (pod.spec.initContainers ?? []).slice(initViews.length)) {
      initViews.push({ ...viewOf(c, []), waiting: { reason: "PodInitializing" } });
    }

    if (canRun) await this.#refreshVolumes(pod, st, !!volumes);

    const views: ContainerView[] = [];
    for (const c of pod.spec.containers) {
      const instances = byName.get(c.name) ?? [];
      if (!initDone) {
        views.push({ ...viewOf(c, instances), waiting: { reason: "PodInitializing" } });
        continue;
      }
      const v = canRun ? await this.#syncContainer(ctx, c, instances, false) : viewOf(c, instances);
      if (!canRun && !sandbox && !v.current) {
        v.waiting = { reason: "ContainerCreating" };
      }
      if (v.current?.running) keep.add(v.current.id);
      views.push(v);
    }
    await this.#o.probes.retain(keep, key);

    // Ephemeral containers (`kubectl debug`): each started once while the pod can run, in the
    // process namespace of its target when it names one, and never restarted.
    const ephemeralViews: ContainerView[] = [];
    for (const ec of pod.spec.ephemeralContainers ?? []) {
      const c = ec as Container;
      const instances = byName.get(c.name) ?? [];
      if (instances.length > 0 || !canRun) {
        ephemeralViews.push(viewOf(c, instances));
        continue;
      }
      const target = [...views, ...initViews].find((v) => v.spec.name === ec.targetContainerName);
      const targetId = target?.current?.running ? target.current.id : undefined;
      ephemeralViews.push(await this.#syncContainer(ctx, c, [], false, false, targetId));
    }
    if (!st.started && views.length && views.every((v) => v.current?.running)) {
      // As the kubelet: from first seeing the pod to all of its containers running.
      st.started = true;
      this.#o.metrics?.podStartDuration.observe({}, (performance.now() - st.seenAt) / 1000);
    }

    let conditions = st.lastStatus?.conditions ?? pod.status?.conditions;
    if (ending?.reason === EVICTED_REASON) {
      conditions = withDisruptionTarget(conditions, EVICTED_BY_KUBELET, ending.message, rfc3339());
    }
    const status = computePodStatus(
      { ...pod, status: { ...pod.status, conditions } },
      {
        hostIP: this.#o.nodeAddress,
        podIP,
        portMappings: mappings,
        initContainers: initViews,
        containers: views,
        ephemeralContainers: ephemeralViews,
        startTime: st.startTime,
        message: ending ? ending.message : podMessage,
        ...(ending ? { phase: "Failed", reason: ending.reason } : {}),
      },
    );
    const fp = statusFingerprint(status);
    if (fp !== st.lastFingerprint) {
      // A merge patch leaves out absent fields: clear the ones this status no longer has.
      const patch: Record<string, unknown> = { ...status };
      const before = (pod.status ?? {}) as Record<string, unknown>;
      for (const k of CLEARABLE_STATUS_FIELDS) {
        if (!(k in status) && (before[k] !== undefined || st.lastStatus?.[k] !== undefined)) {
          patch[k] = null;
        }
      }
      const sent = await this.#patchStatus(pod, patch);
      if (!sent) return;
      st.lastFingerprint = fp;
      st.lastStatus = status;
    }
  }

  /**
   * Patches the pod's status; false when the server can't be reached. A node cut off from its
   * server keeps running its pods: the status is sent when it is back (the agent then syncs every
   * pod at once, and the unchanged fingerprint makes this sync send it).
   */
  async #patchStatus(pod: Pod, status: object): Promise<boolean> {
    try {
      await this.#o.client.patch(PODS, pod.metadata.name, { status }, {
        namespace: pod.metadata.namespace,
        subresource: "status",
        type: "merge",
      });
      return true;
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      this.#log.debug("server unreachable; pod status not sent", {
        pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
      });
      return false;
    }
  }

  /**
   * Keeps a running pod's ConfigMap, Secret, downwardAPI and projected volumes current, as the
   * kubelet's periodic sync does: rewritten every `volumeRefreshMs`, and at once when the pod's
   * labels or annotations (downwardAPI files) changed. `justWritten`: this sync prepared them.
   */
  async #refreshVolumes(pod: Pod, st: PodState, justWritten: boolean): Promise<void> {
    if (!(pod.spec.volumes ?? []).some(isProjectedKind)) return;
    const meta = JSON.stringify([pod.metadata.labels ?? {}, pod.metadata.annotations ?? {}]);
    const now = performance.now();
    if (justWritten || st.volumesAt === undefined) {
      // Written when the sandbox was made (or the pod was adopted): start the clock here.
      st.volumesAt ??= now;
      st.volumesMeta ??= meta;
      if (justWritten) {
        st.volumesAt = now;
        st.volumesMeta = meta;
        return;
      }
    }
    const due = now - st.volumesAt >= (this.#o.volumeRefreshMs ?? 30_000);
    if (!due && meta === st.volumesMeta) return;
    st.volumesAt = now;
    st.volumesMeta = meta;
    const { changed, errors } = await refreshPodVolumes(pod, {
      dataDir: this.#o.dataDir,
      reader: this.#o.reader,
    });
    if (changed.length) this.#log.debug("volumes updated", { pod: pod.metadata.name, changed });
    for (const message of errors) this.#record(pod, "Warning", "FailedMount", message);
  }

  async #reportCreating(pod: Pod, st: PodState): Promise<void> {
    const inits = pod.spec.initContainers ?? [];
    const waiting = (c: Container, reason: string) => ({ ...viewOf(c, []), waiting: { reason } });
    const status = computePodStatus(pod, {
      hostIP: this.#o.nodeAddress,
      portMappings: [],
      initContainers: inits.map((c) => waiting(c, "PodInitializing")),
      containers: pod.spec.containers.map((c) =>
        waiting(c, inits.length ? "PodInitializing" : "ContainerCreating")
      ),
      startTime: st.startTime,
    });
    if (!await this.#patchStatus(pod, status)) return;
    st.lastFingerprint = statusFingerprint(status);
    st.lastStatus = status;
  }

  async #createSandbox(
    pod: Pod,
    old: Observed[],
    byName: Map<string, Observed[]>,
    getVolumes: () => Promise<Map<string, HostVolume>>,
  ): Promise<Observed> {
    // Containers in a dead sandbox's network have no network: they start over with the new one.
    const stranded = [...byName.values()].flat().filter((o) => o.inst.running);
    await Promise.all(stranded.map((o) => this.#o.rt.stopContainer(o.id, 0)));
    for (const s of old) {
      await this.#o.rt.removeContainer(s.id);
      this.#forgetContainer(s.id);
    }
    await getVolumes();
    if (!(await this.#o.rt.inspectImage(this.#o.pauseImage))) {
      throw new Error(`pause image "${this.#o.pauseImage}" is not present on the node`);
    }
    const attempt = old.length ? old[0].restartCount + 1 : 0;
    const options = sandboxCreateOptions(pod, {
      pauseImage: this.#o.pauseImage,
      nodeAddress: this.#o.nodeAddress,
      network: this.#o.podNetwork,
      attempt,
      clusterDomain: this.#o.dns?.clusterDomain,
    });
    const id = await this.#createNamed(options);
    await this.#o.rt.startContainer(id);
    const info = await this.#o.rt.inspectContainer(id);
    if (!info) throw new Error(`sandbox container ${id.slice(0, 12)} vanished after start`);
    this.#inspectCache.set(id, { state: info.State.Status, info });
    return {
      id,
      name: "POD",
      kind: "sandbox",
      restartCount: attempt,
      hash: "",
      info,
      inst: instanceFromInspect(info, attempt),
    };
  }

  /** Creates a container; a leftover of the same name (agent died after create) is replaced. */
  async #createNamed(options: Docker.ContainerCreateOptions): Promise<string> {
    try {
      return await this.#o.rt.createContainer(options);
    } catch (e) {
      if (!/already in use/i.test((e as Error).message) || !options.name) throw e;
      await this.#o.rt.removeContainer(options.name);
      return await this.#o.rt.createContainer(options);
    }
  }

  #crashWaitMs(st: PodState, name: string, inst: ContainerInstance): number {
    const started = inst.startedAt ? Date.parse(inst.startedAt) : 0;
    const finished = inst.finishedAt ? Date.parse(inst.finishedAt) : Date.now();
    if (started && finished - started >= this.#o.backoff.resetMs) st.crash.delete(name);
    const b = st.crash.get(name);
    if (!b) return 0;
    return Math.max(0, finished + b.delayMs - Date.now());
  }

  #crashRestarted(st: PodState, name: string): void {
    const b = st.crash.get(name);
    if (!b) st.crash.set(name, { delayMs: this.#o.backoff.initialMs });
    else b.delayMs = Math.min(b.delayMs * 2, this.#o.backoff.maxMs);
  }

  /**
   * Runs the container's postStart hook right after it started; the sync (and so the status,
   * which still says the container is being created, and the pod's next containers) waits for
   * it, as the kubelet's startContainer does. A failing hook kills the container
   * (`FailedPostStartHook`) and returns the kubelet's message for its `PostStartHookError`.
   */
  async #postStart(
    ctx: { key: string; pod: Pod; podIP: string; latest: () => Pod | undefined },
    c: Container,
    id: string,
  ): Promise<string | undefined> {
    const hook = c.lifecycle?.postStart;
    if (!hook) return undefined;
    const { pod } = ctx;
    // A pod deleted while its hook runs is terminated instead of waiting for the hook (the
    // kubelet cancels the sync's context).
    const ac = new AbortController();
    const watch = setInterval(() => {
      const now = ctx.latest();
      if (!now || now.metadata.uid !== pod.metadata.uid || now.metadata.deletionTimestamp) {
        ac.abort();
      }
    }, 500);
    let r;
    try {
      r = await runLifecycleHook(hook, {
        rt: this.#o.rt,
        containerId: id,
        podIP: ctx.podIP,
        pod,
        container: c,
      }, ac.signal);
    } finally {
      clearInterval(watch);
    }
    if (ac.signal.aborted) {
      this.#o.requeue(ctx.key, 0);
      return undefined;
    }
    if (!r.error) return undefined;
    this.#log.warn("postStart hook failed", { pod: ctx.key, error: r.error });
    // As the kubelet: the event does not carry the hook's output (it may hold secrets).
    this.#record(pod, "Warning", "FailedPostStartHook", "PostStartHook failed");
    this.#record(pod, "Normal", "Killing", "FailedPostStartHook");
    await this.#killContainer(pod, {
      id,
      spec: c,
      grace: pod.spec.terminationGracePeriodSeconds ?? GRACE_DEFAULT,
      podIP: ctx.podIP,
    });
    this.#o.requeue(ctx.key, 0);
    return r.error;
  }

  /** The pod's service variables as the kubelet computes them when a container starts. */
  #serviceEnv(pod: Pod): [string, string][] {
    const services = this.#o.services;
    if (!services) return [];
    // As the kubelet: never start a container with a partial view of the Services.
    if (!services.hasSynced()) {
      throw new Error("services have not yet been read at least once, cannot construct envvars");
    }
    const visible = visibleServices(
      services.list(),
      pod.metadata.namespace,
      pod.spec.enableServiceLinks ?? true,
    );
    return serviceEnvVars(visible);
  }

  async #syncContainer(
    ctx: {
      key: string;
      pod: Pod;
      st: PodState;
      sandbox?: Observed;
      podIP: string;
      getVolumes: () => Promise<Map<string, HostVolume>>;
      latest: () => Pod | undefined;
    },
    c: Container,
    instances: Observed[],
    isInit: boolean,
    /** Run it again now, whatever its last exit (an init container in a new sandbox). */
    rerun = false,
    /** An ephemeral container's target, whose process namespace it joins. */
    pidTargetId?: string,
  ): Promise<ContainerView> {
    const { key, pod, st } = ctx;
    const rt = this.#o.rt;
    let latest = instances[0];
    const view = viewOf(c, instances);
    // A sidecar restarts always, whatever the pod's policy.
    const policy = isSidecar(c) ? "Always" : pod.spec.restartPolicy ?? "Always";
    let forced = rerun;
    const grace = pod.spec.terminationGracePeriodSeconds ?? GRACE_DEFAULT;

    if (latest?.inst.running) {
      const changed = latest.hash !== containerHash(c);
      const reason = changed
        ? `Container ${c.name} definition changed, will be restarted`
        : this.#o.probes.restartReason(latest.id);
      if (!reason) {
        this.#o.probes.ensure(pod, c, {
          containerId: latest.id,
          podIP: ctx.podIP,
          startedAt: latest.inst.startedAt,
        });
        view.ready = this.#o.probes.ready(latest.id);
        view.started = this.#o.probes.started(latest.id);
        return view;
      }
      this.#record(pod, "Normal", "Killing", reason);
      await this.#killContainer(pod, { id: latest.id, spec: c, grace, podIP: ctx.podIP });
      latest = await this.#refresh(latest);
      view.current = latest.inst;
      forced = changed;
    }

    let restartCount = 0;
    if (latest) {
      if (latest.inst.created) {
        // Created but never started (the agent died in between): replace it, same count.
        await rt.removeContainer(latest.id);
        this.#forgetContainer(latest.id);
        restartCount = latest.restartCount;
        view.current = instances[1]?.inst;
        view.previous = instances[2]?.inst;
      } else {
        const exit = latest.inst.exitCode;
        const restart = forced || policy === "Always" ||
          (policy === "OnFailure" && exit !== 0) || (isInit && policy !== "Never" && exit !== 0);
        if (!restart) return view;
        const wait = forced ? 0 : this.#crashWaitMs(st, c.name, latest.inst);
        if (wait > 0) {
          const delay = st.crash.get(c.name)!.delayMs;
          view.waiting = {
            reason: "CrashLoopBackOff",
            message: `back-off ${
              formatDelay(delay)
            } restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          };
          this.#record(
            pod,
            "Warning",
            "BackOff",
            `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          );
          this.#o.requeue(key, wait);
          return view;
        }
        restartCount = latest.restartCount + 1;
      }
    }

    // Pull (or find) the image.
    const image = c.image ?? "";
    const img = await this.#o.images.ensure(`${pod.metadata.uid}/${c.name}`, c, {
      onPulling: () => this.#record(pod, "Normal", "Pulling", `Pulling image "${image}"`),
      keyring: () => this.#pullKeyring(pod),
    });
    if (!img.ok) {
      view.waiting = { reason: img.reason, message: img.message };
      if (img.reason === "ErrImagePull") {
        this.#record(pod, "Warning", "Failed", `Failed to pull image "${image}": ${img.message}`);
        this.#record(pod, "Warning", "Failed", "Error: ErrImagePull");
      } else if (img.reason === "ImagePullBackOff") {
        this.#record(pod, "Normal", "BackOff", `Back-off pulling image "${image}"`);
        this.#record(pod, "Warning", "Failed", "Error: ImagePullBackOff");
      } else {
        this.#record(pod, "Warning", img.reason, img.message);
        this.#record(pod, "Warning", "Failed", `Error: ${img.reason}`);
      }
      this.#o.requeue(key, img.retryInMs ?? this.#o.backoff.initialMs);
      return view;
    }
    this.#record(
      pod,
      "Normal",
      "Pulled",
      img.pulled
        ? `Successfully pulled image "${image}" in ${(img.durationMs / 1000).toFixed(3)}s`
        : `Container image "${image}" already present on machine`,
    );

    // Configuration (env from ConfigMaps/Secrets, volumes).
    let options: Docker.ContainerCreateOptions;
    try {
      if (effectiveSecurityContext(pod, c).runAsNonRoot) {
        verifyRunAsNonRoot(pod, c, (await rt.inspectImage(image))?.Config?.User ?? "");
      }
      const env = await resolveEnv(pod, c, {
        reader: this.#o.reader,
        facts: { nodeName: this.#o.nodeName, hostIP: this.#o.nodeAddress, podIP: ctx.podIP },
        serviceEnv: this.#serviceEnv(pod),
      });
      const dnsBinds: string[] = [];
      if (this.#o.dns) {
        const files = await writePodDnsFiles(pod, c, {
          dir: podDir(this.#o.dataDir, pod.metadata.uid),
          podIP: ctx.podIP,
          setup: this.#o.dns,
        });
        dnsBinds.push(...files.binds);
        for (const w of files.warnings) this.#record(pod, "Warning", w.reason, w.message);
      }
      options = containerCreateOptions(pod, c, {
        infraId: ctx.sandbox!.id,
        restartCount,
        env,
        binds: [
          ...volumeBinds(c, await ctx.getVolumes(), new Map(env)),
          ...dnsBinds,
          ...await terminationMessageBind(
            c,
            terminationMessageFile(podDir(this.#o.dataDir, pod.metadata.uid), c.name, restartCount),
          ),
        ],
        image,
        pidTargetId,
      });
    } catch (e) {
      const message = (e as Error).message;
      view.waiting = { reason: "CreateContainerConfigError", message };
      this.#record(pod, "Warning", "Failed", `Error: ${message}`);
      this.#o.requeue(key, this.#o.backoff.initialMs);
      return view;
    }

    let id: string;
    try {
      id = await this.#createNamed(options);
    } catch (e) {
      const message = (e as Error).message;
      view.waiting = { reason: "CreateContainerError", message };
      this.#record(pod, "Warning", "Failed", `Error: ${message}`);
      this.#o.requeue(key, this.#o.backoff.initialMs);
      return view;
    }
    this.#record(pod, "Normal", "Created", `Created container ${c.name}`);
    if (latest && !latest.inst.created) this.#crashRestarted(st, c.name);
    let hookError: string | undefined;
    try {
      await rt.startContainer(id);
      this.#record(pod, "Normal", "Started", `Started container ${c.name}`);
      hookError = await this.#postStart(ctx, c, id);
    } catch (e) {
      // The container exists with the error in its state; the next sync sees it as crashed.
      this.#record(pod, "Warning", "Failed", `Error: ${(e as Error).message}`);
      this.#o.requeue(key, 0);
    }
    const info = await this.#inspect(id);
    if (info) {
      const cached = { state: info.State.Status, info };
      this.#inspectCache.set(id, cached);
      view.previous = latest && !latest.inst.created ? latest.inst : view.current;
      view.current = instanceFromInspect(info, restartCount);
      if (!view.current.running && !view.current.created) {
        // Exited already (a short command): its first status carries its message too.
        view.current.terminationMessage = await this.#terminationMessage(
          cached,
          pod,
          c,
          restartCount,
        );
      }
      if (hookError) view.waiting = { reason: "PostStartHookError", message: hookError };
      else if (view.current.running) {
        this.#o.probes.ensure(pod, c, {
          containerId: id,
          podIP: ctx.podIP,
          startedAt: view.current.startedAt,
        });
        view.ready = this.#o.probes.ready(id);
        view.started = this.#o.probes.started(id);
      }
    }
    // Keep the newest dead instance for `logs --previous` and lastState; remove older ones.
    const keepId = view.previous?.id;
    for (const old of instances) {
      if (old.id === keepId || old.id === id || old.inst.running) continue;
      await rt.removeContainer(old.id);
      this.#forgetContainer(old.id);
    }
    return view;
  }
}

function viewOf(c: Container, instances: Observed[]): ContainerView {
  return {
    spec: c,
    current: instances[0]?.inst,
    previous: instances[1]?.inst,
    ready: false,
    started: false,
  };
}

function formatDelay(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m0s`;
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  if (ms < 1000) return `${ms}ms`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** The names of the pod's sidecars in the order they stop: the last one started first. */
function sidecarsLastFirst(pod: Pod): string[] {
  return (pod.spec.initContainers ?? []).filter(isSidecar).map((c) => c.name).reverse();
}

/** The spec of the pod's (init) container `name`. */
function specOf(pod: Pod, name: string | undefined): Container | undefined {
  const ephemeral = (pod.spec.ephemeralContainers ?? []) as Container[];
  return [...pod.spec.containers, ...(pod.spec.initContainers ?? []), ...ephemeral].find((c) =>
    c.name === name
  );
}
