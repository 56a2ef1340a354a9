// Starts the built `campus` binary on port 0 with the built dashboard, on a fresh SQLite
// database, creates a platform admin and runs `campus demo` (a small term) against it.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
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

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "campus-e2e-"));
  const database = `sqlite://${join(dir, "campus.db")}`;
  const admin = spawnSync(
    binary(),
    ["users", "--database-url", database, "create-admin", "--email", ADMIN_EMAIL],
    { env: { ...process.env, CAMPUS_ADMIN_PASSWORD: ADMIN_PASSWORD }, encoding: "utf8" },
  );
  if (admin.status !== 0) throw new Error(`create-admin failed: ${admin.stderr}`);

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
  const address = await listening(log, child);
  const baseUrl = `http://${address}`;

  const demo = spawnSync(
    binary(),
    ["demo", "--addr", baseUrl, "--admin-email", ADMIN_EMAIL, "--learners-per-school", "30"],
    { env: { ...process.env, CAMPUS_ADMIN_PASSWORD: ADMIN_PASSWORD }, encoding: "utf8" },
  );
  if (demo.status !== 0) throw new Error(`campus demo failed: ${demo.stderr}\n${demo.stdout}`);

  project.provide("baseUrl", baseUrl);
  return async () => {
    child.kill("SIGTERM");
    await new Promise((done) => child.once("exit", done));
    rmSync(dir, { recursive: true, force: true });
  };
}
