import { isYoung } from "./age.ts";
import { assertEquals } from "../../tests/assert.ts";

Deno.test("a stamp is young within its TTL, and never when it lies in the future", () => {
  const cases: [at: number, ttl: number, now: number, young: boolean][] = [
    [1000, 500, 1000, true],
    [1000, 500, 1499, true],
    [1000, 500, 1500, false],
    [1000, 500, 999, false],
    [1000, 0, 1000, false],
    [1000, Infinity, 1e12, true],
  ];
  for (const [at, ttl, now, young] of cases) {
    assertEquals(isYoung(at, ttl, now), young, `${at} ${ttl} ${now}`);
  }
});
