/**
 * Which resources the server stores: every entry of the shared resource table except the
 * read-only metrics API, whose objects are computed on request from the agents' readings.
 */
import { RESOURCES } from "../../shared/api/resources.ts";
import type { ResourceEntry } from "../../shared/api/resources.ts";

/** Groups served by something other than the generic registry. */
const COMPUTED_GROUPS = new Set(["metrics.k8s.io"]);

/** The stored resources, in discovery order. */
export function storedResources(): ResourceEntry[] {
  return RESOURCES.filter((r) => !COMPUTED_GROUPS.has(r.group));
}

/** Every resource discovery advertises (stored and computed). */
export function servedResources(): ResourceEntry[] {
  return [...RESOURCES];
}
