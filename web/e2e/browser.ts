// Debian's chromium under playwright-core, with a fresh profile per context, and the
// helpers the end-to-end tests share.

import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { UsersService } from "../src/gen/campus/users/v1/users_pb";
import { DEMO_PASSWORD } from "./accounts";

/** Where screenshots go (`target/e2e/`, beside the Rust build). */
export const SHOTS = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../target/e2e");
mkdirSync(SHOTS, { recursive: true });

/** The flags a headless chromium needs on a machine with no network but loopback. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: FLAGS,
    headless: true,
  });
}

/** A page that records every console error and warning and uncaught exception. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  problems: string[];
}

export async function openPage(
  browser: Browser,
  baseUrl: string,
  viewport = { width: 1280, height: 800 },
  { ignoreHTTPSErrors = false } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport, ignoreHTTPSErrors });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.push(`${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  return { page, context, problems };
}

/** Signs in through the form and waits for the app's navigation. */
export async function signIn(page: Page, school: string, email: string, password = DEMO_PASSWORD) {
  await page.goto("/");
  await page.getByLabel("School").fill(school);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The public users client, from Node, for set-up and for the figures pages must show. */
export function usersClient(baseUrl: string) {
  return createClient(UsersService, createGrpcWebTransport({ baseUrl }));
}

/** A grpc-web transport from Node signed in as `email` of `school`. */
export async function transportAs(baseUrl: string, school: string, email: string) {
  const users = usersClient(baseUrl);
  const found = await users.getSchool({ key: { case: "slug", value: school } });
  const { tokens } = await users.login({
    schoolId: found.school?.id ?? "",
    email,
    password: DEMO_PASSWORD,
  });
  const token = tokens?.accessToken ?? "";
  return createGrpcWebTransport({
    baseUrl,
    interceptors: [
      (next) => (request) => {
        request.header.set("authorization", `Bearer ${token}`);
        return next(request);
      },
    ],
  });
}
