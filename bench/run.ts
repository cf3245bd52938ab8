/**
 * `deno task bench`: runs every benchmark in turn (or those named on the command line:
 * `deno task bench api proxy`) and writes each one's results to bench/results/.
 */
import { runApiBench } from "./api_bench.ts";

const BENCHES: Record<string, () => Promise<unknown>> = {
  api: () => runApiBench(),
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
