/**
 * API server benchmark (issue: foundation): creates per second, LIST of 10,000 pods, and 100
 * concurrent watchers each receiving every one of 10,000 events, against a real `skiff server`
 * subprocess on loopback (controllers off, so only the benchmark writes), with the server's RSS.
 */
import { startServerProcess } from "../tests/server_process.ts";
import type { ServerProcess } from "../tests/server_process.ts";
import { machineInfo, machineLine, rssMiB, writeResults } from "./machine.ts";

/** Options (smaller numbers for a quick run). */
export interface ApiBenchOptions {
  pods?: number;
  watchers?: number;
  events?: number;
  concurrency?: number;
}

const pod = (name: string) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "bench", tier: "web" } },
    spec: {
      containers: [{
        name: "c",
        image: "skiff.local/busybox:1",
        command: ["sleep", "3600"],
        resources: { requests: { cpu: "10m", memory: "16Mi" } },
      }],
    },
  });

async function post(s: ServerProcess, path: string, body: string): Promise<number> {
  const r = await fetch(`${s.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.token}`, "content-type": "application/json" },
    body,
    client: s.httpClient,
  });
  await r.body?.cancel();
  return r.status;
}

/** Runs `n` tasks with at most `concurrency` in flight. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** Counts newline-terminated events on a watch stream until `want` arrived. */
async function countEvents(res: Response, want: number): Promise<number> {
  const reader = res.body!.getReader();
  let seen = 0;
  while (seen < want) {
    const { done, value } = await reader.read();
    if (done) break;
    for (let i = 0; i < value.length; i++) if (value[i] === 10) seen++;
  }
  await reader.cancel();
  return seen;
}

/** Runs the benchmark and writes bench/results/api.{json,md}. */
export async function runApiBench(options: ApiBenchOptions = {}): Promise<Record<string, unknown>> {
  const pods = options.pods ?? 10_000;
  const watchers = options.watchers ?? 100;
  const events = options.events ?? 10_000;
  const concurrency = options.concurrency ?? 32;
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-bench-api-" });
  const server = await startServerProcess({ dataDir, args: ["--no-controllers"] });
  try {
    // Creates per second.
    let failures = 0;
    const t0 = performance.now();
    await pool(pods, concurrency, async (i) => {
      if (await post(server, "/api/v1/namespaces/default/pods", pod(`p-${i}`)) !== 201) failures++;
    });
    const createSeconds = (performance.now() - t0) / 1000;
    const rssAfterCreate = rssMiB(server.child.pid);

    // LIST of every pod, JSON and as kubectl's Table (median of 5).
    const listTimes = async (accept: string) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const r = await fetch(`${server.url}/api/v1/pods`, {
          headers: { authorization: `Bearer ${server.token}`, accept },
          client: server.httpClient,
        });
        const body = await r.text();
        times.push(performance.now() - t);
        if (i === 0 && accept === "application/json") {
          const n = JSON.parse(body).items.length;
          if (n !== pods - failures) throw new Error(`LIST returned ${n} pods`);
        }
      }
      return times.sort((a, b) => a - b)[2];
    };
    const listMs = await listTimes("application/json");
    const listTableMs = await listTimes(
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    );

    // 100 watchers, each must see every one of `events` events.
    const rv = (await (await fetch(`${server.url}/api/v1/namespaces/default/configmaps`, {
      headers: { authorization: `Bearer ${server.token}` },
      client: server.httpClient,
    })).json()).metadata.resourceVersion;
    const streams = await Promise.all(
      Array.from({ length: watchers }, () =>
        fetch(
          `${server.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`,
          { headers: { authorization: `Bearer ${server.token}` }, client: server.httpClient },
        )),
    );
    const tw = performance.now();
    const counting = streams.map((r) => countEvents(r, events));
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMiB(server.child.pid));
    }, 100);
    await pool(events, concurrency, async (i) => {
      await post(
        server,
        "/api/v1/namespaces/default/configmaps",
        JSON.stringify({ metadata: { name: `cm-${i}` }, data: { i: String(i) } }),
      );
    });
    const counts = await Promise.all(counting);
    clearInterval(sampler);
    const watchSeconds = (performance.now() - tw) / 1000;
    const complete = counts.filter((c) => c === events).length;

    const result = {
      machine: machineInfo(),
      pods,
      createsPerSecond: Math.round((pods - failures) / createSeconds),
      createFailures: failures,
      listPodsMs: Math.round(listMs),
      listPodsTableMs: Math.round(listTableMs),
      serverRssAfterCreatesMiB: rssAfterCreate,
      watchers,
      eventsPerWatcher: events,
      watchersComplete: complete,
      watchSeconds: Number(watchSeconds.toFixed(2)),
      serverPeakRssDuringWatchMiB: peakRss,
      targets: { listPodsMs: "< 300", watchersLoseNothing: `${watchers}/${watchers}` },
    };
    const md = `# API server benchmark

Machine: ${machineLine(result.machine)}

| measure | value | target |
| --- | --- | --- |
| creates per second (${pods} pods, ${concurrency} in flight) | ${result.createsPerSecond} | |
| LIST ${pods} pods, JSON (median of 5) | ${result.listPodsMs} ms | < 300 ms |
| LIST ${pods} pods, kubectl Table (median of 5) | ${result.listPodsTableMs} ms | |
| server RSS after the creates | ${rssAfterCreate} MiB | |
| ${watchers} watchers × ${events} events: watchers that saw every event | ${complete}/${watchers} | ${watchers}/${watchers} |
| time until every watcher had every event | ${result.watchSeconds} s | |
| server peak RSS during the watch run | ${peakRss} MiB | |
`;
    await writeResults("api", result, md);
    return result;
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

if (import.meta.main) {
  console.log(JSON.stringify(await runApiBench(), null, 2));
}
