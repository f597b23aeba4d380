import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { SingleFlight } from "./single_flight.ts";

Deno.test("concurrent callers with one key share one execution", async () => {
  const flight = new SingleFlight<string>();
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const work = async () => {
    runs++;
    await gate;
    return "value";
  };
  const calls = Array.from({ length: 40 }, () => flight.do("mod", work));
  release();
  assertEquals(await Promise.all(calls), Array(40).fill("value"));
  assertEquals(runs, 1);
  assertEquals(flight.stats(), { executions: 1, coalesced: 39, inFlight: 0 });
});

Deno.test("different keys run separately", async () => {
  const flight = new SingleFlight<string>();
  const results = await Promise.all([
    flight.do("a", () => Promise.resolve("A")),
    flight.do("b", () => Promise.resolve("B")),
  ]);
  assertEquals(results, ["A", "B"]);
  assertEquals(flight.stats().executions, 2);
});

Deno.test("a failure reaches every joined caller and is not remembered", async () => {
  const flight = new SingleFlight<string>();
  const fail = () => Promise.reject(new Error("upstream down"));
  await Promise.all([
    assertRejects(() => flight.do("k", fail), Error, "upstream down"),
    assertRejects(() => flight.do("k", fail), Error, "upstream down"),
  ]);
  assertEquals(flight.has("k"), false);
  assertEquals(await flight.do("k", () => Promise.resolve("ok")), "ok");
});
