import assert from "node:assert/strict";
import { AGENT_FLAGS, agentConfigFrom, PROXY_FLAGS, proxyConfigFrom } from "./cmd/node_flags.ts";
import { SERVER_FLAGS, serverConfigFrom } from "./cmd/server_flags.ts";
import { type FlagSpec, type ParsedFlags, parseFlags, UsageError } from "./shared/cli_flags.ts";

/** The message of the UsageError that building a config from `args` raises. */
function refusal(
  spec: Record<string, FlagSpec>,
  configFrom: (flags: ParsedFlags) => unknown,
  args: string[],
): string {
  try {
    configFrom(parseFlags(args, spec));
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.message;
  }
  assert.fail(`${args.join(" ")} was accepted`);
}

Deno.test("skiff server: a refused config value is one line naming the flag as typed", () => {
  const server = (args: string[]) =>
    refusal(SERVER_FLAGS, (f) => serverConfigFrom(f), ["--data-dir", "/nonexistent", ...args]);
  assert.equal(
    server(["--listen", "nowhere"]),
    'invalid value "nowhere" for --listen: must be ADDR:PORT',
  );
  assert.equal(
    server(["--service-node-port-range", "5-3"]),
    'invalid value "5-3" for --service-node-port-range: MIN must not exceed MAX',
  );
  // Given in seconds, kept in ms: the value shown is the one typed.
  assert.equal(
    server(["--node-monitor-grace-period", "0"]),
    'invalid value "0" for --node-monitor-grace-period: must be greater than 0',
  );
  assert.equal(
    server(["--log-level", "loud"]),
    'invalid value "loud" for --log-level: must be debug, info, warn or error',
  );
  // A cross-field rule about a flag that was not given (config key joinToken, flag --token).
  assert.equal(server(["--join", "https://10.0.0.1:6443"]), "--token: is required with --join");
  assert.equal(
    server(["--cluster-cidr", "10.43.0.0/16"]),
    'invalid value "10.43.0.0/16" for --cluster-cidr: must not overlap the service CIDR 10.43.0.0/16',
  );
});

Deno.test("skiff agent: node and proxy flags are checked before any join", () => {
  const agent = (args: string[]) =>
    refusal(AGENT_FLAGS, agentConfigFrom, ["--data-dir", "/nonexistent", ...args]);
  assert.equal(
    agent(["--node-name", "BAD"]),
    'invalid value "BAD" for --node-name: must be a DNS subdomain',
  );
  assert.equal(
    agent(["--api-port", "70000"]),
    'invalid value "70000" for --api-port: must be at most 65535',
  );
  assert.equal(
    agent(["--proxy-mode", "kernel"]),
    'invalid value "kernel" for --proxy-mode: must be auto, nftables or userspace',
  );
  // The proxy's own fields, named by the agent's flags (proxy-nft-table, not nftTable).
  assert.equal(
    agent(["--proxy-nft-table", "9bad"]),
    'invalid value "9bad" for --proxy-nft-table: must be an nft table name',
  );
  assert.equal(
    agent(["--ingress-https-port", "-1"]),
    'invalid value "-1" for --ingress-https-port: must be at least 0',
  );
  assert.equal(
    agent(["--allowed-unsafe-sysctls", "net.core.somaxconn,kernel.panic"]),
    'invalid value "kernel.panic" for --allowed-unsafe-sysctls: must be a namespaced sysctl (net.*, kernel.shm*, …)',
  );
  const ok = agentConfigFrom(
    parseFlags(["--proxy-nft-table", "t1", "--data-dir", "/x"], AGENT_FLAGS),
  );
  assert.equal(ok.proxyNftTable, "t1");
  assert.equal(ok.proxyMode, "auto");
});

Deno.test("skiff proxy: its config is checked from the flags alone, before credentials", () => {
  const proxy = (args: string[]) => refusal(PROXY_FLAGS, proxyConfigFrom, args);
  assert.equal(
    proxy(["--proxy-mode", "bogus"]),
    'invalid value "bogus" for --proxy-mode: must be auto, nftables or userspace',
  );
  assert.equal(
    proxy(["--ingress-http-port", "70000"]),
    'invalid value "70000" for --ingress-http-port: must be at most 65535',
  );
  assert.equal(
    proxy(["--proxy-nft-table", "9bad"]),
    'invalid value "9bad" for --proxy-nft-table: must be an nft table name',
  );
  assert.equal(
    proxy(["--server", "notaurl", "--token", "t"]),
    'invalid value "notaurl" for --server: must be a URL',
  );
  // Accepted flags pass on as given; absent ones stay absent for the credentials to fill in.
  const input = proxyConfigFrom(parseFlags(["--proxy-mode", "userspace"], PROXY_FLAGS));
  assert.equal(input.mode, "userspace");
  assert.equal(input.serviceCidr, undefined);
  assert.equal(input.nodeName, undefined);
});
