import assert from "node:assert/strict";
import { findResource } from "../api/resources.ts";
import * as refs from "./refs.ts";

Deno.test("every client ResourceRef matches the kind the server serves", () => {
  const entries = Object.entries(refs);
  assert.equal(entries.length, 34);
  for (const [name, ref] of entries) {
    const served = findResource(ref.group, ref.version, ref.plural);
    assert.ok(served, `${name}: ${ref.group}/${ref.version}/${ref.plural} is not served`);
    assert.deepEqual(
      { kind: ref.kind, namespaced: ref.namespaced },
      { kind: served.kind, namespaced: served.namespaced },
      name,
    );
  }
});
