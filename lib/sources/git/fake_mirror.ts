/**
 * An in-memory stand-in for a {@linkcode GitMirror}, for the unit tests of
 * the code host, code repository and query rules: a small history of
 * commits with files, tags and branches, answering the questions those rules
 * ask (refs, commit lookups, files, tags merged into a commit, ancestry)
 * without running git.
 *
 * @module
 */
import type { CommitInfo, GitMirror } from "./mirror.ts";

/** One commit of a {@linkcode FakeHistory}. */
export interface FakeCommit {
  /** Committer time, seconds since the epoch. */
  time: number;
  /** The commit it follows, by index in the history (none for the first). */
  parent?: number;
  /** Files at this commit (path → text). */
  files?: Record<string, string>;
}

/** What a {@linkcode fakeMirror} holds. */
export interface FakeHistory {
  commits: FakeCommit[];
  /** Tag name → commit index. */
  tags?: Record<string, number>;
  /** Branch name → commit index; the first is HEAD's. */
  branches?: Record<string, number>;
}

/**
 * The hash of commit `i` of a fake history: 40 hex digits, `i` in the first
 * 8, so that the 12-digit short hashes differ and those of commits 1 to 15
 * share a 7-digit prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fakeHash } from "./fake_mirror.ts";
 * assert(fakeHash(1) === "00000001" + "b".repeat(32));
 * ```
 */
export function fakeHash(i: number): string {
  return i.toString(16).padStart(8, "0") + "b".repeat(32);
}

/**
 * A mirror over `history`, typed as the real one (only what the rules ask is there).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fakeHash, fakeMirror } from "./fake_mirror.ts";
 * const mirror = fakeMirror({ commits: [{ time: 0 }], tags: { "v1.0.0": 0 }, branches: { main: 0 } });
 * assert((await mirror.refs()).get("refs/tags/v1.0.0") === fakeHash(0));
 * ```
 */
export function fakeMirror(history: FakeHistory): GitMirror {
  const refs = new Map<string, string>();
  const branches = Object.entries(history.branches ?? {});
  if (branches.length > 0) refs.set("HEAD", fakeHash(branches[0][1]));
  for (const [name, i] of branches) refs.set(`refs/heads/${name}`, fakeHash(i));
  for (const [name, i] of Object.entries(history.tags ?? {})) {
    refs.set(`refs/tags/${name}`, fakeHash(i));
  }
  const index = (rev: string): number => {
    const named = refs.get(rev) ?? refs.get(`refs/tags/${rev}`) ?? rev;
    const found = history.commits.findIndex((_, i) => fakeHash(i).startsWith(named));
    return named.length >= 4 ? found : -1;
  };
  const ancestors = (i: number): Set<number> => {
    const seen = new Set<number>();
    for (let at: number | undefined = i; at !== undefined; at = history.commits[at].parent) {
      seen.add(at);
    }
    return seen;
  };
  const fake = {
    url: "https://git.example/repo",
    refs: () => Promise.resolve(refs),
    commit(rev: string): Promise<CommitInfo | null> {
      const i = index(rev);
      return Promise.resolve(i < 0 ? null : { hash: fakeHash(i), time: history.commits[i].time });
    },
    readFile(hash: string, path: string): Promise<Uint8Array | null> {
      const text = history.commits[index(hash)]?.files?.[path];
      return Promise.resolve(text === undefined ? null : new TextEncoder().encode(text));
    },
    mergedTags(hash: string): Promise<string[]> {
      const reachable = ancestors(index(hash));
      const tags = Object.entries(history.tags ?? {}).filter(([, i]) => reachable.has(i));
      return Promise.resolve(tags.map(([name]) => name).sort());
    },
    isAncestor(ancestor: string, hash: string): Promise<boolean> {
      return Promise.resolve(ancestors(index(hash)).has(index(ancestor)));
    },
  };
  return fake as unknown as GitMirror;
}
