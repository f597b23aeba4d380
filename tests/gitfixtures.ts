/**
 * Real git repositories for tests, served to both Astera and the go command
 * under `https://git.corp.example/…` through a temporary git configuration
 * (`url."file:///…/".insteadOf`), and the go command in direct mode as the
 * oracle that says what every answer must be.
 *
 * A {@linkcode GitWorld} sets `GIT_CONFIG_GLOBAL`, `GIT_CONFIG_NOSYSTEM` and
 * `GIT_ALLOW_PROTOCOL` in this process's environment, because Astera's git
 * runner inherits the server user's environment, as in production.
 *
 * @module
 */

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
 * import { GitWorld } from "./gitfixtures.ts";
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
 * import { GitWorld } from "./gitfixtures.ts";
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
  #tick = 0;
  readonly #goEnv: Record<string, string>;

  private constructor(root: string) {
    this.root = root;
    this.reposDir = `${root}/repos`;
    this.configFile = `${root}/gitconfig`;
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
    Deno.env.set("GIT_CONFIG_GLOBAL", world.configFile);
    Deno.env.set("GIT_CONFIG_NOSYSTEM", "1");
    Deno.env.set("GIT_ALLOW_PROTOCOL", "https:file");
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
