import { assertEquals, assertRejects } from "../../../tests/assert.ts";
import { counters } from "../../observe/counters.ts";
import { GitMirrors } from "./mirror.ts";

async function git(cwd: string, ...args: string[]): Promise<void> {
  const output = await new Deno.Command("git", {
    args,
    cwd,
    env: {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
}

Deno.test("git fetches are counted for /metrics by outcome", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-mirror-" });
  try {
    const repo = `${dir}/repo`;
    await Deno.mkdir(repo);
    await git(repo, "init", "-q", "-b", "main");
    await Deno.writeTextFile(`${repo}/go.mod`, "module git.corp.example/lib\n");
    await git(repo, "add", "go.mod");
    await git(repo, "commit", "-q", "-m", "first");
    const mirrors = new GitMirrors({ dir: `${dir}/mirrors`, fetchTtlMs: 60_000 });
    const before = { ...counters.git };
    await mirrors.open(`file://${repo}`);
    assertEquals(counters.git, {
      fetchesOk: before.fetchesOk + 1,
      fetchesFailed: before.fetchesFailed,
    });
    await assertRejects(() => mirrors.open(`file://${dir}/missing`));
    assertEquals(counters.git, {
      fetchesOk: before.fetchesOk + 1,
      fetchesFailed: before.fetchesFailed + 1,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
