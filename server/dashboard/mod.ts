/**
 * The built-in web dashboard at `/dashboard/`: three static assets (the HTML shell, the
 * stylesheet and the script) served without authentication, since they hold no data. The page
 * signs in with an API token kept in the tab's sessionStorage and then makes ordinary API
 * requests with it, so what a token sees and may do is decided by the API's authorizer alone.
 *
 * The script is the source text of the functions in client.ts (type-checked with the DOM types,
 * sent as the JavaScript Deno already compiled them to), so there is no build step and the page
 * also works from the bundled `skiff.js`.
 */
import type { Hono } from "hono";
import { sha256Hex } from "../../shared/crypto_util.ts";
import * as client from "./client.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML } from "./page.ts";

interface Asset {
  body: string;
  type: string;
  etag: string;
}

/** The page's script: every function of client.ts, then a call of its entry point. */
export function clientScript(): string {
  const fns = Object.values(client).filter((v): v is (...a: never[]) => unknown =>
    typeof v === "function"
  );
  return `"use strict";\n${fns.map(String).join("\n\n")}\n\n${client.dashMain.name}();\n`;
}

let assets: Map<string, Asset> | undefined;

async function loadAssets(): Promise<Map<string, Asset>> {
  if (assets) return assets;
  const entries: [string, string, string][] = [
    ["/dashboard/", DASHBOARD_HTML, "text/html; charset=utf-8"],
    ["/dashboard/app.css", DASHBOARD_CSS, "text/css; charset=utf-8"],
    ["/dashboard/app.js", clientScript(), "text/javascript; charset=utf-8"],
  ];
  const out = new Map<string, Asset>();
  for (const [path, body, type] of entries) {
    out.set(path, { body, type, etag: `"${(await sha256Hex(body)).slice(0, 24)}"` });
  }
  assets = out;
  return out;
}

/** The size in bytes of everything the first load transfers (uncompressed). */
export async function dashboardPageWeight(): Promise<number> {
  let n = 0;
  for (const a of (await loadAssets()).values()) n += new TextEncoder().encode(a.body).length;
  return n;
}

/**
 * Mounts the dashboard's routes. Call before the authentication middleware: the assets are
 * public, and the API requests the page makes carry the user's token.
 */
// deno-lint-ignore no-explicit-any
export function mountDashboard(app: Hono<any>): void {
  app.get("/dashboard", (c) => c.redirect("/dashboard/", 301));
  app.get("/dashboard/*", async (c) => {
    const asset = (await loadAssets()).get(c.req.path);
    if (!asset) return c.text("not found", 404);
    const headers: Record<string, string> = {
      "Content-Type": asset.type,
      "ETag": asset.etag,
      "Cache-Control": "no-cache",
      // Everything comes from this server; the page never loads another origin's code.
      "Content-Security-Policy":
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
        "frame-ancestors 'none'",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    };
    if (c.req.header("if-none-match") === asset.etag) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(asset.body, { headers });
  });
}
