import { assertEquals } from "../../tests/assert.ts";
import { type Ask, AskReport, REASK_MS } from "./ask_report.ts";

function report(options: { maxBatch?: number } = {}) {
  let now = 1_000;
  const sent: Ask[][] = [];
  const asks = new AskReport({
    send: (batch) => void sent.push(batch),
    now: () => now,
    delayMs: 1,
    ...options,
  });
  return { asks, sent, advance: (ms: number) => now += ms };
}

Deno.test("asks made together go to the primary in one batch", async () => {
  const { asks, sent } = report();
  asks.asked("mod", "example.com/a", "v1.0.0");
  asks.asked("info", "example.com/b", "v1.2.0");
  assertEquals(sent, [], "nothing is sent on each ask");
  await new Promise((resolve) => setTimeout(resolve, 5));
  assertEquals(sent, [[["mod", "example.com/a", "v1.0.0"], ["info", "example.com/b", "v1.2.0"]]]);
});

Deno.test("a version check is sent at once, with the asks pending before it", () => {
  const { asks, sent } = report();
  asks.asked("mod", "example.com/a", "v1.0.0");
  asks.asked("list", "example.com/b", "");
  assertEquals(sent, [[["mod", "example.com/a", "v1.0.0"], ["list", "example.com/b", ""]]]);
});

Deno.test("a full batch is sent at once", () => {
  const { asks, sent } = report({ maxBatch: 2 });
  asks.asked("zip", "example.com/a", "v1.0.0");
  asks.asked("zip", "example.com/b", "v1.0.0");
  assertEquals(sent.length, 1);
  asks.flush();
  assertEquals(sent.length, 1, "an empty flush sends nothing");
});

Deno.test("a repeat answered from the same memory entry is sent once a minute", () => {
  const { asks, sent, advance } = report();
  const entry = {};
  asks.asked("mod", "example.com/a", "v1.0.0", entry);
  asks.asked("mod", "example.com/a", "v1.0.0", entry);
  advance(REASK_MS - 1);
  asks.asked("mod", "example.com/a", "v1.0.0", entry);
  asks.flush();
  assertEquals(sent, [[["mod", "example.com/a", "v1.0.0"]]]);
  advance(1);
  asks.asked("mod", "example.com/a", "v1.0.0", entry);
  asks.asked("mod", "example.com/a", "v1.0.0", {});
  asks.flush();
  assertEquals(sent.length, 2);
  assertEquals(sent[1].length, 2, "after a minute, and from another entry, it is sent again");
});
