/**
 * Informers for the kinds CustomResourceDefinitions add, for the controllers that act on every
 * kind (the garbage collector, the namespace controller) — what kube-controller-manager gets from
 * periodic discovery, here driven by the CRD informer: an established CRD gets one informer on
 * its preferred served version, started at once; a CRD that is gone has its informer stopped.
 * One set per InformerSet, shared by every controller of the process.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ResourceRef } from "../../shared/api/resource_info.ts";
import { apiVersionOf } from "../../shared/api/resource_info.ts";
import { findResource } from "../../shared/api/resources.ts";
import { Informer } from "../../shared/informer.ts";
import type { InformerSet } from "../../shared/informer_set.ts";
import { compareVersions } from "../apiextensions/custom_resources.ts";

const CRDS = findResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;

/** One custom resource kind being watched. */
export interface CustomKind {
  /** The preferred served version's reference. */
  ref: ResourceRef;
  informer: Informer<KubeObject>;
  /** Every served apiVersion (owner references may name any of them). */
  apiVersions: string[];
}

/** Callbacks of {@linkcode CustomResourceInformers.subscribe}. */
export interface CustomKindHandlers {
  onAdd(kind: CustomKind): void;
  onRemove(kind: CustomKind): void;
}

// deno-lint-ignore no-explicit-any
type Crd = KubeObject & { spec: any; status?: any };

/** See the module comment. */
export class CustomResourceInformers {
  readonly #set: InformerSet;
  readonly #signal: AbortSignal;
  readonly #kinds = new Map<string, CustomKind & { stop: AbortController }>();
  readonly #handlers: CustomKindHandlers[] = [];

  constructor(set: InformerSet, signal: AbortSignal) {
    this.#set = set;
    this.#signal = signal;
    const crds = set.get<Crd>(CRDS);
    crds.addEventHandler({
      onAdd: (crd) => this.#sync(crd),
      onUpdate: (_old, crd) => this.#sync(crd),
      onDelete: (crd) => this.#remove(crd.metadata.name!),
    });
  }

  /** The CRD informer (for waiting on its sync). */
  get crds(): Informer<Crd> {
    return this.#set.get<Crd>(CRDS);
  }

  /** Calls `handlers` for every kind watched now and later. */
  subscribe(handlers: CustomKindHandlers): void {
    this.#handlers.push(handlers);
    for (const k of this.#kinds.values()) handlers.onAdd(k);
  }

  /** The kind of an owner reference's apiVersion and kind, if a CRD serves it. */
  resolve(apiVersion: string, kind: string): ResourceRef | undefined {
    for (const k of this.#kinds.values()) {
      if (k.ref.kind === kind && k.apiVersions.includes(apiVersion)) return k.ref;
    }
    return undefined;
  }

  #sync(crd: Crd): void {
    const name = crd.metadata.name!;
    const established = (crd.status?.conditions ?? []).some((c: { type: string; status: string }) =>
      c.type === "Established" && c.status === "True"
    );
    const served = (crd.spec.versions as { name: string; served: boolean }[])
      .filter((v) => v.served).map((v) => v.name).sort(compareVersions);
    if (!established || served.length === 0) return;
    const names = crd.status?.acceptedNames?.plural ? crd.status.acceptedNames : crd.spec.names;
    const ref: ResourceRef = {
      group: crd.spec.group,
      version: served[0],
      plural: names.plural,
      kind: names.kind,
      namespaced: crd.spec.scope === "Namespaced",
    };
    const apiVersions = served.map((version) => apiVersionOf({ group: ref.group, version }));
    const current = this.#kinds.get(name);
    if (current && JSON.stringify(current.ref) === JSON.stringify(ref)) {
      current.apiVersions = apiVersions;
      return;
    }
    if (current) this.#remove(name);
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    this.#signal.addEventListener("abort", onAbort, { once: true });
    stop.signal.addEventListener("abort", () => this.#signal.removeEventListener("abort", onAbort));
    const informer = new Informer<KubeObject>(this.#set.client, ref);
    informer.run(stop.signal).catch(() => {});
    const kind = { ref, informer, apiVersions, stop };
    this.#kinds.set(name, kind);
    for (const h of this.#handlers) h.onAdd(kind);
  }

  #remove(name: string): void {
    const kind = this.#kinds.get(name);
    if (!kind) return;
    this.#kinds.delete(name);
    kind.stop.abort();
    for (const h of this.#handlers) h.onRemove(kind);
  }
}

const perSet = new WeakMap<InformerSet, CustomResourceInformers>();

/** The process's custom resource informers of `set` (created on first use, under `signal`). */
export function customResourceInformers(
  set: InformerSet,
  signal: AbortSignal,
): CustomResourceInformers {
  let c = perSet.get(set);
  if (!c) {
    c = new CustomResourceInformers(set, signal);
    perSet.set(set, c);
  }
  return c;
}
