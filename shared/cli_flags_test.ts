import assert from "node:assert/strict";
import { z } from "zod";
import { flagOf, helpText, parseFlags, UsageError } from "./cli_flags.ts";

Deno.test("flagOf() takes help, type and default from the schema field", () => {
  assert.deepEqual(
    flagOf(z.number().int().default(10250).describe("agent port"), { value: "PORT" }),
    {
      type: "number",
      help: "agent port (default 10250)",
      value: "PORT",
    },
  );
  assert.deepEqual(flagOf(z.boolean().default(true).describe("serve")), {
    type: "boolean",
    help: "serve (default true)",
  });
  // A list, and defaults an absent flag means anyway, show no default.
  assert.deepEqual(flagOf(z.array(z.string()).default([]).describe("names")), {
    type: "list",
    help: "names",
  });
  assert.deepEqual(flagOf(z.boolean().default(false).describe("force")).help, "force");
  // The description may sit inside the default or optional wrapper.
  assert.equal(flagOf(z.string().describe("inner").default("x")).help, "inner (default x)");
  assert.equal(flagOf(z.string().optional().describe("opt")).help, "opt");
});

Deno.test("flagOf() shows a default in the flag's own units, or a default decided at run time", () => {
  const ms = z.number().default(15_000).describe("grace period");
  assert.equal(
    flagOf(ms, { value: "SECONDS", showDefault: (v) => String(v / 1000) }).help,
    "grace period (default 15)",
  );
  const range = z.preprocess(
    (v) => v,
    z.object({ min: z.number(), max: z.number() }),
  ).default({ min: 30000, max: 32767 }).describe("node ports");
  const spec = flagOf(range, { type: "string", showDefault: (r) => `${r.min}-${r.max}` });
  assert.deepEqual(spec, { type: "string", help: "node ports (default 30000-32767)" });
  assert.equal(
    flagOf(z.string().describe("node name"), { defaultText: "hostname" }).help,
    "node name (default: hostname)",
  );
});

Deno.test("flagOf() refuses a field with neither a description nor help", () => {
  assert.throws(() => flagOf(z.string().default("x")), /no \.describe\(\) text/);
  assert.equal(flagOf(z.string(), { help: "given" }).help, "given");
});

Deno.test("parseFlags() reads values by the spec's types and refuses unknown flags", () => {
  const spec = {
    port: flagOf(z.number().default(1).describe("p")),
    on: flagOf(z.boolean().default(true).describe("o")),
    name: flagOf(z.array(z.string()).default([]).describe("n")),
  };
  const flags = parseFlags(["--port=8", "--on=false", "--name", "a,b", "--name=c"], spec);
  assert.equal(flags.port, 8);
  assert.equal(flags.on, false);
  assert.deepEqual(flags.name, ["a", "b", "c"]);
  assert.throws(() => parseFlags(["--nope"], spec), UsageError);
  assert.throws(() => parseFlags(["--port", "x"], spec), /must be a number/);
  assert.match(helpText("skiff x", "Does x.", spec), /--port NUMBER\s+p \(default 1\)/);
});
