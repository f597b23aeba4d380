/**
 * Serving modules straight from their git repositories, as the go command
 * resolves them with `GOPROXY=direct`. The front door of `lib/sources/git/`:
 *
 * - `source.ts`: {@linkcode createGitSource}, the module source over the rest;
 * - `query.ts`: version queries (`@latest`, `v1.2`, `<v1.3.0`, branches, hashes), cmd/go's modload;
 * - `coderepo.ts` (with `coderepo_dir.ts`, `coderepo_zip.ts`): one module in one repository
 *   (versions, where its go.mod is, zips), cmd/go's modfetch;
 * - `codehost.ts`: the git side (refs, commits), cmd/go's codehost;
 * - `mirror.ts`: the bare mirrors the answers are read from; `locate.ts`: module path to repository;
 * - `run.ts`: running git.
 *
 * @example
 * ```ts ignore
 * import { createGitSource } from "./mod.ts";
 * const source = createGitSource({ gitDir: "/var/lib/astera/git", fetchTtlMs: 60_000 });
 * const answer = await source.fetch({ kind: "latest", module: "git.corp.example/team/lib.git" });
 * if (answer.found) console.log(await new Response(answer.body).text());
 * ```
 *
 * @module
 */
export { createGitSource, type GitSourceOptions } from "./source.ts";
export { GitMirrors } from "./mirror.ts";
export { createRepoLocator, type RepoLocation, RepoNotFoundError } from "./locate.ts";
