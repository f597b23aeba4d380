/**
 * The `git` subprocess runner. Every git invocation in Astera goes through
 * {@linkcode runGit}: arguments as an array (never a shell), options refused
 * where a ref or path is expected, no terminal prompts, a timeout that kills
 * the process, a cap on output, and error messages with credentials removed.
 *
 * Authentication is the operator's own: the server user's git configuration
 * and environment (`url.<base>.insteadOf`, credential helpers, ssh keys,
 * `GIT_CONFIG_GLOBAL`, `GIT_ALLOW_PROTOCOL`) are inherited unchanged.
 *
 * @module
 */
import { concatBytes } from "../../util/bytes.ts";
import { errorText } from "../../util/errors.ts";
import { redactCredentials, redactUrl } from "../../log.ts";

/** Re-exported so git callers need one import; the rules themselves live in `log.ts`. */
export { redactCredentials, redactUrl };

/** Default time a git command may run before it is killed. */
export const DEFAULT_GIT_TIMEOUT_MS = 120_000;

/** Default cap on what one git command may print on stdout. */
export const DEFAULT_GIT_MAX_OUTPUT = 64 * 1024 * 1024;

/** How much stderr is kept for error messages; git's diagnostics are short. */
const MAX_STDERR = 64 * 1024;

/**
 * A git command failed: it could not start, exited non-zero, timed out, or
 * printed more than allowed. `message` and `stderr` never contain credentials.
 *
 * @example
 * ```ts
 * import { GitError, runGit } from "./run.ts";
 * try {
 *   await runGit(["rev-parse", "--verify", "no-such-ref"], { cwd: "/tmp" });
 * } catch (err) {
 *   if (err instanceof GitError) console.log(err.exitCode, err.stderr);
 * }
 * ```
 */
export class GitError extends Error {
  override name = "GitError";
  /** The exit code, or null when git did not exit by itself (timeout, cap, spawn failure). */
  readonly exitCode: number | null;
  /** git's stderr, credentials removed. */
  readonly stderr: string;
  /** Whether the command was killed because it ran too long. */
  readonly timedOut: boolean;

  constructor(
    message: string,
    options: { exitCode?: number | null; stderr?: string; timedOut?: boolean } = {},
  ) {
    super(redactCredentials(message));
    this.exitCode = options.exitCode ?? null;
    this.stderr = redactCredentials(options.stderr ?? "");
    this.timedOut = options.timedOut ?? false;
  }
}

/**
 * What went wrong, from git's stderr, on one line: its `fatal:`, `error:` and
 * `remote:` lines (git's last line is often advice such as "and the
 * repository exists."), else its last lines; at most 500 characters.
 *
 * @example
 * ```ts
 * import { gitReason } from "./run.ts";
 * console.log(gitReason("fatal: '/r' does not appear to be a git repository\n\nPlease make sure\nand the repository exists."));
 * // fatal: '/r' does not appear to be a git repository
 * ```
 */
export function gitReason(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  const said = lines.filter((line) => /^(fatal|error|remote):/i.test(line));
  return (said.length > 0 ? said : lines.slice(-3)).join(" | ").slice(0, 500);
}

/** Options for {@linkcode runGit}. */
export interface GitRunOptions {
  /** Working directory. */
  cwd?: string;
  /** Sets `GIT_DIR`, so bare repositories work even with `safe.bareRepository=explicit`. */
  gitDir?: string;
  /**
   * Kill the process after this long (default {@linkcode DEFAULT_GIT_TIMEOUT_MS}); for
   * {@linkcode streamGit}, after this long without output while it is being read.
   */
  timeoutMs?: number;
  /** Fail once stdout exceeds this many bytes (default {@linkcode DEFAULT_GIT_MAX_OUTPUT}). */
  maxOutput?: number;
  /** Exit codes that count as success (default `[0]`); others throw {@linkcode GitError}. */
  okExitCodes?: number[];
  /** Aborts the command (the process is killed). */
  signal?: AbortSignal;
  /** Extra environment variables, on top of the inherited ones. */
  env?: Record<string, string>;
}

/** What a finished git command produced. */
export interface GitResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: string;
}

/**
 * Refuses a ref, revision, path or URL argument that git could read as an
 * option or that carries control characters. Call it on every value that
 * came from a request before it reaches a git command line.
 *
 * @example
 * ```ts
 * import { checkGitArg } from "./run.ts";
 * checkGitArg("v1.2.3", "ref"); // fine
 * try { checkGitArg("--upload-pack=touch /tmp/x", "ref"); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function checkGitArg(value: string, what: string): void {
  if (value === "") throw new GitError(`empty ${what}`);
  if (value.startsWith("-")) throw new GitError(`refusing ${what} that begins with '-': ${value}`);
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) throw new GitError(`refusing ${what} with control characters`);
}

/**
 * The environment git runs with: the server user's own, plus settings that
 * make a missing credential fail at once instead of waiting on a prompt that
 * nobody will answer.
 *
 * @example
 * ```ts
 * import { gitEnvironment } from "./run.ts";
 * console.log(gitEnvironment().GIT_TERMINAL_PROMPT); // "0"
 * ```
 */
export function gitEnvironment(): Record<string, string> {
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: "0",
    LC_ALL: "C",
    // Credential managers that pop up dialogs must not wait for a human.
    GCM_INTERACTIVE: "never",
  };
  // Like the go command: ssh in batch mode (no passphrase or host-key
  // prompts), unless the operator chose their own ssh command, in the
  // environment or as core.sshCommand in their git configuration.
  if (
    Deno.env.get("GIT_SSH") === undefined && Deno.env.get("GIT_SSH_COMMAND") === undefined &&
    !configuredSshCommand()
  ) {
    env.GIT_SSH_COMMAND = "ssh -o ControlMaster=no -o BatchMode=yes";
  }
  return env;
}

/** Whether the user's git configuration sets core.sshCommand (asked once per configuration file). */
const sshCommandByConfig = new Map<string, boolean>();
function configuredSshCommand(): boolean {
  const key = `${Deno.env.get("GIT_CONFIG_GLOBAL") ?? ""}\0${Deno.env.get("HOME") ?? ""}`;
  let known = sshCommandByConfig.get(key);
  if (known === undefined) {
    try {
      const out = new Deno.Command("git", {
        args: ["config", "--get", "core.sshCommand"],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      known = out.success && new TextDecoder().decode(out.stdout).trim() !== "";
    } catch {
      known = false;
    }
    sshCommandByConfig.set(key, known);
  }
  return known;
}

/**
 * Runs `git` with `args` (no shell) and returns its output, or throws
 * {@linkcode GitError}. The process is killed on timeout, on abort, or when
 * stdout passes `maxOutput`.
 *
 * @example
 * ```ts
 * import { runGit } from "./run.ts";
 * const { stdout } = await runGit(["--version"]);
 * console.log(new TextDecoder().decode(stdout));
 * ```
 */
export async function runGit(args: string[], options: GitRunOptions = {}): Promise<GitResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  const maxOutput = options.maxOutput ?? DEFAULT_GIT_MAX_OUTPUT;
  const git = startGit(args, options);
  git.arm(timeoutMs);
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let overflowed = false;
    for (;;) {
      const read = await git.stdout.read().catch(() => ({ done: true as const, value: undefined }));
      if (read.done) break;
      total += read.value.byteLength;
      if (total > maxOutput) {
        overflowed = true;
        git.kill();
        break;
      }
      chunks.push(read.value);
    }
    const [status, stderr] = await Promise.all([git.child.status, git.stderr]);
    if (overflowed && !git.timedOut()) {
      throw new GitError(`${git.label}: output larger than ${maxOutput} bytes`, { stderr });
    }
    checkExit(
      git,
      status.code,
      stderr,
      options.okExitCodes ?? [0],
      `timed out after ${timeoutMs} ms`,
    );
    return { exitCode: status.code, stdout: concatBytes(chunks), stderr };
  } finally {
    git.done();
  }
}

/**
 * Runs git like {@linkcode runGit} and returns stdout as text.
 *
 * @example
 * ```ts
 * import { gitText } from "./run.ts";
 * console.log(await gitText(["--version"]));
 * ```
 */
export async function gitText(args: string[], options: GitRunOptions = {}): Promise<string> {
  const { stdout } = await runGit(args, options);
  return new TextDecoder().decode(stdout);
}

/**
 * Runs git like {@linkcode runGit} but hands stdout over as it arrives,
 * one chunk per step, so a large output (an archive) never sits whole in
 * memory. git is only read as fast as the caller asks, so `timeoutMs` here
 * bounds how long git may go without output while it is being read (the
 * caller's own time with a chunk does not count: a slow consumer is not a
 * stuck git). git is killed at once when the caller stops early (returns,
 * throws), on that timeout, on abort, or when stdout passes `maxOutput`.
 * After the last chunk the exit status is checked and a failure throws
 * {@linkcode GitError}.
 *
 * @example
 * ```ts
 * import { streamGit } from "./run.ts";
 * let bytes = 0;
 * for await (const chunk of streamGit(["archive", "--format=tar", "HEAD"])) bytes += chunk.length;
 * console.log(bytes);
 * ```
 */
export async function* streamGit(
  args: string[],
  options: GitRunOptions = {},
): AsyncGenerator<Uint8Array> {
  const maxOutput = options.maxOutput ?? Number.MAX_SAFE_INTEGER;
  const idleMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  const git = startGit(args, options);
  let finished = false;
  try {
    let total = 0;
    for (;;) {
      git.arm(idleMs);
      const read = await git.stdout.read().catch(() => ({ done: true as const, value: undefined }));
      git.disarm();
      if (read.done) break;
      total += read.value.byteLength;
      if (total > maxOutput) {
        throw new GitError(`${git.label}: output larger than ${maxOutput} bytes`);
      }
      yield read.value;
    }
    git.arm(idleMs);
    const [status, stderr] = await Promise.all([git.child.status, git.stderr]);
    finished = true;
    checkExit(git, status.code, stderr, [0], `no output for ${idleMs} ms`);
  } finally {
    git.done();
    if (!finished) {
      // The caller stopped early (or the output cap was passed): stop git now.
      git.kill();
      await git.child.status.catch(() => {});
    }
  }
}

/** A spawned git: its stdout reader, its stderr being collected, and its kill switch. */
interface SpawnedGit {
  child: Deno.ChildProcess;
  stdout: ReadableStreamDefaultReader<Uint8Array>;
  /** git's stderr (first {@linkcode MAX_STDERR} bytes), once it closes or git is killed. */
  stderr: Promise<string>;
  label: string;
  /** Kills git after `ms` unless disarmed (or re-armed) first. */
  arm(ms: number): void;
  disarm(): void;
  kill(): void;
  timedOut(): boolean;
  aborted(): boolean;
  /** Disarms the timer and lets go of the caller's abort signal. */
  done(): void;
}

/** Spawns git with its kill switch wired to the caller's abort signal; the timer is the caller's to arm. */
function startGit(args: string[], options: GitRunOptions): SpawnedGit {
  const env = { ...gitEnvironment(), ...options.env };
  if (options.gitDir !== undefined) env.GIT_DIR = options.gitDir;
  const label = `git ${args.slice(0, 3).join(" ")}`;
  const killer = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const disarm = () => clearTimeout(timer);
  const arm = (ms: number) => {
    disarm();
    timer = setTimeout(() => {
      timedOut = true;
      killer.abort();
    }, ms);
  };
  const onAbort = () => killer.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) killer.abort();
  const done = () => {
    disarm();
    options.signal?.removeEventListener("abort", onAbort);
  };
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("git", {
      args,
      cwd: options.cwd,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: killer.signal,
    }).spawn();
  } catch (err) {
    done();
    throw new GitError(`${label}: cannot start git: ${errorText(err)}`);
  }
  const stdout = child.stdout.getReader();
  const stderrReader = child.stderr.getReader();
  // Children of git (an ssh, a credential helper, an alias) can outlive a
  // killed git and keep the pipes open, so on kill the readers are cancelled
  // rather than drained to the end.
  const cancel = () => {
    stdout.cancel().catch(() => {});
    stderrReader.cancel().catch(() => {});
  };
  if (killer.signal.aborted) cancel();
  else killer.signal.addEventListener("abort", cancel, { once: true });
  return {
    child,
    stdout,
    stderr: readStderr(stderrReader),
    label,
    arm,
    disarm,
    kill: () => killer.abort(),
    timedOut: () => timedOut,
    aborted: () => options.signal?.aborted === true,
    done,
  };
}

/** Throws the {@linkcode GitError} for a git that was killed or exited with a code not in `okExitCodes`. */
function checkExit(
  git: SpawnedGit,
  code: number,
  stderr: string,
  okExitCodes: number[],
  timeoutWhy: string,
): void {
  const killed = git.timedOut() || git.aborted();
  let why = git.timedOut() ? timeoutWhy : killed ? "aborted" : "";
  if (!killed && !okExitCodes.includes(code)) {
    const reason = gitReason(stderr);
    why = `exit ${code}${reason ? `: ${reason}` : ""}`;
  }
  if (why === "") return;
  throw new GitError(`${git.label}: ${why}`, {
    exitCode: killed ? null : code,
    stderr,
    timedOut: git.timedOut(),
  });
}

/** Reads up to {@linkcode MAX_STDERR} bytes of stderr as text; the rest is read and dropped. */
async function readStderr(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total < MAX_STDERR) chunks.push(value.subarray(0, MAX_STDERR - total));
      total += value.byteLength;
    }
  } catch {
    // A cancelled read ends stderr.
  }
  return new TextDecoder().decode(concatBytes(chunks)).trim();
}
