/**
 * The benchmark's module universe: a deterministic, synthetic set of module
 * versions in GOPROXY layout (a few hundred versions from a few KB to a few
 * MB, one zip of exactly about 1 MB for the hot path and one huge zip for the
 * memory workload), a layered dependency graph in which later versions of a
 * module require later versions of their dependencies, and a project whose
 * `go.mod`/`go.sum` the go command itself resolves (`go mod tidy` over a
 * `file://` GOPROXY), so the workloads fetch exactly what a real build would.
 *
 * @module
 */
import { join } from "node:path";
import { escapePath, escapeVersion } from "../../lib/mod/module.ts";
import { copyProject, makeGoClient, removeTree } from "../../tests/go_tool.ts";
import { noise, random, type SyntheticVersion, writeUniverse } from "../../tests/universe.ts";

/** Shape of the universe. */
export interface UniverseOptions {
  /** Ordinary modules (each with 2–6 versions). */
  modules: number;
  /** Payload bytes of the huge module's zip. */
  hugeBytes: number;
  /** Seed of the generator: the same seed writes the same bytes. */
  seed?: number;
  /**
   * Levels of the deep graph the project also needs ({@linkcode deepGraph}); 0 for none.
   * Default {@linkcode DEEP_LEVELS}.
   */
  deepLevels?: number;
}

/**
 * Levels of the deep graph by default.
 *
 * @example
 * ```ts
 * import { DEEP_LEVELS } from "./universe.ts";
 * console.log(DEEP_LEVELS > 1); // true
 * ```
 */
export const DEEP_LEVELS = 6;

/**
 * A deep module graph: `levels` levels of three modules with three versions
 * each, all at `go 1.16` (unpruned, so the go command reads the go.mod of
 * every version named anywhere in it), each version requiring every module
 * of the next level, some at older versions. The go command learns it one
 * level at a time: a round trip per level before it knows what to ask next.
 * Returns the versions and the import paths of the first level.
 *
 * @example
 * ```ts
 * import { deepGraph } from "./universe.ts";
 * const { versions, roots } = deepGraph(3, () => 0.5);
 * console.log(versions.length, roots.length); // 27 3
 * ```
 */
export function deepGraph(
  levels: number,
  rand: () => number,
): { versions: SyntheticVersion[]; roots: string[] } {
  const WIDTH = 3;
  const HISTORY = 3;
  const name = (level: number, w: number) => `${HOST}/deep/l${level}w${w}`;
  const versions: SyntheticVersion[] = [];
  for (let level = 0; level < levels; level++) {
    for (let w = 0; w < WIDTH; w++) {
      const module = name(level, w);
      for (let k = 0; k < HISTORY; k++) {
        // Half the edges name an older version than the newest: superseded go.mods to read.
        const requires = level + 1 < levels
          ? Array.from({ length: WIDTH }, (_, w2) => ({
            module: name(level + 1, w2),
            version: `v1.${Math.max(0, k - ((w + w2) % 2))}.0`,
          }))
          : [];
        const goMod = `module ${module}

go 1.16
` +
          (requires.length
            ? `
require (
${
              requires.map((r) =>
                `	${r.module} ${r.version}
`
              ).join("")
            })
`
            : "");
        const pkg = `l${level}w${w}`;
        versions.push({
          module,
          version: `v1.${k}.0`,
          goMod,
          files: {
            [`${pkg}.go`]: `package ${pkg}

` +
              requires.map((r) =>
                `import _ "${r.module}"
`
              ).join(""),
            "testdata/payload.bin": noise(
              Math.round(2_000 + rand() * 20_000),
              level * 31 + w * 7 + k,
            ),
          },
          time: new Date(TIME0 + (level * 10 + k) * 86_400_000).toISOString().replace(
            /\.\d+Z$/,
            "Z",
          ),
        });
      }
    }
  }
  const roots = levels > 0 ? Array.from({ length: WIDTH }, (_, w) => name(0, w)) : [];
  return { versions, roots };
}

/** A written universe and the project that resolves against it. */
export interface Universe {
  root: string;
  /** Module versions written. */
  versions: number;
  /** Bytes of all files written. */
  bytes: number;
  /** The resolved project: `go.mod`, `go.sum` and `main.go`. */
  project: Record<string, string>;
  /** Modules (with versions) the project's build list holds. */
  buildList: string[];
  /** Paths for the hot-path workload, below the proxy root. */
  hot: { info: string; mod: string; list: string; zip: string };
  /** The huge zip's path below the proxy root, and its size. */
  huge: { path: string; size: number };
  /**
   * Three large zips (three Go toolchains, say) for the workload that pulls several
   * at once while they download: paths below the proxy root, and sizes.
   */
  large: { path: string; size: number }[];
}

const HOST = "bench.example";
const TIME0 = Date.UTC(2023, 0, 1);

function moduleName(i: number): string {
  const groups = ["net", "text", "sync", "codec", "log", "db", "cli", "util"];
  return `${HOST}/${groups[i % groups.length]}/m${String(i).padStart(3, "0")}`;
}

function packageName(module: string): string {
  return module.slice(module.lastIndexOf("/") + 1);
}

/** Zip payload size: most small, some medium, a few of a few MB. */
function payloadSize(rand: () => number): number {
  const r = rand();
  const between = (lo: number, hi: number) => Math.round(lo * (hi / lo) ** rand());
  if (r < 0.6) return between(1_000, 30_000);
  if (r < 0.9) return between(30_000, 300_000);
  if (r < 0.98) return between(300_000, 1_500_000);
  return between(1_500_000, 4_000_000);
}

/**
 * The versions of the universe: `modules` ordinary modules, `blob1m` (a 1 MB
 * zip the project needs) and `huge` (not in the project's graph).
 *
 * @example
 * ```ts
 * import { benchVersions } from "./universe.ts";
 * const { versions, roots } = benchVersions({ modules: 10, hugeBytes: 1000 });
 * console.log(versions.length > 10, roots.length > 0); // true true
 * ```
 */
export function benchVersions(
  options: UniverseOptions,
): { versions: SyntheticVersion[]; roots: string[] } {
  const rand = random(options.seed ?? 20240501);
  const n = options.modules;
  const counts = Array.from({ length: n }, () => 2 + Math.floor(rand() * 5));
  // Each module depends on up to four modules of higher index, mostly nearby ones.
  const deps = Array.from({ length: n }, (_, i) => {
    const chosen = new Set<number>();
    const wanted = i >= n - 3 ? 0 : Math.floor(rand() * 5);
    for (let tries = 0; chosen.size < wanted && tries < 20; tries++) {
      const j = i + 1 + Math.floor(rand() ** 2 * (n - i - 1));
      if (j < n) chosen.add(j);
    }
    return [...chosen].sort((a, b) => a - b);
  });
  const versions: SyntheticVersion[] = [];
  for (let i = 0; i < n; i++) {
    const module = moduleName(i);
    for (let k = 0; k < counts[i]; k++) {
      const version = `v1.${k}.0`;
      // Version k uses its first k+1 dependencies, each at the matching point of its history.
      const requires = deps[i].slice(0, k + 1).map((j) => {
        const v = Math.min(counts[j] - 1, Math.floor(((k + 1) * counts[j]) / (counts[i] + 1)));
        return { module: moduleName(j), version: `v1.${v}.0` };
      });
      const goMod = `module ${module}\n\ngo 1.21\n` +
        (requires.length
          ? `\nrequire (\n${requires.map((r) => `\t${r.module} ${r.version}\n`).join("")})\n`
          : "");
      const source = `package ${packageName(module)}\n\n` +
        requires.map((r) => `import _ "${r.module}"\n`).join("") +
        `\n// Version reports the version.\nfunc Version() string { return "${version}" }\n`;
      versions.push({
        module,
        version,
        goMod,
        files: {
          [`${packageName(module)}.go`]: source,
          "LICENSE": "Synthetic benchmark module.\n",
          "testdata/payload.bin": noise(payloadSize(rand), i * 97 + k + 1),
        },
        time: new Date(TIME0 + (i * 10 + k) * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
      });
    }
  }
  const special = (name: string, bytes: number, seed: number): SyntheticVersion => ({
    module: `${HOST}/${name}`,
    version: "v1.0.0",
    goMod: `module ${HOST}/${name}\n\ngo 1.21\n`,
    files: { [`${name}.go`]: `package ${name}\n`, "testdata/payload.bin": noise(bytes, seed) },
    time: "2024-06-01T00:00:00Z",
  });
  versions.push(special("blob1m", 1_048_576 - 600, 7));
  versions.push(special("huge", options.hugeBytes, 11));
  // Shaped like a Go toolchain zip: thousands of files of a few KB (one every 6 KB).
  for (const n of [1, 2, 3]) {
    const name = `large${n}`;
    const files: Record<string, string | Uint8Array> = { [`${name}.go`]: `package ${name}\n` };
    const count = Math.max(1, Math.round(options.hugeBytes * 0.75 / 6_000));
    for (let i = 0; i < count; i++) files[`src/d${i % 97}/f${i}.txt`] = noise(6_000, n * 1e6 + i);
    versions.push({ ...special(name, 0, 20 + n), files });
  }
  // The project needs a dozen modules of the first quarter, at their newest, and blob1m.
  const roots: string[] = [];
  for (let i = 0; i < n && roots.length < 12; i += Math.max(1, Math.floor(n / 48))) {
    roots.push(moduleName(i));
  }
  roots.push(`${HOST}/blob1m`);
  const deep = deepGraph(options.deepLevels ?? DEEP_LEVELS, rand);
  versions.push(...deep.versions);
  roots.push(...deep.roots);
  return { versions, roots };
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) total += await treeBytes(path);
    else if (entry.isFile) total += (await Deno.stat(path)).size;
  }
  return total;
}

/**
 * Writes the universe below `root` and resolves the project with the go
 * command (`go mod tidy` over `file://`, no network).
 *
 * @example
 * ```ts ignore
 * import { writeBenchUniverse } from "./universe.ts";
 * const universe = await writeBenchUniverse("/tmp/u", { modules: 80, hugeBytes: 100e6 });
 * console.log(universe.buildList.length);
 * ```
 */
export async function writeBenchUniverse(
  root: string,
  options: UniverseOptions,
): Promise<Universe> {
  const { versions, roots } = benchVersions(options);
  await writeUniverse(root, versions);
  const main = `package main\n\nimport (\n${
    roots.map((r) => `\t_ "${r}"\n`).join("")
  })\n\nfunc main() {}\n`;
  const initial = { "go.mod": "module bench.example/app\n\ngo 1.21\n", "main.go": main };
  const dir = await copyProject(initial);
  const cache = await Deno.makeTempDir({ prefix: "astera-bench-gocache-" });
  const go = await makeGoClient(`file://${root}`, cache);
  try {
    await go.run(dir, ["mod", "tidy"]);
    const goMod = await Deno.readTextFile(join(dir, "go.mod"));
    const goSum = await Deno.readTextFile(join(dir, "go.sum"));
    const buildList = (await go.run(dir, ["list", "-m", "all"])).stdout.trim().split("\n").slice(1);
    const huge = versions.find((v) => v.module.endsWith("/huge"))!;
    const hugePath = `/${huge.module}/@v/${huge.version}.zip`;
    const hot = roots[0];
    const hotVersion = buildList.find((line) => line.startsWith(`${hot} `))!.split(" ")[1];
    return {
      root,
      versions: versions.length,
      bytes: await treeBytes(root),
      project: { "go.mod": goMod, "go.sum": goSum, "main.go": main },
      buildList,
      hot: {
        info: `/${hot}/@v/${hotVersion}.info`,
        mod: `/${hot}/@v/${hotVersion}.mod`,
        list: `/${hot}/@v/list`,
        zip: `/${HOST}/blob1m/@v/v1.0.0.zip`,
      },
      huge: { path: hugePath, size: (await Deno.stat(join(root, hugePath))).size },
      large: await Promise.all([1, 2, 3].map(async (n) => {
        const path = `/${HOST}/large${n}/@v/v1.0.0.zip`;
        return { path, size: (await Deno.stat(join(root, path))).size };
      })),
    };
  } finally {
    await go.remove();
    await removeTree(dir);
    await removeTree(cache);
  }
}

/** Every file below `dir`, as paths relative to it with a leading slash, and sizes. */
async function listFiles(dir: string, prefix = ""): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = `${prefix}/${entry.name}`;
    if (entry.isDirectory) out.push(...await listFiles(dir, path));
    else if (entry.isFile) out.push({ path, size: (await Deno.stat(join(dir, path))).size });
  }
  return out;
}

/**
 * A universe that exists already: a directory in GOPROXY layout (a module
 * cache's `cache/download`, say) and a project directory whose `go.mod` (and
 * `go.sum`) resolve against it. The hot-path zip is the one closest to 1 MiB,
 * the huge zip the largest; `.info`, `.mod` and `list` are those of the
 * project's first requirement.
 *
 * @example
 * ```ts ignore
 * import { loadUniverse } from "./universe.ts";
 * const universe = await loadUniverse(`${Deno.env.get("HOME")}/go/pkg/mod/cache/download`, "./myproject");
 * ```
 */
export async function loadUniverse(root: string, projectDir: string): Promise<Universe> {
  const goMod = await Deno.readTextFile(join(projectDir, "go.mod"));
  const goSum = await Deno.readTextFile(join(projectDir, "go.sum")).catch(() => "");
  const project: Record<string, string> = { "go.mod": goMod };
  if (goSum) project["go.sum"] = goSum;
  // Its top-level Go files too, so that `--go "mod tidy"` or `--go "build"` has packages to load.
  for await (const entry of Deno.readDir(projectDir)) {
    if (entry.isFile && entry.name.endsWith(".go")) {
      project[entry.name] = await Deno.readTextFile(join(projectDir, entry.name));
    }
  }
  const files = await listFiles(root);
  const zips = files.filter((file) => file.path.endsWith(".zip"));
  if (zips.length === 0) throw new Error(`${root} holds no zips: not a GOPROXY layout`);
  const closest =
    [...zips].sort((a, b) => Math.abs(a.size - 1_048_576) - Math.abs(b.size - 1_048_576))[0];
  const largest = [...zips].sort((a, b) => b.size - a.size)[0];
  const requirement = /^\s*(?:require\s+)?([^\s()]+\.[^\s()]+)\s+(v\S+)/m.exec(
    goMod.slice(goMod.search(/^require\b/m)),
  );
  if (!requirement) throw new Error(`${projectDir}/go.mod requires nothing`);
  const [, module, version] = requirement;
  const base = `/${escapePath(module)}/@v`;
  const cache = await Deno.makeTempDir({ prefix: "astera-bench-gocache-" });
  const go = await makeGoClient(`file://${root}`, cache, { GOFLAGS: "-mod=mod" });
  const dir = await copyProject(project);
  try {
    const listed = await go.run(dir, ["list", "-m", "all"]);
    return {
      root,
      versions: files.filter((file) => file.path.endsWith(".mod")).length,
      bytes: files.reduce((sum, file) => sum + file.size, 0),
      project,
      buildList: listed.stdout.trim().split("\n").slice(1),
      hot: {
        info: `${base}/${escapeVersion(version)}.info`,
        mod: `${base}/${escapeVersion(version)}.mod`,
        list: `${base}/list`,
        zip: closest.path,
      },
      huge: { path: largest.path, size: largest.size },
      large: [...zips].sort((a, b) => b.size - a.size).slice(0, 3),
    };
  } finally {
    await go.remove();
    await removeTree(dir);
    await removeTree(cache);
  }
}
