import { assertEquals } from "./testing.ts";
import { readTar } from "./tar.ts";

Deno.test("git archive tars are read with long names, symlinks and directories", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const git = (...args: string[]) =>
      new Deno.Command("git", {
        args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
        cwd: dir,
        stdout: "piped",
        stderr: "null",
      }).output();
    const mid = "m".repeat(80) + "/" + "n".repeat(60); // ustar prefix field
    const long = "l".repeat(120) + "/" + "x".repeat(150); // pax path record
    await git("init", "-q");
    await Deno.mkdir(`${dir}/${mid}`, { recursive: true });
    await Deno.mkdir(`${dir}/${long}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${mid}/file.go`, "package a\n");
    await Deno.writeTextFile(`${dir}/${long}/f.txt`, "deep\n");
    await Deno.writeTextFile(`${dir}/short.txt`, "");
    await Deno.symlink("short.txt", `${dir}/link`);
    await git("add", "-A");
    await git("commit", "-q", "-m", "x");
    const out = await git("archive", "--format=tar", "--prefix=p/", "HEAD");
    const entries = readTar(out.stdout);
    const files = entries.filter((e) => e.type !== "directory").map((e) => [
      e.name,
      e.type,
      new TextDecoder().decode(e.data),
    ]);
    assertEquals(
      files.sort(),
      [
        [`p/${long}/f.txt`, "file", "deep\n"],
        [`p/${mid}/file.go`, "file", "package a\n"],
        ["p/link", "symlink", "short.txt"],
        ["p/short.txt", "file", ""],
      ].sort(),
    );
    assertEquals(entries.some((e) => e.type === "directory" && e.name === "p"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
