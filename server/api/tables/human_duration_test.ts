import assert from "node:assert/strict";
import { humanDuration, timestampAge } from "./human_duration.ts";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

Deno.test("humanDuration() matches kubectl's AGE formatting at each precision step", () => {
  const cases: [number, string][] = [
    [-5 * S, "<invalid>"],
    [-1 * S, "0s"],
    [0, "0s"],
    [5 * S, "5s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [3 * M + 20 * S, "3m20s"],
    [9 * M + 59 * S, "9m59s"],
    [10 * M + 30 * S, "10m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [4 * H + 5 * M, "4h5m"],
    [7 * H + 59 * M, "7h59m"],
    [8 * H + 30 * M, "8h"],
    [47 * H, "47h"],
    [2 * D, "2d"],
    [2 * D + 3 * H, "2d3h"],
    [7 * D + 23 * H, "7d23h"],
    [8 * D + 5 * H, "8d"],
    [45 * D, "45d"],
    [729 * D, "729d"],
    [730 * D, "2y"],
    [3 * 365 * D + 20 * D, "3y20d"],
    [8 * 365 * D + 100 * D, "8y"],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

Deno.test("timestampAge() measures from an RFC 3339 timestamp", () => {
  const now = new Date("2026-11-28T12:00:00Z");
  assert.equal(timestampAge("2026-11-28T11:56:40Z", now), "3m20s");
  assert.equal(timestampAge(undefined, now), "<unknown>");
  assert.equal(timestampAge("not a time", now), "<unknown>");
});
