/**
 * Reads Pod Security's cluster configuration from the file kube-apiserver takes with
 * `--admission-control-config-file`: an AdmissionConfiguration whose `PodSecurity` plugin entry
 * carries a PodSecurityConfiguration inline, or a bare PodSecurityConfiguration (YAML or JSON).
 */
import YAML from "yaml";
import { PodSecurityConfiguration } from "./pod_security_configuration.ts";

/** Parses the file's text; throws an Error naming the file and the bad field. */
export function parsePodSecurityConfigFile(
  text: string,
  path: string,
): PodSecurityConfiguration {
  const fail = (msg: string): never => {
    throw new Error(`admission configuration ${path}: ${msg}`);
  };
  let doc: unknown;
  try {
    doc = YAML.parse(text, { maxAliasCount: 0 });
  } catch (e) {
    fail((e as Error).message);
  }
  const obj = (doc ?? {}) as Record<string, unknown>;
  let config: Record<string, unknown> | undefined;
  if (obj.kind === "AdmissionConfiguration") {
    const plugins = (obj.plugins ?? []) as {
      name?: string;
      path?: string;
      configuration?: unknown;
    }[];
    const entry = plugins.find((p) => p.name === "PodSecurity");
    if (!entry) fail("no PodSecurity plugin entry");
    if (entry!.path) {
      fail("plugins[PodSecurity].path is not supported; put the configuration inline");
    }
    config = entry!.configuration as Record<string, unknown> | undefined;
  } else if (obj.kind === "PodSecurityConfiguration") {
    config = obj;
  } else {
    fail('kind must be "AdmissionConfiguration" or "PodSecurityConfiguration"');
  }
  const { apiVersion, kind, ...rest } = (config ?? {}) as Record<string, unknown>;
  if (kind !== undefined && kind !== "PodSecurityConfiguration") {
    fail(`unexpected configuration kind ${JSON.stringify(kind)}`);
  }
  if (
    apiVersion !== undefined &&
    !/^pod-security\.admission\.config\.k8s\.io\/v1(beta1|alpha1)?$/.test(String(apiVersion))
  ) fail(`unsupported apiVersion ${JSON.stringify(apiVersion)}`);
  const parsed = PodSecurityConfiguration.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data!;
}
