/**
 * Reading `--tls-cert` and `--tls-key`, and making sure they go together
 * before anything listens: a missing file, a file that is not PEM, a key
 * that does not belong to the certificate each make one line that says
 * which. The same check runs on SIGHUP, where a bad pair keeps the old one.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { TlsKeyPair } from "../http/mod.ts";
import { errorText } from "../util/errors.ts";

/**
 * A certificate or key that cannot be used; the message is the one line to print.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TlsFileError } from "./tls_files.ts";
 * assert(new TlsFileError("x").name === "TlsFileError");
 * ```
 */
export class TlsFileError extends Error {
  override name = "TlsFileError";
}

/**
 * A checked pair, and when its certificate expires.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CheckedPair } from "./tls_files.ts";
 * const pair: CheckedPair = { cert: "…", key: "…", validTo: "Dec  4 17:00:00 2027 GMT" };
 * assert(pair.validTo.endsWith("GMT"));
 * ```
 */
export interface CheckedPair extends TlsKeyPair {
  validTo: string;
}

/**
 * Reads the certificate chain and key (PEM) and checks they make a pair
 * Deno's TLS accepts. Throws {@linkcode TlsFileError}.
 *
 * @example
 * ```ts ignore
 * import { readTlsPair } from "./tls_files.ts";
 * const pair = await readTlsPair("/etc/astera/cert.pem", "/etc/astera/key.pem");
 * console.log(pair.validTo);
 * ```
 */
export async function readTlsPair(certPath: string, keyPath: string): Promise<CheckedPair> {
  const cert = await readPem("--tls-cert", certPath);
  const key = await readPem("--tls-key", keyPath);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new TlsFileError(`--tls-cert ${certPath}: not a PEM certificate`);
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new TlsFileError(`--tls-key ${keyPath}: not a PEM private key (unencrypted)`);
  }
  if (!matches) {
    throw new TlsFileError(
      `--tls-key ${keyPath} does not belong to the certificate in --tls-cert ${certPath}`,
    );
  }
  // What node:crypto accepts, rustls may not (a key type, a chain): ask the listener itself.
  try {
    Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key }).close();
  } catch (error) {
    throw new TlsFileError(`--tls-cert ${certPath} with --tls-key ${keyPath}: ${errorText(error)}`);
  }
  return { cert, key, validTo: certificate.validTo };
}

async function readPem(flag: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : errorText(error);
    throw new TlsFileError(`${flag} ${path}: cannot read: ${reason}`);
  }
}
