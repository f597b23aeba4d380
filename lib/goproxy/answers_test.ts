import { assertEquals } from "../../tests/assert.ts";
import { goTime, infoBody, listBody } from "./answers.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("Go's time format drops a zero fraction and trims trailing zeros of others", () => {
  const table: [number, string][] = [
    [Date.UTC(2024, 0, 2, 3, 4, 5), "2024-01-02T03:04:05Z"],
    [Date.UTC(2024, 0, 2, 3, 4, 5, 120), "2024-01-02T03:04:05.12Z"],
    [Date.UTC(2024, 0, 2, 3, 4, 5, 7), "2024-01-02T03:04:05.007Z"],
  ];
  for (const [ms, want] of table) assertEquals(goTime(new Date(ms)), want);
});

Deno.test("an .info body keeps the go command's field order and leaves out what is not given", () => {
  assertEquals(text(infoBody("v1.0.0")), '{"Version":"v1.0.0"}');
  assertEquals(
    text(infoBody("v1.0.0", new Date(0), { VCS: "git", URL: "https://x/y", Hash: "ab" })),
    '{"Version":"v1.0.0","Time":"1970-01-01T00:00:00Z","Origin":{"VCS":"git","URL":"https://x/y","Hash":"ab"}}',
  );
});

Deno.test("a list body ends every version with a newline and is empty for none", () => {
  assertEquals(text(listBody([])), "");
  assertEquals(text(listBody(["v1.0.0", "v2.0.0+incompatible"])), "v1.0.0\nv2.0.0+incompatible\n");
});
