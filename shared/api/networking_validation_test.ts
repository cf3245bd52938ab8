import assert from "node:assert/strict";
import { invalidCauses } from "../testing/invalid_causes.ts";
import { findResource } from "./resources.ts";
import { validateCreate, validateUpdate } from "./validation.ts";

const ingInfo = findResource("networking.k8s.io", "v1", "ingresses")!;
const classInfo = findResource("networking.k8s.io", "v1", "ingressclasses")!;

const svc = (port: unknown = { number: 80 }) => ({ service: { name: "web", port } });
const ing = (spec: unknown, annotations?: Record<string, string>) => ({
  metadata: { name: "web", namespace: "default", annotations },
  spec,
});
const rule = (host: string | undefined, path: unknown) => ({
  rules: [{ host, http: { paths: [path] } }],
});

Deno.test("Ingress validation as Kubernetes: hosts, paths, backends", () => {
  const table: [string, unknown, string[]][] = [
    ["a default backend alone", ing({ defaultBackend: svc() }), []],
    [
      "wildcard host, Prefix, port by name",
      ing(rule("*.example.com", {
        path: "/api",
        pathType: "Prefix",
        backend: svc({ name: "http" }),
      })),
      [],
    ],
    ["neither rules nor default backend", ing({}), [
      "spec: Invalid value: {}: either `defaultBackend` or `rules` must be specified",
    ]],
    ["an IP host", ing(rule("10.0.0.1", { path: "/", pathType: "Prefix", backend: svc() })), [
      'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
    ]],
    [
      "a wildcard in the middle",
      ing(rule("a.*.com", {
        path: "/",
        pathType: "Prefix",
        backend: svc(),
      })),
      [
        'spec.rules[0].host: Invalid value: "a.*.com": a lowercase RFC 1123 subdomain must consist ' +
        "of lower case alphanumeric characters, '-' or '.', and must start and end with an " +
        "alphanumeric character (e.g. 'example.com', regex used for validation is " +
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    ],
    ["no pathType", ing(rule("a.test", { path: "/", backend: svc() })), [
      "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
    ]],
    ["an unknown pathType", ing(rule("a.test", { path: "/", pathType: "Regex", backend: svc() })), [
      'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: ' +
      '"Exact", "Prefix", "ImplementationSpecific"',
    ]],
    [
      "a relative Prefix path",
      ing(rule("a.test", {
        path: "api",
        pathType: "Prefix",
        backend: svc(),
      })),
      [
        'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path',
      ],
    ],
    [
      "a Prefix path with //",
      ing(rule("a.test", {
        path: "/a//b",
        pathType: "Exact",
        backend: svc(),
      })),
      [
        "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'",
      ],
    ],
    ["both port name and number", ing({ defaultBackend: svc({ name: "http", number: 80 }) }), [
      'spec.defaultBackend.service.port: Invalid value: {"name":"http","number":80}: cannot set ' +
      "both port name & port number",
    ]],
    ["no port", ing({ defaultBackend: { service: { name: "web" } } }), [
      "spec.defaultBackend.service.port: Required value: port name or number is required",
    ]],
    [
      "a resource backend",
      ing({
        defaultBackend: { resource: { apiGroup: "k8s.example.com", kind: "Bucket", name: "b" } },
      }),
      [
        "spec.defaultBackend.resource: Forbidden: resource backends are not supported by the " +
        "skiff.io/ingress controller; use a service backend",
      ],
    ],
    [
      "class field and annotation",
      ing(
        { ingressClassName: "skiff", defaultBackend: svc() },
        { "kubernetes.io/ingress.class": "skiff" },
      ),
      [
        'metadata.annotations[kubernetes.io/ingress.class]: Invalid value: "skiff": can not be set ' +
        "when the class field is also set",
      ],
    ],
  ];
  for (const [name, obj, want] of table) {
    assert.deepEqual(invalidCauses(() => validateCreate(ingInfo, obj)), want, name);
  }
});

Deno.test("IngressClass validation: a domain-prefixed controller, immutable; no parameters for skiff's", () => {
  const cls = (spec: unknown) => ({ metadata: { name: "c" }, spec });
  assert.deepEqual(
    invalidCauses(() => validateCreate(classInfo, cls({ controller: "acme.io/lb" }))),
    [],
  );
  assert.deepEqual(invalidCauses(() => validateCreate(classInfo, cls({}))), [
    "spec.controller: Required value",
  ]);
  assert.deepEqual(
    invalidCauses(() => validateCreate(classInfo, cls({ controller: "nodomain" }))),
    [
      'spec.controller: Invalid value: "nodomain": must be a domain-prefixed path (such as ' +
      '"acme.io/foo")',
    ],
  );
  assert.deepEqual(
    invalidCauses(() =>
      validateCreate(
        classInfo,
        cls({ controller: "skiff.io/ingress", parameters: { kind: "Cfg", name: "x" } }),
      )
    ),
    ["spec.parameters: Forbidden: the skiff.io/ingress controller takes no parameters"],
  );
  const old = validateCreate(classInfo, cls({ controller: "acme.io/lb" }));
  const next = { ...old, spec: { controller: "acme.io/other" } };
  assert.deepEqual(invalidCauses(() => validateUpdate(classInfo, next, old)), [
    'spec.controller: Invalid value: "acme.io/other": field is immutable',
  ]);
});
