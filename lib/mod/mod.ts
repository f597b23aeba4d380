/**
 * The module system's rules, pure and free of I/O, each in the module named
 * after its counterpart in golang.org/x/mod: module paths and their escaping
 * (`module.ts`), semantic versions (`semver.ts`), pseudo-versions
 * (`pseudo.ts`), the lax go.mod reader (`modfile.ts`), the h1 hash
 * (`dirhash.ts`), the rules a module zip must follow (`zip.ts`) and which
 * files go into one (`zip_files.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapePath, isPseudoVersion, matchPathMajor, sortVersions } from "./mod.ts";
 * assert.equal(escapePath("github.com/Azure/go"), "github.com/!azure/go");
 * assert.deepEqual(sortVersions(["v1.10.0", "v1.9.0"]), ["v1.9.0", "v1.10.0"]);
 * assert.ok(isPseudoVersion("v0.0.0-20200101000000-abcdefabcdef"));
 * assert.ok(matchPathMajor("v2.1.0", "/v2"));
 * ```
 *
 * @module
 */
export * from "./dirhash.ts";
export * from "./modfile.ts";
export * from "./module.ts";
export * from "./pseudo.ts";
export * from "./semver.ts";
export * from "./zip.ts";
export * from "./zip_files.ts";
