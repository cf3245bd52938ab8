/**
 * apiextensions.k8s.io/v1 CustomResourceDefinition: a new kind served at run time (its group,
 * names, scope, versions with their structural `openAPIV3Schema`, subresources and printer
 * columns). The schema itself is kept as given (`x-kubernetes-preserve-unknown-fields` in the
 * published OpenAPI) and checked by the server's structural-schema rules
 * (server/apiextensions/).
 */
import { z } from "zod";
import { Condition, Int64, ObjectMeta, TypeMeta } from "./meta.ts";

/** The names a CRD's kind is served under. */
export const CustomResourceDefinitionNames = z.object({
  plural: z.string(),
  singular: z.string().optional(),
  kind: z.string(),
  listKind: z.string().optional(),
  shortNames: z.array(z.string()).optional(),
  categories: z.array(z.string()).optional(),
});
export type CustomResourceDefinitionNames = z.infer<typeof CustomResourceDefinitionNames>;

/** The `scale` subresource: where replicas and the selector live in the custom resource. */
export const CustomResourceSubresourceScale = z.object({
  specReplicasPath: z.string(),
  statusReplicasPath: z.string(),
  labelSelectorPath: z.string().optional(),
});

/** One additionalPrinterColumns[] entry: a column of `kubectl get`. */
export const CustomResourceColumnDefinition = z.object({
  name: z.string(),
  type: z.string(),
  format: z.string().optional(),
  description: z.string().optional(),
  priority: z.int().optional(),
  jsonPath: z.string(),
});
export type CustomResourceColumnDefinition = z.infer<typeof CustomResourceColumnDefinition>;

/** One served version of the kind. */
export const CustomResourceDefinitionVersion = z.object({
  name: z.string(),
  served: z.boolean(),
  storage: z.boolean(),
  deprecated: z.boolean().optional(),
  deprecationWarning: z.string().optional(),
  schema: z.object({
    openAPIV3Schema: z.looseObject({}).meta({ "x-kubernetes-preserve-unknown-fields": true })
      .optional(),
  }).optional(),
  subresources: z.object({
    status: z.looseObject({}).optional(),
    scale: CustomResourceSubresourceScale.optional(),
  }).optional(),
  additionalPrinterColumns: z.array(CustomResourceColumnDefinition).optional(),
});
export type CustomResourceDefinitionVersion = z.infer<typeof CustomResourceDefinitionVersion>;

/** apiextensions.k8s.io/v1 CustomResourceDefinition. */
export const CustomResourceDefinition = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: z.object({
    group: z.string(),
    names: CustomResourceDefinitionNames,
    scope: z.enum(["Namespaced", "Cluster"]),
    versions: z.array(CustomResourceDefinitionVersion),
    conversion: z.object({
      strategy: z.enum(["None", "Webhook"]).default("None"),
      webhook: z.looseObject({}).optional(),
    }).default({ strategy: "None" }),
    preserveUnknownFields: z.boolean().optional(),
  }),
  status: z.object({
    conditions: z.array(Condition).optional(),
    acceptedNames: CustomResourceDefinitionNames.partial().optional(),
    storedVersions: z.array(z.string()).optional(),
    observedGeneration: Int64.optional(),
  }).optional(),
}).meta({
  id: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
  description:
    "CustomResourceDefinition represents a resource that should be exposed on the API server.",
  "x-kubernetes-group-version-kind": [
    { group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition" },
  ],
});
export type CustomResourceDefinition = z.infer<typeof CustomResourceDefinition>;
