import { assertEquals } from "./testing.ts";
import { goModGoVersion, goModModulePath, goModRetractions } from "./gomod.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("the module path is read like the go command reads it", () => {
  assertEquals(goModModulePath(enc("// comment\nmodule example.com/m\n")), "example.com/m");
  assertEquals(goModModulePath(enc('module "example.com/q" // x\n')), "example.com/q");
  assertEquals(goModModulePath(enc("module\n")), "");
  assertEquals(goModModulePath(enc("modulex example.com/m\n")), "");
  assertEquals(goModModulePath(enc("go 1.21\n")), "");
});

Deno.test("the go directive is read, or empty when missing or malformed", () => {
  assertEquals(goModGoVersion(enc("module m\n\ngo 1.24.1\n")), "1.24.1");
  assertEquals(goModGoVersion(enc("module m\ngo 1.21rc1 // c\n")), "1.21rc1");
  assertEquals(goModGoVersion(enc("module m\n")), "");
  assertEquals(goModGoVersion(enc("module m\ngo one\n")), "");
  assertEquals(goModGoVersion(enc("module m\ngo 1.21\ngo 1.22\n")), "");
});

Deno.test("retract directives, single and blocks, with rationale", () => {
  const text = `module m

retract v1.0.0 // oops
retract [v1.1.0, v1.1.5]
retract (
	v1.2.0 // bad build
	[v2.0.0-0, v2.0.1]
)
require x.example/y v1.0.0
`;
  assertEquals(goModRetractions(enc(text)), [
    { low: "v1.0.0", high: "v1.0.0", rationale: "oops" },
    { low: "v1.1.0", high: "v1.1.5", rationale: "" },
    { low: "v1.2.0", high: "v1.2.0", rationale: "bad build" },
    { low: "v2.0.0-0", high: "v2.0.1", rationale: "" },
  ]);
  assertEquals(goModRetractions(enc("module m\n")), []);
  assertEquals(goModRetractions(enc("module m\nretract v1.0\n")), null);
  assertEquals(goModRetractions(enc("module m\nretract (\nv1.0.0\n")), null);
});
