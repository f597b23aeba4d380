/**
 * Where module artifacts come from. The front door of `lib/sources/`:
 *
 * - `source.ts`: the contract every source keeps ({@linkcode ModuleSource},
 *   {@linkcode SourceError}, {@linkcode RefusedError});
 * - `upstream.ts`: the client of upstream proxies, asked in GOPROXY order;
 * - `resume.ts`: resuming a zip download that broke part-way;
 * - `git/`: modules served straight from their git repositories (its own `mod.ts`).
 *
 * @example
 * ```ts ignore
 * import { createUpstream, parseUpstreamList } from "./mod.ts";
 * const upstream = createUpstream(parseUpstreamList("https://proxy.golang.org"), { timeoutMs: 30_000 });
 * const answer = await upstream.fetch({ kind: "list", module: "golang.org/x/text" });
 * if (answer.found) console.log(await new Response(answer.body).text());
 * ```
 *
 * @module
 */
export {
  type ArtifactRequest,
  describeRequest,
  foundBytes,
  isRefusalStatus,
  type ModuleSource,
  type RefusalStatus,
  RefusedError,
  type SourceAnswer,
  SourceError,
} from "./source.ts";
export {
  createUpstream,
  describeUpstreamList,
  parseUpstreamList,
  type Upstream,
  UpstreamConfigError,
  type UpstreamEntry,
  type UpstreamOptions,
} from "./upstream.ts";
export { CannotResumeError, MAX_FRUITLESS_RESUMES, MAX_RESUMES, resuming } from "./resume.ts";
