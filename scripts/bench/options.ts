/**
 * The benchmark's flags: their usage text, their parsing and checking into
 * {@linkcode BenchOptions}, with the defaults of a full and a `--quick` run.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseBytes, parseDuration } from "../../lib/config.ts";
import { REPO } from "./systems.ts";
import { DEEP_LEVELS } from "./universe.ts";

/**
 * The usage text, shown by `--help` and after a wrong flag.
 *
 * @example
 * ```ts ignore
 * console.log(USAGE);
 * ```
 */
export const USAGE =
  `usage: deno task bench [--quick] [--clients N] [--delay DURATION] [--bandwidth SIZE]
  [--store sqlite|postgres] [--instances N]
  [--modules N] [--deep-levels N] [--huge-mb N] [--universe DIR --project DIR] [--seconds N] [--systems direct,astera,budget,nginx,floor,athens,tls] [--out FILE] [--keep] [--cpu-prof DIR] [--astera-args="FLAGS"] [--go="mod download"]

  budget: Astera again with --max-bytes of half the universe, so eviction churns under the workloads
  --store postgres: also N Astera instances (--instances, default 3) on one throwaway PostgreSQL,
    the clients spread over them
  --go: what each go client runs (default "mod download"); e.g. "mod graph", or "mod tidy" with
    --project (its top-level .go files are copied)`;

/**
 * Flags of the benchmark.
 *
 * @example
 * ```ts ignore
 * const options: BenchOptions = parseBenchArgs(["--quick"]);
 * ```
 */
export interface BenchOptions {
  quick: boolean;
  clients: number;
  delayMs: number;
  bytesPerSecond: number;
  modules: number;
  /** Levels of the deep module graph added to the synthetic universe; 0 for none. */
  deepLevels: number;
  hugeBytes: number;
  wrkSeconds: number;
  systems: Set<string>;
  out: string;
  keep: boolean;
  /** Where Astera writes V8 CPU profiles (Deno's `--cpu-prof`), one per Astera process. */
  cpuProfDir?: string;
  /** Flags added to Astera's command line, e.g. `--gc-step 0` or `--workers 1`. */
  asteraArgs: string[];
  /** Also run Astera instances on a shared PostgreSQL (`--store postgres`). */
  store: "sqlite" | "postgres";
  /** How many instances share the PostgreSQL database. */
  instances: number;
  /** What each go client runs: `go mod download` by default (`["mod", "download"]`). */
  goArgs: string[];
  /** An existing universe (GOPROXY layout) and a project resolving against it, instead of the synthetic one. */
  universe?: { root: string; project: string };
}

/** Bandwidth as a size per second: `2MB/s`, `512KiB/s`, `0` for no cap. */
function parseRate(text: string): number {
  return parseBytes("bandwidth", text.trim().replace(/\/s$/i, ""));
}

/**
 * Parses the flags.
 *
 * @example
 * ```ts
 * import { parseBenchArgs } from "./options.ts";
 * console.log(parseBenchArgs(["--quick", "--delay", "50ms"]).delayMs); // 50
 * ```
 */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      clients: { type: "string" },
      delay: { type: "string", default: "150ms" },
      bandwidth: { type: "string", default: "2MB/s" },
      modules: { type: "string" },
      "deep-levels": { type: "string" },
      "huge-mb": { type: "string" },
      seconds: { type: "string" },
      systems: { type: "string", default: "direct,astera,budget,nginx,floor,athens,tls" },
      out: { type: "string" },
      keep: { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      "astera-args": { type: "string", default: "" },
      store: { type: "string", default: "sqlite" },
      instances: { type: "string" },
      universe: { type: "string" },
      project: { type: "string" },
      go: { type: "string", default: "mod download" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const quick = values.quick;
  const int = (text: string | undefined, fallback: number, name: string) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const systems = new Set(values.systems.split(",").map((s) => s.trim().toLowerCase()));
  for (const name of systems) {
    if (!["direct", "astera", "budget", "nginx", "floor", "athens", "tls"].includes(name)) {
      throw new Error(`unknown system ${name}`);
    }
  }
  if (values.store !== "sqlite" && values.store !== "postgres") {
    throw new Error(`--store must be sqlite or postgres, not ${values.store}`);
  }
  if ((values.universe === undefined) !== (values.project === undefined)) {
    throw new Error("--universe and --project go together");
  }
  return {
    universe: values.universe && values.project
      ? { root: values.universe, project: values.project }
      : undefined,
    quick,
    clients: int(values.clients, 40, "clients"),
    delayMs: parseDuration("delay", values.delay),
    bytesPerSecond: parseRate(values.bandwidth),
    modules: int(values.modules, quick ? 30 : 80, "modules"),
    deepLevels: values["deep-levels"] === "0"
      ? 0
      : int(values["deep-levels"], DEEP_LEVELS, "deep-levels"),
    hugeBytes: int(values["huge-mb"], quick ? 20 : 100, "huge-mb") * 1_000_000,
    wrkSeconds: int(values.seconds, quick ? 2 : 5, "seconds"),
    systems,
    out: values.out ?? join(REPO, "bench", quick ? "results-quick.md" : "results.md"),
    keep: values.keep,
    cpuProfDir: values["cpu-prof"],
    asteraArgs: values["astera-args"].split(/\s+/).filter((word) => word !== ""),
    goArgs: values.go.split(/\s+/).filter((word) => word !== ""),
    store: values.store,
    instances: int(values.instances, 3, "instances"),
  };
}
