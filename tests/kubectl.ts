/**
 * Runs the real kubectl (/usr/bin/kubectl) against a test cluster, with its own cache dir so
 * that discovery is never stale between tests.
 */

/** Result of one kubectl run. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Path of the kubectl binary (SKIFF_KUBECTL overrides). */
export const KUBECTL = Deno.env.get("SKIFF_KUBECTL") ?? "/usr/bin/kubectl";

/** True when kubectl is installed. */
export function haveKubectl(): boolean {
  try {
    return Deno.statSync(KUBECTL).isFile;
  } catch {
    return false;
  }
}

/** Runs kubectl with the cluster's kubeconfig; never throws on a non-zero exit. */
export async function kubectl(
  cluster: { kubeconfigPath: string; cacheDir: string },
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  const child = new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", cluster.kubeconfigPath, "--cache-dir", cluster.cacheDir, ...args],
    stdin: options.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { HOME: cluster.cacheDir, ...options.env },
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, options.timeoutMs ?? 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
