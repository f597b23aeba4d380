/**
 * The digests a store keeps beside what it stores, to tell a damaged copy
 * from an intact one: each chunk's SHA-256, and the strong ETag (a SHA-256
 * prefix) of a whole artifact.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * A strong ETag for content: the quoted hex of a SHA-256 prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { strongEtag } from "./digest.ts";
 * assert(await strongEtag(new Uint8Array()) === '"e3b0c44298fc1c149afbf4c8996fb924"');
 * ```
 */
export async function strongEtag(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  return etagFromDigest(digest);
}

/**
 * The SHA-256 of `data`, synchronously (a 256 KiB chunk takes well under a millisecond).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256 } from "./digest.ts";
 * assert(sha256(new Uint8Array()).byteLength === 32);
 * ```
 */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/**
 * The ETag for a SHA-256 digest computed elsewhere (e.g. incrementally over a stream).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { etagFromDigest, sha256 } from "./digest.ts";
 * assert(etagFromDigest(sha256(new Uint8Array())) === '"e3b0c44298fc1c149afbf4c8996fb924"');
 * ```
 */
export function etagFromDigest(digest: Uint8Array): string {
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return `"${hex}"`;
}
