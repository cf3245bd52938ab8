/**
 * `deno task bench`: runs every benchmark in turn (or those named on the command line:
 * `deno task bench api proxy`) and writes each one's results to bench/results/.
 */
import { runAgentBench } from "./agent_bench.ts";
import { runApiBench } from "./api_bench.ts";
import { runDnsBench } from "./dns_bench.ts";
import { runHaBench } from "./ha_bench.ts";
import { runAndRecordHeartbeatsBench } from "./heartbeats_bench.ts";
import { runIngressBench } from "./ingress_bench.ts";
import { runProxyBench } from "./proxy_bench.ts";
import { runSchedulerBench } from "./scheduler_bench.ts";
import { runWorkloadsBench } from "./workloads.ts";

const BENCHES: Record<string, () => Promise<unknown>> = {
  api: () => runApiBench(),
  scheduler: () => runSchedulerBench(),
  agent: () => runAgentBench({ v8Flags: "--max-semi-space-size=1" }),
  proxy: () => runProxyBench(),
  workloads: () => runWorkloadsBench(),
  dns: () => runDnsBench(),
  ha: () => runHaBench(),
  heartbeats: () => runAndRecordHeartbeatsBench(),
  ingress: () => runIngressBench(),
};

const wanted = Deno.args.length ? Deno.args : Object.keys(BENCHES);
for (const name of wanted) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`bench: unknown benchmark "${name}" (have: ${Object.keys(BENCHES).join(", ")})`);
    Deno.exit(2);
  }
  console.error(`bench: running ${name}`);
  await bench();
  console.error(`bench: ${name} done, results in bench/results/${name}.md`);
}
