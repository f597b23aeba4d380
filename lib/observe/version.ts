/**
 * Astera's version, shown by the status page and `/metrics` (`astera_info`).
 *
 * @module
 */

/**
 * The version of this build; raised with each release.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(/^\d+\.\d+\.\d+/.test(VERSION)); // true
 * ```
 */
export const VERSION = "0.1.0";
