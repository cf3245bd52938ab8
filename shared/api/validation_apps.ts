/**
 * Validation of the apps/v1 kinds DaemonSets and StatefulSets add (and ControllerRevision
 * updates), as kube-apiserver's apps validation: the selector must be non-empty and match the
 * template; update strategies and their parameters; which StatefulSet spec fields may change.
 */
import { FieldErrors } from "./field_errors.ts";
import { validatePersistentVolumeClaim } from "./storage_validation.ts";
import {
  labelSelectorMatcher,
  validateIntOrPercent,
  validateNonNegative,
  validateTemplate,
} from "./validation_rules.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** spec of an apps/v1 DaemonSet. */
export function validateDaemonSet(ds: Obj, errs: FieldErrors): void {
  const spec = ds.spec;
  const matches = labelSelectorMatcher(spec.selector, "spec.selector", errs);
  validateTemplate(spec.template, "spec.template", errs, matches);
  validateNonNegative(spec.minReadySeconds, "spec.minReadySeconds", errs);
  validateNonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit", errs);
  const strategy = spec.updateStrategy;
  if (strategy.type === "OnDelete" && strategy.rollingUpdate) {
    errs.forbidden(
      "spec.updateStrategy.rollingUpdate",
      "may not be specified when strategy `type` is 'OnDelete'",
    );
  }
  if (strategy.type === "RollingUpdate") {
    const ru = strategy.rollingUpdate ?? {};
    const f = "spec.updateStrategy.rollingUpdate";
    const unavailableZero = validateIntOrPercent(ru.maxUnavailable, `${f}.maxUnavailable`, errs);
    const surgeZero = validateIntOrPercent(ru.maxSurge, `${f}.maxSurge`, errs);
    if (unavailableZero && surgeZero) {
      errs.invalid(`${f}.maxUnavailable`, ru.maxUnavailable, "may not be 0 when `maxSurge` is 0");
    }
  }
}

/** spec of an apps/v1 StatefulSet. */
export function validateStatefulSet(sts: Obj, errs: FieldErrors): void {
  const spec = sts.spec;
  validateNonNegative(spec.replicas, "spec.replicas", errs);
  validateNonNegative(spec.minReadySeconds, "spec.minReadySeconds", errs);
  validateNonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit", errs);
  validateNonNegative(spec.ordinals?.start, "spec.ordinals.start", errs);
  const matches = labelSelectorMatcher(spec.selector, "spec.selector", errs);
  // Containers mount the claims by template name: the controller adds those volumes to each pod.
  const claims: Obj[] = spec.volumeClaimTemplates ?? [];
  const template = spec.template && {
    ...spec.template,
    spec: {
      ...spec.template.spec,
      volumes: [
        ...(spec.template.spec?.volumes ?? []).filter((v: Obj) =>
          !claims.some((c) => c.metadata?.name === v.name)
        ),
        ...claims.map((c) => ({
          name: c.metadata?.name,
          persistentVolumeClaim: { claimName: c.metadata?.name },
        })),
      ],
    },
  };
  validateTemplate(template, "spec.template", errs, matches);
  const strategy = spec.updateStrategy;
  if (strategy.type === "OnDelete" && strategy.rollingUpdate) {
    errs.invalid(
      "spec.updateStrategy.rollingUpdate",
      strategy.rollingUpdate,
      "only allowed for updateStrategy 'RollingUpdate'",
    );
  }
  if (strategy.rollingUpdate) {
    validateNonNegative(
      strategy.rollingUpdate.partition,
      "spec.updateStrategy.rollingUpdate.partition",
      errs,
    );
    // Kubernetes 1.32 keeps maxUnavailable behind the (off by default) MaxUnavailableStatefulSet
    // gate; Skiff updates one pod at a time, so it refuses the field rather than ignoring it.
    if (strategy.rollingUpdate.maxUnavailable !== undefined) {
      errs.forbidden(
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "not supported: StatefulSet rolling updates replace one pod at a time",
      );
    }
  }
  validateVolumeClaimTemplates(spec, errs);
}

function validateVolumeClaimTemplates(spec: Obj, errs: FieldErrors): void {
  const seen = new Set<string>();
  (spec.volumeClaimTemplates as Obj[] | undefined)?.forEach((claim, i) => {
    const f = `spec.volumeClaimTemplates[${i}]`;
    const name = claim.metadata?.name;
    if (!name) errs.required(`${f}.metadata.name`);
    else if (seen.has(name)) errs.duplicate(`${f}.metadata.name`, name);
    else seen.add(name);
    // The claim's own rules, with field paths under the template.
    const inner = new FieldErrors();
    validatePersistentVolumeClaim(claim, inner);
    for (const c of inner.causes) errs.causes.push({ ...c, field: `${f}.${c.field}` });
  });
}

/** Which parts of a DaemonSet, StatefulSet or ControllerRevision may change on update. */
export function validateAppsUpdate(kind: string, next: Obj, old: Obj, errs: FieldErrors): void {
  if (kind === "ControllerRevision") {
    if (stable(next.data) !== stable(old.data)) errs.invalid("data", "", "field is immutable");
    return;
  }
  if (kind !== "StatefulSet") return;
  // Kubernetes lets only these StatefulSet spec fields change.
  const mutable = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
  ];
  const rest = (spec: Obj) =>
    stable(Object.fromEntries(Object.entries(spec ?? {}).filter(([k]) => !mutable.includes(k))));
  if (rest(next.spec) !== rest(old.spec)) {
    errs.forbidden(
      "spec",
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
  }
}

/** JSON with sorted keys and undefined fields left out. */
function stable(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${
    Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) =>
      `${JSON.stringify(k)}:${stable(o[k])}`
    ).join(",")
  }}`;
}
