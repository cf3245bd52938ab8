/**
 * Assertion helpers over the controller kit's fakes (shared/testing/) for table-driven
 * reconciler tests: the calls of one verb on main resources, the last status written, and events
 * as `Type Reason message` lines.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import type { FakeRecorder, RecordedCall, RecordingClient } from "../../shared/testing/mod.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** The recorded calls of one verb on main resources (status writes excluded). */
export function callsOf(client: RecordingClient, verb: string): RecordedCall[] {
  return client.calls.filter((c) => c.verb === verb && c.subresource === undefined);
}

/** The status of the last status write, if any. */
export function lastStatus(client: RecordingClient): Obj | undefined {
  const last = client.calls.filter((c) => c.subresource === "status").at(-1);
  return (last?.body as KubeObject | undefined)?.status;
}

/** The recorded events as `Type Reason message`. */
export function eventLines(recorder: FakeRecorder): string[] {
  return recorder.events.map((e) => `${e.type} ${e.reason} ${e.message}`);
}
