/**
 * The kubelet's credential keyring over a pod's `imagePullSecrets`: the registry credentials of
 * `kubernetes.io/dockerconfigjson` (`{"auths": {...}}`) and `kubernetes.io/dockercfg` Secrets,
 * indexed by registry location (`host[:port][/path]`, scheme and a `/v1/` or `/v2/` path dropped),
 * and looked up for an image as the kubelet does: every location whose host (with `*` globs per
 * dot-separated part) and port match the image's registry and whose path is a prefix of the
 * image's repository, most specific first; failing that, `index.docker.io` credentials for
 * Docker Hub images (`busybox`, `user/app`, `docker.io/...`, `index.docker.io/...`).
 * {@linkcode registryAuthHeader} encodes one credential for Docker's `X-Registry-Auth`.
 */
import type { KeyValueSource, Pod } from "./pod_types.ts";

/** One registry credential (the kubelet's AuthConfig, as pull secrets can give it). */
export interface RegistryAuth {
  username: string;
  password: string;
  email?: string;
  /** The keyring location it was found under (for logs; Docker does not need it). */
  serverAddress: string;
}

const DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson";
const DOCKER_CFG = "kubernetes.io/dockercfg";
const DOCKER_HUB = "index.docker.io";

/** Thrown for a pull secret whose contents cannot be read as registry credentials. */
export class PullSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PullSecretError";
  }
}

/**
 * The repository an image is pulled from, normalised as Docker does: `busybox:1` →
 * `docker.io/library/busybox`, `index.docker.io/u/app` → `docker.io/u/app`,
 * `127.0.0.1:5000/team/app@sha256:…` → `127.0.0.1:5000/team/app`.
 */
export function imageRepository(image: string): string {
  let name = image;
  const at = name.indexOf("@");
  if (at >= 0) name = name.slice(0, at);
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  if (colon > slash) name = name.slice(0, colon);
  const first = name.indexOf("/");
  const head = first < 0 ? "" : name.slice(0, first);
  let domain: string;
  let rest: string;
  if (first >= 0 && (head.includes(".") || head.includes(":") || head === "localhost")) {
    domain = head;
    rest = name.slice(first + 1);
  } else {
    domain = "docker.io";
    rest = name;
  }
  if (domain === DOCKER_HUB) domain = "docker.io";
  if (domain === "docker.io" && !rest.includes("/")) rest = `library/${rest}`;
  return `${domain}/${rest}`;
}

/** UTF-8 text of base64 (padded or not). */
function fromBase64(b64: string): string {
  const padded = b64 + "=".repeat((4 - b64.length % 4) % 4);
  return new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
}

/** `host[:port]` and `/path` of a schemeless location (`https://` and `http://` are dropped). */
function splitLocation(location: string): { host: string; port: string; path: string } {
  const bare = location.replace(/^https?:\/\//, "");
  const slash = bare.indexOf("/");
  const hostPort = slash < 0 ? bare : bare.slice(0, slash);
  const path = slash < 0 ? "" : bare.slice(slash);
  // Go's net.SplitHostPort: `[v6]:port`, `host:port`; anything else is all host.
  const m = /^\[([^\]]*)\]:(.*)$/.exec(hostPort) ?? /^([^:]*):(.*)$/.exec(hostPort);
  return m ? { host: m[1], port: m[2], path } : { host: hostPort, port: "", path };
}

/** The keyring key of a config location: host, plus its path unless that is `/`, `/v1/`, `/v2/`. */
function locationKey(location: string): string {
  const { host, port, path } = splitLocation(location);
  let effective = path;
  if (effective.startsWith("/v2/") || effective.startsWith("/v1/")) effective = effective.slice(3);
  const hostPort = port ? `${host}:${port}` : host;
  return effective && effective !== "/" ? hostPort + effective : hostPort;
}

/** Go's filepath.Match over one host part (no separators inside): `*`, `?` and `[...]`. */
function globPart(glob: string, target: string): boolean {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) return false; // Go: ErrBadPattern, which the kubelet counts as no match
      re += `[${glob.slice(i + 1, end)}]`; // `[^…]` negates in both syntaxes
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`).test(target);
}

/** The kubelet's URLsMatch: same port, same number of host parts each glob-matching, path prefix. */
function locationMatches(key: string, repository: string): boolean {
  const glob = splitLocation(key);
  const target = splitLocation(repository);
  if (glob.port !== target.port) return false;
  const globParts = glob.host.split(".");
  const targetParts = target.host.split(".");
  if (globParts.length !== targetParts.length) return false;
  if (!target.path.startsWith(glob.path)) return false;
  return globParts.every((g, i) => globPart(g, targetParts[i]));
}

/** Docker Hub images: no registry host in the name, or `docker.io` / `index.docker.io`. */
function isDockerHubImage(image: string): boolean {
  const parts = image.split("/");
  if (parts[0] === "") return false;
  if (parts.length === 1) return true;
  if (parts[0] === "docker.io" || parts[0] === DOCKER_HUB) return true;
  return !/[.:]/.test(parts[0]);
}

/** A field of a config entry, matched without regard to case (as Go's encoding/json does). */
function field(entry: Record<string, unknown>, name: string): string | undefined {
  for (const [k, v] of Object.entries(entry)) {
    if (k.toLowerCase() === name && typeof v === "string") return v;
  }
  return undefined;
}

/** `auth` is base64 of `username:password`, padded or not. */
function decodeAuthField(auth: string): { username: string; password: string } {
  let text: string;
  try {
    text = fromBase64(auth.trim());
  } catch {
    throw new PullSecretError("illegal base64 data in the auth field");
  }
  const colon = text.indexOf(":");
  if (colon < 0) {
    throw new PullSecretError(
      "unable to parse auth field, must be formatted as base64(username:password)",
    );
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The registry credentials of a pod's pull secrets, looked up by image. */
export class DockerKeyring {
  /** Location key → its credentials in the order the secrets gave them. */
  readonly #creds = new Map<string, RegistryAuth[]>();

  /**
   * Builds the keyring of `secrets` (other types, and a type without its key, are skipped as
   * the kubelet skips them). Throws a {@linkcode PullSecretError} naming the Secret when one
   * holds something that is not registry credentials.
   */
  static fromSecrets(secrets: KeyValueSource[]): DockerKeyring {
    const keyring = new DockerKeyring();
    for (const s of secrets) {
      const key = s.type === DOCKER_CONFIG_JSON
        ? ".dockerconfigjson"
        : s.type === DOCKER_CFG
        ? ".dockercfg"
        : undefined;
      const encoded = key ? s.data?.[key] : undefined;
      if (!encoded) continue;
      const name = `${s.metadata?.namespace}/${s.metadata?.name}`;
      try {
        const parsed = JSON.parse(fromBase64(encoded));
        const auths = s.type === DOCKER_CONFIG_JSON ? parsed?.auths : parsed;
        keyring.add(auths ?? {});
      } catch (e) {
        const why = e instanceof PullSecretError ? e.message : `not valid JSON (${e})`;
        throw new PullSecretError(`cannot read the registry credentials of Secret ${name}: ${why}`);
      }
    }
    return keyring;
  }

  /** Adds the entries of one docker config (`location → {username, password, auth, email}`). */
  add(config: Record<string, unknown>): void {
    if (typeof config !== "object" || Array.isArray(config)) {
      throw new PullSecretError("the credentials are not a JSON object of registries");
    }
    for (const [location, value] of Object.entries(config)) {
      const entry = (value ?? {}) as Record<string, unknown>;
      const auth = field(entry, "auth");
      const { username, password } = auth
        ? decodeAuthField(auth)
        : { username: field(entry, "username") ?? "", password: field(entry, "password") ?? "" };
      const key = locationKey(location);
      const list = this.#creds.get(key) ?? [];
      list.push({ username, password, email: field(entry, "email"), serverAddress: key });
      this.#creds.set(key, list);
    }
  }

  /**
   * The credentials to try for `image`, most specific location first (reverse order of the
   * keys, as the kubelet sorts them); empty when none applies (the pull is then anonymous).
   */
  lookup(image: string): RegistryAuth[] {
    const repository = imageRepository(image);
    const keys = [...this.#creds.keys()].sort().reverse();
    const found = keys.filter((k) => locationMatches(k, repository))
      .flatMap((k) => this.#creds.get(k)!);
    if (found.length) return found;
    return isDockerHubImage(repository) ? this.#creds.get(DOCKER_HUB) ?? [] : [];
  }
}

/**
 * Reads the pod's pull secrets as the kubelet does: empty names are skipped, and a Secret that
 * cannot be read (missing, or the server unreachable with no local copy) is left out and named
 * in `missing` — the pull is still attempted.
 */
export async function readPullSecrets(
  pod: Pod,
  reader: { getSecret(namespace: string, name: string): Promise<KeyValueSource | undefined> },
): Promise<{ secrets: KeyValueSource[]; missing: string[] }> {
  const secrets: KeyValueSource[] = [];
  const missing: string[] = [];
  for (const ref of pod.spec.imagePullSecrets ?? []) {
    if (!ref.name) continue;
    const s = await reader.getSecret(pod.metadata.namespace, ref.name).catch(() => undefined);
    if (s) secrets.push(s);
    else missing.push(ref.name);
  }
  return { secrets, missing };
}

/** Docker's `X-Registry-Auth` header value for one credential (base64url of its JSON). */
export function registryAuthHeader(auth: RegistryAuth): string {
  const json = JSON.stringify({
    username: auth.username,
    password: auth.password,
    email: auth.email,
    serveraddress: auth.serverAddress,
  });
  const bytes = new TextEncoder().encode(json);
  return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""))
    .replaceAll("+", "-").replaceAll("/", "_");
}
