import { crc32 as crc } from "node:zlib";
import { concatBytes } from "../util/bytes.ts";
import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { readTarStream, type TarEntryType, TarError } from "./tar.ts";

/** Every member of `archive` with its content (a symlink's: its target), read in one chunk. */
async function readTar(
  archive: Uint8Array,
): Promise<{ name: string; type: TarEntryType; data: Uint8Array }[]> {
  const entries = [];
  for await (const e of readTarStream(ReadableStream.from([archive]))) {
    const parts: Uint8Array[] = [];
    for await (const piece of e.body()) parts.push(piece);
    const data = e.type === "symlink" ? new TextEncoder().encode(e.linkTarget) : concatBytes(parts);
    entries.push({ name: e.name, type: e.type, data });
  }
  return entries;
}

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
    const entries = await readTar(out.stdout);
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

/** `data` in pieces of varying odd sizes, from 1 byte up. */
async function* inPieces(data: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0, n = 1; at < data.length; at += n, n = (n * 7) % 1543 + 1) {
    yield data.slice(at, at + n);
  }
}

Deno.test("a tar streamed in odd-sized chunks gives the same members, bodies read or skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const git = (...args: string[]) =>
      new Deno.Command("git", {
        args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
        cwd: dir,
        stdout: "piped",
        stderr: "null",
      }).output();
    const long = "l".repeat(120) + "/" + "x".repeat(150);
    await git("init", "-q");
    await Deno.mkdir(`${dir}/${long}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${long}/f.txt`, "deep\n");
    await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(70_000).map((_, i) => i % 251));
    await Deno.writeTextFile(`${dir}/skipped.txt`, "not read\n".repeat(100));
    await Deno.writeTextFile(`${dir}/z.txt`, "last\n");
    await Deno.symlink("z.txt", `${dir}/link`);
    await git("add", "-A");
    await git("commit", "-q", "-m", "x");
    const archive = (await git("archive", "--format=tar", "--prefix=p/", "HEAD")).stdout;
    const whole = await readTar(archive);
    const streamed: [string, string, number, string][] = [];
    for await (const e of readTarStream(inPieces(archive))) {
      let text = e.type === "symlink" ? e.linkTarget : "";
      if (e.type === "file" && !e.name.endsWith("skipped.txt")) {
        const parts: Uint8Array[] = [];
        for await (const piece of e.body()) parts.push(piece);
        text = String(await crc(concatBytes(parts)));
      }
      streamed.push([e.name, e.type, e.size, text]);
    }
    const expected = await Promise.all(whole.map(async (e) => {
      let text = e.type === "symlink" ? new TextDecoder().decode(e.data) : "";
      if (e.type === "file" && !e.name.endsWith("skipped.txt")) text = String(await crc(e.data));
      return [e.name, e.type, e.type === "symlink" ? 0 : e.data.length, text];
    }));
    assertEquals(streamed, expected);
    assertEquals(streamed.some(([name]) => name === `p/${long}/f.txt`), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a tar stream cut short is an error, not a short member", async () => {
  const header = new Uint8Array(512);
  header.set(new TextEncoder().encode("a.txt"), 0);
  header.set(new TextEncoder().encode("00000001000\0"), 124); // 512 bytes
  header[156] = "0".charCodeAt(0);
  async function* cut() {
    yield header;
    yield new Uint8Array(100);
  }
  await assertRejects(async () => {
    for await (const e of readTarStream(cut())) for await (const _ of e.body());
  }, TarError);
});
