import { assert, assertEquals } from "../_assert_test_util.ts";
import { findResource } from "../api/resources.ts";
import * as refs from "./refs.ts";

Deno.test("every client ResourceRef matches the kind the server serves", () => {
  const entries = Object.entries(refs);
  assertEquals(entries.length, 30);
  for (const [name, ref] of entries) {
    const served = findResource(ref.group, ref.version, ref.plural);
    assert(served, `${name}: ${ref.group}/${ref.version}/${ref.plural} is not served`);
    assertEquals(
      { kind: ref.kind, namespaced: ref.namespaced },
      { kind: served.kind, namespaced: served.namespaced },
      name,
    );
  }
});
