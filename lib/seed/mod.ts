/**
 * Seeding: importing a Go module cache (`$GOMODCACHE/cache/download`) into
 * Astera's database, so that a Pi starts warm even with no internet at all.
 * `scripts/seed.ts` is the command line over this.
 *
 * - `locate.ts` finds the module cache (flag, `GOMODCACHE`, `go env`,
 *   `GOPATH`, `~/go`) and its `cache/download`;
 * - `scan.ts` lists it into modules, versions and their files;
 * - `verify.ts` checks every file before it is imported (zip rules,
 *   `.ziphash`, the checksum database's records, the server's answer checks);
 * - `import.ts` writes into the store, the only module here that does;
 * - `seed.ts` runs it all in order and reports progress and skipped files.
 *
 * @example
 * ```ts ignore
 * import { goEnvModuleCache, locateModuleCache, seedModuleCache } from "./mod.ts";
 * import { SqliteStore } from "../store/mod.ts";
 * const where = await locateModuleCache(undefined, Deno.env.toObject(), goEnvModuleCache);
 * const store = SqliteStore.open("astera.db");
 * const summary = await seedModuleCache({ store, modcache: where.dir });
 * console.log(summary.stored);
 * store.close();
 * ```
 *
 * @module
 */
export {
  findDownloadDir,
  goEnvModuleCache,
  locateModuleCache,
  type ModuleCacheLocation,
  SeedError,
} from "./locate.ts";
export type { SeedSkip } from "./scan.ts";
export type { SeedStore } from "./import.ts";
export { seedModuleCache, type SeedOptions, type SeedProgress, type SeedSummary } from "./seed.ts";
