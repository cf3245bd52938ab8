import assert from "node:assert/strict";
import type { CommandRunner } from "../shared/command_runner.ts";
import { silentLogger } from "../shared/log.ts";
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
