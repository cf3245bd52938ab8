/**
 * Kubernetes' CEL `format` library for CRD validation rules: named string formats, each with a
 * `validate(string)` that is `optional.none()` for a valid string and the list of problems
 * otherwise, so a rule and its messageExpression read
 *
 *     rule:              "!format.dns1123Label().validate(self.name).hasValue()"
 *     messageExpression: "format.dns1123Label().validate(self.name).value().join('\n')"
 *
 * `format.<name>()` gives a format, `format.named(name)` the optional format of that name. The
 * Kubernetes name formats use the same checks (and messages) as Skiff's own object validation;
 * the OpenAPI ones (`uri`, `uuid`, `byte`, `date`, `datetime`) follow the checks kube-openapi's
 * strfmt makes, with kube-apiserver's messages.
 */
import { type Environment, Optional } from "@marcbachmann/cel-js";
import {
  dns1035LabelErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
} from "../../shared/api/field_errors.ts";
import { labelKeyErrors, labelValueErrors } from "../../shared/labels.ts";
import { isBase64, isDate, isDateTime, isUUID } from "./string_formats.ts";

/** The value `format.<name>()` returns (kube-apiserver's `kubernetes.NamedFormat`). */
export class CelFormat {
  constructor(readonly name: string, readonly validate: (s: string) => string[]) {}
}

/** The `format` namespace of `format.named(...)` and `format.<name>()`. */
class FormatNamespace {}

/**
 * A generated name's prefix (`generateName`) may end in `-`: it is checked as if that dash and
 * the character before it were a letter, as apimachinery's `maskTrailingDash` does.
 */
function maskTrailingDash(s: string): string {
  return s.length > 1 && s.endsWith("-") ? `${s.slice(0, -2)}a` : s;
}

/**
 * Go's url.ParseRequestURI: an absolute URI (a scheme, then anything without spaces) or an
 * absolute path; the message is Go's.
 */
function uriErrors(s: string): string[] {
  const absolutePath = s.startsWith("/");
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s);
  if (s.startsWith(":")) return [`parse "${s}": missing protocol scheme`];
  // deno-lint-ignore no-control-regex -- Go refuses control characters in a URI.
  if ((!absolutePath && !absolute) || /[\s\x00-\x1f\x7f]/.test(s)) {
    return [`parse "${s}": invalid URI for request`];
  }
  return [];
}

const errorsIf = (bad: boolean, message: string) => (bad ? [message] : []);

/** The formats by the names `format.named` takes. */
export const NAMED_FORMATS: Record<string, CelFormat> = {
  dns1123Label: new CelFormat("DNS1123Label", dns1123LabelErrors),
  dns1123Subdomain: new CelFormat("DNS1123Subdomain", dns1123SubdomainErrors),
  dns1035Label: new CelFormat("DNS1035Label", dns1035LabelErrors),
  qualifiedName: new CelFormat("QualifiedName", labelKeyErrors),
  dns1123LabelPrefix: new CelFormat(
    "DNS1123LabelPrefix",
    (s) => dns1123LabelErrors(maskTrailingDash(s)),
  ),
  dns1123SubdomainPrefix: new CelFormat(
    "DNS1123SubdomainPrefix",
    (s) => dns1123SubdomainErrors(maskTrailingDash(s)),
  ),
  dns1035LabelPrefix: new CelFormat(
    "DNS1035LabelPrefix",
    (s) => dns1035LabelErrors(maskTrailingDash(s)),
  ),
  labelValue: new CelFormat("LabelValue", labelValueErrors),
  uri: new CelFormat("URI", uriErrors),
  uuid: new CelFormat("uuid", (s) => errorsIf(!isUUID(s), "does not match the UUID format")),
  byte: new CelFormat("byte", (s) => errorsIf(!isBase64(s), "invalid base64")),
  date: new CelFormat("date", (s) => errorsIf(!isDate(s), "invalid date")),
  datetime: new CelFormat("datetime", (s) => errorsIf(!isDateTime(s), "invalid datetime")),
};

/** Adds the `format` library to a validation rule environment. */
export function registerFormatLibrary(env: Environment): Environment {
  env
    .registerType("kubernetes.NamedFormat", { ctor: CelFormat })
    .registerType("FormatNamespace", { ctor: FormatNamespace })
    .registerConstant("format", "FormatNamespace", new FormatNamespace())
    .registerFunction(
      "FormatNamespace.named(string): optional<kubernetes.NamedFormat>",
      (_ns: FormatNamespace, name: string) =>
        Object.hasOwn(NAMED_FORMATS, name) ? Optional.of(NAMED_FORMATS[name]) : Optional.none(),
    )
    .registerFunction(
      "kubernetes.NamedFormat.validate(string): optional<list<string>>",
      (f: CelFormat, s: string) => {
        const errs = f.validate(s);
        return errs.length === 0 ? Optional.none() : Optional.of(errs);
      },
    );
  for (const [name, f] of Object.entries(NAMED_FORMATS)) {
    env.registerFunction(`FormatNamespace.${name}(): kubernetes.NamedFormat`, () => f);
  }
  return env;
}
