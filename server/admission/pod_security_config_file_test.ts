/** Tests of reading Pod Security's configuration from kube-apiserver's admission config file. */
import assert from "node:assert/strict";
import { parsePodSecurityConfigFile } from "./pod_security_config_file.ts";
import { podSecurityAdmission } from "./pod_security.ts";
import type { AdmissionAttributes } from "./admission.ts";

const ADMISSION_CONFIGURATION = `
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: restricted
      enforce-version: v1.30
      warn: restricted
    exemptions:
      namespaces: [kube-system, tools]
`;

Deno.test("parsePodSecurityConfigFile() reads an AdmissionConfiguration or a bare configuration", () => {
  const c = parsePodSecurityConfigFile(ADMISSION_CONFIGURATION, "adm.yaml");
  assert.deepEqual(c.defaults, {
    enforce: "restricted",
    "enforce-version": "v1.30",
    audit: "privileged",
    "audit-version": "latest",
    warn: "restricted",
    "warn-version": "latest",
  });
  assert.deepEqual(c.exemptions.namespaces, ["kube-system", "tools"]);
  const bare = parsePodSecurityConfigFile(
    '{"apiVersion":"pod-security.admission.config.k8s.io/v1","kind":"PodSecurityConfiguration"}',
    "ps.json",
  );
  // Upstream's defaults when nothing is set: privileged everywhere.
  assert.equal(bare.defaults.enforce, "privileged");
  assert.throws(
    () =>
      parsePodSecurityConfigFile(
        ADMISSION_CONFIGURATION.replace("enforce: restricted", "enforce: strict"),
        "adm.yaml",
      ),
    {
      message:
        "admission configuration adm.yaml: defaults.enforce: must be one of privileged, baseline, restricted",
    },
  );
  assert.throws(
    () =>
      parsePodSecurityConfigFile(
        ADMISSION_CONFIGURATION.replace("namespaces: [kube-system, tools]", "usernames: [ci]"),
        "adm.yaml",
      ),
    /exemptions\.usernames: not supported by Skiff/,
  );
});

Deno.test("the configured defaults and exempt namespaces decide what is enforced", () => {
  const config = parsePodSecurityConfigFile(ADMISSION_CONFIGURATION, "adm.yaml");
  const admit = podSecurityAdmission({
    config,
    namespace: (name) => ({ metadata: { name } }),
    pods: () => [],
  });
  const attrs = (namespace: string): AdmissionAttributes => ({
    operation: "CREATE",
    resource: "pods",
    group: "",
    kind: "Pod",
    namespace,
    name: "p",
    object: {
      metadata: { name: "p", namespace },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    },
    dryRun: false,
    warnings: [],
  });
  assert.throws(() => admit(attrs("default")), /violates PodSecurity "restricted:v1\.30"/);
  admit(attrs("tools"));
});
