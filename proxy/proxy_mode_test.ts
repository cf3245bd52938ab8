import assert from "node:assert/strict";
import type { CommandRunner } from "../shared/command_runner.ts";
import { Logger, silentLogger } from "../shared/log.ts";
import { resolveProxyMode } from "./proxy_mode.ts";

const nftOk: CommandRunner = () => Promise.resolve({ code: 0, stdout: "", stderr: "" });
const nftMissing: CommandRunner = () =>
  Promise.resolve({ code: 127, stdout: "", stderr: "nft: not found" });

Deno.test("resolveProxyMode() picks nftables when root, nft works and ClusterIPs are routable", async () => {
  const base = { serviceCidr: "10.43.0.0/16", logger: silentLogger, uid: 0 };
  assert.equal(await resolveProxyMode("auto", { ...base, run: nftOk }), "nftables");
  assert.equal(await resolveProxyMode("auto", { ...base, run: nftMissing }), "userspace");
  assert.equal(await resolveProxyMode("auto", { ...base, run: nftOk, uid: 1000 }), "userspace");
  assert.equal(
    await resolveProxyMode("auto", { ...base, run: nftOk, serviceCidr: "127.43.0.0/16" }),
    "userspace",
  );
  assert.equal(await resolveProxyMode("userspace", { ...base, run: nftOk }), "userspace");
});

Deno.test("resolveProxyMode() refuses an explicit nftables it cannot honour", async () => {
  let message = "";
  try {
    await resolveProxyMode("nftables", {
      serviceCidr: "10.43.0.0/16",
      logger: silentLogger,
      uid: 0,
      run: nftMissing,
    });
  } catch (e) {
    message = (e as Error).message;
  }
  assert.equal(message, "Cannot use --proxy-mode nftables: the nft command is missing");
});

Deno.test("resolveProxyMode() warns when nftables mode has no conntrack(8) to move UDP flows", async () => {
  const lines: string[] = [];
  const logger = new Logger({ level: "info", sink: (line) => lines.push(line) });
  const noConntrack: CommandRunner = (command) =>
    Promise.resolve(
      command === "conntrack"
        ? { code: 127, stdout: "", stderr: "conntrack: not found" }
        : { code: 0, stdout: "", stderr: "" },
    );
  const base = { serviceCidr: "10.43.0.0/16", logger, uid: 0 };
  assert.equal(await resolveProxyMode("auto", { ...base, run: noConntrack }), "nftables");
  assert.equal(
    lines.filter((l) => l.includes("conntrack(8) is missing")).length,
    1,
    lines.join("\n"),
  );
  lines.length = 0;
  assert.equal(await resolveProxyMode("nftables", { ...base, run: nftOk }), "nftables");
  assert.equal(lines.filter((l) => l.includes("conntrack")).length, 0, lines.join("\n"));
});
