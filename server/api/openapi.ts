/**
 * The OpenAPI v3 documents kubectl reads before `apply`, `create -f`, `replace` and `edit`
 * (`GET /openapi/v3` and `GET /openapi/v3/<group-version>`), generated once from the zod schemas
 * of shared/api and cached.
 *
 * kubectl needs, per kind: a PATCH operation carrying `x-kubernetes-group-version-kind` and a
 * `fieldValidation` query parameter (else it falls back to client-side validation), and, to
 * compute strategic merge patches from them, a `components.schemas` entry with the same GVK
 * whose list fields carry `x-kubernetes-patch-merge-key`/`x-kubernetes-patch-strategy`.
 */
import { z } from "zod";
import { RESOURCES } from "../../shared/api/resources.ts";
import type { ResourceEntry } from "../../shared/api/resources.ts";
import { apiVersionOf, groupVersionPath } from "../../shared/api/resource_info.ts";
// Registers Scale, DeleteOptions, Status, Eviction with the schema registry.
import "../../shared/api/meta_v1_misc.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const REF_PREFIX = "#/components/schemas/";
const META = "io.k8s.apimachinery.pkg.apis.meta.v1.";
const ID = {
  intOrString: "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
  quantity: "io.k8s.apimachinery.pkg.api.resource.Quantity",
  patch: `${META}Patch`,
  deleteOptions: `${META}DeleteOptions`,
  status: `${META}Status`,
  listMeta: `${META}ListMeta`,
  scale: "io.k8s.api.autoscaling.v1.Scale",
};

/** The component id of a kind's schema (its zod `id`). */
function schemaIdOf(r: ResourceEntry): string {
  const id = z.globalRegistry.get(r.schema)?.id;
  if (!id) throw new Error(`the schema of ${r.kind} has no id`);
  return id;
}
const INT32 = 2147483647;

const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
];

/** Every schema with an id, as OpenAPI 3.0 component schemas (refs point at components). */
function buildComponents(): Record<string, Json> {
  const out = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => `${REF_PREFIX}${id}`,
    io: "input",
    unrepresentable: "any",
    target: "openapi-3.0",
  });
  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(out.schemas)) {
    const s = tidy(schema) as Json;
    delete s.$id;
    delete s.$schema;
    schemas[id] = s;
  }
  // The Kubernetes spellings of the two scalar-like types.
  schemas[ID.intOrString] = { type: "string", format: "int-or-string" };
  schemas[ID.quantity] = { type: "string", format: "quantity" };
  schemas[ID.patch] = {
    type: "object",
    description: "A patch in one of the content types listed.",
  };
  return schemas;
}

/** Drops zod's integer-range noise in favour of OpenAPI's int32/int64 formats. */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (typeof value !== "object" || value === null) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) out[k] = tidy(v);
  if (out.type === "integer") {
    if (out.maximum === INT32 && out.minimum === -INT32 - 1) {
      out.format = "int32";
      delete out.minimum;
      delete out.maximum;
    } else if (out.maximum === Number.MAX_SAFE_INTEGER) {
      out.format = "int64";
      delete out.minimum;
      delete out.maximum;
    }
  }
  return out;
}

/** The component ids reachable from `roots` through `$ref`s. */
function closure(all: Record<string, Json>, roots: string[]): string[] {
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id) || !all[id]) return;
    seen.add(id);
    walk(all[id]);
  };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === "object" && v !== null) {
      for (const [k, inner] of Object.entries(v)) {
        if (k === "$ref" && typeof inner === "string") visit(inner.slice(REF_PREFIX.length));
        else walk(inner);
      }
    }
  };
  roots.forEach(visit);
  return [...seen].sort();
}

const ref = (id: string) => ({ $ref: `${REF_PREFIX}${id}` });

function queryParam(name: string, description: string): Json {
  return { name, in: "query", description, schema: { type: "string", uniqueItems: true } };
}

const DRY_RUN = queryParam(
  "dryRun",
  "When present, indicates that modifications should not be persisted. Valid value: All.",
);
const FIELD_MANAGER = queryParam(
  "fieldManager",
  "A name associated with the actor or entity that is making these changes.",
);
const FIELD_VALIDATION = queryParam(
  "fieldValidation",
  "How the server treats fields it does not know: Ignore, Warn (the default) or Strict.",
);
const FORCE = {
  name: "force",
  in: "query",
  description: "Force an apply request to take over conflicting fields.",
  schema: { type: "boolean", uniqueItems: true },
};
const LIST_PARAMS = [
  "labelSelector",
  "fieldSelector",
  "limit",
  "continue",
  "resourceVersion",
  "timeoutSeconds",
  "watch",
  "allowWatchBookmarks",
].map((n) => queryParam(n, `The list option ${n}.`));

function jsonResponse(id: string, codes: string[] = ["200"]): Json {
  const responses: Json = {};
  for (const code of codes) {
    responses[code] = {
      description: code === "201" ? "Created" : code === "202" ? "Accepted" : "OK",
      content: { "application/json": { schema: ref(id) } },
    };
  }
  responses["401"] = { description: "Unauthorized" };
  return responses;
}

interface OpSubject {
  gvk: { group: string; version: string; kind: string };
  schemaId: string;
  operationId: string;
}

function op(action: string, s: OpSubject, extra: Json): Json {
  return {
    operationId: `${action}${s.operationId}`,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": s.gvk,
    ...extra,
  };
}

function patchOp(s: OpSubject, patchTypes: readonly string[]): Json {
  const content: Json = {};
  for (const t of patchTypes) content[t] = { schema: ref(ID.patch) };
  return op("patch", s, {
    parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE],
    requestBody: { required: true, content },
    responses: jsonResponse(s.schemaId, ["200", "201"]),
  });
}

function writeOp(action: "post" | "put", s: OpSubject): Json {
  return op(action, s, {
    parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
    requestBody: { required: true, content: { "application/json": { schema: ref(s.schemaId) } } },
    responses: jsonResponse(s.schemaId, action === "post" ? ["200", "201", "202"] : ["200", "201"]),
  });
}

function pathParams(names: string[]): Json[] {
  return names.map((n) => ({
    name: n,
    in: "path",
    required: true,
    description: `The ${n} of the object.`,
    schema: { type: "string", uniqueItems: true },
  }));
}

const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** What the paths of a kind are built from (a zod-schema kind or a CRD version). */
type PathKind = Omit<ResourceEntry, "schema">;

function groupWord(r: PathKind): string {
  const g = r.group === "" ? "core" : r.group.split(".")[0];
  return pascal(g) + pascal(r.version);
}

function resourcePaths(
  r: PathKind,
  schemas: Record<string, Json>,
  options: { kindId: string; patchTypes?: readonly string[] },
): Record<string, Json> {
  const paths: Record<string, Json> = {};
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const kindId = options.kindId;
  const patchTypes = options.patchTypes ?? PATCH_TYPES;
  const base = groupVersionPath(r);
  const scope = r.namespaced ? "Namespaced" : "";
  const subject: OpSubject = {
    gvk,
    schemaId: kindId,
    operationId: `${groupWord(r)}${scope}${r.kind}`,
  };
  const listId = `${kindId}List`;
  schemas[listId] ??= {
    type: "object",
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { allOf: [ref(ID.listMeta)] },
      items: { type: "array", items: ref(kindId) },
    },
    required: ["items"],
    "x-kubernetes-group-version-kind": [{ ...gvk, kind: r.listKind }],
  };
  const listSubject = { ...subject, schemaId: listId };
  const can = (v: string) => r.verbs.includes(v);
  const collection = r.namespaced
    ? `${base}/namespaces/{namespace}/${r.plural}`
    : `${base}/${r.plural}`;
  const scopeParams = r.namespaced ? pathParams(["namespace"]) : [];

  const coll: Json = { parameters: scopeParams };
  if (can("list")) {
    coll.get = op("list", listSubject, {
      parameters: LIST_PARAMS,
      responses: jsonResponse(listId),
    });
  }
  if (can("create")) coll.post = writeOp("post", subject);
  if (can("deletecollection")) {
    coll.delete = op("deletecollection", subject, {
      parameters: [DRY_RUN, ...LIST_PARAMS],
      responses: jsonResponse(ID.status),
    });
  }
  paths[collection] = coll;
  if (r.namespaced && can("list")) {
    paths[`${base}/${r.plural}`] = {
      get: op("list", { ...listSubject, operationId: `${groupWord(r)}${r.kind}ForAllNamespaces` }, {
        parameters: LIST_PARAMS,
        responses: jsonResponse(listId),
      }),
    };
  }

  const item: Json = { parameters: [...pathParams(["name"]), ...scopeParams] };
  if (can("get")) item.get = op("read", subject, { responses: jsonResponse(kindId) });
  if (can("update")) item.put = writeOp("put", subject);
  if (can("patch")) item.patch = patchOp(subject, patchTypes);
  if (can("delete")) {
    item.delete = op("delete", subject, {
      parameters: [
        DRY_RUN,
        queryParam("gracePeriodSeconds", "Seconds before the object is deleted."),
        queryParam("propagationPolicy", "Orphan, Background or Foreground."),
      ],
      requestBody: { content: { "application/json": { schema: ref(ID.deleteOptions) } } },
      responses: jsonResponse(ID.status, ["200", "202"]),
    });
  }
  paths[`${collection}/{name}`] = item;

  for (const sub of r.subresources) {
    if (sub !== "status" && sub !== "scale") continue;
    const s: OpSubject = sub === "status"
      ? { ...subject, operationId: `${subject.operationId}Status` }
      : {
        gvk: { group: "autoscaling", version: "v1", kind: "Scale" },
        schemaId: ID.scale,
        operationId: `${subject.operationId}Scale`,
      };
    paths[`${collection}/{name}/${sub}`] = {
      parameters: item.parameters,
      get: op("get", s, { responses: jsonResponse(s.schemaId) }),
      put: writeOp("put", s),
      patch: patchOp(s, patchTypes),
    };
  }
  return paths;
}

/** `api/v1` or `apis/<group>/<version>`: the key of a group-version in the root document. */
function gvKey(r: Pick<PathKind, "group" | "version">): string {
  return groupVersionPath(r).slice(1);
}

interface Documents {
  root: Json;
  byGroupVersion: Map<string, Json>;
}

let cached: Documents | undefined;

function build(): Documents {
  const all = buildComponentsCached();
  const groups = new Map<string, ResourceEntry[]>();
  for (const r of RESOURCES) {
    const key = gvKey(r);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const byGroupVersion = new Map<string, Json>();
  const rootPaths: Json = {};
  for (const [key, resources] of groups) {
    const schemas: Record<string, Json> = { ...all };
    const paths: Json = {};
    for (const r of resources) {
      Object.assign(paths, resourcePaths(r, schemas, { kindId: schemaIdOf(r) }));
    }
    const roots = [
      ...resources.flatMap((r) => [schemaIdOf(r), `${schemaIdOf(r)}List`]),
      ID.deleteOptions,
      ID.status,
      ID.patch,
    ];
    if (resources.some((r) => r.subresources.includes("scale"))) roots.push(ID.scale);
    const components: Json = {};
    for (const id of closure(schemas, roots)) components[id] = schemas[id];
    const doc = {
      openapi: "3.0.0",
      info: { title: "Skiff", version: apiVersionOf(resources[0]) },
      paths,
      components: { schemas: components },
    };
    byGroupVersion.set(key, doc);
    rootPaths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash(JSON.stringify(doc))}` };
  }
  return { root: { paths: rootPaths }, byGroupVersion };
}

/** Two FNV-1a 32-bit hashes as hex: a stable content hash for the `?hash=` cache buster. */
function hash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x811c9dc5) + (a >>> 7);
  }
  const hex = (n: number) => (n >>> 0).toString(16).toUpperCase().padStart(8, "0");
  return hex(a) + hex(b);
}

function documents(): Documents {
  cached ??= build();
  return cached;
}

/** Every group-version's v3 document (the source the v2 document is derived from). */
export function openApiV3Documents(): Iterable<Json> {
  return documents().byGroupVersion.values();
}

/** The `GET /openapi/v3` document: one `serverRelativeURL` per served group-version. */
export function openApiRoot(custom?: CustomDocuments): object {
  if (!custom || custom.byGroupVersion.size === 0) return documents().root;
  return { paths: { ...documents().root.paths, ...custom.root.paths } };
}

/**
 * The document of one group-version (`"api/v1"`, `"apis/apps/v1"`; a leading `/` and a query
 * string are ignored), or undefined when no such group-version is served.
 */
export function openApiGroupVersion(gvPath: string, custom?: CustomDocuments): object | undefined {
  const key = gvPath.replace(/^\/+/, "").replace(/\?.*$/, "").replace(/\/+$/, "");
  return documents().byGroupVersion.get(key) ?? custom?.byGroupVersion.get(key);
}

/** A kind described by a JSON schema of its own (a CRD's served version), not a zod schema. */
export interface SchemaKind extends PathKind {
  /** The version's openAPIV3Schema. */
  schema: Json;
}

/** The v3 documents of the custom resource group-versions, built by {@linkcode customDocuments}. */
export type CustomDocuments = Documents;

/**
 * The `?hash=`-addressed documents of custom resource kinds: per kind a component named as
 * Kubernetes names it (`com.example.stable.v1.CronTab`, the group reversed) whose apiVersion,
 * kind and metadata are the standard ones, with the CRD's schema for the rest, and the paths of
 * an ordinary kind — PATCH without strategic merge (kube-apiserver refuses it for custom
 * resources, and kubectl therefore sends JSON merge patches).
 */
export function customDocuments(kinds: readonly SchemaKind[]): CustomDocuments {
  const all = buildComponentsCached();
  const groups = new Map<string, SchemaKind[]>();
  for (const r of kinds) {
    const key = gvKey(r);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const byGroupVersion = new Map<string, Json>();
  const rootPaths: Json = {};
  for (const [key, resources] of groups) {
    const schemas: Record<string, Json> = { ...all };
    const paths: Json = {};
    const roots = [ID.deleteOptions, ID.status, ID.patch];
    for (const r of resources) {
      const kindId = `${r.group.split(".").reverse().join(".")}.${r.version}.${r.kind}`;
      const props = { ...(r.schema.properties ?? {}) };
      props.apiVersion = {
        type: "string",
        description: "APIVersion defines the versioned schema of this representation of an object.",
      };
      props.kind = {
        type: "string",
        description:
          "Kind is a string value representing the REST resource this object represents.",
      };
      props.metadata = {
        allOf: [ref(`${META}ObjectMeta`)],
        description: "Standard object's metadata.",
      };
      schemas[kindId] = {
        ...r.schema,
        type: "object",
        properties: props,
        "x-kubernetes-group-version-kind": [{ group: r.group, version: r.version, kind: r.kind }],
      };
      Object.assign(
        paths,
        resourcePaths(r, schemas, {
          kindId,
          patchTypes: PATCH_TYPES.filter((t) => !t.includes("strategic")),
        }),
      );
      roots.push(kindId, `${kindId}List`);
      if (r.subresources.includes("scale")) roots.push(ID.scale);
    }
    const components: Json = {};
    for (const id of closure(schemas, roots)) components[id] = schemas[id];
    const doc = {
      openapi: "3.0.0",
      info: { title: "Skiff", version: apiVersionOf(resources[0]) },
      paths,
      components: { schemas: components },
    };
    byGroupVersion.set(key, doc);
    rootPaths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash(JSON.stringify(doc))}` };
  }
  return { root: { paths: rootPaths }, byGroupVersion };
}

let components: Record<string, Json> | undefined;

function buildComponentsCached(): Record<string, Json> {
  components ??= buildComponents();
  return components;
}
