/**
 * Early error answers over HTTP/2 arrive whole for curl (issue #11 item 5): a response sent
 * before the request body was read used to be followed by a RST_STREAM that made curl fail with
 * error 92 and lose the answer. Real `curl --http2` against the real TLS server.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./test_utils.ts";

Deno.test("curl --http2 receives 401/403/404/405/413 whole while uploading a body", async () => {
  const s = await startTestServer({ controllers: false });
  const dir = await Deno.makeTempDir({ prefix: "skiff-h2-" });
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, s.caPem);
    await Deno.writeTextFile(`${dir}/1m.json`, "x".repeat(1_000_000));
    await Deno.writeTextFile(`${dir}/4m.json`, "x".repeat(4_000_000));
    const cases: [string, string, string, string, number][] = [
      ["not-a-token", "POST", "/api/v1/namespaces/default/configmaps", "1m", 401],
      [s.joinToken, "POST", "/api/v1/namespaces/default/configmaps", "1m", 403],
      [s.token, "POST", "/api/v1/namespaces/default/nothings", "1m", 404],
      [s.token, "DELETE", "/api/v1/namespaces", "1m", 405],
      [s.token, "POST", "/api/v1/namespaces/default/configmaps", "4m", 413],
      ["not-a-token", "POST", "/api/v1/namespaces/default/configmaps", "4m", 401],
    ];
    for (const [token, method, path, file, want] of cases) {
      const out = await new Deno.Command("curl", {
        args: [
          "-sS",
          "--http2",
          "--max-time",
          "20",
          "--cacert",
          `${dir}/ca.pem`,
          "-X",
          method,
          "-H",
          `Authorization: Bearer ${token}`,
          "-H",
          "Content-Type: application/json",
          "--data-binary",
          `@${dir}/${file}.json`,
          "-w",
          "\n%{http_code} %{http_version}",
          `${s.url}${path}`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const what = `${method} ${path} (${file}): ${new TextDecoder().decode(out.stderr)}`;
      assert.equal(out.code, 0, what);
      const lines = stdout.trimEnd().split("\n");
      assert.deepEqual(lines[lines.length - 1], `${want} 2`, what);
      const status = JSON.parse(lines.slice(0, -1).join("\n"));
      assert.equal(status.kind, "Status", what);
      assert.deepEqual(status.code, want, what);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await s.stop();
  }
});
