import { assertEquals } from "../../tests/assert.ts";
import { type BatchedHit, type Schedule, ServedLog } from "./recency.ts";

/** A schedule the test runs by hand: the pending timer, if any. */
function manualSchedule(): { schedule: Schedule; fire(): void; pending(): number } {
  let timers: (() => void)[] = [];
  return {
    schedule: (run) => {
      timers.push(run);
      return () => timers = timers.filter((timer) => timer !== run);
    },
    fire() {
      const due = timers;
      timers = [];
      for (const run of due) run();
    },
    pending: () => timers.length,
  };
}

Deno.test("hits are written in one batch when the timer fires, the latest time of each zip", async () => {
  const batches: BatchedHit[][] = [];
  const timers = manualSchedule();
  let clock = 10;
  const log = new ServedLog({
    flush: (hits) => void batches.push(hits),
    now: () => clock,
    schedule: timers.schedule,
  });
  log.served("example.com/a", "v1.0.0");
  clock = 20;
  log.served("example.com/b", "v1.0.0");
  clock = 30;
  log.served("example.com/a", "v1.0.0");
  assertEquals(batches, [], "nothing is written per hit");
  assertEquals(timers.pending(), 1, "one timer for the batch");
  timers.fire();
  await log.flush();
  assertEquals(batches, [[
    { module: "example.com/a", version: "v1.0.0", at: 30, count: 2 },
    { module: "example.com/b", version: "v1.0.0", at: 20, count: 1 },
  ]]);
  assertEquals(log.stats(), { servedHits: 3, servedBatches: 1 });
  assertEquals(timers.pending(), 0, "no timer while nothing is pending");
});

Deno.test("a batch goes out at once when it holds maxHits distinct zips", async () => {
  const batches: BatchedHit[][] = [];
  const timers = manualSchedule();
  const log = new ServedLog({
    flush: (hits) => void batches.push(hits),
    maxHits: 3,
    now: () => 1,
    schedule: timers.schedule,
  });
  for (const version of ["v1.0.0", "v1.0.0", "v1.1.0"]) log.served("example.com/a", version);
  await log.flush();
  assertEquals(batches.length, 1, "two distinct zips: written by the explicit flush only");
  for (const version of ["v2.0.0", "v2.1.0", "v2.2.0"]) log.served("example.com/a", version);
  assertEquals(batches.length, 1);
  await log.flush();
  assertEquals(batches.map((batch) => batch.length), [2, 3]);
});

Deno.test("a replica's batch merges into the primary's: an older time never wins", async () => {
  const batches: BatchedHit[][] = [];
  const log = new ServedLog({
    flush: (hits) => void batches.push(hits),
    now: () => 50,
    schedule: manualSchedule().schedule,
  });
  log.served("example.com/a", "v1.0.0");
  log.merge([
    { module: "example.com/a", version: "v1.0.0", at: 40, count: 7 },
    { module: "example.com/b", version: "v1.0.0", at: 60, count: 2 },
  ]);
  await log.flush();
  assertEquals(batches, [[
    { module: "example.com/a", version: "v1.0.0", at: 50, count: 8 },
    { module: "example.com/b", version: "v1.0.0", at: 60, count: 2 },
  ]]);
  assertEquals(log.stats().servedHits, 10, "every hit of every isolate counts");
});

Deno.test("a batch that fails is reported and dropped; the next one is written", async () => {
  const written: BatchedHit[][] = [];
  const errors: unknown[] = [];
  let fail = true;
  const log = new ServedLog({
    flush: (hits) => {
      if (fail) throw new Error("database is locked");
      written.push(hits);
    },
    onError: (error) => errors.push(error),
    now: () => 1,
    schedule: manualSchedule().schedule,
  });
  log.served("example.com/a", "v1.0.0");
  await log.flush();
  fail = false;
  log.served("example.com/b", "v1.0.0");
  await log.flush();
  assertEquals(errors.length, 1);
  assertEquals(written, [[{ module: "example.com/b", version: "v1.0.0", at: 1, count: 1 }]]);
});
