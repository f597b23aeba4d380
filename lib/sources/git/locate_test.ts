import { assert, assertEquals, assertRejects, assertThrows } from "../../../tests/assert.ts";
import {
  createRepoLocator,
  locateStatic,
  matchGoImport,
  parseGoImports,
  RepoNotFoundError,
} from "./locate.ts";

Deno.test("known hosts and .git qualifiers locate repositories without the network", () => {
  const table: [string, string, string][] = [
    ["github.com/acme/lib", "github.com/acme/lib", "https://github.com/acme/lib"],
    ["github.com/acme/lib/sub/v2", "github.com/acme/lib", "https://github.com/acme/lib"],
    ["bitbucket.org/acme/lib/x", "bitbucket.org/acme/lib", "https://bitbucket.org/acme/lib"],
    [
      "git.corp.example/team/lib.git",
      "git.corp.example/team/lib.git",
      "https://git.corp.example/team/lib",
    ],
    [
      "git.corp.example/team/lib.git/sub/v2",
      "git.corp.example/team/lib.git",
      "https://git.corp.example/team/lib",
    ],
    [
      "git.corp.example:8443/a/b.git/c",
      "git.corp.example:8443/a/b.git",
      "https://git.corp.example:8443/a/b",
    ],
    [
      "git.corp.example/a/b.git/c.git/d",
      // The go command's pattern lets "." inside elements, so the last qualifier wins.
      "git.corp.example/a/b.git/c.git",
      "https://git.corp.example/a/b.git/c",
    ],
  ];
  for (const [path, root, url] of table) {
    assertEquals(locateStatic(path), { root, url, subdir: "" }, path);
  }
  for (const path of ["example.com/m", "git.corp.example/team/lib", "gitlab.com/a/b"]) {
    assertEquals(locateStatic(path), null, path);
  }
});

Deno.test("paths the go command rejects are not located", () => {
  assertThrows(() => locateStatic("github.com/acme"), RepoNotFoundError);
  assertThrows(() => locateStatic("github.com/acme/lib.git"), RepoNotFoundError);
  assertThrows(() => locateStatic("hg.example.com/repo.hg/x"), RepoNotFoundError);
});

Deno.test("go-import meta tags are read from the head only", () => {
  const html = `<!doctype html><html><head>
    <meta name="go-import" content="example.com/r git https://git.example/r">
    <META NAME='go-import' CONTENT='example.com/m mod https://proxy.example'>
    <meta name="go-import" content="example.com/s git https://git.example/s.git sub/dir">
    <meta name="go-import" content="too few">
    <meta name="go-source" content="example.com/r x y z">
    </head><body><meta name="go-import" content="example.com/late git https://late"></body></html>`;
  assertEquals(parseGoImports(html), [
    { prefix: "example.com/r", vcs: "git", url: "https://git.example/r", subdir: "" },
    { prefix: "example.com/m", vcs: "mod", url: "https://proxy.example", subdir: "" },
    { prefix: "example.com/s", vcs: "git", url: "https://git.example/s.git", subdir: "sub/dir" },
  ]);
  assertEquals(
    parseGoImports('<meta name="go-import" content="a.example/x git https://h/x?a=1&amp;b=2">')[0]
      .url,
    "https://h/x?a=1&b=2",
  );
});

Deno.test("the matching go-import entry is chosen by path-element prefix", () => {
  const imports = [
    { prefix: "a.example/r", vcs: "git", url: "https://git.a.example/r", subdir: "" },
    { prefix: "a.example/r", vcs: "mod", url: "https://proxy.a.example", subdir: "" },
    { prefix: "a.example/other", vcs: "git", url: "https://git.a.example/other", subdir: "" },
  ];
  assertEquals(matchGoImport(imports, "a.example/r/sub").url, "https://git.a.example/r");
  assertThrows(() => matchGoImport(imports, "a.example/rx"), RepoNotFoundError);
  assertThrows(
    () => matchGoImport([...imports, { ...imports[0], url: "https://elsewhere" }], "a.example/r"),
    RepoNotFoundError,
  );
  assertThrows(
    () =>
      matchGoImport(
        [{ prefix: "a.example/h", vcs: "hg", url: "https://h", subdir: "" }],
        "a.example/h",
      ),
    RepoNotFoundError,
  );
});

Deno.test("discovery asks once per prefix, checks the root's page, and remembers", async () => {
  const pages: Record<string, string> = {
    "https://corp.example/team/lib/sub?go-get=1":
      '<meta name="go-import" content="corp.example/team/lib git https://git.corp.example/team/lib">',
    "https://corp.example/team/lib?go-get=1":
      '<meta name="go-import" content="corp.example/team/lib git https://git.corp.example/team/lib">',
    "https://corp.example/liar/x?go-get=1":
      '<meta name="go-import" content="corp.example/liar git https://evil.example/r">',
    "https://corp.example/liar?go-get=1":
      '<meta name="go-import" content="corp.example/liar git https://git.corp.example/liar">',
  };
  const asked: string[] = [];
  const locate = createRepoLocator({
    fetch: (url) => {
      asked.push(url);
      return Promise.resolve(
        new Response(pages[url] ?? "<html></html>", { status: pages[url] ? 200 : 404 }),
      );
    },
  });
  const want = {
    root: "corp.example/team/lib",
    url: "https://git.corp.example/team/lib",
    subdir: "",
  };
  assertEquals(await locate("corp.example/team/lib/sub"), want);
  assertEquals(await locate("corp.example/team/lib/sub"), want);
  assertEquals(asked, [
    "https://corp.example/team/lib/sub?go-get=1",
    "https://corp.example/team/lib?go-get=1",
  ]);
  await assertRejects(() => locate("corp.example/liar/x"), RepoNotFoundError);
  await assertRejects(() => locate("corp.example/nothing"), RepoNotFoundError);
});

Deno.test("a discovery page of 16 MiB is read only as far as its first MiB", async () => {
  const meta =
    '<head><meta name="go-import" content="corp.example/big git https://git.corp.example/big">';
  let sent = 0;
  let cancelled = false;
  const page = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 16 << 20) return controller.close();
      const chunk = sent === 0 ? meta : "<!-- padding -->".repeat(4096);
      sent += chunk.length;
      controller.enqueue(new TextEncoder().encode(chunk));
    },
    cancel() {
      cancelled = true;
    },
  });
  const locate = createRepoLocator({ fetch: () => Promise.resolve(new Response(page)) });
  assertEquals(await locate("corp.example/big"), {
    root: "corp.example/big",
    url: "https://git.corp.example/big",
    subdir: "",
  });
  assert(cancelled, "the rest of the page was not read");
  assert(sent < 2 << 20, `read ${sent} bytes`);
});

/**
 * A fetch that sends `https://corp.example/…` to the local server at `secure` (as if it were
 * that host over TLS) and everything else where it says, through the platform's own fetch.
 */
function corpFetch(secure: string) {
  return (url: string, init: RequestInit) =>
    fetch(url.replace(/^https:\/\/corp\.example\//, `${secure}/`), init);
}

Deno.test("discovery follows a redirect from https to https, never to plain http", async () => {
  const page = (name: string) =>
    `<meta name="go-import" content="corp.example/${name} git https://git.corp.example/${name}">`;
  const plain = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(page("moved")),
  ); // a page anyone on the way could have written
  const secure = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/moved") {
      return Response.redirect(`http://127.0.0.1:${plain.addr.port}/moved?go-get=1`, 302);
    }
    if (path === "/renamed") return Response.redirect("https://corp.example/new?go-get=1", 301);
    return new Response(page(path === "/new" ? "renamed" : path.slice(1)));
  });
  try {
    const locate = createRepoLocator({ fetch: corpFetch(`http://127.0.0.1:${secure.addr.port}`) });
    const error = await assertRejects(() => locate("corp.example/moved"), RepoNotFoundError);
    assertEquals(
      error.message,
      `discovering corp.example/moved: redirected from secure URL https://corp.example/moved?go-get=1 ` +
        `to insecure URL http://127.0.0.1:${plain.addr.port}/moved?go-get=1`,
    );
    // The page a secure redirect leads to is read.
    assertEquals(await locate("corp.example/renamed"), {
      root: "corp.example/renamed",
      url: "https://git.corp.example/renamed",
      subdir: "",
    });
  } finally {
    await plain.shutdown();
    await secure.shutdown();
  }
});
