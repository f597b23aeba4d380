/**
 * Zips a replica isolate has not stored, shared with the primary through the
 * database rather than over HTTP. The replica asks the primary over a
 * `MessagePort`; the primary starts (or joins) the download as for its own
 * clients and tells the replica where it stands after each stored chunk; the
 * replica reads those chunks from its own connection to the same SQLite file.
 * So a zip leaves the upstream once, and its bytes never travel between
 * isolates: forwarding them over loopback cost a copy of every byte in both
 * isolates and, with 40 clients on a 100 MB zip, tens of MB of buffers. A
 * not-found or an error comes back as the primary's answer itself, since
 * forwarding the request after it would ask the upstream a second time.
 *
 * @module
 */
import type { DownloadProgress, ModuleProxy, PrimaryZip } from "../proxy/mod.ts";

/** A replica's question. */
interface ZipWanted {
  id: number;
  module: string;
  version: string;
}

/** The primary's answers: one outcome, then progress while `live`. */
type ZipNews =
  | { id: number; type: "outcome"; outcome: PrimaryZip; progress?: DownloadProgress }
  | { id: number; type: "progress"; progress: DownloadProgress };

/**
 * The primary's side: answers the questions arriving on `port` until it closes.
 *
 * @example
 * ```ts ignore
 * import { answerZipQuestions } from "./shared_zip.ts";
 * const channel = new MessageChannel();
 * answerZipQuestions(channel.port1, proxy);
 * worker.postMessage({ type: "start", settings, zips: channel.port2 }, [channel.port2]);
 * ```
 */
export function answerZipQuestions(port: MessagePort, proxy: ModuleProxy): void {
  const send = (news: ZipNews) => port.postMessage(news);
  port.onmessage = async (event: MessageEvent<ZipWanted>) => {
    const { id, module, version } = event.data;
    try {
      // Disk budget: the replica pins and counts the zip it serves itself (lib/proxy/pins.ts).
      const reply = await proxy.zipForReplica(module, version);
      if (reply.type === "stored-zip") {
        send({ id, type: "outcome", outcome: { type: "stored" } });
      } else if (reply.type === "live-zip") {
        const download = reply.download;
        send({ id, type: "outcome", outcome: { type: "live" }, progress: download.progress() });
        download.watch(() => send({ id, type: "progress", progress: download.progress() }));
      } else if (reply.type === "not-found" || reply.type === "error") {
        // Given as is: forwarding the request would ask the upstream a second time.
        send({ id, type: "outcome", outcome: { type: "answer", reply } });
      } else {
        send({ id, type: "outcome", outcome: { type: "other" } });
      }
    } catch {
      // The replica forwards the request instead, and the primary answers it with the reason.
      send({ id, type: "outcome", outcome: { type: "other" } });
    }
  };
}

/**
 * The replica's side: the `primaryZip` option of its {@linkcode ModuleProxy}.
 *
 * @example
 * ```ts ignore
 * import { askPrimaryForZips } from "./shared_zip.ts";
 * const primaryZip = askPrimaryForZips(port);
 * const outcome = await primaryZip("example.com/m", "v1.0.0", (progress) => console.log(progress));
 * ```
 */
export function askPrimaryForZips(
  port: MessagePort,
): (
  module: string,
  version: string,
  onProgress: (progress: DownloadProgress) => void,
) => Promise<PrimaryZip> {
  let nextId = 0;
  const questions = new Map<
    number,
    { onProgress(progress: DownloadProgress): void; resolve(outcome: PrimaryZip): void }
  >();
  port.onmessage = (event: MessageEvent<ZipNews>) => {
    const news = event.data;
    const question = questions.get(news.id);
    if (!question) return;
    // The first progress goes before the outcome, so a live download has begun when it resolves.
    const progress = news.type === "progress" || news.outcome.type === "live"
      ? news.progress
      : undefined;
    if (progress) question.onProgress(progress);
    if (news.type === "outcome") question.resolve(news.outcome);
    if (!progress || progress.done) questions.delete(news.id);
  };
  return (module, version, onProgress) => {
    const id = nextId++;
    return new Promise<PrimaryZip>((resolve) => {
      questions.set(id, { onProgress, resolve });
      port.postMessage({ id, module, version } satisfies ZipWanted);
    });
  };
}
