/**
 * A {@linkcode ModuleSource} that serves modules straight from their git
 * repositories, answering every GOPROXY request exactly as the go command
 * would resolve it with `GOPROXY=direct`: the same versions, times, go.mod
 * bytes and zips (so the same go.sum hashes). The resolution rules follow
 * cmd/go's `modfetch` (code repositories: `codehost.ts`, `coderepo.ts`, `coderepo_dir.ts`,
 * `coderepo_zip.ts`) and `modload` (queries: `query.ts`).
 *
 * Repositories are kept as bare mirrors under `gitDir` (see
 * {@linkcode GitMirrors}); answers are not cached here, the server does that.
 *
 * @module
 */
import { GitError } from "./run.ts";
import { type GitMirror, GitMirrors, RepoMissingError } from "./mirror.ts";
import { createRepoLocator, type RepoLocation, RepoNotFoundError } from "./locate.ts";
import { CodeHost, NotFoundError } from "./codehost.ts";
import { CodeRepo, type RevInfo } from "./coderepo.ts";
import { zipEntries, zipPlan } from "./coderepo_zip.ts";
import { Query } from "./query.ts";
import {
  type ArtifactRequest,
  describeRequest,
  foundBytes,
  type ModuleSource,
  type SourceAnswer,
  SourceError,
} from "../source.ts";
import { checkPath, ModPathError } from "../../mod/module.ts";
import { canonicalModuleVersion } from "../../mod/semver.ts";
import { writeZip } from "../../archive/zip_writer.ts";
import { infoBody, type InfoOrigin, listBody } from "../../goproxy/answers.ts";
import { concatBytes } from "../../util/bytes.ts";

/**
 * Options for {@linkcode createGitSource}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GitSourceOptions } from "./source.ts";
 * const options: GitSourceOptions = { gitDir: "/var/lib/astera/git", fetchTtlMs: 60_000 };
 * assert(options.timeoutMs === undefined);
 * ```
 */
export interface GitSourceOptions {
  /** Directory for the bare mirrors (created if missing). */
  gitDir: string;
  /** Refetch a mirror when its last fetch is older than this. */
  fetchTtlMs: number;
  /** Timeout for each git command (default 120 s). */
  timeoutMs?: number;
  /**
   * Extra environment for git on top of the process's own. Operators
   * configure git the usual way (the server inherits their environment and
   * git config); tests use this to point git at a temporary configuration.
   */
  env?: Record<string, string>;
  /** How module paths map to repositories (default: the go command's rules, see `locate.ts`). */
  locate?: (path: string) => Promise<RepoLocation>;
}

/**
 * Creates a source that serves modules from their git repositories.
 *
 * @example
 * ```ts ignore
 * import { createGitSource } from "./source.ts";
 * const source = createGitSource({ gitDir: "/var/lib/astera/git", fetchTtlMs: 60_000 });
 * const answer = await source.fetch({ kind: "list", module: "git.corp.example/team/lib.git" });
 * console.log(answer.found);
 * ```
 */
export function createGitSource(
  options: GitSourceOptions,
): ModuleSource & { close(): void; mirrors: GitMirrors } {
  const mirrors = new GitMirrors({
    dir: options.gitDir,
    fetchTtlMs: options.fetchTtlMs,
    timeoutMs: options.timeoutMs,
    env: options.env,
  });
  const locate = options.locate ?? createRepoLocator();
  const open = (module: string, signal?: AbortSignal) => openRepo(mirrors, locate, module, signal);
  return {
    mirrors,
    async fetch(request: ArtifactRequest, signal?: AbortSignal): Promise<SourceAnswer> {
      try {
        return await answer(await open(request.module, signal), request);
      } catch (err) {
        if (err instanceof NotFoundError) {
          return { found: false, status: err.status, message: err.message };
        }
        if (err instanceof SourceError) throw err;
        if (err instanceof GitError) {
          throw new SourceError(`${describeRequest(request)}: ${err.message}`);
        }
        throw err;
      }
    },
    close() {},
  };
}

/** The code repository of `module`: its path checked, its repository located and fetched. */
async function openRepo(
  mirrors: GitMirrors,
  locate: (path: string) => Promise<RepoLocation>,
  module: string,
  signal?: AbortSignal,
): Promise<CodeRepo> {
  try {
    checkPath(module);
  } catch (err) {
    if (err instanceof ModPathError) throw new NotFoundError(err.message);
    throw err;
  }
  let location: RepoLocation;
  try {
    location = await locate(module);
  } catch (err) {
    if (err instanceof RepoNotFoundError) throw new NotFoundError(`${module}: ${err.message}`);
    throw err;
  }
  let mirror: GitMirror;
  try {
    mirror = await mirrors.open(location.url, signal);
  } catch (err) {
    if (err instanceof RepoMissingError) throw new NotFoundError(`${module}: ${err.message}`);
    throw err;
  }
  return new CodeRepo(new CodeHost(mirror), location, module);
}

/** Answers one request from the module's repository. */
async function answer(repo: CodeRepo, request: ArtifactRequest): Promise<SourceAnswer> {
  switch (request.kind) {
    case "list":
      return foundBytes(listBody(await repo.versions("")));
    case "latest":
      return foundBytes(infoJson(repo, await new Query(repo).answer("latest")));
    case "info":
      return foundBytes(infoJson(repo, await new Query(repo).answer(request.version)));
    case "mod":
      await exact(repo, request.version);
      return foundBytes(await repo.goMod(request.version));
    case "zip": {
      await exact(repo, request.version);
      const plan = await zipPlan(repo, request.version);
      const body = writeZip(zipEntries(repo, plan, `${request.module}@${request.version}/`));
      return { found: true, body, size: null };
    }
  }
}

/**
 * The `.info` body as `go mod download -json` reports a direct download,
 * with the `Origin` it came from, ending in a newline as the go command's does.
 */
function infoJson(repo: CodeRepo, rev: RevInfo): Uint8Array {
  const origin: InfoOrigin = { VCS: "git", URL: repo.code.mirror.url };
  if (repo.codeDir !== "") origin.Subdir = repo.codeDir;
  origin.Hash = rev.hash;
  const body = infoBody(rev.version, new Date(rev.time * 1000), origin);
  return concatBytes([body, NEWLINE]);
}

const NEWLINE = new Uint8Array([0x0a]);

/** An exact version for .mod/.zip: it must resolve to itself, or it is not served. */
async function exact(repo: CodeRepo, version: string): Promise<void> {
  if (version !== canonicalModuleVersion(version)) {
    throw new NotFoundError(`${repo.modPath}@${version}: version is not canonical`);
  }
  const rev = await repo.stat(version);
  if (rev.version !== version) {
    throw new NotFoundError(`${repo.modPath}@${version}: resolves to ${rev.version}`);
  }
}
