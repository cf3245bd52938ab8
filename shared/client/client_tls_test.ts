/**
 * The client's TLS branch: with `caData` it trusts a server certificate signed by that CA (the
 * cluster's own CA, as the cluster-setup issue will create), and without it the same server is
 * refused. Certificates are made fresh with openssl in a temp dir.
 */
import assert from "node:assert/strict";
import { ApiClient } from "./client.ts";
import { PODS } from "./refs.ts";

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A CA and a server certificate for 127.0.0.1 signed by it. */
async function makeCerts(dir: string) {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=skiff-test-ca",
  ]);
  await openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
  ]);
  return {
    ca: await Deno.readTextFile(`${dir}/ca.crt`),
    cert: await Deno.readTextFile(`${dir}/server.crt`),
    key: await Deno.readTextFile(`${dir}/server.key`),
  };
}

Deno.test("ApiClient with caData talks TLS to a server signed by that CA; without it, is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "skiff-tls-" });
  try {
    const { ca, cert, key } = await makeCerts(dir);
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert, key, onListen: () => {} },
      () =>
        Response.json({
          apiVersion: "v1",
          kind: "PodList",
          metadata: { resourceVersion: "7" },
          items: [],
        }),
    );
    const url = `https://127.0.0.1:${server.addr.port}`;
    const trusting = new ApiClient({ server: url, caData: ca });
    const plain = new ApiClient({ server: url });
    try {
      const list = await trusting.list(PODS);
      assert.equal(list.metadata.resourceVersion, "7");
      await assert.rejects(plain.list(PODS), TypeError, "a TLS failure");
    } finally {
      trusting.close();
      plain.close();
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
