/**
 * The REST handlers for every stored kind: get, list, watch, create, update, patch, delete and
 * deletecollection on `/api/v1/...` and `/apis/{group}/{version}/...`, plus the generic
 * subresources (`status`, `scale`, pods' `binding` and `eviction`, namespaces' `finalize`).
 * They decode the request, call the kind's GenericRegistry, and encode the answer.
 */
import type { User } from "../auth/authorizer.ts";
import type { KubeObject } from "../../shared/api/object.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import type { FieldValidation } from "../../shared/api/validation.ts";
import {
  ApiError,
  BadRequestError,
  ConflictError,
  GoneError,
  InvalidError,
  MethodNotAllowedError,
  NotFoundError,
} from "../../shared/errors.ts";
import { parseFieldSelector, supportedFields } from "../../shared/fields.ts";
import { parseSelector, selectorFromLabelSelector, selectorFromSet } from "../../shared/labels.ts";
import { rfc3339 } from "../../shared/time.ts";
import type { DeleteOptions, GenericRegistry } from "../registry/generic_registry.ts";
import { mediaType, readBody, readOptionalBody } from "./body.ts";
import { checkPatchedObject } from "./json_limits.ts";
import { evictPod } from "./eviction.ts";
import { applyPatch, applyStrategicMergePatch, patchTypeFromContentType } from "./patch/mod.ts";
import type { RequestInfo } from "./request_info.ts";
import {
  includeObjectPolicy,
  JSON_HEADERS,
  jsonResponse,
  partialObjectMetadata,
  successStatus,
  wantsMetadataOnly,
  wantsTable,
} from "./responses.ts";
import { serialize } from "../store/watch_cache.ts";
import { tableFor } from "./tables/mod.ts";
import { serveWatch } from "./watch.ts";
import {
  apply as applyOwnership,
  defaultManager,
  type WriteSubresource,
} from "../registry/field_manager.ts";
import { decodeContinue, encodeContinue, expiredList, listRevision } from "./list_options.ts";
import { evaluateJsonPath, parseJsonPath, setJsonPath } from "../apiextensions/json_path.ts";

/** Looks up the registry of a resource. */
export type RegistryLookup = (group: string, version: string, resource: string) =>
  | GenericRegistry
  | undefined;

/** Handlers for subresources that leave the generic path (log, exec, portforward, proxy...). */
export type SubresourceHandler = (
  req: Request,
  ri: RequestInfo,
  registry: GenericRegistry,
) => Promise<Response>;

/** 404 for a path that names no served resource (kube-apiserver's wording). */
export function unknownResource(resource: string, group?: string, name?: string): NotFoundError {
  return new NotFoundError(
    { resource, group, name },
    "the server could not find the requested resource",
  );
}

/** Serves one resource request (already authenticated and authorized). */
export async function serveResource(
  req: Request,
  ri: RequestInfo,
  options: {
    lookup: RegistryLookup;
    subresources: Map<string, SubresourceHandler>;
    /** The caller: writes carry it to admission (RBAC's escalation check). */
    user?: User;
  },
): Promise<Response> {
  if (options.user) requestUsers.set(req, options.user);
  const registry = options.lookup(ri.group, ri.version, ri.resource);
  if (!registry || (ri.namespace !== undefined && !registry.info.namespaced)) {
    throw unknownResource(ri.resource, ri.group);
  }
  const info = registry.info;
  const url = new URL(req.url);
  const q = url.searchParams;
  const method = req.method.toUpperCase();

  if (ri.subresource) {
    const custom = options.subresources.get(`${info.plural}/${ri.subresource}`);
    if (custom) return await custom(req, ri, registry);
    if (!info.subresources.includes(ri.subresource) && ri.subresource !== "finalize") {
      throw unknownResource(`${info.plural}/${ri.subresource}`, ri.group, ri.name);
    }
  }

  if (!ri.subresource) requireVerb(info.verbs, method, ri.name === undefined);

  if (ri.name === undefined) {
    switch (method) {
      case "GET":
        if (isTrue(q.get("watch"))) return await serveWatch(req, q, registry, ri.namespace);
        return await list(req, q, registry, ri.namespace);
      case "POST": {
        const opts = writeOptions(q, req);
        const created = await registry.create(ri.namespace, await readBody(req), opts);
        return jsonResponse(created, 201, warningHeaders(opts.warnings));
      }
      case "DELETE":
        return await deleteCollection(req, q, registry, ri.namespace);
      default:
        throw new MethodNotAllowedError();
    }
  }

  const name = ri.name;
  switch (ri.subresource) {
    case undefined:
      break;
    case "status":
    case "ephemeralcontainers":
      return await partialWrite(req, q, registry, ri.namespace, name, ri.subresource);
    case "scale":
      return await scale(req, q, registry, ri.namespace, name);
    case "binding":
      return await binding(req, q, registry, ri.namespace, name);
    case "eviction":
      return await eviction(req, q, registry, {
        pdbs: options.lookup("policy", "v1", "poddisruptionbudgets"),
        namespace: ri.namespace,
        name,
      });
    case "finalize":
      if (info.plural !== "namespaces" || method !== "PUT") throw new MethodNotAllowedError();
      return jsonResponse(await finalizeNamespace(req, registry, name));
    default:
      throw new MethodNotAllowedError();
  }

  switch (method) {
    case "GET": {
      const obj = registry.store.get(ri.namespace, name);
      if (wantsTable(req.headers.get("accept"))) {
        return jsonResponse(
          tableFor(info, [obj], {
            includeObject: includeObjectPolicy(q.get("includeObject")),
          }),
        );
      }
      if (wantsMetadataOnly(req.headers.get("accept"), false)) {
        return jsonResponse(partialObjectMetadata(obj));
      }
      return jsonResponse(obj);
    }
    case "PUT": {
      const opts = writeOptions(q, req);
      const { object, created } = await registry.update(
        ri.namespace,
        name,
        await readBody(req),
        opts,
      );
      return jsonResponse(object, created ? 201 : 200, warningHeaders(opts.warnings));
    }
    case "PATCH":
      return await patch(req, q, registry, ri.namespace, name);
    case "DELETE": {
      const opts = await deleteOptions(req, q);
      const { object } = await registry.delete(ri.namespace, name, opts);
      return jsonResponse(object, 200);
    }
    default:
      throw new MethodNotAllowedError();
  }
}

const COLLECTION_VERBS: Record<string, string[]> = {
  GET: ["list", "watch"],
  POST: ["create"],
  DELETE: ["deletecollection"],
};
const OBJECT_VERBS: Record<string, string[]> = {
  GET: ["get"],
  PUT: ["update"],
  PATCH: ["patch"],
  DELETE: ["delete"],
};

/**
 * 405 for a method whose verb the resource does not serve: kube-apiserver registers routes only
 * for a resource's verbs (namespaces have no deletecollection, so `DELETE /api/v1/namespaces`
 * is a 405, not a delete of every namespace).
 */
function requireVerb(verbs: readonly string[], method: string, collection: boolean): void {
  const wanted = (collection ? COLLECTION_VERBS : OBJECT_VERBS)[method];
  if (!wanted || !wanted.some((v) => verbs.includes(v))) throw new MethodNotAllowedError();
}

async function list(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  namespace?: string,
): Promise<Response> {
  const info = registry.info;
  const predicate = selectorPredicate(q, info.kind);
  const limit = parseNonNegativeInt(q.get("limit"), "limit");
  const continued = decodeContinue(q.get("continue"));
  const atRevision = await listRevision(q, registry.store, continued);
  let result: ReturnType<typeof registry.store.list>;
  try {
    result = registry.store.list({
      namespace,
      predicate,
      limit,
      continueKey: continued?.start,
      atRevision,
    });
  } catch (e) {
    if (e instanceof GoneError) throw expiredList(continued !== undefined);
    throw e;
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(result.revision) };
  if (result.continueKey) metadata.continue = encodeContinue(result.continueKey, result.revision);
  if (wantsTable(req.headers.get("accept"))) {
    return jsonResponse(
      tableFor(info, result.items, {
        includeObject: includeObjectPolicy(q.get("includeObject")),
        listMeta: metadata,
      }),
    );
  }
  if (wantsMetadataOnly(req.headers.get("accept"), true)) {
    return jsonResponse({
      kind: "PartialObjectMetadataList",
      apiVersion: "meta.k8s.io/v1",
      metadata,
      items: result.items.map(partialObjectMetadata),
    });
  }
  // Cached objects carry their serialised JSON, so a list is a join, not a re-stringify.
  const head = JSON.stringify({
    kind: `${info.kind}List`,
    apiVersion: apiVersionOf(info),
    metadata,
  });
  const body = `${head.slice(0, -1)},"items":[${result.items.map(serialize).join(",")}]}`;
  return new Response(body, { status: 200, headers: JSON_HEADERS });
}

/** Builds the label + field selector predicate of a list, watch or deletecollection. */
export function selectorPredicate(
  q: URLSearchParams,
  kind: string,
): ((o: KubeObject) => boolean) | undefined {
  const labelText = q.get("labelSelector");
  const fieldText = q.get("fieldSelector");
  const labels = labelText ? parseSelector(labelText) : undefined;
  const fields = fieldText ? parseFieldSelector(fieldText) : undefined;
  // As kube-apiserver: a field a kind does not index is a 400, not an empty match.
  fields?.validate(supportedFields(kind));
  if (!labels && !fields) return undefined;
  return (o) =>
    (!labels || labels.matches(o.metadata.labels ?? {})) && (!fields || fields.matches(o));
}

async function deleteCollection(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  namespace?: string,
): Promise<Response> {
  const opts = await deleteOptions(req, q);
  const { items } = registry.store.list({
    namespace,
    predicate: selectorPredicate(q, registry.info.kind),
  });
  const deleted: KubeObject[] = [];
  for (const item of items) {
    try {
      deleted.push(
        (await registry.delete(item.metadata.namespace, item.metadata.name!, opts)).object,
      );
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  return jsonResponse({
    kind: `${registry.info.kind}List`,
    apiVersion: apiVersionOf(registry.info),
    metadata: { resourceVersion: String(registry.store.cache.revision) },
    items: deleted,
  });
}

/**
 * A subresource that reads the whole object and writes part of it: `status`, and a pod's
 * `ephemeralcontainers` (what `kubectl debug` patches).
 */
async function partialWrite(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  namespace: string | undefined,
  name: string,
  subresource: WriteSubresource,
): Promise<Response> {
  switch (req.method.toUpperCase()) {
    case "GET":
      return jsonResponse(registry.store.get(namespace, name));
    case "PUT": {
      const body = await readBody(req) as KubeObject;
      const object = await registry.updateWith(namespace, name, () => body, {
        ...writeOptions(q, req),
        subresource,
      });
      return jsonResponse(object);
    }
    case "PATCH":
      return await patch(req, q, registry, namespace, name, subresource);
    default:
      throw new MethodNotAllowedError();
  }
}

async function patch(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  namespace: string | undefined,
  name: string,
  subresource?: WriteSubresource,
): Promise<Response> {
  const patchType = mediaType(req.headers.get("content-type"));
  const body = await readBody(req);
  if (patchType === APPLY_PATCH) {
    return await serverSideApply(registry, namespace, name, body, q, req, subresource);
  }
  if (patchType === STRATEGIC_PATCH && registry.strategy.noStrategicMergePatch) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      "the body of the request was in an unknown format - accepted media types include: " +
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
  }
  const opts = writeOptions(q, req);
  const object = await registry.updateWith(
    namespace,
    name,
    (current) => patchObject(patchType, current, body),
    { ...opts, subresource },
  );
  return jsonResponse(object, 200, warningHeaders(opts.warnings));
}

const APPLY_PATCH = "application/apply-patch+yaml";
const STRATEGIC_PATCH = "application/strategic-merge-patch+json";

/**
 * The body of a server-side apply (an object of `apiVersion`) and its field manager (required),
 * or a 400 in kube-apiserver's words.
 */
function applyRequest(
  body: unknown,
  q: URLSearchParams,
  apiVersion: string,
): { applied: KubeObject; manager: string } {
  const applied = body as KubeObject;
  if (typeof applied !== "object" || applied === null || Array.isArray(applied)) {
    throw new BadRequestError("the apply configuration must be an object");
  }
  if (applied.apiVersion !== apiVersion) {
    throw new BadRequestError(
      `Incorrect version specified in apply patch. Specified patch version: ${
        applied.apiVersion ?? ""
      }, expected: ${apiVersion}`,
    );
  }
  const manager = q.get("fieldManager") ?? "";
  if (!manager) {
    throw new BadRequestError(
      "PATCH, application/apply-patch+yaml requests require fieldManager to be set",
    );
  }
  return { applied, manager };
}

/**
 * Server-side apply, simplified: an absent object is created from the applied configuration
 * (201); a present one gets the configuration merged in with strategic-merge semantics, and the
 * field manager is recorded in managedFields. On the status subresource only the applied status
 * is merged in (the object must exist, as in Kubernetes).
 */
async function serverSideApply(
  registry: GenericRegistry,
  namespace: string | undefined,
  name: string,
  body: unknown,
  q: URLSearchParams,
  req: Request,
  subresource?: WriteSubresource,
): Promise<Response> {
  const { applied, manager } = applyRequest(body, q, apiVersionOf(registry.info));
  if (applied.metadata?.name !== undefined && applied.metadata.name !== name) {
    throw new BadRequestError(
      `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
    );
  }
  const ownership = {
    config: applied,
    manager,
    force: isTrue(q.get("force")),
    apiVersion: apiVersionOf(registry.info),
    scope: registry.fieldScope(subresource),
  };
  if (!subresource && !registry.store.find(namespace, name)) {
    const obj = structuredClone(applied);
    obj.metadata = { ...obj.metadata, name };
    const created = applyOwnership({ ...ownership, merged: obj });
    return jsonResponse(await registry.create(namespace, created, writeOptions(q, req)), 201);
  }
  const object = await registry.updateWith(namespace, name, (current) => {
    const merged = applyStrategicMergePatch(current, applied, {
      apiVersion: current.apiVersion!,
      kind: current.kind!,
    }) as KubeObject;
    checkPatchedObject(merged);
    return applyOwnership({ ...ownership, live: current, merged });
  }, { ...writeOptions(q, req), subresource, applying: true });
  return jsonResponse(object);
}

/**
 * Applies a PATCH body by its Content-Type (415 for an unknown one). The result must be an object
 * (400 otherwise: a JSON patch may replace the root with anything) no larger than a body could
 * be (413, see checkPatchedObject).
 */
function patchObject(contentType: string, current: KubeObject, body: unknown): KubeObject {
  const patched = applyPatch(current, body, {
    type: patchTypeFromContentType(contentType),
    kind: { apiVersion: current.apiVersion, kind: current.kind! },
  });
  if (typeof patched !== "object" || patched === null || Array.isArray(patched)) {
    throw new BadRequestError(
      `the patched document is not an object: json: cannot unmarshal ${
        patched === null ? "null" : Array.isArray(patched) ? "array" : typeof patched
      } into Go value of type map[string]interface {}`,
    );
  }
  checkPatchedObject(patched);
  checkIdentity(patched as KubeObject, current);
  return patched as KubeObject;
}

/** A patch may not rename an object or move it to another namespace (400, as kube-apiserver). */
function checkIdentity(patched: KubeObject, current: KubeObject): void {
  const md = patched.metadata as KubeObject["metadata"] | undefined;
  if (md && typeof md === "object" && md.name !== undefined && md.name !== current.metadata.name) {
    throw new BadRequestError(
      `the name of the object (${md.name}) does not match the name on the URL (${current.metadata.name})`,
    );
  }
  if (
    md && typeof md === "object" && md.namespace !== undefined &&
    md.namespace !== current.metadata.namespace
  ) {
    throw new BadRequestError(
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
}

/** The paths of a custom resource's scale subresource (see Strategy.scale). */
type ScalePaths = NonNullable<GenericRegistry["strategy"]["scale"]>;

function firstAt(obj: KubeObject, path: string | undefined): unknown {
  const steps = path ? parseJsonPath(path) : null;
  return steps ? evaluateJsonPath(obj, steps)[0] : undefined;
}

/**
 * autoscaling/v1 Scale of a Deployment, ReplicaSet or ReplicationController, or of a custom
 * resource through its CRD's scale paths (the selector is the string at labelSelectorPath).
 */
function scaleOf(obj: KubeObject, paths?: ScalePaths): KubeObject {
  const sel = obj.spec?.selector;
  const selector = paths
    ? String(firstAt(obj, paths.labelSelectorPath) ?? "")
    : obj.kind === "ReplicationController"
    ? selectorFromSet(sel ?? {}).toString()
    : selectorFromLabelSelector(sel).toString();
  const specReplicas = paths ? firstAt(obj, paths.specReplicasPath) : obj.spec?.replicas;
  const statusReplicas = paths ? firstAt(obj, paths.statusReplicasPath) : obj.status?.replicas;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: specReplicas ?? 0 },
    status: { replicas: statusReplicas ?? 0, ...(selector ? { selector } : {}) },
  };
}

async function scale(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  namespace: string | undefined,
  name: string,
): Promise<Response> {
  const method = req.method.toUpperCase();
  const paths = registry.strategy.scale;
  if (method === "GET") return jsonResponse(scaleOf(registry.store.get(namespace, name), paths));
  if (method !== "PUT" && method !== "PATCH") throw new MethodNotAllowedError();
  const patchType = mediaType(req.headers.get("content-type"));
  const body = await readBody(req);
  const object = await registry.updateWith(namespace, name, (current) => {
    const scaleNow = scaleOf(current, paths);
    const desired = method === "PUT"
      ? body as KubeObject
      : patchType === APPLY_PATCH
      ? applyStrategicMergePatch(scaleNow, applyRequest(body, q, "autoscaling/v1").applied, {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
      }) as KubeObject
      : patchObject(patchType, scaleNow, body);
    const replicas = desired?.spec?.replicas;
    if (!Number.isInteger(replicas)) {
      throw new BadRequestError(`spec.replicas: Invalid value: ${JSON.stringify(replicas)}`);
    }
    if (replicas < 0) {
      throw new InvalidError({ kind: "Scale", group: "autoscaling", resource: "", name }, [{
        reason: "FieldValueInvalid",
        field: "spec.replicas",
        message: `Invalid value: ${replicas}: must be greater than or equal to 0`,
      }]);
    }
    // The Scale's resourceVersion is the object's: updateWith holds it as the precondition.
    const resourceVersion = desired.metadata?.resourceVersion ?? current.metadata.resourceVersion;
    if (paths) {
      const next = structuredClone(current);
      setJsonPath(next, parseJsonPath(paths.specReplicasPath)!, replicas);
      next.metadata.resourceVersion = resourceVersion;
      return next;
    }
    return {
      ...current,
      metadata: { ...current.metadata, resourceVersion },
      spec: { ...current.spec, replicas },
    };
  }, writeOptions(q, req));
  return jsonResponse(scaleOf(object, paths));
}

async function binding(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  namespace: string | undefined,
  name: string,
): Promise<Response> {
  if (req.method.toUpperCase() !== "POST") throw new MethodNotAllowedError();
  const body = await readBody(req) as { target?: { name?: string; kind?: string } };
  const nodeName = body?.target?.name;
  if (!nodeName) throw new BadRequestError("binding target.name is required");
  // kube-apiserver's ValidatePodBinding: the target is a Node.
  const targetKind = body.target?.kind;
  if (targetKind && targetKind !== "Node") {
    throw new InvalidError({ kind: "Binding", resource: "bindings", name }, [{
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(targetKind)}: supported values: "Node"`,
      field: "target.kind",
    }]);
  }
  // One write, as kube-apiserver's binding: the node, and the PodScheduled=True condition. Like
  // its BindingREST, this changes the stored pod directly: what a binding may change is fixed
  // here, so the pod is not validated and admitted again as a whole (the scheduler's hot path).
  const dryRun = isDryRun(q);
  await registry.store.guaranteedUpdate(namespace, name, (pod) => {
    if (pod.metadata.deletionTimestamp) {
      throw new ConflictError(
        { resource: "pods", name },
        "pod is being deleted, cannot be assigned to a host",
      );
    }
    if (pod.spec?.nodeName) {
      throw new ConflictError(
        { resource: "pods/binding", name },
        `pod ${name} is already assigned to node "${pod.spec.nodeName}"`,
      );
    }
    // `pod` is this try's own copy of the stored object.
    pod.spec = { ...pod.spec, nodeName };
    if (pod.metadata.generation !== undefined) pod.metadata.generation += 1;
    const conditions = (pod.status?.conditions ?? []).filter(
      (c: { type: string }) => c.type !== "PodScheduled",
    );
    conditions.push({
      type: "PodScheduled",
      status: "True",
      lastTransitionTime: rfc3339(new Date()),
    });
    pod.status = { ...pod.status, conditions };
    return dryRun ? null : pod;
  });
  return jsonResponse(successStatus(201), 201);
}

async function eviction(
  req: Request,
  q: URLSearchParams,
  registry: GenericRegistry,
  target: { pdbs?: GenericRegistry; namespace: string | undefined; name: string },
): Promise<Response> {
  if (req.method.toUpperCase() !== "POST") throw new MethodNotAllowedError();
  const body = await readBody(req) as { deleteOptions?: Record<string, unknown> };
  const deleteOptions = parseDeleteOptions(body?.deleteOptions ?? {});
  // The request's own dryRun holds for the delete too (kube-apiserver's propagateDryRun).
  if (isDryRun(q)) deleteOptions.dryRun = true;
  await evictPod(registry, target.pdbs, {
    namespace: target.namespace ?? "default",
    name: target.name,
    deleteOptions,
  });
  return jsonResponse(successStatus(201), 201);
}

async function finalizeNamespace(
  req: Request,
  registry: GenericRegistry,
  name: string,
): Promise<KubeObject> {
  const body = await readBody(req) as KubeObject;
  return await registry.updateWith(undefined, name, (current) => ({
    ...current,
    spec: { ...current.spec, finalizers: body?.spec?.finalizers ?? [] },
  }));
}

/** The authenticated caller of each request being served (for RBAC's escalation check). */
const requestUsers = new WeakMap<Request, User>();

function writeOptions(q: URLSearchParams, req: Request) {
  const fv = q.get("fieldValidation");
  let fieldValidation: FieldValidation | undefined;
  if (fv) {
    if (fv !== "Strict" && fv !== "Warn" && fv !== "Ignore") {
      throw new BadRequestError(
        `fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`,
      );
    }
    fieldValidation = fv;
  }
  return {
    dryRun: isDryRun(q),
    fieldValidation,
    fieldManager: q.get("fieldManager") || defaultManager(req.headers.get("user-agent")),
    warnings: [] as string[],
    user: requestUsers.get(req),
  };
}

/**
 * `Warning: 299 - "..."` headers, as kube-apiserver sends for dropped unknown fields under
 * `fieldValidation=Warn` (kubectl prints them as `Warning: ...`).
 */
function warningHeaders(warnings: string[]): Headers | undefined {
  if (warnings.length === 0) return undefined;
  const h = new Headers();
  for (const w of warnings) h.append("warning", `299 - ${JSON.stringify(w)}`);
  return h;
}

function isDryRun(q: URLSearchParams): boolean {
  const values = q.getAll("dryRun");
  for (const v of values) {
    if (v !== "All") throw new BadRequestError(`dryRun: Unsupported value: "${v}"`);
  }
  return values.length > 0;
}

async function deleteOptions(req: Request, q: URLSearchParams): Promise<DeleteOptions> {
  const body = (await readOptionalBody(req) ?? {}) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...body };
  if (q.has("gracePeriodSeconds")) {
    merged.gracePeriodSeconds = parseNonNegativeInt(
      q.get("gracePeriodSeconds"),
      "gracePeriodSeconds",
    );
  }
  if (q.has("propagationPolicy")) merged.propagationPolicy = q.get("propagationPolicy");
  if (q.has("dryRun")) merged.dryRun = isDryRun(q) ? ["All"] : [];
  return parseDeleteOptions(merged);
}

function parseDeleteOptions(raw: Record<string, unknown>): DeleteOptions {
  const opts: DeleteOptions = {};
  if (raw.gracePeriodSeconds !== undefined && raw.gracePeriodSeconds !== null) {
    const g = Number(raw.gracePeriodSeconds);
    if (!Number.isInteger(g) || g < 0) {
      throw new BadRequestError(`gracePeriodSeconds: Invalid value: ${raw.gracePeriodSeconds}`);
    }
    opts.gracePeriodSeconds = g;
  }
  const policy = raw.propagationPolicy ?? (raw.orphanDependents === true ? "Orphan" : undefined);
  if (policy !== undefined && policy !== null) {
    if (policy !== "Background" && policy !== "Foreground" && policy !== "Orphan") {
      throw new BadRequestError(
        `propagationPolicy: Unsupported value: "${policy}": supported values: "Background", "Foreground", "Orphan"`,
      );
    }
    opts.propagationPolicy = policy;
  }
  const pre = raw.preconditions as { uid?: string; resourceVersion?: string } | undefined;
  if (pre && (pre.uid || pre.resourceVersion)) {
    opts.preconditions = { uid: pre.uid ?? undefined, resourceVersion: pre.resourceVersion };
  }
  const dry = raw.dryRun;
  if (Array.isArray(dry) && dry.length > 0) opts.dryRun = true;
  return opts;
}

function isTrue(v: string | null): boolean {
  return v === "1" || v === "true";
}

function parseNonNegativeInt(v: string | null, name: string): number | undefined {
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new BadRequestError(`${name}: Invalid value: "${v}"`);
  return n;
}
