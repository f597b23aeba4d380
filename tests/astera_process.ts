/**
 * Starts Astera the way a user does (`deno run … main.ts` with flags) as a
 * child process, and finds its port from the `listening` log line.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

/**
 * The command that starts Astera: `ASTERA_TEST_SERVER`, a JSON array of
 * strings, when set (scripts/arm64.sh runs the bundled server under qemu this
 * way), else `deno run --allow-all main.ts`. The flags are appended to it.
 */
function serverCommand(): string[] {
  const custom = Deno.env.get("ASTERA_TEST_SERVER");
  // The same permission set and V8 flags as `deno task serve`, so the tests catch a permission the
  // server lacks and run the code paths the flags switch on.
  if (!custom) {
    const config = JSON.parse(Deno.readTextFileSync(CONFIG)) as { tasks: { serve: string } };
    const v8Flags = config.tasks.serve.split(/\s+/).filter((word) =>
      word.startsWith("--v8-flags=")
    );
    return [Deno.execPath(), "run", "-P=serve", ...v8Flags, "--config", CONFIG, MAIN];
  }
  const parsed: unknown = JSON.parse(custom);
  if (
    !Array.isArray(parsed) || parsed.length === 0 ||
    !parsed.every((part): part is string => typeof part === "string")
  ) {
    throw new TypeError("ASTERA_TEST_SERVER must be a JSON array of strings");
  }
  return parsed;
}

/** A running Astera child process. */
export interface AsteraProcess {
  url: string;
  /** Every stderr line so far. */
  log: string[];
  /** Sends `signal` (SIGTERM: a graceful stop; SIGKILL: a crash) and waits for the exit; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Sends `signal` (SIGHUP: read the certificate and auth file again) and returns at once. */
  signal(signal: Deno.Signal): void;
  /** Fetches `/_astera/stats`. */
  stats(): Promise<Record<string, Record<string, unknown>>>;
}

/** Astera ended before it logged `listening`: its exit code and every stderr line. */
export class AsteraExitedError extends Error {
  override name = "AsteraExitedError";
  constructor(readonly code: number, readonly log: string[]) {
    super(`astera exited (status ${code}) before listening:\n${log.join("\n")}`);
  }
}

/**
 * Starts `main.ts` (or `ASTERA_TEST_SERVER`) with `args` plus `--listen 127.0.0.1:0`
 * (a `--listen` in `args` wins). Throws {@linkcode AsteraExitedError} when it exits first.
 *
 * @example
 * ```ts ignore
 * import { startAsteraProcess } from "./astera_process.ts";
 * const astera = await startAsteraProcess(["--db", "/tmp/a.db", "--upstream", "http://127.0.0.1:1"]);
 * await astera.stop();
 * ```
 */
export async function startAsteraProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<AsteraProcess> {
  const [program, ...programArgs] = serverCommand();
  const child = new Deno.Command(program, {
    args: [...programArgs, "--listen", "127.0.0.1:0", ...args],
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines());
  const reader = lines.getReader();
  let url = "";
  while (!url) {
    const { done, value } = await reader.read();
    if (done) throw new AsteraExitedError((await child.status).code, log);
    log.push(value);
    const match = / listening address=(\S+)/.exec(value);
    if (match) url = `${/ tls=/.test(value) ? "https" : "http"}://${match[1]}`;
  }
  // Keep draining stderr so the child never blocks on a full pipe.
  const drained = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      log.push(value);
    }
  })();
  return {
    url,
    log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      child.kill(signal);
      const status = await child.status;
      await drained;
      return status.code;
    },
    signal(signal) {
      child.kill(signal);
    },
    async stats() {
      const response = await fetch(`${url}/_astera/stats`);
      return await response.json();
    },
  };
}

function splitLines(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
    flush(controller) {
      if (buffer) controller.enqueue(buffer);
    },
  });
}
