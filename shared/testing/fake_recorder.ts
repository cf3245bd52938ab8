/** `FakeRecorder`: a `Recorder` that keeps the events instead of writing them. */
import { type KubeObject, objectKey } from "../api/object.ts";
import type { Recorder } from "../events.ts";

/** One recorded event. */
export interface RecordedEvent {
  /** `namespace/name` of the involved object. */
  object: string;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** Records events in memory; `reasons()` is what most assertions need. */
export class FakeRecorder implements Recorder {
  readonly events: RecordedEvent[] = [];

  record(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    this.events.push({ object: objectKey(obj), type, reason, message });
  }

  /** The reasons recorded so far, in order. */
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}
