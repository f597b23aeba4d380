/**
 * Facts about the machine that matter to running Astera, checked at start-up.
 *
 * @module
 */
import type { Logger } from "./log.ts";

/**
 * Warns in one line when the kernel uses 16 KiB pages on arm64 (a Raspberry
 * Pi 5's default kernel), on which Deno's arm64 builds are known to crash.
 *
 * @example
 * ```ts ignore
 * import { warnOnLargePages } from "./platform.ts";
 * import { createLogger } from "./log.ts";
 * await warnOnLargePages(createLogger());
 * ```
 */
export async function warnOnLargePages(log: Logger): Promise<void> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "aarch64") return;
  const size = await pageSize();
  if (size !== null && size > 4096) {
    log.warn("page-size", {
      bytes: size,
      advice:
        "Deno on arm64 needs 4K pages: on a Raspberry Pi 5 set kernel=kernel8.img in /boot/firmware/config.txt",
    });
  }
}

async function pageSize(): Promise<number | null> {
  try {
    const { success, stdout } = await new Deno.Command("getconf", {
      args: ["PAGESIZE"],
      stderr: "null",
    }).output();
    const value = Number(new TextDecoder().decode(stdout).trim());
    return success && Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}
