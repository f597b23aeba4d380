/**
 * `deno task seed [--db PATH] [--modcache DIR] [--max-bytes SIZE]`: imports a Go module cache
 * into Astera's database (see `lib/seed/mod.ts`). A thin command line: flags,
 * progress on stderr, Ctrl-C, the summary and the exit status.
 *
 * Exit status: 0 when done (skipped files are reported, not fatal), 1 when
 * the module cache is missing or the database cannot be written, 2 for a bad
 * flag, 130 when interrupted.
 *
 * @module
 */
import { BAD_USAGE, commandFailed, parseCommandArgs } from "./command.ts";
import { createProgress, formatBytes } from "./progress.ts";
import {
  findDownloadDir,
  goEnvModuleCache,
  locateModuleCache,
  SeedError,
  seedModuleCache,
  type SeedSummary,
} from "../lib/seed/mod.ts";
import { SqliteStore, type Store } from "../lib/store/mod.ts";
import { parseMaxBytes } from "../lib/config.ts";
import { Evictor, ZipPins } from "../lib/proxy/mod.ts";

const USAGE = `usage: deno task seed [--db PATH] [--modcache DIR] [--max-bytes SIZE]

Imports a Go module cache (.info, .mod and checked .zip files, version lists,
checksum-database lookups and tiles) into Astera's database.

  --db PATH        the database (default: $ASTERA_DB, else ./astera.db)
  --modcache DIR   the module cache (default: $GOMODCACHE, else \`go env GOMODCACHE\`,
                   else $GOPATH/pkg/mod, else ~/go/pkg/mod)
  --max-bytes SIZE the disk budget, as the server's (default: $ASTERA_MAX_BYTES, else none):
                   the least recently served zips are removed during and after the
                   import; zips a running server served in the last 10 minutes stay`;

/** Zips served this recently may be being sent by a running server, whose pins the seed cannot see. */
const SERVED_GRACE_MS = 10 * 60 * 1000;

/**
 * The seed command; resolves to the exit status.
 *
 * @example
 * ```ts ignore
 * import { seedCommand } from "./seed.ts";
 * Deno.exit(await seedCommand(["--modcache", "/home/me/go/pkg/mod"]));
 * ```
 */
export async function seedCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs({
    name: "seed",
    usage: USAGE,
    options: {
      db: { type: "string" },
      modcache: { type: "string" },
      "max-bytes": { type: "string" },
    },
  }, args);
  if (parsed.status !== undefined) return parsed.status;
  const values = parsed.flags;
  const env = Deno.env.toObject();
  const db = values.db ?? (env.ASTERA_DB || "./astera.db");
  let maxBytes: number | undefined;
  try {
    maxBytes = parseMaxBytes(values["max-bytes"] ?? env.ASTERA_MAX_BYTES ?? "none");
  } catch (error) {
    return commandFailed("seed", error, BAD_USAGE);
  }
  const where = await locateModuleCache(values.modcache, env, () => goEnvModuleCache());
  const tty = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const progress = createProgress({
    tty,
    columns: tty ? terminalColumns() : undefined,
    write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
  });

  try {
    // Before the database is opened, so that a wrong directory creates no database.
    await findDownloadDir(where.dir);
  } catch (error) {
    console.error(`seed: ${error instanceof SeedError ? error.message : String(error)}`);
    return 1;
  }
  let store: Store;
  try {
    store = SqliteStore.open(db);
  } catch (error) {
    console.error(`seed: cannot open database ${db}: ${String(error)}`);
    return 1;
  }
  const abort = new AbortController();
  const onInterrupt = () => {
    // A second Ctrl-C means now: nothing half-written is ever visible.
    if (abort.signal.aborted) Deno.exit(130);
    progress.line("seed: interrupted; finishing the current write (Ctrl-C again to quit now)");
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  // Disk budget: evict during the import as the server does, so the file stops growing.
  const budget = maxBytes === undefined ? undefined : new Evictor({
    store,
    maxBytes,
    pins: new ZipPins(),
    log: { info() {}, warn: (event) => progress.line(`seed: ${event}`), error() {} },
    servedBefore: () => Date.now() - SERVED_GRACE_MS,
  });
  try {
    progress.line(`seed: ${where.dir} (${where.from}) into ${db}`);
    const summary = await seedModuleCache({
      store,
      modcache: where.dir,
      signal: abort.signal,
      onProgress: (state) => {
        progress.update(state);
        budget?.poke();
      },
      onSkip: (skip) => progress.line(`seed: skipped ${skip.what}: ${skip.reason}: ${skip.detail}`),
    });
    await budget?.check();
    progress.done();
    for (const line of summaryLines(summary)) console.error(line);
    if (budget) console.error(budgetLine(budget));
    return summary.interrupted ? 130 : 0;
  } catch (error) {
    progress.done();
    console.error(`seed: ${error instanceof SeedError ? error.message : String(error)}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    await budget?.stop();
    store.close();
  }
}

/**
 * The summary printed at the end.
 *
 * @example
 * ```ts
 * import { summaryLines } from "./seed.ts";
 * console.log(summaryLines({
 *   modules: 1, versions: 2, bytes: 2048, alreadyStored: 0, interrupted: false, elapsedMs: 1500,
 *   stored: { info: 2, mod: 2, zip: 1, lists: 1, sumdb: 0 }, skipped: { "damaged zip": 1 },
 * }).join("\n"));
 * ```
 */
export function summaryLines(summary: SeedSummary): string[] {
  const { stored } = summary;
  const skipped = Object.entries(summary.skipped).sort(([a], [b]) => a < b ? -1 : 1);
  const skippedTotal = skipped.reduce((sum, [, count]) => sum + count, 0);
  return [
    `seed: ${summary.interrupted ? "interrupted" : "done"} in ${
      (summary.elapsedMs / 1000).toFixed(1)
    } s: ${summary.modules} modules, ${summary.versions} versions in the cache`,
    `  stored ${
      formatBytes(summary.bytes)
    }: ${stored.mod} .mod, ${stored.info} .info, ${stored.zip} .zip, ${stored.lists} version lists, ${stored.sumdb} checksum-database files`,
    `  already stored: ${summary.alreadyStored}`,
    `  skipped: ${skippedTotal}${
      skipped.length
        ? ` (${skipped.map(([reason, count]) => `${reason}: ${count}`).join(", ")})`
        : ""
    }`,
  ];
}

/** What the budget did, for the summary. */
function budgetLine(budget: Evictor): string {
  const { evictions, evictedBytes, storedBytes, maxBytes, overBudget } = budget.stats();
  return `  budget: removed ${evictions} zips (${formatBytes(evictedBytes)}); stored ${
    formatBytes(storedBytes)
  } of ${formatBytes(maxBytes)}${
    overBudget ? " (still over: recently served zips and small data stay)" : ""
  }`;
}

function terminalColumns(): number | undefined {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return undefined;
  }
}

if (import.meta.main) Deno.exit(await seedCommand(Deno.args));
