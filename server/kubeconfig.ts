/**
 * Writes the kubeconfig that real kubectl uses as is: one cluster, one admin user with a bearer
 * token, one context. When the server has a CA (TLS), its PEM goes in
 * `certificate-authority-data`.
 */
import YAML from "yaml";

/** Renders a kubeconfig document. */
export function renderKubeconfig(options: {
  server: string;
  token: string;
  caPem?: string;
  name?: string;
}): string {
  const name = options.name ?? "skiff";
  const cluster: Record<string, unknown> = { server: options.server };
  if (options.caPem) cluster["certificate-authority-data"] = btoa(options.caPem);
  return YAML.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster }],
    users: [{ name: `${name}-admin`, user: { token: options.token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: "default" } }],
    "current-context": name,
    preferences: {},
  });
}

/** Writes a file readable by its owner only. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}
