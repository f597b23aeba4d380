/**
 * Archives, apart from the module rules that sit on them: the zip reader (from
 * a {@linkcode RandomAccess} source, in bounded chunks), the streaming zip
 * writer, and the tar reader for what `git archive` writes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesAccess, openZipEntry, readZipEntries, writeZip } from "./mod.ts";
 * const data = new TextEncoder().encode("hello");
 * const zip = new Uint8Array(await new Response(writeZip([{ name: "a.txt", data }])).arrayBuffer());
 * const src = bytesAccess(zip);
 * const [entry] = await readZipEntries(src);
 * assert.equal(await new Response(openZipEntry(src, entry)).text(), "hello");
 * ```
 *
 * @module
 */
export * from "./random_access.ts";
export * from "./tar.ts";
export * from "./zip_reader.ts";
export * from "./zip_writer.ts";
