import assert from "node:assert/strict";
import { FieldErrors } from "./field_errors.ts";
import { validateVolumeFiles } from "./volume_file_validation.ts";

function errors(volume: Record<string, unknown>): string[] {
  const errs = new FieldErrors();
  validateVolumeFiles(volume, "spec.volumes[0]", errs);
  return errs.causes.map((c) => `${c.field}: ${c.message}`);
}

const V = "spec.volumes[0]";

Deno.test("validateVolumeFiles() accepts the usual file volumes", () => {
  assert.deepEqual(
    errors({
      name: "cfg",
      configMap: {
        name: "c",
        defaultMode: 0o644,
        items: [{ key: "k", path: "dir/k", mode: 0o400 }],
      },
    }),
    [],
  );
  assert.deepEqual(
    errors({
      name: "kube-api-access",
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          {
            downwardAPI: {
              items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
            },
          },
        ],
      },
    }),
    [],
  );
});

Deno.test("validateVolumeFiles() refuses paths and modes as kube-apiserver does", () => {
  assert.deepEqual(
    errors({
      name: "s",
      secret: {
        secretName: "s",
        defaultMode: 0o1000,
        items: [
          { key: "a", path: "/etc/passwd" },
          { key: "b", path: "x/../../y" },
          { key: "c", path: "..data", mode: -1 },
          { key: "", path: "" },
        ],
      },
    }),
    [
      `${V}.secret.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive`,
      `${V}.secret.items[0].path: Invalid value: "/etc/passwd": must be a relative path`,
      `${V}.secret.items[1].path: Invalid value: "x/../../y": must not contain '..'`,
      `${V}.secret.items[2].path: Invalid value: "..data": must not start with '..'`,
      `${V}.secret.items[2].mode: Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive`,
      `${V}.secret.items[3].key: Required value`,
      `${V}.secret.items[3].path: Required value`,
    ],
  );
  assert.deepEqual(
    errors({
      name: "d",
      downwardAPI: {
        items: [
          { path: "both", fieldRef: { fieldPath: "metadata.name" }, resourceFieldRef: {} },
          { path: "none" },
        ],
      },
    }),
    [
      `${V}.downwardAPI.items[0]: Invalid value: "resource": fieldRef and resourceFieldRef can not be specified simultaneously`,
      `${V}.downwardAPI.items[1]: Required value: one of fieldRef and resourceFieldRef is required`,
    ],
  );
});

Deno.test("validateVolumeFiles() checks projected sources: one kind each, paths once, token lifetime", () => {
  assert.deepEqual(
    errors({
      name: "p",
      projected: {
        sources: [
          {
            secret: { name: "s", items: [{ key: "k", path: "same" }] },
            configMap: { name: "c" },
          },
          { configMap: { name: "c", items: [{ key: "k", path: "same" }] } },
          { serviceAccountToken: { expirationSeconds: 60, path: "../token" } },
          { secret: {} },
        ],
      },
    }),
    [
      `${V}.projected.sources[0]: Forbidden: may not specify more than 1 volume type per source`,
      `${V}.projected: Invalid value: "c": conflicting duplicate paths`,
      `${V}.projected.sources[2].serviceAccountToken.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes`,
      `${V}.projected.sources[2].serviceAccountToken.path: Invalid value: "../token": must not contain '..'`,
      `${V}.projected.sources[3].secret.name: Required value`,
    ],
  );
});
