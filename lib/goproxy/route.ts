/**
 * Turns a request path into what it asks for: a GOPROXY endpoint with its
 * decoded module path and version (read by `paths.ts`), a checksum-database
 * path, or one of Astera's own endpoints. Every rule of the path format
 * (GOPROXY-SPEC §1.2) is applied on the way, so the rest of the server only
 * ever sees valid module paths.
 *
 * @module
 */
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from "../mod/module.ts";
import { parseProxyPath, type ProxyRequest, RouteError } from "./paths.ts";
import { parseTilePath } from "./sumdb_path.ts";
import { canonicalModuleVersion } from "../mod/semver.ts";

/** What a request path asks for. */
export type Route =
  | { kind: "health" }
  | { kind: "stats" }
  /** `/metrics`: Prometheus text format. */
  | { kind: "metrics" }
  /**
   * `/_astera/status.json`: what the status page shows (the page itself, at
   * `/`, is the handler's: a path outside the protocol for all but browsers).
   */
  | { kind: "status" }
  /** `/_astera/assets/<name>`: what the status page loads. */
  | { kind: "asset"; name: string }
  | ProxyRequest
  /**
   * A checksum-database path `/sumdb/<name>/<key>`, `key` as the go command
   * writes it (`supported`, `latest`, `lookup/<escaped module>@<escaped
   * version>`, `tile/…`); `module` is the decoded module path of a lookup.
   */
  | { kind: "sumdb"; name: string; key: string; module?: string };

export { RouteError };

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
  if (path === "/metrics") return { kind: "metrics" };
  if (path === "/_astera/status.json") return { kind: "status" };
  if (path.startsWith("/_astera/assets/")) {
    const name = path.slice("/_astera/assets/".length);
    if (/^[a-z0-9][a-z0-9.-]*$/.test(name)) return { kind: "asset", name };
  }
  if (path.startsWith("/sumdb/")) return parseSumdb(path.slice("/sumdb/".length));
  return parseProxyPath(path);
}

/** A database name: a host name, perhaps with a port, as `GOSUMDB` names them. */
const SUMDB_NAME = /^[a-z0-9][a-z0-9.-]*(?::[0-9]+)?$/;

/**
 * Parses `<name>/<key>` (decoded) with the go command's grammar of
 * checksum-database paths (x/mod `sumdb.Server`, `tlog.ParseTilePath`).
 * Anything else is a 404 here, so no odd path (a decoded `?` or `#`, `..`)
 * ever reaches the upstream, and each key has exactly one spelling.
 */
function parseSumdb(path: string): Route {
  const slash = path.indexOf("/");
  const name = path.slice(0, slash);
  const key = path.slice(slash + 1);
  const notFound = () =>
    new RouteError(404, `not found: ${path.slice(0, 200)} is not a checksum database path`);
  if (slash < 0 || !SUMDB_NAME.test(name)) throw notFound();
  if (key === "supported" || key === "latest") return { kind: "sumdb", name, key };
  if (key.startsWith("tile/")) {
    if (parseTilePath(key) === null) throw notFound();
    return { kind: "sumdb", name, key };
  }
  const lookup = /^lookup\/([^@]+)@([^@]+)$/.exec(key);
  if (!lookup) throw notFound();
  let module: string;
  let version: string;
  try {
    module = unescapePath(lookup[1]);
    version = unescapeVersion(lookup[2]);
  } catch {
    throw notFound();
  }
  // The go command looks up canonical versions only, each under one spelling.
  if (canonicalModuleVersion(version) !== version) throw notFound();
  return {
    kind: "sumdb",
    name,
    key: `lookup/${escapePath(module)}@${escapeVersion(version)}`,
    module,
  };
}
