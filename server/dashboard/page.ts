/**
 * The dashboard's HTML shell and stylesheet. No external assets: system fonts, inline SVG,
 * colours from CSS variables with a dark variant (`prefers-color-scheme`), and a layout that
 * works from a 360 px phone up (columns kubectl marks as wide are hidden on narrow screens).
 */

/** The page (`/dashboard/`). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Skiff</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="#/overview"><svg class="logo" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M12 2v14H4z"/><path d="M13 5l7 11h-7z"/><path d="M2 18h20l-3 4H5z"/></svg> Skiff</a>
  <nav>
    <a href="#/overview">Overview</a><a href="#/workloads">Workloads</a><a href="#/pods">Pods</a>
    <a href="#/services">Services</a><a href="#/events">Events</a><a href="#/config">Config</a>
  </nav>
  <div class="tools">
    <select id="ns" aria-label="Namespace"></select>
    <button id="signout" type="button">Sign out</button>
  </div>
</header>
<section id="signin-view">
  <form id="signin">
    <h1><svg class="logo" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M12 2v14H4z"/><path d="M13 5l7 11h-7z"/><path d="M2 18h20l-3 4H5z"/></svg> Skiff</h1>
    <p>Sign in with an API token (<code>skiff token create --role view</code>, or the admin
    token in the server's data dir). It is kept in this browser tab only.</p>
    <label for="token">Token</label>
    <input id="token" type="password" autocomplete="off" required>
    <button type="submit">Sign in</button>
    <p id="signin-message" class="bad" role="alert"></p>
  </form>
</section>
<main id="main" aria-live="polite"></main>
</body>
</html>
`;

/** The stylesheet (`/dashboard/app.css`). */
export const DASHBOARD_CSS = `:root {
  --bg: #f7f8fa; --fg: #1b1f24; --muted: #5f6b7a; --card: #fff; --line: #dde2e8;
  --accent: #1f6feb; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 15px;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --card: #161b22; --line: #30363d;
    --accent: #4493f8; --ok: #3fb950; --warn: #d29922; --bad: #f85149; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
a { color: var(--accent); text-decoration: none; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.top { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 10px 14px;
  background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0; }
.brand { font-weight: 700; color: var(--fg); display: flex; gap: 6px; align-items: center; }
.logo { fill: var(--accent); }
nav { display: flex; flex-wrap: wrap; gap: 4px; flex: 1; }
nav a { padding: 6px 10px; border-radius: 6px; color: var(--fg); }
nav a.active { background: var(--accent); color: #fff; }
.tools { display: flex; gap: 8px; }
select, button, input { font: inherit; color: var(--fg); background: var(--card);
  border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
button { cursor: pointer; }
button.danger { border-color: var(--bad); color: var(--bad); }
body:not(.signed-in) .top, body:not(.signed-in) main { display: none; }
body.signed-in #signin-view { display: none; }
#signin { max-width: 420px; margin: 12vh auto; padding: 24px; background: var(--card);
  border: 1px solid var(--line); border-radius: 10px; display: grid; gap: 10px; }
#signin h1 { margin: 0; }
main { padding: 14px; max-width: 1400px; margin: 0 auto; }
h2 { font-size: 18px; margin: 22px 0 8px; } h3 { font-size: 16px; margin: 18px 0 6px; }
.count { color: var(--muted); font-weight: 400; font-size: 14px; }
.muted { color: var(--muted); } .small { font-size: 12px; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
th { font-size: 12px; text-transform: uppercase; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: 0; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; } .stat b { font-size: 22px; display: block; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; }
.card header { display: flex; justify-content: space-between; align-items: center; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; margin: 10px 0 0; }
dt { color: var(--muted); } dd { margin: 0; display: flex; gap: 8px; align-items: center; }
.pill { font-size: 12px; padding: 2px 8px; border-radius: 999px; border: 1px solid currentColor; }
.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
.events, .plain { list-style: none; padding: 0; margin: 0; display: grid; gap: 6px; }
.events li { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 10px; color: var(--fg); }
.events li.bad { border-color: var(--bad); }
.events li div { margin-top: 4px; overflow-wrap: anywhere; }
.logs { background: #0d1117; color: #e6edf3; padding: 10px; border-radius: 8px;
  max-height: 50vh; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
@media (max-width: 700px) {
  .wide { display: none; }
  main { padding: 10px; }
  th, td { padding: 5px 6px; }
  td:first-child { white-space: normal; overflow-wrap: anywhere; }
  nav { order: 3; flex-basis: 100%; }
}
`;
