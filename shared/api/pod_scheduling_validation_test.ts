import assert from "node:assert/strict";
import { FieldErrors } from "./field_errors.ts";
import {
  validatePodAffinities,
  validateTopologySpreadConstraints,
} from "./pod_scheduling_validation.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

function check(spec: Obj): string[] {
  const errs = new FieldErrors();
  validatePodAffinities(spec, "spec.template.spec", errs);
  validateTopologySpreadConstraints(spec, "spec.template.spec", errs);
  return errs.causes.map((c) => `${c.field}: ${c.message}`);
}

Deno.test("pod affinity terms are validated with Kubernetes' paths and messages", () => {
  const at = "spec.template.spec.affinity.podAntiAffinity";
  assert.deepEqual(
    check({
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{
            labelSelector: { matchExpressions: [{ key: "app", operator: "In" }] },
            namespaces: ["Bad_NS"],
            topologyKey: "",
          }],
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 0,
            podAffinityTerm: {
              topologyKey: "kubernetes.io/hostname",
              matchLabelKeys: ["pod-template-hash"],
              mismatchLabelKeys: ["pod-template-hash"],
              labelSelector: {},
            },
          }, {
            weight: 101,
            podAffinityTerm: { topologyKey: "zone", matchLabelKeys: ["x"] },
          }],
        },
      },
    }),
    [
      `${at}.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`,
      `${at}.requiredDuringSchedulingIgnoredDuringExecution[0].namespace: Invalid value: "Bad_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      `${at}.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty`,
      `${at}.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: "": name part must be non-empty`,
      `${at}.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      `${at}.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100`,
      `${at}.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.matchLabelKeys[0]: Invalid value: "pod-template-hash": exists in both matchLabelKeys and mismatchLabelKeys`,
      `${at}.preferredDuringSchedulingIgnoredDuringExecution[1].weight: Invalid value: 101: must be in the range 1-100`,
      `${at}.preferredDuringSchedulingIgnoredDuringExecution[1].podAffinityTerm.matchLabelKeys: Forbidden: must not be specified when labelSelector is not set`,
    ],
  );
  assert.deepEqual(
    check({
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{
            labelSelector: { matchLabels: { app: "web" } },
            namespaceSelector: {},
            topologyKey: "topology.kubernetes.io/zone",
            matchLabelKeys: ["pod-template-hash"],
          }],
        },
      },
    }),
    [],
  );
});

Deno.test("topology spread constraints are validated with Kubernetes' paths and messages", () => {
  const at = "spec.template.spec.topologySpreadConstraints";
  assert.deepEqual(
    check({
      topologySpreadConstraints: [
        {
          maxSkew: 0,
          topologyKey: "",
          whenUnsatisfiable: "Sometimes",
          minDomains: 0,
          nodeAffinityPolicy: "Maybe",
        },
        {
          maxSkew: 1,
          topologyKey: "zone",
          whenUnsatisfiable: "ScheduleAnyway",
          minDomains: 2,
          labelSelector: { matchLabels: { app: "web" } },
          matchLabelKeys: ["app"],
        },
        { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway" },
      ],
    }),
    [
      `${at}[0].maxSkew: Invalid value: 0: must be greater than zero`,
      `${at}[0].topologyKey: Required value: can not be empty`,
      `${at}[0].whenUnsatisfiable: Unsupported value: "Sometimes": supported values: "DoNotSchedule", "ScheduleAnyway"`,
      `${at}[0].minDomains: Invalid value: 0: must be greater than zero`,
      `${at}[0].minDomains: Invalid value: 0: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not Sometimes`,
      `${at}[0].nodeAffinityPolicy: Unsupported value: "Maybe": supported values: "Honor", "Ignore"`,
      `${at}[1].{topologyKey, whenUnsatisfiable}: Duplicate value: "{zone, ScheduleAnyway}"`,
      `${at}[1].minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway`,
      `${at}[1].matchLabelKeys[0]: Invalid value: "app": exists in both matchLabelKeys and labelSelector`,
    ],
  );
  assert.deepEqual(
    check({
      topologySpreadConstraints: [{
        maxSkew: 2,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "DoNotSchedule",
        minDomains: 3,
        nodeAffinityPolicy: "Ignore",
        nodeTaintsPolicy: "Honor",
        labelSelector: { matchLabels: { app: "web" } },
        matchLabelKeys: ["pod-template-hash"],
      }],
    }),
    [],
  );
});
