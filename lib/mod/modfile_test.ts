import { assertEquals } from "../../tests/assert.ts";
import {
  goModGoVersion,
  goModModulePath,
  goModParsesYielding,
  goModRequires,
  goModRetractions,
} from "./modfile.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/**
 * go.mod texts, and what golang.org/x/mod v0.43.0 makes of them: `modfile.ModulePath`,
 * and `modfile.ParseLax`'s go version and retraction bounds (null: the file does not
 * parse; the go command then has no go version and applies no retractions).
 */
const CASES: {
  name: string;
  text: string;
  go: string;
  retract: [string, string][] | null;
  path: string;
}[] = [
  { name: "backquotemod", text: "module `m`\ngo 1.24\n", go: "", retract: null, path: "m" },
  { name: "bom", text: "\ufeffmodule m\n\ngo 1.24\n", go: "", retract: null, path: "" },
  { name: "brace", text: "module m\ngo 1.24\nfoo {\n", go: "1.24", retract: [], path: "m" },
  {
    name: "closeparen",
    text: "module m\ngo 1.24\nrequire (\n) x\n",
    go: "",
    retract: null,
    path: "m",
  },
  { name: "ctrl", text: "module m\ngo 1.24\nfoo \u0001\n", go: "", retract: null, path: "m" },
  {
    name: "emptyblock",
    text: "module m\ngo 1.24\nretract ( )\n",
    go: "1.24",
    retract: [],
    path: "m",
  },
  {
    name: "exclude",
    text: "module m\ngo 1.24\nexclude example.com/y latest\nreplace x => y\n",
    go: "1.24",
    retract: [],
    path: "m",
  },
  { name: "goblock", text: "module m\n\ngo (\n 1.24\n)\n", go: "", retract: [], path: "m" },
  { name: "ignore0", text: "module m\ngo 1.24\nignore\n", go: "", retract: null, path: "m" },
  { name: "laxrc", text: "module m\n\ngo 1.24.0-rc1\n", go: "1.24", retract: [], path: "m" },
  { name: "laxx", text: "module m\n\ngo 1.24.x\n", go: "1.24", retract: [], path: "m" },
  { name: "midparen", text: "module m\ngo 1.24\nfoo ( bar\n", go: "1.24", retract: [], path: "m" },
  { name: "nel", text: "module m\ngo\u00851.24\n", go: "", retract: null, path: "m" },
  { name: "nogo", text: "module m\n", go: "", retract: [], path: "m" },
  { name: "plain", text: "module m\n\ngo 1.24.1\n", go: "1.24.1", retract: [], path: "m" },
  { name: "quotedgo", text: 'module m\ngo "1.24"\n', go: "", retract: null, path: "m" },
  { name: "rc", text: "module m\ngo 1.21rc1 // c\n", go: "1.21rc1", retract: [], path: "m" },
  {
    name: "reqinc",
    text: "module m\ngo 1.24\nrequire example.com/x v2.0.0+incompatible\n",
    go: "1.24",
    retract: [],
    path: "m",
  },
  {
    name: "reqlatest",
    text: "module m\n\ngo 1.24\nrequire example.com/x latest\n",
    go: "",
    retract: null,
    path: "m",
  },
  {
    name: "reqmajor",
    text: "module m\ngo 1.24\nrequire example.com/x v2.0.0\n",
    go: "",
    retract: null,
    path: "m",
  },
  {
    name: "reqmajor2",
    text: "module m\ngo 1.24\nrequire example.com/x/v2 v1.0.0\n",
    go: "",
    retract: null,
    path: "m",
  },
  {
    name: "reqone",
    text: "module m\n\ngo 1.24\nrequire example.com/x\n",
    go: "",
    retract: null,
    path: "m",
  },
  {
    name: "reqshort",
    text: "module m\ngo 1.24\nrequire (\n\texample.com/x v1.2 // indirect\n)\n",
    go: "1.24",
    retract: [],
    path: "m",
  },
  {
    name: "retractbad",
    text: "module m\ngo 1.24\nretract v1.1.0\nretract [v1.0.5\n",
    go: "1.24",
    retract: [["v1.1.0", "v1.1.0"]],
    path: "m",
  },
  {
    name: "retractextra",
    text:
      "module m\nretract v1.0.0 extra\nretract [v1.2, v1.3]\nretract v1.4.0+meta\nretract latest\n",
    go: "",
    retract: [["v1.0.0", "v1.0.0"], ["v1.2", "v1.3"], ["v1.4.0+meta", "v1.4.0+meta"], [
      "latest",
      "latest",
    ]],
    path: "m",
  },
  {
    name: "retractquoted",
    text: "module m\nretract \"v1.0.0\"\nretract 'v1.1.0'\n",
    go: "",
    retract: [["v1.0.0", "v1.0.0"]],
    path: "m",
  },
  {
    name: "retracts",
    text:
      "module m\n\nretract v1.0.0 // oops\nretract [v1.1.0, v1.1.5]\nretract (\n\tv1.2.0 // bad build\n\t[v2.0.0-0, v2.0.1]\n)\nrequire x.example/y v1.0.0\n",
    go: "",
    retract: [["v1.0.0", "v1.0.0"], ["v1.1.0", "v1.1.5"], ["v1.2.0", "v1.2.0"], [
      "v2.0.0-0",
      "v2.0.1",
    ]],
    path: "m",
  },
  {
    name: "retractshort",
    text: "module m\ngo 1.24\nretract v1.1\n",
    go: "1.24",
    retract: [["v1.1", "v1.1"]],
    path: "m",
  },
  { name: "slashstar", text: "module m\ngo 1.24 /* c */\n", go: "", retract: null, path: "m" },
  {
    name: "toolchain",
    text: "module m\ngo 1.24 // c\ntoolchain\n",
    go: "1.24",
    retract: [],
    path: "m",
  },
  { name: "twogo", text: "module m\ngo 1.21\ngo 1.22\n", go: "", retract: null, path: "m" },
  { name: "twomodule", text: "module m\nmodule n\n\ngo 1.24\n", go: "", retract: null, path: "m" },
  {
    name: "unclosedstring",
    text: 'module m\ngo 1.24\nretract "v1.0.0\n',
    go: "",
    retract: null,
    path: "m",
  },
  {
    name: "unterminated",
    text: "module m\ngo 1.24\nrequire (\n",
    go: "",
    retract: null,
    path: "m",
  },
  { name: "vprefix", text: "module m\ngo v1.24\n", go: "", retract: null, path: "m" },
  { name: "vprefixlax", text: "module m\ngo v1.24-x\n", go: "1.24", retract: [], path: "m" },
  { name: "word", text: "module m\ngo one\n", go: "", retract: null, path: "m" },
];

Deno.test("go.mod files read as modfile.ParseLax and ModulePath read them", () => {
  for (const { name, text, go, retract, path } of CASES) {
    const data = enc(text);
    assertEquals(goModGoVersion(data), go, `${name}: go version`);
    const retractions = goModRetractions(data);
    assertEquals(
      retractions && retractions.map((r) => [r.low, r.high]),
      retract,
      `${name}: retract`,
    );
    assertEquals(goModModulePath(data), path, `${name}: module path`);
  }
});

Deno.test("the module path is read like the go command reads it", () => {
  assertEquals(goModModulePath(enc("// comment\nmodule example.com/m\n")), "example.com/m");
  assertEquals(goModModulePath(enc('module "example.com/q" // x\n')), "example.com/q");
  assertEquals(goModModulePath(enc("module\n")), "");
  assertEquals(goModModulePath(enc("modulex example.com/m\n")), "");
  assertEquals(goModModulePath(enc("go 1.21\n")), "");
});

Deno.test("retractions keep the comment beside them as their rationale", () => {
  const text =
    "module m\nretract v1.0.0 // oops\nretract (\n\tv1.2.0 // bad build\n\t[v2.0.0-0, v2.0.1]\n)\n";
  assertEquals(goModRetractions(enc(text)), [
    { low: "v1.0.0", high: "v1.0.0", rationale: "oops" },
    { low: "v1.2.0", high: "v1.2.0", rationale: "bad build" },
    { low: "v2.0.0-0", high: "v2.0.1", rationale: "" },
  ]);
});

/** Whether a timer queued as the parse of `data` starts runs before it ends, and its answer. */
async function timerRunsDuringParse(data: Uint8Array): Promise<[boolean, boolean]> {
  let finished = false;
  const parsing = goModParsesYielding(data).then((parses) => {
    finished = true;
    return parses;
  });
  // Queued after the parse's first pause: it runs while the parse is still under way.
  const ranBetween = new Promise<boolean>((resolve) => setTimeout(() => resolve(!finished), 0));
  return [await ranBetween, await parsing];
}

Deno.test("a big go.mod is parsed in slices that let other work run in between", async () => {
  const big = enc("module m\n\nrequire (\n" + "\texample.com/x v1.0.0\n".repeat(100_000) + ")\n");
  assertEquals(await timerRunsDuringParse(big), [true, true], "a timer ran between two slices");
  // Few tokens, much text (16 MB): the slices are timed, not counted in tokens.
  const long = enc("module m\n" + `note ${"a".repeat(16_000)}\n`.repeat(1_000));
  assertEquals(await timerRunsDuringParse(long), [true, true], "a timer ran between two slices");
  // The same answers as the parse in one go (goModRetractions' null), for good files and one cut short.
  const cut = big.subarray(0, big.length - 10);
  assertEquals(
    [await goModParsesYielding(cut), goModRetractions(cut), goModRetractions(long)],
    [false, null, []],
  );
  assertEquals(goModRetractions(big), []);
});

Deno.test("the parse that gives way answers as the parse in one go", async () => {
  for (const { name, text, retract } of CASES) {
    assertEquals(await goModParsesYielding(enc(text)), retract !== null, name);
  }
});

Deno.test("require directives are read as modfile.ParseLax reads them, versions canonical", () => {
  const cases: { name: string; text: string; want: [string, string][] | null }[] = [
    { name: "none", text: "module m\ngo 1.21\n", want: [] },
    {
      name: "line",
      text: "module m\nrequire x.example/a v1.2.3\n",
      want: [["x.example/a", "v1.2.3"]],
    },
    {
      name: "block with comments",
      text: "module m\nrequire (\n\tx.example/a v1.0.0 // indirect\n\n\tx.example/b v0.1.0\n)\n",
      want: [["x.example/a", "v1.0.0"], ["x.example/b", "v0.1.0"]],
    },
    {
      name: "quoted",
      text: 'module m\nrequire "x.example/q" "v1.0.0"\n',
      want: [["x.example/q", "v1.0.0"]],
    },
    {
      name: "short version",
      text: "module m\nrequire x.example/a v1.2\n",
      want: [["x.example/a", "v1.2.0"]],
    },
    {
      name: "major suffix and incompatible",
      text: "module m\nrequire (\n\tx.example/c/v2 v2.1.0\n\tx.example/d v3.0.0+incompatible\n)\n",
      want: [["x.example/c/v2", "v2.1.0"], ["x.example/d", "v3.0.0+incompatible"]],
    },
    {
      name: "pseudo-version",
      text: "module m\nrequire x.example/p v0.0.0-20240101000000-0123456789ab\n",
      want: [["x.example/p", "v0.0.0-20240101000000-0123456789ab"]],
    },
    {
      name: "replace and exclude not requirements",
      text: "module m\nexclude x.example/a v1.0.0\nreplace x.example/a => ../a\n",
      want: [],
    },
    {
      name: "major mismatch fails the file",
      text: "module m\nrequire x.example/c/v2 v1.0.0\n",
      want: null,
    },
    {
      name: "bad version fails the file",
      text: "module m\nrequire x.example/a latest\n",
      want: null,
    },
    { name: "cut short", text: "module m\nrequire (\n\tx.example/a v1.0.0\n", want: null },
  ];
  for (const { name, text, want } of cases) {
    const requires = goModRequires(enc(text));
    assertEquals(requires && requires.map((r) => [r.module, r.version]), want, name);
  }
});
