/**
 * Validation of the volume sources that write files into a pod (configMap, secret, downwardAPI,
 * projected), as kube-apiserver's validateKeyToPath, validateDownwardAPIVolumeFile and
 * validateProjectionSources: file paths relative and without `..` elements, modes and default
 * modes within 0–0777, one source per projection, no path written twice in a projected volume,
 * a service account token's path and lifetime. The agent's writer refuses such paths too
 * (agent/atomic_writer.ts); checking them here refuses the pod instead of failing it on its node.
 */
import type { FieldErrors } from "./field_errors.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const FILE_MODE_MESSAGE = "must be a number between 0 and 0777 (octal), both inclusive";

/** kube-apiserver's validateLocalDescendingPath: relative, no `..` element. */
export function validateLocalDescendingPath(path: string, field: string, errs: FieldErrors): void {
  if (path.startsWith("/")) errs.invalid(field, path, "must be a relative path");
  if (path.split("/").includes("..")) errs.invalid(field, path, "must not contain '..'");
}

/** ValidateLocalNonReservedPath: also not starting with `..` (the writer's own entries). */
function validateLocalNonReservedPath(path: string, field: string, errs: FieldErrors): void {
  validateLocalDescendingPath(path, field, errs);
  // Not twice for `../x`, which the `..` element check has caught.
  if (path.startsWith("..") && !path.startsWith("../")) {
    errs.invalid(field, path, "must not start with '..'");
  }
}

function validateMode(mode: unknown, field: string, errs: FieldErrors): void {
  if (typeof mode === "number" && (mode < 0 || mode > 0o777)) {
    errs.invalid(field, mode, FILE_MODE_MESSAGE);
  }
}

/** One `items` entry of a configMap or secret source (validateKeyToPath). */
function validateKeyToPath(item: Obj, field: string, errs: FieldErrors): void {
  if (!item.key) errs.required(`${field}.key`);
  if (!item.path) errs.required(`${field}.path`);
  validateLocalNonReservedPath(item.path ?? "", `${field}.path`, errs);
  validateMode(item.mode, `${field}.mode`, errs);
}

/** One file of a downwardAPI source (validateDownwardAPIVolumeFile, less the field paths). */
function validateDownwardAPIFile(item: Obj, field: string, errs: FieldErrors): void {
  if (!item.path) errs.required(`${field}.path`);
  validateLocalNonReservedPath(item.path ?? "", `${field}.path`, errs);
  if (item.fieldRef) {
    if (item.resourceFieldRef) {
      errs.invalid(
        field,
        "resource",
        "fieldRef and resourceFieldRef can not be specified simultaneously",
      );
    }
  } else if (!item.resourceFieldRef) {
    errs.required(field, "one of fieldRef and resourceFieldRef is required");
  }
  validateMode(item.mode, `${field}.mode`, errs);
}

/** The sources of a projected volume (validateProjectionSources). */
function validateProjection(projected: Obj, field: string, errs: FieldErrors): void {
  const paths = new Set<string>();
  // A path written twice is reported at the volume, with the source's name, as upstream does.
  const claim = (path: string | undefined, by: unknown) => {
    if (!path) return;
    if (paths.has(path)) errs.invalid(field, by, "conflicting duplicate paths");
    paths.add(path);
  };
  (projected.sources as Obj[] | undefined)?.forEach((source, i) => {
    const at = `${field}.sources[${i}]`;
    let kinds = 0;
    for (const kind of ["secret", "configMap"] as const) {
      const s = source[kind];
      if (!s) continue;
      kinds++;
      if (!s.name) errs.required(`${at}.${kind}.name`);
      (s.items as Obj[] | undefined)?.forEach((item, j) => {
        validateKeyToPath(item, `${at}.${kind}.items[${j}]`, errs);
        claim(item.path, s.name ?? "");
      });
    }
    if (source.downwardAPI) {
      kinds++;
      (source.downwardAPI.items as Obj[] | undefined)?.forEach((item, j) => {
        validateDownwardAPIFile(item, `${at}.downwardAPI.items[${j}]`, errs);
        claim(item.path, "");
      });
    }
    const token = source.serviceAccountToken;
    if (token) {
      kinds++;
      const seconds = token.expirationSeconds;
      if (typeof seconds === "number" && seconds < 600) {
        errs.invalid(
          `${at}.serviceAccountToken.expirationSeconds`,
          seconds,
          "may not specify a duration less than 10 minutes",
        );
      } else if (typeof seconds === "number" && seconds > 2 ** 32) {
        errs.invalid(
          `${at}.serviceAccountToken.expirationSeconds`,
          seconds,
          "may not specify a duration larger than 2^32 seconds",
        );
      }
      if (!token.path) errs.required(`${at}.serviceAccountToken.path`);
      validateLocalNonReservedPath(token.path ?? "", `${at}.serviceAccountToken.path`, errs);
      claim(token.path, "");
    }
    if (source.clusterTrustBundle) kinds++;
    if (kinds > 1) errs.forbidden(at, "may not specify more than 1 volume type per source");
  });
}

/** The file-writing sources of one pod volume at `field` (`spec.volumes[0]`). */
export function validateVolumeFiles(volume: Obj, field: string, errs: FieldErrors): void {
  for (const kind of ["configMap", "secret", "downwardAPI", "projected"] as const) {
    validateMode(volume[kind]?.defaultMode, `${field}.${kind}.defaultMode`, errs);
  }
  for (const kind of ["configMap", "secret"] as const) {
    (volume[kind]?.items as Obj[] | undefined)?.forEach((item, j) => {
      validateKeyToPath(item, `${field}.${kind}.items[${j}]`, errs);
    });
  }
  (volume.downwardAPI?.items as Obj[] | undefined)?.forEach((item, j) => {
    validateDownwardAPIFile(item, `${field}.downwardAPI.items[${j}]`, errs);
  });
  if (volume.projected) validateProjection(volume.projected, `${field}.projected`, errs);
}
