/**
 * The API side of preemption (kube-scheduler's DefaultPreemption PostFilter and
 * prepareCandidate): for a pod that fits nowhere, ask preemption.ts for a node and victims, then
 * hold the node for the pod (the nominator, and `status.nominatedNodeName`), give each victim the
 * `DisruptionTarget` condition (reason `PreemptionByScheduler`) and delete it gracefully with a
 * `Preempted` event, and take the nomination from lower-priority pods nominated to that node
 * (they go back to the queue). The pod itself waits in the unschedulable set until its victims'
 * deletion wakes it.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { podPriority } from "../../shared/api/scheduling_v1.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { PODS } from "../../shared/client/refs.ts";
import { isNotFound } from "../../shared/errors.ts";
import type { Recorder } from "../../shared/events.ts";
import { type Lister, NODE_NAME_INDEX, podNodeName } from "../../shared/lister.ts";
import type { Logger } from "../../shared/log.ts";
import { withDisruptionTarget } from "../../shared/api/disruption_target.ts";
import { rfc3339 } from "../../shared/time.ts";
import { fitErrorMessage, type NodeInfo, type PodInfo, type Profile } from "./framework.ts";
import type { Nominator } from "./nominator.ts";
import { isTerminated } from "./pod_info.ts";
import { findCandidate, notEligible } from "./preemption.ts";

/** What a {@linkcode Preemptor} works with. */
export interface PreemptorOptions {
  listers: { pods: Lister<KubeObject>; pdbs: Lister<KubeObject> };
  client: ControllerClient;
  recorder: Recorder;
  nominator: Nominator;
  profile: Profile;
  schedulerName: string;
  logger: Logger;
  /** Puts a pod back in the active queue (one whose nomination was taken). */
  requeue(key: string): void;
}

/** Runs preemption for the scheduler. */
export class Preemptor {
  readonly #o: PreemptorOptions;

  constructor(options: PreemptorOptions) {
    this.#o = options;
    options.listers.pods.addIndexer(NODE_NAME_INDEX, podNodeName);
  }

  /** The bound pods of a node that still hold its resources. */
  podsOn = (nodeName: string): KubeObject[] =>
    this.#o.listers.pods.byIndex(NODE_NAME_INDEX, nodeName).filter((p) => !isTerminated(p));

  /**
   * Tries to make room for `pod`, which fit none of `nodes`; returns the API work it started, if
   * any (the caller tracks it).
   */
  preempt(
    key: string,
    pod: KubeObject,
    info: PodInfo,
    nodes: readonly NodeInfo[],
  ): Promise<void> | undefined {
    const why = notEligible(pod, this.podsOn);
    if (why) {
      this.#o.logger.debug("not preempting", { pod: key, reason: why });
      return undefined;
    }
    const found = findCandidate(info, nodes, {
      profile: this.#o.profile,
      podsOn: this.podsOn,
      pdbs: this.#o.listers.pdbs.list(),
    });
    if (!found.candidate) {
      this.#o.logger.debug("preemption found no node", {
        pod: key,
        message: fitErrorMessage(nodes.length, found.reasons),
      });
      // A nomination that no longer holds is cleared, as kube-scheduler does.
      if (!this.#o.nominator.nodeOf(key) && !pod.status?.nominatedNodeName) return undefined;
      this.#o.nominator.delete(key);
      return this.#setNominatedNode(pod, null);
    }
    const { node, victims } = found.candidate;
    const nodeName = node.name;
    this.#o.nominator.nominate(key, pod, nodeName);
    const displaced = this.#o.nominator.lowerOn(nodeName, podPriority(pod));
    for (const k of displaced) this.#o.nominator.delete(k);
    this.#o.logger.info("preempting", {
      pod: key,
      node: nodeName,
      victims: victims.map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
    });
    return this.#prepareCandidate(pod, nodeName, victims, displaced);
  }

  async #prepareCandidate(
    pod: KubeObject,
    nodeName: string,
    victims: KubeObject[],
    displaced: string[],
  ): Promise<void> {
    await Promise.all(victims.map((v) => this.#evict(v, pod, nodeName)));
    await this.#setNominatedNode(pod, nodeName);
    await Promise.all(displaced.map(async (key) => {
      const other = this.#o.listers.pods.get(key);
      if (other) await this.#setNominatedNode(other, null);
      this.#o.requeue(key);
    }));
  }

  /** DisruptionTarget, graceful delete, `Preempted` event (prepareCandidate's PreemptPod). */
  async #evict(victim: KubeObject, preemptor: KubeObject, nodeName: string): Promise<void> {
    const { namespace, name } = victim.metadata;
    // Already on its way out (an earlier preemption, a drain): nothing more to do.
    if (victim.metadata.deletionTimestamp) return;
    const conditions = withDisruptionTarget(
      victim.status?.conditions as Record<string, unknown>[] | undefined,
      "PreemptionByScheduler",
      `${
        preemptor.spec?.schedulerName ?? this.#o.schedulerName
      }: preempting to accommodate a higher priority pod`,
      rfc3339(),
    );
    try {
      await this.#o.client.patch(
        PODS,
        name!,
        { status: { conditions } },
        { namespace, type: "merge", subresource: "status" },
      );
      await this.#o.client.delete(PODS, name!, { namespace });
    } catch (err) {
      if (isNotFound(err)) return;
      this.#o.logger.warn("could not preempt", { pod: `${namespace}/${name}`, error: err });
      return;
    }
    this.#o.recorder.record(
      victim.kind ? victim : { ...victim, kind: "Pod", apiVersion: "v1" },
      "Normal",
      "Preempted",
      `Preempted by pod ${preemptor.metadata.uid} on node ${nodeName}`,
    );
  }

  async #setNominatedNode(pod: KubeObject, nodeName: string | null): Promise<void> {
    if ((pod.status?.nominatedNodeName ?? null) === nodeName) return;
    try {
      await this.#o.client.patch(PODS, pod.metadata.name!, {
        status: { nominatedNodeName: nodeName },
      }, { namespace: pod.metadata.namespace, type: "merge", subresource: "status" });
    } catch (err) {
      if (!isNotFound(err)) {
        this.#o.logger.warn("could not set nominatedNodeName", {
          pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
          error: err,
        });
      }
    }
  }
}
