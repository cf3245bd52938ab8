/**
 * Reads away what a handler left of a request body before its response goes out. Over HTTP/2,
 * Deno answers a request whose body was not read to the end with the response and then a
 * RST_STREAM; curl reports that as error 92 ("Stream error in the HTTP/2 framing layer") and
 * loses the response — every early 401/403/404/405/413 to a curl upload. Draining first makes
 * the stream end cleanly. The drain is bounded in bytes and time; past either, the body is
 * cancelled as before.
 */

/** Most bytes read away from one request body. */
export const DRAIN_MAX_BYTES = 16 * 1024 * 1024;
/** Longest a drain waits for a slow client. */
export const DRAIN_MAX_MS = 10_000;

/** Wraps a `Deno.serve` handler so that every request body is consumed before the response. */
export function drainingHandler(
  handler: (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>,
): (req: Request, info: Deno.ServeHandlerInfo) => Promise<Response> {
  return async function drainThenRespond(req, info) {
    // An upgraded request (exec, attach, port-forward WebSockets) has no body to drain, and
    // once upgraded it may not even be read: its connection belongs to the WebSocket.
    if (req.headers.get("upgrade")) return await handler(req, info);
    try {
      return await handler(req, info);
    } finally {
      await drainBody(req);
    }
  };
}

/** Reads and discards the rest of `req`'s body (nothing when it was read or is in use). */
export async function drainBody(
  req: Request,
  limits: { maxBytes?: number; maxMs?: number } = {},
): Promise<void> {
  const body = req.body;
  if (!body || body.locked) return;
  const maxBytes = limits.maxBytes ?? DRAIN_MAX_BYTES;
  const reader = body.getReader();
  const timer = setTimeout(() => reader.cancel().catch(() => {}), limits.maxMs ?? DRAIN_MAX_MS);
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > maxBytes) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The client went away or the timer cancelled the read: nothing left to drain.
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}
