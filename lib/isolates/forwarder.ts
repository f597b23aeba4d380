/**
 * How a replica isolate asks the primary for what it has not stored: the
 * same request over loopback, the answer streamed back as it comes.
 *
 * Asks for the same small answer made while one is under way share it. On a
 * cold start forty clients walk the same module graph in step: each go.mod
 * is asked by every client within a few milliseconds, while the primary is
 * still fetching it, and one loopback request per client would cost both
 * isolates CPU that the clients themselves are short of. A shared answer is
 * read whole (it is at most {@linkcode SHARED_ANSWER_MAX} bytes), then each
 * asker sends its own copy of the same bytes; a larger one streams to the
 * first asker, and the others ask again on their own.
 *
 * @module
 */
import { type HttpRequest, type HttpResponse, textError } from "../http/mod.ts";
import { SingleFlight } from "../proxy/mod.ts";

/** The header that carries the token the primary's loopback port asks of its replicas. */
export const FORWARD_TOKEN_HEADER = "x-astera-forward";

/**
 * Answers up to this size are shared by the asks that wait for them together
 * (go.mod files and version lists are a few KiB): each is held until every
 * asker's client has read it.
 */
export const SHARED_ANSWER_MAX = 64 * 1024;

/** Request headers that change what the primary answers; nothing else is passed on. */
const FORWARDED_HEADERS = ["range", "if-range", "if-none-match"];
/** Response headers that describe the connection, not the content; the replica's server sets its own. */
const HOP_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);

/** What one loopback request gave: bytes every waiting ask may send, or a stream for one of them. */
type Forwarded =
  | { type: "bytes"; status: number; headers: Record<string, string>; body: Uint8Array }
  | { type: "stream"; take(): HttpResponse | undefined };

/**
 * Makes the function a replica's handler calls for what it has not stored.
 * `token` goes with each request (see {@linkcode FORWARD_TOKEN_HEADER}).
 *
 * @example
 * ```ts ignore
 * import { createForwarder } from "./forwarder.ts";
 * const forward = createForwarder("http://127.0.0.1:40123");
 * const response = await forward({ method: "GET", target: "/golang.org/x/text/@v/list", headers: {} });
 * ```
 */
export function createForwarder(
  primary: string,
  token?: string,
): (request: HttpRequest) => Promise<HttpResponse> {
  const flights = new SingleFlight<Forwarded>();
  return async (request) => {
    const query = request.target.indexOf("?");
    const path = query < 0 ? request.target : request.target.slice(0, query);
    const headers = forwardedHeaders(request, token);
    try {
      const ask = () => askPrimary(primary + path, request.method, headers);
      // A conditional or partial request has an answer of its own.
      if (Object.keys(headers).some((name) => name !== FORWARD_TOKEN_HEADER)) {
        return streamed(await ask());
      }
      const forwarded = await flights.do(`${request.method} ${path}`, () => readShared(ask()));
      if (forwarded.type === "bytes") {
        const { status, headers, body } = forwarded;
        return { status, headers: { ...headers }, body };
      }
      return forwarded.take() ?? streamed(await ask());
    } catch (error) {
      return textError(
        502,
        `primary isolate unreachable: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };
}

/** The token and the request headers that change what the primary answers. */
function forwardedHeaders(request: HttpRequest, token: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (token) headers[FORWARD_TOKEN_HEADER] = token;
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/** One loopback request; a pooled connection the primary just closed as idle fails at once, so ask anew. */
function askPrimary(
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<Response> {
  const ask = () => fetch(url, { method, headers });
  return ask().catch(ask);
}

/** The primary's answer as the replica's server sends it: the body streamed. */
function streamed(response: Response): HttpResponse {
  return { status: response.status, headers: endToEnd(response.headers), body: response.body };
}

/** The answer read whole when its declared length is small enough to share; else kept as a stream. */
async function readShared(answer: Promise<Response>): Promise<Forwarded> {
  const response = await answer;
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (!(length <= SHARED_ANSWER_MAX)) {
    let taken = false;
    return {
      type: "stream",
      take() {
        if (taken) return undefined;
        taken = true;
        return streamed(response);
      },
    };
  }
  const body = new Uint8Array(await response.arrayBuffer());
  return { type: "bytes", status: response.status, headers: endToEnd(response.headers), body };
}

function endToEnd(headers: Headers): Record<string, string> {
  const copied: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (!HOP_HEADERS.has(name)) copied[name] = value;
  }
  return copied;
}
