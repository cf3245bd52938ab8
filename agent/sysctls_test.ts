import assert from "node:assert/strict";
import { forbiddenSysctl, isNamespacedSysctl, SAFE_SYSCTLS, sandboxSysctls } from "./sysctls.ts";
import type { Pod } from "./pod_types.ts";

function pod(sysctls: { name: string; value: string }[], spec: Partial<Pod["spec"]> = {}): Pod {
  return {
    metadata: { name: "p", namespace: "default", uid: "u" },
    spec: { containers: [], securityContext: { sysctls }, ...spec },
  } as Pod;
}

Deno.test("forbiddenSysctl() admits the safe set and allowed namespaced unsafe sysctls only", () => {
  for (const name of SAFE_SYSCTLS) {
    assert.equal(forbiddenSysctl(pod([{ name, value: "1" }])), undefined);
  }
  // Kubernetes also accepts `/` as the separator.
  assert.equal(forbiddenSysctl(pod([{ name: "net/ipv4/tcp_syncookies", value: "1" }])), undefined);
  const unsafe = pod([{ name: "net.core.somaxconn", value: "1024" }]);
  assert.equal(forbiddenSysctl(unsafe), 'forbidden sysctl: "net.core.somaxconn" not allowlisted');
  assert.equal(forbiddenSysctl(unsafe, ["net.core.somaxconn"]), undefined);
  assert.equal(forbiddenSysctl(unsafe, ["net.core.*"]), undefined);
  assert.equal(forbiddenSysctl(unsafe, ["net.ipv4.*"]) !== undefined, true);
  // Node-wide sysctls are never per pod, whatever the flag says.
  assert.notEqual(
    forbiddenSysctl(pod([{ name: "vm.swappiness", value: "1" }]), ["vm.*"]),
    undefined,
  );
  assert.equal(
    forbiddenSysctl(pod([{ name: "net.ipv4.tcp_syncookies", value: "1" }], { hostNetwork: true })),
    'forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled',
  );
  assert.equal(
    forbiddenSysctl(pod([{ name: "kernel.shm_rmid_forced", value: "1" }], { hostIPC: true })),
    'forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled',
  );
});

Deno.test("isNamespacedSysctl() knows the network and IPC namespace groups", () => {
  for (
    const n of [
      "net.core.somaxconn",
      "net.*",
      "kernel.shmmax",
      "kernel.msgmax",
      "kernel.sem",
      "fs.mqueue.*",
    ]
  ) {
    assert.ok(isNamespacedSysctl(n), n);
  }
  for (const n of ["vm.swappiness", "kernel.pid_max", "fs.file-max"]) {
    assert.ok(!isNamespacedSysctl(n), n);
  }
});

Deno.test("sandboxSysctls() maps the pod's sysctls onto Docker's, dots for slashes", () => {
  assert.equal(sandboxSysctls(pod([])), undefined);
  assert.deepEqual(sandboxSysctls(pod([{ name: "net/ipv4/tcp_syncookies", value: "0" }])), {
    "net.ipv4.tcp_syncookies": "0",
  });
});
