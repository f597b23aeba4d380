import { assert, assertEquals } from "../../tests/assert.ts";
import { BoundedMap } from "./bounded_map.ts";

Deno.test("a bounded map evicts its oldest key when full and never grows past capacity", () => {
  const map = new BoundedMap<number, number>(3);
  for (let i = 0; i < 10; i++) map.set(i, i * 10);
  assertEquals(map.size, 3);
  assert(!map.has(6));
  assertEquals([map.get(7), map.get(8), map.get(9)], [70, 80, 90]);
});

Deno.test("a bounded map replaces a held key without evicting another", () => {
  const map = new BoundedMap<string, number>(2);
  map.set("a", 1).set("b", 2).set("a", 3);
  assertEquals([map.size, map.get("a"), map.get("b")], [2, 3, 2]);
});
