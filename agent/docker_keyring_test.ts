/** Tests of the pull-secret keyring: parsing both Secret types and the kubelet's lookup rules. */

import assert from "node:assert/strict";
import {
  DockerKeyring,
  imageRepository,
  PullSecretError,
  registryAuthHeader,
} from "./docker_keyring.ts";
import type { KeyValueSource } from "./pod_types.ts";

function secret(name: string, type: string, key: string, value: unknown): KeyValueSource {
  return {
    metadata: { name, namespace: "ns" },
    type,
    data: { [key]: btoa(typeof value === "string" ? value : JSON.stringify(value)) },
  } as KeyValueSource;
}
const json = (name: string, auths: Record<string, unknown>) =>
  secret(name, "kubernetes.io/dockerconfigjson", ".dockerconfigjson", { auths });
const cfg = (name: string, entries: Record<string, unknown>) =>
  secret(name, "kubernetes.io/dockercfg", ".dockercfg", entries);
const users = (keyring: DockerKeyring, image: string) =>
  keyring.lookup(image).map((a) => a.username);

Deno.test("imageRepository() normalises as Docker: library/, docker.io, tags and digests", () => {
  const cases: [string, string][] = [
    ["busybox", "docker.io/library/busybox"],
    ["busybox:1.36", "docker.io/library/busybox"],
    ["user/app:2", "docker.io/user/app"],
    ["index.docker.io/app", "docker.io/library/app"],
    ["docker.io/user/app", "docker.io/user/app"],
    ["127.0.7.2:5000/team/app:1", "127.0.7.2:5000/team/app"],
    ["localhost/app", "localhost/app"],
    ["ghcr.io/org/app@sha256:abc", "ghcr.io/org/app"],
    ["reg.example:5000/app:1@sha256:abc", "reg.example:5000/app"],
  ];
  for (const [image, repo] of cases) assert.equal(imageRepository(image), repo, image);
});

Deno.test("DockerKeyring.lookup() matches host, port and path prefix, most specific first", () => {
  const keyring = DockerKeyring.fromSecrets([
    json("a", {
      "https://reg.example": { username: "host" },
      "reg.example/team": { username: "team" },
      "reg.example/team/app": { username: "app" },
      "reg.example:5000": { username: "port" },
      "http://*.cdn.example/v2/": { username: "glob" },
      "r[0-9].example": { username: "class" },
    }),
    cfg("b", { "reg.example": { username: "second" } }),
  ]);
  const cases: [string, string[]][] = [
    ["reg.example/team/app:1", ["app", "team", "host", "second"]],
    ["reg.example/team/other", ["team", "host", "second"]],
    // The path is a string prefix, as in the kubelet: team matches teamwork.
    ["reg.example/teamwork/x", ["team", "host", "second"]],
    ["reg.example/other", ["host", "second"]],
    ["reg.example:5000/app", ["port"]],
    ["reg.example:5001/app", []],
    ["eu.cdn.example/app", ["glob"]],
    ["a.eu.cdn.example/app", []],
    ["other.example/app", []],
    ["r7.example/app", ["class"]],
    ["rx.example/app", []],
    ["busybox", []],
  ];
  for (const [image, expected] of cases) assert.deepEqual(users(keyring, image), expected, image);
});

Deno.test("DockerKeyring: Docker Hub credentials serve docker.io and index.docker.io images", () => {
  const hub = DockerKeyring.fromSecrets([
    json("hub", { "https://index.docker.io/v1/": { username: "hub" } }),
  ]);
  for (const image of ["busybox", "user/app:1", "docker.io/user/app", "index.docker.io/app"]) {
    assert.deepEqual(users(hub, image), ["hub"], image);
  }
  assert.deepEqual(users(hub, "ghcr.io/user/app"), []);
  const short = DockerKeyring.fromSecrets([json("d", { "docker.io": { username: "d" } })]);
  assert.deepEqual(users(short, "busybox"), ["d"]);
  assert.deepEqual(users(short, "index.docker.io/user/app"), ["d"]);
});

Deno.test("DockerKeyring: auth (base64, padded or not) wins over username/password", () => {
  const keyring = DockerKeyring.fromSecrets([
    json("a", {
      "r1.example": { auth: btoa("alice:pa:ss"), username: "ignored", password: "x" },
      "r2.example": { auth: btoa("bob:pw1").replace(/=+$/, "") },
      "r3.example": { username: "carol", password: "pw", email: "c@example" },
    }),
  ]);
  const [a] = keyring.lookup("r1.example/app");
  assert.deepEqual([a.username, a.password], ["alice", "pa:ss"]);
  const [b] = keyring.lookup("r2.example/app");
  assert.deepEqual([b.username, b.password], ["bob", "pw1"]);
  const [c] = keyring.lookup("r3.example/app");
  assert.deepEqual([c.username, c.password, c.email], ["carol", "pw", "c@example"]);
});

Deno.test("DockerKeyring.fromSecrets() skips other types and refuses unreadable credentials", () => {
  const skipped = DockerKeyring.fromSecrets([
    secret("o", "Opaque", ".dockerconfigjson", { auths: { "r.example": { username: "o" } } }),
    // The key of the other type does not count.
    secret("x", "kubernetes.io/dockercfg", ".dockerconfigjson", { "r.example": {} }),
  ]);
  assert.deepEqual(skipped.lookup("r.example/app"), []);
  assert.throws(
    () => DockerKeyring.fromSecrets([json("bad", { "r.example": { auth: btoa("nocolon") } })]),
    (e) =>
      e instanceof PullSecretError &&
      e.message ===
        "cannot read the registry credentials of Secret ns/bad: unable to parse auth field, must be formatted as base64(username:password)",
  );
  assert.throws(
    () => DockerKeyring.fromSecrets([cfg("arr", [] as unknown as Record<string, unknown>)]),
    PullSecretError,
  );
});

Deno.test("registryAuthHeader() is Docker's base64url JSON of the credential", () => {
  const header = registryAuthHeader({
    username: "ü?>",
    password: "p",
    serverAddress: "r.example",
  });
  assert.doesNotMatch(header, /[+/]/);
  const decoded = new TextDecoder().decode(
    Uint8Array.from(atob(header.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0)),
  );
  assert.deepEqual(JSON.parse(decoded), {
    username: "ü?>",
    password: "p",
    serveraddress: "r.example",
  });
});
