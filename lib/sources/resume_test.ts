import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { SourceError } from "./source.ts";
import { CannotResumeError, MAX_FRUITLESS_RESUMES, MAX_RESUMES, resuming } from "./resume.ts";

/** A stream of `bytes` that fails after `failAfter` of them (never, when undefined). */
function stream(bytes: Uint8Array, failAfter?: number): ReadableStream<Uint8Array> {
  const end = failAfter ?? bytes.length;
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent && end > 0) {
        sent = true;
        controller.enqueue(bytes.slice(0, end));
      } else if (failAfter !== undefined) controller.error(new Error("connection reset"));
      else controller.close();
    },
  });
}

Deno.test("a broken body goes on from the byte where it broke, as long as resumptions bring bytes", async () => {
  const whole = new Uint8Array(10).map((_, i) => i);
  const cases: { name: string; breaks: (number | undefined)[]; resumedAt: number[] }[] = [
    { name: "no break", breaks: [undefined], resumedAt: [] },
    { name: "one break", breaks: [4, undefined], resumedAt: [4] },
    { name: "a break with nothing sent", breaks: [0, undefined], resumedAt: [0] },
    { name: "three breaks", breaks: [2, 3, 1, undefined], resumedAt: [2, 5, 6] },
    { name: "fruitless twice, then on", breaks: [5, 0, 0, undefined], resumedAt: [5, 5, 5] },
  ];
  for (const { name, breaks, resumedAt } of cases) {
    const offsets: number[] = [];
    let part = 0;
    const reopen = (offset: number) => {
      offsets.push(offset);
      const failAfter = breaks[++part];
      return Promise.resolve(stream(whole.slice(offset), failAfter));
    };
    const body = resuming(stream(whole, breaks[0]), whole.length, reopen, { pauseMs: 0 });
    assertEquals(new Uint8Array(await new Response(body).arrayBuffer()), whole, name);
    assertEquals(offsets, resumedAt, name);
  }
});

Deno.test("a broken body fails when resumptions bring nothing or too little, or the upstream cannot resume", async () => {
  const whole = new Uint8Array(10);
  let asked = 0;
  const fruitless = resuming(stream(whole, 3), 10, () => {
    asked++;
    return Promise.resolve(stream(new Uint8Array(7), 0));
  }, { pauseMs: 0 });
  await assertRejects(() => new Response(fruitless).arrayBuffer(), Error, "connection reset");
  assertEquals(asked, MAX_FRUITLESS_RESUMES);

  asked = 0;
  const trickle = resuming(stream(whole, 3), 1000, (offset) => {
    asked++;
    return Promise.resolve(stream(new Uint8Array(1000 - offset), 1));
  }, { pauseMs: 0 });
  await assertRejects(() => new Response(trickle).arrayBuffer(), Error, "connection reset");
  assertEquals(asked, MAX_RESUMES, "a byte per resumption does not go on for ever");

  asked = 0;
  const refused = resuming(stream(whole, 3), 10, () => {
    asked++;
    return Promise.reject(new CannotResumeError("cannot resume at byte 3 of 10"));
  }, { pauseMs: 0 });
  await assertRejects(
    () => new Response(refused).arrayBuffer(),
    SourceError,
    "cannot resume at byte 3 of 10 (after: connection reset)",
  );
  assertEquals(asked, 1);

  asked = 0;
  const unreachable = resuming(stream(whole, 3), 10, () => {
    asked++;
    return Promise.reject(new SourceError("connection refused"));
  }, { pauseMs: 0 });
  await assertRejects(() => new Response(unreachable).arrayBuffer(), SourceError, "refused");
  assertEquals(asked, MAX_FRUITLESS_RESUMES);
});

Deno.test("a reader that goes away while a resumption connects leaves no stream open", async () => {
  let reopened!: (stream: ReadableStream<Uint8Array>) => void;
  let asked!: () => void;
  const askedForRest = new Promise<void>((resolve) => asked = resolve);
  const body = resuming(stream(new Uint8Array(10), 3), 10, () => {
    asked();
    return new Promise((resolve) => reopened = resolve);
  }, { pauseMs: 0 });
  const reader = body.getReader();
  assertEquals((await reader.read()).value?.length, 3);
  const pending = reader.read();
  await askedForRest;
  await reader.cancel("client gone");
  // Were the rest never cancelled, this would wait on nothing, and Deno fails such a test.
  const restCancelled = new Promise<void>((resolve) =>
    reopened(new ReadableStream({ cancel: () => resolve() }))
  );
  assertEquals((await pending).done, true);
  await restCancelled;
});
