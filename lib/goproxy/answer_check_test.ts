import {
  checkGoMod,
  checkGoModYielding,
  checkInfo,
  checkList,
  checkSumdb,
  checkZipStart,
  MAX_INFO,
} from "./answer_check.ts";
import { parseRoute } from "./route.ts";
import { assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";

const enc = (text: string) => new TextEncoder().encode(text);
const LOGIN = "<html><head><title>Sign in</title></head><body>Welcome</body></html>\n";

Deno.test("a .mod answer must be a go.mod with a module line, as the go command requires", () => {
  const accepted = [
    "module example.com/m\n",
    "module example.com/m",
    "// comment\nmodule example.com/m // trailing\n\ngo 1.21\n",
    'module "example.com/m"\n',
    "\ufeffmodule example.com/m\r\n",
    // A fork whose go.mod names another path is served: the client decides.
    "module github.com/sirupsen/logrus\n",
    "<<<<<<< HEAD\nmodule example.com/m\n=======\n>>>>>>> other\n",
  ];
  for (const text of accepted) checkGoMod(enc(text), "m .mod");
  const refused: [string, string][] = [
    ["", "empty"],
    ["\n\n", "empty"],
    ["go 1.21\n", 'begins "go 1.21"'],
    [LOGIN, 'begins "<html><head><title>Sign in'],
    ["modulex example.com/m\n", "no module line"],
    ["module\n", "no module line"],
  ];
  for (const [text, reason] of refused) {
    assertThrows(() => checkGoMod(enc(text), "m .mod"), Error, reason);
  }
  assertThrows(() => checkGoMod(enc(LOGIN), "example.com/m@v1.0.0 .mod"), Error, "example.com/m");
});

Deno.test("a .mod answer with no length must parse whole, as the go command parses a go.mod", async () => {
  const whole = "module example.com/m\n\nrequire (\n\texample.com/x v1.0.0\n)\n";
  const cut = whole.slice(0, -3);
  await checkGoModYielding(enc(whole), "m .mod", true);
  // With a length (or chunks) its end is vouched for: only the module line is asked for.
  await checkGoModYielding(enc(cut), "m .mod", false);
  await assertRejects(() => checkGoModYielding(enc(cut), "m .mod", true), Error, "cut short?");
  await assertRejects(
    () => checkGoModYielding(enc(LOGIN), "m .mod", false),
    Error,
    "no module line",
  );
});

Deno.test("a list answer is empty or names at least one valid version", () => {
  for (const text of ["", "\n", "v1.0.0\n", "v1.0.0\nv1.1.0", "junk\nv1.2.3 2024-01-01\n"]) {
    checkList(enc(text), "m @v/list");
  }
  for (const text of [LOGIN, "1.0.0\n", "latest\nmain\n"]) {
    assertThrows(() => checkList(enc(text), "m @v/list"), Error, "not a version list");
  }
  assertThrows(() => checkList(new Uint8Array([0xff, 0xfe]), "m @v/list"), Error, "UTF-8");
});

Deno.test("an .info answer is JSON with the version asked for", () => {
  assertEquals(
    checkInfo(enc('{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"}'), "m", "v1.0.0"),
    "v1.0.0",
  );
  assertEquals(checkInfo(enc('{"Version":"v1.1.0"}'), "m @latest", null), "v1.1.0");
  assertThrows(() => checkInfo(enc(LOGIN), "m", null), Error, "not valid JSON");
  assertThrows(() => checkInfo(enc("null"), "m", null), Error, "no valid Version");
  assertThrows(() => checkInfo(enc('{"Version":"1.0"}'), "m", null), Error, "no valid Version");
  assertThrows(
    () => checkInfo(enc('{"Version":"v1.0.0"}'), "m", "v1.1.0"),
    Error,
    "is for version v1.0.0",
  );
});

Deno.test("an .info answer is no bigger, no deeper and of no other types than the go command reads", () => {
  // What go mod download answers for each body (from a file:// GOPROXY, go 1.26: it accepts nesting 10000 deep, refuses 10001).
  const accepted = [
    '{"Version":"v1.0.0","Time":"2020-01-01T00:00:00.5+01:00","Origin":{"VCS":"git","Hash":"ab"}}',
    '{"Version":"v1.0.0","Time":null,"Origin":null,"Name":5,"Tags":[1],"Zzz":[[[1]]]}',
    `{"Version":"v1.0.0","Extra":${"[".repeat(9_998)}${"]".repeat(9_998)}}`,
  ];
  for (const text of accepted) assertEquals(checkInfo(enc(text), "m", "v1.0.0"), "v1.0.0");
  const refused: [string, string][] = [
    // parsing time "x" as "2006-01-02T15:04:05Z07:00"
    ['{"Version":"v1.0.0","Time":"x"}', "not an RFC 3339 time"],
    ['{"Version":"v1.0.0","time":"2020-01-01t00:00:00z"}', "not an RFC 3339 time"],
    // json: cannot unmarshal string into Go struct field RevInfo.Origin
    ['{"Version":"v1.0.0","Origin":"x"}', "Origin is not an object"],
    // json: cannot unmarshal number into Go struct field Origin.Origin.Hash of type string
    ['{"Version":"v1.0.0","Origin":{"Hash":1}}', "Origin.Hash is not a string"],
    // exceeded max depth
    [`{"Version":"v1.0.0","Extra":${"[".repeat(10_000)}${"]".repeat(10_000)}}`, "deeper than"],
    ["[".repeat(3 << 20), "more than an .info may be"],
    [`{"Version":"v1.0.0","Pad":"${" ".repeat(MAX_INFO)}"}`, "more than an .info may be"],
  ];
  for (const [text, reason] of refused) {
    assertThrows(() => checkInfo(enc(text), "m", "v1.0.0"), Error, reason);
  }
  // A bracket inside a string does not nest.
  const quoted = `{"Version":"v1.0.0","Note":"${"[".repeat(20_000)}\\\""}`;
  assertEquals(checkInfo(enc(quoted), "m", "v1.0.0"), "v1.0.0");
});

const RECORD = "1\nexample.com/m v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" +
  "example.com/m v1.0.0/go.mod h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n";
const NOTE = "go.sum database tree\n5\nCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=\n\n" +
  "\u2014 sum.example.org Az3grnDDDDDDDDDDDDDDDDDD\n";

Deno.test("checksum-database answers have the shape the go command parses", () => {
  const ok: [string, Uint8Array][] = [
    ["lookup/example.com/m@v1.0.0", enc(`${RECORD}\n${NOTE}`)],
    ["latest", enc(NOTE)],
    ["supported", new Uint8Array()],
    ["tile/8/0/000", new Uint8Array(256 * 32)],
    ["tile/8/1/x001/234.p/7", new Uint8Array(7 * 32)],
    ["tile/8/data/000.p/2", enc(`${RECORD.slice(2)}\n${RECORD.slice(2)}\n`)],
  ];
  for (const [key, body] of ok) assertEquals(checkSumdb(key, body, key), body);
  const refused: [string, Uint8Array, string][] = [
    ["lookup/example.com/m@v1.0.0", enc(LOGIN), "not a checksum-database record"],
    ["lookup/example.com/m@v1.0.0", enc(RECORD), "not a checksum-database record"],
    ["lookup/example.com/m@v1.0.0", enc(`${RECORD}\n${NOTE.split("\n\n")[0]}\n`), "signed note"],
    ["lookup/example.com/m@v1.0.0", enc(`1\n<p>x</p>\n\n${NOTE}`), "not a go.sum line"],
    ["latest", enc(LOGIN), "not a signed note"],
    // Cut short: without the last newline, or inside the signature.
    ["latest", enc(NOTE.slice(0, -1)), "not a signed note"],
    ["latest", enc(NOTE.slice(0, -4) + "\n"), "not a signed note"],
    ["latest", enc(NOTE.slice(0, NOTE.indexOf(" Az3") + 4) + "\n"), "not a signed note"],
    ["tile/8/0/000", enc(LOGIN), "256 hashes is 8192 bytes"],
    ["tile/8/0/000.p/3", new Uint8Array(4 * 32), "3 hashes is 96 bytes, not 128"],
    ["tile/8/data/000", enc(LOGIN), "not a data tile of 256 records"],
    ["tile/8/data/000.p/2", enc(`${RECORD.slice(2)}\n`), "not a data tile of 2 records"],
    ["tile/8/data/000.p/1", enc(`${LOGIN}\n`), "not a go.sum line"],
    ["tile/31/0/000", new Uint8Array(32), "not a checksum-database path"],
    // Spellings tlog never writes, which the router refuses: never kept either.
    ["tile/8/0/000.p/0", new Uint8Array(), "not a checksum-database path"],
    ["tile/8/0/000.p/256", new Uint8Array(256 * 32), "not a checksum-database path"],
    ["tile/8/0/x000/001", new Uint8Array(256 * 32), "not a checksum-database path"],
    ["tile/08/0/000", new Uint8Array(256 * 32), "not a checksum-database path"],
    ["other", new Uint8Array(), "not a checksum-database path"],
  ];
  for (const [key, body, reason] of refused) {
    assertThrows(() => checkSumdb(key, body, key), Error, reason);
  }
});

Deno.test("the router and the answer check take the same tile paths", () => {
  const keys = [
    "tile/8/0/000",
    "tile/8/1/x001/234.p/7",
    "tile/30/data/x001/x000/000.p/5",
    "tile/0/0/000",
    "tile/31/0/000",
    "tile/08/0/000",
    "tile/8/00/000",
    "tile/8/0/1000",
    "tile/8/0/x000/001",
    "tile/8/0/000.p/0",
    "tile/8/0/000.p/256",
    "tile/8/0/000.p/07",
    "tile/8/hash/000",
  ];
  for (const key of keys) {
    let routed = true;
    try {
      parseRoute(`/sumdb/sum.golang.org/${key}`);
    } catch {
      routed = false;
    }
    let checked = true;
    try {
      checkSumdb(key, new Uint8Array(), key);
    } catch (error) {
      checked = !String(error).includes("not a checksum-database path");
    }
    assertEquals(checked, routed, key);
  }
});

Deno.test("a zip answer starts with a zip signature", () => {
  checkZipStart(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0]), "m .zip");
  checkZipStart(new Uint8Array([0x50, 0x4b, 0x05, 0x06]), "m .zip"); // a zip of no files
  assertThrows(() => checkZipStart(enc(LOGIN), "m .zip"), Error, 'begins "<html><head>');
  assertThrows(() => checkZipStart(new Uint8Array(), "m .zip"), Error, "not a zip file (empty)");
  assertThrows(() => checkZipStart(new Uint8Array([0x50]), "m .zip"), Error, "not a zip file");
});
