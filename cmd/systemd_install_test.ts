import assert from "node:assert/strict";
import {
  installUnit,
  quoteUnitWord,
  type SystemctlRunner,
  uninstallUnit,
  unitCommand,
  unitFile,
} from "./systemd_install.ts";
import { main } from "../main.ts";

function recordingRunner(code = 0): { runner: SystemctlRunner; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    runner: (args) => {
      calls.push(args.join(" "));
      return Promise.resolve({
        code,
        stderr: code ? "System has not been booted with systemd" : "",
      });
    },
  };
}

Deno.test("unitCommand() drops install flags, moves the token out and makes paths absolute", () => {
  const u = unitCommand([
    "--server",
    "https://192.168.1.10:6443",
    "--token=K10abc::secret",
    "--install",
    "--systemd-dir",
    "/tmp/units",
    "--node-name",
    "pi1",
    "--data-dir",
    "state/agent",
    "--proxy-cluster-ips=false",
  ], { dataDir: "ignored", cwd: "/home/pi" });
  assert.deepEqual(u.args, [
    "--server",
    "https://192.168.1.10:6443",
    "--token",
    "${SKIFF_TOKEN}",
    "--node-name",
    "pi1",
    "--data-dir",
    "/home/pi/state/agent",
    "--proxy-cluster-ips",
    "false",
  ]);
  assert.deepEqual(u.env, { SKIFF_TOKEN: "K10abc::secret" });
  // The default data dir is written out: systemd's HOME is not the user's.
  const d = unitCommand(["--uninstall", "--purge"], { dataDir: "/home/pi/.skiff-agent" });
  assert.deepEqual(d.args, ["--data-dir", "/home/pi/.skiff-agent"]);
});

Deno.test("quoteUnitWord() escapes what systemd would expand", () => {
  assert.equal(quoteUnitWord("/usr/bin/deno"), "/usr/bin/deno");
  assert.equal(quoteUnitWord("a b"), '"a b"');
  assert.equal(quoteUnitWord("50%$x"), "50%%$$x");
  assert.equal(quoteUnitWord("${SKIFF_TOKEN}"), "${SKIFF_TOKEN}");
  assert.equal(quoteUnitWord('say "hi"'), '"say \\"hi\\""');
});

Deno.test("unitFile() runs the launcher with the subcommand and restarts it forever", () => {
  const text = unitFile({
    command: "agent",
    launcher: { program: "/opt/skiff-linux-arm64.run", args: [] },
    args: ["--token", "${SKIFF_TOKEN}", "--data-dir", "/var/lib/skiff-agent"],
    envFile: "/etc/systemd/system/skiff-agent.env",
  });
  assert.match(
    text,
    /^ExecStart=\/opt\/skiff-linux-arm64.run agent --token \$\{SKIFF_TOKEN\} --data-dir \/var\/lib\/skiff-agent$/m,
  );
  assert.match(text, /^EnvironmentFile=-\/etc\/systemd\/system\/skiff-agent.env$/m);
  assert.match(text, /^Restart=always$/m);
  assert.match(text, /^After=network-online.target docker.service$/m);
  assert.match(text, /^WantedBy=multi-user.target$/m);
});

Deno.test("installUnit() writes the unit 0644 and the token 0600, then enables it; uninstallUnit() undoes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { runner, calls } = recordingRunner();
    const path = await installUnit({
      command: "agent",
      systemdDir: dir,
      runner,
      launcher: { program: "/usr/bin/deno", args: ["run", "-A", "/opt/skiff.js"] },
      unit: unitCommand(["--server", "https://10.0.0.1:6443", "--token", "T0K"], {
        dataDir: "/var/lib/skiff-agent",
      }),
    });
    assert.equal(path, `${dir}/skiff-agent.service`);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
    const unit = await Deno.readTextFile(path);
    assert.ok(!unit.includes("T0K"), "the token is not in the world-readable unit");
    assert.match(unit, /ExecStart=\/usr\/bin\/deno run -A \/opt\/skiff.js agent --server/);
    const env = `${dir}/skiff-agent.env`;
    assert.equal(await Deno.readTextFile(env), "SKIFF_TOKEN=T0K\n");
    assert.equal((await Deno.stat(env)).mode! & 0o777, 0o600);
    assert.deepEqual(calls, ["daemon-reload", "enable --now skiff-agent.service"]);

    // Without systemd running, uninstall still removes the files.
    const failing = recordingRunner(1);
    await uninstallUnit({ command: "agent", systemdDir: dir, runner: failing.runner });
    assert.deepEqual(failing.calls, ["disable --now skiff-agent.service", "daemon-reload"]);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("installUnit() fails loudly when systemctl fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { runner } = recordingRunner(1);
    await assert.rejects(
      installUnit({
        command: "server",
        systemdDir: dir,
        runner,
        launcher: { program: "/opt/skiff.run", args: [] },
        unit: unitCommand([], { dataDir: "/var/lib/skiff" }),
      }),
      /systemctl daemon-reload failed \(1\): System has not been booted with systemd/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("skiff agent --uninstall --purge removes the unit files and the node's data dir", async () => {
  const units = await Deno.makeTempDir();
  const data = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${units}/skiff-agent.service`, "[Unit]\n");
    await Deno.writeTextFile(`${units}/skiff-agent.env`, "SKIFF_TOKEN=x\n");
    await Deno.writeTextFile(`${data}/credentials.json`, "{}");
    const node = `purge-${crypto.randomUUID().slice(0, 8)}`;
    const code = await main([
      "agent",
      "--uninstall",
      "--purge",
      "--systemd-dir",
      units,
      "--data-dir",
      data,
      "--node-name",
      node,
      // A table of this test's own: the purge must not delete a real node's `inet skiff`.
      "--proxy-nft-table",
      node,
    ]);
    assert.equal(code, 0);
    assert.deepEqual([...Deno.readDirSync(units)], []);
    await assert.rejects(Deno.stat(data), Deno.errors.NotFound);
  } finally {
    await Deno.remove(units, { recursive: true }).catch(() => {});
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
});

Deno.test("skiff agent --install --purge is a usage error", async () => {
  const code = await main([
    "agent",
    "--install",
    "--purge",
    "--server",
    "https://1.2.3.4:6443",
    "--token",
    "t",
    "--data-dir",
    "/nonexistent-skiff",
  ]);
  assert.equal(code, 2);
});
