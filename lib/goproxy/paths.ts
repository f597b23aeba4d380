/**
 * The paths of a module's GOPROXY endpoints (GOPROXY-SPEC §1.2) in both
 * directions: {@linkcode proxyPath} writes the path the go command asks an
 * upstream for, {@linkcode parseProxyPath} reads one back into the module,
 * version and endpoint. Module paths and versions are `!`-escaped (an
 * upper-case letter is `!` and its lower case) by x/mod's rules in
 * `lib/mod/module.ts`; `route.ts` tells these paths from Astera's own.
 *
 * @module
 */
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from "../mod/module.ts";
import { errorText } from "../util/errors.ts";

/**
 * One GOPROXY endpoint of one module: `@v/list`, `@latest`, or a version's
 * `.info`, `.mod` or `.zip`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ProxyRequest } from "./paths.ts";
 * const request: ProxyRequest = { kind: "zip", module: "golang.org/x/text", version: "v0.3.0" };
 * assert(request.kind === "zip");
 * ```
 */
export type ProxyRequest =
  | { kind: "list"; module: string }
  | { kind: "latest"; module: string }
  | { kind: "info" | "mod" | "zip"; module: string; version: string };

/**
 * A path that cannot be a valid request, with the status to answer and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RouteError } from "./paths.ts";
 * const error = new RouteError(404, "not found: /x is not a module proxy path");
 * assert(error.status === 404);
 * ```
 */
export class RouteError extends Error {
  override name = "RouteError";
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/**
 * The path of a GOPROXY endpoint below a base URL, escaped and
 * percent-encoded as the go command sends it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { proxyPath } from "./paths.ts";
 * const path = proxyPath({ kind: "zip", module: "github.com/BurntSushi/toml", version: "v1.0.0" });
 * assert(path === "/github.com/!burnt!sushi/toml/@v/v1.0.0.zip");
 * ```
 */
export function proxyPath(request: ProxyRequest): string {
  const module = encodeURI(escapePath(request.module));
  switch (request.kind) {
    case "list":
      return `/${module}/@v/list`;
    case "latest":
      return `/${module}/@latest`;
    default:
      return `/${module}/@v/${encodeURIComponent(escapeVersion(request.version))}.${request.kind}`;
  }
}

/**
 * Reads a module endpoint's path (percent-decoded already, starting with
 * `/`) back into what it asks for. Throws {@linkcode RouteError}: 404 for a
 * path that is no module endpoint, 400 for a malformed module path or version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseProxyPath } from "./paths.ts";
 * const request = parseProxyPath("/github.com/!burnt!sushi/toml/@v/v1.2.0.zip");
 * assert(request.module === "github.com/BurntSushi/toml" && request.kind === "zip");
 * ```
 */
export function parseProxyPath(path: string): ProxyRequest {
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
    throw new RouteError(400, `bad request: ${errorText(error)}`);
  }
  return { kind: match[2] as "info" | "mod" | "zip", module, version };
}

function decodeModule(escaped: string): string {
  try {
    return unescapePath(escaped);
  } catch (error) {
    throw new RouteError(400, `bad request: ${errorText(error)}`);
  }
}
