import { assertEquals } from "../../tests/assert.ts";
import { type Waiter, WaitingConnections } from "./waiting.ts";

function connection(address: string, answered = false): Waiter {
  return { address, state: "busy", idleSince: 0, answered };
}

Deno.test("the longest-idle connection goes first; a new one only after its grace", () => {
  const waiting = new WaitingConnections<Waiter>(1000);
  const fresh = connection("10.0.0.1");
  const kept = connection("10.0.0.2", true);
  waiting.set(fresh, "idle", 100);
  waiting.set(kept, "idle", 200);
  assertEquals(waiting.longestIdle(300), kept, "a kept-alive one may go at once");
  assertEquals(waiting.longestIdle(1100), fresh, "past its grace, the older one goes");
  waiting.set(kept, "busy", 1100);
  waiting.set(fresh, "head", 1100);
  assertEquals(waiting.longestIdle(5000), undefined, "one being answered or sending a head: never");
  waiting.set(kept, "idle", 5000);
  assertEquals(waiting.longestIdle(5000), kept, "idle again, it is the newest idle");
  waiting.set(kept, "closed", 5000);
  waiting.set(fresh, "closed", 5000);
  assertEquals(waiting.longestIdle(9000), undefined);
  assertEquals([...waiting.addressesOver(0)], [], "closed connections leave no trace");
});

Deno.test("an address over its cap gives up its longest-idle connection; heads count but stay", () => {
  const waiting = new WaitingConnections<Waiter>(1000);
  const head = connection("10.0.0.1");
  const older = connection("10.0.0.1", true);
  const newer = connection("10.0.0.1", true);
  const elsewhere = connection("10.0.0.9", true);
  waiting.set(head, "head", 0);
  waiting.set(older, "idle", 10);
  waiting.set(elsewhere, "idle", 15);
  assertEquals(waiting.overCap("10.0.0.1", 2, 20), undefined, "two waiting: within the cap");
  waiting.set(newer, "idle", 20);
  assertEquals(waiting.overCap("10.0.0.1", 2, 20), older);
  assertEquals([...waiting.addressesOver(2)], ["10.0.0.1"]);
  waiting.set(older, "closed", 20);
  waiting.set(newer, "closed", 20);
  assertEquals(waiting.overCap("10.0.0.1", 0, 20), undefined, "a head is never closed for room");
});

Deno.test("an address at its cap is told so, and which of its own may make way", () => {
  const waiting = new WaitingConnections<Waiter>(1000);
  const head = connection("10.0.0.1");
  const fresh = connection("10.0.0.1");
  waiting.set(head, "head", 0);
  waiting.set(fresh, "idle", 0);
  assertEquals(waiting.count("10.0.0.1"), 2);
  assertEquals(waiting.atCap("10.0.0.1", 2), true);
  assertEquals(waiting.atCap("10.0.0.1", Infinity), false, "no cap");
  assertEquals(waiting.atCap("10.0.0.9", 1), false, "an address with nothing waiting");
  assertEquals(
    waiting.closableOf("10.0.0.1", 500),
    undefined,
    "a head, and a new one in its grace",
  );
  assertEquals(waiting.closableOf("10.0.0.1", 1000), fresh, "past its grace");
});
