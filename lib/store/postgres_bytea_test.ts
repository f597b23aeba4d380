import assert from "node:assert/strict";
import { decodeBytea } from "./postgres_bytea.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("decodeBytea gives back every byte value, in either case of hex digits", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = [...all].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.deepEqual(decodeBytea(text(`\\x${hex}`)), all);
  assert.deepEqual(decodeBytea(text(`\\x${hex.toUpperCase()}`)), all);
  assert.deepEqual(decodeBytea(text("\\x")), new Uint8Array());
});

Deno.test("decodeBytea refuses what is not hex format", () => {
  assert.throws(() => decodeBytea(text("\\000\\001")), /not in hex format/);
  assert.throws(() => decodeBytea(text("\\x0")), /not in hex format/);
  assert.throws(() => decodeBytea(text("\\x0g")), /not hex/);
});
