/**
 * A synthetic module universe in GOPROXY layout, written by the tests
 * themselves: the modules cover the cases the go command treats specially
 * (uppercase paths and versions, `+incompatible`, `/v2`, pre-releases,
 * retractions, a pseudo-version-only module, modules without go.mod, a
 * multi-MB zip), and a project that depends on all of them.
 *
 * @module
 */
import { join } from "node:path";
import { escapePath, escapeVersion } from "../lib/mod/module.ts";
import { isPseudoVersion, sortVersions } from "../lib/mod/mod.ts";
import { writeZip } from "../lib/archive/zip_writer.ts";

/** One version of a synthetic module. */
export interface SyntheticVersion {
  module: string;
  version: string;
  /** go.mod content; null for a module without one (its `.mod` is synthesized). */
  goMod: string | null;
  /** Files below the module root, other than go.mod. */
  files: Record<string, string | Uint8Array>;
  /** Commit time, RFC 3339. */
  time: string;
}

/** A project that imports every module of {@linkcode standardUniverse}, with its files. */
export const PROJECT_FILES: Record<string, string> = {
  "go.mod": "module example.net/app\n\ngo 1.21\n\nrequire (\n" +
    "\texample.com/lib v1.0.0\n\texample.com/dep v1.0.0\n)\n",
  "main.go": `package main

import (
	_ "example.com/Upper/Pkg"
	_ "example.com/big"
	_ "example.com/dep"
	_ "example.com/lib"
	_ "example.com/mod/v2"
	_ "example.com/nogomod/util"
	_ "example.com/old"
	_ "example.com/pseudo"
	_ "example.com/retracted"
)

func main() {}
`,
};

/**
 * A small deterministic PRNG (mulberry32): numbers in [0, 1), the same for the same seed.
 *
 * @example
 * ```ts
 * import { random } from "./universe.ts";
 * const next = random(7);
 * console.log(next() < 1); // true
 * ```
 */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic bytes that do not compress, for the large zip. */
export function noise(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const pkg = (name: string, extra = "") => `package ${name}\n${extra}`;

/**
 * The modules the end-to-end tests resolve. `bigBytes` sizes the large zip's payload.
 *
 * @example
 * ```ts ignore
 * import { standardUniverse, writeUniverse } from "./universe.ts";
 * await writeUniverse("/tmp/universe", standardUniverse(4 << 20));
 * ```
 */
export function standardUniverse(bigBytes: number): SyntheticVersion[] {
  const t = (day: number) => `2024-01-${String(day).padStart(2, "0")}T10:00:00Z`;
  return [
    {
      module: "example.com/dep",
      version: "v1.0.0",
      goMod: "module example.com/dep\n\ngo 1.21\n",
      files: { "dep.go": pkg("dep") },
      time: t(1),
    },
    {
      module: "example.com/dep",
      version: "v1.0.1",
      goMod: "module example.com/dep\n\ngo 1.21\n",
      files: { "dep.go": pkg("dep", "// v1.0.1\n") },
      time: t(2),
    },
    {
      module: "example.com/lib",
      version: "v1.0.0",
      goMod: "module example.com/lib\n\ngo 1.21\n",
      files: { "lib.go": pkg("lib") },
      time: t(1),
    },
    {
      module: "example.com/lib",
      version: "v1.1.0",
      goMod: "module example.com/lib\n\ngo 1.21\n\nrequire example.com/dep v1.0.0\n",
      files: { "lib.go": pkg("lib", 'import _ "example.com/dep"\n'), "LICENSE": "MIT\n" },
      time: t(3),
    },
    {
      module: "example.com/lib",
      version: "v1.2.0-rc.1",
      goMod: "module example.com/lib\n\ngo 1.21\n",
      files: { "lib.go": pkg("lib", "// rc\n") },
      time: t(4),
    },
    {
      module: "example.com/Upper/Pkg",
      version: "v1.0.0",
      goMod: "module example.com/Upper/Pkg\n\ngo 1.21\n",
      files: { "pkg.go": pkg("pkg"), "README": "hello\n" },
      time: t(1),
    },
    {
      module: "example.com/Upper/Pkg",
      version: "v1.1.0-RC1",
      goMod: "module example.com/Upper/Pkg\n\ngo 1.21\n",
      files: { "pkg.go": pkg("pkg", "// RC1\n") },
      time: t(2),
    },
    {
      module: "example.com/old",
      version: "v1.0.0",
      goMod: null,
      files: { "old.go": pkg("old") },
      time: t(1),
    },
    {
      module: "example.com/old",
      version: "v2.0.0+incompatible",
      goMod: null,
      files: { "old.go": pkg("old", "// 2.0\n") },
      time: t(2),
    },
    {
      module: "example.com/old",
      version: "v2.1.0+incompatible",
      goMod: null,
      files: { "old.go": pkg("old", "// 2.1\n") },
      time: t(3),
    },
    {
      module: "example.com/nogomod",
      version: "v1.0.0",
      goMod: null,
      files: { "util/util.go": pkg("util") },
      time: t(1),
    },
    {
      module: "example.com/mod/v2",
      version: "v2.0.0",
      goMod: "module example.com/mod/v2\n\ngo 1.21\n",
      files: { "mod.go": pkg("mod") },
      time: t(1),
    },
    {
      module: "example.com/mod/v2",
      version: "v2.1.0",
      goMod: "module example.com/mod/v2\n\ngo 1.21\n",
      files: { "mod.go": pkg("mod", "// 2.1\n") },
      time: t(2),
    },
    {
      module: "example.com/retracted",
      version: "v1.0.0",
      goMod: "module example.com/retracted\n\ngo 1.21\n",
      files: { "r.go": pkg("retracted") },
      time: t(1),
    },
    {
      module: "example.com/retracted",
      version: "v1.1.0",
      goMod: "module example.com/retracted\n\ngo 1.21\n",
      files: { "r.go": pkg("retracted", "// bad\n") },
      time: t(2),
    },
    {
      module: "example.com/retracted",
      version: "v1.2.0",
      goMod:
        "module example.com/retracted\n\ngo 1.21\n\nretract (\n\tv1.2.0 // published by mistake\n\tv1.1.0 // broken\n)\n",
      files: { "r.go": pkg("retracted", "// retracts\n") },
      time: t(3),
    },
    {
      module: "example.com/pseudo",
      version: "v0.0.0-20240102030405-0123456789ab",
      goMod: "module example.com/pseudo\n\ngo 1.21\n",
      files: { "p.go": pkg("pseudo") },
      time: "2024-01-02T03:04:05Z",
    },
    {
      module: "example.com/big",
      version: "v1.0.0",
      goMod: "module example.com/big\n\ngo 1.21\n",
      files: { "big.go": pkg("big"), "data.bin": noise(bigBytes) },
      time: t(5),
    },
  ];
}

/**
 * Writes versions in GOPROXY layout below `root`: `list` (canonical,
 * non-pseudo, ascending), `.info`, `.mod`, `.zip`, and `@latest` (the
 * highest release, else pre-release, else pseudo-version, ignoring retractions
 * as a simple proxy would).
 */
export async function writeUniverse(root: string, versions: SyntheticVersion[]): Promise<void> {
  const byModule = new Map<string, SyntheticVersion[]>();
  for (const v of versions) byModule.set(v.module, [...(byModule.get(v.module) ?? []), v]);
  const encoder = new TextEncoder();
  for (const [module, list] of byModule) {
    const dir = join(root, escapePath(module), "@v");
    await Deno.mkdir(dir, { recursive: true });
    const tagged = sortVersions(list.map((v) => v.version).filter((v) => !isPseudoVersion(v)));
    await Deno.writeTextFile(join(dir, "list"), tagged.map((v) => `${v}\n`).join(""));
    for (const v of list) {
      const base = join(dir, escapeVersion(v.version));
      const info = JSON.stringify({ Version: v.version, Time: v.time });
      await Deno.writeTextFile(`${base}.info`, info);
      await Deno.writeTextFile(`${base}.mod`, v.goMod ?? `module ${module}\n`);
      const prefix = `${module}@${v.version}/`;
      const entries = Object.entries(v.files).map(([name, data]) => ({
        name: prefix + name,
        data: typeof data === "string" ? encoder.encode(data) : data,
      }));
      if (v.goMod !== null) {
        entries.push({ name: `${prefix}go.mod`, data: encoder.encode(v.goMod) });
      }
      const zip = await Deno.open(`${base}.zip`, { write: true, create: true, truncate: true });
      await writeZip(entries).pipeTo(zip.writable);
    }
    const releases = tagged.filter((v) => !v.includes("-"));
    const latest = releases.at(-1) ?? tagged.at(-1) ??
      sortVersions(list.map((v) => v.version)).at(-1)!;
    const latestInfo = list.find((v) => v.version === latest)!;
    await Deno.writeTextFile(
      join(root, escapePath(module), "@latest"),
      JSON.stringify({ Version: latest, Time: latestInfo.time }),
    );
  }
}
