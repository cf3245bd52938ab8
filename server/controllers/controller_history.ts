/**
 * Controller history, as Kubernetes' `controller/history` package: the ControllerRevisions a
 * DaemonSet or StatefulSet keeps of its pod template. A revision's `data` is the strategic merge
 * patch `{"spec":{"template":{…,"$patch":"replace"}}}` that `kubectl rollout undo` sends back
 * to the owner, and `revision` orders them. Claiming (adopt matching orphans, release owned
 * revisions that stop matching), the next revision number and template matching live here.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { CONTROLLERREVISIONS } from "../../shared/client/refs.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../shared/errors.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import type { Selector } from "../../shared/labels.ts";
import { controllerRef, newControllerRef } from "./controller_utils.ts";
import type { ControllerClient } from "../../shared/client/controller_client.ts";
import { podTemplateHash, templatesEqual } from "./rolling_update.ts";

/** A ControllerRevision as the controllers read it. */
export type Revision = KubeObject & { data?: Record<string, unknown>; revision: number };

/** The `data` of a revision of `template`: the patch that restores it. */
export function revisionData(template: unknown): Record<string, unknown> {
  return {
    spec: { template: { ...(structuredClone(template ?? {}) as object), $patch: "replace" } },
  };
}

/** The pod template a revision holds (its patch without the `$patch` directive). */
export function revisionTemplate(rev: Revision): unknown {
  const t = (rev.data?.spec as { template?: Record<string, unknown> } | undefined)?.template;
  if (!t) return {};
  const { $patch: _, ...rest } = t;
  return rest;
}

/** Whether `rev` holds `template` (Kubernetes' `Match`, comparing the patches). */
export function revisionMatches(template: unknown, rev: Revision): boolean {
  return templatesEqual(template, revisionTemplate(rev));
}

/** The hash naming a revision of `template` (collisionCount makes a colliding name unique). */
export function revisionHash(template: unknown, collisionCount = 0): string {
  return podTemplateHash(template, collisionCount);
}

/** One more than the highest revision number (1 for none). */
export function nextRevision(revisions: readonly Revision[]): number {
  return revisions.reduce((m, r) => Math.max(m, r.revision ?? 0), 0) + 1;
}

/** Oldest revision first (by number, then creation, then name), as Kubernetes sorts history. */
export function sortRevisions(revisions: readonly Revision[]): Revision[] {
  return [...revisions].sort((a, b) =>
    (a.revision - b.revision) ||
    (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
    (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "")
  );
}

/** What {@linkcode newRevision} builds. */
export interface NewRevisionOptions {
  /** Owner kind for the controller reference. */
  type: { apiVersion: string; kind: string };
  template: unknown;
  revision: number;
  /** The revision's name suffix. */
  hash: string;
  /** Labels of the revision (the template's plus the controller's hash label). */
  labels: Record<string, string>;
}

/** A new ControllerRevision of `owner` (annotations copied from the owner, as Kubernetes). */
export function newRevision(owner: KubeObject, options: NewRevisionOptions): Revision {
  const rev: Revision = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: `${owner.metadata.name}-${options.hash}`,
      namespace: owner.metadata.namespace,
      labels: options.labels,
      ownerReferences: [newControllerRef(owner, options.type)],
    },
    data: revisionData(options.template),
    revision: options.revision,
  };
  if (owner.metadata.annotations) rev.metadata.annotations = { ...owner.metadata.annotations };
  return rev;
}

/**
 * The revisions `owner` controls, claimed as Kubernetes' ControllerRevisionControllerRefManager:
 * owned ones that still match the selector are kept, matching orphans are adopted, owned ones
 * that stop matching are released. `candidates` are the namespace's revisions.
 */
export async function claimRevisions(
  client: ControllerClient,
  owner: KubeObject,
  options: {
    selector: Selector;
    type: { apiVersion: string; kind: string };
    candidates: readonly Revision[];
  },
): Promise<Revision[]> {
  const uid = owner.metadata.uid!;
  const deleting = !!owner.metadata.deletionTimestamp;
  const out: Revision[] = [];
  for (const rev of options.candidates) {
    const ref = controllerRef(rev);
    const matches = options.selector.matches(rev.metadata.labels);
    if (ref && ref.uid !== uid) continue;
    if (ref && (matches || deleting)) {
      out.push(rev);
      continue;
    }
    if (!ref && (!matches || deleting || rev.metadata.deletionTimestamp)) continue;
    const refs = (rev.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
    if (!ref) refs.push(newControllerRef(owner, options.type));
    try {
      const patched = await client.patch<Revision>(CONTROLLERREVISIONS, rev.metadata.name!, {
        metadata: { uid: rev.metadata.uid, ownerReferences: refs },
      }, { namespace: rev.metadata.namespace, type: "merge" });
      if (!ref) out.push(patched);
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }
  return out;
}

/** What {@linkcode createRevision} needs besides the owner. */
export interface CreateRevisionOptions {
  /** The owner's kind (for the controller reference) and its resource (for its status). */
  type: { apiVersion: string; kind: string };
  ownerResource: ResourceRef;
  /** The label naming the revision's hash on the revision (the controller's own). */
  hashLabel: string;
  revision: number;
}

/**
 * Creates the next ControllerRevision of `owner`'s pod template, as Kubernetes' history helper:
 * an existing revision of the same name is reused when it is the owner's and holds the same
 * template; otherwise the name collides, so the owner's `status.collisionCount` is bumped (the
 * next hash differs) and the call throws to be retried.
 */
export async function createRevision(
  client: ControllerClient,
  owner: KubeObject,
  options: CreateRevisionOptions,
): Promise<Revision> {
  const collisionCount: number = owner.status?.collisionCount ?? 0;
  const template = owner.spec?.template;
  const hash = revisionHash(template, collisionCount);
  const rev = newRevision(owner, {
    type: options.type,
    template,
    revision: options.revision,
    hash,
    labels: { ...template?.metadata?.labels, [options.hashLabel]: hash },
  });
  try {
    return await client.create<Revision>(CONTROLLERREVISIONS, rev);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await client.get<Revision>(CONTROLLERREVISIONS, rev.metadata.name!, {
      namespace: owner.metadata.namespace,
    });
    if (
      controllerRef(existing)?.uid === owner.metadata.uid && revisionMatches(template, existing)
    ) {
      return existing;
    }
    await client.updateStatus(options.ownerResource, {
      ...owner,
      status: { ...owner.status, collisionCount: collisionCount + 1 },
    });
    throw new Error(`found a hash collision for ${options.type.kind} "${owner.metadata.name}"`);
  }
}
