import assert from "node:assert/strict";
import { latin1 } from "./http1_conn.ts";
import { latin1Of, parseHead, StringMemo } from "./http1_head.ts";

const parse = (text: string) => {
  const bytes = latin1(text);
  return { bytes, head: parseHead(bytes, 0, bytes.length) };
};

Deno.test("parseHead() finds the start line and headers without decoding the rest", () => {
  const text = "GET /api/x?y=1 HTTP/1.1\r\nHost: app.test\r\nX-Odd:  spaced \u00e9 \r\n" +
    "Content-Length: 5\r\n\r\nhello";
  const { head } = parse(text);
  assert.ok(head);
  assert.equal(head.byteLength, text.length - 5);
  assert.deepEqual(head.start, ["GET", "/api/x?y=1", "HTTP/1.1"]);
  assert.ok(head.startIs(2, "HTTP/1.1") && !head.startIs(2, "HTTP/1.0"));
  assert.equal(head.count, 3);
  assert.equal(head.get("host"), "app.test");
  assert.equal(head.get("x-odd"), "spaced \u00e9", "trimmed, one character per byte");
  assert.equal(head.get("content-length"), "5");
  assert.equal(head.get("content-type"), undefined);
  assert.equal(head.indexOf("x-", true), 1);
  assert.deepEqual(head.names, ["host", "x-odd", "content-length"]);
  assert.equal(
    latin1Of(head.bytesWithoutEnd()!, 0, head.bytesWithoutEnd()!.length),
    text.slice(0, -7),
  );
});

Deno.test("parseHead() compares names case-insensitively by letters only", () => {
  const { head } = parse("HTTP/1.1 204 No Content\r\nCONTENT-length: 0\r\nX\rForwarded: 1\r\n\r\n");
  assert.ok(head);
  assert.equal(head.statusCode, 204);
  assert.deepEqual(head.start, ["HTTP/1.1", "204", "No Content"]);
  assert.equal(head.get("content-length"), "0");
  assert.equal(head.indexOf("x-forwarded"), -1, "a CR is not a dash");
});

Deno.test("parseHead() waits for the empty line, and accepts bare LF line ends", () => {
  assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\n").head, undefined);
  assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r").head, undefined);
  const { head } = parse("GET / HTTP/1.0\nHost: a\n\n");
  assert.ok(head);
  assert.equal(head.get("host"), "a");
  assert.equal(head.bytesWithoutEnd(), undefined, "bare LF: the head is rebuilt, not copied");
  assert.equal(head.lineAt(0), "Host: a\r\n");
});

Deno.test("parseHead() refuses malformed heads with the offending line", () => {
  assert.throws(() => parse("GARBAGE\r\n\r\n"), /malformed start line: GARBAGE/);
  assert.throws(() => parse("GET / HTTP/1.1\r\nno colon here\r\n\r\n"), /malformed header line/);
  assert.throws(() => parse("GET / HTTP/1.1\r\n: empty name\r\n\r\n"), /malformed header line/);
  assert.ok(Number.isNaN(parse("HTTP/1.1 2x0 Odd\r\n\r\n").head!.statusCode));
});

Deno.test("a released head throws instead of reading bytes that were overwritten", () => {
  const { bytes, head } = parse("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.ok(head);
  assert.equal(head.start[1], "/a");
  head.release();
  bytes.fill(0);
  assert.equal(head.start[1], "/a", "what was decoded before stays");
  assert.throws(() => head.get("host"), /used after its connection read on/);
});

Deno.test("a StringMemo hands out the same string for the same bytes, and new ones for others", () => {
  const memo = new StringMemo();
  const a = latin1("GET /x HTTP/1.1 app.test");
  const b = latin1("GET /y HTTP/1.1 app.test");
  const first = memo.of(a, 4, 6);
  assert.equal(first, "/x");
  assert.equal(memo.of(b, 4, 6), "/y", "same length, other bytes");
  assert.equal(memo.of(a, 4, 6), "/x");
  assert.equal(memo.of(a, 7, 15), "HTTP/1.1");
  assert.equal(memo.of(latin1("caf\u00e9"), 0, 4), "caf\u00e9", "latin1, not UTF-8");
  // Many different strings: the memo stays bounded and still answers right.
  for (let i = 0; i < 100; i++) {
    const bytes = latin1(`/path/${i}`);
    assert.equal(memo.of(bytes, 0, bytes.length), `/path/${i}`);
  }
});

Deno.test("known headers are found in any case, and absent ones answered without a scan", () => {
  const { head } = parse(
    "GET / HTTP/1.1\r\nhOsT: a\r\nX-Forwarded-For-Extra: 1\r\nCONNECTION: close\r\n" +
      "User-Agent: u\r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
  );
  assert.ok(head);
  assert.equal(head.get("host"), "a");
  assert.equal(head.get("connection"), "close");
  assert.equal(head.get("transfer-encoding"), "chunked");
  assert.equal(head.get("x-forwarded-for"), "10.0.0.1", "not the longer name before it");
  assert.equal(head.indexOf("x-forwarded-", true), 1);
  assert.equal(head.indexOf("x-forwarded-for", true), 1, "a prefix lookup scans");
  for (const absent of ["keep-alive", "upgrade", "te", "expect", "content-length", "x-real-ip"]) {
    assert.equal(head.indexOf(absent), -1, absent);
  }
  assert.equal(head.get("user-agent"), "u", "an unknown name is scanned for");
  const { head: bare } = parse("GET / HTTP/1.1\r\nX-Other: 1\r\n\r\n");
  assert.equal(bare!.indexOf("x-forwarded-", true), -1);
});
