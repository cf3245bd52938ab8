/**
 * authentication.k8s.io/v1: TokenRequest (the body and answer of a ServiceAccount's `token`
 * subresource) and TokenReview (asks the server who a bearer token belongs to). Neither is
 * stored: both are computed on create, as in kube-apiserver.
 */
import { z } from "zod";
import { Int64, ObjectMeta, Time, TypeMeta } from "./meta.ts";

const gvk = (kind: string) => ({
  "x-kubernetes-group-version-kind": [{ group: "authentication.k8s.io", version: "v1", kind }],
});

/** The object a token is bound to: the token is valid only while it exists with this uid. */
export const BoundObjectReference = z.object({
  kind: z.string().optional(),
  apiVersion: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
}).meta({ id: "io.k8s.api.authentication.v1.BoundObjectReference" });
export type BoundObjectReference = z.infer<typeof BoundObjectReference>;

/** authentication.k8s.io/v1 TokenRequest. */
export const TokenRequest = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({
    audiences: z.array(z.string()).default([]),
    expirationSeconds: Int64.optional(),
    boundObjectRef: BoundObjectReference.optional(),
  }).prefault({}),
  status: z.object({
    token: z.string(),
    expirationTimestamp: Time,
  }).optional(),
}).meta({
  id: "io.k8s.api.authentication.v1.TokenRequest",
  description: "TokenRequest requests a token for a given service account.",
  ...gvk("TokenRequest"),
});
export type TokenRequest = z.infer<typeof TokenRequest>;

/** Who a token belongs to. */
export const UserInfo = z.object({
  username: z.string().optional(),
  uid: z.string().optional(),
  groups: z.array(z.string()).optional(),
  extra: z.record(z.string(), z.array(z.string())).optional(),
}).meta({ id: "io.k8s.api.authentication.v1.UserInfo" });
export type UserInfo = z.infer<typeof UserInfo>;

/** authentication.k8s.io/v1 TokenReview. */
export const TokenReview = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({
    token: z.string().optional(),
    audiences: z.array(z.string()).optional(),
  }),
  status: z.object({
    authenticated: z.boolean().optional(),
    user: UserInfo.optional(),
    audiences: z.array(z.string()).optional(),
    error: z.string().optional(),
  }).optional(),
}).meta({
  id: "io.k8s.api.authentication.v1.TokenReview",
  description: "TokenReview attempts to authenticate a token to a known user.",
  ...gvk("TokenReview"),
});
export type TokenReview = z.infer<typeof TokenReview>;
