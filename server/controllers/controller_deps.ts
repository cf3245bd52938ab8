/**
 * What a class-shaped controller is built from, as client-go's listers and clientset: typed
 * read-only caches (`Lister`, satisfied by an `Informer`), the writes it may make
 * (`ControllerClient`, satisfied by `ApiClient`), an event recorder and a clock. Unit tests pass
 * fakes of each (`_fakes_test_util.ts`).
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { ApiClient } from "../../shared/client/client.ts";

/** A read-only view of one kind's cache (an `Informer` is one). */
export interface Lister<T extends KubeObject = KubeObject> {
  /** The object with key `namespace/name` (or `name`). */
  get(key: string): T | undefined;
  /** Every object. */
  list(): T[];
  /** Objects under `value` of a named index (`namespace`, `controller`, …). */
  byIndex(indexName: string, value: string): T[];
}

/** The API writes a controller makes (an `ApiClient` is one). */
export type ControllerClient = Pick<
  ApiClient,
  "create" | "update" | "updateStatus" | "patch" | "delete" | "get"
>;

/** Where a controller records Events (an `EventRecorder` is one). */
export interface Recorder {
  record(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
}

/** The controller's notion of now (ms since epoch). */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const realClock: Clock = { now: () => Date.now() };
