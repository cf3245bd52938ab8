/**
 * Kubernetes timestamps: `metav1.Time` is RFC 3339 at second precision in UTC
 * (`2026-01-02T03:04:05Z`); `metav1.MicroTime` (Lease renewTime, Event series) carries
 * microseconds. The one place Skiff formats them.
 */

/** The last second formatted by {@linkcode rfc3339}: writes come many to a second. */
let cachedSecond = NaN;
let cachedText = "";

/** `metav1.Time`: RFC 3339, UTC, whole seconds. Takes a Date or ms since the epoch (default now). */
export function rfc3339(at: Date | number = Date.now()): string {
  const ms = typeof at === "number" ? at : at.getTime();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    // An invalid date throws here, as toISOString() does.
    cachedText = new Date(second * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    cachedSecond = second;
  }
  return cachedText;
}

/** `metav1.MicroTime`: RFC 3339, UTC, six fractional digits (JavaScript has milliseconds). */
export function rfc3339Micro(at: Date | number = Date.now()): string {
  const d = typeof at === "number" ? new Date(at) : at;
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
