/**
 * The review kinds: authorization.k8s.io/v1 SubjectAccessReview, LocalSubjectAccessReview,
 * SelfSubjectAccessReview and SelfSubjectRulesReview ("may X do Y?", "what may I do here?")
 * and authentication.k8s.io/v1 SelfSubjectReview ("who am I?"). They are create-only and never
 * stored: the server answers each in its `status` (server/api/access_review.ts).
 */
import { z } from "zod";
import { ObjectMeta, TypeMeta } from "./meta.ts";

/** The resource request a review asks about. */
export const ResourceAttributes = z.object({
  namespace: z.string().optional(),
  verb: z.string().optional(),
  group: z.string().optional(),
  version: z.string().optional(),
  resource: z.string().optional(),
  subresource: z.string().optional(),
  name: z.string().optional(),
}).meta({ id: "io.k8s.api.authorization.v1.ResourceAttributes" });
export type ResourceAttributes = z.infer<typeof ResourceAttributes>;

/** The non-resource request (a URL path) a review asks about. */
export const NonResourceAttributes = z.object({
  path: z.string().optional(),
  verb: z.string().optional(),
}).meta({ id: "io.k8s.api.authorization.v1.NonResourceAttributes" });
export type NonResourceAttributes = z.infer<typeof NonResourceAttributes>;

const Extra = z.record(z.string(), z.array(z.string()));

/** A review's answer. */
export const SubjectAccessReviewStatus = z.object({
  allowed: z.boolean(),
  denied: z.boolean().optional(),
  reason: z.string().optional(),
  evaluationError: z.string().optional(),
}).meta({ id: "io.k8s.api.authorization.v1.SubjectAccessReviewStatus" });
export type SubjectAccessReviewStatus = z.infer<typeof SubjectAccessReviewStatus>;

function gvk(group: string, kind: string) {
  return { "x-kubernetes-group-version-kind": [{ group, version: "v1", kind }] };
}
const AUTHZ = "authorization.k8s.io";

const SubjectAccessReviewSpec = z.object({
  resourceAttributes: ResourceAttributes.optional(),
  nonResourceAttributes: NonResourceAttributes.optional(),
  user: z.string().optional(),
  groups: z.array(z.string()).optional(),
  extra: Extra.optional(),
  uid: z.string().optional(),
}).meta({ id: "io.k8s.api.authorization.v1.SubjectAccessReviewSpec" });

function subjectAccessReview(kind: string, description: string) {
  return z.object({
    ...TypeMeta,
    metadata: ObjectMeta.default({}),
    spec: SubjectAccessReviewSpec,
    status: SubjectAccessReviewStatus.optional(),
  }).meta({ id: `io.k8s.api.authorization.v1.${kind}`, description, ...gvk(AUTHZ, kind) });
}

/** May the given user do this? (cluster-scoped; needs `create subjectaccessreviews`). */
export const SubjectAccessReview = subjectAccessReview(
  "SubjectAccessReview",
  "SubjectAccessReview checks whether or not a user or group can perform an action.",
);
export type SubjectAccessReview = z.infer<typeof SubjectAccessReview>;

/** May the given user do this in this namespace? (the namespace of the URL). */
export const LocalSubjectAccessReview = subjectAccessReview(
  "LocalSubjectAccessReview",
  "LocalSubjectAccessReview checks whether a user or group can perform an action in a namespace.",
);

/** May I do this? (`kubectl auth can-i`). */
export const SelfSubjectAccessReview = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({
    resourceAttributes: ResourceAttributes.optional(),
    nonResourceAttributes: NonResourceAttributes.optional(),
  }).meta({ id: "io.k8s.api.authorization.v1.SelfSubjectAccessReviewSpec" }),
  status: SubjectAccessReviewStatus.optional(),
}).meta({
  id: "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
  description: "SelfSubjectAccessReview checks whether the current user can perform an action.",
  ...gvk(AUTHZ, "SelfSubjectAccessReview"),
});
export type SelfSubjectAccessReview = z.infer<typeof SelfSubjectAccessReview>;

/** What may I do in this namespace? (`kubectl auth can-i --list`). */
export const SelfSubjectRulesReview = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({ namespace: z.string().optional() }).meta({
    id: "io.k8s.api.authorization.v1.SelfSubjectRulesReviewSpec",
  }),
  status: z.object({
    resourceRules: z.array(z.object({
      verbs: z.array(z.string()),
      apiGroups: z.array(z.string()).optional(),
      resources: z.array(z.string()).optional(),
      resourceNames: z.array(z.string()).optional(),
    })),
    nonResourceRules: z.array(z.object({
      verbs: z.array(z.string()),
      nonResourceURLs: z.array(z.string()).optional(),
    })),
    incomplete: z.boolean(),
    evaluationError: z.string().optional(),
  }).optional(),
}).meta({
  id: "io.k8s.api.authorization.v1.SelfSubjectRulesReview",
  description: "SelfSubjectRulesReview enumerates the actions the current user can perform.",
  ...gvk(AUTHZ, "SelfSubjectRulesReview"),
});
export type SelfSubjectRulesReview = z.infer<typeof SelfSubjectRulesReview>;

/** Who am I? (`kubectl auth whoami`). */
export const SelfSubjectReview = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  status: z.object({
    userInfo: z.object({
      username: z.string().optional(),
      uid: z.string().optional(),
      groups: z.array(z.string()).optional(),
      extra: Extra.optional(),
    }).optional(),
  }).optional(),
}).meta({
  id: "io.k8s.api.authentication.v1.SelfSubjectReview",
  description: "SelfSubjectReview contains the user information the server has for the caller.",
  ...gvk("authentication.k8s.io", "SelfSubjectReview"),
});
export type SelfSubjectReview = z.infer<typeof SelfSubjectReview>;
