import assert from "node:assert/strict";
import { invalidCauses } from "../testing/invalid_causes.ts";
import { findResource } from "./resources.ts";
import { validateCreate, validateUpdate } from "./validation.ts";

const info = findResource("", "v1", "resourcequotas")!;

const quota = (spec: unknown) => ({ metadata: { name: "q", namespace: "default" }, spec });

Deno.test("a ResourceQuota with standard, count/ and per-class names is valid", () => {
  const q = validateCreate(
    info,
    quota({
      hard: {
        pods: "10",
        "requests.cpu": "1",
        "limits.memory": "2Gi",
        "count/deployments.apps": "3",
        "count/widgets.example.com": "1",
        "local-path.storageclass.storage.k8s.io/requests.storage": "5Gi",
        "requests.example.com/gpu": "1500m",
        "hugepages-2Mi": "1Gi",
        services: 4,
      },
    }),
  );
  assert.equal(q.spec.hard.services, "4", "a bare number is stored as a quantity string");
  validateCreate(
    info,
    quota({
      hard: { pods: "2", "requests.cpu": "1", "count/deployments.apps": "1" },
      scopes: ["NotTerminating"],
      scopeSelector: {
        matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }],
      },
    }),
  );
});

Deno.test("ResourceQuota validation: resource names and quantities, kube-apiserver's messages", () => {
  assert.deepEqual(
    invalidCauses(() =>
      validateCreate(
        info,
        quota({
          hard: {
            foo: "1",
            storage: "1Gi",
            "limits.pods": "1",
            pods: "-1",
            services: "1500m",
            "count/pods": "0.5",
          },
        }),
      )
    ),
    [
      'spec.hard[count/pods]: Invalid value: "0.5": must be an integer',
      'spec.hard[foo]: Invalid value: "foo": must be a standard resource type or fully qualified',
      'spec.hard[foo]: Invalid value: "foo": must be a standard resource for quota',
      'spec.hard[limits.pods]: Invalid value: "limits.pods": must be a standard resource type or fully qualified',
      'spec.hard[limits.pods]: Invalid value: "limits.pods": must be a standard resource for quota',
      'spec.hard[pods]: Invalid value: "-1": must be greater than or equal to 0',
      'spec.hard[services]: Invalid value: "1500m": must be an integer',
      'spec.hard[storage]: Invalid value: "storage": must be a standard resource for quota',
    ],
  );
});

Deno.test("ResourceQuota validation: scopes", () => {
  const table: [string, unknown, string[]][] = [
    ["an unknown scope", { hard: { pods: "1" }, scopes: ["Foo"] }, [
      'spec.scopes: Invalid value: []core.ResourceQuotaScope{"Foo"}: unsupported scope',
    ]],
    ["BestEffort on cpu (once, however many resources)", {
      hard: { pods: "1", cpu: "1", memory: "1Gi" },
      scopes: ["BestEffort"],
    }, [
      'spec.scopes: Invalid value: []core.ResourceQuotaScope{"BestEffort"}: unsupported scope applied to resource',
    ]],
    ["a pod scope on services", { hard: { services: "1" }, scopes: ["Terminating"] }, [
      'spec.scopes: Invalid value: []core.ResourceQuotaScope{"Terminating"}: unsupported scope applied to resource',
    ]],
    ["conflicting scopes", { hard: { pods: "1" }, scopes: ["BestEffort", "NotBestEffort"] }, [
      'spec.scopes: Invalid value: []core.ResourceQuotaScope{"BestEffort", "NotBestEffort"}: conflicting scopes',
    ]],
    ["VolumeAttributesClass (feature-gated off in 1.32)", {
      hard: { persistentvolumeclaims: "1" },
      scopes: ["VolumeAttributesClass"],
    }, [
      'spec.scopes: Invalid value: []core.ResourceQuotaScope{"VolumeAttributesClass"}: unsupported scope',
    ]],
  ];
  for (const [name, spec, want] of table) {
    assert.deepEqual(invalidCauses(() => validateCreate(info, quota(spec))), want, name);
  }
});

Deno.test("ResourceQuota validation: scope selectors", () => {
  const sel = (...matchExpressions: unknown[]) => ({ matchExpressions });
  const table: [string, unknown, string[]][] = [
    ["an unknown scope", {
      hard: { pods: "1" },
      scopeSelector: sel({ scopeName: "Foo", operator: "Exists" }),
    }, [
      'spec.scopeSelector.matchExpressions.scopeName: Invalid value: "Foo": unsupported scope',
    ]],
    ["In without values", {
      hard: { pods: "1" },
      scopeSelector: sel({ scopeName: "PriorityClass", operator: "In" }),
    }, [
      "spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
    ]],
    ["Exists with values", {
      hard: { pods: "1" },
      scopeSelector: sel({ scopeName: "PriorityClass", operator: "Exists", values: ["a"] }),
    }, [
      "spec.scopeSelector.matchExpressions.values: Invalid value: []string{\"a\"}: must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
    ]],
    ["a pod-state scope with In, and an unknown operator", {
      hard: { pods: "1" },
      scopeSelector: sel({ scopeName: "BestEffort", operator: "In", values: ["x"] }, {
        scopeName: "PriorityClass",
        operator: "Gt",
      }),
    }, [
      "spec.scopeSelector.matchExpressions.operator: Invalid value: \"In\": must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
      'spec.scopeSelector.matchExpressions.operator: Invalid value: "Gt": not a valid selector operator',
    ]],
    ["BestEffort on memory", {
      hard: { memory: "1Gi" },
      scopeSelector: sel({ scopeName: "BestEffort", operator: "Exists" }),
    }, [
      'spec.scopeSelector.matchExpressions: Invalid value: core.ScopeSelector{MatchExpressions:[]core.ScopedResourceSelectorRequirement{core.ScopedResourceSelectorRequirement{ScopeName:"BestEffort", Operator:"Exists", Values:[]string(nil)}}}: unsupported scope applied to resource',
    ]],
    ["conflicting scopes", {
      hard: { pods: "1" },
      scopeSelector: sel({ scopeName: "Terminating", operator: "Exists" }, {
        scopeName: "NotTerminating",
        operator: "Exists",
      }),
    }, [
      "spec.scopeSelector.matchExpressions: Invalid value: []core.ResourceQuotaScope(nil): conflicting scopes",
    ]],
  ];
  for (const [name, spec, want] of table) {
    assert.deepEqual(invalidCauses(() => validateCreate(info, quota(spec))), want, name);
  }
});

Deno.test("a ResourceQuota's scopes are fixed at create; its hard limits may change", () => {
  const old = validateCreate(info, quota({ hard: { pods: "1" }, scopes: ["BestEffort"] }));
  const grown = validateUpdate(info, quota({ hard: { pods: "5" }, scopes: ["BestEffort"] }), old);
  assert.equal(grown.spec.hard.pods, "5");
  assert.deepEqual(
    invalidCauses(() =>
      validateUpdate(info, quota({ hard: { pods: "1" }, scopes: ["NotBestEffort"] }), old)
    ),
    [
      'spec.scopes: Invalid value: []core.ResourceQuotaScope{"NotBestEffort"}: field is immutable',
    ],
  );
});

Deno.test("a ResourceQuota's status is validated as its spec is", () => {
  assert.deepEqual(
    invalidCauses(() =>
      validateCreate(info, {
        ...quota({ hard: { pods: "1" } }),
        status: { hard: { pods: "1" }, used: { pods: "-1" } },
      })
    ),
    ['status.used[pods]: Invalid value: "-1": must be greater than or equal to 0'],
  );
});
