/**
 * Turns a request path into what it asks for: a GOPROXY endpoint with its
 * decoded module path and version, or one of Astera's own endpoints. Every
 * rule of the path format (GOPROXY-SPEC §1.2) is applied here, so the rest of
 * the server only ever sees valid module paths.
 *
 * @module
 */
import { ModPathError, unescapePath, unescapeVersion } from "./modpath.ts";

/** What a request path asks for. */
export type Route =
  | { kind: "health" }
  | { kind: "stats" }
  | { kind: "list" | "latest"; module: string }
  | { kind: "info" | "mod" | "zip"; module: string; version: string }
  | { kind: "sumdb"; path: string };

/** A path that cannot be a valid request, with the status to answer and why. */
export class RouteError extends Error {
  override name = "RouteError";
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/**
 * Parses the (still percent-encoded) path of a request URL.
 *
 * @example
 * ```ts
 * import { parseRoute } from "./route.ts";
 * console.log(parseRoute("/github.com/%21burnt%21sushi/toml/@v/v1.2.0.zip"));
 * // { kind: "zip", module: "github.com/BurntSushi/toml", version: "v1.2.0" }
 * ```
 */
export function parseRoute(rawPath: string): Route {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new RouteError(400, `bad request: invalid percent-encoding in ${rawPath.slice(0, 200)}`);
  }
  if (path === "/healthz") return { kind: "health" };
  if (path === "/_astera/stats") return { kind: "stats" };
  if (path.startsWith("/sumdb/")) return { kind: "sumdb", path: path.slice("/sumdb/".length) };

  const at = path.indexOf("/@");
  if (!path.startsWith("/") || at < 0) {
    throw new RouteError(404, `not found: ${path.slice(0, 200)} is not a module proxy path`);
  }
  const escapedModule = path.slice(1, at);
  const rest = path.slice(at + 1);
  if (rest === "@latest") return { kind: "latest", module: decodeModule(escapedModule) };
  if (!rest.startsWith("@v/")) {
    throw new RouteError(404, `not found: unknown endpoint ${rest.slice(0, 100)}`);
  }
  const file = rest.slice("@v/".length);
  if (file === "list") return { kind: "list", module: decodeModule(escapedModule) };
  const match = /^(.+)\.(info|mod|zip)$/.exec(file);
  if (!match) throw new RouteError(404, `not found: unknown endpoint @v/${file.slice(0, 100)}`);
  const module = decodeModule(escapedModule);
  let version: string;
  try {
    version = unescapeVersion(match[1]);
  } catch (error) {
    throw new RouteError(400, `bad request: ${message(error)}`);
  }
  return { kind: match[2] as "info" | "mod" | "zip", module, version };
}

function decodeModule(escaped: string): string {
  try {
    return unescapePath(escaped);
  } catch (error) {
    throw new RouteError(400, `bad request: ${message(error)}`);
  }
}

function message(error: unknown): string {
  return error instanceof ModPathError || error instanceof Error ? error.message : String(error);
}
