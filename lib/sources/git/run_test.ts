import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../../tests/assert.ts";
import {
  checkGitArg,
  gitEnvironment,
  GitError,
  redactCredentials,
  runGit,
  streamGit,
} from "./run.ts";

Deno.test("option-like and control-character arguments are refused before git runs", () => {
  for (const bad of ["--upload-pack=touch /tmp/x", "-c", "-", "v1\n", "a\x00b", "x\x7f", ""]) {
    assertThrows(() => checkGitArg(bad, "ref"), GitError);
  }
  for (const good of ["v1.2.3", "main", "feature/x", "refs/tags/v1.0.0", "abc1234", "sub/v2.0.0"]) {
    checkGitArg(good, "ref");
  }
});

Deno.test("credentials in URLs are removed from messages", () => {
  assertEquals(
    redactCredentials("fatal: unable to access 'https://me:s3cret@git.example/r/': 403"),
    "fatal: unable to access 'https://git.example/r/': 403",
  );
  assertEquals(
    redactCredentials("ssh://git@host/r and http://tok@h/x"),
    "ssh://host/r and http://h/x",
  );
  assertEquals(redactCredentials("no url here"), "no url here");
});

Deno.test("a failing git command reports no credentials", async () => {
  const err = await assertRejects(
    () => runGit(["ls-remote", "https://user:hunter2@127.0.0.1:9/none.git"], { timeoutMs: 20_000 }),
    GitError,
  );
  assert(!err.message.includes("hunter2"), err.message);
  assert(!(err as GitError).stderr.includes("hunter2"), (err as GitError).stderr);
});

Deno.test("git runs without terminal prompts and with a fixed locale", () => {
  const env = gitEnvironment();
  assertEquals(env.GIT_TERMINAL_PROMPT, "0");
  assertEquals(env.LC_ALL, "C");
});

Deno.test("a git command that runs too long is killed", async () => {
  const started = performance.now();
  const err = await assertRejects(
    () => runGit(["-c", "alias.hang=!sleep 5", "hang"], { timeoutMs: 300 }),
    GitError,
  );
  assert((err as GitError).timedOut, err.message);
  assert(performance.now() - started < 3_000, "the timeout did not stop the wait");
});

Deno.test("output beyond the cap fails the command", async () => {
  const err = await assertRejects(
    () => runGit(["help", "-a"], { maxOutput: 16 }),
    GitError,
  );
  assert(err.message.includes("output larger"), err.message);
});

Deno.test("non-zero exits throw unless allowed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => runGit(["rev-parse", "--verify", "nope"], { cwd: dir }), GitError);
    const res = await runGit(["rev-parse", "--verify", "nope"], { cwd: dir, okExitCodes: [128] });
    assertEquals(res.exitCode, 128);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ssh runs in batch mode unless the operator configured an ssh command", async () => {
  const dir = await Deno.makeTempDir();
  const saved = Deno.env.get("GIT_CONFIG_GLOBAL");
  try {
    await Deno.writeTextFile(`${dir}/plain`, "[user]\n\tname = x\n");
    await Deno.writeTextFile(`${dir}/custom`, "[core]\n\tsshCommand = ssh -i /keys/deploy\n");
    Deno.env.set("GIT_CONFIG_GLOBAL", `${dir}/plain`);
    assertEquals(gitEnvironment().GIT_SSH_COMMAND, "ssh -o ControlMaster=no -o BatchMode=yes");
    Deno.env.set("GIT_CONFIG_GLOBAL", `${dir}/custom`);
    assertEquals(gitEnvironment().GIT_SSH_COMMAND, undefined);
  } finally {
    if (saved === undefined) Deno.env.delete("GIT_CONFIG_GLOBAL");
    else Deno.env.set("GIT_CONFIG_GLOBAL", saved);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("streamGit hands output over in pieces and checks the exit status at the end", async () => {
  let text = "";
  for await (const piece of streamGit(["--version"])) text += new TextDecoder().decode(piece);
  assertStringIncludes(text, "git version");
  const err = await assertRejects(async () => {
    for await (const _ of streamGit(["rev-parse", "--verify", "no-such-ref"], { cwd: "/" }));
  }, GitError);
  assert(err instanceof GitError && err.exitCode !== null && err.exitCode !== 0, err.message);
});

Deno.test("streamGit stops a never-ending git when the reader stops or the cap is passed", async () => {
  // An alias running `yes` prints forever: only a kill ends it.
  const endless = ["-c", "alias.forever=!yes", "forever"];
  let got = 0;
  for await (const piece of streamGit(endless)) {
    got += piece.byteLength;
    if (got > 1 << 20) break;
  }
  assert(got > 1 << 20);
  await assertRejects(
    async () => {
      for await (const _ of streamGit(endless, { maxOutput: 1 << 20 }));
    },
    GitError,
    "output larger than 1048576 bytes",
  );
});

Deno.test("streamGit's timeout is for git's silence, not for a slow reader", async () => {
  // git answers at once; the reader then takes longer than the timeout over the chunk
  // (deflate, hashing, a database write back-off), which must not count against git.
  let text = "";
  for await (const piece of streamGit(["--version"], { timeoutMs: 1000 })) {
    text += new TextDecoder().decode(piece);
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
  assertStringIncludes(text, "git version");
});

Deno.test("streamGit kills a git that prints nothing for the timeout", async () => {
  const err = await assertRejects(async () => {
    for await (const _ of streamGit(["-c", "alias.hang=!sleep 2", "hang"], { timeoutMs: 300 }));
  }, GitError);
  assert((err as GitError).timedOut, err.message);
  assertStringIncludes(err.message, "no output for 300 ms");
});

Deno.test("streamGit's failure says git's fatal line, not its closing advice", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const err = await assertRejects(async () => {
      for await (const _ of streamGit(["ls-remote", `${dir}/none`]));
    }, GitError);
    assertStringIncludes(err.message, "does not appear to be a git repository");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
