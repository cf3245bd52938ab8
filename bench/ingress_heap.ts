/**
 * Does the ingress data path keep memory per request? Runs an IngressServer in this process (the
 * ingress bench's route to one Deno backend in a child process on 127.0.0.11), drives rounds of
 * wrk through it, and prints after each round the JS heap after a forced full GC and the private
 * memory before and after `malloc_trim(0)`. A heap that grows round over round is a leak; private
 * memory that rises once and stays is the allocator's and V8's working set, and what
 * `malloc_trim(0)` gives back a node returns to the OS within 30 s (shared/malloc_trim.ts). Run by
 * hand (it needs `--expose-gc`):
 *
 *   deno run -A --v8-flags=--expose-gc,--max-semi-space-size=1 bench/ingress_heap.ts [rounds]
 */
import type { IngressServer } from "../proxy/ingress_server.ts";
import { startBenchIngress } from "./ingress_bench.ts";
import { freePort, untilAccepting } from "../tests/server_process.ts";
import { trimMallocNow } from "../shared/malloc_trim.ts";
import { memoryOf } from "./machine.ts";

const BACKEND = "127.0.0.11";
const INGRESS = "127.0.0.26";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("ingress_heap: run with --v8-flags=--expose-gc");
  Deno.exit(2);
}

function memory(): string {
  gc!();
  gc!();
  const m = Deno.memoryUsage();
  const mib = (n: number) => (n / 1048576).toFixed(1);
  const before = memoryOf(Deno.pid).anonMiB;
  // What the node's periodic malloc_trim (shared/malloc_trim.ts) would give back.
  trimMallocNow();
  return `heap used ${mib(m.heapUsed)} MiB, heap total ${mib(m.heapTotal)} MiB, ` +
    `external ${mib(m.external)} MiB, private ${before} MiB, after malloc_trim ` +
    `${memoryOf(Deno.pid).anonMiB} MiB`;
}

const backendPort = freePort(BACKEND);
const backend = new Deno.Command(Deno.execPath(), {
  args: [
    "eval",
    `Deno.serve({ hostname: "${BACKEND}", port: ${backendPort}, onListen() {} }, ` +
    `() => new Response("hello from the backend\\n"))`,
  ],
  stdout: "null",
  stderr: "null",
}).spawn();
const ingressPort = freePort(INGRESS);
let server: IngressServer | undefined;
try {
  await untilAccepting(BACKEND, backendPort);
  server = await startBenchIngress(INGRESS, ingressPort, [{ address: BACKEND, port: backendPort }]);
  console.log(`start: ${memory()}`);
  const rounds = Number(Deno.args[0] ?? 4);
  for (let round = 1; round <= rounds; round++) {
    const out = await new Deno.Command("wrk", {
      args: [
        "-t1",
        "-c8",
        "-d3s",
        "-H",
        "Host: app.test",
        `http://${INGRESS}:${ingressPort}/api/x`,
      ],
      stdout: "piped",
    }).output();
    const requests = /(\d+) requests in/.exec(new TextDecoder().decode(out.stdout))?.[1];
    console.log(`round ${round} (${requests} requests): ${memory()}`);
  }
} finally {
  await server?.close();
  backend.kill();
  await backend.status;
}
