/**
 * The go workflow the end-to-end tests run through Astera and direct: `go mod
 * tidy`, `go mod download -json all`, `go get -u ./...`, `go list -m -versions`.
 *
 * @module
 */
import { copyProject, makeGoClient, readModFiles, removeTree } from "./go_tool.ts";
import { PROJECT_FILES } from "./universe.ts";

/** How many cold go clients run at once in the end-to-end tests. */
export const CONCURRENT_CLIENTS = 10;
const LISTED = [
  "example.com/lib",
  "example.com/retracted",
  "example.com/old",
  "example.com/Upper/Pkg",
];

/** What a developer's workflow produced: the files and answers compared with direct. */
export interface Outcome {
  tidy: { goMod: string; goSum: string };
  downloads: { Path: string; Version: string; Sum: string; GoModSum: string }[];
  upgraded: { goMod: string; goSum: string };
  versions: string;
}

/** Runs the workflow a developer runs: tidy, then `go get -u ./...`, then version lists. */
export async function workflow(goproxy: string, buildCache: string): Promise<Outcome> {
  const go = await makeGoClient(goproxy, buildCache);
  const project = await copyProject(PROJECT_FILES);
  try {
    await go.run(project, ["mod", "tidy"]);
    const tidy = await readModFiles(project);
    const downloaded = await go.run(project, ["mod", "download", "-json", "all"]);
    const downloads = parseJsonStream(downloaded.stdout).map((
      { Path, Version, Sum, GoModSum },
    ) => ({
      Path,
      Version,
      Sum,
      GoModSum,
    }));
    await go.run(project, ["get", "-u", "./..."]);
    await go.run(project, ["mod", "tidy"]);
    const upgraded = await readModFiles(project);
    const versions = (await go.run(project, ["list", "-m", "-versions", ...LISTED])).stdout;
    return { tidy, downloads, upgraded, versions };
  } finally {
    await go.remove();
    await removeTree(project);
  }
}

/** `go mod download -json` prints one JSON object after another. */
function parseJsonStream(text: string): Record<string, string>[] {
  return text.split(/\n(?=\{)/).filter((part) => part.trim()).map((part) => JSON.parse(part));
}
