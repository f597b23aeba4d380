/**
 * The GOPROXY protocol's own grammar, pure: request paths (`route.ts`),
 * checksum-database paths (`sumdb_path.ts`), the checks an upstream's answers
 * must pass before they are kept (`answer_check.ts`), and the bodies of the
 * small answers, `.info` and `list` (`answers.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listBody, parseRoute } from "./mod.ts";
 * assert.deepEqual(parseRoute("/example.com/m/@v/list"), {
 *   kind: "list",
 *   module: "example.com/m",
 * });
 * assert.equal(new TextDecoder().decode(listBody(["v1.0.0", "v1.1.0"])), "v1.0.0\nv1.1.0\n");
 * ```
 *
 * @module
 */
export * from "./answer_check.ts";
export * from "./answers.ts";
export * from "./paths.ts";
export * from "./route.ts";
export * from "./sumdb_path.ts";
