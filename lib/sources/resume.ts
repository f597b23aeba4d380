/**
 * Resuming a zip download that breaks or stalls part-way: the rest is asked
 * for with a `Range` request to the same upstream (a zip never changes once
 * served, and its CRC-32s are checked once it is whole), so a flaky link
 * costs the missing bytes, not the whole zip, and clients never notice.
 * `upstream.ts` makes the requests; this module decides what an answer to
 * one is worth and stitches the pieces into one stream.
 *
 * @module
 */
import { errorTextWithCauses } from "../util/errors.ts";
import { SourceError } from "./source.ts";

/**
 * The upstream answered a range request, but not with that range: asking
 * again will not help.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CannotResumeError } from "./resume.ts";
 * const error = new CannotResumeError("cannot resume at byte 3 of 10: the upstream answered 500");
 * assert(error.name === "CannotResumeError");
 * ```
 */
export class CannotResumeError extends SourceError {
  override name = "CannotResumeError";
}

/**
 * A broken zip download is given up after this many resumptions in a row
 * that bring no byte.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_FRUITLESS_RESUMES, MAX_RESUMES } from "./resume.ts";
 * assert(MAX_FRUITLESS_RESUMES < MAX_RESUMES);
 * ```
 */
export const MAX_FRUITLESS_RESUMES = 3;
/**
 * …or after this many in all, however many bytes each brought.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_RESUMES } from "./resume.ts";
 * assert(MAX_RESUMES === 50);
 * ```
 */
export const MAX_RESUMES = 50;

/**
 * The headers of a request for the rest of a zip from byte `offset`, sent
 * as it is (uncompressed) so that its bytes are the zip's own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rangeHeaders } from "./resume.ts";
 * assert(rangeHeaders(1024).range === "bytes=1024-");
 * ```
 */
export function rangeHeaders(offset: number): Record<string, string> {
  return { "range": `bytes=${offset}-`, "accept-encoding": "identity" };
}

/**
 * The rest of a zip of `size` bytes from `offset`, out of the answer to a
 * {@linkcode rangeHeaders} request: a 206 for exactly that range, or, from an
 * upstream that ignores ranges, the whole zip again (a 200 of the same
 * length) with its first `offset` bytes dropped. Anything else is a
 * {@linkcode CannotResumeError}. `watch` wraps the body as it arrives (an
 * idle timeout, say; the body is null when the answer had none), before any
 * bytes are dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restOfZip } from "./resume.ts";
 * const response = new Response("whole", { headers: { "content-length": "5" } });
 * const rest = await restOfZip(response, 2, 5, "example.com/m@v1.0.0 .zip", (body) => body!);
 * assert(await new Response(rest).text() === "ole");
 * ```
 */
export async function restOfZip(
  response: Response,
  offset: number,
  size: number,
  what: string,
  watch: (body: ReadableStream<Uint8Array> | null) => ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get("content-range") ?? "");
  if (
    response.status === 200 && response.headers.get("content-length") === String(size) &&
    !response.headers.has("content-encoding")
  ) {
    return skipping(watch(response.body), offset);
  }
  if (
    response.status !== 206 || !range || Number(range[1]) !== offset ||
    Number(range[2]) !== size - 1 || Number(range[3]) !== size ||
    response.headers.has("content-encoding")
  ) {
    await response.body?.cancel().catch(() => {});
    throw new CannotResumeError(
      `${what}: cannot resume at byte ${offset} of ${size}: the upstream answered ${response.status}${
        range ? ` for ${range[0]}` : " without the range"
      }`,
    );
  }
  return watch(response.body);
}

/** Options of {@linkcode resuming}. */
export interface ResumingOptions {
  onResume?: (offset: number, reason: string) => void;
  /** The pause before the n-th resumption in a row that brought nothing is n times this. */
  pauseMs?: number;
}

/** What reconnecting gave: the rest and why it was needed, or the error to end with. */
type Reconnected =
  | { stream: ReadableStream<Uint8Array>; failure: unknown }
  | { error: unknown };

/**
 * `first`, and when it fails before `size` bytes, the rest from `reopen` at
 * the byte where it broke, for as long as each reopened stream brings bytes
 * (see {@linkcode MAX_FRUITLESS_RESUMES}, {@linkcode MAX_RESUMES}); a {@linkcode CannotResumeError}
 * from `reopen` ends it at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resuming } from "./resume.ts";
 * const bytes = new Uint8Array([1, 2, 3, 4]);
 * let first = true;
 * const part = (offset: number) =>
 *   new ReadableStream<Uint8Array>({
 *     pull(controller) {
 *       if (first) {
 *         first = false;
 *         controller.enqueue(bytes.slice(0, 2));
 *       } else if (offset === 0) controller.error(new Error("connection reset"));
 *       else {
 *         controller.enqueue(bytes.slice(offset));
 *         controller.close();
 *       }
 *     },
 *   });
 * const whole = resuming(part(0), 4, (offset) => Promise.resolve(part(offset)));
 * const got = new Uint8Array(await new Response(whole).arrayBuffer());
 * assert(got.join() === "1,2,3,4");
 * ```
 */
export function resuming(
  first: ReadableStream<Uint8Array>,
  size: number,
  reopen: (offset: number) => Promise<ReadableStream<Uint8Array>>,
  options: ResumingOptions = {},
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(new Resumption(first, size, reopen, options));
}

/** The source of a {@linkcode resuming} stream: where it is, and how often it resumed. */
class Resumption implements UnderlyingDefaultSource<Uint8Array> {
  readonly #size: number;
  readonly #reopen: (offset: number) => Promise<ReadableStream<Uint8Array>>;
  readonly #options: ResumingOptions;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #delivered = 0;
  #fruitless = 0;
  #resumes = 0;
  #cancelled = false;

  constructor(
    first: ReadableStream<Uint8Array>,
    size: number,
    reopen: (offset: number) => Promise<ReadableStream<Uint8Array>>,
    options: ResumingOptions,
  ) {
    this.#reader = first.getReader();
    this.#size = size;
    this.#reopen = reopen;
    this.#options = options;
  }

  async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      let failure: unknown;
      try {
        const { done, value } = await this.#reader.read();
        if (done) {
          controller.close();
          return;
        }
        if (value.byteLength === 0) continue;
        this.#delivered += value.byteLength;
        this.#fruitless = 0;
        controller.enqueue(value);
        return;
      } catch (error) {
        failure = error;
      }
      this.#reader.cancel(failure).catch(() => {});
      const next = await this.#reconnect(failure);
      if ("error" in next) {
        controller.error(next.error);
        return;
      }
      if (this.#cancelled) {
        // The reader went away while we were reconnecting.
        await next.stream.cancel().catch(() => {});
        return;
      }
      this.#reader = next.stream.getReader();
      this.#options.onResume?.(this.#delivered, errorTextWithCauses(next.failure));
    }
  }

  cancel(reason: unknown): Promise<void> {
    this.#cancelled = true;
    // The current reader may be the one that failed: nothing left to cancel then.
    return this.#reader.cancel(reason).catch(() => {});
  }

  /** The rest from where it broke, for as long as resumptions are worth it. */
  async #reconnect(failure: unknown): Promise<Reconnected> {
    const pauseMs = this.#options.pauseMs ?? 1000;
    for (;;) {
      if (
        this.#delivered >= this.#size || this.#fruitless >= MAX_FRUITLESS_RESUMES ||
        this.#resumes >= MAX_RESUMES
      ) {
        return { error: failure };
      }
      // At once the first time (a dropped connection), then with a pause (a link gone flaky).
      if (this.#fruitless > 0) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs * this.#fruitless));
      }
      this.#fruitless++;
      this.#resumes++;
      try {
        return { stream: await this.#reopen(this.#delivered), failure };
      } catch (error) {
        const why = `${errorTextWithCauses(error)} (after: ${errorTextWithCauses(failure)})`;
        if (error instanceof CannotResumeError) return { error: new SourceError(why) };
        failure = new SourceError(why);
      }
    }
  }
}

/** `body` without its first `count` bytes. */
function skipping(body: ReadableStream<Uint8Array>, count: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let left = count;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          if (left > 0) {
            throw new SourceError(`the body ended ${left} bytes short of the resumption point`);
          }
          controller.close();
          return;
        }
        if (value.byteLength <= left) {
          left -= value.byteLength;
          continue;
        }
        controller.enqueue(left > 0 ? value.subarray(left) : value);
        left = 0;
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
