/**
 * Astera's entry point: reads flags and environment, starts the server,
 * shuts it down gracefully on SIGINT/SIGTERM, and reads its certificate and
 * auth file again on SIGHUP.
 *
 * @module
 */
import { ListenError, startAstera } from "./lib/app.ts";
import { ConfigError, parseConfig, usage } from "./lib/config.ts";
import { createGitSource } from "./lib/sources/git/mod.ts";
import { createLogger } from "./lib/log.ts";
import { shownDb } from "./lib/store/mod.ts";
import { warnOnLargePages } from "./lib/platform.ts";

if (import.meta.main) {
  const args = Deno.args;
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage());
    Deno.exit(0);
  }
  let config;
  try {
    config = parseConfig(args, Deno.env.toObject());
  } catch (error) {
    console.error(`astera: ${error instanceof ConfigError ? error.message : String(error)}`);
    Deno.exit(2);
  }
  const log = createLogger({ quiet: config.quiet });
  await warnOnLargePages(log);
  let astera;
  try {
    astera = await startAstera(
      config,
      log,
      (config) => createGitSource({ gitDir: config.gitDir, fetchTtlMs: config.gitTtlMs }),
    );
  } catch (error) {
    // A certificate, key or auth file that cannot be used is a bad flag: one line, exit 2.
    if (error instanceof ConfigError) {
      console.error(`astera: ${error.message}`);
      Deno.exit(2);
    }
    if (error instanceof ListenError) {
      console.error(`astera: cannot start: ${error.message}`);
      Deno.exit(1);
    }
    const message = error instanceof Error ? error.message : String(error);
    // SQLite says only this when it cannot create the database's -wal/-shm files.
    const hint = /disk I\/O error|disk is full/.test(message) ? "; is its disk full?" : "";
    console.error(`astera: cannot start: ${message} (db ${shownDb(config.db)}${hint})`);
    Deno.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) Deno.exit(1);
    stopping = true;
    log.info("shutting-down", { signal });
    await astera.close(10_000);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  // A renewed certificate (an ACME client's hook) or an edited user file, without a restart;
  // without either, `systemctl reload` is harmless rather than the end of the process.
  Deno.addSignalListener("SIGHUP", () => {
    log.info("reloading", { signal: "SIGHUP" });
    astera.reload();
  });
}
