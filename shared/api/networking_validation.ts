/**
 * Validation of networking.k8s.io/v1 Ingresses and IngressClasses, as kube-apiserver's
 * ValidateIngressCreate / ValidateIngressClass: hosts are DNS names (a leading `*.` allowed, not
 * IPs), paths of type Exact and Prefix are clean absolute paths, every backend names a Service
 * port by number or by name. Resource backends are refused: Skiff's proxy cannot serve them.
 */
import type { FieldErrors } from "./field_errors.ts";
import {
  dns1035LabelErrors,
  dns1123SubdomainErrors,
  isIP,
  portNameErrors,
} from "./field_errors.ts";
import { INGRESS_CLASS_ANNOTATION, SKIFF_INGRESS_CONTROLLER } from "./networking_v1.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const PATH_TYPES = ["Exact", "Prefix", "ImplementationSpecific"];
/** Sequences Kubernetes refuses in Exact and Prefix paths (validateIngressHTTPPath). */
const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES = ["/..", "/."];

function validateHost(host: string, field: string, errs: FieldErrors): void {
  if (isIP(host)) {
    errs.invalid(field, host, "must be a DNS name, not an IP address");
    return;
  }
  if (host.startsWith("*.")) {
    const rest = host.slice(2);
    if (rest.includes("*") || dns1123SubdomainErrors(rest).length > 0) {
      errs.invalid(
        field,
        host,
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, " +
          "which must consist of lower case alphanumeric characters, '-' or '.' and end with an " +
          "alphanumeric character (e.g. '*.example.com', regex used for validation is " +
          "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
    }
    return;
  }
  for (const e of dns1123SubdomainErrors(host)) errs.invalid(field, host, e);
}

/** validateIngressBackend: one Service port (by number or name); resource backends refused. */
function validateBackend(b: Obj, field: string, errs: FieldErrors): void {
  if (b.service && b.resource) {
    errs.invalid(field, "", "cannot set both service and resource backends");
    return;
  }
  if (b.resource) {
    errs.forbidden(
      `${field}.resource`,
      `resource backends are not supported by the ${SKIFF_INGRESS_CONTROLLER} controller; ` +
        "use a service backend",
    );
    return;
  }
  if (!b.service) {
    errs.invalid(field, "", "resource or service backend is required");
    return;
  }
  const svc = b.service;
  if (!svc.name) errs.required(`${field}.service.name`);
  else {for (const e of dns1035LabelErrors(svc.name)) {
      errs.invalid(`${field}.service.name`, svc.name, e);
    }}
  const port = svc.port ?? {};
  const hasName = port.name !== undefined && port.name !== "";
  const hasNumber = port.number !== undefined && port.number !== 0;
  if (hasName && hasNumber) {
    errs.invalid(`${field}.service.port`, port, "cannot set both port name & port number");
  } else if (hasName) {
    for (const e of portNameErrors(port.name)) {
      errs.invalid(`${field}.service.port.name`, port.name, e);
    }
  } else if (hasNumber) {
    if (port.number < 1 || port.number > 65535) {
      errs.invalid(
        `${field}.service.port.number`,
        port.number,
        "must be between 1 and 65535, inclusive",
      );
    }
  } else {
    errs.required(`${field}.service.port`, "port name or number is required");
  }
}

function validatePath(p: Obj, field: string, errs: FieldErrors): void {
  const path: string = p.path ?? "";
  if (p.pathType === undefined || p.pathType === "") {
    errs.required(`${field}.pathType`, "pathType must be specified");
  } else if (!PATH_TYPES.includes(p.pathType)) {
    errs.notSupported(`${field}.pathType`, p.pathType, PATH_TYPES);
  } else if (p.pathType === "ImplementationSpecific") {
    if (path !== "" && !path.startsWith("/")) {
      errs.invalid(`${field}.path`, path, "must be an absolute path");
    }
  } else {
    if (!path.startsWith("/")) {
      errs.invalid(`${field}.path`, path, "must be an absolute path");
    } else {
      for (const s of INVALID_PATH_SEQUENCES) {
        if (path.includes(s)) errs.invalid(`${field}.path`, path, `must not contain '${s}'`);
      }
      for (const s of INVALID_PATH_SUFFIXES) {
        if (path.endsWith(s)) errs.invalid(`${field}.path`, path, `cannot end with '${s}'`);
      }
    }
  }
  validateBackend(p.backend ?? {}, `${field}.backend`, errs);
}

/** An Ingress's rules (ValidateIngressSpec). */
export function validateIngress(ing: Obj, errs: FieldErrors): void {
  const spec = ing.spec ?? {};
  const rules: Obj[] = spec.rules ?? [];
  if (!spec.defaultBackend && rules.length === 0) {
    errs.invalid("spec", spec, "either `defaultBackend` or `rules` must be specified");
  }
  if (spec.ingressClassName !== undefined) {
    for (const e of dns1123SubdomainErrors(spec.ingressClassName)) {
      errs.invalid("spec.ingressClassName", spec.ingressClassName, e);
    }
    const annotated = ing.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
    if (annotated !== undefined) {
      errs.invalid(
        `metadata.annotations[${INGRESS_CLASS_ANNOTATION}]`,
        annotated,
        "can not be set when the class field is also set",
      );
    }
  }
  if (spec.defaultBackend) validateBackend(spec.defaultBackend, "spec.defaultBackend", errs);
  rules.forEach((r, i) => {
    const f = `spec.rules[${i}]`;
    if (r.host) validateHost(r.host, `${f}.host`, errs);
    if (!r.http) return;
    const paths: Obj[] = r.http.paths ?? [];
    if (paths.length === 0) errs.required(`${f}.http.paths`);
    paths.forEach((p, j) => validatePath(p, `${f}.http.paths[${j}]`, errs));
  });
  (spec.tls ?? []).forEach((t: Obj, i: number) => {
    (t.hosts ?? []).forEach((h: string, j: number) => {
      validateHost(h, `spec.tls[${i}].hosts[${j}]`, errs);
    });
    if (t.secretName) {
      for (const e of dns1123SubdomainErrors(t.secretName)) {
        errs.invalid(`spec.tls[${i}].secretName`, t.secretName, e);
      }
    }
  });
}

const CONTROLLER_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/\S+$/;

/** An IngressClass's rules (ValidateIngressClass). */
export function validateIngressClass(cls: Obj, errs: FieldErrors): void {
  const spec = cls.spec ?? {};
  const controller: string = spec.controller ?? "";
  if (!controller) {
    errs.required("spec.controller");
  } else if (controller.length > 250) {
    errs.tooLong("spec.controller", 250);
  } else if (!CONTROLLER_RE.test(controller)) {
    errs.invalid(
      "spec.controller",
      controller,
      'must be a domain-prefixed path (such as "acme.io/foo")',
    );
  }
  const params = spec.parameters;
  if (!params) return;
  if (controller === SKIFF_INGRESS_CONTROLLER) {
    errs.forbidden(
      "spec.parameters",
      `the ${SKIFF_INGRESS_CONTROLLER} controller takes no parameters`,
    );
  }
  if (!params.kind) errs.required("spec.parameters.kind");
  if (!params.name) errs.required("spec.parameters.name");
  const scope = params.scope ?? "Cluster";
  if (scope !== "Cluster" && scope !== "Namespace") {
    errs.notSupported("spec.parameters.scope", scope, ["Cluster", "Namespace"]);
  } else if (scope === "Namespace" && !params.namespace) {
    errs.required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'");
  } else if (scope === "Cluster" && params.namespace) {
    errs.forbidden(
      "spec.parameters.namespace",
      "`parameters.scope` is set to 'Cluster'",
    );
  }
}

/** What may change in an IngressClass update (not its controller). */
export function validateIngressClassUpdate(next: Obj, old: Obj, errs: FieldErrors): void {
  if ((next.spec?.controller ?? "") !== (old.spec?.controller ?? "")) {
    errs.invalid("spec.controller", next.spec?.controller ?? "", "field is immutable");
  }
}
