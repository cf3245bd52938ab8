/**
 * The cluster's certificates, made on first start with @peculiar/x509 on WebCrypto and kept in
 * `<data-dir>/tls/` (keys mode 0600): a CA (ECDSA P-256, 10 years) and the API server's serving
 * certificate signed by it, whose SANs are the hostname, the node address, 127.0.0.1, localhost
 * and any `--tls-san` extras. Restarts reuse them; the serving certificate is re-issued (same CA)
 * when the wanted SANs change. The CA's SHA-256 goes into join tokens so that agents can trust the
 * server on first contact.
 */
import * as x509 from "@peculiar/x509";
import { sha256Hex } from "../shared/crypto_util.ts";
import { writePrivateFile } from "./kubeconfig.ts";

x509.cryptoProvider.set(crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

/** PEM texts the server serves and hands out. */
export interface Pki {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** SHA-256 (hex) of `caPem`, as carried in join tokens. */
  caHash: string;
}

/** Loads or creates the CA and the serving certificate for `sans`. */
export async function ensurePki(dir: string, sans: string[]): Promise<Pki> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await loadOrCreateCa(dir);
  const wanted = [...new Set(sans)].sort();
  let certPem = await readIfExists(`${dir}/server.crt`);
  let keyPem = await readIfExists(`${dir}/server.key`);
  const current = (await readIfExists(`${dir}/server.sans`))?.trim();
  if (!certPem || !keyPem || current !== wanted.join(",")) {
    ({ certPem, keyPem } = await issueServing(ca, wanted));
    await Deno.writeTextFile(`${dir}/server.crt`, certPem);
    await writePrivateFile(`${dir}/server.key`, keyPem);
    await Deno.writeTextFile(`${dir}/server.sans`, wanted.join(",") + "\n");
  }
  return { caPem: ca.pem, certPem, keyPem, caHash: await sha256Hex(ca.pem) };
}

/** The cluster CA, loaded with its signing key. */
export interface Ca {
  pem: string;
  cert: x509.X509Certificate;
  key: CryptoKey;
}

/** Loads the CA in `dir` (`ca.crt`, `ca.key`), creating it on first use. */
export async function loadOrCreateCa(dir: string): Promise<Ca> {
  const pem = await readIfExists(`${dir}/ca.crt`);
  const keyPem = await readIfExists(`${dir}/ca.key`);
  if (pem && keyPem) {
    const key = await crypto.subtle.importKey(
      "pkcs8",
      x509.PemConverter.decodeFirst(keyPem),
      ALG,
      false,
      ["sign"],
    );
    return { pem, cert: new x509.X509Certificate(pem), key };
  }
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=skiff-ca@${Math.floor(now / 1000)}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * DAY_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString("pem") + "\n";
  const exported = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  await writePrivateFile(`${dir}/ca.key`, x509.PemConverter.encode(exported, "PRIVATE KEY") + "\n");
  await Deno.writeTextFile(`${dir}/ca.crt`, certPem);
  return { pem: certPem, cert, key: keys.privateKey };
}

function issueServing(ca: Ca, sans: string[]): Promise<{ certPem: string; keyPem: string }> {
  return issueCertificate(ca, { subject: "CN=skiff-apiserver", sans, serverAuth: true });
}

/**
 * A leaf certificate (ECDSA P-256, 825 days) signed by the CA, for TLS servers and/or clients
 * (managed etcd's member and client certificates use it too).
 */
export async function issueCertificate(
  ca: Ca,
  o: { subject: string; sans: string[]; serverAuth?: boolean; clientAuth?: boolean },
): Promise<{ certPem: string; keyPem: string }> {
  const sans = o.sans;
  const usages = [
    ...(o.serverAuth ? [x509.ExtendedKeyUsage.serverAuth] : []),
    ...(o.clientAuth ? [x509.ExtendedKeyUsage.clientAuth] : []),
  ];
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const now = Date.now();
  const names = sans.map((s) =>
    /^[\d.]+$/.test(s) || s.includes(":")
      ? { type: "ip" as const, value: s }
      : { type: "dns" as const, value: s }
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: o.subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 825 * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  const exported = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: x509.PemConverter.encode(exported, "PRIVATE KEY") + "\n",
  };
}

function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // a positive serial number
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}
