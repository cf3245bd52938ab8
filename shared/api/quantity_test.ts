import assert from "node:assert/strict";
import {
  canonicalQuantity,
  exactMillis,
  formatExactMillis,
  formatMillis,
  formatQuantity,
  isQuantity,
  parseQuantity,
  Quantity,
  quantityFormat,
  quantityMillis,
  quantityValue,
} from "./quantity.ts";

Deno.test("parseQuantity() reads decimal suffixes, binary suffixes and exponents", () => {
  assert.equal(parseQuantity("100m"), 0.1);
  assert.equal(parseQuantity("64Mi"), 64 * 1024 * 1024);
  assert.equal(parseQuantity("1.5Gi"), 1.5 * 1024 ** 3);
  assert.equal(parseQuantity("2"), 2);
  assert.equal(parseQuantity("1e3"), 1000);
  assert.equal(parseQuantity("1E"), 1e18, "a bare E is exa, not an exponent");
  assert.equal(parseQuantity("2k"), 2000);
  assert.equal(parseQuantity("500u"), 0.0005);
  assert.equal(parseQuantity(".5"), 0.5);
  assert.equal(parseQuantity("-1"), -1);
  assert.equal(parseQuantity(3), 3, "bare numbers from YAML are accepted");
});

Deno.test("parseQuantity() throws on malformed quantities", () => {
  for (const bad of ["", "abc", "1.2.3", "10mb", "Mi", "1 Gi", "1ki", "e3"]) {
    assert.throws(() => parseQuantity(bad), /unable to parse quantity/, bad);
    assert.equal(isQuantity(bad), false, bad);
  }
});

Deno.test("quantityMillis() is exact and rounds fractions of a milli up", () => {
  assert.equal(quantityMillis("100m"), 100);
  assert.equal(quantityMillis("0.1"), 100, "no floating point error");
  assert.equal(quantityMillis("1.5"), 1500);
  assert.equal(quantityMillis("2"), 2000);
  assert.equal(quantityMillis("1n"), 1);
});

Deno.test("quantityValue() gives whole units, rounding up", () => {
  assert.equal(quantityValue("64Mi"), 67108864);
  assert.equal(quantityValue("1.5Gi"), 1610612736);
  assert.equal(quantityValue("100m"), 1);
  assert.equal(quantityValue("1e3"), 1000);
});

Deno.test("formatQuantity() picks the largest exact suffix", () => {
  assert.equal(formatQuantity(64 * 1024 * 1024, { format: "BinarySI" }), "64Mi");
  assert.equal(formatQuantity(1536, { format: "BinarySI" }), "1536");
  assert.equal(formatQuantity(2 * 1024 ** 3, { format: "BinarySI" }), "2Gi");
  assert.equal(formatQuantity(2000), "2k");
  assert.equal(formatQuantity(0.25), "250m");
  assert.equal(formatQuantity(0), "0");
  assert.equal(formatQuantity(3), "3");
  assert.equal(formatMillis(250), "250m");
  assert.equal(formatMillis(2000), "2");
});

Deno.test("the Quantity schema stores numbers as strings and refuses bad strings", () => {
  assert.equal(Quantity.parse(1), "1");
  assert.equal(Quantity.parse(0.5), "0.5");
  assert.equal(Quantity.parse("64Mi"), "64Mi");
  const r = Quantity.safeParse("lots");
  assert.equal(r.success, false);
  assert.match(r.error!.issues[0].message, /quantities must match the regular expression/);
});

Deno.test("exactMillis() stays exact past what a number holds", () => {
  assert.equal(exactMillis("10Pi"), 10n * 2n ** 50n * 1000n);
  assert.equal(exactMillis("100m"), 100n);
  assert.equal(exactMillis("500u"), 1n, "fractions of a milli round up");
  assert.equal(exactMillis(2), 2000n);
});

Deno.test("quantityFormat() tells the suffix family", () => {
  assert.equal(quantityFormat("64Mi"), "BinarySI");
  assert.equal(quantityFormat("100m"), "DecimalSI");
  assert.equal(quantityFormat("1E"), "DecimalSI", "a bare E is exa");
  assert.equal(quantityFormat("1e3"), "DecimalExponent");
  assert.equal(quantityFormat(3), "DecimalSI");
});

Deno.test("formatExactMillis() and canonicalQuantity() print as Kubernetes' Quantity.String()", () => {
  assert.equal(formatExactMillis(0n), "0");
  assert.equal(formatExactMillis(250n), "250m");
  assert.equal(formatExactMillis(1500n), "1500m");
  assert.equal(formatExactMillis(1_500_000_000n), "1500k");
  assert.equal(formatExactMillis(-2000n), "-2");
  assert.equal(formatExactMillis(1536n * 1000n, "BinarySI"), "1536");
  assert.equal(formatExactMillis(2048n * 1024n * 1000n, "BinarySI"), "2Mi");
  assert.equal(formatExactMillis(1000n * 1000n, "BinarySI"), "1k", "below 1024 is DecimalSI");
  assert.equal(formatExactMillis(100n, "BinarySI"), "100m");
  assert.equal(formatExactMillis(1_000_000n, "DecimalExponent"), "1e3");
  assert.equal(formatExactMillis(100n, "DecimalExponent"), "100e-3");
  assert.equal(canonicalQuantity("1000m"), "1");
  assert.equal(canonicalQuantity("2048Mi"), "2Gi");
  assert.equal(canonicalQuantity("1.5Gi"), "1536Mi");
  assert.equal(canonicalQuantity("10"), "10");
});
