import { assertEquals } from "../../tests/assert.ts";
import { isPostgresUrl, type PasswordSources, postgresTarget, shownUrl } from "./postgres_url.ts";

const sources = (
  env: Record<string, string>,
  files: Record<string, string> = {},
): PasswordSources => ({
  env: (name) => env[name],
  readFile: (path) => files[path],
});

Deno.test("postgres and postgresql URLs name PostgreSQL; paths name SQLite", () => {
  assertEquals(
    ["postgres://a@h/d", "postgresql://h/d", "POSTGRES://h", "./astera.db", "/var/lib/a.db"].map(
      isPostgresUrl,
    ),
    [true, true, true, false, false],
  );
});

Deno.test("the password comes from the URL first, then PGPASSWORD, then the passfile", () => {
  const env = { PGPASSWORD: "from-env", HOME: "/home/a" };
  const files = { "/home/a/.pgpass": "db.lan:5432:cache:me:from-file\n" };
  assertEquals(postgresTarget("postgres://me:from%40url@db.lan/cache", sources(env, files)), {
    host: "db.lan",
    port: 5432,
    database: "cache",
    user: "me",
    password: "from@url",
  });
  assertEquals(
    postgresTarget("postgres://me@db.lan/cache", sources(env, files)).password,
    "from-env",
  );
  assertEquals(
    postgresTarget("postgres://me@db.lan/cache", sources({ HOME: "/home/a" }, files)).password,
    "from-file",
  );
  assertEquals(postgresTarget("postgres://me@db.lan/cache", sources({})).password, undefined);
});

Deno.test("the passfile's wildcards, escapes and order are libpq's", () => {
  const files = {
    "/p": [
      "# comment",
      "other:*:*:*:no",
      "db.lan:6432:*:me:first\\:colon",
      "*:*:*:*:fallback:with:colons",
    ].join("\n"),
  };
  const env = { PGPASSFILE: "/p" };
  assertEquals(
    postgresTarget("postgres://me@db.lan:6432/x", sources(env, files)).password,
    "first:colon",
  );
  assertEquals(
    postgresTarget("postgresql://you@db.lan/x", sources(env, files)).password,
    "fallback:with:colons",
  );
});

Deno.test("the shown URL never holds the user information", () => {
  assertEquals(shownUrl("postgres://me:s3cret@db.lan:5432/cache"), "postgres://db.lan:5432/cache");
  assertEquals(shownUrl("postgres://db.lan/cache"), "postgres://db.lan/cache");
  let message = "";
  try {
    postgresTarget("postgres://me:s3cret@[bad/cache");
  } catch (error) {
    message = String(error);
  }
  assertEquals(message.includes("s3cret"), false, message);
});
