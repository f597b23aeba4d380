/**
 * Answers made up from what is stored when the source fails and nothing
 * stored answers the request itself: a `list` from the stored `.mod`s, a
 * not-found for a path never seen, an `.info` from a stored `.mod`. They are
 * never stored: they are no real answers, and the source's next one wins.
 *
 * @module
 */
import { infoBody, listBody } from "../goproxy/answers.ts";
import { isPseudoVersion, pseudoVersionDate } from "../mod/pseudo.ts";
import { sortVersions } from "../mod/semver.ts";
import { RefusedError } from "../sources/source.ts";
import type { Store } from "../store/mod.ts";
import { errorText } from "../util/errors.ts";
import { bytesReply, errorReply, JSON_TYPE, type Reply, TEXT } from "./reply.ts";

/**
 * The reply to a `list`, `@latest` or query never stored, when the source
 * failed with `error`; counts each made-up answer in `counts`.
 *
 * @example
 * ```ts ignore
 * const reply = await offlineChangeable(store, counts, "list", "example.com/m", error);
 * ```
 */
export async function offlineChangeable(
  store: Store,
  counts: { offlineAnswers: number },
  kind: "list" | "latest" | "query",
  module: string,
  error: unknown,
): Promise<Reply> {
  // A refusal is the upstream's answer, not an outage: the go command must see it as is.
  if (error instanceof RefusedError) return errorReply(error);
  if (kind === "list") {
    const versions = sortVersions(
      (await store.storedVersions(module, "mod")).filter((v) => !isPseudoVersion(v)),
    );
    if (versions.length > 0) {
      counts.offlineAnswers++;
      return bytesReply(listBody(versions), TEXT, false);
    }
  }
  if (kind !== "query") {
    // The go command asks `list` of every prefix of an import path it cannot place
    // (`golang.org/x` for `golang.org/x/text/language`) and stops at anything but a
    // not-found. Offline, a path never seen is as good as not a module: saying so keeps
    // `go mod tidy` working on what is cached. Not stored: it is no real answer.
    counts.offlineAnswers++;
    return {
      type: "not-found",
      status: 404,
      message: `not found: ${module}: nothing cached, and the source failed: ${errorText(error)}`,
    };
  }
  return errorReply(error);
}

/**
 * An `.info` made up from a stored `.mod` when the source is unreachable;
 * undefined when no `.mod` is stored.
 *
 * @example
 * ```ts ignore
 * const reply = await offlineInfo(store, "example.com/m", "v1.0.0");
 * ```
 */
export async function offlineInfo(
  store: Store,
  module: string,
  version: string,
): Promise<Reply | undefined> {
  if (!await store.artifact(module, version, "mod")) return undefined;
  // A pseudo-version carries its commit time; a tag's time is not known offline.
  const time = isPseudoVersion(version) ? pseudoVersionDate(version) : undefined;
  return bytesReply(infoBody(version, time), JSON_TYPE, false);
}
