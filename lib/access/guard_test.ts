import bcrypt from "bcryptjs";
import { assertEquals } from "../../tests/assert.ts";
import type { Handler, HttpRequest, HttpResponse } from "../http/mod.ts";
import { silentLogger } from "../log.ts";
import { CredentialChecker } from "./credentials.ts";
import { guardHandler, needsCredentials } from "./guard.ts";

const PRIVATE = "git.corp.example,*.internal";

Deno.test("scope private: private modules and Astera's own pages need credentials, the rest stays open", () => {
  const needs = (target: string) => needsCredentials(target, "private", PRIVATE);
  for (
    const target of [
      "/git.corp.example/team/lib.git/@v/list",
      "/git.corp.example/team/lib.git/@latest",
      "/git.corp.example/team/lib.git/@v/v1.0.0.zip",
      "/git.corp.example/team/lib.git/@v/v1.0.0.info?x",
      "/%67it.corp.example/team/lib.git/@v/list",
      "/a.internal/x/@v/v1.0.0.mod",
      "/sumdb/sum.golang.org/lookup/git.corp.example/team/lib.git@v1.0.0",
      "/",
      "/metrics",
      "/_astera/stats",
      "/%5Fastera/stats",
      "/_astera/anything-later",
    ]
  ) assertEquals(needs(target), true, target);
  for (
    const target of [
      "/healthz",
      "/golang.org/x/text/@v/list",
      "/golang.org/x/text/@v/v0.3.0.zip",
      "/sumdb/sum.golang.org/supported",
      "/sumdb/sum.golang.org/lookup/golang.org/x/text@v0.3.0",
      "/favicon.ico",
    ]
  ) assertEquals(needs(target), false, target);
});

Deno.test("scope all: everything but /healthz needs credentials", () => {
  assertEquals(needsCredentials("/healthz", "all", ""), false);
  assertEquals(needsCredentials("/golang.org/x/text/@v/list", "all", ""), true);
  assertEquals(needsCredentials("/nothing", "all", ""), true);
});

function fakeHandler(): Handler & { seen: string[] } {
  const seen: string[] = [];
  const handler = (request: HttpRequest): HttpResponse => {
    seen.push(request.target);
    return { status: 200, headers: {}, body: new Uint8Array() };
  };
  return Object.assign(handler, {
    seen,
    stats: { requests: 0, errors: 0, notFound: 0, refused: 0 },
    isolateStats: () => ({}),
    forwarded: handler,
  });
}

Deno.test("the guard answers 401 with a Basic challenge, and passes good credentials on", async () => {
  const inner = fakeHandler();
  const lines: string[] = [];
  const log = {
    ...silentLogger,
    warn: (event: string, fields?: Record<string, unknown>) =>
      lines.push(`${event} ${JSON.stringify(fields)}`),
  };
  const checker = new CredentialChecker(new Map([["alice", bcrypt.hashSync("secret", 4)]]));
  const guarded = guardHandler(inner, { checker, scope: "private", privatePatterns: PRIVATE, log });
  const request = (target: string, authorization?: string): HttpRequest => ({
    method: "GET",
    target,
    headers: authorization ? { authorization } : {},
    address: "10.0.0.9",
  });
  const target = "/git.corp.example/team/lib.git/@v/list";
  for (const authorization of [undefined, "Basic %%%", `Basic ${btoa("alice:wrong")}`]) {
    const response = await guarded(request(target, authorization));
    assertEquals(response.status, 401);
    assertEquals(response.headers["www-authenticate"], 'Basic realm="astera"');
  }
  assertEquals(inner.seen, []);
  assertEquals((await guarded(request(target, `Basic ${btoa("alice:secret")}`))).status, 200);
  assertEquals((await guarded(request("/golang.org/x/text/@v/list"))).status, 200);
  assertEquals(inner.seen, [target, "/golang.org/x/text/@v/list"]);
  assertEquals(lines.some((line) => line.includes("wrong")), true);
  assertEquals(lines.some((line) => line.includes("secret") || line.includes("Basic")), false);
});
