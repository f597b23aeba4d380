import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { counters, countingFetch } from "./counters.ts";

Deno.test("upstream requests are counted by outcome and their bodies byte by byte", async () => {
  const before = { ...counters.upstream };
  const answers: Record<string, () => Response> = {
    "/ok": () => new Response("hello"),
    "/gone": () => new Response("gone", { status: 410 }),
    "/blocked": () => new Response("blocked", { status: 403 }),
    "/broken": () => new Response("oops", { status: 503 }),
  };
  const fetchLike = countingFetch((input) => {
    const path = new URL(String(input)).pathname;
    const answer = answers[path];
    return answer ? Promise.resolve(answer()) : Promise.reject(new TypeError("refused"));
  });
  for (const path of Object.keys(answers)) {
    const response = await fetchLike(`http://upstream.test${path}`);
    // Only what is read is counted: the 410's and 403's bodies are left unread.
    if (path === "/ok" || path === "/broken") await response.text();
    else await response.body?.cancel();
  }
  await assertRejects(() => fetchLike("http://upstream.test/down"), TypeError);
  const ok = await fetchLike("http://upstream.test/ok");
  assertEquals(ok.status, 200);
  assertEquals(await ok.text(), "hello");
  const delta = Object.fromEntries(
    Object.entries(counters.upstream).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
  );
  assertEquals(delta, {
    ok: 2,
    notFound: 1,
    refused: 1,
    serverError: 1,
    unreachable: 1,
    receivedBytes: 5 + 4 + 5,
  });
});
