/**
 * Which resources the server stores: every entry of the shared resource table except the
 * read-only metrics API, whose objects are computed on request from the agents' readings, and the
 * review APIs (TokenReview, SelfSubjectReview, authorization.k8s.io), answered on request and
 * never stored.
 */
import { RESOURCES } from "../../shared/api/resources.ts";
import type { ResourceEntry } from "../../shared/api/resources.ts";

/** Groups served by something other than the generic registry. */
const COMPUTED_GROUPS = new Set([
  "metrics.k8s.io",
  "authentication.k8s.io",
  "authorization.k8s.io",
]);
/** Kinds answered on request and never stored (the review APIs). */
const COMPUTED_KINDS = new Set(["SelfSubjectReview"]);

/** The stored resources, in discovery order. */
export function storedResources(): ResourceEntry[] {
  return RESOURCES.filter((r) => !COMPUTED_GROUPS.has(r.group) && !COMPUTED_KINDS.has(r.kind));
}

/** Every resource discovery advertises (stored and computed). */
export function servedResources(): ResourceEntry[] {
  return [...RESOURCES];
}
