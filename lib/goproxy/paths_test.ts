import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { parseProxyPath, proxyPath, type ProxyRequest, RouteError } from "./paths.ts";
import { parseRoute } from "./route.ts";

Deno.test("request paths are escaped as the go command escapes them", () => {
  assertEquals(
    proxyPath({ kind: "list", module: "github.com/BurntSushi/toml" }),
    "/github.com/!burnt!sushi/toml/@v/list",
  );
  assertEquals(proxyPath({ kind: "latest", module: "example.com/m" }), "/example.com/m/@latest");
  assertEquals(
    proxyPath({ kind: "info", module: "example.com/m", version: "v1.0.0-RC1" }),
    "/example.com/m/@v/v1.0.0-!r!c1.info",
  );
  assertEquals(
    proxyPath({ kind: "zip", module: "example.com/m", version: "v2.0.0+incompatible" }),
    "/example.com/m/@v/v2.0.0%2Bincompatible.zip",
  );
});

Deno.test("a request written as a path reads back as the same request", () => {
  const cases: ProxyRequest[] = [
    { kind: "list", module: "golang.org/x/text" },
    { kind: "latest", module: "golang.org/x/text" },
    { kind: "list", module: "github.com/BurntSushi/toml" },
    { kind: "latest", module: "github.com/Azure/Go-AutoRest/v14" },
    { kind: "info", module: "golang.org/x/text", version: "v0.3.0" },
    { kind: "mod", module: "github.com/BurntSushi/toml", version: "v1.2.0" },
    { kind: "zip", module: "example.com/m", version: "v1.0.0-RC1" },
    { kind: "info", module: "example.com/m", version: "v1.0.0-rc.1+Build.5" },
    { kind: "zip", module: "example.com/m", version: "v2.0.0+incompatible" },
    { kind: "mod", module: "example.com/m/v2", version: "v2.0.0-20200102030405-abcdefabcdef" },
    { kind: "info", module: "example.com/m", version: "main" },
    { kind: "info", module: "example.com/m", version: "Feature-X" },
    { kind: "info", module: "gopkg.in/yaml.v2", version: "v2.4.0" },
    { kind: "zip", module: "example.com/a~b_c-d.e/f", version: "v0.0.1" },
  ];
  for (const request of cases) {
    const path = proxyPath(request);
    assertEquals(parseProxyPath(decodeURIComponent(path)), request, path);
    assertEquals(parseRoute(path), request, path);
  }
});

Deno.test("a path read as a request is written back the same, escaped as the go command escapes", () => {
  const paths = [
    "/golang.org/x/text/@v/list",
    "/golang.org/x/text/@latest",
    "/github.com/!burnt!sushi/toml/@v/v1.2.0.zip",
    "/example.com/m/@v/v1.0.0-!r!c1.info",
    "/example.com/m/v2/@v/v2.0.0-20200102030405-abcdefabcdef.mod",
    "/example.com/m/@v/main.info",
  ];
  for (const path of paths) assertEquals(proxyPath(parseProxyPath(path)), path);
});

Deno.test("paths that are no module endpoint, or malformed, are refused with 404 or 400", () => {
  const cases: [string, number][] = [
    ["/github.com/BurntSushi/toml/@v/list", 400], // raw uppercase
    ["/example.com/m/@v/V1.0.0.info", 400], // uppercase version unescaped
    ["/example.com/m/@v/v1.0.0.ziphash", 404],
    ["/example.com/m/@v/", 404],
    ["/example.com/m", 404],
    ["example.com/m/@latest", 404],
  ];
  for (const [path, status] of cases) {
    const error = assertThrows(() => parseProxyPath(path), RouteError) as RouteError;
    assertEquals(error.status, status, path);
  }
});
