/**
 * Images for pods: applies `imagePullPolicy` (Always / IfNotPresent / Never, defaulting as
 * Kubernetes does), pulls with per-container back-off (ErrImagePull, then ImagePullBackOff), and
 * loads every `*.tar` / `*.tar.gz` dropped into `<data-dir>/images/` — at start and whenever a file
 * appears — so air-gapped nodes get their images without a registry.
 *
 * Private registries, as the kubelet: only when a pull is due, the pod's pull-secret keyring
 * (docker_keyring.ts) gives the credentials matching the image; each is tried in turn until one
 * pull succeeds (the failure then lists every error), and the pull is anonymous only when none
 * matches. An image already present is used under IfNotPresent without looking at credentials
 * (the kubelet's default; its "ensure secret pulled images" check is an alpha feature).
 */

import { type Logger, silentLogger } from "../shared/log.ts";
import type { DockerRuntime } from "./docker_runtime.ts";
import { delay } from "../shared/backoff.ts";
import { aggregateMessage } from "../shared/errors.ts";
import type { Container } from "./pod_types.ts";
import { type DockerKeyring, registryAuthHeader } from "./docker_keyring.ts";

/** What the image manager needs of the container runtime. */
export type ImageRuntime = Pick<DockerRuntime, "inspectImage" | "pullImage" | "loadImage">;

/** Result of {@linkcode ImageManager.ensure}: ready, or why the container must wait. */
export type ImageResult =
  | { ok: true; pulled: boolean; durationMs: number }
  | {
    ok: false;
    reason: "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull" | "InvalidImageName";
    message: string;
    retryInMs?: number;
  };

/** Options for {@linkcode ImageManager}. */
export interface ImageManagerOptions {
  /** First pull back-off (default 10 s), doubling up to `backoffMaxMs` (default 5 min). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  logger?: Logger;
}

/** The effective pull policy: the spec's, else Always for `:latest`/untagged, else IfNotPresent. */
export function pullPolicy(container: Container): string {
  if (container.imagePullPolicy) return container.imagePullPolicy;
  const image = container.image ?? "";
  if (image.includes("@")) return "IfNotPresent";
  const lastPart = image.slice(image.lastIndexOf("/") + 1);
  const tag = lastPart.includes(":") ? lastPart.slice(lastPart.indexOf(":") + 1) : "";
  return tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
}

/** Docker's words (Go's net errors) for a registry that could not be reached at all. */
const REGISTRY_UNREACHABLE =
  /dial tcp|no such host|connection refused|i\/o timeout|network is unreachable|no route to host|TLS handshake timeout|Client\.Timeout exceeded|context deadline exceeded/;

interface PullBackoff {
  delayMs: number;
  until: number;
  message: string;
}

/** Pulls and loads images for one node. */
export class ImageManager {
  readonly #rt: ImageRuntime;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #log: Logger;
  readonly #backoff = new Map<string, PullBackoff>();
  readonly #pulls = new Map<string, Promise<void>>();

  constructor(rt: ImageRuntime, options: ImageManagerOptions = {}) {
    this.#rt = rt;
    this.#initialMs = options.backoffInitialMs ?? 10_000;
    this.#maxMs = options.backoffMaxMs ?? 300_000;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * Makes the container's image available according to its pull policy. `key` identifies the
   * container for back-off (`<pod uid>/<container>`). `keyring` gives the pod's pull-secret
   * credentials (asked only when a pull is due; a throw fails the pull with its message), and
   * `onPulling` runs just before a pull.
   */
  async ensure(
    key: string,
    container: Container,
    hooks: { onPulling?: () => void; keyring?: () => Promise<DockerKeyring> } = {},
  ): Promise<ImageResult> {
    const image = container.image ?? "";
    if (!image) return { ok: false, reason: "InvalidImageName", message: "no image given" };
    const policy = pullPolicy(container);
    const started = Date.now();
    const present = async () => (await this.#rt.inspectImage(image)) !== undefined;
    if (policy === "Never") {
      if (await present()) return { ok: true, pulled: false, durationMs: 0 };
      return {
        ok: false,
        reason: "ErrImageNeverPull",
        message: `Container image "${image}" is not present with pull policy of Never`,
      };
    }
    if (policy !== "Always" && await present()) return { ok: true, pulled: false, durationMs: 0 };
    const b = this.#backoff.get(key);
    if (b && Date.now() < b.until) {
      return {
        ok: false,
        reason: "ImagePullBackOff",
        message: `Back-off pulling image "${image}": ${b.message}`,
        retryInMs: b.until - Date.now(),
      };
    }
    try {
      const credentials = hooks.keyring ? (await hooks.keyring()).lookup(image) : [];
      hooks.onPulling?.();
      await this.#pullWith(image, credentials.map(registryAuthHeader));
      this.#backoff.delete(key);
      return { ok: true, pulled: true, durationMs: Date.now() - started };
    } catch (e) {
      const message = (e as Error).message;
      // Air-gapped nodes: with Always, an image already loaded locally still runs when no
      // registry could be reached — never when one answered and refused, so that under Always a
      // private image runs only for pods whose credentials the registry accepts, as Kubernetes.
      if (policy === "Always" && REGISTRY_UNREACHABLE.test(message) && await present()) {
        this.#log.debug("pull failed; using the local image", { image, error: message });
        return { ok: true, pulled: false, durationMs: 0 };
      }
      const delayMs = b ? Math.min(b.delayMs * 2, this.#maxMs) : this.#initialMs;
      this.#backoff.set(key, { delayMs, until: Date.now() + delayMs, message });
      return { ok: false, reason: "ErrImagePull", message, retryInMs: delayMs };
    }
  }

  /** Forgets pull back-off (after new images were loaded, retry at once). */
  resetBackoff(): void {
    this.#backoff.clear();
  }

  /** Drops the back-off entries of a pod (`<uid>/` prefix). */
  forget(uid: string): void {
    for (const k of this.#backoff.keys()) if (k.startsWith(`${uid}/`)) this.#backoff.delete(k);
  }

  /**
   * Pulls anonymously when `auths` is empty, else with each credential in turn until one works;
   * when all fail, the error lists each (one alone, else `[a, b]`, as the kubelet's aggregate).
   */
  async #pullWith(image: string, auths: string[]): Promise<void> {
    if (auths.length === 0) return await this.#pull(image);
    const errors: string[] = [];
    for (const auth of auths) {
      try {
        return await this.#pull(image, auth);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    throw new Error(aggregateMessage(errors));
  }

  /** One pull; concurrent pulls of the same image with the same credential share it. */
  #pull(image: string, registryAuth?: string): Promise<void> {
    const key = `${image}\0${registryAuth ?? ""}`;
    let p = this.#pulls.get(key);
    if (!p) {
      p = this.#rt.pullImage(image, { registryAuth }).finally(() => this.#pulls.delete(key));
      this.#pulls.set(key, p);
    }
    return p;
  }

  /**
   * Loads every image tarball in `dir` now, then again whenever a file there is added or
   * changed, until `signal` aborts. `onLoaded` runs after each load that brought images.
   */
  async watchImageDir(
    dir: string,
    signal: AbortSignal,
    onLoaded: (refs: string[]) => void,
  ): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    const seen = new Map<string, string>();
    const scan = async () => {
      const loaded: string[] = [];
      let entries: Deno.DirEntry[] = [];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (e) {
        this.#log.warn("cannot read the images directory", { dir, error: e });
      }
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (!e.isFile || !/\.tar(\.gz)?$|\.tgz$/.test(e.name)) continue;
        const path = `${dir}/${e.name}`;
        let st: Deno.FileInfo;
        try {
          st = await Deno.stat(path);
        } catch {
          continue;
        }
        const stamp = `${st.size}:${st.mtime?.getTime()}`;
        if (seen.get(path) === stamp) continue;
        // A file still being written changes size between two looks: wait for it to settle.
        await delay(100, signal);
        const again = await Deno.stat(path).catch(() => undefined);
        if (!again || `${again.size}:${again.mtime?.getTime()}` !== stamp) continue;
        try {
          const refs = await this.#rt.loadImage(path);
          seen.set(path, stamp);
          this.#log.info("loaded images", { file: e.name, images: refs.join(",") });
          loaded.push(...refs);
        } catch (err) {
          seen.set(path, stamp);
          this.#log.warn("cannot load image tarball", { file: e.name, error: err });
        }
      }
      if (loaded.length) onLoaded(loaded);
    };
    await scan();
    let watcher: Deno.FsWatcher | undefined;
    try {
      watcher = Deno.watchFs(dir, { recursive: false });
    } catch (e) {
      this.#log.warn("cannot watch the images directory; polling", { dir, error: e });
    }
    const onAbort = () => watcher?.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (watcher) {
        // Poll as well, rarely: some filesystems (bind mounts, NFS) never deliver events.
        const poll = (async () => {
          while (!signal.aborted) {
            await delay(5000, signal);
            if (!signal.aborted) await scan();
          }
        })();
        let pending = false;
        for await (const _ of watcher) {
          if (pending) continue;
          pending = true;
          await delay(50, signal);
          pending = false;
          if (!signal.aborted) await scan();
        }
        await poll;
      } else {
        while (!signal.aborted) {
          await delay(1000, signal);
          if (!signal.aborted) await scan();
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}
