/**
 * Pod Security admission, as kube-apiserver's built-in `PodSecurity` plugin does it:
 *
 * - **Pods** (create, and updates that change an image) are checked against the namespace's
 *   `enforce` policy — a violation is 403 `pods "x" is forbidden: violates PodSecurity
 *   "baseline:latest": hostPath volumes (volume "data")` — then against `audit` (a server log
 *   line, Skiff has no audit log) and `warn` (`would violate PodSecurity ...` warnings).
 * - **Workloads** (Deployment, ReplicaSet, ReplicationController, and the other kinds with a pod
 *   template) are never refused: their template is checked against `audit` and `warn` only.
 * - **Namespaces**: the policy labels must be valid (422 otherwise); when an update makes the
 *   enforce level stricter, the namespace's existing pods are checked and violations come back as
 *   warnings (`existing pods in namespace "x" violate the new PodSecurity enforce level ...`).
 *
 * The cluster's defaults and exempt namespaces come from a PodSecurityConfiguration, as
 * upstream's admission configuration file; Skiff's default enforces (and warns and audits)
 * `baseline` everywhere except `kube-system`.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { ForbiddenError, InvalidError } from "../../shared/errors.ts";
import type { StatusCause } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "./admission.ts";
import {
  type AggregateResult,
  evaluatePod,
  forbiddenDetail,
  forbiddenReason,
} from "./pod_security_checks.ts";
import {
  compareLevels,
  effectiveMinor,
  equivalent,
  fullyPrivileged,
  LABELS,
  type LevelVersion,
  levelVersionString,
  parseLevel,
  parseVersion,
  type Policy,
  policyToEvaluate,
  versionString,
} from "./pod_security_policy.ts";
import { isPodController, podSpecOf } from "./pod_template.ts";
import type { PodSecurityConfiguration } from "./pod_security_configuration.ts";

/** What the plugin reads from the rest of the server. */
export interface PodSecurityDeps {
  config: PodSecurityConfiguration;
  /** The stored namespace of that name. */
  namespace: (name: string) => KubeObject | undefined;
  /** The pods of a namespace (for the check when its enforce level changes). */
  pods: (namespace: string) => KubeObject[];
  logger?: Logger;
}

/** Kubernetes' bounds on checking existing pods when a namespace's level changes. */
const NAMESPACE_MAX_PODS = 3000;
const NAMESPACE_CHECK_MS = 1000;

function toLevelVersion(level: string, version: string): LevelVersion {
  return { level: parseLevel(level).level, version: parseVersion(version).version };
}

/** The policy the configuration's defaults describe. */
export function defaultPolicy(config: PodSecurityConfiguration): Policy {
  const d = config.defaults;
  return {
    enforce: toLevelVersion(d.enforce, d["enforce-version"]),
    audit: toLevelVersion(d.audit, d["audit-version"]),
    warn: toLevelVersion(d.warn, d["warn-version"]),
  };
}

function evaluate(lv: LevelVersion, pod: { metadata?: KubeObject["metadata"]; spec?: unknown }) {
  return evaluatePod(lv.level, effectiveMinor(lv.version), pod as { metadata?: object });
}

/** Builds the Pod Security admission plugin. */
export function podSecurityAdmission(deps: PodSecurityDeps): AdmissionPlugin {
  const defaults = defaultPolicy(deps.config);
  const exempt = new Set(deps.config.exemptions.namespaces);
  const log = deps.logger ?? silentLogger;

  // Skiff has no audit log: what Kubernetes would put in the audit event's annotations goes to
  // the server log, when there is something to report.
  const audit = (attrs: AdmissionAttributes, annotations: Record<string, string>) => {
    if (!annotations.error && !annotations[`${LABELS.audit}-violations`]) return;
    // Controllers rewrite workloads often without touching the template: say it once per change.
    const unchanged = attrs.operation === "UPDATE" &&
      JSON.stringify(podSpecOf(attrs.resource, attrs.object)) ===
        JSON.stringify(podSpecOf(attrs.resource, attrs.oldObject));
    (unchanged ? log.debug : log.info).call(log, "pod security audit", {
      resource: attrs.resource,
      namespace: attrs.namespace,
      name: attrs.name,
      ...annotations,
    });
  };

  /** Upstream `EvaluatePod`: enforce (pods only), then audit, then warn. */
  const evaluateObject = (
    attrs: AdmissionAttributes,
    pod: { metadata: KubeObject["metadata"]; spec: unknown },
    options: { enforce: boolean },
  ) => {
    const ns = deps.namespace(attrs.namespace ?? "");
    const { policy, errors } = policyToEvaluate(ns?.metadata.labels, defaults);
    const annotations: Record<string, string> = {};
    if (errors.length > 0) annotations.error = `Failed to parse policy: ${describe(errors)}`;
    const results = new Map<string, AggregateResult>();
    const resultFor = (lv: LevelVersion) => {
      const key = levelVersionString(lv);
      let r = results.get(key);
      if (!r) results.set(key, r = evaluate(lv, pod));
      return r;
    };
    let denied: ForbiddenError | undefined;
    if (options.enforce) {
      annotations[`${LABELS.enforce}-policy`] = levelVersionString(policy.enforce);
      const r = resultFor(policy.enforce);
      if (!r.allowed) {
        denied = new ForbiddenError(
          { resource: attrs.resource, group: attrs.group || undefined, name: attrs.name },
          `violates PodSecurity "${levelVersionString(policy.enforce)}": ${forbiddenDetail(r)}`,
        );
      }
    }
    // Audit is evaluated whether or not enforce refused the request, as upstream does.
    const auditResult = resultFor(policy.audit);
    if (!auditResult.allowed) {
      annotations[`${LABELS.audit}-violations`] = `would violate PodSecurity "${
        levelVersionString(policy.audit)
      }": ${forbiddenDetail(auditResult)}`;
    }
    if (denied) {
      audit(attrs, annotations);
      throw denied;
    }
    const warnResult = resultFor(policy.warn);
    if (!warnResult.allowed) {
      attrs.warnings.push(
        `would violate PodSecurity "${levelVersionString(policy.warn)}": ${
          forbiddenDetail(warnResult)
        }`,
      );
    }
    audit(attrs, annotations);
  };

  const validatePod = (attrs: AdmissionAttributes) => {
    if (exempt.has(attrs.namespace ?? "")) return;
    const ns = deps.namespace(attrs.namespace ?? "");
    const { policy, errors } = policyToEvaluate(ns?.metadata.labels, defaults);
    if (errors.length === 0 && fullyPrivileged(policy)) return;
    if (
      attrs.operation === "UPDATE" && attrs.oldObject &&
      !imagesChanged(attrs.object, attrs.oldObject)
    ) return;
    const view = podSpecOf("pods", attrs.object)!;
    evaluateObject(attrs, { metadata: view.metadata, spec: view.spec }, { enforce: true });
  };

  const validateController = (attrs: AdmissionAttributes) => {
    if (exempt.has(attrs.namespace ?? "")) return;
    const ns = deps.namespace(attrs.namespace ?? "");
    const { policy, errors } = policyToEvaluate(ns?.metadata.labels, defaults);
    if (
      errors.length === 0 && policy.warn.level === "privileged" &&
      policy.audit.level === "privileged"
    ) return;
    const view = podSpecOf(attrs.resource, attrs.object);
    if (!view) return;
    evaluateObject(attrs, { metadata: view.metadata, spec: view.spec }, { enforce: false });
  };

  const validateNamespace = (attrs: AdmissionAttributes) => {
    const name = attrs.object.metadata.name ?? "";
    const labels = attrs.object.metadata.labels;
    const next = policyToEvaluate(labels, defaults);
    const invalid = () =>
      new InvalidError({ kind: "Namespace", resource: "namespaces", name }, next.errors);
    if (attrs.operation === "CREATE") {
      if (next.errors.length > 0) throw invalid();
      if (exempt.has(name)) pushExemptWarning(attrs, next.policy, labels);
      return;
    }
    const old = policyToEvaluate(attrs.oldObject?.metadata.labels, defaults);
    if (
      next.errors.length > 0 &&
      (old.errors.length === 0 || JSON.stringify(next.errors) !== JSON.stringify(old.errors))
    ) throw invalid();
    const [n, o] = [next.policy.enforce, old.policy.enforce];
    if (n.level === o.level && versionString(n.version) === versionString(o.version)) return;
    if (n.level === "privileged") return;
    if (
      versionString(n.version) === versionString(o.version) && compareLevels(n.level, o.level) < 1
    ) return;
    if (exempt.has(name)) {
      pushExemptWarning(attrs, next.policy, labels);
      return;
    }
    attrs.warnings.push(...checkExistingPods(name, n));
  };

  const pushExemptWarning = (
    attrs: AdmissionAttributes,
    policy: Policy,
    labels: Record<string, string> | undefined,
  ) => {
    if (
      fullyPrivileged(policy) ||
      (equivalent(policy.enforce, defaults.enforce) && equivalent(policy.audit, defaults.audit) &&
        equivalent(policy.warn, defaults.warn))
    ) return;
    const has = (k: string) => labels !== undefined && Object.hasOwn(labels, k);
    const parts: string[] = [];
    const modes = [
      ["enforce", policy.enforce, LABELS.enforce, LABELS.enforceVersion],
      ["audit", policy.audit, LABELS.audit, LABELS.auditVersion],
      ["warn", policy.warn, LABELS.warn, LABELS.warnVersion],
    ] as const;
    for (const [mode, lv, levelLabel, versionLabel] of modes) {
      if (lv.level !== "privileged" && (has(levelLabel) || has(versionLabel))) {
        parts.push(`${mode}=${levelVersionString(lv)}`);
      }
    }
    attrs.warnings.push(
      `namespace ${
        JSON.stringify(attrs.object.metadata.name)
      } is exempt from Pod Security, and the policy (${parts.join(", ")}) will be ignored`,
    );
  };

  /** Upstream `EvaluatePodsInNamespace`: one warning per distinct violation, with pod names. */
  const checkExistingPods = (namespace: string, enforce: LevelVersion): string[] => {
    const deadline = Date.now() + NAMESPACE_CHECK_MS;
    const pods = prioritizePods(deps.pods(namespace));
    const total = pods.length;
    const toCheck = pods.slice(0, NAMESPACE_MAX_PODS);
    let checked = toCheck.length;
    const seen = new Map<string, { podName: string; count: number }>();
    const order: string[] = [];
    for (const [i, pod] of toCheck.entries()) {
      const r = evaluate(enforce, pod);
      if (!r.allowed) {
        const warning = forbiddenReason(r);
        const c = seen.get(warning);
        const name = pod.metadata.name ?? "";
        if (!c) {
          seen.set(warning, { podName: name, count: 1 });
          order.push(warning);
        } else {
          if (name < c.podName) c.podName = name;
          c.count++;
        }
      }
      if (Date.now() > deadline) {
        checked = i + 1;
        break;
      }
    }
    const warnings: string[] = [];
    if (checked < total) {
      warnings.push(
        `new PodSecurity enforce level only checked against the first ${checked} of ${total} existing pods`,
      );
    }
    if (order.length > 0) {
      warnings.push(
        `existing pods in namespace ${JSON.stringify(namespace)} violate the new PodSecurity ` +
          `enforce level ${JSON.stringify(levelVersionString(enforce))}`,
      );
    }
    const decorated = order.map((w) => {
      const c = seen.get(w)!;
      if (c.count === 1) return `${c.podName}: ${w}`;
      if (c.count === 2) return `${c.podName} (and 1 other pod): ${w}`;
      return `${c.podName} (and ${c.count - 1} other pods): ${w}`;
    }).sort();
    return [...warnings, ...decorated];
  };

  return (attrs) => {
    if (attrs.group === "" && attrs.resource === "namespaces") validateNamespace(attrs);
    else if (attrs.group === "" && attrs.resource === "pods") validatePod(attrs);
    else if (isPodController(attrs.resource)) validateController(attrs);
  };
}

function describe(errors: StatusCause[]): string {
  const list = errors.map((e) => `${e.field}: ${e.message}`);
  return list.length === 1 ? list[0] : `[${list.join(", ")}]`;
}

/** Only an image change makes a pod update worth checking (all else is immutable or harmless). */
function imagesChanged(pod: KubeObject, old: KubeObject): boolean {
  const images = (
    p: KubeObject,
    list: string,
  ) => ((p.spec?.[list] as { name: string; image?: string }[] | undefined) ?? []);
  for (const list of ["containers", "initContainers"]) {
    const a = images(pod, list);
    const b = images(old, list);
    if (a.length !== b.length) return true;
    if (a.some((c, i) => c.image !== b[i].image)) return true;
  }
  const oldEphemeral = new Map(
    images(old, "ephemeralContainers").map((c) => [c.name, c.image] as const),
  );
  return images(pod, "ephemeralContainers").some((c) =>
    !oldEphemeral.has(c.name) || oldEphemeral.get(c.name) !== c.image
  );
}

/** One pod per controller first, then the other replicas (upstream's `prioritizePods`). */
function prioritizePods(pods: KubeObject[]): KubeObject[] {
  const first: KubeObject[] = [];
  const rest: KubeObject[] = [];
  const seenControllers = new Set<string>();
  for (const pod of pods) {
    const owner = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (!owner) first.push(pod);
    else if (seenControllers.has(owner.uid)) rest.push(pod);
    else {
      seenControllers.add(owner.uid);
      first.push(pod);
    }
  }
  return [...first, ...rest];
}
