/**
 * Termination messages as the kubelet keeps them: each container instance gets a host file
 * (under the pod directory) bind-mounted at its `terminationMessagePath`; when the container has
 * exited, the last 4096 bytes of that file become `state.terminated.message`. With
 * `terminationMessagePolicy: FallbackToLogsOnError`, an empty file and a non-zero exit code
 * take the message from the end of the container's log instead (the last 80 lines, at most
 * 2048 bytes).
 */

import type { Docker, DockerRuntime } from "./docker_runtime.ts";
import type { Container } from "./pod_types.ts";

/** The kubelet's `MaxContainerTerminationMessageLength`. */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;
/** The kubelet's `MaxContainerTerminationMessageLogLines`. */
export const MAX_TERMINATION_LOG_LINES = 80;
/** The kubelet's `MaxContainerTerminationMessageLogLength`. */
export const MAX_TERMINATION_LOG_BYTES = 2048;

/** The host file backing one container instance's termination message. */
export function terminationMessageFile(
  podDirectory: string,
  container: string,
  restartCount: number,
): string {
  return `${podDirectory}/containers/${container}/termination-log-${restartCount}`;
}

/**
 * Creates the (empty, world-writable, as the kubelet makes it: the container may run as any
 * user) termination message file of an instance and returns its bind, or none when the
 * container has no `terminationMessagePath`.
 */
export async function terminationMessageBind(
  container: Container,
  file: string,
): Promise<string[]> {
  const path = container.terminationMessagePath;
  if (!path) return [];
  await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(file, new Uint8Array());
  await Deno.chmod(file, 0o666);
  return [`${file}:${path}`];
}

/** The bytes of `data` after its last `max` (the kubelet's `tail.ReadAtMost`). */
function lastBytes(data: Uint8Array, max: number): Uint8Array {
  return data.length > max ? data.subarray(data.length - max) : data;
}

async function logTail(rt: DockerRuntime, id: string): Promise<string> {
  const stream = await rt.logs(id, { tail: MAX_TERMINATION_LOG_LINES });
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    while (size < MAX_TERMINATION_LOG_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  // As the kubelet's log reader with LimitBytes: the first bytes of the tail.
  return new TextDecoder().decode(all.subarray(0, MAX_TERMINATION_LOG_BYTES));
}

/**
 * The termination message of an exited container instance ("" when there is none). `file` is
 * the instance's host file (see {@linkcode terminationMessageFile}).
 */
export async function readTerminationMessage(
  container: Container,
  target: { rt: DockerRuntime; info: Docker.ContainerInspectInfo; file: string },
): Promise<string> {
  const fallback = container.terminationMessagePolicy === "FallbackToLogsOnError" &&
    target.info.State.ExitCode !== 0;
  let message = "";
  if (container.terminationMessagePath) {
    try {
      message = new TextDecoder().decode(
        lastBytes(await Deno.readFile(target.file), MAX_TERMINATION_MESSAGE_BYTES),
      );
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        return `Error on reading termination log ${target.file}: ${(e as Error).message}`;
      }
    }
  }
  if (message === "" && fallback) {
    message = await logTail(target.rt, target.info.Id).catch(() => "");
  }
  return message;
}
