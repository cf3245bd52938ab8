/** coordination.k8s.io/v1 Lease: node heartbeats and leader election. */
import { z } from "zod";
import { Int32, ObjectMeta, Time, TypeMeta } from "./meta.ts";

/** Lease spec. */
export const LeaseSpec = z.object({
  holderIdentity: z.string().optional(),
  leaseDurationSeconds: Int32.optional(),
  acquireTime: Time.optional(),
  renewTime: Time.optional(),
  leaseTransitions: Int32.optional(),
  strategy: z.string().optional(),
  preferredHolder: z.string().optional(),
});
export type LeaseSpec = z.infer<typeof LeaseSpec>;

/** coordination.k8s.io/v1 Lease. */
export const Lease = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: LeaseSpec.default({}),
}).meta({
  id: "io.k8s.api.coordination.v1.Lease",
  description: "Lease is a time-bound claim, used for node heartbeats and leader election.",
  "x-kubernetes-group-version-kind": [
    { group: "coordination.k8s.io", version: "v1", kind: "Lease" },
  ],
});
export type Lease = z.infer<typeof Lease>;
