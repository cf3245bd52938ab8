/** Tests of the Pod Security checks and policy resolution, against Kubernetes' own messages. */
import assert from "node:assert/strict";
import { evaluatePod, forbiddenDetail } from "./pod_security_checks.ts";
import { LATEST, type Policy, policyToEvaluate } from "./pod_security_policy.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;
const pod = (spec: Obj, annotations?: Record<string, string>): { metadata: Obj; spec: Obj } => ({
  metadata: { name: "x", annotations },
  spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
});

const detail = (level: "baseline" | "restricted", p: ReturnType<typeof pod>, minor = 32) =>
  forbiddenDetail(evaluatePod(level, minor, p));

Deno.test("baseline: each check speaks Kubernetes' words, in Kubernetes' order", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ volumes: [{ name: "data", hostPath: { path: "/" } }] }, 'hostPath volumes (volume "data")'],
    [
      { hostNetwork: true, hostPID: true, hostIPC: true },
      "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)",
    ],
    [
      { containers: [{ name: "c", securityContext: { privileged: true } }] },
      'privileged (container "c" must not set securityContext.privileged=true)',
    ],
    [
      {
        containers: [
          { name: "a", securityContext: { capabilities: { add: ["NET_ADMIN", "CHOWN"] } } },
          { name: "b", securityContext: { capabilities: { add: ["SYS_ADMIN"] } } },
        ],
      },
      'non-default capabilities (containers "a", "b" must not include "NET_ADMIN", "SYS_ADMIN" ' +
      "in securityContext.capabilities.add)",
    ],
    [
      { containers: [{ name: "c", ports: [{ containerPort: 80, hostPort: 8080 }] }] },
      'hostPort (container "c" uses hostPort 8080)',
    ],
    [
      { containers: [{ name: "c", securityContext: { procMount: "Unmasked" } }] },
      'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
    ],
    [
      { securityContext: { seLinuxOptions: { type: "spc_t", user: "u" } } },
      'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
    ],
    [
      { securityContext: { seccompProfile: { type: "Unconfined" } } },
      'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    ],
    [
      { securityContext: { sysctls: [{ name: "kernel.msgmax", value: "1" }] } },
      "forbidden sysctls (kernel.msgmax)",
    ],
    [
      { securityContext: { windowsOptions: { hostProcess: true } } },
      "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)",
    ],
    [
      { containers: [{ name: "c", securityContext: { appArmorProfile: { type: "Unconfined" } } }] },
      'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")',
    ],
  ];
  for (const [spec, want] of cases) assert.equal(detail("baseline", pod(spec)), want);
  assert.equal(
    detail(
      "baseline",
      pod({ hostNetwork: true, volumes: [{ name: "d", hostPath: { path: "/" } }] }),
    ),
    'host namespaces (hostNetwork=true), hostPath volumes (volume "d")',
  );
  assert.equal(evaluatePod("baseline", 32, pod({})).allowed, true);
  assert.equal(evaluatePod("privileged", 32, pod({ hostPID: true })).allowed, true);
});

Deno.test("restricted: adds volume types, escalation, non-root, user, seccomp and capabilities", () => {
  assert.equal(
    detail("restricted", pod({ volumes: [{ name: "n", nfs: { server: "s", path: "/" } }] })),
    'allowPrivilegeEscalation != false (container "c" must set ' +
      "securityContext.allowPrivilegeEscalation=false), " +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'restricted volume types (volume "n" uses restricted volume type "nfs"), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to ' +
      '"RuntimeDefault" or "Localhost")',
  );
  const good = pod({
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [{
      name: "c",
      securityContext: {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      },
    }],
  });
  assert.equal(evaluatePod("restricted", 32, good).allowed, true);
  const root = structuredClone(good);
  root.spec.securityContext.runAsUser = 0;
  assert.equal(detail("restricted", root), "runAsUser=0 (pod must not set runAsUser=0)");
  // hostPath is reported once, by the restricted volume check that overrides the baseline one.
  const hostPath = structuredClone(good);
  hostPath.spec.volumes = [{ name: "h", hostPath: { path: "/" } }];
  assert.equal(
    detail("restricted", hostPath),
    'restricted volume types (volume "h" uses restricted volume type "hostPath")',
  );
});

Deno.test("checks are versioned: sysctls and seccomp follow the policy version", () => {
  const sysctl = pod({ securityContext: { sysctls: [{ name: "net.ipv4.tcp_rmem", value: "1" }] } });
  assert.equal(evaluatePod("baseline", 32, sysctl).allowed, true);
  assert.equal(detail("baseline", sysctl, 31), "forbidden sysctls (net.ipv4.tcp_rmem)");
  const annotated = pod({}, { "seccomp.security.alpha.kubernetes.io/pod": "unconfined" });
  assert.equal(evaluatePod("baseline", 32, annotated).allowed, true);
  assert.equal(
    detail("baseline", annotated, 18),
    'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")',
  );
});

Deno.test("policyToEvaluate() reads the labels over the defaults, as Kubernetes", () => {
  const defaults: Policy = {
    enforce: { level: "baseline", version: LATEST },
    audit: { level: "baseline", version: LATEST },
    warn: { level: "baseline", version: LATEST },
  };
  const p = policyToEvaluate({
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "v1.30",
  }, defaults);
  assert.deepEqual(p.errors, []);
  assert.equal(p.policy.enforce.level, "restricted");
  // warn follows an explicitly stricter enforce level, version included.
  assert.deepEqual(p.policy.warn, { level: "restricted", version: { latest: false, minor: 30 } });
  const bad = policyToEvaluate({ "pod-security.kubernetes.io/enforce": "strict" }, defaults);
  assert.equal(bad.policy.enforce.level, "restricted");
  assert.deepEqual(bad.errors, [{
    reason: "FieldValueInvalid",
    message: 'Invalid value: "strict": must be one of privileged, baseline, restricted',
    field: "metadata.labels[pod-security.kubernetes.io/enforce]",
  }]);
  const badWarn = policyToEvaluate({ "pod-security.kubernetes.io/warn-version": "1.2" }, defaults);
  assert.equal(badWarn.errors[0].message, 'Invalid value: "1.2": must be "latest" or "v1.x"');
});
