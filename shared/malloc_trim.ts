/**
 * Gives memory that the C allocator holds but no longer uses back to the system, periodically,
 * in the long-running node processes (`skiff agent`, `skiff proxy`), whose private memory is
 * budgeted on a Pi.
 *
 * Why: Deno's native side (the HTTP client reading watch streams, socket buffers) allocates and
 * frees many short-lived buffers through glibc's malloc on several threads, and glibc keeps freed
 * memory inside its arenas. Measured on a node's Services informer (1,000 Services arriving as
 * watch events, this 2-core machine): private memory grew 7–13 MiB while the V8 heap grew
 * 1.1 MiB; one `malloc_trim(0)` afterwards brought it back to where it started (55.0 → 41.2 MiB
 * private, start 42.1). Setting MALLOC_ARENA_MAX/thresholds through the environment helped less
 * and needs every launcher to set them; `mallopt` after start helped less still (threads already
 * own arenas).
 *
 * How: `malloc_trim(3)` through Deno's FFI (stable since Deno 2; `-A` grants `--allow-ffi`),
 * every 30 s on an unref'd timer. A trim walks the allocator's free lists: well under a
 * millisecond at these sizes. Without glibc (musl) or FFI permission this does nothing and says
 * why at debug level.
 */
import type { Logger } from "./log.ts";

/** How often node processes trim. */
export const MALLOC_TRIM_INTERVAL_MS = 30_000;

type Libc = Deno.DynamicLibrary<{ malloc_trim: { parameters: ["usize"]; result: "i32" } }>;

/** Opens glibc's `malloc_trim`, or returns undefined (and says why) where it is not available. */
function openLibc(logger?: Logger): Libc | undefined {
  try {
    return Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
  } catch (err) {
    logger?.debug("malloc trimming unavailable", { reason: (err as Error).message });
    return undefined;
  }
}

/** Trims once; returns false where glibc's `malloc_trim` is not available. */
export function trimMallocNow(logger?: Logger): boolean {
  const libc = openLibc(logger);
  if (!libc) return false;
  libc.symbols.malloc_trim(0n);
  libc.close();
  return true;
}

/**
 * Trims every `intervalMs` until `signal` aborts; the timer never keeps the process alive.
 * Returns false (and starts nothing) where glibc's `malloc_trim` is not available.
 */
export function startMallocTrimmer(
  signal: AbortSignal,
  opts: { intervalMs?: number; logger?: Logger } = {},
): boolean {
  const libc = openLibc(opts.logger);
  if (!libc) return false;
  const timer = setInterval(
    () => libc.symbols.malloc_trim(0n),
    opts.intervalMs ?? MALLOC_TRIM_INTERVAL_MS,
  );
  Deno.unrefTimer(timer);
  signal.addEventListener("abort", () => {
    clearInterval(timer);
    libc.close();
  }, { once: true });
  return true;
}
