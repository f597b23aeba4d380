/**
 * Real git repositories for tests, served to both Astera and the go command
 * under `https://git.corp.example/…` through a temporary git configuration
 * (`url."file:///…/".insteadOf`), and the go command in direct mode as the
 * oracle that says what every answer must be.
 *
 * A {@linkcode GitWorld} exposes the git environment (`GIT_CONFIG_GLOBAL`,
 * `GIT_CONFIG_NOSYSTEM`, `GIT_ALLOW_PROTOCOL`) as `gitEnv`; it never changes
 * this process's environment.
 *
 * @module
 */

import { hashZip } from "../lib/mod/dirhash.ts";
import { bytesAccess } from "../lib/archive/mod.ts";

/** The host every fixture repository appears under. */
export const FIXTURE_HOST = "git.corp.example";

const GO = Deno.env.get("GO") ?? "/usr/local/go/bin/go";

/** File contents for {@linkcode FixtureRepo.write}: text, bytes, or a symlink. */
export type FixtureFile = string | Uint8Array | { symlink: string } | null;

/**
 * A git working repository with deterministic commits (fixed author and
 * committer dates, so hashes are the same on every run).
 *
 * @example
 * ```ts
 * import { GitWorld } from "./git_fixtures.ts";
 * const world = await GitWorld.create();
 * const repo = await world.repo("team/lib");
 * await repo.write({ "go.mod": "module git.corp.example/team/lib.git\n" });
 * await repo.commit("init");
 * await repo.tag("v1.0.0");
 * await world.cleanup();
 * ```
 */
export class FixtureRepo {
  readonly dir: string;
  readonly #world: GitWorld;

  constructor(world: GitWorld, dir: string) {
    this.#world = world;
    this.dir = dir;
  }

  /** Runs git in the repository with the fixed dates; returns trimmed stdout. */
  async git(...args: string[]): Promise<string> {
    return await this.#world.git(this.dir, args);
  }

  /** Writes files (null deletes, `{symlink}` makes a link) and stages everything. */
  async write(files: Record<string, FixtureFile>): Promise<void> {
    for (const [name, content] of Object.entries(files)) {
      const path = `${this.dir}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.remove(path, { recursive: true }).catch(() => {});
      if (content === null) continue;
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else if (content instanceof Uint8Array) await Deno.writeFile(path, content);
      else await Deno.symlink(content.symlink, path);
    }
    await this.git("add", "-A");
  }

  /** Commits what is staged (empty commits allowed); returns the full hash. */
  async commit(message: string): Promise<string> {
    await this.git("commit", "-q", "--allow-empty", "-m", message);
    return await this.git("rev-parse", "HEAD");
  }

  /** Tags HEAD (or `rev`); annotated when `message` is given. */
  async tag(name: string, options: { rev?: string; message?: string } = {}): Promise<void> {
    const args = ["tag"];
    if (options.message !== undefined) args.push("-a", "-m", options.message);
    args.push(name);
    if (options.rev) args.push(options.rev);
    await this.git(...args);
  }

  /** Creates and switches to a branch (from `from` when given). */
  async branch(name: string, from?: string): Promise<void> {
    await this.git("checkout", "-q", "-b", name, ...(from ? [from] : []));
  }

  /** Switches to an existing branch or commit. */
  async checkout(rev: string): Promise<void> {
    await this.git("checkout", "-q", rev);
  }
}

/** What `go mod download -json` said about one module query. */
export interface GoDownload {
  /** The resolved version, or undefined on error. */
  version?: string;
  /** The `.info` Time as go stored it. */
  time?: string;
  /** The go.mod bytes. */
  mod?: Uint8Array;
  /** go.sum hash of the zip. */
  sum?: string;
  /** go.sum hash of the go.mod. */
  goModSum?: string;
  /** The go command's error, when it failed. */
  error?: string;
}

/**
 * A temporary directory of fixture repositories, a git configuration that
 * maps `https://git.corp.example/` onto it, and a module cache for the go
 * command. Create with {@linkcode GitWorld.create}; call
 * {@linkcode GitWorld.cleanup} at the end.
 *
 * @example
 * ```ts
 * import { GitWorld } from "./git_fixtures.ts";
 * const world = await GitWorld.create();
 * const repo = await world.repo("team/lib");
 * await repo.commit("empty");
 * console.log(await world.goDownload("git.corp.example/team/lib.git", "latest"));
 * await world.cleanup();
 * ```
 */
export class GitWorld {
  readonly root: string;
  readonly reposDir: string;
  readonly configFile: string;
  /**
   * The environment that makes git (Astera's or the go command's) see the
   * fixtures under `https://git.corp.example/`: pass it to `createGitSource`
   * as `env`, or to a server subprocess. Nothing is set in this process's
   * own environment, so worlds in parallel test files do not interfere.
   */
  readonly gitEnv: Record<string, string>;
  #tick = 0;
  readonly #goEnv: Record<string, string>;

  private constructor(root: string) {
    this.root = root;
    this.reposDir = `${root}/repos`;
    this.configFile = `${root}/gitconfig`;
    this.gitEnv = {
      GIT_CONFIG_GLOBAL: this.configFile,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_ALLOW_PROTOCOL: "https:file",
    };
    this.#goEnv = {
      GOPROXY: "direct",
      GOPRIVATE: FIXTURE_HOST,
      GONOSUMDB: FIXTURE_HOST,
      GOSUMDB: "off",
      GOFLAGS: "-mod=mod",
      GOTOOLCHAIN: "local",
      GOMODCACHE: `${root}/gomodcache`,
      GOPATH: `${root}/gopath`,
      GOCACHE: `${root}/gocache`,
      GOENV: "off",
      GO111MODULE: "on",
    };
  }

  /** Makes the world and points this process's git at its configuration. */
  static async create(): Promise<GitWorld> {
    const root = await Deno.makeTempDir({ prefix: "astera-git-" });
    const world = new GitWorld(root);
    await Deno.mkdir(world.reposDir, { recursive: true });
    await Deno.writeTextFile(
      world.configFile,
      [
        `[url "file://${world.reposDir}/"]`,
        `\tinsteadOf = https://${FIXTURE_HOST}/`,
        '[protocol "file"]',
        "\tallow = always",
        "[user]",
        "\tname = Fixture",
        "\temail = fixture@example.com",
        "[init]",
        "\tdefaultBranch = main",
        "[advice]",
        "\tdetachedHead = false",
        "[tag]",
        "\tgpgSign = false",
        "[commit]",
        "\tgpgSign = false",
        "",
      ].join("\n"),
    );
    await Deno.mkdir(`${root}/work`, { recursive: true });
    await Deno.writeTextFile(`${root}/work/go.mod`, "module example.com/oracle\n\ngo 1.21\n");
    return world;
  }

  /** Runs git in `dir` with the next fixed timestamp; returns trimmed stdout. */
  async git(dir: string, args: string[]): Promise<string> {
    // One second per command keeps every commit's time distinct and stable.
    const date = new Date(Date.UTC(2024, 0, 2, 3, 4, 5) + 1000 * ++this.#tick).toISOString();
    const out = await new Deno.Command("git", {
      args,
      cwd: dir,
      env: {
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
        GIT_CONFIG_GLOBAL: this.configFile,
        GIT_CONFIG_NOSYSTEM: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout).trim();
  }

  /** Creates an empty repository at `name` (e.g. `team/lib`), on branch main. */
  async repo(name: string): Promise<FixtureRepo> {
    const dir = `${this.reposDir}/${name}`;
    await Deno.mkdir(dir, { recursive: true });
    await this.git(dir, ["init", "-q", "-b", "main"]);
    return new FixtureRepo(this, dir);
  }

  async #go(
    args: string[],
    extraEnv: Record<string, string> = {},
  ): Promise<{ ok: boolean; stdout: string; stderr: string }> {
    const out = await new Deno.Command(GO, {
      args,
      cwd: `${this.root}/work`,
      env: {
        ...this.#goEnv,
        ...extraEnv,
        GIT_CONFIG_GLOBAL: this.configFile,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_ALLOW_PROTOCOL: "https:file",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      ok: out.success,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  }

  /** The go command's own answer for `module@query`, fetched directly from git. */
  async goDownload(module: string, query: string): Promise<GoDownload> {
    const res = await this.#go(["mod", "download", "-json", `${module}@${query}`]);
    let parsed: Record<string, string>;
    try {
      parsed = JSON.parse(res.stdout);
    } catch {
      return { error: res.stderr.trim() || "go mod download failed" };
    }
    if (parsed.Error) return { error: parsed.Error };
    const info = JSON.parse(await Deno.readTextFile(parsed.Info));
    return {
      version: parsed.Version,
      time: info.Time,
      mod: await Deno.readFile(parsed.GoMod),
      sum: parsed.Sum,
      goModSum: parsed.GoModSum,
    };
  }

  /** The go command's resolution of `module@query` (version and time), without downloading. */
  async goQuery(
    module: string,
    query: string,
  ): Promise<{ version?: string; time?: string; error?: string }> {
    const res = await this.#go(["list", "-m", "-json", `${module}@${query}`]);
    let parsed: { Version?: string; Time?: string; Error?: { Err: string } };
    try {
      parsed = JSON.parse(res.stdout);
    } catch {
      return { error: res.stderr.trim() || "go list failed" };
    }
    if (parsed.Error) return { error: parsed.Error.Err };
    return { version: parsed.Version, time: parsed.Time };
  }

  /** The go command's list of versions, retracted ones included (as a proxy's list has them). */
  async goVersions(module: string): Promise<{ versions?: string[]; error?: string }> {
    const res = await this.#go(["list", "-m", "-versions", "-retracted", "-json", module]);
    let parsed: { Versions?: string[]; Error?: { Err: string } };
    try {
      parsed = JSON.parse(res.stdout);
    } catch {
      return { error: res.stderr.trim() || "go list failed" };
    }
    if (parsed.Error) return { error: parsed.Error.Err };
    return { versions: parsed.Versions ?? [] };
  }

  /** Runs the go command in the world's scratch module with the oracle's environment. */
  go(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ ok: boolean; stdout: string; stderr: string }> {
    return this.#go(args, env);
  }

  /** Removes everything (the go module cache is read-only, so first make it writable). */
  async cleanup(): Promise<void> {
    await new Deno.Command("chmod", { args: ["-R", "u+w", this.root] }).output();
    await Deno.remove(this.root, { recursive: true });
  }
}

/** The go.sum `h1:` hash of a zip a source served (compared only with the go command's). */
export function zipH1(zip: Uint8Array): Promise<string> {
  return hashZip(bytesAccess(zip));
}

/** A module in the standard fixture set and the queries worth asking about it. */
export interface FixtureModule {
  module: string;
  queries: string[];
}

const H = FIXTURE_HOST;

/**
 * Builds the standard set of fixture repositories covering the go command's
 * edge cases (tags, pre-releases, branches, hashes, untagged, retractions,
 * `+incompatible`, `/v2` in both layouts, subdirectory modules, vendor and
 * nested-module exclusions, symlinks, LICENSE copying, eol attributes,
 * unzippable trees, missing repositories) and returns the modules with the
 * queries to compare. Revision queries that depend on hashes are derived
 * from the repositories, never written down.
 *
 * @example
 * ```ts
 * import { buildStandardRepos, GitWorld } from "./git_fixtures.ts";
 * const world = await GitWorld.create();
 * for (const { module, queries } of await buildStandardRepos(world)) console.log(module, queries);
 * await world.cleanup();
 * ```
 */
export async function buildStandardRepos(world: GitWorld): Promise<FixtureModule[]> {
  const out: FixtureModule[] = [];

  // Root module: releases, a pre-release, branches, annotated and +meta tags.
  {
    const m = `${H}/team/lib.git`;
    const r = await world.repo("team/lib");
    await r.write({
      "go.mod": `module ${m}\n\ngo 1.21\n`,
      "lib.go": "package lib\n",
      "LICENSE": "MIT\n",
    });
    const c1 = await r.commit("v1.0.0");
    await r.tag("v1.0.0");
    await r.write({ "two.go": "package lib\n" });
    await r.commit("v1.1.0-rc.1");
    await r.tag("v1.1.0-rc.1", { message: "annotated pre-release" });
    await r.write({ "three.go": "package lib\n" });
    const c3 = await r.commit("v1.1.0");
    await r.tag("v1.1.0", { message: "annotated release" });
    await r.tag("v1.2.0+meta");
    await r.tag("v1.3"); // incomplete: never a version
    await r.write({ "four.go": "package lib\n" });
    const c4 = await r.commit("after v1.1.0");
    await r.branch("feature");
    await r.write({ "feature.go": "package lib\n" });
    const cf = await r.commit("feature work");
    await r.checkout("main");
    await r.branch("v1.0.0-branch", c1); // a branch named like nothing special
    await r.checkout("main");
    out.push({
      module: m,
      queries: [
        "latest",
        "upgrade",
        "v1.0.0",
        "v1.1.0-rc.1",
        "v1.1.0",
        "v1.1",
        "v1",
        "v1.2.0+meta",
        "v1.1.0+other",
        "v1.3",
        "main",
        "feature",
        "HEAD",
        c1,
        c3.slice(0, 7),
        c4.slice(0, 12),
        cf,
        "<v1.1.0",
        ">=v1.0.1",
        "v9.9.9",
        "nope",
        "v1.0.1",
        "--upload-pack=touch /tmp/astera-pwned",
      ],
    });
  }

  // Untagged repository: empty list, latest is a v0.0.0 pseudo-version.
  {
    const m = `${H}/team/untagged.git`;
    const r = await world.repo("team/untagged");
    await r.write({ "go.mod": `module ${m}\n`, "a.go": "package a\n" });
    await r.commit("one");
    await r.write({ "b.go": "package a\n" });
    await r.commit("two");
    out.push({ module: m, queries: ["latest", "main", "v0.0.0"] });
    // The same repository asked for as /v3: v3.0.0 pseudo-versions need a /v3 go.mod.
    const m3 = `${H}/team/untagged3.git/v3`;
    const r3 = await world.repo("team/untagged3");
    await r3.write({ "go.mod": `module ${m3}\n`, "a.go": "package a\n" });
    await r3.commit("one");
    out.push({ module: m3, queries: ["latest", "main"] });
  }

  // Retractions: the newest release retracts an older one and itself.
  {
    const m = `${H}/team/retract.git`;
    const r = await world.repo("team/retract");
    await r.write({ "go.mod": `module ${m}\n\ngo 1.21\n`, "a.go": "package a\n" });
    await r.commit("v1.0.0");
    await r.tag("v1.0.0");
    await r.write({ "b.go": "package a\n" });
    await r.commit("v1.1.0");
    await r.tag("v1.1.0");
    await r.write({ "c.go": "package a\n" });
    await r.commit("after v1.1.0");
    await r.write({
      "go.mod": `module ${m}\n\ngo 1.21\n\nretract (\n\tv1.1.0 // broken\n\tv1.2.0 // self\n)\n`,
    });
    await r.commit("v1.2.0");
    await r.tag("v1.2.0");
    await r.write({ "d.go": "package a\n" });
    await r.commit("after v1.2.0");
    out.push({ module: m, queries: ["latest", "v1", "v1.1.0", "v1.2.0", "main", "HEAD~1"] });
  }

  // Retractions the lax parser keeps: a shorthand bound beside a malformed line. A retracted
  // tag is no pseudo-version base.
  {
    const m = `${H}/team/laxretract.git`;
    const r = await world.repo("team/laxretract");
    await r.write({ "go.mod": `module ${m}\n`, "a.go": "package a\n" });
    await r.commit("v1.0.0");
    await r.tag("v1.0.0");
    await r.write({ "b.go": "package a\n" });
    await r.commit("v1.1.0");
    await r.tag("v1.1.0");
    await r.write({ "go.mod": `module ${m}\n\nretract v1.1 // shorthand\nretract [v1.0.5\n` });
    await r.commit("v1.2.0 retracts v1.1");
    await r.tag("v1.2.0");
    await r.branch("side", "v1.1.0");
    await r.write({ "side.go": "package a\n" });
    await r.commit("side work on top of v1.1.0");
    await r.checkout("main");
    out.push({ module: m, queries: ["side", "main", "latest", "v1"] });
  }

  // +incompatible: no go.mod, tags beyond v1.
  {
    const m = `${H}/team/legacy.git`;
    const r = await world.repo("team/legacy");
    await r.write({ "a.go": "package legacy\n" });
    await r.commit("v1.0.0");
    await r.tag("v1.0.0");
    await r.write({ "b.go": "package legacy\n" });
    await r.commit("v2.0.0");
    await r.tag("v2.0.0");
    await r.write({ "c.go": "package legacy\n" });
    await r.commit("v2.1.0");
    await r.tag("v2.1.0");
    await r.write({ "d.go": "package legacy\n" });
    await r.commit("v3.0.0");
    await r.tag("v3.0.0");
    await r.write({ "e.go": "package legacy\n" });
    await r.commit("after v3");
    out.push({
      module: m,
      queries: [
        "latest",
        "v2.0.0",
        "v2.0.0+incompatible",
        "v2.1.0+incompatible",
        "v2",
        "main",
        "v1.0.0",
      ],
    });
    // Highest compatible version has a go.mod: no +incompatible versions.
    const m2 = `${H}/team/modded.git`;
    const r2 = await world.repo("team/modded");
    await r2.write({ "a.go": "package modded\n" });
    await r2.commit("v2.0.0 without go.mod");
    await r2.tag("v2.0.0");
    await r2.write({ "go.mod": `module ${m2}\n` });
    await r2.commit("v1.5.0 with go.mod");
    await r2.tag("v1.5.0");
    out.push({ module: m2, queries: ["latest", "v2.0.0", "v2.0.0+incompatible", "main"] });
  }

  // /v2 at the repository root, and /v2 in a v2/ directory.
  {
    const base = `${H}/team/major.git`;
    const r = await world.repo("team/major");
    await r.write({ "go.mod": `module ${base}\n`, "a.go": "package major\n" });
    await r.commit("v1.0.0");
    await r.tag("v1.0.0");
    await r.write({ "go.mod": `module ${base}/v2\n` });
    await r.commit("v2.0.0");
    await r.tag("v2.0.0");
    await r.write({ "b.go": "package major\n" });
    await r.commit("after v2.0.0");
    out.push({ module: base, queries: ["latest", "v1.0.0", "v2.0.0", "main"] });
    out.push({ module: `${base}/v2`, queries: ["latest", "v2.0.0", "v1.0.0", "main", "v2"] });

    const based = `${H}/team/majordir.git`;
    const d = await world.repo("team/majordir");
    await d.write({
      "go.mod": `module ${based}\n`,
      "a.go": "package majordir\n",
      "LICENSE": "BSD\n",
    });
    await d.commit("v1.0.0");
    await d.tag("v1.0.0");
    await d.write({ "v2/go.mod": `module ${based}/v2\n`, "v2/a.go": "package majordir\n" });
    await d.commit("v2.0.0 in v2/");
    await d.tag("v2.0.0");
    await d.tag("v1.1.0");
    out.push({ module: based, queries: ["latest", "v1.1.0", "v2.0.0", "main"] });
    out.push({ module: `${based}/v2`, queries: ["latest", "v2.0.0", "main"] });
  }

  // A monorepo: subdirectory modules with prefixed tags, LICENSE copying.
  {
    const root = `${H}/team/mono.git`;
    const r = await world.repo("team/mono");
    await r.write({
      "go.mod": `module ${root}\n`,
      "root.go": "package mono\n",
      "LICENSE": "Apache\n",
      "tools/go.mod": `module ${root}/tools\n`,
      "tools/t.go": "package tools\n",
      "tools/v2/go.mod": `module ${root}/tools/v2\n`,
      "tools/v2/t.go": "package tools\n",
      "own/go.mod": `module ${root}/own\n`,
      "own/LICENSE": "own license\n",
      "own/o.go": "package own\n",
      "linked/go.mod": `module ${root}/linked\n`,
      "linked/LICENSE": { symlink: "../LICENSE" },
      "linked/l.go": "package linked\n",
    });
    await r.commit("initial");
    await r.tag("v1.0.0");
    await r.tag("tools/v0.1.0");
    await r.tag("tools/v2.0.0");
    await r.tag("own/v0.1.0");
    await r.tag("linked/v0.1.0");
    await r.write({ "tools/u.go": "package tools\n" });
    await r.commit("tools change");
    await r.tag("tools/v0.2.0");
    await r.write({ "tools/w.go": "package tools\n" });
    await r.commit("more tools");
    out.push({ module: root, queries: ["latest", "v1.0.0", "main"] });
    out.push({
      module: `${root}/tools`,
      queries: ["latest", "v0.1.0", "v0.2.0", "main", "v1.0.0"],
    });
    out.push({ module: `${root}/tools/v2`, queries: ["latest", "v2.0.0", "main"] });
    out.push({ module: `${root}/own`, queries: ["latest", "v0.1.0"] });
    out.push({ module: `${root}/linked`, queries: ["latest", "v0.1.0"] });
    out.push({ module: `${root}/missing`, queries: ["latest", "main"] });
  }

  // Zip content rules: vendor, nested modules, symlinks, eol attributes.
  {
    const m = `${H}/team/content.git`;
    const r = await world.repo("team/content");
    const files: Record<string, FixtureFile> = {
      "go.mod": `module ${m}\n\ngo 1.23\n`,
      "a.go": "package content\n",
      "vendor/modules.txt": "# vendored\n",
      "vendor/top.go": "package vendor\n",
      "vendor/example.com/dep/dep.go": "package dep\n",
      "pkg/vendor/inner.go": "package vendor\n",
      "pkg/vendor/x/y.go": "package y\n",
      "testdata/go.mod": "module testdata\n",
      "testdata/t.go": "package testdata\n",
      "NESTED/GO.MOD": "module nested\n",
      "NESTED/n.go": "package nested\n",
      "link.go": { symlink: "a.go" },
      "dirlink": { symlink: "pkg" },
      ".hg_archival.txt": "repo: x\n",
      "sub/.hg_archival.txt": "kept\n",
      ".gitattributes": "*.txt text eol=crlf\n*.bin -text\nignored.go export-ignore\n*.id ident\n",
      "notes.txt": "line one\nline two\n",
      "raw.bin": "keep\r\nbytes\n",
      "crlf.go": "package content\r\n",
      "ignored.go": "package content\n",
      "stamp.id": "$Id$\n",
      "exec.sh": "#!/bin/sh\n",
    };
    await r.write(files);
    await r.git("update-index", "--chmod=+x", "exec.sh");
    await r.commit("go 1.23");
    await r.tag("v1.0.0");
    await r.write({ "go.mod": `module ${m}\n\ngo 1.24\n` });
    await r.commit("go 1.24");
    await r.tag("v1.1.0");
    // The go version as the lax parser reads it: 1.24.x is 1.24; a file it cannot parse has none.
    await r.write({ "go.mod": `module ${m}\n\ngo 1.24.x\n` });
    await r.commit("go 1.24.x");
    await r.tag("v1.2.0");
    await r.write({ "go.mod": `module ${m}\n\ngo 1.24\n\nrequire example.com/x latest\n` });
    await r.commit("go 1.24, and a require the lax parser refuses");
    await r.tag("v1.3.0");
    out.push({ module: m, queries: ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "latest"] });
  }

  // Trees that cannot become module zips.
  {
    const m = `${H}/team/bad.git`;
    const r = await world.repo("team/bad");
    await r.write({ "go.mod": `module ${m}\n`, "aux.go": "package bad\n" });
    await r.commit("windows name");
    await r.tag("v1.0.0");
    await r.write({ "aux.go": null, "README": "a\n", "readme": "b\n" });
    await r.commit("case collision");
    await r.tag("v1.1.0");
    await r.write({ "README": null, "readme": null, "GO.MOD": "module x\n" });
    await r.commit("go.mod case");
    await r.tag("v1.2.0");
    out.push({ module: m, queries: ["v1.0.0", "v1.1.0", "v1.2.0"] });
  }

  // A tag and a branch with the same name (the tag wins), annotated tags, a tag of a tag.
  {
    const m = `${H}/team/clash.git`;
    const r = await world.repo("team/clash");
    await r.write({ "go.mod": `module ${m}\n` });
    await r.commit("tagged");
    await r.tag("release");
    await r.tag("v0.1.0", { message: "annotated" });
    await r.commit("second");
    await r.tag("inner", { message: "annotated, not a version" });
    await r.tag("v0.2.0", { rev: "inner", message: "a tag of a tag" });
    await r.branch("release");
    await r.commit("on the branch");
    await r.checkout("main");
    await r.commit("main moves on");
    out.push({ module: m, queries: ["release", "main", "latest", "v0.1.0", "v0.2.0"] });
  }

  // Only pre-releases; and a repository whose every release is retracted.
  {
    const m = `${H}/team/pre.git`;
    const r = await world.repo("team/pre");
    await r.write({ "go.mod": `module ${m}\n` });
    await r.commit("alpha");
    await r.tag("v0.1.0-alpha");
    await r.commit("beta");
    await r.tag("v0.1.0-beta.2");
    await r.commit("later");
    out.push({ module: m, queries: ["latest", "v0.1", "main"] });

    const a = `${H}/team/allretract.git`;
    const ra = await world.repo("team/allretract");
    await ra.write({ "go.mod": `module ${a}\n` });
    await ra.commit("v1.0.0");
    await ra.tag("v1.0.0");
    await ra.write({ "go.mod": `module ${a}\n\nretract [v0.0.0-0, v1.1.0]\n` });
    await ra.commit("v1.1.0");
    await ra.tag("v1.1.0");
    out.push({ module: a, queries: ["latest", "v1", "v1.0.0", "main"] });
  }

  // A commit reachable only from a pull-request ref is not a version.
  {
    const m = `${H}/team/prs.git`;
    const r = await world.repo("team/prs");
    await r.write({ "go.mod": `module ${m}\n` });
    await r.commit("main");
    await r.branch("pr");
    await r.write({ "pr.go": "package prs\n" });
    const pr = await r.commit("proposed");
    await r.git("update-ref", "refs/pull/1/head", pr);
    await r.checkout("main");
    await r.git("branch", "-D", "pr");
    out.push({ module: m, queries: [pr, pr.slice(0, 12), "latest"] });
  }

  // A repository with no commits at all.
  {
    const m = `${H}/team/empty.git`;
    await world.repo("team/empty");
    out.push({ module: m, queries: ["latest", "main"] });
  }

  // go.mod converted by .gitattributes (the .mod is the blob, the zip the checkout),
  // a fork declaring another path, and /v2 claimed by both go.mod locations.
  {
    const m = `${H}/team/crlfmod.git`;
    const r = await world.repo("team/crlfmod");
    await r.write({
      ".gitattributes": "go.mod text eol=crlf\n",
      "go.mod": `module ${m}\n\ngo 1.21\n`,
      "a.go": "package crlfmod\n",
    });
    await r.commit("crlf go.mod");
    await r.tag("v1.0.0");
    out.push({ module: m, queries: ["v1.0.0"] });

    const f = `${H}/team/fork.git`;
    const rf = await world.repo("team/fork");
    await rf.write({
      "go.mod": "module upstream.example/original\n",
      "a.go": "package original\n",
    });
    await rf.commit("fork");
    await rf.tag("v1.0.0");
    out.push({ module: f, queries: ["v1.0.0", "latest"] });

    const b = `${H}/team/both.git`;
    const rb = await world.repo("team/both");
    await rb.write({ "go.mod": `module ${b}/v2\n`, "v2/go.mod": `module ${b}/v2\n` });
    await rb.commit("both claim v2");
    await rb.tag("v2.0.0");
    out.push({ module: `${b}/v2`, queries: ["v2.0.0", "latest", "main"] });
  }

  // A repository that does not exist.
  out.push({ module: `${H}/team/nope.git`, queries: ["latest", "v1.0.0", "main"] });
  return out;
}
