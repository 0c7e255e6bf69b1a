import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { tempDir } from "./temp.js";

const run = promisify(execFile);

/** File paths and PEM texts of a throw-away PKI for TLS tests. */
export interface TestCerts {
  dir: string;
  paths: {
    ca: string;
    caKey: string;
    serverCert: string;
    serverKey: string;
    clientCert: string;
    clientKey: string;
    otherCa: string;
  };
  ca: string;
  caKey?: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here, for "wrong CA" tests. */
  otherCa: string;
  /** Common name in the client certificate (what use_identity_as_username yields). */
  clientCommonName: string;
}

export const CLIENT_COMMON_NAME = "moonrig-client";

// A private config keeps the result independent of the distribution's openssl.cnf,
// whose default sections differ between versions and can add clashing extensions.
const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

const SERVER_EXT = `basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,IP:::1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
`;

const CLIENT_EXT = `basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
`;

// P-256 keys are generated in milliseconds, unlike RSA; two days is plenty for a
// test run and keeps a leaked key worthless.
const KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const DAYS = "2";

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run("openssl", args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args.join(" ")} failed: ${stderr || String(err)}`);
  }
}

async function selfSignedCa(cwd: string, name: string, commonName: string): Promise<void> {
  await openssl(cwd, [
    "req", "-x509", ...KEY_ARGS,
    "-keyout", `${name}.key`, "-out", `${name}.crt`,
    "-days", DAYS, "-subj", `/CN=${commonName}`,
    "-config", "openssl.cnf", "-extensions", "ca_ext",
  ]);
}

async function signedLeaf(cwd: string, name: string, commonName: string, extFile: string): Promise<void> {
  await openssl(cwd, [
    "req", "-new", ...KEY_ARGS,
    "-keyout", `${name}.key`, "-out", `${name}.csr`,
    "-subj", `/CN=${commonName}`, "-config", "openssl.cnf",
  ]);
  await openssl(cwd, [
    "x509", "-req", "-in", `${name}.csr`,
    "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", `${name}.crt`, "-days", DAYS, "-extfile", extFile,
  ]);
}

async function generate(dir: string): Promise<TestCerts> {
  mkdirSync(dir, { recursive: true });
  await writeFile(join(dir, "openssl.cnf"), OPENSSL_CONFIG);
  await writeFile(join(dir, "server.ext"), SERVER_EXT);
  await writeFile(join(dir, "client.ext"), CLIENT_EXT);

  await Promise.all([
    selfSignedCa(dir, "ca", "moonrig-test-ca"),
    selfSignedCa(dir, "other-ca", "moonrig-unrelated-ca"),
  ]);
  // Both leaves share ca.srl through -CAcreateserial, so they must not race on it.
  await signedLeaf(dir, "server", "localhost", "server.ext");
  await signedLeaf(dir, "client", CLIENT_COMMON_NAME, "client.ext");

  const paths = {
    ca: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.crt"),
    clientKey: join(dir, "client.key"),
    otherCa: join(dir, "other-ca.crt"),
  };
  const text = (path: string) => readFile(path, "utf8");
  const [ca, caKey, serverCert, serverKey, clientCert, clientKey, otherCa] = await Promise.all([
    text(paths.ca), text(paths.caKey), text(paths.serverCert), text(paths.serverKey),
    text(paths.clientCert), text(paths.clientKey), text(paths.otherCa),
  ]);
  return {
    dir, paths, ca, caKey, serverCert, serverKey, clientCert, clientKey, otherCa,
    clientCommonName: CLIENT_COMMON_NAME,
  };
}

const byDir = new Map<string, Promise<TestCerts>>();
let sharedDir: string | undefined;

/**
 * Creates the CA, server, client and unrelated-CA certificates in `dir`.
 * Results are memoised per directory for the life of the process so every test
 * file can call this freely; without `dir` one process-wide temp directory is
 * used and removed on exit.
 */
export function makeCerts(dir?: string): Promise<TestCerts> {
  let target: string;
  if (dir === undefined) {
    sharedDir ??= tempDir("certs");
    target = sharedDir;
  } else {
    target = resolve(dir);
  }
  let pending = byDir.get(target);
  if (pending === undefined) {
    pending = generate(target);
    // A failed attempt must not poison later callers with a cached rejection.
    pending.catch(() => byDir.delete(target));
    byDir.set(target, pending);
  }
  return pending;
}
