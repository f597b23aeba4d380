/**
 * What the task scripts (`deno task migrate`, `verify`, `seed`) share at
 * their start and their end: the flags parsed strictly, `--help` answered
 * with the usage, and a bad flag or a failure told in one line that starts
 * with the command's name. The functions return exit statuses instead of
 * exiting, and write where they are told, so that tests run them in-process;
 * only a script's `import.meta.main` line exits.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { errorText } from "../lib/util/errors.ts";

/**
 * The exit status for a bad command line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BAD_USAGE } from "./command.ts";
 * assert.equal(BAD_USAGE, 2);
 * ```
 */
export const BAD_USAGE = 2;

/**
 * A task script's command line: its name, its usage text and its flags.
 *
 * @example
 * ```ts
 * import type { CommandSpec } from "./command.ts";
 * const spec: CommandSpec<{ db: { type: "string" } }> = {
 *   name: "verify",
 *   usage: "usage: deno task verify [--db PATH]",
 *   options: { db: { type: "string" } },
 * };
 * console.log(spec.name);
 * ```
 */
export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** How each error line starts: `migrate` gives `migrate: …`. */
  name: string;
  /** Printed on stdout for `--help` or `-h`. */
  usage: string;
  /** The flags, as `parseArgs` takes them; `--help` (`-h`) is added. */
  options: O;
}

/**
 * Where a command's text goes: `console` unless a test captures it.
 *
 * @example
 * ```ts
 * import type { CommandOutput } from "./command.ts";
 * const lines: string[] = [];
 * const output: CommandOutput = { log: (text) => lines.push(text), error: (text) => lines.push(text) };
 * output.error("seed: no module cache");
 * console.log(lines); // ["seed: no module cache"]
 * ```
 */
export interface CommandOutput {
  log(text: string): void;
  error(text: string): void;
}

type HelpOption = { help: { type: "boolean"; short: "h" } };

/**
 * The flags a command line gave, typed from the spec's options; absent ones are `undefined`.
 *
 * @example
 * ```ts
 * import type { CommandFlags } from "./command.ts";
 * const flags: CommandFlags<{ db: { type: "string" } }> = { db: "astera.db" };
 * console.log(flags.db, flags.help); // astera.db undefined
 * ```
 */
export type CommandFlags<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O & HelpOption; strict: true; allowPositionals: false }>
>["values"];

/**
 * What parsing came to: the flags to run with, or the exit status to return at once
 * (0 after the usage, {@linkcode BAD_USAGE} after an error line).
 *
 * @example
 * ```ts
 * import type { ParsedCommand } from "./command.ts";
 * const parsed: ParsedCommand<{ db: { type: "string" } }> = { status: 0 };
 * console.log(parsed.status !== undefined ? "exit" : "run"); // exit
 * ```
 */
export type ParsedCommand<O extends ParseArgsOptionsConfig> =
  | { flags: CommandFlags<O>; status?: undefined }
  | { flags?: undefined; status: number };

/**
 * Parses `args` by `spec` (no positional arguments, no unknown flags). On
 * `--help` it prints the usage; on a bad flag, one line `NAME: what is wrong`
 * on stderr; either way it gives the status to exit with instead of flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandArgs } from "./command.ts";
 * const spec = { name: "verify", usage: "usage: …", options: { db: { type: "string" } } } as const;
 * const parsed = parseCommandArgs(spec, ["--db", "astera.db"]);
 * assert.equal(parsed.flags?.db, "astera.db");
 *
 * const lines: string[] = [];
 * const output = { log: (text: string) => lines.push(text), error: (text: string) => lines.push(text) };
 * assert.equal(parseCommandArgs(spec, ["--dv"], output).status, 2);
 * assert.deepEqual(lines, ["verify: Unknown option '--dv'"]);
 * ```
 */
export function parseCommandArgs<const O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  args: string[],
  output: CommandOutput = console,
): ParsedCommand<O> {
  const help: HelpOption = { help: { type: "boolean", short: "h" } };
  let flags: CommandFlags<O>;
  try {
    flags = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { ...spec.options, ...help },
    }).values;
  } catch (error) {
    return { status: commandFailed(spec.name, error, BAD_USAGE, output) };
  }
  // The flags' type is not resolved for a generic spec; `help` is in every one.
  const asked: { help?: boolean } = flags;
  if (asked.help) {
    output.log(spec.usage);
    return { status: 0 };
  }
  return { flags };
}

/**
 * Prints the one line that tells a command's failure, `NAME: what failed`,
 * on stderr, and gives back `status` for the command to return.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandFailed } from "./command.ts";
 * const lines: string[] = [];
 * const output = { log: (text: string) => lines.push(text), error: (text: string) => lines.push(text) };
 * assert.equal(commandFailed("migrate", new Error("connection refused"), 1, output), 1);
 * assert.deepEqual(lines, ["migrate: connection refused"]);
 * ```
 */
export function commandFailed(
  name: string,
  error: unknown,
  status: number,
  output: CommandOutput = console,
): number {
  output.error(`${name}: ${errorText(error)}`);
  return status;
}
