import { assertEquals } from "./testing.ts";
import { createLogger, redactCredentials } from "./log.ts";

Deno.test("credentials in URLs never reach a log line", () => {
  const cases: [string, string][] = [
    ["https://me:s3cret@git.example/r", "https://git.example/r"],
    ["fatal: 'https://tok@h/x' and ssh://git@host/r", "fatal: 'https://h/x' and ssh://host/r"],
    ["no url here", "no url here"],
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
