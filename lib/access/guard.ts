/**
 * Which requests need credentials, and the answer to those that lack good
 * ones. The guard wraps the request handler of each public listener (the
 * replicas' too); the primary's loopback server for the replicas' forwards
 * is not guarded, as a replica has checked those already.
 *
 * With scope `private`, requests for modules matching `--private` need
 * credentials, and so do Astera's own pages that could name such modules:
 * the status page `/`, `/metrics` and everything under `/_astera/`. Public
 * modules, the checksum database (for public modules) and `/healthz` stay
 * open. Any other path the route parser knows but this guard does not (a
 * route added later) needs credentials too: closed unless known to be open.
 * With scope `all`, everything but `/healthz` needs them.
 *
 * @module
 */
import type { Handler, HttpRequest, HttpResponse } from "../http/mod.ts";
import { textError } from "../http/mod.ts";
import type { Logger } from "../log.ts";
import { matchPrefixPatterns } from "../mod/mod.ts";
import { parseRoute, type Route } from "../goproxy/mod.ts";
import { BoundedMap } from "../util/bounded_map.ts";
import type { CredentialChecker, Verdict } from "./credentials.ts";

/** Decisions kept at most, by request target; longer targets are decided each time. */
const DECISIONS = 4096;
const DECISION_MAX_TARGET = 512;

/**
 * Who must show credentials: `private` modules (and pages that could name
 * them), or `all` requests but `/healthz`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { AuthScope } from "./guard.ts";
 * const scope: AuthScope = "private";
 * assert(scope === "private");
 * ```
 */
export type AuthScope = "private" | "all";

/**
 * What {@linkcode guardHandler} needs.
 *
 * @example
 * ```ts ignore
 * import type { GuardOptions } from "./guard.ts";
 * const options: GuardOptions = { checker, scope: "private", privatePatterns: "git.corp.example", log };
 * ```
 */
export interface GuardOptions {
  checker: CredentialChecker;
  scope: AuthScope;
  /** `--private`: GOPRIVATE-style patterns. */
  privatePatterns: string;
  log: Logger;
}

/**
 * Whether a request for `target` needs credentials under `scope`.
 *
 * @example
 * ```ts
 * import { needsCredentials } from "./guard.ts";
 * console.log(needsCredentials("/git.corp.example/lib/@v/list", "private", "git.corp.example")); // true
 * console.log(needsCredentials("/golang.org/x/text/@v/list", "private", "git.corp.example")); // false
 * console.log(needsCredentials("/metrics", "private", "git.corp.example")); // true
 * console.log(needsCredentials("/healthz", "all", "")); // false
 * ```
 */
export function needsCredentials(
  target: string,
  scope: AuthScope,
  privatePatterns: string,
): boolean {
  const query = target.indexOf("?");
  const path = query < 0 ? target : target.slice(0, query);
  let route: Route | undefined;
  try {
    route = parseRoute(path);
  } catch {
    // Answered with an error that only repeats the path, unless it is one of our pages.
  }
  if (route?.kind === "health") return false;
  if (scope === "all") return true;
  if (!route) return isOwnPage(path);
  const isPrivate = (module: string) =>
    privatePatterns !== "" && matchPrefixPatterns(privatePatterns, module);
  switch (route.kind) {
    case "list":
    case "latest":
    case "info":
    case "mod":
    case "zip":
      return isPrivate(route.module);
    case "sumdb":
      return route.module !== undefined && isPrivate(route.module);
    default:
      return true;
  }
}

/** The status page, `/metrics` and `/_astera/…`, however the path is escaped. */
function isOwnPage(path: string): boolean {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Kept as sent.
  }
  return [path, decoded].some((p) =>
    p === "/" || p === "/metrics" || p === "/_astera" || p.startsWith("/_astera/")
  );
}

/**
 * Wraps `handler` so that requests needing credentials are answered 401 (or
 * 429) without them, and passed on with them. The counters are the
 * handler's: a refusal is not a request it saw.
 *
 * @example
 * ```ts ignore
 * import { guardHandler } from "./guard.ts";
 * serveHttp(options, guardHandler(createHandler(proxy, log), { checker, scope: "private", privatePatterns, log }));
 * ```
 */
export function guardHandler(handler: Handler, options: GuardOptions): Handler {
  const { checker, scope, privatePatterns, log } = options;
  const decisions = new BoundedMap<string, boolean>(DECISIONS);
  const needs = (target: string): boolean => {
    let decision = decisions.get(target);
    if (decision === undefined) {
      decision = needsCredentials(target, scope, privatePatterns);
      if (target.length <= DECISION_MAX_TARGET) decisions.set(target, decision);
    }
    return decision;
  };
  const refuse = (request: HttpRequest, verdict: Verdict & { ok: false }): HttpResponse => {
    const address = request.address ?? "";
    if (verdict.reason === "blocked") {
      const response = textError(429, "too many failed logins from this address: try again later");
      response.headers["retry-after"] = String(verdict.retryAfterS ?? 60);
      return response;
    }
    // The user name helps the operator; the password and the header never reach the log.
    if (verdict.reason !== "missing") {
      log.warn("auth-refused", { user: verdict.user, address, reason: verdict.reason });
    }
    if (verdict.nowBlocked) {
      log.warn("auth-blocked", {
        address,
        failures: checker.limits.maxFailures,
        seconds: checker.limits.blockMs / 1000,
      });
    }
    const response = textError(
      401,
      verdict.reason === "missing"
        ? "unauthorized: this needs a user name and password (GOPROXY=https://user:password@host, or a netrc entry)"
        : "unauthorized: wrong user name or password",
    );
    response.headers["www-authenticate"] = 'Basic realm="astera"';
    return response;
  };
  const guarded = (request: HttpRequest): HttpResponse | Promise<HttpResponse> => {
    if (!needs(request.target)) return handler(request);
    const verdict = checker.check(request.headers["authorization"], request.address ?? "");
    if (verdict instanceof Promise) {
      return verdict.then((found) => found.ok ? handler(request) : refuse(request, found));
    }
    return verdict.ok ? handler(request) : refuse(request, verdict);
  };
  // Forwards from replicas were checked by the replica's own guard.
  return Object.assign(guarded, {
    stats: handler.stats,
    isolateStats: handler.isolateStats,
    forwarded: handler.forwarded,
  });
}
