/**
 * Progress of a long job on the terminal: a redrawn bar when stderr is a
 * terminal, a plain line now and then when it is not (a log file, systemd's
 * journal, CI), so that neither a human nor a log drowns in output.
 *
 * @module
 */

/**
 * Where the job stands.
 *
 * @example
 * ```ts
 * import type { ProgressState } from "./progress.ts";
 * const state: ProgressState = { doneBytes: 5, totalBytes: 10, doneItems: 1, totalItems: 2, label: "a@v1.0.0" };
 * console.log(state.label);
 * ```
 */
export interface ProgressState {
  doneBytes: number;
  totalBytes: number;
  doneItems: number;
  totalItems: number;
  /** What is being worked on now. */
  label: string;
}

/**
 * Options of {@linkcode createProgress}.
 *
 * @example
 * ```ts
 * import type { ProgressOptions } from "./progress.ts";
 * const options: ProgressOptions = { tty: false, write: (text) => console.error(text.trimEnd()) };
 * console.log(options.tty);
 * ```
 */
export interface ProgressOptions {
  /** Draw a bar redrawn in place (true), or print plain lines (false). */
  tty: boolean;
  /** Writes text as it is (lines end in `\n`; the bar uses `\r`). */
  write: (text: string) => void;
  /** Terminal width for the bar; 80 unless given. */
  columns?: number;
  /** Least time between two redraws of the bar (ms); 100 unless given. */
  barIntervalMs?: number;
  /** Least time between two plain lines (ms); 5000 unless given. */
  lineIntervalMs?: number;
  now?: () => number;
}

/**
 * A progress reporter.
 *
 * @example
 * ```ts
 * import { createProgress } from "./progress.ts";
 * const progress = createProgress({ tty: false, write: (text) => console.error(text.trimEnd()) });
 * progress.update({ doneBytes: 1, totalBytes: 2, doneItems: 1, totalItems: 2, label: "x" });
 * progress.done();
 * ```
 */
export interface Progress {
  /** Reports the current state; draws only when the interval has passed. */
  update(state: ProgressState): void;
  /** Prints a line of its own (a warning), above the bar on a terminal. */
  line(text: string): void;
  /** Removes the bar; call before printing the summary. */
  done(): void;
}

/**
 * Makes a progress reporter.
 *
 * @example
 * ```ts
 * import { createProgress } from "./progress.ts";
 * const out: string[] = [];
 * const progress = createProgress({ tty: false, write: (text) => out.push(text), now: () => 0 });
 * progress.line("skipped x");
 * console.log(out); // [ "skipped x\n" ]
 * ```
 */
export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const interval = options.tty ? options.barIntervalMs ?? 100 : options.lineIntervalMs ?? 5000;
  const columns = Math.max(40, options.columns ?? 80);
  let last = now();
  let barShown = false;
  const clear = () => {
    if (barShown) options.write(`\r${" ".repeat(columns - 1)}\r`);
    barShown = false;
  };
  return {
    update(state) {
      const t = now();
      if (t - last < interval) return;
      last = t;
      if (options.tty) {
        options.write(`\r${renderBar(state, columns)}`);
        barShown = true;
      } else {
        options.write(`${renderLine(state)}\n`);
      }
    },
    line(text) {
      clear();
      options.write(`${text}\n`);
    },
    done: clear,
  };
}

/**
 * One bar line of at most `columns - 1` characters: bar, percentage, bytes, items, label.
 *
 * @example
 * ```ts
 * import { renderBar } from "./progress.ts";
 * console.log(renderBar({ doneBytes: 512, totalBytes: 1024, doneItems: 1, totalItems: 2, label: "" }, 60));
 * ```
 */
export function renderBar(state: ProgressState, columns: number): string {
  const fraction = state.totalBytes > 0 ? Math.min(1, state.doneBytes / state.totalBytes) : 1;
  const width = 20;
  const filled = Math.round(fraction * width);
  const head = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${
    String(Math.floor(fraction * 100)).padStart(3)
  }% ${formatBytes(state.doneBytes)}/${
    formatBytes(state.totalBytes)
  } ${state.doneItems}/${state.totalItems} files `;
  const room = columns - 1 - head.length;
  const label = room <= 1
    ? ""
    : state.label.length <= room
    ? state.label
    : `…${state.label.slice(state.label.length - room + 1)}`;
  return (head + label).slice(0, columns - 1).padEnd(columns - 1);
}

/**
 * One plain progress line, for logs.
 *
 * @example
 * ```ts
 * import { renderLine } from "./progress.ts";
 * console.log(renderLine({ doneBytes: 1, totalBytes: 4, doneItems: 1, totalItems: 4, label: "m@v1.0.0" }));
 * // progress 25% 1 B of 4 B, 1 of 4 files (m@v1.0.0)
 * ```
 */
export function renderLine(state: ProgressState): string {
  const percent = state.totalBytes > 0
    ? Math.floor(Math.min(1, state.doneBytes / state.totalBytes) * 100)
    : 100;
  return `progress ${percent}% ${formatBytes(state.doneBytes)} of ${
    formatBytes(state.totalBytes)
  }, ${state.doneItems} of ${state.totalItems} files${state.label ? ` (${state.label})` : ""}`;
}

/**
 * Bytes for humans, in powers of 1024.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./progress.ts";
 * console.log(formatBytes(1536)); // 1.5 KiB
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
