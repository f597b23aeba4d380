/**
 * The bodies of the protocol's small answers as the go command writes them
 * (GOPROXY-SPEC §1.1): `.info` JSON with Go's time format, and `list` bodies.
 * Every place that makes one up (the git source, an offline `.info` from a
 * stored `.mod`, the seed's `@latest`) builds it here.
 *
 * @module
 */

/**
 * Where a version came from, as the go command's `.info` `Origin` says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { infoBody, type InfoOrigin } from "./answers.ts";
 * const origin: InfoOrigin = { VCS: "git", URL: "https://example.com/m", Hash: "abc123" };
 * const info = JSON.parse(new TextDecoder().decode(infoBody("v1.0.0", undefined, origin)));
 * assert.deepEqual(info.Origin, origin);
 * ```
 */
export interface InfoOrigin {
  VCS: string;
  URL: string;
  Subdir?: string;
  Hash?: string;
}

/**
 * A time as Go's `time.Time` marshals to JSON in UTC: RFC 3339 with the
 * fraction's trailing zeros dropped (`2019-11-09T02:19:31Z`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goTime } from "./answers.ts";
 * assert.equal(goTime(new Date(Date.UTC(2019, 10, 9, 2, 19, 31))), "2019-11-09T02:19:31Z");
 * assert.equal(goTime(new Date(Date.UTC(2019, 10, 9, 2, 19, 31, 500))), "2019-11-09T02:19:31.5Z");
 * ```
 */
export function goTime(date: Date): string {
  return date.toISOString().replace(/\.?0*Z$/, "Z");
}

/**
 * An `.info` body: `{"Version":…,"Time":…,"Origin":…}` with the fields in
 * the go command's order; `Time` and `Origin` are left out when not given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { infoBody } from "./answers.ts";
 * const body = new TextDecoder().decode(infoBody("v1.0.0", new Date(0)));
 * assert.equal(body, '{"Version":"v1.0.0","Time":"1970-01-01T00:00:00Z"}');
 * ```
 */
export function infoBody(version: string, time?: Date, origin?: InfoOrigin): Uint8Array {
  const info: { Version: string; Time?: string; Origin?: InfoOrigin } = { Version: version };
  if (time) info.Time = goTime(time);
  if (origin) info.Origin = origin;
  return new TextEncoder().encode(JSON.stringify(info));
}

/**
 * A `list` body: one version per line, each ending in a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listBody } from "./answers.ts";
 * assert.equal(new TextDecoder().decode(listBody(["v1.0.0", "v1.1.0"])), "v1.0.0\nv1.1.0\n");
 * ```
 */
export function listBody(versions: readonly string[]): Uint8Array {
  return new TextEncoder().encode(versions.map((v) => `${v}\n`).join(""));
}
