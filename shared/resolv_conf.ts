/**
 * resolv.conf(5) read and written: the node's resolvers and search domains (where the node-local
 * DNS forwards, and what pods inherit), and the file the agent writes for each pod.
 */

/** The parts of a resolv.conf that Kubernetes uses. */
export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  /** `ndots:5`, `edns0`, … in file order. */
  options: string[];
}

/** Parses resolv.conf text; unknown lines are ignored, the last `search`/`domain` wins. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    if (!line) continue;
    const [key, ...fields] = line.split(/\s+/);
    if (key === "nameserver" && fields[0]) out.nameservers.push(fields[0]);
    else if (key === "search" || key === "domain") out.searches = fields;
    else if (key === "options") out.options.push(...fields);
  }
  return out;
}

/** Renders resolv.conf text (nameserver lines, then search, then options). */
export function formatResolvConf(conf: ResolvConf): string {
  const lines = conf.nameservers.map((ns) => `nameserver ${ns}`);
  if (conf.searches.length) lines.push(`search ${conf.searches.join(" ")}`);
  if (conf.options.length) lines.push(`options ${conf.options.join(" ")}`);
  return lines.join("\n") + "\n";
}

/** Reads and parses a resolv.conf file; a missing file is an empty configuration. */
export async function readResolvConf(path = "/etc/resolv.conf"): Promise<ResolvConf> {
  try {
    return parseResolvConf(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { nameservers: [], searches: [], options: [] };
    throw e;
  }
}
