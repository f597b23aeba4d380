/**
 * The git source against the go command in direct mode: for every fixture
 * module and query, Astera's `.info`, `@latest`, `.mod`, zip hash and `list`
 * must equal what `go mod download -json` / `go list -m -versions` compute
 * from the same repositories with `GOPROXY=direct`.
 */
import { assert, assertEquals } from "./assert.ts";
import { createGitSource } from "../lib/sources/git/mod.ts";
import type { SourceAnswer } from "../lib/sources/mod.ts";
import { buildStandardRepos, FIXTURE_HOST, GitWorld, zipH1 } from "./git_fixtures.ts";
import { unescapePath, unescapeVersion } from "../lib/mod/module.ts";

async function body(answer: SourceAnswer): Promise<Uint8Array> {
  assert(answer.found, "expected a found answer");
  return new Uint8Array(await new Response(answer.body).arrayBuffer());
}

async function text(answer: SourceAnswer): Promise<string> {
  return new TextDecoder().decode(await body(answer));
}

function describe(answer: SourceAnswer): string {
  return answer.found ? "found" : `${answer.status} ${answer.message}`;
}

type Source = ReturnType<typeof createGitSource>;

/** Runs `fn` with a fresh fixture world and a git source over it, then cleans both up. */
async function withGitSource(
  fn: (world: GitWorld, source: Source) => Promise<void>,
): Promise<void> {
  const world = await GitWorld.create();
  const source = createGitSource({
    gitDir: `${world.root}/mirrors`,
    fetchTtlMs: 60_000,
    env: world.gitEnv,
  });
  try {
    await fn(world, source);
  } finally {
    source.close();
    await world.cleanup();
  }
}

/** How many comparisons actually happened, so an oracle that always fails cannot pass vacuously. */
const counts = { resolved: 0, refused: 0, zips: 0, unzippable: 0 };

/**
 * Compares one query with the go command: `.info`/`@latest` with `go list -m
 * mod@query`, then `.mod` and the zip hash of the resolved version with `go
 * mod download`. Returns the differences.
 */
async function compareQuery(
  world: GitWorld,
  source: Source,
  module: string,
  query: string,
): Promise<string[]> {
  const problems: string[] = [];
  const where = `${module}@${query}`;
  const go = await world.goQuery(module, query);
  const info = await source.fetch({ kind: "info", module, version: query });
  if (go.error !== undefined) {
    counts.refused++;
    if (info.found) {
      problems.push(`${where}: go failed (${go.error}) but Astera answered ${await text(info)}`);
    } else if (info.message.length === 0) {
      problems.push(`${where}: not-found answer without a reason`);
    }
    if (query === "latest") {
      const latest = await source.fetch({ kind: "latest", module });
      if (latest.found) problems.push(`${where}: @latest answered ${await text(latest)}`);
    }
    return problems;
  }
  if (!info.found) {
    problems.push(`${where}: go resolved ${go.version} but Astera said ${describe(info)}`);
    return problems;
  }
  counts.resolved++;
  const parsed = JSON.parse(await text(info));
  if (parsed.Version !== go.version || parsed.Time !== go.time) {
    problems.push(`${where}: .info ${parsed.Version} ${parsed.Time}, go ${go.version} ${go.time}`);
  }
  if (query === "latest") {
    const latest = await source.fetch({ kind: "latest", module });
    const l = latest.found ? JSON.parse(await text(latest)) : {};
    if (l.Version !== go.version || l.Time !== go.time) {
      problems.push(`${where}: @latest ${describe(latest)} ${l.Version}, go ${go.version}`);
    }
  }
  const version = go.version!;
  const dl = await world.goDownload(module, version);
  const mod = await source.fetch({ kind: "mod", module, version });
  const zip = await source.fetch({ kind: "zip", module, version });
  if (dl.error !== undefined) {
    // go could resolve the version but not download it (an unzippable tree):
    // the zip must then be refused too.
    counts.unzippable++;
    if (zip.found) {
      problems.push(`${module}@${version}: go failed (${dl.error}) but Astera served a zip`);
    } else if (mod.found) await body(mod);
    return problems;
  }
  if (!mod.found) problems.push(`${module}@${version}: .mod ${describe(mod)}`);
  else {
    const got = new TextDecoder().decode(await body(mod));
    const want = new TextDecoder().decode(dl.mod);
    if (got !== want) {
      problems.push(
        `${module}@${version}: .mod ${JSON.stringify(got)}, go ${JSON.stringify(want)}`,
      );
    }
  }
  if (!zip.found) problems.push(`${module}@${version}: .zip ${describe(zip)}`);
  else {
    counts.zips++;
    const h1 = await zipH1(await body(zip));
    if (h1 !== dl.sum) problems.push(`${module}@${version}: zip ${h1}, go ${dl.sum}`);
  }
  return problems;
}

/** Compares the version list (retracted versions included, as a proxy lists them). */
async function compareList(world: GitWorld, source: Source, module: string): Promise<string[]> {
  const go = await world.goVersions(module);
  const list = await source.fetch({ kind: "list", module });
  if (go.error !== undefined) {
    return list.found
      ? [
        `${module}: go list failed (${go.error}) but Astera listed ${
          JSON.stringify(await text(list))
        }`,
      ]
      : [];
  }
  if (!list.found) return [`${module}: list: ${describe(list)}`];
  const lines = (await text(list)).split("\n").filter(Boolean);
  return JSON.stringify(lines) === JSON.stringify(go.versions)
    ? []
    : [`${module}: list ${JSON.stringify(lines)}, go ${JSON.stringify(go.versions)}`];
}

Deno.test("git source answers every fixture query exactly as go direct does", async (t) => {
  await withGitSource(async (world, source) => {
    const modules = await buildStandardRepos(world);
    for (const { module, queries } of modules) {
      await t.step(module, async () => {
        const problems = await compareList(world, source, module);
        for (const query of queries) {
          problems.push(...await compareQuery(world, source, module, query));
        }
        assertEquals(problems, []);
      });
    }
    await t.step("the comparisons were not vacuous", () => {
      assert(counts.resolved >= 60 && counts.zips >= 60, JSON.stringify(counts));
      assert(counts.refused >= 15 && counts.unzippable >= 3, JSON.stringify(counts));
    });
    await t.step("a hostile ref never reaches git as an option", async () => {
      const answer = await source.fetch({
        kind: "info",
        module: `${FIXTURE_HOST}/team/lib.git`,
        version: `--upload-pack=touch ${world.root}/pwned`,
      });
      assert(!answer.found);
      const exists = await Deno.stat(`${world.root}/pwned`).then(() => true, () => false);
      assert(!exists, "the hostile ref ran a command");
    });
  });
});

Deno.test("requested pseudo-versions are validated like go validates them", async () => {
  await withGitSource(async (world, source) => {
    await buildStandardRepos(world);
    const module = `${FIXTURE_HOST}/team/lib.git`;
    // Derive pseudo-versions from the go command's own answers.
    const main = await world.goDownload(module, "main");
    const tagged = await world.goDownload(module, "v1.1.0");
    assert(main.version && tagged.version);
    const m = /^(v[0-9.]+-0\.)([0-9]{14})-([0-9a-f]{12})$/.exec(main.version);
    assert(m, `unexpected pseudo-version ${main.version}`);
    const [, head, stamp, hash] = m;
    const plusOne = String(Number(stamp) + 1);
    const taggedHash = (await world.goDownload(module, "v1.1.0")).version;
    assert(taggedHash);
    const c3 = await new Deno.Command("git", {
      args: ["rev-parse", "v1.1.0^{commit}"],
      cwd: `${world.reposDir}/team/lib`,
      stdout: "piped",
    }).output();
    const c3hash = new TextDecoder().decode(c3.stdout).trim();
    const c3info = JSON.parse(
      await text(await source.fetch({ kind: "info", module, version: c3hash })),
    );
    const c3stamp = (c3info.Time as string).replace(/[-:TZ]/g, "");
    const candidates = [
      main.version, // valid
      `v1.0.1-0.${stamp}-${hash}`, // valid: older ancestor base
      `v0.0.0-${stamp}-${hash}`, // valid: no base
      `${head}${plusOne}-${hash}`, // wrong time
      `${head}${stamp}-${hash.slice(0, 11)}`, // short hash too short
      `${head}${stamp}-${hash}0`, // too long
      `v1.0.0-${stamp}-${hash}`, // v1 without a base tag
      `v9.9.10-0.${stamp}-${hash}`, // base tag does not exist
      `v1.1.1-0.${c3stamp}-${c3hash.slice(0, 12)}`, // base tag on the same commit
      `v2.0.0-${stamp}-${hash}+incompatible`, // build suffix on a no-base form
    ];
    let accepted = 0;
    let refused = 0;
    for (const version of candidates) {
      const go = await world.goDownload(module, version);
      const info = await source.fetch({ kind: "info", module, version });
      const mod = await source.fetch({ kind: "mod", module, version });
      if (go.error !== undefined) {
        refused++;
        assert(!info.found, `${version}: go refused (${go.error}), Astera served info`);
        assert(!mod.found, `${version}: go refused, Astera served .mod`);
      } else {
        accepted++;
        assert(info.found, `${version}: go accepted, Astera: ${describe(info)}`);
        assertEquals(JSON.parse(await text(info)).Version, go.version);
        assertEquals(await body(mod), go.mod);
      }
    }
    assertEquals([accepted, refused], [3, 7]);
  });
});

Deno.test("concurrent requests for one repository cause one git fetch", async () => {
  await withGitSource(async (world, source) => {
    const r = await world.repo("team/busy");
    await r.write({ "go.mod": `module ${FIXTURE_HOST}/team/busy.git\n` });
    await r.commit("one");
    await r.tag("v1.0.0");
    const module = `${FIXTURE_HOST}/team/busy.git`;
    const answers = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) =>
          source.fetch(
            i % 2 ? { kind: "list", module } : { kind: "info", module, version: "v1.0.0" },
          ),
      ),
    );
    assert(answers.every((a) => a.found));
    for (const a of answers) await body(a);
    assertEquals(source.mirrors.fetchStats().executions, 1);
  });
});

Deno.test("a stale mirror is refetched and a failed refetch serves the old copy", async () => {
  const world = await GitWorld.create();
  const fresh = createGitSource({
    gitDir: `${world.root}/mirrors`,
    fetchTtlMs: 0,
    env: world.gitEnv,
  });
  const slow = createGitSource({
    gitDir: `${world.root}/mirrors2`,
    fetchTtlMs: 3_600_000,
    env: world.gitEnv,
  });
  try {
    const module = `${FIXTURE_HOST}/team/moving.git`;
    const r = await world.repo("team/moving");
    await r.write({ "go.mod": `module ${module}\n` });
    await r.commit("one");
    await r.tag("v1.0.0");
    assertEquals(await text(await fresh.fetch({ kind: "list", module })), "v1.0.0\n");
    assertEquals(await text(await slow.fetch({ kind: "list", module })), "v1.0.0\n");
    await r.commit("two");
    await r.tag("v1.1.0");
    assertEquals(await text(await fresh.fetch({ kind: "list", module })), "v1.0.0\nv1.1.0\n");
    // Within its TTL a mirror is not refetched.
    assertEquals(await text(await slow.fetch({ kind: "list", module })), "v1.0.0\n");
    await Deno.remove(r.dir, { recursive: true });
    assertEquals(await text(await fresh.fetch({ kind: "list", module })), "v1.0.0\nv1.1.0\n");
  } finally {
    fresh.close();
    slow.close();
    await world.cleanup();
  }
});

Deno.test("the go command through the git source as a GOPROXY agrees with go direct", async (t) => {
  const world = await GitWorld.create();
  const source = createGitSource({
    gitDir: `${world.root}/mirrors`,
    fetchTtlMs: 60_000,
    env: world.gitEnv,
  });
  // A bare-bones GOPROXY front for the source (the real server is tested elsewhere).
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname.slice(1));
    let m: RegExpExecArray | null;
    let answer: SourceAnswer;
    if ((m = /^(.+)\/@v\/list$/.exec(path))) {
      answer = await source.fetch({ kind: "list", module: unescapePath(m[1]) });
    } else if ((m = /^(.+)\/@latest$/.exec(path))) {
      answer = await source.fetch({ kind: "latest", module: unescapePath(m[1]) });
    } else if ((m = /^(.+)\/@v\/(.+)\.(info|mod|zip)$/.exec(path))) {
      const kind = m[3] as "info" | "mod" | "zip";
      answer = await source.fetch({
        kind,
        module: unescapePath(m[1]),
        version: unescapeVersion(m[2]),
      });
    } else {
      return new Response("not found", { status: 404 });
    }
    return answer.found
      ? new Response(answer.body)
      : new Response(answer.message, { status: answer.status });
  });
  const viaProxy = {
    GOPROXY: `http://127.0.0.1:${server.addr.port}`,
    GOPRIVATE: "",
    GONOPROXY: "",
    GOMODCACHE: `${world.root}/proxycache`,
  };
  let agreedOnDownloads = 0;
  try {
    const modules = await buildStandardRepos(world);
    for (const { module } of modules) {
      await t.step(module, async () => {
        const direct = await world.go(["list", "-m", "-versions", "-json", module]);
        const proxied = await world.go(["list", "-m", "-versions", "-json", module], viaProxy);
        assertEquals(direct.ok, proxied.ok, `${module} list: ${direct.stderr} / ${proxied.stderr}`);
        if (direct.ok) {
          assertEquals(JSON.parse(proxied.stdout).Versions, JSON.parse(direct.stdout).Versions);
        }
        const args = ["mod", "download", "-json", `${module}@latest`];
        const d = await world.go(args);
        const p = await world.go(args, viaProxy);
        assertEquals(d.ok, p.ok, `${module}@latest: ${d.stdout} / ${p.stdout}`);
        if (d.ok) {
          const [dj, pj] = [JSON.parse(d.stdout), JSON.parse(p.stdout)];
          assertEquals([pj.Version, pj.Sum, pj.GoModSum], [dj.Version, dj.Sum, dj.GoModSum]);
          agreedOnDownloads++;
        }
      });
    }
    assert(agreedOnDownloads >= 15, `only ${agreedOnDownloads} modules downloaded`);
  } finally {
    await server.shutdown();
    source.close();
    await world.cleanup();
  }
});

Deno.test("a missing repository is not found, with git's own reason rather than its advice", async () => {
  await withGitSource(async (_world, source) => {
    const answer = await source.fetch({ kind: "list", module: `${FIXTURE_HOST}/team/none.git` });
    assert(!answer.found, "not found");
    const message = answer.found ? "" : answer.message;
    // git ends with "Please make sure you have the correct access rights / and the repository exists."
    assert(message.includes("does not appear to be a git repository"), message);
    assert(!message.includes("and the repository exists"), message);
    assert(message.includes(`repository https://${FIXTURE_HOST}/team/none not found`), message);
  });
});
