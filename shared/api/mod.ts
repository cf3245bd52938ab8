/**
 * The Kubernetes API types of Skiff: zod schemas (the single source of the types), the resource
 * table, validation and defaults, and quantities. Import from here:
 *
 * ```ts
 * import { type Pod, RESOURCES, parseQuantity, validateCreate } from "../shared/api/mod.ts";
 * ```
 */
export * from "./meta.ts";
export * from "./quantity.ts";
export * from "./core_v1.ts";
export * from "./apps_v1.ts";
export * from "./batch_v1.ts";
export * from "./policy_v1.ts";
export * from "./coordination_v1.ts";
export * from "./discovery_v1.ts";
export * from "./meta_v1_misc.ts";
export * from "./metrics_v1beta1.ts";
export * from "./resources.ts";
export * from "./resource_info.ts";
export * from "./defaults.ts";
export * from "./field_errors.ts";
export * from "./validation.ts";
export type { KubeList, KubeObject, WatchEvent } from "./object.ts";
export { objectKey, splitKey } from "./object.ts";
