/**
 * Where a proxy subresource request goes, as kube-apiserver's `ResourceLocation`s decide it:
 * `pods/[scheme:]NAME[:PORT]/proxy` to the pod's IP, `services/[scheme:]NAME[:PORT]/proxy` to one
 * ready endpoint of the service port, `nodes/[scheme:]NAME[:PORT]/proxy` to the node's agent API
 * (or another port on the node's address). Errors carry kube-apiserver's messages and codes.
 *
 * One deliberate difference: a pod port given by name is looked up among the pod's container
 * ports. kube-apiserver passes the name to its dialer, which looks it up in the server
 * machine's `/etc/services` — a name the pod never declared.
 */
import type { KubeObject } from "../../shared/api/object.ts";
import { BadRequestError, ServiceUnavailableError } from "../../shared/errors.ts";

/** Where one proxied request is sent. */
export interface ProxyLocation {
  scheme: "http" | "https";
  /** The IP address or name to connect to (IPv6 without brackets). */
  hostname: string;
  /** The port to connect to (80 or 443 when the location names none). */
  port: number;
  /** `host[:port]` as the location's URL has it (the port only when one was chosen). */
  authority: string;
  /** Request headers the location adds (the agent credential for `nodes/NAME/proxy`). */
  headers?: Record<string, string>;
}

/** `[scheme:]name[:port]`, split as Kubernetes' `SplitSchemeNamePort`. */
export interface SchemeNamePort {
  scheme: "" | "http" | "https";
  name: string;
  port: string;
}

/**
 * Splits `name`, `name:port` or `scheme:name:port` (the port may be empty: `https:web:`);
 * undefined when there are more parts, the name is empty or the scheme is not http or https.
 */
export function splitSchemeNamePort(id: string): SchemeNamePort | undefined {
  const parts = id.split(":");
  let scheme = "", name = "", port = "";
  switch (parts.length) {
    case 1:
      [name] = parts;
      break;
    case 2:
      [name, port] = parts;
      break;
    case 3:
      [scheme, name, port] = parts;
      break;
    default:
      return undefined;
  }
  if (name === "" || (scheme !== "" && scheme !== "http" && scheme !== "https")) return undefined;
  return { scheme: scheme as SchemeNamePort["scheme"], name, port };
}

/** A port the way Go's `strconv.ParseInt` reads one, or undefined when it is a name. */
function portNumber(port: string): number | undefined {
  return /^[+-]?[0-9]+$/.test(port) ? Number(port) : undefined;
}

/** Builds a location; a port outside 1–65535 fails as Go's dialer fails on it. */
function location(
  scheme: SchemeNamePort["scheme"],
  ip: string,
  port: number | undefined,
  headers?: Record<string, string>,
): ProxyLocation {
  const s = scheme === "https" ? "https" : "http";
  const bracketed = ip.includes(":") ? `[${ip}]` : ip;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw reachError(`dial tcp: address ${port}: invalid port`);
  }
  return {
    scheme: s,
    hostname: ip,
    port: port ?? (s === "https" ? 443 : 80),
    authority: port === undefined ? bracketed : `${bracketed}:${port}`,
    ...(headers ? { headers } : {}),
  };
}

/** The 503 kube-apiserver's proxy transport answers when the backend cannot be reached. */
export function reachError(detail: string): ServiceUnavailableError {
  return new ServiceUnavailableError(`error trying to reach service: ${detail}`);
}

interface ContainerPort {
  name?: string;
  containerPort: number;
}
interface Container {
  ports?: ContainerPort[];
}

/**
 * The location of `pods/ID/proxy`: the pod's first IP, at the given port (a number, or a
 * container port's name), or else at the first port its containers declare, or else at the
 * scheme's default port.
 *
 * @throws {BadRequestError} an ID that is not `[scheme:]name[:port]` (`invalid pod request`), or
 *   a pod without a global unicast IP (`address not allowed`).
 */
export function podLocation(pod: KubeObject, id: SchemeNamePort): ProxyLocation {
  const containers = (pod.spec?.containers ?? []) as Container[];
  let port: number | undefined;
  if (id.port === "") {
    port = containers.find((c) => (c.ports ?? []).length > 0)?.ports?.[0].containerPort;
  } else {
    port = portNumber(id.port);
    if (port === undefined) {
      const sidecars = (pod.spec?.initContainers ?? []) as Container[];
      port = [...containers, ...sidecars].flatMap((c) => c.ports ?? [])
        .find((p) => p.name === id.port)?.containerPort;
      if (port === undefined) {
        throw reachError(`pod "${pod.metadata.name}" has no container port named "${id.port}"`);
      }
    }
  }
  const ip = podIPs(pod)[0];
  if (!ip || !isGlobalUnicast(ip)) throw new BadRequestError("address not allowed");
  return location(id.scheme, ip, port);
}

/** Parses a pod, service or node proxy ID; a 400 in kube-apiserver's words when it is not one. */
export function parseProxyId(kind: "pod" | "service" | "node", id: string): SchemeNamePort {
  const parsed = splitSchemeNamePort(id);
  if (!parsed) throw new BadRequestError(`invalid ${kind} request ${JSON.stringify(id)}`);
  return parsed;
}

/** The pod's IPs: `status.podIPs`, or `status.podIP` when that list is empty. */
function podIPs(pod: KubeObject): (string | undefined)[] {
  const ips = ((pod.status?.podIPs ?? []) as { ip?: string }[]).map((p) => p.ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP as string);
  return ips;
}

/**
 * Go's `net.IP.IsGlobalUnicast`: not unspecified, loopback, multicast, link-local or the IPv4
 * broadcast address (private ranges count as global).
 */
export function isGlobalUnicast(ip: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    if ([a, b, c, d].some((n) => n > 255)) return false;
    if (a === 0 && b === 0 && c === 0 && d === 0) return false;
    if (a === 255 && b === 255 && c === 255 && d === 255) return false;
    return a !== 127 && !(a === 169 && b === 254) && !(a >= 224 && a <= 239);
  }
  if (!ip.includes(":") || !/^[0-9a-fA-F:.]+$/.test(ip)) return false;
  const lower = ip.toLowerCase();
  if (/^(0*:)*:?0*$/.test(lower) || /^(0*:)*:?0*1$/.test(lower)) return false; // :: and ::1
  if (lower.startsWith("ff")) return false;
  return !/^fe[89ab]/.test(lower);
}

/** What {@linkcode serviceLocation} reads (the API's objects in the request's namespace). */
export interface ServiceLookups {
  /** The Service; throws the 404 when it does not exist. */
  service: (name: string) => KubeObject;
  /** The Endpoints of the Service; throws the 404 when they do not exist. */
  endpoints: (name: string) => KubeObject;
  /** A pod, or undefined. */
  pod: (name: string) => KubeObject | undefined;
  /** [0, 1); Math.random by default. */
  random?: () => number;
}

interface EndpointAddress {
  ip: string;
  targetRef?: { kind?: string; namespace?: string; name?: string };
}
interface EndpointSubset {
  addresses?: EndpointAddress[];
  ports?: { name?: string; port: number }[];
}

/**
 * The location of `services/ID/proxy` in `namespace`, as kube-apiserver's service
 * `ResourceLocation`: a port number is first turned into the service port's name; then a
 * random subset of the Endpoints with a port of that name, and in it a random ready address
 * that belongs to a pod of the namespace still holding that IP.
 *
 * @throws {NotFoundError} the Service (when a port number must be resolved) or its Endpoints
 *   do not exist (ExternalName and selector-less Services without Endpoints, as upstream).
 * @throws {ServiceUnavailableError} `no service port N found for service "x"`, or
 *   `no endpoints available for service "x"`.
 */
export function serviceLocation(
  namespace: string,
  id: SchemeNamePort,
  lookups: ServiceLookups,
): ProxyLocation {
  const random = lookups.random ?? Math.random;
  let portName = id.port;
  const number = portNumber(id.port);
  if (number !== undefined) {
    const ports = (lookups.service(id.name).spec?.ports ?? []) as { name?: string; port: number }[];
    const match = ports.find((p) => p.port === number);
    if (!match) {
      throw new ServiceUnavailableError(
        `no service port ${number} found for service ${JSON.stringify(id.name)}`,
      );
    }
    portName = match.name ?? "";
  }
  const subsets = (lookups.endpoints(id.name).subsets ?? []) as EndpointSubset[];
  if (subsets.length === 0) {
    throw new ServiceUnavailableError(
      `no endpoints available for service ${JSON.stringify(id.name)}`,
    );
  }
  const subsetSeed = Math.floor(random() * subsets.length);
  for (let i = 0; i < subsets.length; i++) {
    const subset = subsets[(subsetSeed + i) % subsets.length];
    const addresses = subset.addresses ?? [];
    if (addresses.length === 0) continue;
    for (const port of subset.ports ?? []) {
      if ((port.name ?? "") !== portName) continue;
      const addressSeed = Math.floor(random() * addresses.length);
      for (let j = 0; j < addresses.length; j++) {
        const address = addresses[(addressSeed + j) % addresses.length];
        if (isValidAddress(namespace, address, lookups.pod)) {
          return location(id.scheme, address.ip, port.port);
        }
      }
    }
  }
  // Upstream names the whole ID here (`"web:http"`), the bare name above.
  throw new ServiceUnavailableError(
    `no endpoints available for service ${JSON.stringify(joinSchemeNamePort(id))}`,
  );
}

function joinSchemeNamePort(id: SchemeNamePort): string {
  if (id.scheme) return `${id.scheme}:${id.name}:${id.port}`;
  return id.port ? `${id.name}:${id.port}` : id.name;
}

/** An endpoint address counts when it points at a pod of the namespace that has its IP. */
function isValidAddress(
  namespace: string,
  address: EndpointAddress,
  pod: ServiceLookups["pod"],
): boolean {
  const ref = address.targetRef;
  if (!ref?.name || ref.namespace !== namespace) return false;
  const target = pod(ref.name);
  if (!target) return false;
  return podIPs(target).includes(address.ip);
}

/** The node's agent API, as the server's {@linkcode AgentDialer} reaches it. */
export interface AgentAddress {
  /** The node address the agent listens on. */
  hostname: string;
  port: number;
  /** The server's credential for the agent API. */
  token: string;
}

/**
 * The location of `nodes/ID/proxy`, as kube-apiserver's node `ResourceLocation`: without a
 * port, or with the agent's own port, the agent API with the server's credential (the
 * kubelet's transport there; the scheme asked for is ignored); any other port on the node's
 * address with the scheme asked for and no credential.
 */
export function nodeLocation(id: SchemeNamePort, agent: AgentAddress): ProxyLocation {
  if (id.port === "" || id.port === String(agent.port)) {
    return location("http", agent.hostname, agent.port, {
      authorization: `Bearer ${agent.token}`,
    });
  }
  const port = portNumber(id.port);
  if (port === undefined) {
    throw reachError(`dial tcp: lookup tcp/${id.port}: unknown port`);
  }
  return location(id.scheme, agent.hostname, port);
}
