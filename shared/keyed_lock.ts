/**
 * One async section per key at a time (a per-key mutex): calls for a key run in order, each once
 * the one before it has settled, passed or thrown; different keys do not wait for each other.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `fn` after every earlier call for `key` has finished; resolves or rejects as it does. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(() => {}, () => {});
    this.#tails.set(key, tail);
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** How many keys have a call running or waiting. */
  get size(): number {
    return this.#tails.size;
  }
}
