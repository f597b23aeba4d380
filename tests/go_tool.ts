/**
 * Running the real go command in tests: a fresh module cache per client, a
 * clean environment (no user `go env -w` settings, no toolchain downloads,
 * no checksum database), and cleanup of the read-only module cache.
 *
 * @module
 */
import { join } from "node:path";

/** Where the go command is on our machines. */
export const GO = Deno.env.get("ASTERA_TEST_GO") ?? "/usr/local/go/bin/go";

/** A go client with its own GOPATH and module cache. */
export interface GoClient {
  home: string;
  env: Record<string, string>;
  /** Runs `go args...` in `cwd`; throws with stderr when it fails (unless `allowFailure`). */
  run(cwd: string, args: string[], allowFailure?: boolean): Promise<GoResult>;
  remove(): Promise<void>;
}

/** The outcome of one go command. */
export interface GoResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Makes a go client that talks to `goproxy`.
 *
 * @example
 * ```ts ignore
 * import { makeGoClient } from "./go_tool.ts";
 * const go = await makeGoClient("http://127.0.0.1:8080", "/tmp/gocache");
 * await go.run("/tmp/project", ["mod", "tidy"]);
 * await go.remove();
 * ```
 */
export async function makeGoClient(
  goproxy: string,
  buildCache: string,
  extraEnv: Record<string, string> = {},
): Promise<GoClient> {
  const home = await Deno.makeTempDir({ prefix: "astera-goclient-" });
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    GOPATH: join(home, "gopath"),
    GOMODCACHE: join(home, "modcache"),
    GOCACHE: buildCache,
    GOPROXY: goproxy,
    GOSUMDB: "off",
    GOFLAGS: "-mod=mod",
    GOTOOLCHAIN: "local",
    GOENV: "off",
    GOTELEMETRY: "off",
    GOPRIVATE: "",
    GONOPROXY: "",
    GONOSUMDB: "",
    GOINSECURE: "",
    CGO_ENABLED: "0",
    ...extraEnv,
  };
  return {
    home,
    env,
    async run(cwd, args, allowFailure = false) {
      const output = await new Deno.Command(GO, { args, cwd, env, clearEnv: true, stdin: "null" })
        .output();
      const result = {
        code: output.code,
        stdout: new TextDecoder().decode(output.stdout),
        stderr: new TextDecoder().decode(output.stderr),
      };
      if (!allowFailure && output.code !== 0) {
        throw new Error(`go ${args.join(" ")} (GOPROXY=${goproxy}) failed: ${result.stderr}`);
      }
      return result;
    },
    remove: () => removeTree(home),
  };
}

/** Removes a directory that may hold a read-only go module cache. */
export async function removeTree(dir: string): Promise<void> {
  await new Deno.Command("chmod", { args: ["-R", "u+w", dir], stderr: "null" }).output();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Copies a project directory (go.mod, sources) into a fresh temp dir. */
export async function copyProject(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "astera-project-" });
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.writeTextFile(path, content);
  }
  return dir;
}

/** Reads go.mod and go.sum of a project (go.sum empty when absent). */
export async function readModFiles(dir: string): Promise<{ goMod: string; goSum: string }> {
  return {
    goMod: await Deno.readTextFile(join(dir, "go.mod")),
    goSum: await Deno.readTextFile(join(dir, "go.sum")).catch(() => ""),
  };
}
