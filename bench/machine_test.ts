import assert from "node:assert/strict";
import { HISTORY_MARKER, withHistory } from "./machine.ts";

Deno.test("withHistory() keeps a results file's history below the marker and replaces the rest", () => {
  const previous = `# Bench\n\nold table\n\n${HISTORY_MARKER}\n\n## Earlier run\n\nnotes\n`;
  assert.equal(
    withHistory("# Bench\n\nnew table\n", previous),
    `# Bench\n\nnew table\n\n${HISTORY_MARKER}\n\n## Earlier run\n\nnotes\n`,
  );
  assert.equal(
    withHistory("# Bench\n\nnew\n\n", "# Bench\n\nold, no history\n"),
    "# Bench\n\nnew\n",
  );
  assert.equal(withHistory("# Bench", undefined), "# Bench\n");
});
