/// <reference lib="dom" />
/**
 * The dashboard's browser code. Every exported function is sent to the browser as its own source
 * text (`clientScript()` in mod.ts), so this module is type-checked TypeScript on the server and
 * plain JavaScript in the page. Rules that follow from that: no imports, no module-level
 * constants, and every function the page calls is exported here.
 *
 * The page talks only to the ordinary API with the signed-in token: for each kind it lists and
 * then watches server-side Tables (`as=Table`, the columns kubectl prints, with the object
 * embedded), so what it shows is what `kubectl get` shows, updated in place without polling.
 * Only node metrics are polled (the metrics API has no watch).
 */

/** A server-side Table row as the page keeps it. */
export interface DashRow {
  cells: unknown[];
  // deno-lint-ignore no-explicit-any
  object: any;
}

/** One watched kind: its Table columns and rows by uid. */
export interface DashFeed {
  path: string;
  columns: { name: string; priority: number }[];
  rows: Map<string, DashRow>;
  forbidden: boolean;
  missing: boolean;
  loaded: boolean;
}

/** Everything the page knows. */
export interface DashState {
  token: string;
  feeds: Map<string, DashFeed>;
  stops: (() => void)[];
  samples: Record<string, { t: number; cpu: number; mem: number }[]>;
  canDelete: boolean;
  logStop?: () => void;
  logKey?: string;
  renderQueued: boolean;
}

/** The page's single state object (kept on window so every function reaches it). */
export function dashState(): DashState {
  // deno-lint-ignore no-explicit-any
  const w = window as any;
  w.__skiff ??= {
    token: sessionStorage.getItem("skiff.token") ?? "",
    feeds: new Map(),
    stops: [],
    samples: {},
    canDelete: false,
    renderQueued: false,
  };
  return w.__skiff;
}

/** The kinds the page watches: key → list path. */
export function dashKinds(): Record<string, string> {
  return {
    nodes: "/api/v1/nodes",
    namespaces: "/api/v1/namespaces",
    pods: "/api/v1/pods",
    deployments: "/apis/apps/v1/deployments",
    statefulsets: "/apis/apps/v1/statefulsets",
    daemonsets: "/apis/apps/v1/daemonsets",
    jobs: "/apis/batch/v1/jobs",
    services: "/api/v1/services",
    endpoints: "/api/v1/endpoints",
    events: "/api/v1/events",
    configmaps: "/api/v1/configmaps",
    secrets: "/api/v1/secrets",
  };
}

/** fetch() with the token; a 401 signs out. */
export async function dashFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const s = dashState();
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${s.token}`);
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) {
    dashSignOut("That token was not accepted.");
    throw new Error("unauthorized");
  }
  return res;
}

/** Applies one Table (a list answer or a watch event's one-row Table) to a feed. */
// deno-lint-ignore no-explicit-any
export function dashApplyTable(feed: DashFeed, table: any, type: string): void {
  if (table.columnDefinitions?.length) {
    // deno-lint-ignore no-explicit-any
    feed.columns = table.columnDefinitions.map((c: any) => ({
      name: c.name,
      priority: c.priority ?? 0,
    }));
  }
  for (const row of table.rows ?? []) {
    const uid = row.object?.metadata?.uid ?? row.object?.metadata?.name;
    if (!uid) continue;
    if (type === "DELETED") feed.rows.delete(uid);
    else feed.rows.set(uid, { cells: row.cells, object: row.object });
  }
}

/** Lists then watches one kind as Tables until stopped; re-lists after a 410 or a dropped stream. */
export function dashWatch(key: string, path: string): () => void {
  const s = dashState();
  const feed: DashFeed = {
    path,
    columns: [],
    rows: new Map(),
    forbidden: false,
    missing: false,
    loaded: false,
  };
  s.feeds.set(key, feed);
  const ctrl = new AbortController();
  const accept = "application/json;as=Table;v=v1;g=meta.k8s.io";
  const run = async () => {
    let delay = 500;
    while (!ctrl.signal.aborted) {
      try {
        const list = await dashFetch(`${path}?includeObject=Object`, {
          headers: { Accept: accept },
          signal: ctrl.signal,
        });
        if (list.status === 403 || list.status === 404) {
          feed.forbidden = list.status === 403;
          feed.missing = list.status === 404;
          feed.loaded = true;
          dashRender();
          return;
        }
        const table = await list.json();
        feed.rows.clear();
        dashApplyTable(feed, table, "ADDED");
        feed.loaded = true;
        dashRender();
        const rv = table.metadata?.resourceVersion ?? "";
        const q = `watch=1&includeObject=Object&allowWatchBookmarks=true&resourceVersion=${rv}`;
        const res = await dashFetch(`${path}?${q}`, {
          headers: { Accept: accept },
          signal: ctrl.signal,
        });
        if (!res.body) throw new Error("no watch body");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        delay = 500;
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line);
            if (ev.type === "ERROR") throw new Error("watch expired");
            if (ev.type === "BOOKMARK") continue;
            dashApplyTable(feed, ev.object, ev.type);
            dashRender();
          }
        }
      } catch (_e) {
        if (ctrl.signal.aborted) return;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  };
  run();
  return () => ctrl.abort();
}

/** Reads node metrics (with the server's 15-minute history) every 15 s. */
export function dashSampleMetrics(): () => void {
  const s = dashState();
  const sample = async () => {
    try {
      const res = await dashFetch("/apis/metrics.k8s.io/v1beta1/nodes");
      if (!res.ok) return;
      const list = await res.json();
      for (const m of list.items ?? []) {
        // The server keeps the last 15 minutes (skiff.io/usage-history); the newest sample is
        // the usage this answer carries.
        const history: [number, number, number][] = JSON.parse(
          m.metadata?.annotations?.["skiff.io/usage-history"] ?? "[]",
        );
        s.samples[m.metadata.name] = history.map(([t, cpu, mem]) => ({
          t,
          cpu: cpu / 1e9,
          mem,
        }));
      }
      dashRender();
    } catch {
      // the next sample tries again
    }
  };
  sample();
  const id = setInterval(sample, 15_000);
  return () => clearInterval(id);
}

/** A Kubernetes quantity (`250m`, `1Gi`, `512Ki`, `2`) as a number of base units. */
export function dashQuantity(q: string | undefined): number {
  if (!q) return 0;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (!m) return 0;
  const units: Record<string, number> = {
    n: 1e-9,
    u: 1e-6,
    m: 1e-3,
    "": 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return parseFloat(m[1]) * (units[m[2]] ?? 1);
}

/** Escapes text for HTML. */
export function dashEsc(v: unknown): string {
  return String(v ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Age as kubectl prints it (`45s`, `12m`, `3h`, `2d`). */
export function dashAge(ts: string | undefined): string {
  if (!ts) return "";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** A small SVG line of the values (the last 15 minutes of a node's CPU or memory). */
export function dashSparkline(values: number[], label: string): string {
  if (values.length < 2) return `<span class="muted small">${dashEsc(label)}: collecting…</span>`;
  const max = Math.max(...values) || 1;
  const w = 120, h = 28;
  const pts = values.map((v, i) =>
    `${(i / (values.length - 1) * w).toFixed(1)},${(h - v / max * (h - 2) - 1).toFixed(1)}`
  ).join(" ");
  return `<svg class="spark" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" ` +
    `aria-label="${dashEsc(label)}"><polyline points="${pts}"/></svg>`;
}

/** The rows of a feed in the selected namespace, sorted by namespace then name. */
export function dashRows(key: string): DashRow[] {
  const feed = dashState().feeds.get(key);
  if (!feed) return [];
  const ns = dashNamespace();
  return [...feed.rows.values()]
    .filter((r) => !ns || !r.object.metadata.namespace || r.object.metadata.namespace === ns)
    .sort((a, b) =>
      `${a.object.metadata.namespace ?? ""}/${a.object.metadata.name}`.localeCompare(
        `${b.object.metadata.namespace ?? ""}/${b.object.metadata.name}`,
      )
    );
}

/** The namespace picked in the header ("" for all). */
export function dashNamespace(): string {
  return sessionStorage.getItem("skiff.ns") ?? "";
}

/** A feed as a table with kubectl's columns (priority-0 columns only on narrow screens). */
export function dashTable(key: string, title: string, link?: (row: DashRow) => string): string {
  const feed = dashState().feeds.get(key);
  if (!feed || !feed.loaded) return `<h2>${dashEsc(title)}</h2><p class="muted">Loading…</p>`;
  if (feed.missing) return "";
  if (feed.forbidden) {
    return `<h2>${dashEsc(title)}</h2><p class="muted">Your token may not list these.</p>`;
  }
  const rows = dashRows(key);
  const showNs = !dashNamespace() && rows.some((r) => r.object.metadata.namespace);
  const head = (showNs ? ['<th class="wide">Namespace</th>'] : []).concat(
    feed.columns.map((c) => `<th class="${c.priority ? "wide" : ""}">${dashEsc(c.name)}</th>`),
  ).join("");
  const body = rows.map((r) => {
    const cells = feed.columns.map((c, i) => {
      let v = r.cells[i];
      if (c.name === "Age") v = dashAge(r.object.metadata.creationTimestamp);
      let text = dashEsc(v);
      if (i === 0 && link) text = `<a href="${link(r)}">${text}</a>`;
      const cls = [c.priority ? "wide" : "", dashCellClass(String(v ?? ""))].join(" ").trim();
      return `<td class="${cls}">${text}</td>`;
    });
    if (showNs) {
      cells.unshift(`<td class="wide">${dashEsc(r.object.metadata.namespace)}</td>`);
    }
    return `<tr data-name="${dashEsc(r.object.metadata.name)}">${cells.join("")}</tr>`;
  }).join("");
  return `<h2>${dashEsc(title)} <span class="count">${rows.length}</span></h2>` +
    `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${
      body || `<tr><td colspan="${feed.columns.length + 1}" class="muted">None</td></tr>`
    }</tbody></table></div>`;
}

/** A colour class for status words kubectl prints. */
export function dashCellClass(v: string): string {
  if (/^(Running|Ready|Complete|Completed|Succeeded|Bound|Active|True)$/.test(v)) return "ok";
  if (/(Error|BackOff|Failed|NotReady|Unknown|OOMKilled|Evicted|Warning)/.test(v)) return "bad";
  if (/^(Pending|ContainerCreating|Terminating|PodInitializing|Init:)/.test(v)) return "warn";
  return "";
}

/** The overview: node cards with state, role, arch, pods, CPU/memory sparklines; counts. */
export function dashOverview(): string {
  const s = dashState();
  const nodes = dashState().feeds.get("nodes");
  const pods = [...(s.feeds.get("pods")?.rows.values() ?? [])];
  const cards = [...(nodes?.rows.values() ?? [])].map((r) => {
    const n = r.object;
    const ready = (n.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready");
    const state = ready?.status === "True" ? "Ready" : "NotReady";
    const roles = Object.keys(n.metadata.labels ?? {})
      .filter((l) => l.startsWith("node-role.kubernetes.io/"))
      .map((l) => l.slice("node-role.kubernetes.io/".length)).join(",") || "<none>";
    const count = pods.filter((p) => p.object.spec?.nodeName === n.metadata.name).length;
    const smp = s.samples[n.metadata.name] ?? [];
    const cpu = smp.at(-1)?.cpu ?? 0;
    const mem = smp.at(-1)?.mem ?? 0;
    const capCpu = dashQuantity(n.status?.capacity?.cpu);
    const capMem = dashQuantity(n.status?.capacity?.memory);
    const pct = (a: number, b: number) => b ? `${Math.round(a / b * 100)}%` : "–";
    return `<article class="card node" data-node="${dashEsc(n.metadata.name)}">
      <header><strong>${dashEsc(n.metadata.name)}</strong>
      <span class="pill ${state === "Ready" ? "ok" : "bad"}">${state}</span></header>
      <dl><dt>Roles</dt><dd>${dashEsc(roles)}</dd>
      <dt>Arch</dt><dd>${dashEsc(n.status?.nodeInfo?.architecture ?? "")}</dd>
      <dt>Pods</dt><dd>${count}</dd>
      <dt>CPU</dt><dd>${pct(cpu, capCpu)} ${
      dashSparkline(smp.map((x) => x.cpu), "CPU, last 15 minutes")
    }</dd>
      <dt>Memory</dt><dd>${pct(mem, capMem)} ${
      dashSparkline(smp.map((x) => x.mem), "Memory, last 15 minutes")
    }</dd></dl></article>`;
  }).join("");
  const warnings = dashEventRows().filter((e) => e.object.type === "Warning").length;
  const notRunning =
    pods.filter((p) => !["Running", "Completed"].includes(String(p.cells[2] ?? ""))).length;
  return `<section class="summary">
    <div class="stat"><b>${nodes?.rows.size ?? 0}</b> nodes</div>
    <div class="stat"><b>${pods.length}</b> pods</div>
    <div class="stat ${notRunning ? "warn" : ""}"><b>${notRunning}</b> not running</div>
    <div class="stat ${warnings ? "bad" : ""}"><b>${warnings}</b> warnings</div></section>
    <h2>Nodes</h2><div class="cards">${
    cards || '<p class="muted">No nodes have joined yet.</p>'
  }</div>`;
}

/** Events, warnings first, then newest first. */
export function dashEventRows(): DashRow[] {
  const time = (e: DashRow) =>
    Date.parse(
      e.object.lastTimestamp ?? e.object.eventTime ?? e.object.metadata.creationTimestamp ?? 0,
    );
  return dashRows("events").sort((a, b) =>
    (a.object.type === "Warning" ? 0 : 1) - (b.object.type === "Warning" ? 0 : 1) ||
    time(b) - time(a)
  );
}

/** The events view. */
export function dashEvents(): string {
  const rows = dashEventRows().slice(0, 200);
  const items = rows.map((e) => {
    const o = e.object;
    const what = `${o.involvedObject?.kind ?? ""}/${o.involvedObject?.name ?? ""}`;
    return `<li class="event ${o.type === "Warning" ? "bad" : ""}"><span class="pill ${
      o.type === "Warning" ? "bad" : "ok"
    }">${dashEsc(o.type)}</span> <b>${dashEsc(o.reason)}</b> ${dashEsc(what)}
      <span class="muted">${dashAge(o.lastTimestamp ?? o.metadata.creationTimestamp)} ago${
      (o.count ?? 1) > 1 ? ` (×${o.count})` : ""
    }</span><div>${dashEsc(o.message)}</div></li>`;
  }).join("");
  return `<h2>Events <span class="count">${rows.length}</span></h2><ul class="events">${
    items || '<li class="muted">No events.</li>'
  }</ul>`;
}

/** Services with their endpoints (addresses and ports). */
export function dashServices(): string {
  const eps = new Map(
    dashRows("endpoints").map((
      r,
    ) => [`${r.object.metadata.namespace}/${r.object.metadata.name}`, r.object]),
  );
  const list = dashRows("services").map((r) => {
    const ep = eps.get(`${r.object.metadata.namespace}/${r.object.metadata.name}`);
    // deno-lint-ignore no-explicit-any
    const addrs = (ep?.subsets ?? []).flatMap((s: any) =>
      // deno-lint-ignore no-explicit-any
      (s.addresses ?? []).flatMap((a: any) =>
        // deno-lint-ignore no-explicit-any
        (s.ports ?? []).map((p: any) => `${a.ip}:${p.port}`)
      )
    );
    return `<li data-service="${dashEsc(r.object.metadata.name)}"><b>${
      dashEsc(r.object.metadata.namespace)
    }/${dashEsc(r.object.metadata.name)}</b> → ${
      addrs.length
        ? addrs.map((a: string) => `<code>${dashEsc(a)}</code>`).join(" ")
        : '<span class="muted">no ready endpoints</span>'
    }</li>`;
  }).join("");
  return dashTable("services", "Services") + `<h3>Endpoints</h3><ul class="plain">${list}</ul>`;
}

/** Workloads: Deployments, StatefulSets, DaemonSets and Jobs with their rollout columns. */
export function dashWorkloads(): string {
  return dashTable("deployments", "Deployments") + dashTable("statefulsets", "StatefulSets") +
    dashTable("daemonsets", "DaemonSets") + dashTable("jobs", "Jobs");
}

/** The pods view; each name opens the pod page. */
export function dashPods(): string {
  return dashTable(
    "pods",
    "Pods",
    (r) =>
      `#/pod/${encodeURIComponent(r.object.metadata.namespace)}/${
        encodeURIComponent(r.object.metadata.name)
      }`,
  );
}

/** ConfigMaps and (if the token may) Secrets: names and keys only, never values. */
export function dashConfig(): string {
  return dashTable("configmaps", "ConfigMaps") + dashTable("secrets", "Secrets");
}

/** One pod: containers, events, a streaming log tail, and Delete for tokens that may. */
export function dashPod(ns: string, name: string): string {
  const s = dashState();
  const row = [...(s.feeds.get("pods")?.rows.values() ?? [])].find((r) =>
    r.object.metadata.namespace === ns && r.object.metadata.name === name
  );
  if (!row) return `<h2>Pod ${dashEsc(name)}</h2><p class="muted">Not found (deleted?).</p>`;
  const p = row.object;
  const statuses = new Map(
    // deno-lint-ignore no-explicit-any
    (p.status?.containerStatuses ?? []).map((c: any) => [c.name, c]),
  );
  // deno-lint-ignore no-explicit-any
  const containers = (p.spec?.containers ?? []).map((c: any) => {
    // deno-lint-ignore no-explicit-any
    const st: any = statuses.get(c.name) ?? {};
    const state = Object.keys(st.state ?? {})[0] ?? "waiting";
    const reason = st.state?.[state]?.reason ?? "";
    return `<tr><td>${dashEsc(c.name)}</td><td><code>${dashEsc(c.image)}</code></td>
      <td class="${dashCellClass(state === "running" ? "Running" : reason)}">${dashEsc(state)}${
      reason ? ` (${dashEsc(reason)})` : ""
    }</td><td>${st.ready ? "yes" : "no"}</td><td>${st.restartCount ?? 0}</td></tr>`;
  }).join("");
  const events = dashEventRows().filter((e) => e.object.involvedObject?.uid === p.metadata.uid)
    .map((e) =>
      `<li class="${e.object.type === "Warning" ? "bad" : ""}"><b>${dashEsc(e.object.reason)}</b> ${
        dashEsc(e.object.message)
      }</li>`
    ).join("");
  const first = p.spec?.containers?.[0]?.name ?? "";
  dashFollowLogs(ns, name, first);
  const cells = row.cells.map(String);
  return `<p><a href="#/pods">← Pods</a></p><h2>Pod ${dashEsc(name)}</h2>
    <dl class="facts"><dt>Namespace</dt><dd>${dashEsc(ns)}</dd><dt>Status</dt><dd class="${
    dashCellClass(cells[2] ?? "")
  }">${dashEsc(cells[2])}</dd><dt>Node</dt><dd>${dashEsc(p.spec?.nodeName ?? "")}</dd>
    <dt>IP</dt><dd>${dashEsc(p.status?.podIP ?? "")}</dd><dt>Age</dt><dd>${
    dashAge(p.metadata.creationTimestamp)
  }</dd></dl>
    ${
    s.canDelete
      ? `<button id="delete-pod" class="danger" data-ns="${dashEsc(ns)}" data-name="${
        dashEsc(name)
      }">Delete pod</button>`
      : ""
  }
    <h3>Containers</h3><div class="scroll"><table><thead><tr><th>Name</th><th>Image</th>
    <th>State</th><th>Ready</th><th>Restarts</th></tr></thead><tbody>${containers}</tbody></table></div>
    <h3>Events</h3><ul class="plain">${events || '<li class="muted">None</li>'}</ul>
    <h3>Logs <span class="muted small">(${dashEsc(first)}, following)</span></h3>
    <pre id="logs" class="logs"></pre>`;
}

/**
 * Streams a container's log tail into #logs (kept across re-renders; one stream at a time). A
 * stream cut by the network (the browser drops its connections when the machine's interfaces
 * change; a Pi's Wi-Fi blinks) is opened again, with back-off, and shows the tail afresh; one
 * that ends cleanly (the container exited) is not.
 */
export function dashFollowLogs(ns: string, name: string, container: string): void {
  const s = dashState();
  const key = `${ns}/${name}/${container}`;
  if (s.logKey === key) return;
  s.logStop?.();
  s.logKey = key;
  const w = window as unknown as { __skiffLogs: string };
  w.__skiffLogs = "";
  const ctrl = new AbortController();
  s.logStop = () => ctrl.abort();
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${
    encodeURIComponent(name)
  }/log?container=${encodeURIComponent(container)}&follow=true&tailLines=200`;
  const follow = async (retryMs: number) => {
    let fresh = true;
    try {
      const res = await dashFetch(path, { signal: ctrl.signal });
      if (!res.ok || !res.body) {
        w.__skiffLogs = `(no logs: ${res.status})`;
        dashShowLogs();
        return;
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        if (fresh) w.__skiffLogs = ""; // the tail again, not appended to the old one
        fresh = false;
        w.__skiffLogs = (w.__skiffLogs + value).slice(-200_000);
        dashShowLogs();
      }
    } catch {
      if (ctrl.signal.aborted || s.logKey !== key) return; // stopped: another pod, or signed out
      setTimeout(() => follow(fresh ? Math.min(retryMs * 2, 30_000) : 1000), retryMs);
    }
  };
  follow(1000);
}

/** Copies the collected log text into the page's #logs element, keeping it scrolled down. */
export function dashShowLogs(): void {
  const el = document.getElementById("logs");
  if (!el) return;
  const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
  el.textContent = (window as unknown as { __skiffLogs: string }).__skiffLogs ?? "";
  if (atEnd) el.scrollTop = el.scrollHeight;
}

/** Schedules one render on the next frame (many watch events → one render). */
export function dashRender(): void {
  const s = dashState();
  if (s.renderQueued) return;
  s.renderQueued = true;
  requestAnimationFrame(() => {
    s.renderQueued = false;
    dashRenderNow();
  });
}

/** Renders the current route into #main and the namespace picker. */
export function dashRenderNow(): void {
  const main = document.getElementById("main");
  if (!main) return;
  const [, view = "overview", a = "", b = ""] = location.hash.split("/");
  if (view !== "pod") {
    dashState().logStop?.();
    dashState().logKey = undefined;
  }
  const html = view === "workloads"
    ? dashWorkloads()
    : view === "pods"
    ? dashPods()
    : view === "pod"
    ? dashPod(decodeURIComponent(a), decodeURIComponent(b))
    : view === "services"
    ? dashServices()
    : view === "events"
    ? dashEvents()
    : view === "config"
    ? dashConfig()
    : dashOverview();
  const scroll = document.getElementById("logs")?.scrollTop;
  main.innerHTML = html;
  if (scroll !== undefined) dashShowLogs();
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.getAttribute("href") === `#/${view}`);
  }
  const picker = document.getElementById("ns") as HTMLSelectElement | null;
  if (picker) {
    const names = [...(dashState().feeds.get("namespaces")?.rows.values() ?? [])]
      .map((r) => r.object.metadata.name as string).sort();
    const want = ["", ...names].join("\n");
    if (picker.dataset.names !== want) {
      picker.dataset.names = want;
      picker.innerHTML = ['<option value="">All namespaces</option>'].concat(
        names.map((n) => `<option value="${dashEsc(n)}">${dashEsc(n)}</option>`),
      ).join("");
    }
    picker.value = dashNamespace();
  }
}

/** Shows the sign-in form (with a message) and forgets the token. */
export function dashSignOut(message = ""): void {
  const s = dashState();
  s.stops.forEach((stop) => stop());
  s.stops = [];
  s.logStop?.();
  s.logKey = undefined;
  s.feeds.clear();
  s.token = "";
  sessionStorage.removeItem("skiff.token");
  document.body.classList.remove("signed-in");
  const msg = document.getElementById("signin-message");
  if (msg) msg.textContent = message;
}

/** Starts every watch with the stored token, and learns whether it may delete pods. */
export async function dashSignIn(): Promise<void> {
  const s = dashState();
  const res = await fetch("/api/v1/namespaces", {
    headers: { Authorization: `Bearer ${s.token}` },
  });
  if (!res.ok) {
    dashSignOut(res.status === 401 ? "That token was not accepted." : `Error ${res.status}.`);
    return;
  }
  document.body.classList.add("signed-in");
  for (const [key, path] of Object.entries(dashKinds())) s.stops.push(dashWatch(key, path));
  s.stops.push(dashSampleMetrics());
  // A dry-run delete of a pod name that cannot exist asks the authorizer without deleting
  // anything: 403 means the token may not delete pods; 404 means it may.
  const probe = await dashFetch(
    "/api/v1/namespaces/default/pods/skiff-dashboard-probe?dryRun=All",
    {
      method: "DELETE",
    },
  );
  s.canDelete = probe.status !== 403;
  dashRender();
}

/** Wires the page's controls; signs in at once when the session still holds a token. */
export function dashMain(): void {
  const s = dashState();
  const form = document.getElementById("signin") as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = document.getElementById("token") as HTMLInputElement;
    s.token = input.value.trim();
    input.value = "";
    sessionStorage.setItem("skiff.token", s.token);
    dashSignIn();
  });
  document.getElementById("signout")?.addEventListener("click", () => dashSignOut());
  document.getElementById("ns")?.addEventListener("change", (e) => {
    sessionStorage.setItem("skiff.ns", (e.target as HTMLSelectElement).value);
    dashRender();
  });
  document.getElementById("main")?.addEventListener("click", async (e) => {
    const target = e.target as HTMLElement;
    if (target.id !== "delete-pod") return;
    const { ns, name } = target.dataset;
    if (!confirm(`Delete pod ${name}?`)) return;
    await dashFetch(`/api/v1/namespaces/${ns}/pods/${name}`, { method: "DELETE" });
  });
  addEventListener("hashchange", () => dashRender());
  setInterval(() => dashRender(), 5_000);
  if (s.token) dashSignIn();
}
