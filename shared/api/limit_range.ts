/**
 * core/v1 LimitRange: per-namespace bounds and defaults for the resources of containers, pods and
 * PersistentVolumeClaims. The LimitRanger admission plugin (server/admission/limit_ranger.ts)
 * fills in containers' missing requests and limits from `defaultRequest`/`default` and refuses
 * what falls outside `min`/`max`/`maxLimitRequestRatio`. Validation follows kube-apiserver's
 * ValidateLimitRange, with its messages.
 */
import { z } from "zod";
import { ObjectMeta, TypeMeta } from "./meta.ts";
import { parseQuantity, ResourceList } from "./quantity.ts";
import type { FieldErrors } from "./field_errors.ts";

/** The kinds of object a limit applies to. */
export const LIMIT_TYPES = ["Container", "Pod", "PersistentVolumeClaim"] as const;

/** One limit: the bounds and defaults for one type of object. */
export const LimitRangeItem = z.object({
  type: z.string(),
  max: ResourceList.optional(),
  min: ResourceList.optional(),
  default: ResourceList.optional(),
  defaultRequest: ResourceList.optional(),
  maxLimitRequestRatio: ResourceList.optional(),
}).meta({
  id: "io.k8s.api.core.v1.LimitRangeItem",
  description: "The resource bounds and defaults for one kind of object (Container, Pod, " +
    "PersistentVolumeClaim).",
});
export type LimitRangeItem = z.infer<typeof LimitRangeItem>;

/** core/v1 LimitRange. */
export const LimitRange = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({ limits: z.array(LimitRangeItem) }).prefault({ limits: [] }),
}).meta({
  id: "io.k8s.api.core.v1.LimitRange",
  description: "LimitRange sets resource usage limits for each kind of resource in a Namespace.",
  "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "LimitRange" }],
});
export type LimitRange = z.infer<typeof LimitRange>;

type Obj = Record<string, unknown>;

/** kube-apiserver's ValidateLimitRange on a parsed object. */
export function validateLimitRange(obj: Obj, errs: FieldErrors): void {
  const limits = ((obj.spec as Obj | undefined)?.limits ?? []) as LimitRangeItem[];
  const seenTypes = new Set<string>();
  limits.forEach((item, i) => {
    const f = `spec.limits[${i}]`;
    if (!item.type) errs.required(`${f}.type`);
    else if (!(LIMIT_TYPES as readonly string[]).includes(item.type)) {
      errs.notSupported(`${f}.type`, item.type, LIMIT_TYPES);
    } else if (seenTypes.has(item.type)) errs.duplicate(`${f}.type`, item.type);
    else seenTypes.add(item.type);
    if (item.type === "Pod") {
      if (item.default && Object.keys(item.default).length > 0) {
        errs.forbidden(`${f}.default`, "may not be specified when `type` is 'Pod'");
      }
      if (item.defaultRequest && Object.keys(item.defaultRequest).length > 0) {
        errs.forbidden(`${f}.defaultRequest`, "may not be specified when `type` is 'Pod'");
      }
    }
    const at = (list: Record<string, unknown> | undefined, r: string) =>
      list?.[r] === undefined ? undefined : parseQuantity(list[r] as string);
    const text = (list: Record<string, unknown> | undefined, r: string) => String(list?.[r]);
    const names = new Set([
      ...Object.keys(item.max ?? {}),
      ...Object.keys(item.min ?? {}),
      ...Object.keys(item.default ?? {}),
      ...Object.keys(item.defaultRequest ?? {}),
      ...Object.keys(item.maxLimitRequestRatio ?? {}),
    ]);
    for (const r of names) {
      const max = at(item.max, r);
      const min = at(item.min, r);
      const dflt = at(item.default, r);
      const req = at(item.defaultRequest, r);
      const ratio = at(item.maxLimitRequestRatio, r);
      if (min !== undefined && max !== undefined && min > max) {
        errs.invalid(
          `${f}.min[${r}]`,
          text(item.min, r),
          `min value ${text(item.min, r)} is greater than max value ${text(item.max, r)}`,
        );
      }
      if (req !== undefined && min !== undefined && min > req) {
        errs.invalid(
          `${f}.defaultRequest[${r}]`,
          text(item.defaultRequest, r),
          `min value ${text(item.min, r)} is greater than default request value ${
            text(item.defaultRequest, r)
          }`,
        );
      }
      if (req !== undefined && max !== undefined && req > max) {
        errs.invalid(
          `${f}.defaultRequest[${r}]`,
          text(item.defaultRequest, r),
          `default request value ${text(item.defaultRequest, r)} is greater than max value ${
            text(item.max, r)
          }`,
        );
      }
      if (req !== undefined && dflt !== undefined && req > dflt) {
        errs.invalid(
          `${f}.defaultRequest[${r}]`,
          text(item.defaultRequest, r),
          `default request value ${
            text(item.defaultRequest, r)
          } is greater than default limit value ${text(item.default, r)}`,
        );
      }
      if (dflt !== undefined && min !== undefined && min > dflt) {
        errs.invalid(
          `${f}.default[${r}]`,
          text(item.default, r),
          `min value ${text(item.min, r)} is greater than default value ${text(item.default, r)}`,
        );
      }
      if (dflt !== undefined && max !== undefined && dflt > max) {
        errs.invalid(
          `${f}.default[${r}]`,
          text(item.default, r),
          `default value ${text(item.default, r)} is greater than max value ${text(item.max, r)}`,
        );
      }
      if (ratio !== undefined && ratio < 1) {
        errs.invalid(
          `${f}.maxLimitRequestRatio[${r}]`,
          text(item.maxLimitRequestRatio, r),
          "ratio must be greater than or equal to 1",
        );
      }
      if (ratio !== undefined && max !== undefined && min !== undefined && min > 0) {
        if (ratio > max / min) {
          errs.invalid(
            `${f}.maxLimitRequestRatio[${r}]`,
            text(item.maxLimitRequestRatio, r),
            `ratio ${text(item.maxLimitRequestRatio, r)} is greater than max/min = ${
              formatRatio(max / min)
            }`,
          );
        }
      }
    }
  });
}

function formatRatio(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(6).replace(/0+$/, "");
}
