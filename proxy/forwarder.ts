/**
 * What the TCP and UDP forwarders have in common: the options every service-port listener
 * takes, the interface the listener set drives them through, and the affinity switch.
 */

import type { Logger } from "../shared/log.ts";
import type { PortCounters } from "./metrics.ts";
import type { Backend } from "./round_robin.ts";
import { SessionAffinity } from "./session_affinity.ts";

/** Options shared by {@linkcode TcpForwarder} and {@linkcode UdpForwarder}. */
export interface ForwarderOptions {
  /** Address to listen on (a ClusterIP, node address or external IP). */
  hostname: string;
  /** Port to listen on; 0 picks a free one (see `port` on the forwarder). */
  port: number;
  /** Initial backends. */
  backends?: readonly Backend[];
  /** `sessionAffinity: ClientIP` timeout in seconds; absent means no affinity. */
  affinityTimeoutSeconds?: number;
  /** Counters to bump; none when absent. */
  counters?: PortCounters;
  logger?: Logger;
}

/** One listening service port, as the listener set drives it. */
export interface Forwarder {
  readonly hostname: string;
  readonly port: number;
  readonly backends: readonly Backend[];
  /** Replaces the backend list atomically. */
  setBackends(backends: readonly Backend[]): void;
  /** Turns `ClientIP` affinity on with a timeout (seconds), or off with `undefined`. */
  setAffinity(timeoutSeconds: number | undefined): void;
  /** Stops listening and ends every connection or session. */
  close(): Promise<void>;
}

/**
 * The affinity table for `timeoutSeconds`: `current` when its timeout already matches (pins
 * kept), a fresh table when it changed, `undefined` when affinity is off.
 */
export function affinityFor(
  current: SessionAffinity | undefined,
  timeoutSeconds: number | undefined,
): SessionAffinity | undefined {
  if (timeoutSeconds === undefined) return undefined;
  if (current?.timeoutMs === timeoutSeconds * 1000) return current;
  return new SessionAffinity({ timeoutSeconds });
}
