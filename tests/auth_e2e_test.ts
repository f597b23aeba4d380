/**
 * HTTPS and credentials end to end, with the real go command: Astera serves
 * TLS with a certificate of a CA the test makes (the go command trusts it
 * through `SSL_CERT_FILE`), guards private git modules with an htpasswd file
 * made by `htpasswd -B`, and runs two isolates, so the replica's listener
 * and guard are exercised too. The oracle is go itself: the same modules
 * fetched directly (public ones from the upstream, private ones from git).
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { AsteraExitedError, type AsteraProcess, startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { FIXTURE_HOST, GitWorld } from "./git_fixtures.ts";
import { copyProject, makeGoClient, readModFiles, removeTree } from "./go_tool.ts";
import { makeCertificates, writeHtpasswd } from "./tls_fixtures.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";

const PRIVATE = `${FIXTURE_HOST}/team/lib.git`;
const PASSWORD = "correct-horse-battery";
const WRONG = "wrong-staple-guess";

const PUBLIC_PROJECT = {
  "go.mod": "module example.net/public\n\ngo 1.21\n",
  "main.go": 'package main\n\nimport _ "example.com/lib"\n\nfunc main() {}\n',
};
const PRIVATE_PROJECT = {
  "go.mod": "module example.net/private\n\ngo 1.21\n",
  "main.go": `package main\n\nimport _ "${PRIVATE}"\n\nfunc main() {}\n`,
};

/** Waits until `condition` holds, looking again as each log line arrives (at most `ms`). */
async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resume) => setTimeout(resume, 50));
  }
}

/** One HTTP/1.1 GET on an open TLS connection; the status line, or null when the connection failed. */
async function getOn(conn: Deno.Conn, path: string): Promise<string | null> {
  try {
    await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`));
    const buffer = new Uint8Array(16 * 1024);
    const read = await conn.read(buffer);
    if (read === null) return null;
    return new TextDecoder().decode(buffer.subarray(0, read)).split("\r\n")[0];
  } catch {
    return null;
  }
}

Deno.test("HTTPS and credentials: go through TLS, private modules only with the right password", async (t) => {
  const world = await GitWorld.create();
  const work = await Deno.makeTempDir({ prefix: "astera-auth-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, standardUniverse(64 * 1024));
  const upstream = await startFileProxy({ root: universe });
  const lib = await world.repo("team/lib");
  await lib.write({ "go.mod": `module ${PRIVATE}\n\ngo 1.21\n`, "lib.go": "package lib\n" });
  await lib.commit("v1");
  await lib.tag("v1.0.0");
  const first = await makeCertificates(work, "first");
  const users = join(work, "users");
  await writeHtpasswd(users, { alice: PASSWORD, bob: "another-one" });
  const buildCache = join(work, "gocache");
  const resolve = async (project: Record<string, string>, goproxy: string, env = {}) => {
    const go = await makeGoClient(goproxy, buildCache, {
      ...world.gitEnv,
      SSL_CERT_FILE: first.caCert,
      GONOSUMDB: FIXTURE_HOST,
      ...env,
    });
    const dir = await copyProject(project);
    try {
      const result = await go.run(dir, ["mod", "tidy"], true);
      return { ...result, ...(await readModFiles(dir)) };
    } finally {
      await go.remove();
      await removeTree(dir);
    }
  };
  let astera: AsteraProcess | undefined;
  try {
    const directPublic = await resolve(PUBLIC_PROJECT, upstream.url);
    const directPrivate = await resolve(PRIVATE_PROJECT, upstream.url, { GOPRIVATE: FIXTURE_HOST });
    assert(directPrivate.goSum.includes(`${PRIVATE} v1.0.0 h1:`), directPrivate.stderr);
    astera = await startAsteraProcess([
      "--db",
      join(work, "astera.db"),
      "--upstream",
      upstream.url,
      "--private",
      FIXTURE_HOST,
      "--tls-cert",
      first.cert,
      "--tls-key",
      first.key,
      "--auth-file",
      users,
      "--workers",
      "2",
    ], world.gitEnv);
    const url = new URL(astera.url);
    assertEquals(url.protocol, "https:");
    const withUser = (password: string) => `https://alice:${password}@${url.host}`;

    await t.step("public modules over HTTPS need no credentials: go.sum as direct", async () => {
      const through = await resolve(PUBLIC_PROJECT, astera!.url);
      assertEquals(through.code, 0, through.stderr);
      assertEquals(through.goSum, directPublic.goSum);
    });

    await t.step("a private module without credentials or with a wrong password: 401", async () => {
      for (const goproxy of [astera!.url, withUser(WRONG)]) {
        const refused = await resolve(PRIVATE_PROJECT, goproxy);
        assert(refused.code !== 0, `go succeeded through ${goproxy}`);
        assert(refused.stderr.includes("401 Unauthorized"), refused.stderr);
      }
    });

    await t.step("with the password in GOPROXY or in netrc: h1: hashes as direct", async () => {
      const inUrl = await resolve(PRIVATE_PROJECT, withUser(PASSWORD));
      assertEquals(inUrl.code, 0, inUrl.stderr);
      assertEquals(inUrl.goSum, directPrivate.goSum);
      const netrc = join(work, "netrc");
      await Deno.writeTextFile(netrc, `machine ${url.host} login alice password ${PASSWORD}\n`);
      const fromNetrc = await resolve(PRIVATE_PROJECT, astera!.url, { NETRC: netrc });
      assertEquals(fromNetrc.code, 0, fromNetrc.stderr);
      assertEquals(fromNetrc.goSum, directPrivate.goSum);
    });

    await t.step(
      "SIGHUP: new connections get the new certificate, an open one keeps working",
      async () => {
        const second = await makeCertificates(work, "second");
        const port = Number(url.port);
        const connect = (ca: string) =>
          Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [Deno.readTextFileSync(ca)] });
        const open = await connect(first.caCert);
        assertEquals(await getOn(open, "/healthz"), "HTTP/1.1 200 OK");
        await Deno.copyFile(second.cert, first.cert);
        await Deno.copyFile(second.key, first.key);
        const reloaded = () => astera!.log.filter((line) => line.includes(" tls-reloaded ")).length;
        astera!.signal("SIGHUP");
        // Every isolate serving (two, unless replicas are unavailable, as in a bundle).
        const listening = astera!.log.find((line) => line.includes(" listening "))!;
        const isolates = Number(/ workers=(\d+)/.exec(listening)?.[1] ?? 1);
        await until(() => reloaded() === isolates, "every isolate to reload");
        assertEquals(await getOn(open, "/healthz"), "HTTP/1.1 200 OK");
        open.close();
        // The kernel spreads new connections over both isolates' listeners: try several.
        for (let i = 0; i < 8; i++) {
          const fresh = await connect(second.caCert);
          assertEquals(await getOn(fresh, "/healthz"), "HTTP/1.1 200 OK", `connection ${i}`);
          fresh.close();
          const stale = await connect(first.caCert);
          assertEquals(await getOn(stale, "/healthz"), null, `old certificate, connection ${i}`);
          stale.close();
        }
      },
    );

    await t.step(
      "a changed auth file is read again; a bad one keeps the last good users",
      async () => {
        const client = Deno.createHttpClient({
          caCerts: [await Deno.readTextFile(join(work, "second-ca.pem"))],
        });
        const status = async (password: string) => {
          const response = await fetch(`${astera!.url}/_astera/stats`, {
            client,
            headers: { authorization: `Basic ${btoa(`alice:${password}`)}` },
          });
          await response.body?.cancel();
          return response.status;
        };
        const count = (event: string) => astera!.log.filter((line) => line.includes(event)).length;
        try {
          assertEquals(await status(PASSWORD), 200);
          const reloads = count(" auth-file-reloaded ");
          await writeHtpasswd(users, { alice: "a-new-password" });
          await until(() => count(" auth-file-reloaded ") > reloads, "the file to be read again");
          assertEquals(await status("a-new-password"), 200);
          assertEquals(await status(PASSWORD), 401);
          await Deno.writeTextFile(users, "alice:$apr1$TNjlTuub$U4saJ2TPNcN7ANJZwm/Za/\n");
          await until(() => count(" auth-file-rejected ") > 0, "the bad file to be refused");
          assertEquals(await status("a-new-password"), 200);
        } finally {
          client.close();
        }
      },
    );
    await t.step(
      "the log names the user, never a password; the upstream never hears of a private module",
      () => {
        const log = astera!.log.join("\n");
        assert(log.includes("auth-refused user=alice"), log);
        for (const secret of [PASSWORD, WRONG, "a-new-password", "Basic ", "authorization"]) {
          assert(!log.toLowerCase().includes(secret.toLowerCase()), `${secret} in the log`);
        }
        const asked = [...upstream.counts.keys()].filter((path) => path.includes(FIXTURE_HOST));
        assertEquals(asked, []);
      },
    );
  } finally {
    await astera?.stop();
    await upstream.close();
    await removeTree(work);
    await world.cleanup();
  }
});

Deno.test("a bad certificate, key or auth file stops Astera before listening: exit 2, one line", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-auth-flags-" });
  try {
    const a = await makeCertificates(work, "a");
    const b = await makeCertificates(work, "b");
    const weak = join(work, "weak");
    await Deno.writeTextFile(weak, "carol:$apr1$TNjlTuub$U4saJ2TPNcN7ANJZwm/Za/\n");
    const cases: [string[], string][] = [
      [["--tls-cert", a.cert], "--tls-cert and --tls-key go together"],
      [["--tls-cert", join(work, "none.pem"), "--tls-key", a.key], "cannot read: no such file"],
      [["--tls-cert", a.cert, "--tls-key", b.key], "does not belong to the certificate"],
      [["--tls-cert", a.key, "--tls-key", a.key], "not a PEM certificate"],
      [["--auth-file", weak], "carol (MD5 $apr1$ is too weak)"],
      [["--auth-file", join(work, "none")], "cannot read: no such file"],
      [["--auth-scope", "everyone"], "expected private or all"],
      [["--auth-scope", "all"], "--auth-scope all needs --auth-file"],
    ];
    for (const [args, expected] of cases) {
      const db = join(work, "never.db");
      const error = await startAsteraProcess(["--db", db, "--upstream", "off", ...args])
        .then((astera) => astera.stop().then(() => null), (error) => error);
      assert(error instanceof AsteraExitedError, `${args.join(" ")} started`);
      // Deno's own notice about permissions in deno.json is not Astera's to count.
      const lines = error.log.filter((line) => !line.startsWith("Warning "));
      assertEquals(error.code, 2, lines.join("\n"));
      assertEquals(lines.length, 1, lines.join("\n"));
      assert(lines[0].startsWith("astera: ") && lines[0].includes(expected), lines[0]);
      assert(!(await Deno.stat(db).then(() => true, () => false)), "nothing was created");
    }
  } finally {
    await removeTree(work);
  }
});

Deno.test("credentials without TLS: Astera starts and warns once that passwords cross in clear", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-auth-clear-" });
  try {
    const users = join(work, "users");
    await writeHtpasswd(users, { alice: PASSWORD });
    const astera = await startAsteraProcess(
      ["--db", join(work, "a.db"), "--upstream", "off", "--auth-file", users],
    );
    try {
      const warnings = astera.log.filter((line) => line.includes(" warn auth-without-tls "));
      assertEquals(warnings.length, 1, astera.log.join("\n"));
      assert(warnings[0].includes("in clear"));
      const stats = await fetch(`${astera.url}/_astera/stats`);
      await stats.body?.cancel();
      assertEquals(stats.status, 401);
      assertEquals(stats.headers.get("www-authenticate"), 'Basic realm="astera"');
      const health = await fetch(`${astera.url}/healthz`);
      assertEquals(await health.text(), "ok\n");
    } finally {
      await astera.stop();
    }
  } finally {
    await removeTree(work);
  }
});
