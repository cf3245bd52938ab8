/**
 * Cluster security end to end over real TLS: joining by token (node password, node credentials,
 * CA hash), NodeRestriction for node credentials, user roles, `skiff token` against a running
 * server, the kubeconfig with real kubectl, and the agent API accepting only the server.
 */
import assert from "node:assert/strict";
import {
  CredentialsError,
  ensureNodeCredentials,
  joinCluster,
  loadCredentials,
} from "../agent/credentials.ts";
import { Logger } from "../shared/log.ts";
import { sha256Hex } from "../shared/crypto_util.ts";
import { formatJoinToken, parseJoinToken } from "../shared/join_token.ts";
import { haveKubectl, kubectl } from "./kubectl.ts";
import { api, startTestServer, type TestServer, waitFor } from "./test_utils.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function skiff(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withServer(fn: (s: TestServer) => Promise<void>): Promise<void> {
  const server = await startTestServer({ controllers: false });
  const dirs: string[] = [];
  try {
    await fn(server);
  } finally {
    await server.stop();
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "skiff-sec-" });
}

function pod(name: string, nodeName: string, secret: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      nodeName,
      containers: [{
        name: "c",
        image: "busybox",
        env: [{ name: "S", valueFrom: { secretKeyRef: { name: secret, key: "k" } } }],
      }],
    },
  };
}

Deno.test("a node joins by token over TLS and NodeRestriction confines it to its own pods", async () => {
  await withServer(async (server) => {
    const dirA = await tempDir();
    const dirB = await tempDir();
    try {
      const a = await joinCluster({
        server: server.url,
        joinToken: server.joinToken,
        nodeName: "node-a",
        dataDir: dirA,
      });
      const b = await joinCluster({
        server: server.url,
        joinToken: server.joinToken,
        nodeName: "node-b",
        dataDir: dirB,
      });
      // Credentials and the node password are kept private in the agent's data dir.
      assert.deepEqual((await Deno.stat(`${dirA}/credentials.json`)).mode! & 0o777, 0o600);
      assert.deepEqual((await Deno.stat(`${dirA}/node-password`)).mode! & 0o777, 0o600);
      assert.deepEqual((await loadCredentials(dirA))?.token, a.token);
      assert.deepEqual(a.caPem, server.caPem);
      const agentClientToken = (await Deno.readTextFile(`${server.dataDir}/agent-client-token`))
        .trim();
      assert.deepEqual(a.agentClientTokenSha256, await sha256Hex(agentClientToken));
      // The server keeps the node password's hash as k3s does.
      const pw = await api(
        server,
        "GET",
        "/api/v1/namespaces/kube-system/secrets/node-a.node-password.skiff",
      );
      assert.equal(pw.status, 200);

      for (const [name, data] of [["sa", "a"], ["sb", "b"]]) {
        const r = await api(server, "POST", "/api/v1/namespaces/default/secrets", {
          body: { apiVersion: "v1", kind: "Secret", metadata: { name }, data: { k: btoa(data) } },
        });
        assert.equal(r.status, 201);
      }
      for (const [name, node, secret] of [["pa", "node-a", "sa"], ["pb", "node-b", "sb"]]) {
        const r = await api(server, "POST", "/api/v1/namespaces/default/pods", {
          body: pod(name, node, secret),
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
      const asA = { ...server, token: a.token };
      const status = async (method: string, path: string, body?: unknown, contentType?: string) =>
        (await api(asA, method, path, { body, contentType })).status;

      // Its own pods: get, list by field selector, status, delete.
      assert.equal(await status("GET", "/api/v1/namespaces/default/pods/pa"), 200);
      const mine = await api(asA, "GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a");
      assert.equal(mine.status, 200);
      assert.deepEqual(
        mine.body.items.map((p: { metadata: { name: string } }) => p.metadata.name),
        [
          "pa",
        ],
      );
      assert.equal(
        await status(
          "PATCH",
          "/api/v1/namespaces/default/pods/pa/status",
          { status: { phase: "Pending" } },
          "application/merge-patch+json",
        ),
        200,
      );
      // Another node's pods: neither read nor changed.
      const other = await api(asA, "GET", "/api/v1/namespaces/default/pods/pb");
      assert.equal(other.status, 403);
      assert.equal(other.body.kind, "Status");
      assert.equal(other.body.reason, "Forbidden");
      assert.match(
        other.body.message,
        /User "system:node:node-a" cannot get resource "pods" in API group "" in the namespace "default"/,
      );
      // Lists and watches of every pod are allowed: NetworkPolicy peers may run on any node.
      assert.equal(await status("GET", "/api/v1/pods"), 200);
      assert.equal(
        await status(
          "PATCH",
          "/api/v1/namespaces/default/pods/pb/status",
          { status: { phase: "Failed" } },
          "application/merge-patch+json",
        ),
        403,
      );
      assert.equal(await status("DELETE", "/api/v1/namespaces/default/pods/pb"), 403);
      assert.equal(
        await status("POST", "/api/v1/namespaces/default/pods", pod("pc", "node-a", "sa")),
        403,
      );
      // Secrets: only those its pods reference.
      assert.equal(await status("GET", "/api/v1/namespaces/default/secrets/sa"), 200);
      assert.equal(await status("GET", "/api/v1/namespaces/default/secrets/sb"), 403);
      assert.equal(await status("GET", "/api/v1/namespaces/default/secrets"), 403);
      // Its own Node and Lease, not another's.
      const node = (name: string) => ({ apiVersion: "v1", kind: "Node", metadata: { name } });
      assert.equal(await status("POST", "/api/v1/nodes", node("node-a")), 201);
      assert.equal(await status("POST", "/api/v1/nodes", node("node-c")), 403);
      assert.equal(
        (await api(server, "POST", "/api/v1/nodes", { body: node("node-b") })).status,
        201,
      );
      assert.equal(
        await status(
          "PATCH",
          "/api/v1/nodes/node-b/status",
          { status: { phase: "Running" } },
          "application/merge-patch+json",
        ),
        403,
      );
      assert.equal(await status("DELETE", "/api/v1/nodes/node-a"), 403);
      const lease = (name: string) => ({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace: "kube-node-lease" },
        spec: { holderIdentity: name },
      });
      const leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
      assert.equal(await status("POST", leases, lease("node-a")), 201);
      assert.equal(await status("POST", leases, lease("node-b")), 403);
      // What its proxy and event recorder need.
      assert.equal(await status("GET", "/api/v1/services"), 200);
      assert.equal(await status("GET", "/api/v1/endpoints"), 200);
      assert.equal(await status("GET", "/apis/discovery.k8s.io/v1/endpointslices"), 200);
      assert.equal(
        await status("POST", "/api/v1/namespaces/default/events", {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name: "pa.1" },
          involvedObject: { kind: "Pod", name: "pa", namespace: "default" },
          reason: "Test",
          message: "m",
        }),
        201,
      );
      // Node B may delete its pod (the agent's final grace-0 delete).
      assert.equal(
        (await api({ ...server, token: b.token }, "DELETE", "/api/v1/namespaces/default/pods/pb"))
          .status,
        200,
      );
      // No or bad credentials: 401.
      assert.equal((await api(server, "GET", "/api/v1/pods", { token: null })).status, 401);
      assert.equal((await api(server, "GET", "/api/v1/pods", { token: "skiff.x.y" })).status, 401);
      // A join token buys nothing but node credentials.
      const asJoin = await api(server, "GET", "/api/v1/namespaces/default/pods", {
        token: server.joinToken,
      });
      assert.equal(asJoin.status, 403);
    } finally {
      await Deno.remove(dirA, { recursive: true });
      await Deno.remove(dirB, { recursive: true });
    }
  });
});

Deno.test("a second machine claiming a joined node's name is refused; re-joining rotates the token", async () => {
  await withServer(async (server) => {
    const dir = await tempDir();
    const intruder = await tempDir();
    try {
      const first = await joinCluster({
        server: server.url,
        joinToken: server.joinToken,
        nodeName: "pi-1",
        dataDir: dir,
      });
      await assert.rejects(
        joinCluster({
          server: server.url,
          joinToken: server.joinToken,
          nodeName: "pi-1",
          dataDir: intruder,
        }),
        (e) => {
          assert.ok(e instanceof CredentialsError, String(e));
          assert.match(e.message, /Node password rejected: a node named "pi-1" already joined/);
          return true;
        },
      );
      assert.equal(await loadCredentials(intruder), undefined);
      // The rightful machine (same node password) joins again and gets a new token.
      const second = await joinCluster({
        server: server.url,
        joinToken: server.joinToken,
        nodeName: "pi-1",
        dataDir: dir,
      });
      assert.ok(second.token !== first.token);
      const path = "/api/v1/nodes/pi-1";
      assert.equal((await api(server, "GET", path, { token: first.token })).status, 401);
      assert.equal((await api(server, "GET", path, { token: second.token })).status, 404);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(intruder, { recursive: true });
    }
  });
});

Deno.test("deleting a Node releases its name: a new machine may then join as it", async () => {
  const server = await startTestServer();
  const dir = await tempDir();
  const newMachine = await tempDir();
  const join = (dataDir: string) =>
    joinCluster({ server: server.url, joinToken: server.joinToken, nodeName: "pi-9", dataDir });
  const secret = "/api/v1/namespaces/kube-system/secrets/pi-9.node-password.skiff";
  try {
    const first = await join(dir);
    const node = { apiVersion: "v1", kind: "Node", metadata: { name: "pi-9" } };
    const created = await api(server, "POST", "/api/v1/nodes", { body: node, token: first.token });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await assert.rejects(join(newMachine), /Node password rejected: a node named "pi-9"/);
    assert.equal((await api(server, "DELETE", "/api/v1/nodes/pi-9")).status, 200);
    await waitFor(
      "password released",
      async () => (await api(server, "GET", secret)).status === 404,
    );
    const second = await join(newMachine);
    assert.ok(second.token !== first.token);
    assert.equal((await api(server, "GET", secret)).status, 200, "the new machine's password");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(newMachine, { recursive: true });
  }
});

Deno.test("a join token naming another CA is refused before any secret is sent", async () => {
  await withServer(async (server) => {
    const dir = await tempDir();
    try {
      const { secret } = parseJoinToken(server.joinToken)!;
      const forged = formatJoinToken("ab".repeat(32), secret);
      await assert.rejects(
        joinCluster({ server: server.url, joinToken: forged, nodeName: "n1", dataDir: dir }),
        /the server's CA does not match the join token/,
      );
      assert.equal(await loadCredentials(dir), undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("skiff token: a created join token joins, a revoked one no longer does, joined nodes keep working", async () => {
  await withServer(async (server) => {
    const dirs = [await tempDir(), await tempDir()];
    try {
      const created = await skiff(["token", "create", "--data-dir", server.dataDir, "--ttl", "1h"]);
      assert.equal(created.code, 0, created.stderr);
      const token = created.stdout.trim();
      assert.ok(parseJoinToken(token), token);
      const id = token.split("::")[1].split(".")[1];
      const joined = await joinCluster({
        server: server.url,
        joinToken: token,
        nodeName: "n1",
        dataDir: dirs[0],
      });
      const listed = await skiff(["token", "list", "--data-dir", server.dataDir]);
      assert.equal(listed.code, 0);
      assert.match(listed.stdout, new RegExp(`^${id}\\s+join\\s`, "m"));
      assert.match(listed.stdout, /\snode\s+n1\s/);

      const revoked = await skiff(["token", "revoke", id, "--data-dir", server.dataDir]);
      assert.equal(revoked.code, 0, revoked.stderr);
      const e = await waitFor("the revoked token refused", async () => {
        try {
          await joinCluster({
            server: server.url,
            joinToken: token,
            nodeName: "n2",
            dataDir: dirs[1],
          });
          return undefined;
        } catch (e) {
          return e as Error;
        }
      });
      assert.match(e.message, /revoked/);
      assert.equal(
        (await api(server, "GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1", {
          token: joined.token,
        })).status,
        200,
      );
      const missing = await skiff(["token", "revoke", "nope", "--data-dir", server.dataDir]);
      assert.equal(missing.code, 1);
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
    }
  });
});

Deno.test("user tokens: view reads but cannot create or read secrets; edit cannot change nodes", async () => {
  await withServer(async (server) => {
    const make = async (role: string) => {
      const r = await skiff(["token", "create", "--role", role, "--data-dir", server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const view = { ...server, token: await make("view") };
    const edit = { ...server, token: await make("edit") };
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c1" } };
    assert.equal(
      (await waitFor("view token known", async () => {
        const r = await api(view, "GET", "/api/v1/namespaces/default/pods");
        return r.status === 200 && r;
      })).status,
      200,
    );
    const denied = await api(view, "POST", "/api/v1/namespaces/default/configmaps", { body: cm });
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /User "token:[0-9a-f]+" cannot create resource "configmaps"/);
    assert.equal((await api(view, "GET", "/api/v1/namespaces/default/secrets")).status, 403);
    assert.equal(
      (await api(edit, "POST", "/api/v1/namespaces/default/configmaps", { body: cm })).status,
      201,
    );
    assert.equal((await api(edit, "GET", "/api/v1/nodes")).status, 200);
    assert.equal(
      (await api(edit, "POST", "/api/v1/nodes", {
        body: { apiVersion: "v1", kind: "Node", metadata: { name: "x" } },
      })).status,
      403,
    );
  });
});

Deno.test({
  name: "kubectl uses the written kubeconfig over TLS",
  ignore: !haveKubectl(),
  fn: async () => {
    await withServer(async (server) => {
      const cacheDir = await tempDir();
      try {
        const r = await kubectl({ kubeconfigPath: server.kubeconfigPath, cacheDir }, [
          "get",
          "namespaces",
          "-o",
          "name",
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /namespace\/kube-system/);
      } finally {
        await Deno.remove(cacheDir, { recursive: true });
      }
    });
  },
});

Deno.test("bad flags are answered with one line and exit status 2", async () => {
  const cases: [string[], RegExp][] = [
    [["agent", "--bogus"], /^skiff agent: unknown flag: --bogus$/],
    [
      ["agent", "--server", "https://127.0.0.1:1", "--token", "t", "--node-name", "BAD"],
      /^skiff agent: invalid value "BAD" for --node-name: must be a DNS subdomain$/,
    ],
    [["server", "--listen", "nowhere"], /^skiff server: invalid value "nowhere" for --listen: /],
    [["token", "create", "--role", "boss"], /^skiff token: invalid value "boss" for --role/],
    [["token", "create", "--ttl", "soon"], /^skiff token: invalid value "soon" for --ttl/],
    [["token", "frobnicate"], /^skiff token: unknown subcommand "frobnicate"/],
    [["nonsense"], /^skiff: unknown command "nonsense"/],
    [["agent", "--proxy-mode", "kernel"], /^skiff agent: invalid value "kernel" for --proxy-mode/],
  ];
  for (const [args, pattern] of cases) {
    const r = await skiff(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  }
  for (const command of ["server", "agent", "up", "token", "token create"]) {
    const r = await skiff([...command.split(" "), "--help"]);
    assert.equal(r.code, 0, command);
    assert.match(r.stdout, /^Usage: skiff /);
  }
});

Deno.test("an agent started before its server keeps trying and joins once the server is up", async () => {
  const serverDir = await tempDir();
  const agentDir = await tempDir();
  // The first run binds a port of its own; the second comes back on it, where the agent waits.
  const first = await startTestServer({ dataDir: serverDir, controllers: false });
  const { url, joinToken } = first;
  const port = new URL(url).port;
  await first.stop();
  const ac = new AbortController();
  try {
    let retries = 0;
    const logger = new Logger({
      level: "warn",
      sink: (line) => {
        if (line.includes("cannot reach the server to join")) retries++;
      },
    });
    const joining = ensureNodeCredentials({
      server: url,
      joinToken,
      nodeName: "early",
      dataDir: agentDir,
      signal: ac.signal,
      logger,
    });
    // Not up yet: once the agent has tried and failed (its retry warning), nothing is stored.
    await waitFor("a failed join attempt", () => retries > 0);
    assert.equal(await loadCredentials(agentDir), undefined);
    const server = await startTestServer({
      dataDir: serverDir,
      listen: `127.0.0.1:${port}`,
      controllers: false,
    });
    try {
      const creds = await joining;
      assert.equal(creds.nodeName, "early");
      assert.equal(
        (await api(server, "GET", "/api/v1/nodes/early", { token: creds.token })).status,
        404,
      );
    } finally {
      await server.stop();
    }
  } finally {
    ac.abort();
    await Deno.remove(serverDir, { recursive: true });
    await Deno.remove(agentDir, { recursive: true });
  }
});
