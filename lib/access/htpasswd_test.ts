import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { HtpasswdError, parseHtpasswd } from "./htpasswd.ts";

const ALICE = "$2y$05$WTHHVX8eSn432vu.IQdGlOBDJQSsR5rY6Z/.Tx0XCtG9FZR2a7yoW";
const BOB = "$2y$10$kPPM6VyWY75tQYer9EVYhugIt2yWNABeRlSTaQVU7kuUkPQZt5QTW";

Deno.test("bcrypt entries as htpasswd -B writes them are read, with CRLF, blank lines and comments", () => {
  const users = parseHtpasswd(`# team\r\nalice:${ALICE}\r\n\r\nbob:${BOB}\n`, "users");
  assertEquals([...users], [["alice", ALICE], ["bob", BOB]]);
});

Deno.test("weaker schemes are refused in one line naming each user and the reason", () => {
  const text = [
    `alice:${ALICE}`,
    "carol:$apr1$TNjlTuub$U4saJ2TPNcN7ANJZwm/Za/",
    "dave:{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI=",
    "frank:gf.EvVyOfa14U",
    "erin:x",
    "gina:$6$salt$abc",
  ].join("\n");
  const error = assertThrows(() => parseHtpasswd(text, "/etc/astera/users"), HtpasswdError);
  const message = (error as Error).message;
  assertEquals(message.includes("\n"), false);
  for (
    const part of [
      "carol (MD5",
      "dave (SHA-1",
      "frank (crypt DES",
      "erin (a plain",
      "gina (crypt(3)",
    ]
  ) {
    assertEquals(message.includes(part), true, `${part} in ${message}`);
  }
  assertEquals(message.includes("alice"), false);
  assertEquals(message.startsWith("/etc/astera/users: "), true);
});

Deno.test("a malformed line, a user twice and an empty file are refused", () => {
  assertThrows(() => parseHtpasswd(`alice ${ALICE}\n`, "f"), HtpasswdError, "f line 1");
  assertThrows(
    () => parseHtpasswd(`a:${ALICE}\na:${BOB}\n`, "f"),
    HtpasswdError,
    "a appears twice",
  );
  assertThrows(() => parseHtpasswd("\n# nobody\n", "f"), HtpasswdError, "no users");
});
