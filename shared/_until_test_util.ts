/**
 * Polling for unit tests: wait until a condition holds, bounded so that a hang fails the test
 * instead of stalling it. (Integration tests in tests/ have `waitFor` in tests/test_utils.ts.)
 */

/**
 * Polls `check` every 5 ms until it is true; throws after 1,000 polls or 5 s, whichever comes
 * first (a hang, not a timing).
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
