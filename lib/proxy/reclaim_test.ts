import { assertEquals } from "../../tests/assert.ts";
import { Reclaimer } from "./reclaim.ts";

Deno.test("a collection is requested once per step of released bytes", () => {
  const cases: { step: number; releases: number[]; collections: number }[] = [
    { step: 100, releases: [], collections: 0 },
    { step: 100, releases: [99], collections: 0 },
    { step: 100, releases: [100], collections: 1 },
    { step: 100, releases: [60, 60], collections: 1 },
    { step: 100, releases: [60, 60, 60, 60], collections: 2 },
    { step: 100, releases: [1000], collections: 1 },
    { step: 100, releases: [0, 0, 0], collections: 0 },
  ];
  for (const { step, releases, collections } of cases) {
    let calls = 0;
    const reclaimer = new Reclaimer(step, () => calls++);
    for (const bytes of releases) reclaimer.released(bytes);
    assertEquals(calls, collections, `step ${step}, releases ${releases}`);
    assertEquals(reclaimer.collections, collections);
  }
});

Deno.test("without an exposed gc, or with a step of 0, releasing bytes does nothing", () => {
  let calls = 0;
  for (const reclaimer of [new Reclaimer(1, undefined), new Reclaimer(0, () => calls++)]) {
    reclaimer.released(1 << 30);
    assertEquals(reclaimer.active, false);
    assertEquals(reclaimer.collections, 0);
  }
  assertEquals(calls, 0);
});
