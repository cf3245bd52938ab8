/** discovery.k8s.io/v1 EndpointSlice: a Service's backends in slices (the newer Endpoints). */
import { z } from "zod";
import { Int32, ObjectMeta, StringMap, TypeMeta } from "./meta.ts";
import { ObjectReference, Protocol } from "./core_v1.ts";

/** One endpoint of a slice. */
export const Endpoint = z.object({
  addresses: z.array(z.string()),
  conditions: z.object({
    ready: z.boolean().optional(),
    serving: z.boolean().optional(),
    terminating: z.boolean().optional(),
  }).default({}),
  hostname: z.string().optional(),
  targetRef: ObjectReference.optional(),
  nodeName: z.string().optional(),
  zone: z.string().optional(),
  hints: z.looseObject({}).optional(),
  deprecatedTopology: StringMap.optional(),
});
export type Endpoint = z.infer<typeof Endpoint>;

/** One port of a slice. */
export const EndpointSlicePort = z.object({
  name: z.string().optional(),
  protocol: Protocol.default("TCP"),
  port: Int32.optional(),
  appProtocol: z.string().optional(),
});
export type EndpointSlicePort = z.infer<typeof EndpointSlicePort>;

/** discovery.k8s.io/v1 EndpointSlice. */
export const EndpointSlice = z.object({
  ...TypeMeta,
  metadata: ObjectMeta.default({}),
  addressType: z.enum(["IPv4", "IPv6", "FQDN"]),
  endpoints: z.array(Endpoint).default([]),
  ports: z.array(EndpointSlicePort).optional(),
}).meta({
  id: "io.k8s.api.discovery.v1.EndpointSlice",
  description: "EndpointSlice lists a subset of the backend endpoints of a Service.",
  "x-kubernetes-group-version-kind": [
    { group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice" },
  ],
});
export type EndpointSlice = z.infer<typeof EndpointSlice>;
