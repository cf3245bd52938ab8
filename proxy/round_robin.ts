/**
 * Round-robin choice among a service port's ready backends. The backend list is an immutable
 * array swapped atomically, so a swap never disturbs a connection that already picked a backend,
 * and the rotation carries on from where it was.
 */

/** One backend of a service port: a node address and the host port the agent published. */
export interface Backend {
  address: string;
  port: number;
  /** The node the endpoint runs on (Endpoints `nodeName`), for traffic policies. */
  nodeName?: string;
}

/** `address:port` (`[addr]:port` for IPv6), the identity of a backend. */
export function backendKey(backend: Backend): string {
  return backend.address.includes(":")
    ? `[${backend.address}]:${backend.port}`
    : `${backend.address}:${backend.port}`;
}

/** The rotating cursor over one service port's backends. */
export class RoundRobin {
  #backends: readonly Backend[] = [];
  #next = 0;

  constructor(backends: readonly Backend[] = []) {
    this.set(backends);
  }

  /** The current list (frozen; replace it with {@linkcode RoundRobin.set}). */
  get backends(): readonly Backend[] {
    return this.#backends;
  }

  /** Replaces the backend list in one step; callers holding a backend keep using it. */
  set(backends: readonly Backend[]): void {
    this.#backends = Object.freeze([...backends]);
    if (this.#next >= this.#backends.length) this.#next = 0;
  }

  /** The next backend in turn, or `undefined` when there is none. */
  next(): Backend | undefined {
    const list = this.#backends;
    if (list.length === 0) return undefined;
    const backend = list[this.#next % list.length];
    this.#next = (this.#next + 1) % list.length;
    return backend;
  }

  /**
   * Every backend once, starting with the next in turn (which advances the rotation by one):
   * the order in which one new connection tries them when connecting fails.
   */
  attempts(): readonly Backend[] {
    const list = this.#backends;
    if (list.length === 0) return list;
    const start = this.#next % list.length;
    this.#next = (start + 1) % list.length;
    // The list itself when it starts the turn (it is frozen), else one rotated copy: this runs
    // once per proxied connection or request.
    if (start === 0) return list;
    const out = new Array<Backend>(list.length);
    for (let i = 0; i < list.length; i++) out[i] = list[(start + i) % list.length];
    return out;
  }
}
