import { deepEqual as assertEquals, equal, throws as assertThrows } from "node:assert/strict";
import { BadRequestError } from "../../shared/errors.ts";
import { parseResourcePath } from "./request_info.ts";

const parse = (path: string) => parseResourcePath("", "v1", path.split("/"));

Deno.test("parseResourcePath() reads a namespaced object's subresource", () => {
  assertEquals(parse("namespaces/default/pods/web/status"), {
    group: "",
    version: "v1",
    namespace: "default",
    resource: "pods",
    name: "web",
    subresource: "status",
  });
});

Deno.test("parseResourcePath() refuses segments after a subresource other than proxy", () => {
  assertEquals(parse("namespaces/default/pods/web/log/extra"), undefined);
  assertEquals(parse("nodes/n1/status/extra"), undefined);
});

Deno.test("parseResourcePath() keeps the path after proxy, raw, with its trailing slash", () => {
  const cases: [string, string][] = [
    ["namespaces/default/pods/web:8080/proxy", ""],
    ["namespaces/default/pods/web:8080/proxy/", "/"],
    ["namespaces/default/pods/web:8080/proxy/metrics", "/metrics"],
    ["namespaces/default/pods/web:8080/proxy/a/b/", "/a/b/"],
    ["namespaces/default/pods/web:8080/proxy/a//b%20c", "/a//b%20c"],
  ];
  for (const [path, proxyPath] of cases) {
    const ri = parse(path);
    equal(ri?.resource, "pods", path);
    assertEquals(ri?.name, "web:8080", path);
    assertEquals(ri?.subresource, "proxy", path);
    assertEquals(ri?.proxyPath, proxyPath, path);
  }
  assertEquals(parse("namespaces/default/services/https:web:443/proxy/x")?.name, "https:web:443");
  const node = parse("nodes/n1/proxy/metrics/cadvisor");
  assertEquals(node?.namespace, undefined);
  assertEquals([node?.resource, node?.name, node?.proxyPath], [
    "nodes",
    "n1",
    "/metrics/cadvisor",
  ]);
});

Deno.test("parseResourcePath() still refuses an empty segment before proxy", () => {
  assertEquals(parse("namespaces/default/pods//proxy/x"), undefined);
  assertEquals(parse("namespaces//pods/web/proxy/x"), undefined);
});

Deno.test("parseResourcePath() does not take a namespace named like a subresource for one", () => {
  // `/namespaces/proxy` and `/namespaces/x/proxy` are no proxy subresource.
  assertEquals(parse("namespaces/x/proxy")?.proxyPath, undefined);
  assertEquals(parse("namespaces/proxy")?.proxyPath, undefined);
});

Deno.test("parseResourcePath() throws a 400 for a bad escape in the name", () => {
  assertThrows(() => parse("namespaces/default/pods/%zz/proxy/"), BadRequestError);
});
