/**
 * networking.k8s.io/v1 Ingress and IngressClass: HTTP(S) routes by host and path to Services,
 * served by every node's proxy for the built-in class `skiff` (controller `skiff.io/ingress`,
 * created at server start and marked as the default class).
 */
import { z } from "zod";
import { Int32, ObjectMeta, StringMap, TypeMeta } from "./meta.ts";

/** The annotation that marks an IngressClass as the default of Ingresses without a class. */
export const DEFAULT_INGRESS_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
/** The deprecated class annotation (`kubernetes.io/ingress.class`), still honoured. */
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
/** The built-in IngressClass Skiff's proxies serve. */
export const SKIFF_INGRESS_CLASS = "skiff";
/** The controller name of Skiff's ingress (the proxy on every node). */
export const SKIFF_INGRESS_CONTROLLER = "skiff.io/ingress";

/** A Service port by number or by name. */
export const ServiceBackendPort = z.object({
  name: z.string().optional(),
  number: Int32.optional(),
}).meta({ id: "io.k8s.api.networking.v1.ServiceBackendPort" });

/** Where matching requests go: a Service port, or (refused by Skiff) another resource. */
export const IngressBackend = z.object({
  service: z.object({ name: z.string(), port: ServiceBackendPort.optional() }).meta({
    id: "io.k8s.api.networking.v1.IngressServiceBackend",
  }).optional(),
  resource: z.object({
    apiGroup: z.string().optional(),
    kind: z.string(),
    name: z.string(),
  }).optional(),
}).meta({ id: "io.k8s.api.networking.v1.IngressBackend" });
export type IngressBackend = z.infer<typeof IngressBackend>;

/** How a path is matched. */
export const PathType = z.string();

/** One path of an HTTP rule. */
export const HTTPIngressPath = z.object({
  path: z.string().optional(),
  pathType: PathType.optional(),
  backend: IngressBackend,
}).meta({ id: "io.k8s.api.networking.v1.HTTPIngressPath" });
export type HTTPIngressPath = z.infer<typeof HTTPIngressPath>;

/** A host (exact or `*.wildcard`) and its paths. */
export const IngressRule = z.object({
  host: z.string().optional(),
  http: z.object({ paths: z.array(HTTPIngressPath).default([]) }).meta({
    id: "io.k8s.api.networking.v1.HTTPIngressRuleValue",
  }).optional(),
}).meta({ id: "io.k8s.api.networking.v1.IngressRule" });
export type IngressRule = z.infer<typeof IngressRule>;

/** TLS for some hosts from a `kubernetes.io/tls` Secret. */
export const IngressTLS = z.object({
  hosts: z.array(z.string()).optional(),
  secretName: z.string().optional(),
}).meta({ id: "io.k8s.api.networking.v1.IngressTLS" });
export type IngressTLS = z.infer<typeof IngressTLS>;

/** Ingress spec. */
export const IngressSpec = z.object({
  ingressClassName: z.string().optional(),
  defaultBackend: IngressBackend.optional(),
  tls: z.array(IngressTLS).optional(),
  rules: z.array(IngressRule).optional(),
}).meta({
  id: "io.k8s.api.networking.v1.IngressSpec",
  description: "The host and path rules of an Ingress, its default backend and TLS.",
});
export type IngressSpec = z.infer<typeof IngressSpec>;

/** One address the Ingress is served on. */
export const IngressLoadBalancerIngress = z.object({
  ip: z.string().optional(),
  hostname: z.string().optional(),
  ports: z.array(z.object({
    port: Int32,
    protocol: z.string().default("TCP"),
    error: z.string().optional(),
  })).optional(),
}).meta({ id: "io.k8s.api.networking.v1.IngressLoadBalancerIngress" });
export type IngressLoadBalancerIngress = z.infer<typeof IngressLoadBalancerIngress>;

/** Ingress status: where it is served. */
export const IngressStatus = z.object({
  loadBalancer: z.object({ ingress: z.array(IngressLoadBalancerIngress).optional() }).meta({
    id: "io.k8s.api.networking.v1.IngressLoadBalancerStatus",
  }).default({}),
}).meta({ id: "io.k8s.api.networking.v1.IngressStatus" });

/** networking.k8s.io/v1 Ingress. */
export const Ingress = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: IngressSpec.prefault({}),
  status: IngressStatus.prefault({}),
}).meta({
  id: "io.k8s.api.networking.v1.Ingress",
  description: "Ingress routes outside HTTP(S) requests by host and path to Services.",
  "x-kubernetes-group-version-kind": [
    { group: "networking.k8s.io", version: "v1", kind: "Ingress" },
  ],
});
export type Ingress = z.infer<typeof Ingress>;

/** IngressClass spec: which controller serves the class. */
export const IngressClassSpec = z.object({
  controller: z.string().optional(),
  parameters: z.object({
    apiGroup: z.string().optional(),
    kind: z.string(),
    name: z.string(),
    scope: z.string().optional(),
    namespace: z.string().optional(),
  }).optional(),
}).meta({ id: "io.k8s.api.networking.v1.IngressClassSpec" });

/** networking.k8s.io/v1 IngressClass (cluster-scoped). */
export const IngressClass = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  spec: IngressClassSpec.prefault({}),
}).meta({
  id: "io.k8s.api.networking.v1.IngressClass",
  description: "IngressClass names the controller that serves Ingresses of the class.",
  "x-kubernetes-group-version-kind": [
    { group: "networking.k8s.io", version: "v1", kind: "IngressClass" },
  ],
});
export type IngressClass = z.infer<typeof IngressClass>;

/** True when an IngressClass is annotated as the cluster's default. */
export function isDefaultIngressClass(c: { metadata?: { annotations?: StringMap } }): boolean {
  return c.metadata?.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === "true";
}

/**
 * The class an Ingress asks for: `spec.ingressClassName`, else the deprecated annotation, else
 * undefined (then the default class, if any, serves it).
 */
export function ingressClassOf(ing: Ingress): string | undefined {
  return ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
}

/**
 * Whether Skiff serves `ing`: its class is one whose controller is `skiff.io/ingress`, or it
 * names no class and the default class (the newest marked, as Kubernetes) is such a class.
 */
export function servedBySkiff(ing: Ingress, classes: readonly IngressClass[]): boolean {
  const name = ingressClassOf(ing);
  const cls = name !== undefined
    ? classes.find((c) => c.metadata.name === name)
    : defaultIngressClass(classes);
  return cls?.spec?.controller === SKIFF_INGRESS_CONTROLLER;
}

/** The default IngressClass among `classes` (the newest, if several are marked). */
export function defaultIngressClass(classes: readonly IngressClass[]): IngressClass | undefined {
  let best: IngressClass | undefined;
  for (const c of classes) {
    if (!isDefaultIngressClass(c)) continue;
    const t = c.metadata.creationTimestamp ?? "";
    if (!best || t > (best.metadata.creationTimestamp ?? "")) best = c;
  }
  return best;
}

/** The built-in `skiff` IngressClass, created at server start (as k3s ships Traefik's). */
export function skiffIngressClass(): IngressClass {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: {
      name: SKIFF_INGRESS_CLASS,
      annotations: { [DEFAULT_INGRESS_CLASS_ANNOTATION]: "true" },
    },
    spec: { controller: SKIFF_INGRESS_CONTROLLER },
  } as IngressClass;
}
