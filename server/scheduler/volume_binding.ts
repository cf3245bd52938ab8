/**
 * Plugin `VolumeBinding` (kube-scheduler's, simplified to Skiff's volumes): a pod's
 * PersistentVolumeClaims decide where it may run.
 *
 * - **PreFilter** (per pod): every claim must exist and not be being deleted, and a
 *   ReadWriteOncePod claim must not be used by another scheduled pod (VolumeRestrictions); a claim that is
 *   not bound and whose class binds `Immediate` makes the pod wait (`pod has unbound immediate
 *   PersistentVolumeClaims`); claims of a `WaitForFirstConsumer` class are bound once the pod's
 *   node is chosen.
 * - **Filter** (per node): bound volumes' node affinity must admit the node (`node(s) had volume
 *   node affinity conflict`); each waiting claim needs a free matching volume reachable from the
 *   node, or a provisioner that can make one there (`node(s) didn't find available persistent
 *   volumes to bind`).
 * - **PreBind** (once the node is chosen): a waiting claim with a matching static volume gets it
 *   (the volume's claimRef, as upstream's binder); otherwise the claim is annotated
 *   `volume.kubernetes.io/selected-node` and the provisioner makes its volume on that node.
 *   Unlike upstream, the pod is bound without waiting for the claims: the node's agent does not
 *   start it before they are bound.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES } from "../../shared/client/refs.ts";
import type { Lister } from "../../shared/lister.ts";
import { LOCAL_PATH_PROVISIONER, LOCAL_PATH_ROOT_ANNOTATION } from "../../shared/local_path.ts";
import {
  BOUND_BY_CONTROLLER_ANNOTATION,
  claimReference,
  NO_PROVISIONER,
  SELECTED_NODE_ANNOTATION,
} from "../controllers/persistent_volume.ts";
import {
  findMatchingVolume,
  storageClassOf,
  volumeNodeAffinityMatches,
} from "../controllers/volume_match.ts";
import type { FilterPlugin, NodeInfo, PodInfo } from "./framework.ts";

/** A claim bound once the pod's node is known, with its class. */
export interface DelayedClaim {
  claim: KubeObject;
  storageClass: KubeObject;
}

/** What PreFilter found about a pod's claims, for Filter and PreBind. */
export interface PodVolumes {
  /** Volumes of the pod's bound claims. */
  bound: KubeObject[];
  /** Unbound claims of WaitForFirstConsumer classes. */
  delayed: DelayedClaim[];
  /** The volumes that could serve the delayed claims (a snapshot, same classes). */
  candidates: KubeObject[];
}

const NODE_CONFLICT = ["node(s) had volume node affinity conflict"] as const;
const BIND_CONFLICT = ["node(s) didn't find available persistent volumes to bind"] as const;

/** PreFilter and PreBind over the claim, volume and class caches. */
export class VolumeBinding {
  readonly #claims: Lister<KubeObject>;
  readonly #volumes: Lister<KubeObject>;
  readonly #classes: Lister<KubeObject>;
  readonly #pods?: Lister<KubeObject>;
  readonly #client: ControllerClient;

  constructor(
    deps: {
      listers: {
        claims: Lister<KubeObject>;
        volumes: Lister<KubeObject>;
        classes: Lister<KubeObject>;
        /** Pods, for ReadWriteOncePod claims in use. */
        pods?: Lister<KubeObject>;
      };
      client: ControllerClient;
    },
  ) {
    this.#claims = deps.listers.claims;
    this.#volumes = deps.listers.volumes;
    this.#classes = deps.listers.classes;
    this.#pods = deps.listers.pods;
    this.#client = deps.client;
  }

  /**
   * The pod's volume state, `undefined` when it uses no claims, or the message of why it cannot
   * be scheduled anywhere yet.
   */
  preFilter(pod: KubeObject): PodVolumes | { message: string } | undefined {
    const names = claimNames(pod);
    if (names.length === 0) return undefined;
    const ns = pod.metadata.namespace;
    const state: PodVolumes = { bound: [], delayed: [], candidates: [] };
    let unboundImmediate = false;
    for (const name of names) {
      const claim = this.#claims.get(`${ns}/${name}`);
      if (!claim) return { message: `persistentvolumeclaim "${name}" not found` };
      if (claim.metadata.deletionTimestamp) {
        return { message: `persistentvolumeclaim "${name}" is being deleted` };
      }
      if (
        claim.spec?.accessModes?.includes("ReadWriteOncePod") && this.#inUseElsewhere(pod, name)
      ) {
        // VolumeRestrictions: a ReadWriteOncePod claim serves one pod at a time.
        return {
          message:
            "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode",
        };
      }
      const volumeName = claim.spec?.volumeName;
      if (volumeName) {
        const pv = this.#volumes.get(volumeName);
        if (!pv) return { message: `persistentvolume "${volumeName}" not found` };
        state.bound.push(pv);
        continue;
      }
      const sc = this.#classes.get(storageClassOf(claim));
      if (sc?.volumeBindingMode === "WaitForFirstConsumer") {
        state.delayed.push({ claim, storageClass: sc });
      } else {
        unboundImmediate = true;
      }
    }
    if (unboundImmediate) return { message: "pod has unbound immediate PersistentVolumeClaims" };
    if (state.delayed.length) {
      const classes = new Set(state.delayed.map((d) => d.storageClass.metadata.name));
      state.candidates = this.#volumes.list().filter((pv) =>
        classes.has(storageClassOf(pv)) && !pv.metadata.deletionTimestamp
      );
    }
    return state;
  }

  #inUseElsewhere(pod: KubeObject, claimName: string): boolean {
    return (this.#pods?.listNamespace(pod.metadata.namespace!) ?? []).some((other) =>
      other.metadata.uid !== pod.metadata.uid && other.spec?.nodeName &&
      other.status?.phase !== "Succeeded" && other.status?.phase !== "Failed" &&
      claimNames(other).includes(claimName)
    );
  }

  /** Binds or annotates the pod's waiting claims for `nodeName`. */
  async preBind(volumes: PodVolumes, node: KubeObject): Promise<void> {
    const nodeName = node.metadata.name!;
    const taken = new Set<string>();
    for (const { claim } of volumes.delayed) {
      if (claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION] === nodeName) continue;
      const free = volumes.candidates.filter((pv) => !taken.has(pv.metadata.name!));
      const pv = findMatchingVolume(claim, free, { node });
      if (pv) {
        taken.add(pv.metadata.name!);
        if (!pv.spec?.claimRef) {
          const next = structuredClone(pv);
          next.metadata.annotations = {
            ...next.metadata.annotations,
            [BOUND_BY_CONTROLLER_ANNOTATION]: "yes",
          };
          next.spec.claimRef = claimReference(claim);
          await this.#client.update(PERSISTENT_VOLUMES, next);
        }
        continue;
      }
      await this.#client.patch(
        PERSISTENT_VOLUME_CLAIMS,
        claim.metadata.name!,
        { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: nodeName } } },
        { namespace: claim.metadata.namespace, type: "merge" },
      );
    }
  }
}

/** The claim names of a pod's persistentVolumeClaim volumes. */
export function claimNames(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    if (name) out.push(name);
  }
  return out;
}

function topologyAllows(sc: KubeObject, node: NodeInfo): boolean {
  const terms = sc.allowedTopologies as
    | { matchLabelExpressions?: { key: string; values: string[] }[] }[]
    | undefined;
  if (!terms?.length) return true;
  return terms.some((t) =>
    (t.matchLabelExpressions ?? []).every((e) => e.values.includes(node.labels[e.key]))
  );
}

/** Filter `VolumeBinding`: reads the state PreFilter left in `pod.volumes`. */
export const volumeBinding: FilterPlugin = {
  name: "VolumeBinding",
  events: ["Node", "Storage"],
  filter(pod: PodInfo, node: NodeInfo) {
    const state = pod.volumes;
    if (!state) return null;
    for (const pv of state.bound) {
      if (!volumeNodeAffinityMatches(pv, node.node)) return NODE_CONFLICT;
    }
    const taken = new Set<string>();
    for (const { claim, storageClass } of state.delayed) {
      const free = state.candidates.filter((pv) => !taken.has(pv.metadata.name!));
      const pv = findMatchingVolume(claim, free, { node: node.node });
      if (pv) {
        taken.add(pv.metadata.name!);
        continue;
      }
      if (!topologyAllows(storageClass, node)) return BIND_CONFLICT;
      const provisioner = storageClass.provisioner;
      if (provisioner === LOCAL_PATH_PROVISIONER) {
        if (!node.node.metadata.annotations?.[LOCAL_PATH_ROOT_ANNOTATION]) return BIND_CONFLICT;
        continue;
      }
      if (provisioner === NO_PROVISIONER) return BIND_CONFLICT;
    }
    return null;
  },
};
