import { assertEquals } from "../../tests/assert.ts";
import { largest, TopCounts } from "./top_counts.ts";

Deno.test("the most counted keys stay when rare ones crowd the table", () => {
  const counts = new TopCounts(3);
  for (let round = 0; round < 50; round++) {
    counts.add("hot");
    if (round % 2 === 0) counts.add("warm");
    counts.add(`rare-${round}`);
  }
  const top = counts.top(2);
  assertEquals(top, [["hot", 50], ["warm", 25]]);
  // Never more than twice the capacity held, however many keys came.
  assertEquals(Object.keys(counts.snapshot(100)).length <= 6, true);
});

Deno.test("largest sorts a summed object by count, then key", () => {
  assertEquals(largest({ b: 2, a: 2, c: 9, d: "x" }, 3), [["c", 9], ["a", 2], ["b", 2]]);
});
