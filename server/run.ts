/**
 * `skiff server`: opens the store, loads every kind's watch cache, bootstraps namespaces and
 * credentials, serves the API, and runs the scheduler and controllers in the same process
 * (talking to the API in-process, without a socket).
 */
import type { Hono } from "hono";
import { ApiClient } from "../shared/client/client.ts";
import type { KubeObject } from "../shared/api/object.ts";
import { isAlreadyExists, isNotFound } from "../shared/errors.ts";
import { Logger } from "../shared/log.ts";
import { createApp } from "./api/app.ts";
import { drainingHandler } from "../shared/drain_body.ts";
import { agentCredential, AgentDialer } from "./agent_dialer.ts";
import { metricsRoutes, sampleNodeUsage } from "./api/metrics_routes.ts";
import { UsageHistory } from "./api/usage_history.ts";
import { ServerMetrics } from "./metrics.ts";
import { setControllerMetricsProvider } from "../shared/controller_metrics.ts";
import { podSubresources } from "./api/pod_proxy.ts";
import { proxySubresources, rememberClientAddress } from "./api/proxy_subresources.ts";
import { Discovery } from "./api/discovery.ts";
import { createAuthorizer, groupsOf, type User } from "./auth/authorizer.ts";
import {
  ensureServiceAccountKey,
  issuerFor,
  looksLikeJwt,
  SERVICE_ACCOUNT_KEY_FILE,
  ServiceAccountTokenSigner,
} from "./auth/service_account_token.ts";
import {
  authenticateServiceAccountToken,
  type ServiceAccountAuthDeps,
} from "./auth/service_account_auth.ts";
import { mountTokenReviewRoute, tokenRequestSubresource } from "./api/service_account_routes.ts";
import { mountServiceAccountIssuerDiscovery } from "./api/service_account_issuer_discovery.ts";
import { RbacAuthorizer } from "./auth/rbac/rbac_authorizer.ts";
import { RuleResolver } from "./auth/rbac/rule_resolver.ts";
import { reconcileBootstrapPolicy } from "./auth/rbac/bootstrap.ts";
import { rbacEscalationAdmission } from "./auth/rbac/escalation.ts";
import { mountAccessReviews } from "./api/access_review.ts";
import {
  CLUSTER_ROLE_BINDINGS,
  CLUSTER_ROLES,
  ROLE_BINDINGS,
  ROLES,
} from "../shared/client/refs.ts";
import { randomSecret, sha256Hex } from "../shared/crypto_util.ts";
import { type Role, TokenStore } from "./auth/token_store.ts";
import { mountJoinRoute } from "./api/join_route.ts";
import type { ServerConfig } from "./config.ts";
import { renderKubeconfig, writePrivateFile } from "./kubeconfig.ts";
import { ensurePki } from "./pki.ts";
import { runKubernetesServiceReconciler } from "./kubernetes_service.ts";
import { formatJoinToken, parseJoinToken } from "../shared/join_token.ts";
import { GenericRegistry } from "./registry/generic_registry.ts";
import { buildStrategies } from "./registry/kind_strategies.ts";
import {
  defaultIngressClass,
  type IngressClass,
  skiffIngressClass,
} from "../shared/api/networking_v1.ts";
import { limitRangerAdmission, limitRangerPodAdmission } from "./admission/limit_ranger.ts";
import type { LimitRange } from "../shared/api/limit_range.ts";
import type { ResourceQuota } from "../shared/api/resource_quota.ts";
import { resourceQuotaAdmission } from "./admission/resource_quota.ts";
import { admissionChain, podSecurityAdmission, podSpecSupportAdmission } from "./admission/mod.ts";
import { ResourceStore } from "./registry/resource_store.ts";
import { heartbeatTests } from "./registry/heartbeat_changes.ts";
import { versionConversion } from "./registry/version_conversions.ts";
import type { ResourceEntry } from "../shared/api/resources.ts";
import { apiVersionOf } from "../shared/api/resource_info.ts";
import { servedResources, storedResources } from "./registry/served_resources.ts";
import { NAMESPACE_NAME_LABEL, SYSTEM_NAMESPACES } from "./registry/system_namespaces.ts";
import type { Backend } from "./store/backend.ts";
import { SqliteBackend, startCompactor } from "./store/sqlite_backend.ts";
import { EtcdBackend } from "./store/etcd_backend.ts";
import { runControllers } from "./controllers/mod.ts";
import { runServiceAccountController } from "./controllers/service_account.ts";
import { InformerSet } from "../shared/informer_set.ts";
import { runScheduler } from "./scheduler/mod.ts";
import { type LeaderWork, registerLeaderMetrics, startLeaderElected } from "./ha/leader_run.ts";
import { openSharedTrust } from "./ha/server_trust.ts";
import { apiServerPeers } from "./ha/apiserver_leases.ts";
import { startManagedEtcd } from "./ha/managed_server.ts";
import { mountMemberRoute } from "./ha/member_route.ts";
import { runMemberCleanup } from "./ha/member_cleanup.ts";
import { defaultTolerations } from "./admission/default_tolerations.ts";
import { serviceAccountAdmission } from "./admission/service_account.ts";
import { podPriorityAdmission, priorityClassAdmission } from "./admission/priority.ts";
import { type PriorityClass, systemPriorityClasses } from "../shared/api/scheduling_v1.ts";
import { ServiceAllocator } from "./registry/service_allocator.ts";
import { defaultStorageClassName, localPathStorageClass } from "./controllers/volume_match.ts";
import { CustomResources } from "./apiextensions/custom_resources.ts";
import { crdStrategy } from "./apiextensions/crd_validation.ts";

/** A running server, as tests and `skiff up` see it. */
export interface RunningServer {
  /** `https://ADDRESS:PORT`. */
  url: string;
  /** The cluster CA (PEM) that signs the serving certificate. */
  caPem: string;
  adminToken: string;
  joinToken: string;
  kubeconfigPath: string;
  /**
   * The secret the server presents to node agents (`Authorization: Bearer <agentClientToken>`)
   * when it calls their API (logs, exec, port-forward, stats); agents learn only its SHA-256.
   */
  agentClientToken: string;
  /** Calls the API in-process (no socket), with the caller's own Authorization header. */
  fetch: typeof fetch;
  /** A client with in-process transport and the admin identity. */
  client: ApiClient;
  /** This server's name (its Leases' holderIdentity). */
  serverName: string;
  /**
   * True while this server holds the controller-manager Lease (always, with --leader-elect=false;
   * never, with --no-controllers). On etcd, heartbeats are written through while it is false
   * (server/registry/heartbeat_buffer.ts).
   */
  isLeader(): boolean;
  /** Resolves when the server has stopped (after the signal aborts). */
  finished: Promise<void>;
}

/** Starts the server; stops everything when `signal` aborts. */
export async function runServer(config: ServerConfig, signal: AbortSignal): Promise<RunningServer> {
  const logger = new Logger({ level: config.logLevel, component: "server" });
  // Without --server-name, client-go's default identity: hostname plus a unique suffix, so two
  // servers on one machine never both think they hold a Lease.
  const serverName = config.serverName ?? `${Deno.hostname().toLowerCase()}_${randomSecret(6)}`;
  await Deno.mkdir(`${config.dataDir}/db`, { recursive: true, mode: 0o700 });

  const metrics = new ServerMetrics();
  setControllerMetricsProvider(metrics);
  const dbPath = `${config.dataDir}/db/state.db`;
  // `--cluster-init` / `--join`: this server runs an etcd member of its own (server/ha/).
  const memberName = config.serverName ?? Deno.hostname().toLowerCase();
  const managed = await startManagedEtcd(
    config,
    memberName,
    {
      logger,
      signal,
    },
  );
  const backend: Backend = metrics.instrumentBackend(
    managed
      ? await EtcdBackend.open(managed.client.endpoint, {
        fetch: managed.client.fetch,
        logger: logger.child("etcd"),
      })
      : config.datastoreEndpoint
      ? await EtcdBackend.open(config.datastoreEndpoint, { logger: logger.child("etcd") })
      : SqliteBackend.open(dbPath, { logger: logger.child("sqlite") }),
  );
  if (!config.datastoreEndpoint && !managed) {
    metrics.storageSize.collect(() => {
      let bytes = 0;
      for (const f of [dbPath, `${dbPath}-wal`]) {
        try {
          bytes += Deno.statSync(f).size;
        } catch {
          // no WAL file yet
        }
      }
      return [[{ storage_cluster_id: "sqlite" }, bytes]];
    });
  }
  // Several servers on one datastore share one CA and token table, sealed with the cluster secret.
  const trust = await openSharedTrust(config, backend, logger);
  const [hostname, portText] = splitHostPort(config.listen);
  // The URL clients are given must reach the socket: the listen address when it is a specific
  // one, else the node's address (or loopback).
  const advertised = hostname !== "0.0.0.0" ? hostname : config.nodeAddress ?? "127.0.0.1";
  const allocator = new ServiceAllocator({
    serviceCidr: config.serviceCidr,
    nodePortRange: config.nodePortRange,
  });
  const pki = await ensurePki(`${config.dataDir}/tls`, [
    Deno.hostname(),
    "localhost",
    "127.0.0.1",
    advertised,
    ...(hostname === "0.0.0.0" ? [] : [hostname]),
    // In-cluster clients reach the API as the `kubernetes` Service (kube-apiserver's names).
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    `kubernetes.default.svc.${config.clusterDomain}`,
    allocator.firstIP,
    ...config.tlsSans,
  ]);
  const tokens = await TokenStore.open(`${config.dataDir}/tokens.json`);
  const adminToken = await ensureTokenFile(tokens, `${config.dataDir}/admin-token`, {
    role: "admin",
  });
  const joinToken = await ensureTokenFile(tokens, `${config.dataDir}/token`, {
    role: "join",
    caHash: pki.caHash,
  });
  const agentClientToken = await ensureSecretFile(`${config.dataDir}/agent-client-token`);
  // ServiceAccount tokens: JWTs signed with the key kept in the data dir. The first server makes
  // it before publishing; a joining server has the cluster's from `openSharedTrust` (or, on a
  // bundle from before the key was shared, adopts the one `publish` finds there), so the signer
  // is loaded only after `publish`.
  const serviceAccountKey = `${config.dataDir}/${SERVICE_ACCOUNT_KEY_FILE}`;
  await ensureServiceAccountKey(serviceAccountKey);
  await trust?.publish();
  const signer = await ServiceAccountTokenSigner.open(
    serviceAccountKey,
    issuerFor(config.clusterDomain),
  );
  // The in-process controllers' credential lives in memory only.
  const internalToken = randomSecret(24);

  const stores = new Map<string, ResourceStore>();
  const serviceAccounts = serviceAccountAdmission({
    findServiceAccount: (namespace, name) => stores.get("serviceaccounts")!.find(namespace, name),
  });
  const priorities = {
    priorityClasses: () => stores.get("priorityclasses")!.list().items as PriorityClass[],
    priorityClass: (name: string) =>
      stores.get("priorityclasses")!.find(undefined, name) as PriorityClass | undefined,
  };
  const podPriority = podPriorityAdmission(priorities);
  const limitRanges = {
    limitRanges: (namespace: string) =>
      stores.get("limitranges")!.list({ namespace }).items as LimitRange[],
  };
  const limitRanger = limitRangerPodAdmission(limitRanges);
  const strategies = buildStrategies({
    services: allocator,
    podAdmission: async (pod, ctx) => {
      // As kube-apiserver's plugin order: LimitRanger, ServiceAccount, …, Priority.
      limitRanger(pod, ctx.requestedName);
      defaultTolerations(pod, { tolerationSeconds: config.podEvictionTimeoutSeconds });
      await serviceAccounts(pod, ctx.requestedName);
      podPriority(pod, ctx.requestedName);
    },
    defaultStorageClass: () => defaultStorageClassName(stores.get("storageclasses")!.list().items),
    defaultIngressClass: () =>
      defaultIngressClass(stores.get("ingressclasses")!.list().items as IngressClass[])?.metadata
        .name,
  });
  strategies.set("customresourcedefinitions", crdStrategy());
  const resources = storedResources();
  // The scheduler and controllers run only where their Lease is held (set below).
  let isLeader = () => false;
  // Lease renewals and Node status heartbeats are held in memory and written at most once a
  // minute (server/registry/heartbeat_buffer.ts). On a store other servers read (etcd), only by
  // the leader, whose node lifecycle controller reads them from this server's cache: the others
  // write them through, and the leader sees those in etcd.
  const sharedStore = managed !== undefined || config.datastoreEndpoint !== undefined;
  const heartbeats = heartbeatTests({ sharedStore });
  const writeThrough = sharedStore ? () => !isLeader() : undefined;
  // A kind's first entry is its storage; another served version shares that store's cache and
  // converts (server/registry/version_conversions.ts).
  const storeOf = new Map<ResourceEntry, ResourceStore>();
  for (const info of resources) {
    const primary = stores.get(info.plural);
    const isHeartbeat = heartbeats.get(info.plural);
    const store = primary
      ? new ResourceStore(backend, info, {
        logger,
        sharedWith: primary,
        storageApiVersion: () => apiVersionOf(primary.info),
        conversion: versionConversion(info),
      })
      : new ResourceStore(backend, info, {
        logger,
        historySize: config.watchHistorySize,
        heartbeats: isHeartbeat && { isHeartbeat, writeThrough },
      });
    if (!primary) stores.set(info.plural, store);
    storeOf.set(info, store);
  }
  metrics.storageObjects.collect(() =>
    [...stores.values()].map((store) => [
      {
        resource: store.info.group ? `${store.info.plural}.${store.info.group}` : store.info.plural,
      },
      store.cache.size,
    ])
  );
  const namespaces = stores.get("namespaces")!;
  // RBAC reads its objects from in-process informers (list+watch through the app itself, with
  // the controllers' credential), filled before the server starts listening.
  // The app is built below; in-process requests reach it once it exists.
  const appRef: { current?: Hono<{ Variables: { user: User } }> } = {};
  // This server's URL, known once it listens (the issuer discovery's `jwks_uri`).
  const serverUrl: { current?: string } = {};
  const inProcessFetch: typeof fetch = (input, init) =>
    Promise.resolve(appRef.current!.fetch(new Request(input, init)));
  const rbacInformers = new InformerSet(
    new ApiClient({
      server: "https://kubernetes.default.svc",
      token: internalToken,
      fetch: inProcessFetch,
    }),
    { logger: logger.child("rbac") },
  );
  const rbac = new RbacAuthorizer(
    new RuleResolver({
      roles: rbacInformers.get(ROLES),
      clusterRoles: rbacInformers.get(CLUSTER_ROLES),
      roleBindings: rbacInformers.get(ROLE_BINDINGS),
      clusterRoleBindings: rbacInformers.get(CLUSTER_ROLE_BINDINGS),
    }),
  );
  // ResourceQuota admission charges a quota's status through its registry (made below).
  const resourceQuotas = resourceQuotaAdmission({
    quotas: (namespace) =>
      stores.get("resourcequotas")!.list({ namespace }).items as ResourceQuota[],
    updateStatus: async (namespace, name, update) => {
      const quotas = registries.find((r) => r.info.plural === "resourcequotas")!;
      await quotas.updateWith(
        namespace,
        name,
        (current) => (update(current as ResourceQuota) ?? current) as KubeObject,
        { subresource: "status", fieldManager: "kube-apiserver" },
      );
    },
  });
  // Validating admission: refuse what the node does not do, then Pod Security, then RBAC's
  // escalation check, then ResourceQuota (last, as in kube-apiserver: it charges the quotas).
  const admission = admissionChain([
    podSpecSupportAdmission(),
    limitRangerAdmission(limitRanges),
    priorityClassAdmission(priorities),
    podSecurityAdmission({
      config: config.podSecurity,
      namespace: (name) => namespaces.find(undefined, name),
      pods: (namespace) => stores.get("pods")!.list({ namespace }).items,
      logger: logger.child("admission"),
    }),
    rbacEscalationAdmission(rbac),
    resourceQuotas,
  ]);
  const registries = resources.map((info) =>
    new GenericRegistry(storeOf.get(info)!, {
      strategy: strategies.get(info.plural),
      namespaceOf: (name) => namespaces.find(undefined, name),
      admission,
    })
  );

  const stop = new AbortController();
  signal.addEventListener("abort", () => stop.abort(), { once: true });
  const cacheRuns = [...stores.values()].map((s) => s.run(stop.signal));
  await Promise.all([...stores.values()].map((s) => s.cache.ready()));
  allocator.load(stores.get("services")!.list().items);
  // Every stored CRD is served before the server answers (a restart keeps serving them).
  const customResources = new CustomResources({
    backend,
    crds: registries.find((r) => r.info.plural === "customresourcedefinitions")!,
    namespaceOf: (name) => namespaces.find(undefined, name),
    admission,
    historySize: config.watchHistorySize,
    logger,
  });
  const customResourcesRun = await customResources.start(stop.signal);
  let ready = true;

  const authenticateOpaque = async (token: string): Promise<User | undefined> => {
    if (token === internalToken) {
      return { name: "system:skiff-controller", role: "admin", groups: groupsOf("admin") };
    }
    const id = await tokens.authenticate(parseJoinToken(token)?.secret ?? token);
    if (!id) return undefined;
    const name = id.role === "node"
      ? `system:node:${id.nodeName}`
      : id.role === "join"
      ? `system:bootstrap:${id.id}`
      : `token:${id.id}`;
    return { name, role: id.role, groups: groupsOf(id.role), nodeName: id.nodeName };
  };
  const saAuth: ServiceAccountAuthDeps = {
    signer,
    apiAudiences: [signer.issuer],
    findServiceAccount: (namespace, name) => stores.get("serviceaccounts")!.find(namespace, name),
    findPod: (namespace, name) => stores.get("pods")!.find(namespace, name),
  };
  const authenticate = async (token: string): Promise<User | undefined> => {
    if (!looksLikeJwt(token)) return await authenticateOpaque(token);
    const result = await authenticateServiceAccountToken(token, saAuth);
    return result instanceof Error ? undefined : result.user;
  };

  // logs, exec, attach, port-forward and metrics reach the pods' agents through this.
  const dialer = new AgentDialer({
    node: (name) => stores.get("nodes")!.find(undefined, name),
    token: agentCredential({ joinToken, agentClientToken }),
  });
  const listNodes = () => stores.get("nodes")!.list().items;
  // The dashboard's node sparklines: the last 15 minutes of node metrics (usage_history.ts).
  const usageHistory = new UsageHistory();
  const authorizer = createAuthorizer({
    rbac,
    findPod: (namespace, name) => stores.get("pods")!.find(namespace, name),
    podsOnNode: (namespace, nodeName) =>
      stores.get("pods")!.list({
        namespace,
        predicate: (p) => (p as { spec?: { nodeName?: string } }).spec?.nodeName === nodeName,
      }).items,
    findVolume: (name) => stores.get("persistentvolumes")!.find(undefined, name),
    findClaim: (namespace, name) => stores.get("persistentvolumeclaims")!.find(namespace, name),
    findSecret: (namespace, name) => stores.get("secrets")!.find(namespace, name),
    ingressesIn: (namespace) => stores.get("ingresses")!.list({ namespace }).items,
  });
  const tokenRoutes = { ...saAuth, authenticateOpaque, authorizer };
  const metricsApi = metricsRoutes({
    dialer,
    nodes: listNodes,
    pods: (namespace) => stores.get("pods")!.list({ namespace }).items,
    authorizer,
    history: usageHistory,
    logger: logger.child("metrics"),
  });
  // The role a user name of a Skiff user token (`token:<id>`) carries in SubjectAccessReviews
  // and when impersonated; node and join tokens lend theirs to no one.
  const roleOf = (name: string): Role | undefined => {
    if (!name.startsWith("token:")) return undefined;
    const record = tokens.list().find((t) => t.id === name.slice("token:".length));
    return record && record.role !== "node" && record.role !== "join" ? record.role : undefined;
  };
  const app = createApp({
    registries,
    customResources,
    discovery: new Discovery(servedResources(), { extra: () => customResources.resources() }),
    authenticate,
    authorizer,
    rbac,
    roleOf,
    subresources: new Map([
      ...podSubresources({ dialer, logger: logger.child("pods") }),
      ...proxySubresources({
        find: (resource, namespace, name) => stores.get(resource)!.find(namespace, name),
        dialer,
        logger: logger.child("proxy"),
      }),
      ...tokenRequestSubresource(tokenRoutes),
    ]),
    extraRoutes: (app) => {
      metricsApi(app);
      mountTokenReviewRoute(app, tokenRoutes);
      mountServiceAccountIssuerDiscovery(app, {
        signer,
        externalUrl: () => serverUrl.current!,
        rbac,
      });
      mountAccessReviews(app, {
        authorizer,
        rbac,
        roleOf,
      });
    },
    caPem: pki.caPem,
    metrics,
    ready: () => ready,
    logger: logger.child("http"),
  });

  mountJoinRoute(app, {
    tokens,
    secrets: registries.find((r) => r.info.plural === "secrets")!,
    agentClientTokenSha256: await sha256Hex(agentClientToken),
    serviceCidr: config.serviceCidr,
    clusterCidr: config.clusterCidr,
  });

  appRef.current = app;
  if (managed) {
    mountMemberRoute(app, { etcd: managed.client, backend, clusterSecret: managed.clusterSecret });
  }

  const registryOf = (plural: string) => registries.find((r) => r.info.plural === plural)!;
  await createIfMissing(
    registryOf("namespaces"),
    SYSTEM_NAMESPACES.map((name) => ({ metadata: { name } }) as KubeObject),
  );
  await labelNamespaces(registryOf("namespaces"));
  await reconcileBootstrapPolicy({
    clusterRoles: registryOf("clusterroles"),
    clusterRoleBindings: registryOf("clusterrolebindings"),
  });
  const rbacInformersRun = rbacInformers.run(stop.signal);
  await Promise.all(
    [ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS].map((r) =>
      rbacInformers.get(r).waitForSync(stop.signal)
    ),
  );
  await createIfMissing(registryOf("storageclasses"), [localPathStorageClass()]);
  await createIfMissing(registryOf("ingressclasses"), [skiffIngressClass() as KubeObject]);
  await createIfMissing(registryOf("priorityclasses"), systemPriorityClasses() as KubeObject[]);

  const httpServer = Deno.serve(
    {
      hostname,
      port: Number(portText),
      cert: pki.certPem,
      key: pki.keyPem,
      signal: stop.signal,
      onListen: () => {},
      onError: (e) => {
        logger.error("unhandled request error", { error: e });
        return new Response("internal error", { status: 500 });
      },
    },
    drainingHandler((req, info) => {
      rememberClientAddress(req, info);
      return app.fetch(req);
    }),
  );
  const boundPort = (httpServer.addr as Deno.NetAddr).port;
  const url = `https://${advertised}:${boundPort}`;
  serverUrl.current = url;
  const kubeconfigPath = `${config.dataDir}/kubeconfig.yaml`;
  await writePrivateFile(
    kubeconfigPath,
    renderKubeconfig({ server: url, token: adminToken, caPem: pki.caPem }),
  );

  const internalClient = new ApiClient({
    server: url,
    token: internalToken,
    fetch: inProcessFetch,
  });
  const adminClient = new ApiClient({ server: url, token: adminToken, fetch: inProcessFetch });

  const background: Promise<unknown>[] = [
    ...cacheRuns,
    httpServer.finished,
    customResourcesRun.finished,
    rbacInformersRun,
  ];
  if (trust) background.push(trust.run(stop.signal));
  if (managed) background.push(managed.finished);
  background.push(
    sampleNodeUsage({ dialer, nodes: listNodes, history: usageHistory }, stop.signal),
  );
  background.push(
    startCompactor(backend, {
      keepRevisions: config.historyRevisions,
      intervalMs: 60_000,
      signal: stop.signal,
    }),
  );
  // The `kubernetes` Service runs with or without controllers, as in kube-apiserver. Its
  // Endpoints need an IP address: with a listen name other than localhost it is not written.
  const apiIP = isIP(advertised) ? advertised : knownIPv4(advertised);
  if (apiIP) {
    background.push(runKubernetesServiceReconciler({
      client: internalClient,
      serviceIP: allocator.firstIP,
      address: apiIP,
      port: boundPort,
      peers: apiServerPeers({ client: internalClient, serverName, address: apiIP }),
      intervalMs: config.kubernetesServiceIntervalMs,
      logger,
    }, stop.signal));
  } else {
    logger.warn("no IP address for the kubernetes Service's endpoints", { advertised });
  }
  const ctrlLogger = logger.child("controllers");
  // One list+watch cache per kind, shared by the scheduler and every controller.
  const informers = new InformerSet(internalClient, { logger: ctrlLogger });
  // The `default` ServiceAccount and `kube-root-ca.crt` of every namespace run with or without
  // the other controllers: ServiceAccount admission refuses pods without them.
  background.push(
    runServiceAccountController(
      { informers, rootCaPem: pki.caPem, logger: ctrlLogger },
      stop.signal,
    ),
  );
  // The scheduler and controllers run only where their Lease is held (informers warm on all).
  if (config.controllers) {
    const scheduler: LeaderWork = (deps, term) =>
      runScheduler({ ...deps, logger: logger.child("scheduler"), metrics }, term);
    const controllers: LeaderWork = async (deps, term) => {
      await Promise.all([
        runControllers({
          ...deps,
          logger: ctrlLogger,
          options: {
            nodeMonitorGracePeriodMs: config.nodeMonitorGracePeriodMs,
            clusterCidr: config.clusterCidr,
          },
        }, term),
        managed && runMemberCleanup({ ...deps, etcd: managed.client, self: memberName }, term),
      ]);
    };
    if (config.leaderElect) {
      const elected = startLeaderElected({
        identity: serverName,
        server: url,
        token: internalToken,
        fetch: inProcessFetch,
        informers,
        timing: {
          leaseDurationMs: config.leaderElectLeaseDurationMs,
          renewDeadlineMs: config.leaderElectRenewDeadlineMs,
          retryPeriodMs: config.leaderElectRetryPeriodMs,
        },
        scheduler,
        controllers,
        logger,
      }, stop.signal);
      isLeader = elected.isLeader;
      registerLeaderMetrics(metrics.registry, elected);
      background.push(elected.finished);
    } else {
      isLeader = () => true;
      const deps = { client: internalClient, informers };
      background.push(scheduler(deps, stop.signal), controllers(deps, stop.signal));
    }
  }

  background.push(informers.run(stop.signal));
  logger.info("serving", { url, kubeconfig: kubeconfigPath, joinToken: `${config.dataDir}/token` });
  const finished = (async () => {
    await Promise.allSettled(background);
    // The API has stopped taking requests: what is held in memory goes to the store now.
    await Promise.allSettled([...stores.values()].map((s) => s.flush()));
    ready = false;
    metrics.close();
    await backend.close();
  })();
  return {
    url,
    caPem: pki.caPem,
    adminToken,
    joinToken,
    kubeconfigPath,
    agentClientToken,
    fetch: inProcessFetch,
    client: adminClient,
    serverName,
    isLeader: () => isLeader(),
    finished,
  };
}

/**
 * Reuses the token in `path` while the server still knows it (and, for a join token, it still
 * names this CA); creates and writes a new one otherwise.
 */
async function ensureTokenFile(
  tokens: TokenStore,
  path: string,
  options: { role: "admin" | "join"; caHash?: string },
): Promise<string> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    const join = parseJoinToken(text);
    const secret = join?.secret ?? text;
    const sameCa = !options.caHash || join?.caHash === options.caHash;
    if (sameCa && await tokens.authenticate(secret)) return text;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const { token } = await tokens.create(options.role, {
    description: `${options.role} token created at first start`,
  });
  const text = options.caHash ? formatJoinToken(options.caHash, token) : token;
  await writePrivateFile(path, text + "\n");
  return text;
}

/** The secret in `path` (mode 0600), created on first start. */
async function ensureSecretFile(path: string): Promise<string> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    if (text) return text;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const secret = randomSecret(32);
  await writePrivateFile(path, secret + "\n");
  return secret;
}

/**
 * Creates the built-in objects of one kind that are missing, at every start (not only the first):
 * the system namespaces, the default `local-path` StorageClass and `skiff` IngressClass (as k3s
 * ships its defaults), the system PriorityClasses (as kube-apiserver's post-start hook does).
 * An object the user changed, or deleted and created again, is left as it is.
 */
async function createIfMissing(registry: GenericRegistry, objects: KubeObject[]): Promise<void> {
  for (const o of objects) {
    if (registry.store.find(undefined, o.metadata.name!)) continue;
    try {
      await registry.create(undefined, o);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}

/**
 * Gives `kubernetes.io/metadata.name` to namespaces stored before the server set it (kube-apiserver
 * defaults it when it reads them; here they are written once, at start).
 */
async function labelNamespaces(registry: GenericRegistry): Promise<void> {
  for (const ns of registry.store.list().items) {
    const name = ns.metadata.name!;
    if (ns.metadata.labels?.[NAMESPACE_NAME_LABEL] === name) continue;
    try {
      await registry.updateWith(undefined, name, (current) => current);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

function splitHostPort(listen: string): [string, string] {
  const i = listen.lastIndexOf(":");
  return [listen.slice(0, i), listen.slice(i + 1)];
}

function isIP(s: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(":");
}

/** The address of a listen name the server can know without asking a resolver. */
function knownIPv4(name: string): string | undefined {
  return name === "localhost" ? "127.0.0.1" : undefined;
}
