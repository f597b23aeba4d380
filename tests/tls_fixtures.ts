/**
 * Test certificates made with openssl, as an operator would: a CA of the
 * test's own and a server certificate for 127.0.0.1 signed by it, which
 * clients trust through `SSL_CERT_FILE` (the go command) or `caCerts`
 * (Deno). Also htpasswd files made with `htpasswd -B`, the tool the README
 * tells operators to use.
 *
 * @module
 */
import { join } from "node:path";

/** A CA and a server certificate it signed, as files. */
export interface TestCertificates {
  caCert: string;
  cert: string;
  key: string;
}

async function run(program: string, args: string[], cwd: string): Promise<void> {
  const output = await new Deno.Command(program, { args, cwd, stdin: "null" }).output();
  if (output.code !== 0) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/**
 * Makes `<name>-ca.pem`, `<name>-cert.pem` and `<name>-key.pem` in `dir`: a
 * CA, and a certificate for 127.0.0.1 it signed.
 *
 * @example
 * ```ts ignore
 * import { makeCertificates } from "./tls_fixtures.ts";
 * const { caCert, cert, key } = await makeCertificates("/tmp/certs", "first");
 * ```
 */
export async function makeCertificates(dir: string, name: string): Promise<TestCertificates> {
  const file = (suffix: string) => join(dir, `${name}-${suffix}`);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca-key.pem"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    `/CN=astera test CA ${name}`,
  ], dir);
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    file("key.pem"),
    "-out",
    file("cert.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ], dir);
  await Deno.writeTextFile(
    file("ext.cnf"),
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    file("cert.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca-key.pem"),
    "-CAcreateserial",
    "-out",
    file("cert.pem"),
    "-days",
    "2",
    "-extfile",
    file("ext.cnf"),
  ], dir);
  return { caCert: file("ca.pem"), cert: file("cert.pem"), key: file("key.pem") };
}

/**
 * Writes an htpasswd file at `path` with `htpasswd -B` (bcrypt, cost 5, the tool's default).
 *
 * @example
 * ```ts ignore
 * import { writeHtpasswd } from "./tls_fixtures.ts";
 * await writeHtpasswd("/tmp/users", { alice: "secret" });
 * ```
 */
export async function writeHtpasswd(path: string, users: Record<string, string>): Promise<void> {
  let first = true;
  for (const [user, password] of Object.entries(users)) {
    await run("htpasswd", [...(first ? ["-c"] : []), "-b", "-B", path, user, password], ".");
    first = false;
  }
}
