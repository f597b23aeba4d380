/**
 * `deno task verify [--db PATH] [--repair]`: checks Astera's database after
 * a power loss or on a worn SD card (see `lib/store/verify.ts`). A thin command
 * line: flags, progress on stderr, the summary and the exit status.
 *
 * Exit status: 0 when everything is intact (or was repaired), 1 when damage
 * was found and left (no `--repair`) or the database cannot be opened, 2 for
 * a bad flag, 130 when interrupted.
 *
 * @module
 */
import { commandFailed, parseCommandArgs } from "./command.ts";
import { createProgress, formatBytes } from "./progress.ts";
import { StoreCorruptError, verifyDatabase, type VerifySummary } from "../lib/store/mod.ts";
import { errorText } from "../lib/util/errors.ts";

const USAGE = `usage: deno task verify [--db PATH] [--repair]

Checks Astera's database: SQLite's integrity check, then every stored
artifact against its SHA-256. Run it after a power loss.

  --db PATH   the database (default: $ASTERA_DB, else ./astera.db)
  --repair    remove damaged artifacts (the server fetches them again); a file
              SQLite finds malformed is rebuilt from what is intact (stop
              Astera first), the old one kept as PATH.damaged`;

/**
 * The verify command; resolves to the exit status.
 *
 * @example
 * ```ts ignore
 * import { verifyCommand } from "./verify.ts";
 * Deno.exit(await verifyCommand(["--db", "astera.db", "--repair"]));
 * ```
 */
export async function verifyCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs({
    name: "verify",
    usage: USAGE,
    options: { db: { type: "string" }, repair: { type: "boolean" } },
  }, args);
  if (parsed.status !== undefined) return parsed.status;
  const values = parsed.flags;
  const db = values.db ?? (Deno.env.get("ASTERA_DB") || "./astera.db");
  // Opening creates a database that is not there: a wrong path must not pass as "intact".
  if (!(await Deno.stat(db).then((info) => info.isFile, () => false))) {
    console.error(`verify: no database at ${db}`);
    return 1;
  }
  const tty = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const progress = createProgress({
    tty,
    write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
  });
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    progress.line(`verify: ${db}${values.repair ? " (repairing)" : ""}`);
    const summary = await verifyDatabase({
      db,
      repair: values.repair === true,
      signal: abort.signal,
      onProgress: (state) => progress.update(state),
      onDamage: (what, why) => progress.line(`verify: damaged: ${what}: ${why}`),
    });
    progress.done();
    for (const line of verifySummaryLines(summary, values.repair === true)) console.error(line);
    if (summary.interrupted) return 130;
    return (values.repair ? isRepaired(summary) : isIntact(summary)) ? 0 : 1;
  } catch (error) {
    progress.done();
    // A first page of garbage: nothing in the file can be found any more.
    const hint = error instanceof StoreCorruptError
      ? `; ${db} cannot be read at all: move it away (Astera starts a new one and fetches again)`
      : "";
    return commandFailed("verify", `${errorText(error)}${hint}`, 1);
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

/** Nothing damaged is left: a rebuilt file holds only what read back intact. */
function isRepaired(summary: VerifySummary): boolean {
  return summary.rebuilt !== undefined || summary.damaged.length === summary.removed;
}

function isIntact(summary: VerifySummary): boolean {
  return summary.integrity.length === 1 && summary.integrity[0] === "ok" &&
    summary.damaged.length === 0;
}

/**
 * The summary printed at the end.
 *
 * @example
 * ```ts
 * import { verifySummaryLines } from "./verify.ts";
 * console.log(verifySummaryLines({
 *   integrity: ["ok"], artifacts: 3, bytes: 2048, damaged: [], removed: 0, digestsRecorded: 0,
 *   interrupted: false,
 * }, false).join("\n"));
 * ```
 */
export function verifySummaryLines(summary: VerifySummary, repair: boolean): string[] {
  const intact = isIntact(summary);
  const lines = [
    `verify: ${
      summary.interrupted ? "interrupted" : intact ? "intact" : "damaged"
    }: ${summary.artifacts} artifacts (${formatBytes(summary.bytes)}) checked`,
    `  SQLite integrity check: ${summary.integrity.slice(0, 5).join("; ")}${
      summary.integrity.length > 5 ? ` (and ${summary.integrity.length - 5} more)` : ""
    }`,
    `  damaged artifacts: ${summary.damaged.length}${
      repair ? `, removed: ${summary.removed}` : ""
    }`,
  ];
  if (summary.digestsRecorded > 0) {
    lines.push(`  chunk digests recorded for ${summary.digestsRecorded} zips stored before them`);
  }
  if (summary.rebuilt) {
    const { artifacts, answers, lost, unlisted, damagedCopy } = summary.rebuilt;
    lines.push(
      `  rebuilt: kept ${artifacts} artifacts and ${answers} answers, lost ${
        unlisted ? "every artifact (unreadable list)" : lost
      } (fetched again); the damaged file is ${damagedCopy}: delete it`,
    );
  }
  if (!intact && !repair && !summary.interrupted) {
    lines.push("  run again with --repair to remove what is damaged (Astera fetches it again)");
  }
  return lines;
}

if (import.meta.main) Deno.exit(await verifyCommand(Deno.args));
