/**
 * Service environment variables, as the kubelet's `envvars` package and `getServiceEnvVarMap`
 * make them: for each Service with a cluster IP that the pod may see (its namespace's when
 * `enableServiceLinks` is true, default; `kubernetes` from `default` always), `<SVC>_SERVICE_HOST`,
 * `<SVC>_SERVICE_PORT`, `<SVC>_SERVICE_PORT_<PORT NAME>` and the Docker-link variables
 * `<SVC>_PORT`, `<SVC>_PORT_<port>_<PROTO>` and its `_PROTO`, `_PORT`, `_ADDR`.
 */

/** The Service fields the variables depend on. */
export interface EnvService {
  metadata: { name?: string; namespace?: string };
  spec?: {
    clusterIP?: string;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
}

/** Namespace and name of the API server's Service, always visible to every pod. */
export const MASTER_SERVICE_NAMESPACE = "default";
export const MASTER_SERVICE_NAME = "kubernetes";

/** `redis-master` → `REDIS_MASTER`. */
export function envVariableName(name: string): string {
  return name.toUpperCase().replaceAll("-", "_");
}

function isServiceIPSet(svc: EnvService): boolean {
  const ip = svc.spec?.clusterIP ?? "";
  return ip !== "" && ip !== "None";
}

/** `ip:port`, with brackets around IPv6 addresses (Go's `net.JoinHostPort`). */
function joinHostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The Services a pod in `namespace` gets variables for (kubelet's `getServiceEnvVarMap`). */
export function visibleServices<T extends EnvService>(
  services: readonly T[],
  namespace: string,
  enableServiceLinks: boolean,
): T[] {
  const byName = new Map<string, T>();
  for (const svc of services) {
    if (!isServiceIPSet(svc)) continue;
    const name = svc.metadata.name ?? "";
    const ns = svc.metadata.namespace ?? "default";
    if (ns === MASTER_SERVICE_NAMESPACE && name === MASTER_SERVICE_NAME) {
      // Always there, even without service links, unless the pod's namespace has its own.
      if (!byName.has(name)) byName.set(name, svc);
    } else if (ns === namespace && enableServiceLinks) {
      byName.set(name, svc);
    }
  }
  return [...byName.values()];
}

/** The variables of `services` (kubelet's `envvars.FromServices`), in a stable order. */
export function serviceEnvVars(services: readonly EnvService[]): [string, string][] {
  const out: [string, string][] = [];
  const sorted = [...services].sort((a, b) =>
    (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1
  );
  for (const svc of sorted) {
    if (!isServiceIPSet(svc)) continue;
    const name = envVariableName(svc.metadata.name ?? "");
    const ip = svc.spec!.clusterIP!;
    const ports = svc.spec?.ports ?? [];
    out.push([`${name}_SERVICE_HOST`, ip]);
    if (ports.length) out.push([`${name}_SERVICE_PORT`, String(ports[0].port)]);
    for (const p of ports) {
      if (p.name) out.push([`${name}_SERVICE_PORT_${envVariableName(p.name)}`, String(p.port)]);
    }
    ports.forEach((p, i) => {
      const protocol = p.protocol ?? "TCP";
      const proto = protocol.toLowerCase();
      const url = `${proto}://${joinHostPort(ip, p.port)}`;
      const prefix = `${name}_PORT_${p.port}_${protocol.toUpperCase()}`;
      if (i === 0) out.push([`${name}_PORT`, url]);
      out.push(
        [prefix, url],
        [`${prefix}_PROTO`, proto],
        [`${prefix}_PORT`, String(p.port)],
        [`${prefix}_ADDR`, ip],
      );
    });
  }
  return out;
}
