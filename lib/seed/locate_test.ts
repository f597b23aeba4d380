import { locateModuleCache } from "./mod.ts";
import { assertEquals } from "../../tests/assert.ts";

const noGo = () => Promise.resolve(null);

Deno.test("the module cache is found by flag, GOMODCACHE, go env, GOPATH, then ~/go", async () => {
  const go = () => Promise.resolve("/from/go\n");
  const env = { GOMODCACHE: "/env/mod", GOPATH: "/gp1:/gp2", HOME: "/home/me" };
  assertEquals((await locateModuleCache("/flag", env, go)).dir, "/flag");
  assertEquals((await locateModuleCache(undefined, env, go)).dir, "/env/mod");
  assertEquals(
    (await locateModuleCache(undefined, { ...env, GOMODCACHE: "" }, go)).dir,
    "/from/go",
  );
  assertEquals(
    await locateModuleCache(undefined, { GOPATH: "/gp1:/gp2", HOME: "/home/me" }, noGo),
    { dir: "/gp1/pkg/mod", from: "$GOPATH/pkg/mod" },
  );
  assertEquals(
    await locateModuleCache(undefined, { HOME: "/home/me" }, noGo),
    { dir: "/home/me/go/pkg/mod", from: "~/go/pkg/mod" },
  );
});
