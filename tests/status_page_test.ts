/**
 * The status page in a real browser: Debian's chromium, driven by
 * playwright-core (never a downloaded browser). After known traffic the page
 * must show that traffic's figures, draw its charts with uPlot as Astera
 * serves it, show user-derived text as text, never a credential, and refresh
 * itself. With `ASTERA_SCREENSHOT=docs/status.png` it also makes a while of
 * varied traffic and saves a screenshot there (the README's).
 *
 * @module
 */
/// <reference lib="dom" />
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { type Astera, startAstera } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { startFileProxy } from "./file_proxy.ts";
import { removeTree } from "./go_tool.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";

const CHROMIUM = "/usr/bin/chromium";
const BROWSER_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
];
const SCREENSHOT = Deno.env.get("ASTERA_SCREENSHOT");
/** What the broken module's upstream answers: markup the page must show as text. */
const HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1"> & <b>bold</b>';

/** Requests made before the page is opened, and how many times each. */
const TRAFFIC: [string, number][] = [
  ["/example.com/lib/@v/list", 3],
  ["/example.com/lib/@v/v1.0.0.info", 2],
  ["/example.com/lib/@v/v1.0.0.zip", 1],
  ["/example.com/dep/@v/v1.0.0.mod", 2],
  ["/example.com/broken/@v/v1.0.0.mod", 1],
];

interface Upstream {
  url: string;
  /** HTTP requests answered, and their body bytes. */
  requests: number;
  bytes: number;
  close(): Promise<void>;
}

/** The universe's file proxy behind a front that fails the broken module with {@linkcode HOSTILE}. */
async function startUpstream(universe: string): Promise<Upstream> {
  const files = await startFileProxy({ root: universe });
  const state = { requests: 0, bytes: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    const answer = path.startsWith("/example.com/broken/")
      ? new Response(HOSTILE, { status: 503 })
      : await fetch(files.url + path);
    const body = new Uint8Array(await answer.arrayBuffer());
    state.requests++;
    state.bytes += body.byteLength;
    return new Response(body, { status: answer.status, headers: answer.headers });
  });
  return {
    // Credentials the page must never show.
    url: `http://watcher:s3cret@127.0.0.1:${server.addr.port}`,
    get requests() {
      return state.requests;
    },
    get bytes() {
      return state.bytes;
    },
    async close() {
      await server.shutdown();
      await files.close();
    },
  };
}

/** Fetches each path `times` times; returns the body bytes received. */
async function makeTraffic(astera: Astera, traffic: [string, number][]): Promise<number> {
  let bytes = 0;
  for (const [path, times] of traffic) {
    for (let i = 0; i < times; i++) {
      bytes += (await (await fetch(astera.url + path)).arrayBuffer()).byteLength;
    }
  }
  return bytes;
}

const text = (page: Page, field: string) =>
  page.locator(`[data-field="${field}"]`).textContent().then((value) => value ?? "");

/** Table cells by row, as shown. */
const cells = (page: Page, table: string) =>
  page.locator(`#${table} tbody tr`).evaluateAll((rows) =>
    rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent ?? ""))
  );

/** Pixels of a chart's canvas within a small distance of `rgb`: the series was drawn. */
function pixelsOf(page: Page, chart: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(({ chart, rgb }) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#${chart} canvas`);
    if (!canvas) return -1;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    let found = 0;
    for (let i = 0; i < data.length; i += 4) {
      const distance = Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) +
        Math.abs(data[i + 2] - rgb[2]);
      if (data[i + 3] > 200 && distance < 40) found++;
    }
    return found;
  }, { chart, rgb });
}

Deno.test("the status page shows the traffic's figures, draws its charts, escapes what users chose and refreshes itself", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-status-page-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, standardUniverse(256 * 1024));
  const upstream = await startUpstream(universe);
  const config = parseConfig(
    // Two isolates: whichever answers, the page shows the sum, and failures with their text.
    [
      ...["--listen", "127.0.0.1:0", "--db", join(work, "astera.db"), "--workers", "2"],
      ...["--upstream", upstream.url],
    ],
    {},
  );
  const astera = await startAstera(config, silentLogger, undefined, {
    statusSampleMs: SCREENSHOT ? 2000 : 10_000,
  });
  let browser: Browser | undefined;
  try {
    const served = await makeTraffic(astera, TRAFFIC);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const failures: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") failures.push(message.text());
    });
    page.on("pageerror", (error) => failures.push(error.message));
    // Nothing may be loaded from anywhere but Astera.
    const elsewhere: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(astera.url) && !request.url().startsWith("data:")) {
        elsewhere.push(request.url());
      }
    });
    const response = await page.goto(`${astera.url}/`);
    assertEquals(response?.status(), 200);
    await page.waitForFunction(() => Number(document.body.dataset.renders) >= 1);

    const requests = TRAFFIC.reduce((sum, [, times]) => sum + times, 0);
    assertEquals(await text(page, "requests"), String(requests));
    assertEquals(await text(page, "servedExact"), `${served.toLocaleString("en-US")} bytes`);
    assertStringIncludes(
      await text(page, "spared"),
      `${upstream.bytes.toLocaleString("en-US")} bytes`,
    );
    const hitRate = `${((1 - upstream.requests / requests) * 100).toFixed(1)} %`;
    assertEquals(await text(page, "hitRate"), hitRate);
    assertEquals(await cells(page, "modules"), [
      ["example.com/lib", "6"],
      ["example.com/dep", "2"],
      ["example.com/broken", "1"],
    ]);

    // The upstream's markup is text, in the errors table and the upstream tile.
    const errors = await cells(page, "errors");
    assertEquals(errors.length, 1);
    assertEquals(errors[0].slice(1, 3), ["502", "/example.com/broken/@v/v1.0.0.mod"]);
    assertStringIncludes(errors[0][3], HOSTILE);
    assertEquals(await text(page, "upstreamState"), "unreachable");
    assertStringIncludes(await text(page, "upstreamFailure"), HOSTILE);
    assertEquals(await page.locator("main img, main b").count(), 0, "markup was rendered");
    assertEquals(await page.evaluate(() => document.body.dataset.pwned), undefined);

    // The configuration names the upstream, never its credentials.
    const body = await page.locator("body").textContent() ?? "";
    assertStringIncludes(body, upstream.url.replace("watcher:s3cret@", ""));
    assert(!body.includes("s3cret") && !body.includes("watcher"), "credentials on the page");

    // Both charts are uPlot's, with their series drawn in their colours.
    assertEquals(await page.locator(".uplot").count(), 2);
    assert(await pixelsOf(page, "chart-requests", [37, 99, 235]) > 0, "requests/min not drawn");
    assert(await pixelsOf(page, "chart-requests", [22, 163, 74]) > 0, "hit rate not drawn");
    assert(await pixelsOf(page, "chart-bytes", [147, 51, 234]) > 0, "bytes served not drawn");
    assert(await pixelsOf(page, "chart-bytes", [234, 88, 12]) > 0, "bytes fetched not drawn");

    // It refreshes itself: more traffic shows without reloading.
    await makeTraffic(astera, [["/example.com/lib/@v/list", 2]]);
    await page.waitForFunction(
      (expected) => document.querySelector('[data-field="requests"]')?.textContent === expected,
      String(requests + 2),
      { timeout: 20_000 },
    );
    assertEquals(failures, [], "console errors");
    assertEquals(elsewhere, [], "requests outside Astera");

    if (SCREENSHOT) {
      await screenshotAfterTraffic(astera, page, SCREENSHOT);
    }
  } finally {
    await browser?.close();
    await astera.close();
    await upstream.close();
    await removeTree(work);
  }
});

/**
 * A while of varied traffic (new modules, repeats, a burst of the big zip),
 * one wave per sample, then a screenshot of the whole page.
 */
async function screenshotAfterTraffic(astera: Astera, page: Page, path: string): Promise<void> {
  const modules = [
    "example.com/lib",
    "example.com/dep",
    "example.com/%21upper/%21pkg",
    "example.com/mod/v2",
    "example.com/old",
    "example.com/big",
  ];
  const status = async () =>
    (await (await fetch(`${astera.url}/_astera/status.json`)).json()) as {
      history: { time: number[] };
    };
  for (let wave = 0; wave < 14; wave++) {
    const traffic: [string, number][] = modules.slice(0, 2 + (wave % modules.length)).flatMap((
      module,
      i,
    ): [string, number][] => [
      [`/${module}/@v/list`, 2 + ((wave + i) % 5)],
      [`/${module}/@latest`, 1 + (wave % 3)],
    ]);
    if (wave % 4 === 3) traffic.push(["/example.com/big/@v/v1.0.0.zip", 3]);
    await makeTraffic(astera, traffic);
    // One wave per sample: wait until the sampler took the next one.
    const samples = (await status()).history.time.length;
    while ((await status()).history.time.length <= samples) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const renders = Number(await page.evaluate(() => document.body.dataset.renders));
  await page.waitForFunction((seen) => Number(document.body.dataset.renders) > seen, renders, {
    timeout: 20_000,
  });
  await page.screenshot({ path, fullPage: true });
}
