import assert from "node:assert/strict";
import { ApiError } from "../../shared/errors.ts";
import { MAX_DEPTH, parseJson, parseYaml, readBody, yamlDepthBound } from "./body.ts";

const code = (n: number) => (e: unknown) => e instanceof ApiError && e.code === n;

function post(body: string, contentType: string): Request {
  return new Request("http://x/", {
    method: "POST",
    body,
    headers: { "content-type": contentType },
  });
}

Deno.test("readBody() refuses deep nesting quickly, JSON and YAML, with 400", async () => {
  for (
    const [body, type] of [
      ["[".repeat(1_000_000), "application/json"],
      ["[".repeat(MAX_DEPTH + 1) + "]".repeat(MAX_DEPTH + 1), "application/json"],
      ["[".repeat(100_000), "application/yaml"],
      [
        `{"a":${"[".repeat(MAX_DEPTH + 1)}${"]".repeat(MAX_DEPTH + 1)}}`,
        "application/apply-patch+yaml",
      ],
      [
        "a:\n" + Array.from({ length: 600 }, (_, i) => `${" ".repeat(i + 1)}- x:`).join("\n"),
        "application/yaml",
      ],
    ]
  ) {
    const start = performance.now();
    await assert.rejects(readBody(post(body, type)), (e) => code(400)(e) || code(413)(e));
    assert.ok(performance.now() - start < 500, `${type} ${body.slice(0, 10)}`);
  }
  // At the limit, fine.
  const ok = "[".repeat(MAX_DEPTH) + "]".repeat(MAX_DEPTH);
  assert.ok(Array.isArray(await readBody(post(ok, "application/json"))));
});

Deno.test("parseYaml(): self-referencing and exponential aliases are 400s, not stack overflows", () => {
  assert.throws(() => parseYaml("a: &a [*a]\n"), code(400));
  assert.throws(() => parseYaml("a: &a\n  b: *a\n"), code(400));
  const laughs = ["a: &a [x,x,x,x,x,x,x,x,x]"];
  for (let i = 1; i < 8; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    laughs.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  assert.throws(() => parseYaml(laughs.join("\n")), (e) => e instanceof Error);
  assert.deepEqual(parseYaml("a: &x 1\nb: *x\n"), { a: 1, b: 1 });
});

Deno.test("parseYaml(): JSON takes the fast path; other YAML is capped; duplicate keys keep the last", () => {
  const big = JSON.stringify({ data: { k: "v".repeat(1_000_000) } });
  assert.equal((parseYaml(big) as { data: { k: string } }).data.k.length, 1_000_000);
  assert.throws(() => parseYaml(`k: ${"v".repeat(200_000)}\n`), code(413));
  assert.deepEqual(parseYaml("a: 1\na: 2\n"), { a: 2 });
});

Deno.test("parseJson() and readBody() refuse __proto__ keys", async () => {
  assert.deepEqual(parseJson('{"a":"[[[\\"[["}'), { a: '[[["[[' });
  await assert.rejects(readBody(post('{"__proto__":{"x":1}}', "application/json")), code(400));
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

Deno.test("yamlDepthBound() counts indentation, inline indicators and flow brackets", () => {
  assert.equal(yamlDepthBound("a: 1\n"), 2);
  assert.ok(yamlDepthBound("- - - - x") >= 4);
  assert.ok(yamlDepthBound("[[[[") >= 4);
});
