/**
 * Request and response bodies that are not stored kinds: autoscaling/v1 Scale, policy/v1
 * Eviction, meta/v1 DeleteOptions and meta/v1 Status.
 */
import { z } from "zod";
import { Int32, Int64, ObjectMeta, TypeMeta } from "./meta.ts";

/** meta/v1 DeleteOptions: the optional body of a DELETE (and of an Eviction). */
export const DeleteOptions = z.object({
  ...TypeMeta,
  gracePeriodSeconds: Int64.optional(),
  preconditions: z.object({
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
  }).optional(),
  orphanDependents: z.boolean().optional(),
  propagationPolicy: z.enum(["Orphan", "Background", "Foreground"]).optional(),
  dryRun: z.array(z.string()).optional(),
}).meta({
  id: "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
  description: "DeleteOptions may be sent with a DELETE request.",
  "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "DeleteOptions" }],
});
export type DeleteOptions = z.infer<typeof DeleteOptions>;

/** autoscaling/v1 Scale: the `scale` subresource of Deployments, ReplicaSets and RCs. */
export const Scale = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({ replicas: Int32.optional() }).default({}),
  status: z.object({
    replicas: Int32.default(0),
    selector: z.string().optional(),
  }).prefault({}),
}).meta({
  id: "io.k8s.api.autoscaling.v1.Scale",
  description: "Scale is the replica count of a scalable resource.",
  "x-kubernetes-group-version-kind": [{ group: "autoscaling", version: "v1", kind: "Scale" }],
});
export type Scale = z.infer<typeof Scale>;

/** policy/v1 Eviction: the body POSTed to `pods/{name}/eviction` (kubectl drain). */
export const Eviction = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  deleteOptions: DeleteOptions.optional(),
}).meta({
  id: "io.k8s.api.policy.v1.Eviction",
  description: "Eviction asks for a pod to be deleted, respecting its graceful termination.",
  "x-kubernetes-group-version-kind": [{ group: "policy", version: "v1", kind: "Eviction" }],
});
export type Eviction = z.infer<typeof Eviction>;

/** meta/v1 Status (shared/errors.ts builds these; this schema parses one). */
export const StatusSchema = z.object({
  ...TypeMeta,
  metadata: z.looseObject({}).default({}),
  status: z.string().optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  details: z.object({
    name: z.string().optional(),
    group: z.string().optional(),
    kind: z.string().optional(),
    uid: z.string().optional(),
    causes: z.array(z.object({
      reason: z.string().optional(),
      message: z.string().optional(),
      field: z.string().optional(),
    })).optional(),
    retryAfterSeconds: Int32.optional(),
  }).optional(),
  code: Int32.optional(),
}).meta({
  id: "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
  "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "Status" }],
});
