/**
 * The benchmark's measuring instruments: peak resident memory of a process
 * tree (the kernel's high-water mark, reset per workload, plus sampling),
 * many concurrent `go mod download` clients each with its own empty module
 * cache, wrk for requests per second and latency percentiles, and many
 * concurrent curl downloads of one large file.
 *
 * @module
 */
import { join } from "node:path";
import { copyProject, type GoClient, makeGoClient, removeTree } from "../../tests/go_tool.ts";

/** The `kB` value of a field of `/proc/<pid>/status`, in bytes (0 when gone). */
function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) used so far by `pid`, the children it reaped,
 * and its living descendants (nginx's workers, Athens's go commands).
 */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${member}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime, stime, cutime, cstime are fields 14–17 of stat, 12–15 after the name.
      ticks += [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / CLOCK_TICKS;
}

/** Clock ticks per second of `/proc/<pid>/stat` (Linux's USER_HZ, 100 on every common build). */
const CLOCK_TICKS = 100;

/** `pid` and all its descendants now living. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry.name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return out;
}

/**
 * Peak resident memory of a process tree during a stretch of work: the
 * kernel's high-water mark (`VmHWM`, reset through `clear_refs` at the start)
 * of each process, and the sampled sum of `VmRSS` over the tree.
 *
 * @example
 * ```ts ignore
 * import { MemoryWatch } from "./measure.ts";
 * const watch = new MemoryWatch(pid);
 * watch.begin();
 * await work();
 * console.log(watch.end() / 2 ** 20, "MiB");
 * ```
 */
export class MemoryWatch {
  #pid: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #peak = 0;
  #cpuAtBegin = 0;
  /** CPU seconds the process used between the last begin and end. */
  cpu = 0;

  constructor(pid: number) {
    this.#pid = pid;
  }

  /** Resets the high-water marks and starts sampling. */
  begin(): void {
    this.#peak = 0;
    this.#cpuAtBegin = cpuSeconds(this.#pid);
    for (const pid of processTree(this.#pid)) {
      try {
        Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
      } catch {
        // not ours to reset: sampling still measures it
      }
    }
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 100);
  }

  /** Stops sampling; returns the peak in bytes since {@linkcode MemoryWatch.begin}. */
  end(): number {
    clearInterval(this.#timer);
    this.cpu = cpuSeconds(this.#pid) - this.#cpuAtBegin;
    this.#sample();
    for (const pid of processTree(this.#pid)) {
      this.#peak = Math.max(this.#peak, statusBytes(pid, "VmHWM"));
    }
    return this.#peak;
  }

  #sample(): void {
    let sum = 0;
    for (const pid of processTree(this.#pid)) sum += statusBytes(pid, "VmRSS");
    this.#peak = Math.max(this.#peak, sum);
  }
}

/** The outcome of a run of go clients. */
export interface ClientsResult {
  wallMs: number;
  /** Clients that failed, with the end of their stderr. */
  failures: string[];
  /** CPU seconds the clients used (with 2 cores, wall time is at least half of it). */
  clientCpu: number;
}

/** CPU seconds of this process's reaped children (cutime + cstime). */
function childrenCpu(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/**
 * Writes back dirty pages and, when allowed (root), empties the page cache, so
 * that a workload starts from the same memory state whichever ran before it.
 * Without this, 40 clients extracting module caches leave gigabytes of page
 * cache behind, and the next workload's clients pay for reclaiming it in
 * system time (seen here: the same 10 clients through nginx took 23 s after
 * a drop and 35 s right after an identical run through Astera, and the other
 * way round), which made whichever system ran second look slower.
 */
export async function settleDisk(): Promise<void> {
  await new Deno.Command("sync", { stdin: "null", stdout: "null", stderr: "null" }).output()
    .catch(() => {});
  try {
    await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3");
  } catch {
    // Not root: dirty pages are at least written back.
  }
}

/**
 * Runs `count` concurrent `go <args>` (`go mod download` by default) in copies
 * of `project`, each with its own empty module cache, against `goproxy`. The wall time runs from the
 * first start to the last exit; setting up and removing caches is outside it.
 *
 * @example
 * ```ts ignore
 * import { runGoClients } from "./measure.ts";
 * const { wallMs } = await runGoClients("http://127.0.0.1:8080", 40, project, "/tmp/gocache");
 * ```
 */
export async function runGoClients(
  goproxy: string | readonly string[],
  count: number,
  project: Record<string, string>,
  buildCache: string,
  args: readonly string[] = ["mod", "download"],
): Promise<ClientsResult> {
  const clients: { go: GoClient; dir: string }[] = [];
  for (let i = 0; i < count; i++) {
    // Several proxies (instances sharing one database): the clients spread over them in turn.
    const url = typeof goproxy === "string" ? goproxy : goproxy[i % goproxy.length];
    clients.push({ go: await makeGoClient(url, buildCache), dir: await copyProject(project) });
  }
  await settleDisk();
  const cpuBefore = childrenCpu();
  const started = performance.now();
  const results = await Promise.all(
    clients.map(({ go, dir }) => go.run(dir, [...args], true)),
  );
  const wallMs = performance.now() - started;
  const clientCpu = childrenCpu() - cpuBefore;
  const failures = results.filter((r) => r.code !== 0).map((r) =>
    r.stderr.trim().split("\n").slice(-2).join(" / ")
  );
  await Promise.all(clients.map(async ({ go, dir }) => {
    await go.remove();
    await removeTree(dir);
  }));
  return { wallMs, failures, clientCpu };
}

/** Throughput and latency of one wrk run. */
export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses other than 2xx/3xx, and socket errors. */
  errors: number;
}

function parseDuration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === "us"
    ? value / 1000
    : match[2] === "ms"
    ? value
    : match[2] === "s"
    ? value * 1000
    : value * 60_000;
}

/**
 * Runs wrk against `url` with `connections` connections for `seconds`.
 *
 * @example
 * ```ts ignore
 * import { runWrk } from "./measure.ts";
 * const { rps, p99Ms } = await runWrk("/usr/bin/wrk", "http://127.0.0.1:8080/m/@v/list", 40, 5);
 * ```
 */
export async function runWrk(
  wrk: string,
  url: string,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const output = await new Deno.Command(wrk, {
    // wrk refuses fewer connections than threads (`--clients 1`).
    args: [
      `-t${Math.min(2, connections)}`,
      `-c${connections}`,
      `-d${seconds}s`,
      "--latency",
      "--timeout",
      "10s",
      url,
    ],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (output.code !== 0) throw new Error(`wrk failed: ${text.trim()}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const p50 = parseDuration(/^\s+50%\s+(\S+)/m.exec(text)?.[1] ?? "");
  const p99 = parseDuration(/^\s+99%\s+(\S+)/m.exec(text)?.[1] ?? "");
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { rps, p50Ms: p50, p99Ms: p99, errors: non2xx + socketErrors };
}

/**
 * Downloads `url` with `count` concurrent curl processes, discarding the
 * bytes; checks every download got `size` bytes with status 200.
 *
 * @example
 * ```ts ignore
 * import { pullConcurrently } from "./measure.ts";
 * const { wallMs, failures } = await pullConcurrently("curl", url, 40, 100e6);
 * ```
 */
export async function pullConcurrently(
  curl: string,
  url: string,
  count: number,
  size: number,
): Promise<ClientsResult> {
  const cpuBefore = childrenCpu();
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: count }, () =>
      new Deno.Command(curl, {
        args: ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url],
        stdin: "null",
      }).output()),
  );
  const wallMs = performance.now() - started;
  const failures = results
    .map((r) => new TextDecoder().decode(r.stdout).trim())
    .filter((out) => out !== `200 ${size}`)
    .map((out) => `curl got ${out || "nothing"}`);
  return { wallMs, failures, clientCpu: childrenCpu() - cpuBefore };
}

/** A fresh directory below `parent`. */
export async function freshDir(parent: string, name: string): Promise<string> {
  const dir = join(parent, name);
  await removeTree(dir);
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}
