/**
 * The systems the benchmark compares, each started the way its users start
 * it and each exposing the process ids to measure: Astera (`deno run
 * -P=serve main.ts` with flags, as `deno task serve` runs it, on a fresh
 * database), nginx (Debian's package, serving the universe's files from disk
 * as a plain static GOPROXY) and Athens (`go install`ed, disk storage, the same
 * upstream), plus the tools they need (installed with apt-get when missing).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GO } from "../../tests/go_tool.ts";
import { errorText } from "../../lib/util/errors.ts";

/** The repository root (where `deno.json` and `main.ts` are). */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** A running system under test. */
export interface System {
  name: string;
  /** GOPROXY base URL. */
  url: string;
  /** The process whose tree is measured (the server itself, not a wrapper). */
  pid: number;
  stop(): Promise<void>;
}

/** A free loopback port (there is a small race until the server binds it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * A certificate and key for a system to serve HTTPS with, and the CA that
 * signed them (which the benchmark's own requests trust).
 */
export interface BenchTls {
  cert: string;
  key: string;
  caCert: string;
}

/** Waits until `url` answers (any status but 503), or throws after `timeoutMs`; `tls` names the CA to trust. */
export async function waitForHttp(
  url: string,
  timeoutMs = 30_000,
  alive?: () => boolean,
  tls?: BenchTls,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  using client = tls
    ? Deno.createHttpClient({ caCerts: [await Deno.readTextFile(tls.caCert)] })
    : undefined;
  for (;;) {
    try {
      const response = await fetch(url, { client });
      await response.body?.cancel();
      // Astera's /healthz says 503 until every isolate listens.
      if (response.status !== 503) return;
      throw new Error(`${response.status} ${response.statusText}`);
    } catch (error) {
      if (Date.now() > deadline || (alive && !alive())) {
        throw new Error(`${url} did not answer: ${errorText(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A child process whose output goes to a log file; resolves once spawned. */
async function spawnLogged(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; log: string; clearEnv?: boolean },
): Promise<{ child: Deno.ChildProcess; exited: () => boolean; stop: () => Promise<void> }> {
  const logFile = await Deno.open(options.log, { write: true, create: true, truncate: true });
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = logFile.writable.getWriter();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await writer.write(chunk);
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]).finally(() =>
    writer.close().catch(() => {})
  );
  let done = false;
  child.status.then(() => done = true);
  return {
    child,
    exited: () => done,
    async stop() {
      if (!done) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
        }, 10_000);
        await child.status;
        clearTimeout(timer);
      }
      await pumped.catch(() => {});
    },
  };
}

/** Fetches Astera's `/_astera/stats`. */
export async function asteraStats(url: string): Promise<AsteraStats> {
  const response = await fetch(`${url}/_astera/stats`);
  return await response.json() as AsteraStats;
}

/** The part of `/_astera/stats` the benchmark reads. */
export interface AsteraStats {
  handler: { requests: number; errors: number };
  store: { reads: number; writes: number; busyRetries: number };
  proxy: { sourceFetches: number; liveDownloads: number; fetchCoalesced: number };
  reclaim: { active: boolean; collections: number; ms: number };
  /** With `--max-bytes` only. */
  budget?: {
    maxBytes: number;
    storedBytes: number;
    evictions: number;
    evictedBytes: number;
    pinnedSkips: number;
  };
  /** Absent with `--prefetch off`. */
  prefetch?: {
    queued: number;
    running: number;
    prefetches: number;
    prefetchedBytes: number;
    hits: number;
    unasked: number;
    unaskedBytes: number;
  };
}

/**
 * The command of `deno task serve` from deno.json (`deno run … main.ts`), with
 * this Deno's path: run directly, not through `deno task`, so the measured
 * process is the server itself rather than the task runner.
 */
export async function serveTask(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json"))) as {
    tasks?: Record<string, string>;
  };
  // Leading `NAME=value` words (DENO_NO_UPDATE_CHECK=1) are the task's environment, which
  // the benchmark inherits from its own task.
  const words = (config.tasks?.serve ?? "").trim().split(/\s+/);
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? "")) words.shift();
  if (words[0] !== "deno" || words.at(-1) !== "main.ts") {
    throw new Error(`deno.json's serve task is not "deno … main.ts": ${config.tasks?.serve}`);
  }
  return [Deno.execPath(), ...words.slice(1)];
}

/**
 * Starts Astera as a user does: the command of `deno task serve` with flags.
 *
 * @example
 * ```ts ignore
 * import { startAstera } from "./systems.ts";
 * const astera = await startAstera({ db: "/tmp/b.db", upstream: "http://127.0.0.1:9000", log: "/tmp/a.log" });
 * await astera.stop();
 * ```
 */
export async function startAstera(
  options: {
    db: string;
    upstream: string;
    log: string;
    extraArgs?: string[];
    denoArgs?: string[];
    /** Serve HTTPS with this pair. */
    tls?: BenchTls;
  },
): Promise<System> {
  const port = freePort();
  const [deno, ...taskArgs] = await serveTask();
  const args = [
    ...taskArgs.slice(0, -1),
    ...(options.denoArgs ?? []),
    ...taskArgs.slice(-1),
    "--listen",
    `127.0.0.1:${port}`,
    "--db",
    options.db,
    "--upstream",
    options.upstream,
    "--quiet",
    ...(options.tls ? ["--tls-cert", options.tls.cert, "--tls-key", options.tls.key] : []),
    ...(options.extraArgs ?? []),
  ];
  const process = await spawnLogged(deno, args, {
    cwd: REPO,
    env: { NO_COLOR: "1" },
    log: options.log,
  });
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  const alive = () => !process.exited();
  await waitForHttp(`${url}/healthz`, 60_000, alive, options.tls).catch(async (error) => {
    await process.stop();
    throw new Error(`astera did not start (log ${options.log}): ${error.message}`);
  });
  return { name: "Astera", url, pid: process.child.pid, stop: process.stop };
}

/** Runs a command and returns its exit code and output (never throws for a failure). */
export async function run(
  program: string,
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number; out: string }> {
  try {
    const output = await new Deno.Command(program, { args, env, stdin: "null" }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, out: decode(output.stdout) + decode(output.stderr) };
  } catch (error) {
    return { code: 127, out: errorText(error) };
  }
}

/** The first of `candidates` that exists and is executable, else null. */
async function findProgram(candidates: string[]): Promise<string | null> {
  for (const candidate of candidates) {
    const found = (await run("sh", ["-c", `command -v ${candidate}`])).out.trim();
    if (found) return found;
  }
  return null;
}

/**
 * A program from a Debian package, installed with apt-get when missing.
 * Returns its path, or throws with apt-get's complaint.
 *
 * @example
 * ```ts ignore
 * import { ensureDebianProgram } from "./systems.ts";
 * const wrk = await ensureDebianProgram("wrk", ["wrk"]);
 * ```
 */
export async function ensureDebianProgram(program: string, packages: string[]): Promise<string> {
  const candidates = [program, `/usr/sbin/${program}`, `/usr/bin/${program}`];
  const found = await findProgram(candidates);
  if (found) return found;
  const env = { ...Deno.env.toObject(), DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args: string[]) =>
    Deno.uid() === 0 ? run("apt-get", args, env) : run("sudo", ["-n", "apt-get", ...args], env);
  let result = await apt(["install", "-y", "-q", ...packages]);
  if (result.code !== 0) {
    await apt(["update", "-q"]);
    result = await apt(["install", "-y", "-q", ...packages]);
  }
  const installed = await findProgram(candidates);
  if (!installed) {
    throw new Error(`apt-get install ${packages.join(" ")} failed: ${lastLines(result.out, 3)}`);
  }
  return installed;
}

/** The last `n` non-empty lines of `text`, joined. */
export function lastLines(text: string, n: number): string {
  return text.trim().split("\n").filter((line) => line.trim()).slice(-n).join(" / ");
}

/**
 * Starts nginx over `root` (a directory in GOPROXY layout), as a plain static
 * file server: sendfile, no access log, two workers (one per core); HTTPS
 * with `tls`.
 *
 * @example
 * ```ts ignore
 * import { startNginx } from "./systems.ts";
 * const nginx = await startNginx("/usr/sbin/nginx", "/tmp/universe", "/tmp/nginx");
 * await nginx.stop();
 * ```
 */
export async function startNginx(
  nginx: string,
  root: string,
  dir: string,
  tls?: BenchTls,
): Promise<System> {
  await Deno.mkdir(dir, { recursive: true });
  const port = freePort();
  const conf = join(dir, "nginx.conf");
  const temp = (name: string) => join(dir, name);
  await Deno.writeTextFile(
    conf,
    `worker_processes 2;
daemon off;
pid ${temp("nginx.pid")};
error_log ${temp("error.log")} warn;
${Deno.uid() === 0 ? "user root;" : ""}
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${temp("body")};
  proxy_temp_path ${temp("proxy")};
  fastcgi_temp_path ${temp("fastcgi")};
  uwsgi_temp_path ${temp("uwsgi")};
  scgi_temp_path ${temp("scgi")};
  types { application/zip zip; application/json info; }
  default_type "text/plain; charset=utf-8";
  server {
    listen 127.0.0.1:${port}${tls ? " ssl" : ""};
    ${tls ? `ssl_certificate ${tls.cert};\n    ssl_certificate_key ${tls.key};` : ""}
    root ${root};
    location / { try_files $uri =404; }
  }
}
`,
  );
  const process = await spawnLogged(nginx, ["-c", conf, "-p", dir, "-e", temp("error.log")], {
    log: join(dir, "stdout.log"),
  });
  const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, 20_000, () => !process.exited(), tls).catch(async (error) => {
    await process.stop();
    const log = await Deno.readTextFile(temp("error.log")).catch(() => "");
    throw new Error(`nginx did not start: ${error.message} ${lastLines(log, 3)}`);
  });
  return { name: "nginx", url, pid: process.child.pid, stop: process.stop };
}

/** The Athens version the benchmark installs. */
export const ATHENS_VERSION = "v0.16.1";
const ATHENS_PACKAGE = "github.com/gomods/athens/cmd/proxy";

/**
 * Installs Athens with `go install` (into a cache directory kept between
 * runs). Returns the binary, or the reason it cannot be installed.
 *
 * @example
 * ```ts ignore
 * import { installAthens } from "./systems.ts";
 * const athens = await installAthens("/root/.cache/astera-bench");
 * console.log("binary" in athens ? athens.binary : athens.reason);
 * ```
 */
export async function installAthens(
  cacheDir: string,
): Promise<{ binary: string } | { reason: string }> {
  const bin = join(cacheDir, `athens-${ATHENS_VERSION}`);
  const binary = join(bin, "proxy");
  if (await Deno.stat(binary).then(() => true, () => false)) return { binary };
  await Deno.mkdir(bin, { recursive: true });
  const env = {
    ...Deno.env.toObject(),
    GOBIN: bin,
    GOFLAGS: "-mod=mod",
    GOTOOLCHAIN: Deno.env.get("GOTOOLCHAIN") ?? "local",
  };
  const result = await run(GO, ["install", `${ATHENS_PACKAGE}@${ATHENS_VERSION}`], env);
  if (result.code === 0 && await Deno.stat(binary).then(() => true, () => false)) {
    return { binary };
  }
  return {
    reason: `go install ${ATHENS_PACKAGE}@${ATHENS_VERSION} failed: ${lastLines(result.out, 2)}`,
  };
}

/**
 * Starts Athens with disk storage, fetching from `upstream` through its go
 * command (`GOPROXY=<upstream>`).
 *
 * @example
 * ```ts ignore
 * import { startAthens } from "./systems.ts";
 * const athens = await startAthens("/bin/proxy", "http://127.0.0.1:9000", "/tmp/athens");
 * await athens.stop();
 * ```
 */
export async function startAthens(binary: string, upstream: string, dir: string): Promise<System> {
  await Deno.mkdir(join(dir, "storage"), { recursive: true });
  await Deno.mkdir(join(dir, "home"), { recursive: true });
  const port = freePort();
  const env: Record<string, string> = {
    PATH: `${join(GO, "..")}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    HOME: join(dir, "home"),
    GO_BINARY_PATH: GO,
    GO_ENV: "production",
    ATHENS_STORAGE_TYPE: "disk",
    ATHENS_DISK_STORAGE_ROOT: join(dir, "storage"),
    ATHENS_PORT: `127.0.0.1:${port}`,
    PORT: `127.0.0.1:${port}`,
    ATHENS_LOG_LEVEL: "error",
    ATHENS_GO_BINARY_ENV_VARS: `GOPROXY=${upstream};GOSUMDB=off;GOTOOLCHAIN=local;GOFLAGS=-mod=mod`,
    ATHENS_GONOSUM_PATTERNS: "*",
    ATHENS_NETWORK_MODE: "fallback",
  };
  const process = await spawnLogged(binary, [], {
    env,
    clearEnv: true,
    log: join(dir, "athens.log"),
    cwd: dir,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 30_000, () => !process.exited()).catch(async (error) => {
    await process.stop();
    const log = await Deno.readTextFile(join(dir, "athens.log")).catch(() => "");
    throw new Error(`athens did not start: ${error.message} ${lastLines(log, 3)}`);
  });
  return { name: "Athens", url, pid: process.child.pid, stop: process.stop };
}

/**
 * Starts the bare Deno.serve (`floor.ts`) with the Deno flags of `deno task serve`,
 * serving `paths` below `root` from memory.
 *
 * @example
 * ```ts ignore
 * import { startFloor } from "./systems.ts";
 * const floor = await startFloor("/tmp/universe", ["/m/@v/list"], "/tmp/floor.log");
 * await floor.stop();
 * ```
 */
export async function startFloor(root: string, paths: string[], log: string): Promise<System> {
  const port = freePort();
  const [deno, ...taskArgs] = await serveTask();
  const args = [
    ...taskArgs.slice(0, -1),
    "scripts/bench/floor.ts",
    "--listen",
    `127.0.0.1:${port}`,
    "--root",
    root,
    ...paths,
  ];
  const process = await spawnLogged(deno, args, { cwd: REPO, env: { NO_COLOR: "1" }, log });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, 30_000, () => !process.exited()).catch(async (error) => {
    await process.stop();
    throw new Error(`the bare Deno.serve did not start (log ${log}): ${error.message}`);
  });
  return { name: "Deno.serve", url, pid: process.child.pid, stop: process.stop };
}
