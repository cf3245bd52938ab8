/** Tests of pull policies, pull back-off and the images directory, against the real engine. */

import assert from "node:assert/strict";
import { ensureTestImages, makeMissingImageTarball, removeImage } from "../tests/images.ts";
import { DockerRuntime } from "./docker_runtime.ts";
import { ImageManager, type ImageRuntime, pullPolicy } from "./image_manager.ts";
import { DockerKeyring } from "./docker_keyring.ts";
import type { KeyValueSource } from "./pod_types.ts";

Deno.test("pullPolicy() defaults as Kubernetes: Always for :latest or untagged", () => {
  assert.equal(pullPolicy({ name: "c", image: "busybox" }), "Always");
  assert.equal(pullPolicy({ name: "c", image: "busybox:latest" }), "Always");
  assert.equal(pullPolicy({ name: "c", image: "localhost:5000/busybox" }), "Always");
  assert.equal(pullPolicy({ name: "c", image: "busybox:1.36" }), "IfNotPresent");
  assert.equal(pullPolicy({ name: "c", image: "localhost:5000/b@sha256:abc" }), "IfNotPresent");
  assert.equal(pullPolicy({ name: "c", image: "busybox", imagePullPolicy: "Never" }), "Never");
});

Deno.test("ImageManager: present images run, missing ones back off, Never never pulls", async () => {
  const images = await ensureTestImages();
  const rt = new DockerRuntime({ nodeName: "images-test" });
  const im = new ImageManager(rt, { backoffInitialMs: 60_000 });
  assert.deepEqual(await im.ensure("u/a", { name: "a", image: images.busybox }), {
    ok: true,
    pulled: false,
    durationMs: 0,
  });
  const missing = { name: "b", image: "127.0.0.1:1/nope/missing:1" };
  const first = await im.ensure("u/b", missing);
  assert.equal(first.ok, false);
  assert.equal(!first.ok && first.reason, "ErrImagePull");
  const second = await im.ensure("u/b", missing);
  assert.equal(!second.ok && second.reason, "ImagePullBackOff");
  assert.match(
    !second.ok ? second.message : "",
    /^Back-off pulling image ".*": .*connection refused/,
  );
  im.resetBackoff();
  assert.equal((await im.ensure("u/b", missing) as { reason: string }).reason, "ErrImagePull");
  const never = await im.ensure("u/c", { ...missing, imagePullPolicy: "Never" });
  assert.equal(!never.ok && never.reason, "ErrImageNeverPull");
});

Deno.test("ImageManager.watchImageDir() loads tarballs present at start and added later", async () => {
  const rt = new DockerRuntime({ nodeName: "images-test" });
  const im = new ImageManager(rt);
  const dir = await Deno.makeTempDir();
  const stash = await Deno.makeTempDir();
  const tag = crypto.randomUUID().slice(0, 8);
  const early = `skiff.local/early-${tag}:1`;
  const late = `skiff.local/late-${tag}:1`;
  const ac = new AbortController();
  try {
    await makeMissingImageTarball(early, `${dir}/early.tar`);
    await makeMissingImageTarball(late, `${stash}/late.tar.gz`);
    const loaded: string[] = [];
    let wake!: () => void;
    let next = new Promise<void>((r) => wake = r);
    const watching = im.watchImageDir(dir, ac.signal, (refs) => {
      loaded.push(...refs);
      wake();
      next = new Promise<void>((r) => wake = r);
    });
    await next;
    assert.deepEqual(loaded, [early]);
    await Deno.copyFile(`${stash}/late.tar.gz`, `${dir}/late.tar.gz`);
    await next;
    assert.deepEqual(loaded, [early, late]);
    assert(await rt.inspectImage(late));
    ac.abort();
    await watching;
  } finally {
    ac.abort();
    await removeImage(early);
    await removeImage(late);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(stash, { recursive: true });
  }
});

/** A runtime whose registry accepts only `good` (or anonymous pulls when `open`). */
function fakeRegistry(options: { good?: string; open?: boolean; present?: string[] }) {
  const present = new Set(options.present ?? []);
  const pulls: (string | undefined)[] = [];
  const rt: ImageRuntime = {
    inspectImage: (ref) => Promise.resolve(present.has(ref) ? {} as never : undefined),
    loadImage: () => Promise.resolve([]),
    pullImage(ref, opts = {}) {
      const user = opts.registryAuth
        ? JSON.parse(atob(opts.registryAuth.replaceAll("-", "+").replaceAll("_", "/"))).username
        : undefined;
      pulls.push(user);
      if (user === undefined ? options.open : user === options.good) {
        present.add(ref);
        return Promise.resolve();
      }
      return Promise.reject(new Error(`pull image ${ref}: unauthorized as ${user ?? "anonymous"}`));
    },
  };
  return { rt, pulls };
}

const keyringOf = (auths: Record<string, unknown>) => () =>
  Promise.resolve(DockerKeyring.fromSecrets([{
    metadata: { name: "pull", namespace: "ns" },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": btoa(JSON.stringify({ auths })) },
  } as KeyValueSource]));

Deno.test("ImageManager pulls with each matching pull-secret credential, anonymously only without one", async () => {
  const image = "reg.example:5000/team/app:1";
  const container = { name: "c", image };
  // Two credentials match: the first fails, the second works.
  const two = fakeRegistry({ good: "right" });
  const ok = await new ImageManager(two.rt).ensure("u/c", container, {
    keyring: keyringOf({
      "reg.example:5000/team": { username: "wrong", password: "x" },
      "reg.example:5000": { username: "right", password: "y" },
    }),
  });
  assert.equal(ok.ok, true);
  assert.deepEqual(two.pulls, ["wrong", "right"]);

  // Every credential fails: no anonymous attempt, and the message lists each error.
  const none = fakeRegistry({ good: "other", open: true });
  const failed = await new ImageManager(none.rt).ensure("u/c", container, {
    keyring: keyringOf({
      "reg.example:5000/team": { username: "a", password: "x" },
      "reg.example:5000": { username: "b", password: "y" },
    }),
  });
  assert.deepEqual(none.pulls, ["a", "b"]);
  assert.deepEqual(failed, {
    ok: false,
    reason: "ErrImagePull",
    message: `[pull image ${image}: unauthorized as a, pull image ${image}: unauthorized as b]`,
    retryInMs: 10_000,
  });

  // Credentials for another registry do not apply: the pull is anonymous.
  const anon = fakeRegistry({ open: true });
  const other = await new ImageManager(anon.rt).ensure("u/c", container, {
    keyring: keyringOf({ "other.example": { username: "o", password: "x" } }),
  });
  assert.equal(other.ok, true);
  assert.deepEqual(anon.pulls, [undefined]);
});

Deno.test("ImageManager reads pull secrets only when it pulls: a present image under IfNotPresent runs", async () => {
  const image = "reg.example/app:1";
  const reg = fakeRegistry({ present: [image] });
  let asked = 0;
  const keyring = () => {
    asked++;
    return Promise.reject(new Error("cannot read the registry credentials of Secret ns/pull"));
  };
  const im = new ImageManager(reg.rt);
  assert.equal((await im.ensure("u/c", { name: "c", image }, { keyring })).ok, true);
  assert.equal(asked, 0);
  // A missing image must be pulled: an unreadable pull secret fails the pull with its message.
  const always = await im.ensure("u/d", { name: "d", image: "reg.example/b:1" }, { keyring });
  assert.equal(asked, 1);
  assert.equal(!always.ok && always.reason, "ErrImagePull");
  assert.equal(
    !always.ok && always.message,
    "cannot read the registry credentials of Secret ns/pull",
  );
  assert.deepEqual(reg.pulls, []);
});

Deno.test("ImageManager under Always runs a present image only when no registry could be reached", async () => {
  const image = "reg.example/app:latest";
  const refusing = fakeRegistry({ present: [image] });
  const refused = await new ImageManager(refusing.rt).ensure("u/c", { name: "c", image });
  assert.equal(!refused.ok && refused.reason, "ErrImagePull");
  assert.equal(!refused.ok && refused.message, `pull image ${image}: unauthorized as anonymous`);

  const unreachable: ImageRuntime = {
    ...fakeRegistry({ present: [image] }).rt,
    pullImage: (ref) =>
      Promise.reject(
        new Error(`pull image ${ref}: dial tcp 127.0.0.1:1: connect: connection refused`),
      ),
  };
  assert.deepEqual(await new ImageManager(unreachable).ensure("u/c", { name: "c", image }), {
    ok: true,
    pulled: false,
    durationMs: 0,
  });
});
