/**
 * The vocabulary of Pod Security admission, as Kubernetes defines it: the three levels
 * (`privileged` < `baseline` < `restricted`), policy versions (`latest` or `v1.N`), the
 * `pod-security.kubernetes.io/{enforce,audit,warn}[-version]` namespace labels, and how a
 * namespace's labels and the cluster's defaults resolve to the policy a pod is checked against.
 */
import type { StatusCause } from "../../shared/errors.ts";
import { formatValue } from "../../shared/api/field_errors.ts";

/** A Pod Security Standards level. */
export type Level = "privileged" | "baseline" | "restricted";

const LEVELS: readonly Level[] = ["privileged", "baseline", "restricted"];

/** A policy version: `latest`, or Kubernetes minor version 1.N. */
export type Version = { latest: true } | { latest: false; minor: number };

/** The newest policy version Skiff knows: it reports Kubernetes v1.32, so `latest` is 1.32. */
export const EMULATED_MINOR = 32;

/** The `latest` version. */
export const LATEST: Version = { latest: true };

/** A level at a version, e.g. `baseline:latest`. */
export interface LevelVersion {
  level: Level;
  version: Version;
}

/** The three modes of a namespace's policy. */
export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

const PREFIX = "pod-security.kubernetes.io/";
/** The namespace labels, by mode. */
export const LABELS = {
  enforce: `${PREFIX}enforce`,
  enforceVersion: `${PREFIX}enforce-version`,
  audit: `${PREFIX}audit`,
  auditVersion: `${PREFIX}audit-version`,
  warn: `${PREFIX}warn`,
  warnVersion: `${PREFIX}warn-version`,
} as const;

/** `v1.25` or `latest`. */
export function versionString(v: Version): string {
  return v.latest ? "latest" : `v1.${v.minor}`;
}

/** `baseline:latest`. */
export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${versionString(lv.version)}`;
}

/** Parses a level; invalid values give `restricted` and an error, as Kubernetes does. */
export function parseLevel(value: string): { level: Level; error?: string } {
  if ((LEVELS as readonly string[]).includes(value)) return { level: value as Level };
  return { level: "restricted", error: `must be one of ${LEVELS.join(", ")}` };
}

/** Parses a version; invalid values give `latest` and an error. */
export function parseVersion(value: string): { version: Version; error?: string } {
  if (value === "latest") return { version: LATEST };
  const m = /^v1\.(0|[1-9][0-9]*)$/.exec(value);
  if (!m || !Number.isSafeInteger(Number(m[1]))) {
    return { version: LATEST, error: 'must be "latest" or "v1.x"' };
  }
  return { version: { latest: false, minor: Number(m[1]) } };
}

/** -1, 0 or 1 as `a` is less strict than, as strict as, or stricter than `b`. */
export function compareLevels(a: Level, b: Level): number {
  return Math.sign(LEVELS.indexOf(a) - LEVELS.indexOf(b));
}

/** The minor version checks are evaluated at (`latest` and future versions: the newest known). */
export function effectiveMinor(v: Version): number {
  return v.latest ? EMULATED_MINOR : Math.min(v.minor, EMULATED_MINOR);
}

/** Two level-versions behave the same (both privileged, or equal). */
export function equivalent(a: LevelVersion, b: LevelVersion): boolean {
  return (a.level === "privileged" && b.level === "privileged") ||
    (a.level === b.level && versionString(a.version) === versionString(b.version));
}

/** Every mode is privileged: nothing to check. */
export function fullyPrivileged(p: Policy): boolean {
  return p.enforce.level === "privileged" && p.audit.level === "privileged" &&
    p.warn.level === "privileged";
}

/**
 * The policy of a namespace with these labels, falling back to `defaults` for each label not
 * set. A policy is always returned; label errors come with it as `metadata.labels[...]` causes
 * (an invalid enforce level means `restricted`; invalid audit/warn levels fail open to
 * `privileged`). An explicit enforce level stricter than warn raises warn to it.
 */
export function policyToEvaluate(
  labels: Record<string, string> | undefined,
  defaults: Policy,
): { policy: Policy; errors: StatusCause[] } {
  const p: Policy = {
    enforce: { ...defaults.enforce },
    audit: { ...defaults.audit },
    warn: { ...defaults.warn },
  };
  const errors: StatusCause[] = [];
  if (!labels || Object.keys(labels).length === 0) return { policy: p, errors };
  const fail = (label: string, value: string, error?: string) => {
    if (!error) return;
    errors.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${formatValue(value)}: ${error}`,
      field: `metadata.labels[${label}]`,
    });
  };
  let hasEnforceLevel = false;
  let hasWarnLevel = false;
  let hasWarnVersion = false;
  const get = (k: string) => Object.hasOwn(labels, k) ? labels[k] : undefined;
  const enforce = get(LABELS.enforce);
  if (enforce !== undefined) {
    const r = parseLevel(enforce);
    p.enforce.level = r.level;
    hasEnforceLevel = !r.error;
    fail(LABELS.enforce, enforce, r.error);
  }
  const enforceVersion = get(LABELS.enforceVersion);
  if (enforceVersion !== undefined) {
    const r = parseVersion(enforceVersion);
    p.enforce.version = r.version;
    fail(LABELS.enforceVersion, enforceVersion, r.error);
  }
  const audit = get(LABELS.audit);
  if (audit !== undefined) {
    const r = parseLevel(audit);
    p.audit.level = r.error ? "privileged" : r.level;
    fail(LABELS.audit, audit, r.error);
  }
  const auditVersion = get(LABELS.auditVersion);
  if (auditVersion !== undefined) {
    const r = parseVersion(auditVersion);
    p.audit.version = r.version;
    fail(LABELS.auditVersion, auditVersion, r.error);
  }
  const warn = get(LABELS.warn);
  if (warn !== undefined) {
    hasWarnLevel = true;
    const r = parseLevel(warn);
    p.warn.level = r.error ? "privileged" : r.level;
    fail(LABELS.warn, warn, r.error);
  }
  const warnVersion = get(LABELS.warnVersion);
  if (warnVersion !== undefined) {
    hasWarnVersion = true;
    const r = parseVersion(warnVersion);
    p.warn.version = r.version;
    fail(LABELS.warnVersion, warnVersion, r.error);
  }
  if (!hasWarnLevel && hasEnforceLevel && compareLevels(p.enforce.level, p.warn.level) > 0) {
    p.warn.level = p.enforce.level;
    if (!hasWarnVersion) p.warn.version = p.enforce.version;
  }
  return { policy: p, errors };
}
