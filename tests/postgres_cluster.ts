/**
 * A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary
 * directory (as the `postgres` user when the tests run as root, since
 * PostgreSQL refuses to run as root), `pg_ctl start` on a free port with the
 * socket in that directory, one database, and everything removed at the end.
 * The binaries are Debian's (`apt-get install postgresql`), found under
 * `/usr/lib/postgresql/<version>/bin`.
 *
 * The superuser has a password and TCP connections must give it
 * (scram-sha-256), so the tests go through the same password path as an
 * operator's database; the socket trusts, for the helper's own commands.
 *
 * @module
 */

/** A running throwaway cluster. */
export interface PostgresCluster {
  /** `postgres://astera:…@127.0.0.1:<port>/<database>`, with the password. */
  url: string;
  /** The same URL without the password (for PGPASSWORD or passfile tests). */
  urlWithoutPassword: string;
  password: string;
  port: number;
  /** The data and socket directory. */
  dir: string;
  /** Creates another database in the cluster and returns its URL (with the password). */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL as the superuser over the socket (for damaging rows behind a store's back). */
  psql(sql: string, database?: string): Promise<string>;
  /** Stops the server (fast shutdown), keeping the data. */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same port. */
  start(): Promise<void>;
  /** Stops the server and removes the directory. */
  remove(): Promise<void>;
  /** {@linkcode PostgresCluster.remove}, blocking: for an `unload` handler, which cannot wait. */
  removeSync(): void;
}

const USER = "astera";

/** The directory of PostgreSQL's binaries: the newest under /usr/lib/postgresql. */
async function binDir(): Promise<string> {
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    }
  } catch {
    // Reported below.
  }
  if (versions.length === 0) {
    throw new Error("PostgreSQL is not installed (apt-get install postgresql)");
  }
  return `/usr/lib/postgresql/${Math.max(...versions)}/bin`;
}

/** A port nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The uid and gid of the `postgres` user, when the tests run as root. */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (Deno.uid() !== 0) return undefined;
  const passwd = await Deno.readTextFile("/etc/passwd");
  const line = passwd.split("\n").find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("running as root, but there is no postgres user to run PostgreSQL");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Makes and starts a cluster with one database, `astera_test`.
 *
 * @example
 * ```ts ignore
 * import { startPostgresCluster } from "./postgres_cluster.ts";
 * const cluster = await startPostgresCluster();
 * try {
 *   console.log(cluster.url);
 * } finally {
 *   await cluster.remove();
 * }
 * ```
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = await binDir();
  const owner = await postgresUser();
  const dir = await Deno.makeTempDir({ prefix: "astera-pg-" });
  if (owner) await Deno.chown(dir, owner.uid, owner.gid);
  const password = crypto.randomUUID().replaceAll("-", "");
  const port = freePort();

  const run = async (program: string, args: string[], stdin?: string): Promise<string> => {
    const command = owner
      ? new Deno.Command("runuser", {
        args: ["-u", "postgres", "--", `${bin}/${program}`, ...args],
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        cwd: dir,
      })
      : new Deno.Command(`${bin}/${program}`, {
        args,
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        cwd: dir,
      });
    const child = command.spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const output = await child.output();
    const text = new TextDecoder().decode(output.stdout);
    if (!output.success) {
      throw new Error(
        `${program} ${args.join(" ")} failed:\n${text}${new TextDecoder().decode(output.stderr)}`,
      );
    }
    return text;
  };

  /** pg_ctl immediate stop, blocking; its failure is ignored (the directory goes anyway). */
  const stopSync = () => {
    const args = ["-D", data, "-m", "immediate", "-w", "stop"];
    const [program, programArgs] = owner
      ? ["runuser", ["-u", "postgres", "--", `${bin}/pg_ctl`, ...args]]
      : [`${bin}/pg_ctl`, args];
    new Deno.Command(program, { args: programArgs, stdout: "null", stderr: "null", cwd: dir })
      .outputSync();
  };

  const data = `${dir}/data`;
  const pwfile = `${dir}/pwfile`;
  await Deno.writeTextFile(pwfile, `${password}\n`);
  if (owner) await Deno.chown(pwfile, owner.uid, owner.gid);
  await run("initdb", [
    "-D",
    data,
    "-U",
    USER,
    `--pwfile=${pwfile}`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  await Deno.remove(pwfile);
  const start = () =>
    run("pg_ctl", [
      "-D",
      data,
      "-l",
      `${dir}/server.log`,
      "-w",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      "start",
    ]);
  await start();
  const psql = (sql: string, database = "postgres") =>
    run("psql", [
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      USER,
      "-d",
      database,
      "-At",
      "-v",
      "ON_ERROR_STOP=1",
    ], sql);
  const urlOf = (name: string, withPassword = true) =>
    `postgres://${USER}${withPassword ? `:${password}` : ""}@127.0.0.1:${port}/${name}`;
  const createDatabase = async (name: string) => {
    await psql(`CREATE DATABASE "${name}";`);
    return urlOf(name);
  };
  await createDatabase("astera_test");
  let running = true;
  return {
    url: urlOf("astera_test"),
    urlWithoutPassword: urlOf("astera_test", false),
    password,
    port,
    dir,
    createDatabase,
    psql,
    async stop() {
      if (!running) return;
      await run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      running = false;
    },
    async start() {
      if (running) return;
      await start();
      running = true;
    },
    async remove() {
      try {
        if (running) await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        running = false;
        await Deno.remove(dir, { recursive: true });
      }
    },
    removeSync() {
      try {
        if (running) stopSync();
      } finally {
        running = false;
        Deno.removeSync(dir, { recursive: true });
      }
    },
  };
}
