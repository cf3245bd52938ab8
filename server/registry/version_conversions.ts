/**
 * Built-in kinds served in more than one version from one storage, and how each served version
 * converts to the stored one — as kube-apiserver serves autoscaling/v1 HorizontalPodAutoscalers
 * from the autoscaling/v2 objects it stores. The first entry of a kind in the resource table is
 * its storage version; the versions listed here are served beside it.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceInfo } from "../../shared/api/resource_info.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import { autoscalerFromV1, autoscalerToV1 } from "../../shared/api/autoscaling_v1.ts";
import type { VersionConversion } from "./resource_store.ts";

const CONVERSIONS: Readonly<Record<string, VersionConversion>> = {
  "autoscaling/v1/HorizontalPodAutoscaler": {
    toServed: (obj) => autoscalerToV1(obj) as KubeObject,
    toStorage: (obj) => autoscalerFromV1(obj) as KubeObject,
  },
};

/** The conversion of a served version that is not its kind's storage version. */
export function versionConversion(info: ResourceInfo): VersionConversion | undefined {
  return CONVERSIONS[`${apiVersionOf(info)}/${info.kind}`];
}
