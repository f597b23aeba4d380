import { assertEquals } from "../../tests/assert.ts";
import { History } from "./history.ts";

const sample = (time: number) => ({
  time,
  requests: time * 2,
  fetches: time,
  servedBytes: time * 100,
  fetchedBytes: time * 10,
});

Deno.test("the ring keeps the last samples in order, and the moment asked for after them", () => {
  const history = new History(3);
  for (let time = 1; time <= 5; time++) history.add(sample(time));
  assertEquals(history.size, 3);
  const columns = history.columns(sample(6));
  assertEquals(columns.time, [3, 4, 5, 6]);
  assertEquals(columns.requests, [6, 8, 10, 12]);
  assertEquals(columns.fetchedBytes, [30, 40, 50, 60]);
  assertEquals(history.columns().time, [3, 4, 5]);
});
