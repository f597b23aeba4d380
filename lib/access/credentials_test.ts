import bcrypt from "bcryptjs";
import { assert, assertEquals } from "../../tests/assert.ts";
import { CredentialChecker, parseBasic, type Verdict } from "./credentials.ts";

// Cost 4, the least bcrypt allows: the tests are about what is run, not how long it takes.
const ALICE = bcrypt.hashSync("secret", 4);
const BOB = bcrypt.hashSync("hunter2", 4);
const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

Deno.test("forty clients with the same credentials cost one bcrypt run, then none", async () => {
  const checker = new CredentialChecker(new Map([["alice", ALICE]]));
  const header = basic("alice", "secret");
  const first = await Promise.all(
    Array.from({ length: 40 }, (_, i) => checker.check(header, `10.0.0.${i}`)),
  );
  assert(first.every((verdict) => verdict.ok), "every client is let in");
  for (let i = 0; i < 2000; i++) {
    const verdict = checker.check(header, `10.0.0.${i % 40}`);
    assert(!(verdict instanceof Promise) && verdict.ok, "a remembered success needs no await");
  }
  assertEquals(checker.stats.bcryptRuns, 1);
  assertEquals(checker.stats.remembered, 2000);
});

Deno.test("missing, malformed and wrong credentials are refused, naming the user when there is one", async () => {
  const checker = new CredentialChecker(new Map([["alice", ALICE]]), { maxFailures: 100 });
  assertEquals(checker.check(undefined, "a"), { ok: false, reason: "missing" });
  for (
    const header of [
      "Basic",
      "Basic !!!",
      `Basic ${btoa("no colon")}`,
      `Basic ${btoa(":nouser")}`,
      "Bearer abc",
      `Digest ${btoa("alice:secret")}`,
    ]
  ) {
    assertEquals(checker.check(header, "a"), { ok: false, reason: "malformed" }, header);
  }
  assertEquals(await checker.check(basic("alice", "wrong"), "a"), {
    ok: false,
    reason: "wrong-password",
    user: "alice",
  });
  assertEquals(await checker.check(basic("mallory", "secret"), "a"), {
    ok: false,
    reason: "unknown-user",
    user: "mallory",
  });
  // The scheme name is case-insensitive; a password may hold colons and any UTF-8.
  const colons = new CredentialChecker(new Map([["bob", bcrypt.hashSync("a:b:ü", 4)]]));
  assert((await colons.check(`basic ${btoa("bob:a:b:\u00c3\u00bc")}`, "a")).ok);
});

Deno.test("an address that keeps failing gets 429 for a while, even with good credentials; others do not", async () => {
  let now = 0;
  const checker = new CredentialChecker(
    new Map([["alice", ALICE]]),
    { maxFailures: 3, failureWindowMs: 60_000, blockMs: 30_000 },
    () => now,
  );
  const verdicts: Verdict[] = [];
  for (let i = 0; i < 3; i++) verdicts.push(await checker.check(basic("alice", `guess${i}`), "x"));
  assertEquals(verdicts.map((v) => !v.ok && v.nowBlocked === true), [false, false, true]);
  const runs = checker.stats.bcryptRuns;
  const blocked = checker.check(basic("alice", "secret"), "x");
  assertEquals(blocked, { ok: false, reason: "blocked", retryAfterS: 30 });
  assertEquals(checker.stats.bcryptRuns, runs, "a blocked address costs no bcrypt run");
  assert((await checker.check(basic("alice", "secret"), "y")).ok, "another address is let in");
  now = 30_001;
  assert((await checker.check(basic("alice", "secret"), "x")).ok, "the block is lifted");
});

Deno.test("a changed password in a reloaded file ends the remembered success", async () => {
  const checker = new CredentialChecker(new Map([["alice", ALICE], ["bob", BOB]]));
  const header = basic("alice", "secret");
  assert((await checker.check(header, "a")).ok);
  checker.setUsers(new Map([["alice", bcrypt.hashSync("new", 4)], ["bob", BOB]]));
  const again = checker.check(header, "a");
  assert(again instanceof Promise, "checked with bcrypt again");
  assertEquals(await again, { ok: false, reason: "wrong-password", user: "alice" });
  assert((await checker.check(basic("alice", "new"), "a")).ok);
  checker.setUsers(new Map([["bob", BOB]]));
  assertEquals(
    (await checker.check(basic("alice", "new"), "a")).ok,
    false,
    "a removed user is out",
  );
});

Deno.test("parseBasic splits at the first colon", () => {
  assertEquals(parseBasic(`Basic ${btoa("u:p:q")}`), { user: "u", password: "p:q" });
  assertEquals(parseBasic(`Basic ${btoa("u:")}`), { user: "u", password: "" });
});
