import assert from "node:assert/strict";
import { Ingress } from "../shared/api/networking_v1.ts";
import { buildIngressRoutes, hostOf, matchIngress, pathMatches } from "./ingress_rules.ts";

const be = (name: string) => ({ service: { name, port: { number: 80 } } });
const ingress = (name: string, created: string, spec: unknown) =>
  Ingress.parse({
    metadata: { name, namespace: "default", creationTimestamp: created },
    spec,
  });

const routes = buildIngressRoutes([
  ingress("b-newer", "2026-01-02T00:00:00Z", {
    defaultBackend: be("newer-default"),
    rules: [{
      host: "foo.example.com",
      http: { paths: [{ path: "/", pathType: "Prefix", backend: be("newer-root") }] },
    }],
  }),
  ingress("a-older", "2026-01-01T00:00:00Z", {
    defaultBackend: be("default"),
    rules: [
      {
        host: "foo.example.com",
        http: {
          paths: [
            { path: "/", pathType: "Prefix", backend: be("foo-root") },
            { path: "/foo/bar", pathType: "Prefix", backend: be("foo-bar") },
            { path: "/foo/bar", pathType: "Exact", backend: be("foo-bar-exact") },
            { path: "/foo/", pathType: "Prefix", backend: be("foo") },
            { path: "/impl", pathType: "ImplementationSpecific", backend: be("impl") },
            { path: "/exact", pathType: "Exact", backend: be("exact") },
          ],
        },
      },
      {
        host: "*.example.com",
        http: { paths: [{ path: "/", pathType: "Prefix", backend: be("wild") }] },
      },
      {
        http: { paths: [{ path: "/any", pathType: "Prefix", backend: be("any-host") }] },
      },
    ],
  }),
]);

const cases: [host: string, path: string, want: string | undefined][] = [
  ["foo.example.com", "/", "foo-root"],
  ["FOO.example.com:8080", "/x", "foo-root"],
  ["foo.example.com", "/foo/bar", "foo-bar-exact"],
  ["foo.example.com", "/foo/bar/", "foo-bar"],
  ["foo.example.com", "/foo/bar/baz", "foo-bar"],
  ["foo.example.com", "/foo/barbaz", "foo"],
  ["foo.example.com", "/foo", "foo"],
  ["foo.example.com", "/foox", "foo-root"],
  ["foo.example.com", "/impl/a", "impl"],
  ["foo.example.com", "/implx", "foo-root"],
  ["foo.example.com", "/exact", "exact"],
  ["foo.example.com", "/exact/", "foo-root"],
  ["bar.example.com", "/anything", "wild"],
  ["a.bar.example.com", "/anything", "default"],
  ["example.com", "/", "default"],
  ["other.test", "/any/thing", "any-host"],
  ["other.test", "/anything", "default"],
  ["bar.example.com", "/any", "wild"],
];

for (const [host, path, want] of cases) {
  Deno.test(`matchIngress(): ${host}${path} → ${want}`, () => {
    assert.equal(matchIngress(routes, host, path)?.service, want);
  });
}

Deno.test("matchIngress(): no rule and no default backend is no match", () => {
  const r = buildIngressRoutes([
    ingress("x", "2026-01-01T00:00:00Z", {
      rules: [{
        host: "a.test",
        http: { paths: [{ path: "/", pathType: "Prefix", backend: be("a") }] },
      }],
    }),
  ]);
  assert.equal(matchIngress(r, "b.test", "/"), undefined);
  assert.equal(matchIngress(r, "a.test", "/x")?.service, "a");
});

Deno.test("matchIngress(): a port by name is kept by name", () => {
  const r = buildIngressRoutes([
    ingress("x", "2026-01-01T00:00:00Z", {
      defaultBackend: { service: { name: "web", port: { name: "http" } } },
    }),
  ]);
  assert.deepEqual(matchIngress(r, "h", "/")?.port, { name: "http" });
});

Deno.test("pathMatches(): Prefix is element-wise, / matches all, Exact is exact", () => {
  const p = (path: string) => ({ path, exact: false });
  assert.equal(pathMatches(p("/aaa/bb"), "/aaa/bbb"), false);
  assert.equal(pathMatches(p("/aaa/bbb"), "/aaa/bbb/"), true);
  assert.equal(pathMatches(p("/"), "/anything"), true);
  assert.equal(pathMatches({ path: "/foo", exact: true }, "/foo/"), false);
});

Deno.test("hostOf(): drops the port and lower-cases", () => {
  assert.equal(hostOf("Foo.Test:80"), "foo.test");
  assert.equal(hostOf("[::1]:443"), "[::1]");
  assert.equal(hostOf("plain"), "plain");
});
