/**
 * A sampling CPU profile of another Deno process through its V8 inspector (the process runs with
 * `--inspect=127.0.0.1:PORT`): start, stop, the `.cpuprofile` JSON (opens in Chrome DevTools), and
 * a text summary of where the samples fell — by function (self time) and by source file.
 */

/** A V8 CPU profile, as `Profiler.stop` returns it. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A profile being recorded; `stop()` ends it and returns it. */
export interface CpuProfileSession {
  stop(): Promise<CpuProfile>;
}

/** Connects to the inspector on `127.0.0.1:port` and starts sampling every `intervalUs`. */
export async function startCpuProfile(port: number, intervalUs = 500): Promise<CpuProfileSession> {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  const pending = new Map<number, (v: Record<string, unknown>) => void>();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data as string);
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? m.error);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: intervalUs });
  await call("Profiler.start");
  return {
    async stop() {
      const r = await call("Profiler.stop");
      ws.close();
      return r.profile as CpuProfile;
    },
  };
}

/** Short name of a source URL: its path from the repository root, or the package. */
function shortUrl(url: string): string {
  if (!url) return "(native)";
  const npm = /\/npm\/[^/]+\/((?:@[^/]+\/)?[^/]+)\/\d[^/]*\/(.*)$/.exec(url);
  if (npm) return `npm:${npm[1]}/${npm[2]}`;
  const repo = /\/(server|shared|agent|proxy|dns|cmd|tests|bench)\/.*$/.exec(url);
  if (repo) return repo[0].slice(1);
  return url.replace(/^.*\/(ext|node|deno):?/, "$1:");
}

/** The top functions by self time and the source files by self time, as markdown-ish text. */
export function summarizeCpuProfile(profile: CpuProfile, top = 40): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  let total = 0;
  let idle = 0;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [nodeId, us] of selfUs) {
    const frame = byId.get(nodeId)!.callFrame;
    total += us;
    if (frame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    const file = shortUrl(frame.url);
    const fn = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const busy = total - idle;
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) =>
      `${(us / 1000).toFixed(0).padStart(7)} ms ${(100 * us / busy).toFixed(1).padStart(5)}%  ${k}`
    ).join("\n");
  return `busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled\n\n` +
    `self time by function:\n${rows(byFunction)}\n\nself time by file:\n${rows(byFile)}\n`;
}

/**
 * Total time (self + callees) under each function whose name matches, for questions like "how
 * much goes to zod parsing": the inclusive time of the outermost matching frame on each stack.
 */
export function inclusiveTime(profile: CpuProfile, match: (fn: string, url: string) => boolean) {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let us = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (match(f.functionName, f.url)) {
        us += profile.timeDeltas[i + 1] ?? 0;
        break;
      }
    }
  }
  return us / 1000;
}
