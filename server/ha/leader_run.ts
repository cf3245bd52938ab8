/**
 * Runs the scheduler and the controllers only while this server holds their Leases, as
 * kube-scheduler and kube-controller-manager do with `--leader-elect`: two Leases in
 * kube-system, `kube-scheduler` and `kube-controller-manager` (so `kubectl get lease -n
 * kube-system` reads as on kubeadm clusters), each with its own elector watching its Lease (an
 * informer on that one Lease, so a standby sees renewals at once). The shared informers run
 * all the time (warm standby); each term gets a {@linkcode ScopedInformerSet} over them and a
 * client whose writes are fenced by the term's Lease.
 */
import { ApiClient } from "../../shared/client/client.ts";
import { LEASES } from "../../shared/client/refs.ts";
import { Informer } from "../../shared/informer.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import {
  type Clock,
  type ElectionTiming,
  fencedFetch,
  LeaderElector,
  type LeaseClient,
} from "./leader_election.ts";
import { ScopedInformerSet } from "./scoped_informers.ts";
import type { Registry } from "../../shared/prometheus.ts";

/** The Leases' names (kube-system). */
export const SCHEDULER_LEASE = "kube-scheduler";
export const CONTROLLER_MANAGER_LEASE = "kube-controller-manager";

/** Work run while a Lease is held: resolves once stopped after `signal` aborts. */
export type LeaderWork = (
  deps: { client: ApiClient; informers: InformerSet },
  signal: AbortSignal,
) => Promise<void>;

/** Options of {@linkcode startLeaderElected}. */
export interface LeaderElectedOptions {
  /** `holderIdentity`: the server's name. */
  identity: string;
  /** Server URL, token and transport of the in-process client (the fenced clients reuse them). */
  server: string;
  token: string;
  fetch: typeof fetch;
  /** The running shared informers (on an unfenced client). */
  informers: InformerSet;
  timing?: Partial<ElectionTiming>;
  clock?: Clock;
  scheduler: LeaderWork;
  controllers: LeaderWork;
  logger?: Logger;
}

/** Handle of {@linkcode startLeaderElected}. */
export interface LeaderElected {
  /**
   * True while this server holds the controller-manager Lease within its renew deadline. The hook
   * for heartbeat handling (`heartbeatsWriteThrough` = `!isLeader()`).
   */
  isLeader(): boolean;
  /** True while this server holds the scheduler Lease within its renew deadline. */
  isSchedulerLeader(): boolean;
  electors: LeaderElector[];
  /** Writes of each Lease's work, let through or refused by the fence. */
  writes: Map<string, WriteStats>;
  /** Resolves once both elections and their work have stopped (after `signal` aborts). */
  finished: Promise<void>;
}

/** Counts of one Lease's work's writes. */
export interface WriteStats {
  allowed: number;
  fenced: number;
  /** Wall-clock ms of the last write let through (0 = none). */
  lastAllowedAt: number;
}

/**
 * Exposes the elections on /metrics: upstream's `leader_election_master_status{name}` (1 while
 * leading) and Skiff's counts of fenced writes, with the time of the last write let through.
 */
export function registerLeaderMetrics(registry: Registry, elected: LeaderElected): void {
  registry.gauge(
    "leader_election_master_status",
    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
  ).collect(() => elected.electors.map((e) => [{ name: e.name }, e.isLeader() ? 1 : 0]));
  registry.counter(
    "skiff_leader_writes_total",
    "Writes by the work of a Lease, by whether the fence let them through (allowed) or refused them (fenced).",
  ).collect(() =>
    [...elected.writes].flatMap(([name, w]) => [
      [{ name, result: "allowed" }, w.allowed] as [Record<string, string>, number],
      [{ name, result: "fenced" }, w.fenced] as [Record<string, string>, number],
    ])
  );
  registry.gauge(
    "skiff_leader_last_write_timestamp_seconds",
    "Unix time of the last write the fence let through, by Lease.",
  ).collect(() => [...elected.writes].map(([name, w]) => [{ name }, w.lastAllowedAt / 1000]));
}

/**
 * A {@linkcode LeaseClient} over the API client. Its watch is an informer on the one Lease
 * (`metadata.name` field selector in its namespace), so it resumes, re-lists and backs off as
 * every informer does.
 */
export function apiLeaseClient(client: ApiClient, options: { logger?: Logger } = {}): LeaseClient {
  return {
    getLease: (namespace, name) => client.get(LEASES, name, { namespace }),
    createLease: (obj) => client.create(LEASES, obj),
    updateLease: (obj) => client.update(LEASES, obj),
    watchLease: (namespace, name, { onChange, signal }) => {
      const informer = new Informer(client, LEASES, {
        namespace,
        fieldSelector: `metadata.name=${name}`,
        logger: options.logger,
      });
      informer.addEventHandler({ onAdd: onChange, onUpdate: (_, lease) => onChange(lease) });
      return informer.run(signal);
    },
  };
}

/** Starts both elections; see the module comment. */
export function startLeaderElected(o: LeaderElectedOptions, signal: AbortSignal): LeaderElected {
  const logger = o.logger ?? silentLogger;
  const leases = apiLeaseClient(
    new ApiClient({ server: o.server, token: o.token, fetch: o.fetch }),
    { logger },
  );
  const writes = new Map<string, WriteStats>();
  const elect = (name: string, work: LeaderWork) => {
    writes.set(name, { allowed: 0, fenced: 0, lastAllowedAt: 0 });
    const elector = new LeaderElector({
      client: leases,
      name,
      identity: o.identity,
      clock: o.clock,
      logger,
      ...o.timing,
    });
    const run = elector.run({
      onStartedLeading: (term) => {
        const client = new ApiClient({
          server: o.server,
          token: o.token,
          fetch: fencedFetch(o.fetch, () => elector.isLeader(), (allowed) => {
            const stats = writes.get(name)!;
            if (allowed) {
              stats.allowed++;
              stats.lastAllowedAt = Date.now();
            } else stats.fenced++;
          }),
        });
        return work({ client, informers: new ScopedInformerSet(o.informers, client, term) }, term);
      },
    }, signal);
    return { elector, run };
  };
  const scheduler = elect(SCHEDULER_LEASE, o.scheduler);
  const controllers = elect(CONTROLLER_MANAGER_LEASE, o.controllers);
  return {
    isLeader: () => controllers.elector.isLeader(),
    isSchedulerLeader: () => scheduler.elector.isLeader(),
    electors: [scheduler.elector, controllers.elector],
    writes,
    finished: Promise.all([scheduler.run, controllers.run]).then(() => {}),
  };
}
