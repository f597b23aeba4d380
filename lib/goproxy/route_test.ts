import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { proxyPath, type ProxyRequest } from "./paths.ts";
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
    ["/metrics", { kind: "metrics" }],
    ["/_astera/status.json", { kind: "status" }],
    ["/_astera/assets/uplot.js", { kind: "asset", name: "uplot.js" }],
    ["/sumdb/sum.golang.org/supported", {
      kind: "sumdb",
      name: "sum.golang.org",
      key: "supported",
    }],
    ["/sumdb/sum.golang.org/latest", { kind: "sumdb", name: "sum.golang.org", key: "latest" }],
    ["/sumdb/sum.golang.org/lookup/github.com/%21burnt%21sushi/toml@v1.2.0-%21r%21c1", {
      kind: "sumdb",
      name: "sum.golang.org",
      key: "lookup/github.com/!burnt!sushi/toml@v1.2.0-!r!c1",
      module: "github.com/BurntSushi/toml",
    }],
    ["/sumdb/localhost:8443/lookup/example.com/m@v2.0.0+incompatible", {
      kind: "sumdb",
      name: "localhost:8443",
      key: "lookup/example.com/m@v2.0.0+incompatible",
      module: "example.com/m",
    }],
    ...[
      "tile/8/0/000",
      "tile/8/1/x001/234.p/7",
      "tile/8/data/x123/x456/789",
      "tile/8/data/000.p/255",
      "tile/30/12/x001/x000/000",
    ].map((key): [string, Route] => [
      `/sumdb/sum.golang.org/${key}`,
      { kind: "sumdb", name: "sum.golang.org", key },
    ]),
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
    ["/_astera/assets/../stats", 404],
    ["/_astera/assets/", 404],
    ["/example.com/m/@other", 404],
  ];
  for (const [path, status] of cases) {
    const error = assertThrows(() => parseRoute(path), RouteError) as RouteError;
    assertEquals(error.status, status, path);
  }
});

Deno.test("checksum-database paths outside the go command's grammar are 404 without a way upstream", () => {
  const paths = [
    "/sumdb/sum.golang.org/lookup/x%3Fy=1@v1.0.0", // a decoded ? would start a query upstream
    "/sumdb/sum.golang.org/lookup/example.com/m%23@v1.0.0", // a decoded # would cut the path
    "/sumdb/sum.golang.org/lookup/example.com/m@v1.0.0%3Fx",
    "/sumdb/sum.golang.org/lookup/example.com/m@v1.0.0%23",
    "/sumdb/sum.golang.org/supported%3Fx",
    "/sumdb/sum.golang.org/lookup/../../etc/passwd",
    "/sumdb/sum.golang.org/lookup/example.com/M@v1.0.0", // raw uppercase
    "/sumdb/sum.golang.org/lookup/example.com/m@v1.0", // not canonical
    "/sumdb/sum.golang.org/lookup/example.com/m@latest",
    "/sumdb/sum.golang.org/lookup/example.com/m@v1.0.0/go.mod",
    "/sumdb/sum.golang.org/lookup/example.com/m",
    "/sumdb/sum.golang.org/tile/0/0/000", // height 0
    "/sumdb/sum.golang.org/tile/31/0/000", // height over 30
    "/sumdb/sum.golang.org/tile/08/0/000", // not as tlog writes it
    "/sumdb/sum.golang.org/tile/8/00/000",
    "/sumdb/sum.golang.org/tile/8/0/00",
    "/sumdb/sum.golang.org/tile/8/0/1000",
    "/sumdb/sum.golang.org/tile/8/0/x000/001",
    "/sumdb/sum.golang.org/tile/8/0/001/002",
    "/sumdb/sum.golang.org/tile/8/0/000.p/0",
    "/sumdb/sum.golang.org/tile/8/0/000.p/256", // a full tile is written without .p
    "/sumdb/sum.golang.org/tile/8/0/000.p/07",
    "/sumdb/sum.golang.org/tile/8/0/000.p/",
    "/sumdb/sum.golang.org/tile/8/0/000?x",
    "/sumdb/sum.golang.org/tile/8/hash/000",
    "/sumdb/sum.golang.org/tile/8/0/000/",
    "/sumdb/sum.golang.org/",
    "/sumdb/sum.golang.org",
    "/sumdb/Sum.golang.org/supported",
    "/sumdb/sum.golang.org/other",
    "/sumdb/sum.golang.org//supported",
  ];
  for (const path of paths) {
    const error = assertThrows(() => parseRoute(path), RouteError) as RouteError;
    assertEquals(error.status, 404, path);
  }
});

Deno.test("proxyPath escapes as the go command does and parseRoute reads it back", () => {
  const cases: [ProxyRequest, string][] = [
    [
      { kind: "list", module: "github.com/BurntSushi/toml" },
      "/github.com/!burnt!sushi/toml/@v/list",
    ],
    [{ kind: "latest", module: "example.com/m" }, "/example.com/m/@latest"],
    [
      { kind: "info", module: "example.com/m", version: "v1.0.0-RC1" },
      "/example.com/m/@v/v1.0.0-!r!c1.info",
    ],
    [
      { kind: "zip", module: "example.com/m", version: "v2.0.0+incompatible" },
      "/example.com/m/@v/v2.0.0%2Bincompatible.zip",
    ],
    [
      { kind: "mod", module: "gopkg.in/yaml.v2", version: "v2.4.0" },
      "/gopkg.in/yaml.v2/@v/v2.4.0.mod",
    ],
  ];
  for (const [route, path] of cases) {
    assertEquals(proxyPath(route), path);
    assertEquals(parseRoute(path), route);
  }
});
