import assert from "node:assert/strict";
import type { PolicyRule } from "../../../shared/api/rbac_v1.ts";
import {
  type AuthorizationAttributes,
  breakdownRule,
  compactString,
  ruleAllows,
  ruleCovers,
  uncoveredRules,
} from "./policy_rule.ts";

function res(
  verb: string,
  resource: string,
  more: Partial<AuthorizationAttributes> = {},
): AuthorizationAttributes {
  const [r, sub] = resource.split("/");
  return { verb, resourceRequest: true, apiGroup: "", resource: r, subresource: sub, ...more };
}

Deno.test("ruleAllows() matches verbs, groups, resources, subresources, names and URLs as RBAC", () => {
  const cases: [string, PolicyRule, AuthorizationAttributes, boolean][] = [
    ["exact", { verbs: ["get"], apiGroups: [""], resources: ["pods"] }, res("get", "pods"), true],
    [
      "other verb",
      { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
      res("list", "pods"),
      false,
    ],
    ["verb *", { verbs: ["*"], apiGroups: [""], resources: ["pods"] }, res("delete", "pods"), true],
    [
      "other group",
      { verbs: ["get"], apiGroups: ["apps"], resources: ["pods"] },
      res("get", "pods"),
      false,
    ],
    [
      "group *",
      { verbs: ["get"], apiGroups: ["*"], resources: ["deployments"] },
      res("get", "deployments", { apiGroup: "apps" }),
      true,
    ],
    [
      "resource does not cover its subresource",
      { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
      res("get", "pods/log"),
      false,
    ],
    [
      "resource/subresource",
      { verbs: ["get"], apiGroups: [""], resources: ["pods/log"] },
      res("get", "pods/log"),
      true,
    ],
    [
      "*/subresource",
      { verbs: ["update"], apiGroups: ["*"], resources: ["*/scale"] },
      res("update", "deployments/scale", { apiGroup: "apps" }),
      true,
    ],
    [
      "* covers subresources",
      { verbs: ["get"], apiGroups: [""], resources: ["*"] },
      res("get", "pods/log"),
      true,
    ],
    [
      "resourceNames match the name",
      { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] },
      res("get", "configmaps", { name: "a" }),
      true,
    ],
    [
      "resourceNames refuse another name",
      { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] },
      res("get", "configmaps", { name: "b" }),
      false,
    ],
    [
      "resourceNames refuse list (no name)",
      { verbs: ["list"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] },
      res("list", "configmaps"),
      false,
    ],
    [
      "URL exact",
      { verbs: ["get"], nonResourceURLs: ["/metrics"] },
      { verb: "get", resourceRequest: false, path: "/metrics" },
      true,
    ],
    [
      "URL prefix*",
      { verbs: ["get"], nonResourceURLs: ["/apis/*"] },
      { verb: "get", resourceRequest: false, path: "/apis/apps/v1" },
      true,
    ],
    [
      "URL rule never matches a resource",
      { verbs: ["get"], nonResourceURLs: ["*"] },
      res("get", "pods"),
      false,
    ],
    [
      "resource rule never matches a URL",
      { verbs: ["get"], apiGroups: ["*"], resources: ["*"] },
      { verb: "get", resourceRequest: false, path: "/metrics" },
      false,
    ],
  ];
  for (const [name, rule, attrs, want] of cases) assert.equal(ruleAllows(attrs, rule), want, name);
});

Deno.test("breakdownRule() splits a rule into one-verb atoms", () => {
  assert.deepEqual(
    breakdownRule({
      verbs: ["get", "list"],
      apiGroups: [""],
      resources: ["pods"],
      resourceNames: ["a"],
    }),
    [
      { apiGroups: [""], resources: ["pods"], resourceNames: ["a"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods"], resourceNames: ["a"], verbs: ["list"] },
    ],
  );
  assert.deepEqual(breakdownRule({ verbs: ["get"], nonResourceURLs: ["/a", "/b"] }), [
    { nonResourceURLs: ["/a"], verbs: ["get"] },
    { nonResourceURLs: ["/b"], verbs: ["get"] },
  ]);
});

Deno.test("ruleCovers() and uncoveredRules() decide what an owner holds", () => {
  const cases: [string, PolicyRule, PolicyRule, boolean][] = [
    [
      "wildcards cover all",
      { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
      { verbs: ["delete"], apiGroups: ["apps"], resources: ["deployments/scale"] },
      true,
    ],
    [
      "*/scale covers deployments/scale",
      { verbs: ["get"], apiGroups: ["apps"], resources: ["*/scale"] },
      { verbs: ["get"], apiGroups: ["apps"], resources: ["deployments/scale"] },
      true,
    ],
    [
      "named owner does not cover unnamed",
      { verbs: ["get"], apiGroups: [""], resources: ["secrets"], resourceNames: ["a"] },
      { verbs: ["get"], apiGroups: [""], resources: ["secrets"] },
      false,
    ],
    [
      "unnamed owner covers named",
      { verbs: ["get"], apiGroups: [""], resources: ["secrets"] },
      { verbs: ["get"], apiGroups: [""], resources: ["secrets"], resourceNames: ["a"] },
      true,
    ],
    [
      "URL prefix covers a longer URL",
      { verbs: ["get"], nonResourceURLs: ["/metrics*"] },
      { verbs: ["get"], nonResourceURLs: ["/metrics/slis"] },
      true,
    ],
    [
      "resource owner does not cover a URL",
      { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
      { verbs: ["get"], nonResourceURLs: ["/metrics"] },
      false,
    ],
  ];
  for (const [name, owner, requested, want] of cases) {
    assert.equal(ruleCovers(owner, requested), want, name);
  }
  const missing = uncoveredRules(
    [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }],
    [{ verbs: ["get", "delete"], apiGroups: [""], resources: ["pods", "secrets"] }],
  );
  assert.deepEqual(missing.map(compactString), [
    `{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`,
    `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`,
    `{APIGroups:[""], Resources:["secrets"], Verbs:["delete"]}`,
  ]);
  // An extra cover (the token role) may hold what the rules do not.
  assert.deepEqual(
    uncoveredRules([], [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }], () => true),
    [],
  );
});
