/**
 * Finding the module cache to seed from: the `--modcache` flag, then
 * `GOMODCACHE`, then what `go env GOMODCACHE` says, then `$GOPATH/pkg/mod`,
 * then `~/go/pkg/mod`; and checking that the directory found holds a module
 * cache (`cache/download`).
 *
 * @module
 */
import { join } from "node:path";
import { errorText } from "../util/errors.ts";

/**
 * The directory does not exist or holds no module cache; the message is the
 * one line to print.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SeedError } from "./locate.ts";
 * assert(new SeedError("no module cache").message === "no module cache");
 * ```
 */
export class SeedError extends Error {
  override name = "SeedError";
}

/**
 * Where the module cache was found, and why there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ModuleCacheLocation } from "./locate.ts";
 * const where: ModuleCacheLocation = { dir: "/home/me/go/pkg/mod", from: "~/go/pkg/mod" };
 * assert(where.dir.endsWith("/pkg/mod"));
 * ```
 */
export interface ModuleCacheLocation {
  dir: string;
  /** `--modcache`, `GOMODCACHE`, `go env GOMODCACHE`, `$GOPATH/pkg/mod` or `~/go/pkg/mod`. */
  from: string;
}

/**
 * Finds the module cache the way the issue orders it: the flag, then
 * `GOMODCACHE`, then `go env GOMODCACHE` when go runs, then the first
 * `$GOPATH` entry's `pkg/mod`, then `~/go/pkg/mod`. `goEnv` runs
 * `go env GOMODCACHE` and resolves to its output, or null when go is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { locateModuleCache } from "./locate.ts";
 * const where = await locateModuleCache(undefined, { HOME: "/home/me" }, () => Promise.resolve(null));
 * assert(where.dir === "/home/me/go/pkg/mod" && where.from === "~/go/pkg/mod");
 * ```
 */
export async function locateModuleCache(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  goEnv: () => Promise<string | null>,
): Promise<ModuleCacheLocation> {
  if (flag) return { dir: flag, from: "--modcache" };
  if (env.GOMODCACHE) return { dir: env.GOMODCACHE, from: "GOMODCACHE" };
  const fromGo = (await goEnv())?.trim();
  if (fromGo) return { dir: fromGo, from: "go env GOMODCACHE" };
  // GOPATH is a list; go keeps its module cache in the first entry.
  const gopath = env.GOPATH?.split(":").find((entry) => entry !== "");
  if (gopath) return { dir: join(gopath, "pkg", "mod"), from: "$GOPATH/pkg/mod" };
  const home = env.HOME ?? env.USERPROFILE ?? "";
  return { dir: join(home, "go", "pkg", "mod"), from: "~/go/pkg/mod" };
}

/**
 * Runs `go env GOMODCACHE`; null when go is not installed or fails.
 *
 * @example
 * ```ts ignore
 * import { goEnvModuleCache } from "./locate.ts";
 * console.log(await goEnvModuleCache());
 * ```
 */
export async function goEnvModuleCache(go = "go"): Promise<string | null> {
  try {
    const output = await new Deno.Command(go, {
      args: ["env", "GOMODCACHE"],
      stdin: "null",
      stderr: "null",
    }).output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() || null : null;
  } catch {
    return null;
  }
}

/**
 * Checks that `modcache` is a module cache and returns its `cache/download`
 * directory; throws {@linkcode SeedError} with the one line to print when it
 * is not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { findDownloadDir } from "./locate.ts";
 * const modcache = await Deno.makeTempDir();
 * await Deno.mkdir(join(modcache, "cache", "download"), { recursive: true });
 * assert(await findDownloadDir(modcache) === join(modcache, "cache", "download"));
 * await Deno.remove(modcache, { recursive: true });
 * ```
 */
export async function findDownloadDir(modcache: string): Promise<string> {
  const info = await Deno.stat(modcache).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new SeedError(`module cache ${modcache} cannot be read: ${errorText(error)}`);
  });
  if (!info) throw new SeedError(`module cache ${modcache} does not exist`);
  if (!info.isDirectory) throw new SeedError(`module cache ${modcache} is not a directory`);
  const download = join(modcache, "cache", "download");
  const downloadInfo = await Deno.stat(download).catch(() => null);
  if (!downloadInfo?.isDirectory) {
    throw new SeedError(`${modcache} holds no module cache (no cache/download directory)`);
  }
  return download;
}
