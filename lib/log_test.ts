import { assertEquals } from "../tests/assert.ts";
import { assert } from "../tests/assert.ts";
import { createLogger, redactCredentials, redactUrl } from "./log.ts";

Deno.test("credentials in URLs never reach a log line", () => {
  const cases: [string, string][] = [
    ["https://me:s3cret@git.example/r", "https://git.example/r"],
    ["fatal: 'https://tok@h/x' and ssh://git@host/r", "fatal: 'https://h/x' and ssh://host/r"],
    ["no url here", "no url here"],
    [
      "fatal: unable to access 'https://me:pa'ss@h/r/': 403",
      "fatal: unable to access 'https://h/r/': 403",
    ],
    ['"http://u:p"w@h:1" and http://h/a@b', '"http://h:1" and http://h/a@b'],
  ];
  for (const [input, expected] of cases) assertEquals(redactCredentials(input), expected);
});

Deno.test("one line per event, fields quoted when needed, info dropped when quiet", () => {
  const lines: string[] = [];
  const log = createLogger({ write: (line) => lines.push(line) });
  log.info("fetched", { request: "example.com/m @v/list", status: 200, skipped: undefined });
  log.warn("failed", { error: "line one\nline two https://u:p@h/x" });
  assertEquals(lines.length, 2);
  assertEquals(
    lines[0].split(" ").slice(1).join(" "),
    'info fetched request="example.com/m @v/list" status=200',
  );
  assertEquals(
    lines[1].split(" ").slice(1).join(" "),
    'warn failed error="line one line two https://h/x"',
  );
  const quiet = createLogger({ quiet: true, write: (line) => lines.push(line) });
  quiet.info("dropped");
  quiet.error("kept");
  assertEquals(lines.length, 3);
});

/** Every character a password may hold: ASCII, a tab, and some beyond. */
const PASSWORD_CHARACTERS = [
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)),
  "\t",
  "é",
  "\u00a0",
  "\u{1F511}",
];

Deno.test("a URL loses its user information whatever characters its password holds", () => {
  let checked = 0;
  for (const c of PASSWORD_CHARACTERS) {
    // As written (where the character may stand in a URL as it is), and percent-encoded.
    for (const password of [`s3cr${c}t`, `s3cr${encodeURIComponent(c)}t`]) {
      const url = `http://us${c}er:${password}@proxy.example:3000/base`;
      const shown = redactUrl(url);
      const label = `character ${JSON.stringify(c)}: ${JSON.stringify(shown)}`;
      assert(!shown.includes("s3cr") && !shown.includes("us"), label);
      assert(shown.endsWith("proxy.example:3000/base"), label);
      // Where the parser reads a password, the URL as git or a message prints it (normalized),
      // inside text and in a log line.
      let named: string;
      try {
        const parsed = new URL(url);
        if (!parsed.password.includes("s3cr")) continue;
        named = parsed.href;
      } catch {
        continue; // not a URL: nothing would use it, or print it but redactUrl
      }
      const lines: string[] = [];
      const log = createLogger({ write: (line) => lines.push(line) });
      log.warn("fetch-failed", { error: `upstream ${named}: status 500`, url: named });
      const text = redactCredentials(`fatal: unable to access '${named}': 403`);
      assert(!lines[0].includes("s3cr") && !text.includes("s3cr"), `${label}: ${lines[0]} ${text}`);
      checked++;
    }
  }
  assert(checked >= PASSWORD_CHARACTERS.length, `${checked} URLs with a password checked in text`);
  assertEquals(redactUrl("https://proxy.golang.org"), "https://proxy.golang.org");
  assertEquals(redactUrl("http://me:x@mirror.lan/"), "http://mirror.lan/");
});

Deno.test("an @ in a URL's path stays, and the host shown is the URL's", () => {
  assertEquals(redactUrl("https://u:p@proxy.corp/go@v2"), "https://proxy.corp/go@v2");
  assertEquals(redactUrl("https://proxy.corp/go@v2"), "https://proxy.corp/go@v2");
  assertEquals(redactUrl("http://me:x@mirror.lan/a@b/c@d/"), "http://mirror.lan/a@b/c@d/");
  assertEquals(redactUrl("https://proxy.corp/go?at=a@b"), "https://proxy.corp/go?at=a@b");
  // Text that does not parse (a port that is no number) loses all up to the last @.
  assertEquals(redactUrl("http://me:pa#ss@mirror.lan/base"), "http://mirror.lan/base");
  assertEquals(redactUrl("git@github.com:org/repo"), "github.com:org/repo");
});
