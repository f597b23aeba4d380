/**
 * A real checksum database for tests: `sumdbserver/main.go`, built against
 * the go command's own copy of golang.org/x/mod (its `sumdb.Server` and
 * `sumdb.TestServer`), so the go command verifies through Astera exactly as
 * it verifies against sum.golang.org.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GO } from "./go_tool.ts";

const SOURCE = fileURLToPath(new URL("./sumdbserver/main.go", import.meta.url));

/** A running checksum database. */
export interface SumdbServer {
  /** Its base URL (an upstream for Astera: it serves `/sumdb/<name>/…`). */
  url: string;
  /** The verifier key, for `GOSUMDB`. */
  key: string;
  close(): Promise<void>;
}

/**
 * Builds the server in `work` and starts it over `goSum` (go.sum lines,
 * from the go command) as database `name`.
 */
export async function startSumdbServer(
  work: string,
  name: string,
  goSum: string,
  buildCache: string,
): Promise<SumdbServer> {
  const goRoot = new TextDecoder().decode(
    (await new Deno.Command(GO, { args: ["env", "GOROOT"] }).output()).stdout,
  ).trim();
  // The vendored x/mod has no go.mod of its own: a copy with one is a module to replace with.
  const xmod = join(work, "xmod");
  await copy(join(goRoot, "src/cmd/vendor/golang.org/x/mod"), xmod);
  await Deno.writeTextFile(join(xmod, "go.mod"), "module golang.org/x/mod\n\ngo 1.24\n");
  const dir = join(work, "sumdbserver");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.copyFile(SOURCE, join(dir, "main.go"));
  await Deno.writeTextFile(
    join(dir, "go.mod"),
    `module sumdbserver\n\ngo 1.24\n\nrequire golang.org/x/mod v0.0.0\n\nreplace golang.org/x/mod => ${xmod}\n`,
  );
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: work,
    GOCACHE: buildCache,
    GOPATH: join(work, "gopath"),
    GOPROXY: "off",
    GOFLAGS: "-mod=mod",
    GOTOOLCHAIN: "local",
    GOENV: "off",
    GOWORK: "off",
    CGO_ENABLED: "0",
  };
  const build = await new Deno.Command(GO, {
    args: ["build", "-o", join(dir, "sumdbserver"), "."],
    cwd: dir,
    env,
    clearEnv: true,
  }).output();
  if (build.code !== 0) {
    throw new Error(`building sumdbserver failed: ${new TextDecoder().decode(build.stderr)}`);
  }
  await Deno.writeTextFile(join(dir, "go.sum.lines"), goSum);
  const child = new Deno.Command(join(dir, "sumdbserver"), {
    args: [name, join(dir, "go.sum.lines")],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`sumdbserver exited before listening (${(await child.status).code})`);
    line += value;
  }
  const [key, url] = line.trim().split(" ");
  return {
    url,
    key,
    async close() {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

async function copy(from: string, to: string): Promise<void> {
  const result = await new Deno.Command("cp", { args: ["-r", from, to] }).output();
  if (result.code !== 0) throw new Error(`copying ${from} failed`);
}
