/** Tests of pull policies, pull back-off and the images directory, against the real engine. */

import assert from "node:assert/strict";
import { ensureTestImages, makeMissingImageTarball, removeImage } from "../tests/images.ts";
import { DockerRuntime } from "./docker_runtime.ts";
import { ImageManager, pullPolicy } from "./image_manager.ts";

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
