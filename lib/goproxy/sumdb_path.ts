/**
 * The checksum database's tile paths, as x/mod's `tlog.Tile.Path` writes them
 * and `tlog.ParseTilePath` reads them back. One grammar for both its readers:
 * the router (which paths may reach an upstream) and the answer check (how
 * big a tile must be), so the two can never disagree.
 *
 * @module
 */

/**
 * A tile of the checksum database's tree (x/mod's `tlog.Tile`), as its path says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTilePath, type Tile } from "./sumdb_path.ts";
 * const tile: Tile | null = parseTilePath("tile/8/data/000");
 * assert.deepEqual(tile, { height: 8, data: true, width: 256 });
 * ```
 */
export interface Tile {
  /** H, the tile's height: it holds up to 2^H hashes (records, for a data tile). */
  height: number;
  /** Whether it is a data tile (`tile/<H>/data/…`) rather than a tile of hashes. */
  data: boolean;
  /** W, how many hashes (records) it holds: 2^H for a full tile, fewer for a partial one. */
  width: number;
}

const TILE_PATH =
  /^tile\/([1-9][0-9]?)\/(0|[1-9][0-9]{0,8}|data)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]*))?$/;

/**
 * The tile that `key` names, when it is a tile path exactly as `tlog.Tile.Path`
 * writes one: `tile/<H>/<L>/<N>[.p/<W>]` with 1 ≤ H ≤ 30, `L` a level or
 * `data`, `N` in three-digit elements (`x001/234`), and 0 < W < 2^H for a
 * partial tile. Null for anything else, so each tile has one spelling.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTilePath } from "./sumdb_path.ts";
 * assert.deepEqual(parseTilePath("tile/8/0/x001/234.p/7"), { height: 8, data: false, width: 7 });
 * assert.equal(parseTilePath("tile/8/0/000.p/256"), null); // a full tile is written without .p
 * ```
 */
export function parseTilePath(key: string): Tile | null {
  const match = TILE_PATH.exec(key);
  if (!match) return null;
  const height = Number(match[1]);
  if (height > 30) return null;
  // Path writes no leading zero element: N = 1000 is x001/000, never x000/001/000.
  if (match[3].startsWith("x000/")) return null;
  const data = match[2] === "data";
  if (match[4] === undefined) return { height, data, width: 2 ** height };
  const width = Number(match[4]);
  return match[4].length <= 10 && width < 2 ** height ? { height, data, width } : null;
}
