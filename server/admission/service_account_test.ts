import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/object.ts";
import { ForbiddenError } from "../../shared/errors.ts";
import { SERVICE_ACCOUNT_MOUNT_PATH, serviceAccountAdmission } from "./service_account.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const pod = (spec: Obj = {}): KubeObject =>
  ({
    metadata: { name: "web", namespace: "apps" },
    spec: {
      initContainers: [{ name: "init", image: "busybox" }],
      containers: [{ name: "c", image: "busybox" }],
      ...spec,
    },
  }) as KubeObject;

function admit(accounts: Record<string, Obj>) {
  return serviceAccountAdmission({
    findServiceAccount: (ns, name) =>
      ns === "apps" ? accounts[name] as KubeObject | undefined : undefined,
    defaultWaitMs: 50,
  });
}

Deno.test("ServiceAccount admission adds the kube-api-access volume unless automount is off (pod or SA)", async () => {
  const p = pod();
  await admit({ default: { metadata: { name: "default" } } })(p);
  assert.equal(p.spec.serviceAccountName, "default");
  assert.equal(p.spec.serviceAccount, "default");
  assert.equal(p.spec.volumes.length, 1);
  const vol = p.spec.volumes[0];
  assert.match(vol.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.deepEqual(vol.projected, {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      {
        downwardAPI: {
          items: [{
            path: "namespace",
            fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
          }],
        },
      },
    ],
  });
  for (const c of [...p.spec.initContainers, ...p.spec.containers]) {
    assert.deepEqual(c.volumeMounts, [
      { name: vol.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH },
    ]);
  }

  const off = pod({ automountServiceAccountToken: false });
  await admit({ default: { metadata: { name: "default" } } })(off);
  assert.equal(off.spec.volumes, undefined);

  const saOff = pod({ serviceAccountName: "quiet" });
  await admit({ quiet: { metadata: { name: "quiet" }, automountServiceAccountToken: false } })(
    saOff,
  );
  assert.equal(saOff.spec.volumes, undefined);

  // The pod's own setting wins over the ServiceAccount's.
  const podOn = pod({ serviceAccountName: "quiet", automountServiceAccountToken: true });
  await admit({ quiet: { metadata: { name: "quiet" }, automountServiceAccountToken: false } })(
    podOn,
  );
  assert.equal(podOn.spec.volumes.length, 1);

  // A container that mounts something there already is left alone.
  const own = pod({
    volumes: [{ name: "mine", emptyDir: {} }],
    containers: [{
      name: "c",
      image: "busybox",
      volumeMounts: [{ name: "mine", mountPath: SERVICE_ACCOUNT_MOUNT_PATH }],
    }],
  });
  await admit({ default: { metadata: { name: "default" } } })(own);
  assert.equal(own.spec.volumes.length, 2);
  assert.equal(own.spec.containers[0].volumeMounts.length, 1);
  assert.equal(own.spec.initContainers[0].volumeMounts.length, 1);
});

Deno.test("ServiceAccount admission mounts a pod's existing kube-api-access volume in new containers (kubectl debug --copy-to)", async () => {
  const mount = {
    name: "kube-api-access-abcde",
    readOnly: true,
    mountPath: SERVICE_ACCOUNT_MOUNT_PATH,
  };
  const copy = pod({
    initContainers: [],
    volumes: [{ name: "kube-api-access-abcde", projected: { sources: [] } }],
    containers: [
      { name: "c", image: "busybox", volumeMounts: [mount] },
      { name: "debugger", image: "busybox" },
    ],
  });
  await admit({ default: { metadata: { name: "default" } } })(copy);
  assert.deepEqual(copy.spec.volumes.map((v: Obj) => v.name), ["kube-api-access-abcde"]);
  assert.deepEqual(copy.spec.containers[1].volumeMounts, [mount]);
});

Deno.test("ServiceAccount admission refuses a missing ServiceAccount with Kubernetes' words", async () => {
  const p = pod({ serviceAccount: "builder" });
  await assert.rejects(() => admit({ default: { metadata: { name: "default" } } })(p), (e) => {
    assert.ok(e instanceof ForbiddenError);
    assert.equal(
      e.message,
      'pods "web" is forbidden: error looking up service account apps/builder: ' +
        'serviceaccount "builder" not found',
    );
    return true;
  });
  // A pod whose name the server generates is named as its request named it (generateName).
  await assert.rejects(
    () => admit({})(pod({ serviceAccountName: "builder" }), "web-7d9f8-"),
    /^ForbiddenError: pods "web-7d9f8-" is forbidden: error looking up service account apps\/builder/,
  );
  // `default` is waited for a moment (its controller creates it with the namespace).
  const accounts: Record<string, Obj> = {};
  setTimeout(() => accounts.default = { metadata: { name: "default" } }, 10);
  const q = pod();
  await admit(accounts)(q);
  assert.equal(q.spec.serviceAccountName, "default");
});

Deno.test("ServiceAccount admission gives a pod without imagePullSecrets its ServiceAccount's", async () => {
  const accounts = {
    puller: {
      metadata: { name: "puller" },
      automountServiceAccountToken: false,
      imagePullSecrets: [{ name: "regcred" }, { name: "backup" }],
    },
    default: { metadata: { name: "default" } },
  };
  // Automount off does not matter: the pull secrets are copied all the same.
  const p = pod({ serviceAccountName: "puller" });
  await admit(accounts)(p);
  assert.deepEqual(p.spec.imagePullSecrets, [{ name: "regcred" }, { name: "backup" }]);
  // The pod's own list wins whole; it is not merged with the ServiceAccount's.
  const own = pod({ serviceAccountName: "puller", imagePullSecrets: [{ name: "mine" }] });
  await admit(accounts)(own);
  assert.deepEqual(own.spec.imagePullSecrets, [{ name: "mine" }]);
  // A ServiceAccount without any leaves the pod without the field.
  const none = pod();
  await admit(accounts)(none);
  assert.equal(none.spec.imagePullSecrets, undefined);
});
