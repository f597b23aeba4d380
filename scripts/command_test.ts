import { BAD_USAGE, commandFailed, type CommandOutput, parseCommandArgs } from "./command.ts";
import { assertEquals } from "../tests/assert.ts";

const USAGE = "usage: deno task demo [--db PATH] [--repair]";
const SPEC = {
  name: "demo",
  usage: USAGE,
  options: { db: { type: "string" }, repair: { type: "boolean" } },
} as const;

/** An output that keeps what was printed, per stream. */
function captured(): CommandOutput & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, log: (text) => out.push(text), error: (text) => err.push(text) };
}

Deno.test("flags are parsed, and --help or a bad command line gives the status to exit with and its one line", () => {
  const cases: {
    args: string[];
    flags?: Record<string, string | boolean>;
    status?: number;
    out?: string[];
    err?: string[];
  }[] = [
    { args: [], flags: {} },
    { args: ["--db", "a.db", "--repair"], flags: { db: "a.db", repair: true } },
    { args: ["--db=a.db"], flags: { db: "a.db" } },
    { args: ["--help"], status: 0, out: [USAGE] },
    { args: ["-h"], status: 0, out: [USAGE] },
    { args: ["--db", "a.db", "--help"], status: 0, out: [USAGE] },
    // A bad flag wins over --help: the line says what is wrong.
    { args: ["--help", "--bogus"], status: BAD_USAGE, err: ["demo: Unknown option '--bogus'"] },
    { args: ["--bogus"], status: BAD_USAGE, err: ["demo: Unknown option '--bogus'"] },
    { args: ["--db"], status: BAD_USAGE, err: ["demo: Option '--db <value>' argument missing"] },
    {
      args: ["--repair=yes"],
      status: BAD_USAGE,
      err: ["demo: Option '--repair' does not take an argument"],
    },
    {
      args: ["a.db"],
      status: BAD_USAGE,
      err: ["demo: Unexpected argument 'a.db'. This command does not take positional arguments"],
    },
  ];
  for (const { args, flags, status, out = [], err = [] } of cases) {
    const output = captured();
    const parsed = parseCommandArgs(SPEC, args, output);
    const what = args.join(" ") || "(none)";
    assertEquals(parsed.status, status, what);
    assertEquals(parsed.flags === undefined ? undefined : { ...parsed.flags }, flags, what);
    assertEquals(output.out, out, what);
    assertEquals(output.err, err, what);
  }
});

Deno.test("a failure is one line on stderr, the command's name and the error's text, and gives back its status", () => {
  const cases: { error: unknown; status: number; line: string }[] = [
    { error: new Error("connection refused"), status: 1, line: "demo: connection refused" },
    { error: new TypeError("bad size"), status: BAD_USAGE, line: "demo: bad size" },
    { error: "no module cache", status: 1, line: "demo: no module cache" },
    { error: 42, status: 130, line: "demo: 42" },
  ];
  for (const { error, status, line } of cases) {
    const output = captured();
    assertEquals(commandFailed("demo", error, status, output), status, line);
    assertEquals(output.err, [line]);
    assertEquals(output.out, []);
  }
});
