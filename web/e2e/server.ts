// Starts the built `campus` binary on port 0 with the built dashboard, on a fresh SQLite
// database, creates a platform admin and runs `campus demo` (a small term) against it. A
// second server, on a database of its own with only the platform admin, serves TLS with a
// certificate made here (Debian's openssl), for the browser's HTTP/2 over TLS.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    tlsUrl: string;
  }
}

import { ADMIN_EMAIL, ADMIN_PASSWORD } from "./accounts";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The `campus` binary `cargo build` made, or `CAMPUS_BIN`. */
function binary(): string {
  return process.env.CAMPUS_BIN ?? resolve(here, "../../target/debug/campus");
}

/** Waits for the server's `serving` log line and returns its gRPC address. */
function listening(log: string, child: ChildProcess): Promise<string> {
  return new Promise((done, fail) => {
    const started = Date.now();
    const poll = setInterval(() => {
      for (const line of readFileSync(log, "utf8").split("\n")) {
        try {
          const entry = JSON.parse(line) as { message?: string; local_addr?: string };
          if (entry.message === "serving" && entry.local_addr) {
            clearInterval(poll);
            done(entry.local_addr);
            return;
          }
        } catch {
          // Not a JSON line (yet).
        }
      }
      if (child.exitCode !== null || Date.now() - started > 60_000) {
        clearInterval(poll);
        fail(new Error(`campus did not start:\n${readFileSync(log, "utf8")}`));
      }
    }, 50);
  });
}

/** A platform admin on a fresh SQLite database in `dir`; the database URL. */
function databaseWithAdmin(dir: string): string {
  const database = `sqlite://${join(dir, "campus.db")}`;
  const admin = spawnSync(
    binary(),
    ["users", "--database-url", database, "create-admin", "--email", ADMIN_EMAIL],
    { env: { ...process.env, CAMPUS_ADMIN_PASSWORD: ADMIN_PASSWORD }, encoding: "utf8" },
  );
  if (admin.status !== 0) throw new Error(`create-admin failed: ${admin.stderr}`);
  return database;
}

/** `campus serve` of the dashboard on port 0 over `database` (logging into `dir`), with
 * `args` more; the child and its gRPC address. */
async function serve(dir: string, database: string, args: string[] = []) {
  const log = join(dir, "serve.log");
  const out = openSync(log, "a");
  const child = spawn(
    binary(),
    [
      "serve",
      "--database-url",
      database,
      "--listen",
      "127.0.0.1:0",
      "--admin-listen",
      "127.0.0.1:0",
      "--web-dir",
      resolve(here, "../dist"),
      "--shutdown-delay",
      "0s",
      "--content-url",
      `file://${join(dir, "content")}`,
      ...args,
    ],
    {
      env: {
        ...process.env,
        CAMPUS_LOG_FORMAT: "json",
        RUST_LOG: "info",
        CAMPUS_LOGIN_MAX_FAILURES: "3",
      },
      stdio: ["ignore", out, out],
    },
  );
  return { child, address: await listening(log, child) };
}

/** A self-signed certificate for localhost in `dir`: its certificate and key files. */
function certificate(dir: string): [string, string] {
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  const made = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  return [cert, key];
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "campus-e2e-"));
  const { child, address } = await serve(dir, databaseWithAdmin(dir));
  const baseUrl = `http://${address}`;

  const demo = spawnSync(
    binary(),
    ["demo", "--addr", baseUrl, "--admin-email", ADMIN_EMAIL, "--learners-per-school", "30"],
    { env: { ...process.env, CAMPUS_ADMIN_PASSWORD: ADMIN_PASSWORD }, encoding: "utf8" },
  );
  if (demo.status !== 0) throw new Error(`campus demo failed: ${demo.stderr}\n${demo.stdout}`);

  const tlsDir = mkdtempSync(join(tmpdir(), "campus-e2e-tls-"));
  const [cert, key] = certificate(tlsDir);
  const tls = await serve(tlsDir, databaseWithAdmin(tlsDir), [
    "--tls-cert-file",
    cert,
    "--tls-key-file",
    key,
  ]);
  const tlsPort = tls.address.split(":").at(-1) ?? "";

  project.provide("baseUrl", baseUrl);
  project.provide("tlsUrl", `https://localhost:${tlsPort}`);
  return async () => {
    for (const server of [child, tls.child]) {
      server.kill("SIGTERM");
      await new Promise((done) => server.once("exit", done));
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(tlsDir, { recursive: true, force: true });
  };
}
