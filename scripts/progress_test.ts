import { createProgress, formatBytes, renderBar } from "./progress.ts";
import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";

const state = (done: number) => ({
  doneBytes: done,
  totalBytes: 2048,
  doneItems: done > 0 ? 1 : 0,
  totalItems: 2,
  label: "example.com/m@v1.0.0.zip",
});

Deno.test("without a terminal, a plain line at most once per interval", () => {
  let t = 0;
  const out: string[] = [];
  const progress = createProgress({
    tty: false,
    write: (text) => out.push(text),
    now: () => t,
    lineIntervalMs: 5000,
  });
  progress.update(state(0));
  t = 4999;
  progress.update(state(512));
  assertEquals(out, []);
  t = 5000;
  progress.update(state(1024));
  assertEquals(out, ["progress 50% 1.0 KiB of 2.0 KiB, 1 of 2 files (example.com/m@v1.0.0.zip)\n"]);
  progress.line("skipped x");
  progress.done();
  assertEquals(out.at(-1), "skipped x\n");
});

Deno.test("on a terminal, the bar is redrawn in place and cleared before other lines", () => {
  let t = 0;
  const out: string[] = [];
  const progress = createProgress({ tty: true, write: (text) => out.push(text), now: () => t });
  t = 100;
  progress.update(state(1024));
  assert(out[0].startsWith("\r[##########----------]  50% "), out[0]);
  progress.line("skipped y");
  assertEquals(out.slice(1), [`\r${" ".repeat(79)}\r`, "skipped y\n"]);
});

Deno.test("the bar fits the terminal and shortens long labels from the left", () => {
  const bar = renderBar({ ...state(2048), label: "x".repeat(200) + "tail" }, 80);
  assertEquals(bar.length, 79);
  assertStringIncludes(bar, "…");
  assert(bar.trimEnd().endsWith("tail"));
  assertEquals(formatBytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
});
