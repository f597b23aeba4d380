/**
 * A zip from its source into the store: the first bytes are checked to be a
 * zip before any client hears "200", the body is stored chunk by chunk (so
 * memory stays bounded by the chunk size, whatever the zip size) while
 * clients read the chunks already stored through a {@linkcode LiveDownload},
 * and the whole is checked against the module zip rules before it is
 * committed and its last chunk is released.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { checkZipStart } from "../goproxy/answer_check.ts";
import { checkModuleZip, MAX_ZIP_FILE } from "../mod/zip.ts";
import { checkZipContent, ZipError } from "../archive/zip_reader.ts";
import { describeRequest, type SourceAnswer, SourceError } from "../sources/source.ts";
import type { BlobWriter, Store } from "../store/mod.ts";
import { concatBytes } from "../util/bytes.ts";
import { errorText } from "../util/errors.ts";
import { blobAccess } from "./chunks.ts";
import type { Fetcher } from "./fetcher.ts";
import type { LiveDownload } from "./live_download.ts";
import type { ProxyMemory } from "./memory.ts";
import { reclaimer } from "./reclaim.ts";

/** The source request of a zip. */
type ZipRequest = { kind: "zip"; module: string; version: string };

/**
 * What a zip download works with.
 *
 * @example
 * ```ts ignore
 * import type { ZipDownloadParts } from "./zip_download.ts";
 * const parts: ZipDownloadParts = { store, memory, fetcher, log };
 * ```
 */
export interface ZipDownloadParts {
  store: Store;
  memory: ProxyMemory;
  fetcher: Fetcher;
  log: Logger;
}

/**
 * Downloads `module@version.zip` from its source into the store, telling
 * `download` (and so every client following it) each step. A zip that breaks
 * the zip rules is remembered as a 410; any other failure fails the download
 * and is asked for again next time.
 *
 * @example
 * ```ts ignore
 * import { downloadZip } from "./zip_download.ts";
 * import { LiveDownload } from "./live_download.ts";
 * const download = new LiveDownload((blobId, seq) => memory.readChunk(blobId, seq));
 * await downloadZip({ store, memory, fetcher, log }, download, "golang.org/x/text", "v0.3.0");
 * ```
 */
export async function downloadZip(
  parts: ZipDownloadParts,
  download: LiveDownload,
  module: string,
  version: string,
): Promise<void> {
  const { store, memory, log } = parts;
  const request: ZipRequest = { kind: "zip", module, version };
  let writer: BlobWriter | undefined;
  try {
    const answer = await parts.fetcher.ask(request);
    if (!answer.found) {
      download.start({
        type: "not-found",
        reply: await memory.rememberNotFound("zip", module, version, answer),
      });
      return;
    }
    const pieces = await zipPieces(answer, request);
    const blob = writer = await store.writeBlob();
    // Clients hear "200" once a first chunk is stored (they read none before the second), so
    // a database that cannot take the zip (disk full, locked) is a clear 502/503 instead of
    // a broken transfer; a zip under one chunk is checked before anyone hears of it.
    let begun = false;
    const begin = () => {
      if (!begun) download.begin(blob.blobId, blob.chunkSize, answer.size);
      begun = true;
    };
    await writePieces(blob, pieces, answer.size, request, (chunks) => {
      begin();
      download.wrote(chunks);
    });
    await checkStored(store, blob, request);
    const meta = await blob.commit(module, version, "zip");
    begin();
    if (meta.blobId !== blob.blobId) {
      // Another process (the seed task) stored it meanwhile. The same bytes in the same
      // chunking: readers move on to its blob. Otherwise they break. Ours stays for a
      // replica that may read it until it hears of the move: the sweep takes it later.
      if (meta.size !== blob.size || meta.etag !== blob.etag || meta.chunkSize !== blob.chunkSize) {
        throw new SourceError(
          `${module}@${version}.zip was stored by another process meanwhile; retry`,
        );
      }
      download.blobId = meta.blobId!;
    }
    writer = undefined;
    memory.keepArtifact("zip", module, version, { meta, data: null });
    if (await memory.storedAnswer("zip", module, version)) {
      await memory.forgetAnswer("zip", module, version);
    }
    download.finish(meta, blob.chunks);
    log.info("stored", { module, version, kind: "zip", bytes: blob.size });
  } catch (error) {
    if (writer) await writer.abort().catch(() => {});
    if (error instanceof ZipError) {
      log.warn("zip-refused", { module, version, error: error.message });
      const reply = await memory.rememberNotFound("zip", module, version, {
        status: 410,
        message: `not found: ${error.message}`,
      });
      download.refuse(reply);
      download.fail(error);
      return;
    }
    log.warn("download-failed", { module, version, error: errorText(error) });
    download.start({ type: "error", error });
    download.fail(error);
  }
}

/**
 * The body of a found zip as pieces, once its size is within the limit and
 * its first bytes tell a zip from a login page (before any client is told "200").
 */
async function zipPieces(
  answer: Extract<SourceAnswer, { found: true }>,
  request: ZipRequest,
): Promise<AsyncGenerator<Uint8Array>> {
  if (answer.size !== null && answer.size > MAX_ZIP_FILE) {
    await answer.body.cancel();
    throw new ZipError(
      `${request.module}@${request.version}: zip of ${answer.size} bytes exceeds the 500 MiB limit`,
    );
  }
  const reader = answer.body.getReader();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  while (headBytes < 2) {
    const read = await reader.read();
    if (read.done) break;
    head.push(read.value);
    headBytes += read.value.byteLength;
  }
  try {
    checkZipStart(concatBytes(head), describeRequest(request));
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  return readOn(head, reader);
}

/**
 * Writes `pieces` to the blob (which cuts and hashes them), refusing more
 * than announced or allowed; `onChunk` hears the number of chunks stored
 * whenever it grew. The last, shorter chunk is stored without a word: it is
 * released by the commit.
 */
async function writePieces(
  writer: BlobWriter,
  pieces: AsyncIterable<Uint8Array>,
  size: number | null,
  request: ZipRequest,
  onChunk: (chunks: number) => void,
): Promise<void> {
  const limit = size ?? MAX_ZIP_FILE;
  for await (const piece of pieces) {
    // The piece, and the chunk buffer it is copied into, are garbage once stored.
    reclaimer.released(2 * piece.byteLength);
    if (writer.size + piece.byteLength > limit) {
      throw size === null
        ? new ZipError(`${request.module}@${request.version}: zip exceeds the 500 MiB limit`)
        : new SourceError(
          `${describeRequest(request)}: more bytes than the Content-Length ${size}`,
        );
    }
    const before = writer.chunks;
    await writer.write(piece);
    if (writer.chunks > before) onChunk(writer.chunks);
  }
  await writer.finish();
  if (size !== null && writer.size !== size) {
    throw new SourceError(
      `${describeRequest(request)}: truncated: ${writer.size} of ${size} bytes arrived`,
    );
  }
}

/** Checks a stored zip against the module zip rules; damage on the way is a source failure. */
async function checkStored(store: Store, blob: BlobWriter, request: ZipRequest): Promise<void> {
  const stored = blobAccess(store, blob);
  const files = await checkModuleZip(stored, request.module, request.version);
  try {
    await checkZipContent(stored, files, { released: (bytes) => reclaimer.released(bytes) });
  } catch (error) {
    // Damaged on the way, most likely: not remembered as gone, asked for again next time.
    if (error instanceof ZipError) {
      throw new SourceError(`${describeRequest(request)}: damaged: ${error.message}`);
    }
    throw error;
  }
}

/** The pieces already read, then the rest of the stream; stopping early cancels it. */
async function* readOn(
  first: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let done = false;
  try {
    yield* first;
    for (;;) {
      const read = await reader.read();
      if (read.done) {
        done = true;
        return;
      }
      yield read.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
  }
}
