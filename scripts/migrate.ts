/**
 * `deno task migrate --from astera.db --to postgres://USER@HOST:PORT/DBNAME`:
 * copies an SQLite cache (a Pi's) into PostgreSQL, so that the first of
 * several instances starts warm. Idempotent and resumable (see
 * `lib/store/copy.ts`): run it again after an interruption, or while
 * instances already serve from the target. Progress on stderr.
 *
 * Exit status: 0 when everything was copied (or was there), 1 when some
 * artifact could not be read intact or a database cannot be opened, 2 for a
 * bad flag, 130 when interrupted.
 *
 * @module
 */
import { BAD_USAGE, commandFailed, parseCommandArgs } from "./command.ts";
import { createProgress, formatBytes } from "./progress.ts";
import { copyStore, isPostgresUrl, PostgresStore, shownDb, SqliteStore } from "../lib/store/mod.ts";

const USAGE = `usage: deno task migrate --from PATH --to postgres://USER@HOST:PORT/DBNAME

Copies Astera's SQLite cache into a PostgreSQL database that several
instances share. Run it again to resume; what is there already is skipped.
The password comes from the URL, PGPASSWORD or the passfile (~/.pgpass).`;

/**
 * The migrate command; resolves to the exit status.
 *
 * @example
 * ```ts ignore
 * import { migrateCommand } from "./migrate.ts";
 * Deno.exit(await migrateCommand(["--from", "astera.db", "--to", "postgres://astera@db.lan/astera"]));
 * ```
 */
export async function migrateCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs({
    name: "migrate",
    usage: USAGE,
    options: { from: { type: "string" }, to: { type: "string" } },
  }, args);
  if (parsed.status !== undefined) return parsed.status;
  const { from, to } = parsed.flags;
  if (!from || !to || !isPostgresUrl(to)) {
    console.error(`migrate: --from PATH and --to postgres://… are needed\n${USAGE}`);
    return BAD_USAGE;
  }
  // Opening creates a database that is not there: a wrong path must not pass as "nothing to copy".
  if (!(await Deno.stat(from).then((info) => info.isFile, () => false))) {
    console.error(`migrate: no database at ${from}`);
    return 1;
  }
  const encoder = new TextEncoder();
  const progress = createProgress({
    tty: Deno.stderr.isTerminal(),
    write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
  });
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  let source: SqliteStore | undefined;
  let target: PostgresStore | undefined;
  try {
    source = SqliteStore.open(from);
    target = await PostgresStore.open(to);
    progress.line(`migrate: ${from} -> ${shownDb(to)}`);
    const summary = await copyStore(source, target, {
      signal: abort.signal,
      onProgress: (state) => progress.update(state),
    });
    progress.done();
    console.error(
      `migrate: ${summary.copied} artifacts copied (${formatBytes(summary.bytes)}), ` +
        `${summary.skipped} there already, ${summary.answers} answers, ` +
        `${summary.failed.length} not intact`,
    );
    for (const line of summary.failed) console.error(`migrate: not copied: ${line}`);
    return summary.failed.length === 0 ? 0 : 1;
  } catch (error) {
    progress.done();
    if (abort.signal.aborted) {
      console.error("migrate: interrupted; run it again to resume");
      return 130;
    }
    return commandFailed("migrate", error, 1);
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    source?.close();
    await target?.end();
  }
}

if (import.meta.main) Deno.exit(await migrateCommand(Deno.args));
