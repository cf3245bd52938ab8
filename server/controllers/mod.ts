/**
 * The in-process controllers (kube-controller-manager's job): `runControllers()` starts the
 * ReplicaSet, ReplicationController, Deployment, DaemonSet, StatefulSet, Job, CronJob,
 * disruption (PodDisruptionBudget), horizontal pod autoscaler, endpoints, load balancer, Ingress
 * status, node lifecycle, node IPAM
 * (podCIDRs), node-password cleanup, garbage collector, namespace, PersistentVolume
 * binder/provisioner, storage protection, ClusterRole aggregation and resource quota controllers
 * over one set of shared informers.
 */
import type { ApiClient } from "../../shared/client/client.ts";
import { EventRecorder } from "../../shared/events.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { runDaemonSetController } from "./daemon_set.ts";
import { runStatefulSetController } from "./stateful_set.ts";
import { runDeploymentController } from "./deployment.ts";
import { runEndpointsController } from "./endpoints.ts";
import { runGarbageCollector } from "./garbage_collector.ts";
import { InformerSet } from "../../shared/informer_set.ts";
import { runJobController } from "./job.ts";
import { runCronJobController } from "./cronjob.ts";
import { runDisruptionController } from "./disruption.ts";
import { runHorizontalPodAutoscalerController } from "./horizontal_pod_autoscaler.ts";
import { runLoadBalancerController } from "./load_balancer.ts";
import { runIngressStatusController } from "./ingress_status.ts";
import { runNamespaceController } from "./namespace.ts";
import { runNodeIpamController } from "./node_ipam.ts";
import { runNodeLifecycleController } from "./node_lifecycle.ts";
import { runNodePasswordController } from "./node_password.ts";
import { REPLICATION_CONTROLLER_KIND, runReplicaSetController } from "./replica_set.ts";
import { runPersistentVolumeController } from "./persistent_volume.ts";
import { runStorageProtectionController } from "./storage_protection.ts";
import { runClusterRoleAggregationController } from "./cluster_role_aggregation.ts";
import { runResourceQuotaController } from "./resource_quota.ts";
import { DEFAULT_CLUSTER_CIDR } from "../../shared/default_networks.ts";

export { InformerSet } from "../../shared/informer_set.ts";
export { defaultTolerations } from "../admission/default_tolerations.ts";

/** Tunables of {@linkcode runControllers}. */
export interface ControllersOptions {
  /** Lease age before a node is Unknown and tainted (default 15 000 ms). */
  nodeMonitorGracePeriodMs?: number;
  /** How often nodes are checked (default: a third of the grace period, at most 5 s). */
  nodeMonitorPeriodMs?: number;
  /** `--cluster-cidr`: the node IPAM controller gives each Node a /24 of it (default 10.42.0.0/16). */
  clusterCidr?: string;
  /** Controllers to leave out, by name (`deployment`, `garbage-collector`, ...). */
  disabled?: string[];
}

/** What {@linkcode runControllers} needs. */
export interface RunControllersOptions {
  client: ApiClient;
  logger?: Logger;
  options?: ControllersOptions;
  /** Shared informers (pass the scheduler's to share watches); created and run otherwise. */
  informers?: InformerSet;
}

/** Runs every controller until `signal` aborts; resolves once all have stopped. */
export async function runControllers(
  opts: RunControllersOptions,
  signal: AbortSignal,
): Promise<void> {
  const logger = opts.logger ?? silentLogger;
  const o = opts.options ?? {};
  const own = !opts.informers;
  const informers = opts.informers ?? new InformerSet(opts.client, { logger });
  const recorder = new EventRecorder(opts.client, { component: "controller-manager", logger });
  const disabled = new Set(o.disabled ?? []);
  const runs: Promise<void>[] = [];
  const start = (name: string, run: () => Promise<void>) => {
    if (disabled.has(name)) return;
    runs.push(
      run().catch((err) => {
        logger.error("controller stopped with an error", { controller: name, error: err });
      }),
    );
  };
  start("replicaset", () => runReplicaSetController({ informers, recorder, logger }, signal));
  start(
    "replicationcontroller",
    () =>
      runReplicaSetController(
        { informers, recorder, logger, type: REPLICATION_CONTROLLER_KIND },
        signal,
      ),
  );
  start("deployment", () => runDeploymentController({ informers, recorder, logger }, signal));
  start("daemonset", () => runDaemonSetController({ informers, recorder, logger }, signal));
  start("statefulset", () => runStatefulSetController({ informers, recorder, logger }, signal));
  start("job", () => runJobController({ informers, recorder, logger }, signal));
  start("cronjob", () => runCronJobController({ informers, recorder, logger }, signal));
  start("disruption", () => runDisruptionController({ informers, recorder, logger }, signal));
  start(
    "horizontal-pod-autoscaler",
    () => runHorizontalPodAutoscalerController({ informers, recorder, logger }, signal),
  );
  start("endpoints", () => runEndpointsController({ informers, logger }, signal));
  start("load-balancer", () => runLoadBalancerController({ informers, logger }, signal));
  start("ingress-status", () => runIngressStatusController({ informers, logger }, signal));
  start("node-lifecycle", () =>
    runNodeLifecycleController({
      informers,
      recorder,
      logger,
      nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodMs,
      monitorPeriodMs: o.nodeMonitorPeriodMs,
    }, signal));
  start("node-ipam", () =>
    runNodeIpamController({
      informers,
      recorder,
      logger,
      clusterCidr: o.clusterCidr ?? DEFAULT_CLUSTER_CIDR,
    }, signal));
  start("node-password", () => runNodePasswordController({ informers, logger }, signal));
  start("garbage-collector", () => runGarbageCollector({ informers, logger }, signal));
  start("namespace", () => runNamespaceController({ informers, logger }, signal));
  start(
    "persistentvolume-binder",
    () => runPersistentVolumeController({ informers, recorder, logger }, signal),
  );
  start(
    "storage-protection",
    () => runStorageProtectionController({ informers, logger }, signal),
  );
  start(
    "clusterrole-aggregation",
    () => runClusterRoleAggregationController({ informers, logger }, signal),
  );
  start("resourcequota", () => runResourceQuotaController({ informers, logger }, signal));
  if (own) runs.push(informers.run(signal));
  await Promise.all(runs);
  await recorder.flush();
}
