import { assertEquals, assertThrows } from "../tests/assert.ts";
import { ConfigError, parseBytes, parseConfig, parseDuration, parseListen } from "./config.ts";

Deno.test("defaults serve on all interfaces, port 8080, ./astera.db, proxy.golang.org", () => {
  const config = parseConfig([], {});
  assertEquals([config.hostname, config.port, config.db], ["0.0.0.0", 8080, "./astera.db"]);
  assertEquals(config.upstream, [{ url: "https://proxy.golang.org", fallThroughOnError: false }]);
  assertEquals(config.gitDir, "astera.db-git");
  assertEquals(config.workers, Math.min(2, navigator.hardwareConcurrency), "auto: 2 cores, 2");
  assertEquals(config.gitTtlMs, 60_000);
  assertEquals(parseConfig(["--ttl", "5s"], {}).gitTtlMs, 5_000, "mirrors never older than --ttl");
  assertEquals(parseConfig(["--ttl", "5s", "--git-ttl", "2m"], {}).gitTtlMs, 120_000);
  assertEquals(parseConfig(["--workers", "3"], {}).workers, 3);
  assertEquals(parseConfig(["--workers", "auto"], {}).workers, config.workers);
  assertEquals(config.gcStepBytes, 8 * 1024 * 1024);
  assertEquals(parseConfig(["--gc-step", "0"], {}).gcStepBytes, 0, "0: V8 decides");
  assertEquals(config.maxConnections, 4096);
  assertEquals(parseConfig([], { ASTERA_MAX_CONNECTIONS: "64" }).maxConnections, 64);
  assertEquals([config.prefetch, config.prefetchConcurrency], [true, 8], "prefetch on, 8 at once");
  assertEquals(parseConfig(["--prefetch", "off"], {}).prefetch, false);
  assertEquals(parseConfig([], { ASTERA_PREFETCH: "off" }).prefetch, false);
  assertEquals(parseConfig(["--prefetch-concurrency", "2"], {}).prefetchConcurrency, 2);
});

Deno.test("flags win over environment variables, which win over defaults", () => {
  const env = {
    ASTERA_LISTEN: "127.0.0.1:9000",
    ASTERA_DB: "/var/lib/astera/a.db",
    ASTERA_TTL: "10m",
  };
  const fromEnv = parseConfig([], env);
  assertEquals([fromEnv.hostname, fromEnv.port, fromEnv.db, fromEnv.freshMs], [
    "127.0.0.1",
    9000,
    "/var/lib/astera/a.db",
    600_000,
  ]);
  assertEquals(fromEnv.gitDir, "/var/lib/astera/a.db-git");
  const fromFlag = parseConfig(["--listen", ":7000", "--ttl=30s"], env);
  assertEquals([fromFlag.hostname, fromFlag.port, fromFlag.freshMs], ["0.0.0.0", 7000, 30_000]);
});

Deno.test("bad flags and values are refused with one clear line", () => {
  const cases: [string[], string][] = [
    [["--bogus"], "bogus"],
    [["--listen", "nope"], "--listen"],
    [["--listen", "host:70000"], "--listen"],
    [["--ttl", "soon"], "--ttl"],
    [["--cache-bytes", "lots"], "--cache-bytes"],
    [["--upstream", "ftp://mirror"], "only http, https and file"],
    [["--upstream", "direct"], "direct"],
    [["--upstream", "file://relative/dir"], "file:///absolute/path"],
    [["--upstream", ","], "empty"],
    [["--upstream", "https://a b"], "not a valid URL"],
    [["--upstream", "https://me:s3cret@mirror.lan/?x=1"], '"https://mirror.lan/?x=1" must not'],
    [["--upstream-timeout", "0s"], "at least"],
    [["positional"], "positional"],
    [["--workers", "0"], "--workers"],
    [["--workers", "two"], "--workers"],
    [["--max-connections", "8"], "--max-connections"],
    [["--max-connections", "many"], "--max-connections"],
    [["--prefetch", "yes"], "--prefetch"],
    [["--prefetch-concurrency", "0"], "--prefetch-concurrency"],
  ];
  for (const [args, part] of cases) {
    const error = assertThrows(() => parseConfig(args, {}), ConfigError);
    assertEquals(error.message.includes(part), true, `${args.join(" ")}: ${error.message}`);
    assertEquals(error.message.includes("\n"), false);
  }
});

Deno.test("listen addresses, durations and sizes parse", () => {
  assertEquals(parseListen("[::1]:8080"), ["::1", 8080]);
  assertEquals(parseListen("localhost:0"), ["localhost", 0]);
  assertEquals(parseDuration("x", "1500ms"), 1500);
  assertEquals(parseDuration("x", "2"), 2000);
  assertEquals(parseDuration("x", "1.5h"), 5_400_000);
  assertEquals(parseBytes("x", "512KiB"), 524288);
  assertEquals(parseBytes("x", "2GB"), 2e9);
});

Deno.test("the upstream list keeps the go command's separators", () => {
  const config = parseConfig(["--upstream", "proxy.example.com, http://b.lan/go/ | off"], {});
  assertEquals(config.upstream, [
    { url: "https://proxy.example.com", fallThroughOnError: false },
    { url: "http://b.lan/go", fallThroughOnError: true },
    { url: "off", fallThroughOnError: false },
  ]);
});

Deno.test("--max-bytes: none by default, 16 MiB or more accepted, less or unparsable refused", () => {
  assertEquals(parseConfig([], {}).maxBytes, undefined, "no budget: today's behaviour");
  assertEquals(parseConfig(["--max-bytes", "16MiB"], {}).maxBytes, 16 * 1024 * 1024);
  assertEquals(parseConfig([], { ASTERA_MAX_BYTES: "20GiB" }).maxBytes, 20 * 1024 ** 3);
  assertEquals(
    parseConfig(["--max-bytes", "none"], { ASTERA_MAX_BYTES: "1GiB" }).maxBytes,
    undefined,
  );
  for (const text of ["16777215", "15MiB", "lots", "-1GiB", "1.5GiB"]) {
    const error = assertThrows(() => parseConfig(["--max-bytes", text], {}), ConfigError);
    assertEquals(error.message.includes("--max-bytes"), true, error.message);
    assertEquals(error.message.includes("\n"), false, "one line");
  }
});

Deno.test("a PostgreSQL --db (flag or ASTERA_DB) is kept as given; git mirrors stay local", () => {
  const url = "postgres://astera@db.lan:5432/astera";
  for (const config of [parseConfig(["--db", url], {}), parseConfig([], { ASTERA_DB: url })]) {
    assertEquals(config.db, url);
    assertEquals(config.gitDir, `${Deno.cwd()}/astera-git`);
  }
  assertEquals(
    parseConfig(["--db", "postgresql://db.lan/astera"], {}).gitDir,
    `${Deno.cwd()}/astera-git`,
  );
});
