/**
 * Writing a file so that a reader, or a restart after a power cut, finds the old content or the
 * new one, never half: a temporary file beside it, fsync'd, given its exact mode, then renamed
 * over it. Node state (agent/informer_snapshot.ts, object_cache.ts) and the server's credentials
 * (the ServiceAccount signing key, the files servers share) are written this way.
 */

/** Writes `text` to `path` atomically: a reader sees the old file or the new one, never half. */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode });
  try {
    const data = new TextEncoder().encode(text);
    let off = 0;
    while (off < data.length) off += await file.write(data.subarray(off));
    // The rename must not reach the disk before the data (a power cut on a Pi).
    await file.syncData();
  } finally {
    file.close();
  }
  // `mode` on open is masked by the umask; set it exactly.
  await Deno.chmod(tmp, mode);
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
