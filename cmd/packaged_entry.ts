/**
 * The entry of the packaged skiff (scripts/bundle.sh, scripts/compile.sh): main.ts's `main`,
 * with the modules main.ts loads by a non-literal specifier (cmd/command_modules.ts) registered
 * as literal imports, so the bundler and `deno compile` include them. (A bundled main.ts's own
 * `import.meta.main` is false: this entry runs `main`.)
 */
import { registerPackagedModules } from "./command_modules.ts";
import { main } from "../main.ts";

registerPackagedModules({
  "cmd/token.ts": () => import("./token.ts"),
  "cmd/up.ts": () => import("./up.ts"),
  "cmd/purge.ts": () => import("./purge.ts"),
  "cmd/proxy.ts": () => import("./proxy.ts"),
  "cmd/server_flags.ts": () => import("./server_flags.ts"),
  "server/ha/managed_server.ts": () => import("../server/ha/managed_server.ts"),
  "server/run.ts": () => import("../server/run.ts"),
  "server/admission/pod_security_config_file.ts": () =>
    import("../server/admission/pod_security_config_file.ts"),
});

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
