/**
 * Reading `bytea` values without the client's text detour. The `postgres`
 * client receives every column in PostgreSQL's text format, and parses a
 * `bytea` by making a JavaScript string of the hex text (twice the bytes)
 * and decoding that: for each 256 KiB zip chunk read, half a megabyte of
 * string on V8's heap besides the buffers, garbage the moment it is decoded.
 * A query run with `.raw()` hands the column over as the received bytes
 * instead, which {@linkcode decodeBytea} turns into the value directly.
 *
 * @module
 */

/** Each ASCII code's value as a hex digit; 255 for a code that is none. */
const NIBBLE = new Uint8Array(256).fill(255);
for (let digit = 0; digit < 16; digit++) {
  NIBBLE["0123456789abcdef".charCodeAt(digit)] = digit;
  NIBBLE["0123456789ABCDEF".charCodeAt(digit)] = digit;
}

/**
 * The bytes of a `bytea` column received in hex text format (`\x` then two
 * hex digits a byte, PostgreSQL's `bytea_output = hex`). Throws for anything
 * else, naming what was wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBytea } from "./postgres_bytea.ts";
 * const text = new TextEncoder().encode("\\x00ff10");
 * assert.deepEqual(decodeBytea(text), new Uint8Array([0, 255, 16]));
 * ```
 */
export function decodeBytea(text: Uint8Array): Uint8Array {
  if (text.length < 2 || text[0] !== 0x5c || text[1] !== 0x78 || text.length % 2 !== 0) {
    throw new Error(`a bytea value of ${text.length} characters is not in hex format (\\x…)`);
  }
  const out = new Uint8Array((text.length - 2) / 2);
  let bad = 0;
  for (let i = 0, at = 2; i < out.length; i++, at += 2) {
    const high = NIBBLE[text[at]];
    const low = NIBBLE[text[at + 1]];
    bad |= high | low;
    out[i] = (high << 4) | low;
  }
  if (bad > 15) throw new Error("a bytea value in hex format has a character that is not hex");
  return out;
}
