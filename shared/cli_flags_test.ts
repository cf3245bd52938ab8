import assert from "node:assert/strict";
import { z } from "zod";
import {
  flagOf,
  FROM_SECONDS,
  fromFlag,
  helpText,
  parseConfig,
  parseFlags,
  UsageError,
} from "./cli_flags.ts";

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

Deno.test("parseConfig() names the flag of a refused value, in plain words", () => {
  const schema = z.object({
    port: z.number().int().min(0).max(65535).default(80),
    mode: z.enum(["auto", "nftables", "userspace"]).default("auto"),
    name: z.string().regex(/^[a-z]+$/, "must be lowercase"),
    sans: z.array(z.string().regex(/^[a-z.]+$/, "must be a name")).default([]),
    graceMs: z.number().int().positive().default(15_000),
  });
  const refused = (args: string[]) => {
    const flags = parseFlags(args, {
      port: { type: "number", help: "p" },
      mode: { type: "string", help: "m" },
      name: { type: "string", help: "n" },
      san: { type: "list", help: "s" },
      grace: { type: "number", help: "g" },
    });
    try {
      parseConfig(schema, {
        port: fromFlag(flags, "port"),
        mode: fromFlag(flags, "mode"),
        name: fromFlag(flags, "name", { fallback: "host" }),
        sans: fromFlag(flags, "san"),
        graceMs: fromFlag(flags, "grace", FROM_SECONDS),
      });
    } catch (e) {
      assert.ok(e instanceof UsageError, String(e));
      return e.message;
    }
    return "accepted";
  };
  assert.equal(refused([]), "accepted");
  assert.equal(
    refused(["--mode", "bogus"]),
    'invalid value "bogus" for --mode: must be auto, nftables or userspace',
  );
  assert.equal(
    refused(["--port=70000"]),
    'invalid value "70000" for --port: must be at most 65535',
  );
  assert.equal(refused(["--port=1.5"]), 'invalid value "1.5" for --port: must be a whole number');
  // The value as typed (seconds), not the field's milliseconds.
  assert.equal(refused(["--grace", "0"]), 'invalid value "0" for --grace: must be greater than 0');
  // The schema's own message wins over the plain default one.
  assert.equal(refused(["--name", "Up"]), 'invalid value "Up" for --name: must be lowercase');
  // Of a list, the refused item alone.
  assert.equal(refused(["--san", "a.b,B_C"]), 'invalid value "B_C" for --san: must be a name');
});

Deno.test("parseConfig() names an absent flag, a refused fallback, or a field without a flag", () => {
  const schema = z.object({
    name: z.string().regex(/^[a-z]+$/, "must be lowercase"),
    join: z.string().optional(),
    token: z.string().optional(),
    internal: z.number().default(1),
  }).superRefine((c, ctx) => {
    if (c.join && !c.token) {
      ctx.addIssue({ code: "custom", path: ["token"], message: "is required with --join" });
    }
  });
  const flags = parseFlags(["--join", "https://a:1"], {
    join: { type: "string", help: "j" },
    token: { type: "string", help: "t" },
  });
  assert.throws(
    () =>
      parseConfig(schema, {
        name: "ok",
        join: fromFlag(flags, "join"),
        token: fromFlag(flags, "token"),
      }),
    { name: "UsageError", message: "--token: is required with --join" },
  );
  assert.throws(
    () => parseConfig(schema, { name: fromFlag(flags, "node-name", { fallback: "MY_HOST" }) }),
    { name: "UsageError", message: 'invalid default "MY_HOST" for --node-name: must be lowercase' },
  );
  assert.throws(
    () => parseConfig(schema, { name: "ok", internal: "x" }),
    { name: "UsageError", message: "invalid configuration: internal: must be a number" },
  );
});
