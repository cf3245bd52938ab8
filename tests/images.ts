/**
 * Builds the container images the tests use, locally and once: Docker Hub is out of reach, so a
 * root filesystem is assembled from Debian's static busybox (`/bin/busybox`) and imported with
 * `docker import`. Two images come out of it: `skiff.local/busybox:1` (a shell, httpd serving
 * `/www`) and `skiff.local/pause:1` (waits forever, exits at once on SIGTERM). Safe to call from
 * several test files at the same time: building twice gives the same image under the same tag.
 */

import { PAUSE_COMMAND } from "../agent/pause_image.ts";

/** Tags of the locally built test images. */
export interface TestImages {
  /** busybox with every applet linked, `/www/index.html`, `/etc/passwd`; CMD `/bin/sh`. */
  busybox: string;
  /** The pod infra image: sleeps until SIGTERM/SIGINT, then exits 0. */
  pause: string;
}

/** The tags {@linkcode ensureTestImages} builds. */
export const TEST_IMAGES: TestImages = {
  busybox: "skiff.local/busybox:1",
  pause: "skiff.local/pause:1",
};

/** The text `/www/index.html` serves in the busybox image. */
export const INDEX_HTML = "hello from skiff\n";

async function run(
  cmd: string[],
  options: { stdin?: Uint8Array; allowFail?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const w = child.stdin.getWriter();
    await w.write(options.stdin);
    await w.close();
  }
  const out = await child.output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (result.code !== 0 && !options.allowFail) {
    throw new Error(`${cmd.join(" ")} failed (${result.code}): ${result.stderr.trim()}`);
  }
  return result;
}

/** True when Docker has an image with this reference. */
export async function imageExists(ref: string): Promise<boolean> {
  const r = await run(["docker", "image", "inspect", ref], { allowFail: true });
  return r.code === 0;
}

async function findBusybox(): Promise<string> {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) {
    try {
      const st = await Deno.stat(p);
      if (st.isFile) return p;
    } catch { /* next */ }
  }
  const apt = await run(["sh", "-c", "apt-get install -y -qq busybox-static"], { allowFail: true });
  if (apt.code === 0) return "/bin/busybox";
  throw new Error(
    "tests need Debian's busybox-static (/bin/busybox): apt-get install -y busybox-static",
  );
}

async function buildRootfs(busybox: string): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "skiff-rootfs-" });
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "www", "tmp", "root", "proc"]) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  await Deno.copyFile(busybox, `${root}/bin/busybox`);
  await Deno.chmod(`${root}/bin/busybox`, 0o755);
  await Deno.chmod(`${root}/tmp`, 0o1777);
  // Link every applet the way `busybox --install -s` would, but relative to the new root.
  const list = await run([busybox, "--list-full"]);
  for (const path of list.stdout.split("\n").map((s) => s.trim()).filter(Boolean)) {
    if (path === "bin/busybox") continue;
    try {
      await Deno.symlink("/bin/busybox", `${root}/${path}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  await Deno.writeTextFile(
    `${root}/etc/passwd`,
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
  );
  await Deno.writeTextFile(`${root}/etc/group`, "root:x:0:\nnogroup:x:65534:\n");
  await Deno.writeTextFile(`${root}/www/index.html`, INDEX_HTML);
  return root;
}

async function importRootfs(root: string, tag: string, cmd: string[]): Promise<void> {
  const tar = await run([
    "sh",
    "-c",
    `tar -C '${root}' -c . | docker import --change '${
      `CMD ${JSON.stringify(cmd)}`.replaceAll("'", "'\\''")
    }' - ${tag}`,
  ]);
  if (tar.code !== 0) throw new Error(tar.stderr);
}

let building: Promise<TestImages> | undefined;

/**
 * Makes sure both test images exist in the local Docker engine, building them when missing.
 * Idempotent and safe across concurrent callers (in-process and across test processes).
 */
export function ensureTestImages(): Promise<TestImages> {
  building ??= (async () => {
    const [hasBusybox, hasPause] = await Promise.all([
      imageExists(TEST_IMAGES.busybox),
      imageExists(TEST_IMAGES.pause),
    ]);
    if (hasBusybox && hasPause) return TEST_IMAGES;
    const root = await buildRootfs(await findBusybox());
    try {
      if (!hasBusybox) await importRootfs(root, TEST_IMAGES.busybox, ["/bin/sh"]);
      if (!hasPause) await importRootfs(root, TEST_IMAGES.pause, PAUSE_COMMAND);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
    return TEST_IMAGES;
  })();
  building.catch(() => building = undefined);
  return building;
}

/** Writes `docker save` of `image` to `path` (a `.tar`; gzipped when `path` ends in `.gz`). */
export async function saveImageTarball(image: string, path: string): Promise<void> {
  if (path.endsWith(".gz")) {
    await run(["sh", "-c", `docker save '${image}' | gzip -1 > '${path}'`]);
  } else {
    await run(["docker", "save", "-o", path, image]);
  }
}

/**
 * Makes a tarball holding the busybox test image under a new reference `ref` that Docker does
 * NOT have afterwards (the tag is removed after saving): loading the tarball is then the only way
 * a pod using `ref` can start — the air-gapped image-directory scenario.
 */
export async function makeMissingImageTarball(ref: string, path: string): Promise<void> {
  const images = await ensureTestImages();
  await run(["docker", "tag", images.busybox, ref]);
  try {
    await saveImageTarball(ref, path);
  } finally {
    await removeImage(ref);
  }
}

/** Removes an image tag (no error when it's absent). */
export async function removeImage(ref: string): Promise<void> {
  await run(["docker", "rmi", ref], { allowFail: true });
}

/** Options of {@linkcode buildWebImage}. */
export interface WebImageOptions {
  /** Serve the container's hostname (the pod name) instead of {@linkcode INDEX_HTML}. */
  pageIsHostname?: boolean;
}

/**
 * Tags a web server image `ref` built from the busybox test image, whose default command serves
 * `/www` on port 80 with busybox httpd (like nginx's image would) and exits at once on SIGTERM
 * (httpd as PID 1 would ignore it and hold every pod deletion for its whole grace period).
 * Built with `docker commit --change CMD`, so it shares the busybox image's only layer.
 */
export async function buildWebImage(ref: string, options: WebImageOptions = {}): Promise<void> {
  const images = await ensureTestImages();
  const page = options.pageIsHostname ? "hostname > /www/index.html; " : "";
  const script = `${page}httpd -p 80 -h /www; trap 'exit 0' TERM INT; ` +
    "while :; do sleep 3600 & wait $!; done";
  const name = `skiff-build-${crypto.randomUUID().slice(0, 8)}`;
  await run(["docker", "create", "--name", name, images.busybox]);
  try {
    await run([
      "docker",
      "commit",
      "--change",
      `CMD ${JSON.stringify(["/bin/sh", "-c", script])}`,
      name,
      ref,
    ]);
  } finally {
    await run(["docker", "rm", "-f", name], { allowFail: true });
  }
}
