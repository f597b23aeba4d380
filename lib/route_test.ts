import { assertEquals, assertThrows } from "./testing.ts";
import { parseRoute, type Route, RouteError } from "./route.ts";

Deno.test("proxy paths decode to module, version and endpoint", () => {
  const cases: [string, Route][] = [
    ["/golang.org/x/text/@v/list", { kind: "list", module: "golang.org/x/text" }],
    ["/golang.org/x/text/@latest", { kind: "latest", module: "golang.org/x/text" }],
    ["/golang.org/x/text/@v/v0.3.0.info", {
      kind: "info",
      module: "golang.org/x/text",
      version: "v0.3.0",
    }],
    ["/github.com/%21burnt%21sushi/toml/@v/v1.2.0.zip", {
      kind: "zip",
      module: "github.com/BurntSushi/toml",
      version: "v1.2.0",
    }],
    ["/github.com/!burnt!sushi/toml/@v/v1.2.0.mod", {
      kind: "mod",
      module: "github.com/BurntSushi/toml",
      version: "v1.2.0",
    }],
    ["/example.com/m/@v/v1.0.0-%21r%21c1.info", {
      kind: "info",
      module: "example.com/m",
      version: "v1.0.0-RC1",
    }],
    ["/example.com/m/@v/v2.0.0+incompatible.mod", {
      kind: "mod",
      module: "example.com/m",
      version: "v2.0.0+incompatible",
    }],
    ["/example.com/m/@v/main.info", { kind: "info", module: "example.com/m", version: "main" }],
    ["/example.com/m/v2/@v/list", { kind: "list", module: "example.com/m/v2" }],
    ["/healthz", { kind: "health" }],
    ["/sumdb/sum.golang.org/supported", { kind: "sumdb", path: "sum.golang.org/supported" }],
  ];
  for (const [path, expected] of cases) assertEquals(parseRoute(path), expected, path);
});

Deno.test("malformed paths are refused with a 4xx and a reason", () => {
  const cases: [string, number][] = [
    ["/github.com/BurntSushi/toml/@v/list", 400], // raw uppercase
    ["/github.com/!Burnt/toml/@v/list", 400], // ! before uppercase
    ["/example.com/m!/@v/list", 400], // trailing !
    ["/example.com/m/v1/@v/list", 400], // /v1 suffix
    ["/example.com/m/v02/@v/list", 400],
    ["/example.com/.x/@v/list", 400],
    ["/example.com/%E2%82%AC/@v/list", 400], // non-ASCII
    ["/example.com/m/@v/V1.0.0.info", 400], // uppercase version unescaped
    ["/%zz/@v/list", 400],
    ["/example.com/m/@v/v1.0.0.ziphash", 404],
    ["/example.com/m/@v/", 404],
    ["/example.com/m", 404],
    ["/", 404],
    ["/example.com/m/@other", 404],
  ];
  for (const [path, status] of cases) {
    const error = assertThrows(() => parseRoute(path), RouteError) as RouteError;
    assertEquals(error.status, status, path);
  }
});
