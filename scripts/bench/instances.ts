/**
 * Several Astera instances on one PostgreSQL database, for
 * `deno task bench --store postgres --instances N`: a throwaway cluster
 * (`tests/postgres_cluster.ts`), N servers on it, and the peak RSS of each
 * while clients spread over them.
 *
 * @module
 */
import { join } from "node:path";
import { startPostgresCluster } from "../../tests/postgres_cluster.ts";
import { MemoryWatch } from "./measure.ts";
import { startAstera, type System } from "./systems.ts";

/**
 * Running instances sharing one database.
 *
 * @example
 * ```ts ignore
 * import { startInstances } from "./instances.ts";
 * const instances = await startInstances({ count: 3, upstream, dir, extraArgs: [] });
 * console.log(instances.urls);
 * await instances.stop();
 * ```
 */
export interface Instances {
  urls: string[];
  pids: number[];
  /** Starts sampling every instance's memory; the returned function gives each one's peak. */
  watch(): () => number[];
  stop(): Promise<void>;
  /** The first instance as a system of the table (the hot-path and large workloads use it). */
  first(name: string): System;
}

/**
 * Starts a cluster and `count` Astera servers on it.
 *
 * @example
 * ```ts ignore
 * const instances = await startInstances({ count: 3, upstream: "http://127.0.0.1:9000", dir: "/tmp/b", extraArgs: [] });
 * ```
 */
export async function startInstances(options: {
  count: number;
  upstream: string;
  dir: string;
  extraArgs: string[];
}): Promise<Instances> {
  const cluster = await startPostgresCluster();
  const systems: System[] = [];
  const stop = async () => {
    for (const system of systems) await system.stop();
    await cluster.remove();
  };
  try {
    for (let i = 0; i < options.count; i++) {
      systems.push(
        await startAstera({
          db: cluster.url,
          upstream: options.upstream,
          log: join(options.dir, `instance-${i + 1}.log`),
          extraArgs: options.extraArgs,
        }),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    urls: systems.map((system) => system.url),
    pids: systems.map((system) => system.pid),
    watch() {
      const watches = systems.map((system) => new MemoryWatch(system.pid));
      for (const watch of watches) watch.begin();
      return () => watches.map((watch) => watch.end());
    },
    stop,
    first: (name) => ({ ...systems[0], name, stop }),
  };
}
