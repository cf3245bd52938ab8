/**
 * The API server's Hono application: health and version endpoints, authentication, discovery,
 * OpenAPI, and the resource routes, with one `onError` turning every thrown error into a
 * Kubernetes `Status`. Tests call `app.fetch()` directly; `runServer` serves it with Deno.serve.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { ApiError, InternalError, NotFoundError, UnauthorizedError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { GenericRegistry } from "../registry/generic_registry.ts";
import { authorize, authorizeNonResourceURL, verbOf } from "../auth/authorizer.ts";
import type { RbacAuthorizer } from "../auth/rbac/rbac_authorizer.ts";
import type { Authorizer, User } from "../auth/authorizer.ts";
import { impersonate } from "../auth/impersonation.ts";
import type { Role } from "../auth/token_store.ts";
import type { Discovery } from "./discovery.ts";
import { customDocuments, openApiGroupVersion, openApiRoot } from "./openapi.ts";
import type { CustomDocuments } from "./openapi.ts";
import { OPENAPI_V2_PROTOBUF, servedOpenApiV2, wantsOpenApiV2Protobuf } from "./openapi_v2.ts";
import { mountDashboard } from "../dashboard/mod.ts";
import type { ServerMetrics } from "../metrics.ts";
import { EXPOSITION_CONTENT_TYPE } from "../../shared/prometheus.ts";
import { requestMetrics } from "./request_metrics.ts";
import { parseResourcePath } from "./request_info.ts";
import type { RequestInfo } from "./request_info.ts";
import { JSON_HEADERS, jsonResponse } from "./responses.ts";
import { sha256Hex } from "../../shared/crypto_util.ts";
import { serveResource, unknownResource } from "./rest.ts";
import type { SubresourceHandler } from "./rest.ts";
import type { CustomResources } from "../apiextensions/custom_resources.ts";

/** What the app reads of the served custom resource kinds. */
export type CustomResourceKinds = Pick<CustomResources, "lookup" | "resources" | "generation">;

/** The Kubernetes version Skiff is compatible with; /usr/bin/kubectl picks its client by it. */
export const KUBERNETES_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-skiff",
  gitCommit: "skiff",
  gitTreeState: "clean",
  buildDate: "2026-11-28T00:00:00Z",
  goVersion: "deno",
  compiler: "deno",
  platform: `${Deno.build.os}/${Deno.build.arch === "aarch64" ? "arm64" : "amd64"}`,
};

/** What the app needs from the server. */
export interface AppDeps {
  registries: GenericRegistry[];
  /** The kinds CustomResourceDefinitions add at run time (routing and OpenAPI). */
  customResources?: CustomResourceKinds;
  discovery: Discovery;
  /** Maps a bearer token to a user, or undefined when unknown. */
  authenticate: (token: string) => Promise<User | undefined>;
  /** Decides resource requests (default: roles only, so node credentials get nothing). */
  authorizer?: Authorizer;
  /** RBAC, for non-resource URLs and impersonation; resource requests go through `authorizer`. */
  rbac?: RbacAuthorizer;
  /** The token role of a user name (`token:<id>`), which an impersonated token user keeps. */
  roleOf?: (userName: string) => Role | undefined;
  subresources?: Map<string, SubresourceHandler>;
  /** Extra routes (metrics API, agent join) mounted before the resource routes. */
  extraRoutes?: (app: Hono<{ Variables: { user: User } }>) => void;
  /** The cluster CA, served unauthenticated at /cacerts for agents bootstrapping trust. */
  caPem?: string;
  /** Where requests are counted; `/metrics` serves its registry. */
  metrics?: ServerMetrics;
  /** Whether the stores have loaded (readyz). */
  ready: () => boolean;
  logger: Logger;
}

/** Builds the API server app. */
export function createApp(deps: AppDeps): Hono<{ Variables: { user: User } }> {
  const app = new Hono<{ Variables: { user: User } }>();
  const byPath = new Map<string, GenericRegistry>();
  for (const r of deps.registries) {
    byPath.set(`${r.info.group}/${r.info.version}/${r.info.plural}`, r);
  }
  const lookup = (group: string, version: string, resource: string) =>
    byPath.get(`${group}/${version}/${resource}`) ??
      deps.customResources?.lookup(group, version, resource);
  const subresources = deps.subresources ?? new Map();
  const log = deps.logger;

  app.onError((err, c) => {
    if (err instanceof ApiError) return statusResponse(err);
    log.error("request failed", { method: c.req.method, path: c.req.path, error: err });
    return statusResponse(new InternalError(err instanceof Error ? err.message : String(err)));
  });
  app.notFound(() =>
    statusResponse(
      notFound(),
    )
  );

  if (deps.metrics) app.use("*", requestMetrics(deps.metrics));

  app.get("/version", (c) => c.json(KUBERNETES_VERSION));
  // kube-apiserver's health endpoints: `ok`, or with `?verbose` each check as `[+]name ok` and
  // `<endpoint> check passed` (a failed check `[-]name failed: reason withheld`).
  const health = (endpoint: string, checks: () => [string, boolean][]) => (c: Context) => {
    const results = checks();
    const ok = results.every(([, passed]) => passed);
    const verbose = c.req.query("verbose") !== undefined;
    if (ok && !verbose) return c.text("ok");
    const lines = results.filter(([, passed]) => verbose || !passed).map(([name, passed]) =>
      passed ? `[+]${name} ok` : `[-]${name} failed: reason withheld`
    );
    const summary = `${endpoint} check ${ok ? "passed" : "failed"}`;
    return c.text(`${lines.join("\n")}\n${summary}\n`, ok ? 200 : 503);
  };
  const ping: [string, boolean] = ["ping", true];
  app.get("/healthz", health("healthz", () => [ping]));
  app.get("/livez", health("livez", () => [ping]));
  app.get("/readyz", health("readyz", () => [ping, ["informer-sync", deps.ready()]]));
  if (deps.caPem) {
    const caPem = deps.caPem;
    app.get("/cacerts", (c) => c.text(caPem));
  }

  mountDashboard(app);

  app.use("*", async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const user = match ? await deps.authenticate(match[1]) : undefined;
    if (!user) throw new UnauthorizedError();
    // `Impersonate-*` headers (kubectl --as): from here on the request is the impersonated user's.
    c.set("user", impersonate(user, c.req.raw.headers, { rbac: deps.rbac, roleOf: deps.roleOf }));
    await next();
  });

  if (deps.metrics) {
    const registry = deps.metrics.registry;
    app.get("/metrics", (c) => {
      // kube-apiserver asks RBAC for `get` on the non-resource URL /metrics: every user token
      // role may read it, a ServiceAccount when RBAC lets it (system:monitoring, an exporter's
      // ClusterRole); nodes and join tokens may not.
      authorizeNonResourceURL(c.get("user"), { verb: "get", path: "/metrics" }, deps.rbac);
      return new Response(registry.exposition(), {
        headers: { "Content-Type": EXPOSITION_CONTENT_TYPE },
      });
    });
  }

  app.get("/api", (c) => discovery(c, true));
  app.get("/apis", (c) => discovery(c, false));
  app.get("/api/v1", (c) => c.json(deps.discovery.apiResourceList("", "v1")));
  app.get("/apis/:group", (c) => {
    const doc = deps.discovery.apiGroup(c.req.param("group"));
    if (!doc) throw notFound();
    return c.json(doc);
  });
  app.get("/apis/:group/:version", (c) => {
    const doc = deps.discovery.apiResourceList(c.req.param("group"), c.req.param("version"));
    if (!doc) throw notFound();
    return c.json(doc);
  });
  // The custom resources' documents, rebuilt when the served CRDs change.
  let custom: { generation: number; docs: CustomDocuments } | undefined;
  const customDocs = (): CustomDocuments | undefined => {
    const cr = deps.customResources;
    if (!cr) return undefined;
    if (custom?.generation !== cr.generation) {
      custom = { generation: cr.generation, docs: customDocuments(cr.resources()) };
    }
    return custom.docs;
  };
  app.get("/openapi/v3", (c) => c.json(openApiRoot(customDocs())));
  app.get("/openapi/v3/*", (c) => {
    const doc = openApiGroupVersion(c.req.path.slice("/openapi/v3/".length), customDocs());
    if (!doc) throw notFound();
    return c.json(doc);
  });
  app.get("/openapi/v2", async (c) => {
    const served = await servedOpenApiV2({
      generation: deps.customResources?.generation ?? 0,
      documents: () => customDocs()?.byGroupVersion.values() ?? [],
    });
    const proto = wantsOpenApiV2Protobuf(c.req.header("accept") ?? "");
    const form = proto ? served.protobuf : served.json;
    const headers = {
      "ETag": form.etag,
      "Vary": "Accept",
      "Content-Type": proto ? OPENAPI_V2_PROTOBUF : "application/json",
    };
    if (c.req.header("if-none-match") === form.etag) {
      return new Response(null, { status: 304, headers: { ETag: form.etag, Vary: "Accept" } });
    }
    return new Response(form.body, { headers });
  });

  deps.extraRoutes?.(app);

  const resource = async (
    c: Context<{ Variables: { user: User } }>,
    ri: RequestInfo | undefined,
  ) => {
    if (!ri) throw notFound();
    const watch = ["1", "true"].includes(c.req.query("watch") ?? "");
    const verb = verbOf(c.req.method, ri, watch);
    if (deps.authorizer) await deps.authorizer(c.get("user"), { verb, ri, request: c.req.raw });
    else authorize(c.get("user"), verb, ri);
    return await serveResource(c.req.raw, ri, { lookup, subresources, user: c.get("user") });
  };
  // Segments come from the raw pathname and are decoded exactly once (Hono's `c.req.path` is
  // already partly decoded).
  app.all("/api/v1/*", (c) => {
    const segments = rawPath(c).slice("/api/v1/".length).split("/");
    return resource(c, parseResourcePath("", "v1", segments));
  });
  app.all("/apis/:group/:version/*", (c) => {
    const [, , group, version, ...segments] = rawPath(c).split("/");
    if (group !== c.req.param("group") || version !== c.req.param("version")) throw notFound();
    return resource(c, parseResourcePath(group, version, segments));
  });

  async function discovery(c: Context, core: boolean): Promise<Response> {
    const format = deps.discovery.aggregatedFormat(c.req.header("accept") ?? null);
    if (format) {
      // As kube-apiserver: an ETag of the document, and 304 to a client that has it (the set
      // changes with CRDs, so clients revalidate instead of trusting a stale copy).
      const body = JSON.stringify(deps.discovery.aggregated(core, format.version));
      const etag = `"${(await sha256Hex(body)).slice(0, 32)}"`;
      if (c.req.header("if-none-match") === etag) {
        return new Response(null, { status: 304, headers: { ETag: etag, Vary: "Accept" } });
      }
      return new Response(body, {
        headers: {
          ...JSON_HEADERS,
          "content-type": format.contentType,
          ETag: etag,
          Vary: "Accept",
        },
      });
    }
    const host = c.req.header("host") ?? "127.0.0.1:6443";
    return jsonResponse(core ? deps.discovery.apiVersions(host) : deps.discovery.apiGroupList());
  }

  return app;
}

function rawPath(c: Context): string {
  return new URL(c.req.url).pathname;
}

function notFound(): NotFoundError {
  return unknownResource("");
}

/** A Status response for an API error. */
export function statusResponse(err: ApiError): Response {
  return jsonResponse(err.toStatus(), err.code);
}
