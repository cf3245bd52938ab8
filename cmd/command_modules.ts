/**
 * The control plane's modules that main.ts loads on demand, by a specifier Deno cannot read
 * ahead of time: Deno builds the module graph of every literal `import("…")` of the entry when
 * the process starts, so literal imports would make each node process (`skiff agent`, `skiff
 * proxy`) load the whole server's source graph (measured 3.5–4.3 MiB private memory). The
 * packagers cannot follow such imports either: their entry, cmd/packaged_entry.ts, registers
 * literal imports of the same modules.
 */
import type * as Token from "./token.ts";
import type * as Up from "./up.ts";
import type * as Purge from "./purge.ts";
import type * as Proxy from "./proxy.ts";
import type * as ServerFlags from "./server_flags.ts";
import type * as ManagedServer from "../server/ha/managed_server.ts";
import type * as ServerRun from "../server/run.ts";
import type * as PodSecurityConfigFile from "../server/admission/pod_security_config_file.ts";

/** Each module by its path from the repository root. */
export interface CommandModules {
  "cmd/token.ts": typeof Token;
  "cmd/up.ts": typeof Up;
  "cmd/purge.ts": typeof Purge;
  "cmd/proxy.ts": typeof Proxy;
  "cmd/server_flags.ts": typeof ServerFlags;
  "server/ha/managed_server.ts": typeof ManagedServer;
  "server/run.ts": typeof ServerRun;
  "server/admission/pod_security_config_file.ts": typeof PodSecurityConfigFile;
}

/** How a bundle loads the modules instead (literal imports, which the bundler follows). */
export type CommandModuleLoaders = {
  [K in keyof CommandModules]: () => Promise<CommandModules[K]>;
};

let packaged: CommandModuleLoaders | undefined;

/** Called by the packaged entry before it runs main.ts's `main`. */
export function registerPackagedModules(loaders: CommandModuleLoaders): void {
  packaged = loaders;
}

/** The module at `path`: the bundle's copy when packaged, else the source file next to main.ts. */
export function commandModule<K extends keyof CommandModules>(
  path: K,
): Promise<CommandModules[K]> {
  if (packaged) return packaged[path]() as Promise<CommandModules[K]>;
  return import(new URL(`../${path}`, import.meta.url).href);
}
