/**
 * Ingress end to end: a node (real agent on Docker) serves an Ingress made with the real kubectl
 * on its address; curl with `--resolve` reaches two Services by host and path, TLS picks the
 * Secret's certificate by SNI, a streamed (CGI) response arrives in pieces, a Service without
 * endpoints answers 503 and an unknown host 404, and `kubectl get ingress` shows the node's
 * address.
 */
import assert from "node:assert/strict";
import { startTestCluster, type TestCluster } from "./cluster.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk, parseTable, rowNamed, waitKubectl } from "./kubectl_helpers.ts";
import { freePort } from "./server_process.ts";
import { randomServiceCidr, waitFor } from "./test_utils.ts";

const NODE = "127.0.0.47";

async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: p.code, out: d.decode(p.stdout), err: d.decode(p.stderr) };
}

/** A pod serving `text` at / and a CGI stream at /cgi-bin/stream, behind Service `name`. */
function app(name: string, text: string, image: string): string {
  const script = [
    `mkdir -p /www/cgi-bin /www/${name}`,
    `echo ${text} > /www/index.html`,
    `echo ${text} > /www/${name}/index.html`,
    "printf '#!/bin/sh\\necho Content-Type: text/event-stream\\necho\\necho data: one\\necho\\n" +
    "sleep 3\\necho data: two\\necho\\n' > /www/cgi-bin/stream",
    "chmod +x /www/cgi-bin/stream",
    "exec httpd -f -p 8080 -h /www",
  ].join(" && ");
  return `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: ${image}
    command: ["/bin/sh", "-c", ${JSON.stringify(script)}]
    ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{name: web, port: 80, targetPort: http}]
`;
}

Deno.test({
  name: "Ingress: hosts, paths, TLS by SNI, streaming, 503/404 and ADDRESS through a node",
  ignore: !haveKubectl(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const http = freePort(NODE);
    const https = freePort(NODE);
    const cluster: TestCluster = await startTestCluster({
      nodeAddresses: [NODE],
      serviceCidr: randomServiceCidr(),
      ingress: { httpPort: http, httpsPort: https },
    });
    const dir = await Deno.makeTempDir({ prefix: "skiff-ingress-" });
    try {
      const k = cluster.kubectl;
      await Deno.writeTextFile(
        `${dir}/apps.yaml`,
        app("alpha", "from-alpha", cluster.images.busybox) +
          "---" + app("beta", "from-beta", cluster.images.busybox) +
          `---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
`,
      );
      await kubectlOk(k, ["apply", "-f", `${dir}/apps.yaml`]);
      // Self-signed certificates for first.test and secure.test, in kubernetes.io/tls Secrets;
      // first.test's is listed first, so it is also the one served without a matching name.
      for (const host of ["first", "secure"]) {
        const openssl = await new Deno.Command("openssl", {
          args: [
            ..."req -x509 -newkey rsa:2048 -nodes -days 1".split(" "),
            ...["-keyout", `${dir}/${host}.key`, "-out", `${dir}/${host}.crt`],
            ...["-subj", `/CN=${host}.test`, "-addext", `subjectAltName=DNS:${host}.test`],
          ],
          stderr: "null",
        }).output();
        assert.equal(openssl.code, 0);
        await kubectlOk(k, [
          ...["create", "secret", "tls", `${host}-tls`],
          `--cert=${dir}/${host}.crt`,
          `--key=${dir}/${host}.key`,
        ]);
      }
      await kubectlOk(k, [
        "create",
        "ingress",
        "web",
        "--rule=a.test/*=alpha:80",
        "--rule=b.test/beta*=beta:web",
        "--rule=b.test/gone=empty:80",
        "--rule=first.test/*=alpha:80,tls=first-tls",
        "--rule=secure.test/*=beta:80,tls=secure-tls",
      ]);

      const at = (host: string, port = http) => [
        "--resolve",
        `${host}:${port}:${NODE}`,
      ];
      await waitFor("alpha through the ingress", async () => {
        const r = await curl([...at("a.test"), `http://a.test:${http}/`]);
        return r.out.trim() === "from-alpha" || undefined;
      }, { timeoutMs: 60_000 });
      await waitFor("beta through the ingress", async () => {
        const r = await curl([...at("b.test"), `http://b.test:${http}/beta/index.html`]);
        return r.out.trim() === "from-beta" || undefined;
      }, { timeoutMs: 60_000 });

      // b.test/ matches no path of b.test and there is no default backend: 404.
      const none = await curl([
        ...at("b.test"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        `http://b.test:${http}/other`,
      ]);
      assert.equal(none.out, "404");
      const unknown = await curl([
        ...at("c.test"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        `http://c.test:${http}/`,
      ]);
      assert.equal(unknown.out, "404");
      const empty = await curl([
        ...at("b.test"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        `http://b.test:${http}/gone`,
      ]);
      assert.equal(empty.out, "503");

      // TLS: each host gets its own Secret's certificate, chosen by SNI (curl verifies it
      // against that certificate alone).
      const tls = (host: string) =>
        curl([
          ...at(`${host}.test`, https),
          ...["--cacert", `${dir}/${host}.crt`],
          `https://${host}.test:${https}/`,
        ]);
      const secure = await waitFor("TLS through the ingress", async () => {
        const r = await tls("secure");
        return r.code === 0 ? r : undefined;
      }, { timeoutMs: 30_000 });
      const first = await tls("first");
      assert.equal(first.code, 0, first.err);
      assert.equal(first.out.trim(), "from-alpha");
      assert.equal(secure.out.trim(), "from-beta");

      // Streaming: the first event arrives while the CGI script still sleeps before the second.
      const started = performance.now();
      const res = await fetch(`http://${NODE}:${http}/cgi-bin/stream`, {
        headers: { host: "a.test" },
        client: Deno.createHttpClient({ allowHost: true }),
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      let head = "";
      while (!head.includes("data: one")) {
        const { value, done } = await reader.read();
        if (done) break;
        head += new TextDecoder().decode(value);
      }
      const firstAt = performance.now() - started;
      let rest = "";
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      const allAt = performance.now() - started;
      assert.ok(head.includes("data: one") && rest.includes("data: two"), head + rest);
      assert.ok(allAt - firstAt > 2000, `first event at ${firstAt} ms, end at ${allAt} ms`);

      // The ingress's address is the node's.
      const out = await waitKubectl(k, ["get", "ingress", "web"], (s) => s.includes(NODE));
      const row = rowNamed(parseTable(out), "web");
      assert.equal(row.ADDRESS, NODE);
      assert.equal(row.CLASS, "skiff");
      assert.equal(row.PORTS, "80, 443");
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await cluster.stop();
    }
  },
});
