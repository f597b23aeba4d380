// The status page's script: it asks /_astera/status.json every few seconds
// and fills the page. Everything the server sends that a user or the upstream
// chose (module paths, error text, request paths) is set as text, never as
// HTML. The charts are uPlot's (served by Astera at /_astera/assets/uplot.js).
"use strict";

(() => {
  const REFRESH_MS = 5000;
  const KIB = 1024;
  let renders = 0;
  /** @typedef {{ setData(data: unknown[]): void }} Chart */
  /** @type {{ requests: Chart, bytes: Chart } | null} */
  let charts = null;

  /** @param {string} name */
  const field = (name) => document.querySelector(`[data-field="${name}"]`);

  /** @param {string} name @param {string} text */
  function setText(name, text) {
    const element = field(name);
    if (element) element.textContent = text;
  }

  /** @param {number} n */
  function count(n) {
    return Math.round(n).toLocaleString("en-US");
  }

  /** @param {number} n */
  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = n;
    let unit = 0;
    while (Math.abs(value) >= KIB && unit < units.length - 1) {
      value /= KIB;
      unit++;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
  }

  /** @param {number | null} ratio */
  function percent(ratio) {
    return ratio === null ? "–" : `${(ratio * 100).toFixed(1)} %`;
  }

  /** @param {string | null} iso */
  function when(iso) {
    if (!iso) return "never";
    const date = new Date(iso);
    const today = new Date().toDateString() === date.toDateString();
    return today ? date.toLocaleTimeString() : date.toLocaleString();
  }

  /**
   * Fills a table's body with one row per item, each cell as text.
   * @param {string} id @param {Array<Array<[string, string?]>>} rows
   */
  function fillTable(id, rows) {
    const table = /** @type {HTMLTableElement} */ (document.getElementById(id));
    const body = table.tBodies[0];
    body.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const [text, className] of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        if (className) td.className = className;
        tr.append(td);
      }
      return tr;
    }));
    table.hidden = rows.length === 0;
    const empty = document.querySelector(`[data-empty="${id}"]`);
    if (empty) /** @type {HTMLElement} */ (empty).hidden = rows.length > 0;
  }

  function renderUpstream(status) {
    const upstream = status.upstream;
    const state = field("upstreamState");
    if (state) {
      state.textContent = upstream.reachable === null
        ? "not asked yet"
        : upstream.reachable
        ? "reachable"
        : "unreachable";
      state.className = upstream.reachable === false
        ? "big bad"
        : upstream.reachable
        ? "big good"
        : "big";
    }
    setText("upstreamSuccess", `last answer: ${when(upstream.lastSuccess)}`);
    const failure = upstream.lastFailure
      ? `last failure: ${when(upstream.lastFailure)}: ${upstream.lastError ?? ""}`
      : "no failure since start";
    setText("upstreamFailure", failure);
    // Cut to a few lines by the style sheet; the whole text on hover.
    field("upstreamFailure")?.setAttribute("title", failure);
  }

  function renderFigures(status) {
    setText("version", status.version);
    setText("startedAt", when(status.startedAt));
    field("startedAt")?.setAttribute("datetime", status.startedAt);
    setText("requests", count(status.requests));
    const other = status.requestsByKind.other ?? 0;
    setText("requestsDetail", other > 0 ? `and ${count(other)} outside the protocol` : "");
    setText("hitRate", percent(status.hitRate));
    setText("served", bytes(status.servedBytes));
    setText("servedExact", `${count(status.servedBytes)} bytes`);
    setText("fetched", bytes(status.fetchedBytes));
    const spared = Math.max(0, status.servedBytes - status.fetchedBytes);
    setText("spared", `${count(status.fetchedBytes)} bytes; the link was spared ${bytes(spared)}`);
    const disk = status.disk;
    const meter = /** @type {HTMLMeterElement | null} */ (field("diskMeter"));
    if (disk.budgetBytes) {
      setText("disk", `${bytes(disk.storeBytes)} of ${bytes(disk.budgetBytes)}`);
      if (meter) {
        meter.hidden = false;
        meter.value = Math.min(1, disk.storeBytes / disk.budgetBytes);
        meter.high = 0.9;
      }
    } else {
      setText("disk", bytes(disk.storeBytes));
      if (meter) meter.hidden = true;
    }
    setText(
      "diskDetail",
      `${disk.budgetBytes ? "" : "no budget; "}database file ${bytes(disk.fileBytes)}, ${
        bytes(disk.freeBytes)
      } of it free pages`,
    );
    setText(
      "process",
      `${status.isolates} isolate${status.isolates === 1 ? "" : "s"}, ${
        bytes(status.residentBytes)
      } resident, Deno ${status.deno}`,
    );
  }

  function renderTables(status) {
    fillTable("modules", status.modules.map((m) => [[m.module], [count(m.requests), "num"]]));
    fillTable(
      "errors",
      status.errors.map((
        e,
      ) => [[when(e.time), "nowrap"], [String(e.status)], [e.path], [e.message]]),
    );
    fillTable(
      "kinds",
      Object.entries(status.requestsByKind).map(([kind, n]) => [[kind], [count(n), "num"]]),
    );
    const list = /** @type {HTMLElement} */ (document.getElementById("configuration"));
    list.replaceChildren(
      ...Object.entries(status.configuration).flatMap(([name, value]) => {
        const dt = document.createElement("dt");
        dt.textContent = name;
        const dd = document.createElement("dd");
        dd.textContent = value;
        return [dt, dd];
      }),
    );
  }

  /** The charts' data from the sampled totals: rates between samples, totals as they are. */
  function chartData(history) {
    const seconds = history.time.map((t) => t / 1000);
    const perMinute = [null];
    const hitRate = [null];
    for (let i = 1; i < seconds.length; i++) {
      const elapsed = seconds[i] - seconds[i - 1];
      const requests = Math.max(0, history.requests[i] - history.requests[i - 1]);
      const fetches = Math.max(0, history.fetches[i] - history.fetches[i - 1]);
      perMinute.push(elapsed > 0 ? (requests / elapsed) * 60 : null);
      hitRate.push(requests > 0 ? Math.max(0, 1 - fetches / requests) * 100 : null);
    }
    return {
      requests: [seconds, perMinute, hitRate],
      bytes: [seconds, history.servedBytes, history.fetchedBytes],
    };
  }

  function color(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function makeCharts(data) {
    const text = color("--muted");
    const grid = color("--line");
    const axis = (extra) => ({
      stroke: text,
      grid: { stroke: grid },
      ticks: { stroke: grid },
      ...extra,
    });
    const width = (id) => document.getElementById(id)?.clientWidth || 600;
    const requests = new uPlot(
      {
        width: width("chart-requests"),
        height: 220,
        scales: { "%": { range: [0, 100] } },
        legend: { live: false },
        series: [
          {},
          {
            label: "requests/min",
            stroke: "#2563eb",
            fill: "rgba(37, 99, 235, 0.12)",
            width: 2,
            points: { show: true, size: 6 },
            value: (_, v) => v === null ? "–" : v.toFixed(1),
          },
          {
            label: "hit rate",
            scale: "%",
            stroke: "#16a34a",
            width: 2,
            points: { show: true, size: 6 },
            value: (_, v) => v === null ? "–" : `${v.toFixed(1)} %`,
          },
        ],
        axes: [
          axis({}),
          axis({}),
          axis({ scale: "%", side: 1, values: (_, ticks) => ticks.map((t) => `${t}%`) }),
        ],
      },
      data.requests,
      document.getElementById("chart-requests"),
    );
    const bytesChart = new uPlot(
      {
        width: width("chart-bytes"),
        height: 220,
        legend: { live: false },
        series: [
          {},
          {
            label: "served",
            stroke: "#9333ea",
            fill: "rgba(147, 51, 234, 0.10)",
            width: 2,
            points: { show: true, size: 6 },
            value: (_, v) => v === null ? "–" : bytes(v),
          },
          {
            label: "fetched",
            stroke: "#ea580c",
            width: 2,
            points: { show: true, size: 6 },
            value: (_, v) => v === null ? "–" : bytes(v),
          },
        ],
        axes: [axis({}), axis({ size: 80, values: (_, ticks) => ticks.map(bytes) })],
      },
      data.bytes,
      document.getElementById("chart-bytes"),
    );
    addEventListener("resize", () => {
      requests.setSize({ width: width("chart-requests"), height: 220 });
      bytesChart.setSize({ width: width("chart-bytes"), height: 220 });
    });
    return { requests, bytes: bytesChart };
  }

  function render(status) {
    renderUpstream(status);
    renderFigures(status);
    renderTables(status);
    const data = chartData(status.history);
    if (!charts) charts = makeCharts(data);
    else {
      charts.requests.setData(data.requests);
      charts.bytes.setData(data.bytes);
    }
    document.body.dataset.renders = String(++renders);
  }

  async function refresh() {
    const state = field("refresh");
    try {
      const response = await fetch("/_astera/status.json", { cache: "no-store" });
      if (!response.ok) throw new Error(`status ${response.status}`);
      render(await response.json());
      if (state) {
        state.textContent = `updated ${new Date().toLocaleTimeString()}`;
        state.classList.remove("failing");
      }
    } catch (error) {
      if (state) {
        state.textContent = `cannot reach Astera: ${
          error instanceof Error ? error.message : error
        }`;
        state.classList.add("failing");
      }
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }

  refresh();
})();
