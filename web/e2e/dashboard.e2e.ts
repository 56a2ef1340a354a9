// The dashboard in a real browser against a real server with demo data.

import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CoursesService } from "../src/gen/campus/courses/v1/courses_pb";
import {
  AccountKind,
  BalanceInterval,
  FinanceService,
  TransactionKind,
} from "../src/gen/campus/finance/v1/finance_pb";
import {
  AttendanceStatus,
  ProgressService,
  SummaryGroupBy,
} from "../src/gen/campus/progress/v1/progress_pb";
import { UsersService } from "../src/gen/campus/users/v1/users_pb";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "./accounts";
import {
  launch,
  openPage,
  SHOTS,
  signIn,
  transportAs,
  usersClient,
  type WatchedPage,
} from "./browser";

const baseUrl = inject("baseUrl");
const tlsUrl = inject("tlsUrl");
const LEARNER = "ada.adams0@northfield.demo";
const INSTRUCTOR = "maria.lopez@northfield.demo";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser.close();
});

/** Opens the sessions page of the instructor's course titled `title`. */
async function sessionsOf(page: Page, title: string) {
  await page
    .getByRole("list", { name: "My courses" })
    .getByRole("listitem")
    .filter({ has: page.getByRole("link", { name: title, exact: true }) })
    .getByRole("link", { name: "Sessions and attendance" })
    .click();
  await page.waitForURL("**/sessions");
}

/**
 * Asserts the page shows no problem (unless `alerts` are expected), closes its context and
 * asserts the browser logged no error or warning.
 */
async function done(watched: WatchedPage, { alerts = false } = {}) {
  if (!alerts) expect(await watched.page.locator(".problem").allTextContents()).toEqual([]);
  await watched.context.close();
  expect(watched.problems).toEqual([]);
}

describe("learner", () => {
  it("signs in, sees progress, completes a lesson and reads their attendance", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", LEARNER);
    await page.waitForURL("**/courses");
    const cards = page.getByRole("list", { name: "Courses" }).getByRole("listitem");
    await expect.poll(() => cards.count()).toBe(3);

    // The bars show what progress says.
    const transport = await transportAs(baseUrl, "northfield", LEARNER);
    const mine = await createClient(CoursesService, transport).listCoursesForUser({});
    for (const { course, progress } of mine.courses) {
      const bar = page.getByRole("progressbar", { name: `Progress in ${course?.title}` });
      expect(await bar.getAttribute("value")).toBe(String(progress?.completedLessons));
      expect(await bar.getAttribute("max")).toBe(String(progress?.totalLessons));
    }
    await page.screenshot({ path: `${SHOTS}/learner-courses.png`, fullPage: true });

    const first = mine.courses[0]?.course;
    const before = mine.courses[0]?.progress?.completedLessons ?? 0;
    await page.getByRole("link", { name: first?.title ?? "" }).click();
    await page.waitForURL(`**/courses/${first?.id}`);
    const complete = page.getByRole("button", { name: /^Mark completed/ }).first();
    await complete.click();
    await expect
      .poll(() => page.getByRole("progressbar", { name: "Course progress" }).getAttribute("value"))
      .toBe(String(before + 1));
    await page.screenshot({ path: `${SHOTS}/learner-course.png`, fullPage: true });

    await page.getByRole("link", { name: "My attendance" }).click();
    const rows = page.locator("tbody tr");
    await expect.poll(() => rows.count()).toBeGreaterThan(10);
    await expect.poll(() => page.locator(".rate").textContent()).toMatch(/Attended \d+ of \d+/);
    await done(watched);
  });

  it("shows a wrong password and then the throttle's wait in words", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    const email = "ben.hansen1@northfield.demo";
    for (let attempt = 0; attempt < 3; attempt++) {
      await signIn(page, "northfield", email, "not the password");
      await expect
        .poll(() => page.getByRole("alert").first().textContent())
        .toBe("Wrong email or password.");
    }
    await signIn(page, "northfield", email, "not the password");
    await expect
      .poll(() => page.getByRole("alert").first().textContent())
      .toMatch(/^Too many failed sign-ins\. Try again in \d+ (seconds?|minutes?)\.$/);
    await page.screenshot({ path: `${SHOTS}/sign-in-throttled.png` });
    await done(watched, { alerts: true });
  });
});

describe("instructor", () => {
  it("creates a course, adds, reorders and edits lessons and publishes it", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", INSTRUCTOR);
    await page.waitForURL("**/teaching");
    await page.getByLabel("Title").fill("Geometry");
    await page.getByLabel("Description").fill("Shapes and proofs.");
    await page.getByRole("button", { name: "Create course" }).click();
    await page.waitForURL(/\/teaching\/[^/]+$/);
    for (const lesson of ["Angles", "Triangles"]) {
      await page.getByLabel("Lesson title").fill(lesson);
      await page.getByRole("button", { name: "Add lesson" }).click();
      await expect.poll(() => page.locator(".lesson h3").allTextContents()).toContain(lesson);
    }
    await page.getByRole("button", { name: "Up Triangles" }).click();
    await expect
      .poll(() => page.locator(".lesson h3").allTextContents())
      .toEqual(["Triangles", "Angles"]);
    await page.getByRole("button", { name: "Edit Angles" }).click();
    const editor = page.getByRole("form", { name: "Edit Angles" });
    await editor.getByLabel("Lesson title").fill("Angles and lines");
    await editor.getByLabel("Content").fill("Measuring angles.");
    await editor.getByRole("button", { name: "Save lesson" }).click();
    await expect
      .poll(() => page.locator(".lesson h3").allTextContents())
      .toEqual(["Triangles", "Angles and lines"]);
    await page.getByRole("button", { name: "Publish" }).click();
    await expect.poll(() => page.locator(".badge").textContent()).toBe("published");
    await done(watched);
  });

  it("uploads a video and a PDF to a lesson; a learner seeks in the video and downloads the PDF", async () => {
    // A course of this instructor that the learner takes.
    const learnerTransport = await transportAs(baseUrl, "northfield", LEARNER);
    const taken = await createClient(CoursesService, learnerTransport).listCoursesForUser({});
    const course = taken.courses.find((c) => c.instructorDisplayName === "Maria Lopez")?.course;
    expect(course).toBeDefined();
    const courseId = course?.id ?? "";
    const lessons = await createClient(CoursesService, learnerTransport).listLessons({ courseId });
    const lesson = lessons.lessons[0];
    // Bytes with a pattern, so a seek that returned the wrong part would show.
    const video = Buffer.alloc(3 * 1024 * 1024 + 17, 0);
    for (let n = 0; n < video.length; n++) video[n] = (n * 7 + (n >> 12)) % 256;
    const pdf = Buffer.from("%PDF-1.4\n% Campus worksheet\n%%EOF\n");

    const staff = await openPage(browser, baseUrl);
    await signIn(staff.page, "northfield", INSTRUCTOR);
    await staff.page.waitForURL("**/teaching");
    await staff.page.goto(`/teaching/${courseId}`);
    const form = staff.page.getByRole("form", { name: "Upload a file" });
    for (const [name, mimeType, buffer] of [
      ["lecture.webm", "video/webm", video],
      ["worksheet.pdf", "application/pdf", pdf],
    ] as const) {
      await form.getByLabel("File", { exact: true }).setInputFiles({ name, mimeType, buffer });
      await form.getByLabel("Lesson").selectOption({ label: lesson?.title ?? "" });
      await form.getByRole("button", { name: "Upload" }).click();
      await expect.poll(() => staff.page.locator(".material h3").allTextContents()).toContain(name);
    }
    await done(staff);

    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", LEARNER);
    await page.waitForURL("**/courses");
    await page.goto(`/courses/${courseId}`);
    const materials = page.getByRole("list", { name: "Materials" });
    await expect
      .poll(() => materials.locator(".material h3").allTextContents())
      .toEqual(expect.arrayContaining(["lecture.webm", "worksheet.pdf"]));
    expect(
      await materials.getByText(lesson?.title ?? "", { exact: false }).count(),
    ).toBeGreaterThan(0);

    // The player's source answers seeks as a video element makes them: 206 with the bytes asked.
    await page.getByRole("button", { name: "Play lecture.webm" }).click();
    const player = page.getByLabel("Player: lecture.webm");
    await expect.poll(() => player.getAttribute("src")).toMatch(/^\/content\/v1\//);
    const src = (await player.getAttribute("src")) ?? "";
    for (const [from, to] of [
      [0, 1023],
      [2 * 1024 * 1024, 2 * 1024 * 1024 + 4095],
      [video.length - 100, video.length - 1],
    ] as const) {
      const answer = await page.evaluate(
        async ({ src, from, to }) => {
          const response = await fetch(src, { headers: { Range: `bytes=${from}-${to}` } });
          return {
            status: response.status,
            type: response.headers.get("content-type"),
            bytes: Array.from(new Uint8Array(await response.arrayBuffer())),
          };
        },
        { src, from, to },
      );
      expect(answer.status).toBe(206);
      expect(answer.type).toBe("video/webm");
      expect(Buffer.from(answer.bytes).equals(video.subarray(from, to + 1))).toBe(true);
    }

    // The PDF downloads as a file with its name and exact bytes.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download worksheet.pdf" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("worksheet.pdf");
    const saved = await download.path();
    expect(readFileSync(saved).equals(pdf)).toBe(true);
    await done(watched);
  });

  it("takes attendance with the keyboard; another device sees the marks live", async () => {
    const board = await openPage(browser, baseUrl);
    const grid = await openPage(browser, baseUrl);
    await signIn(board.page, "northfield", INSTRUCTOR);
    await board.page.waitForURL("**/teaching");
    await sessionsOf(board.page, "Algebra I");
    await board.page.getByRole("button", { name: "Create and take attendance" }).click();
    await board.page.waitForURL(/\/sessions\/[^/]+$/);
    await expect.poll(() => board.page.getByRole("status").getAttribute("data-state")).toBe("live");
    const sessionUrl = board.page.url();

    await signIn(grid.page, "northfield", INSTRUCTOR);
    await grid.page.waitForURL("**/teaching");
    await grid.page.goto(sessionUrl);
    const rows = grid.page.locator("tr.roster-row");
    await expect.poll(() => rows.count()).toBeGreaterThan(3);
    await rows.first().focus();
    for (const key of ["p", "a", "l", "e"]) await grid.page.keyboard.press(key);
    const names = await rows.evaluateAll((all) =>
      all.slice(0, 4).map((row) => row.getAttribute("data-learner") ?? ""),
    );
    await grid.page.getByRole("button", { name: /^Save 4 marks/ }).click();
    await expect
      .poll(() => grid.page.getByRole("button", { name: /^Save/ }).isDisabled())
      .toBe(true);

    // The first device's board shows every mark, without a reload.
    const live = board.page.locator(".live-marks li");
    await expect.poll(() => live.count(), { timeout: 10_000 }).toBe(4);
    const text = (await live.allTextContents()).join("\n");
    for (const name of names) expect(text).toContain(name);
    const statuses = await board.page
      .locator("tr.roster-row")
      .evaluateAll((all) => all.slice(0, 4).map((row) => row.getAttribute("data-status")));
    expect(statuses).toEqual(["PRESENT", "ABSENT", "LATE", "EXCUSED"]);
    await board.page.screenshot({ path: `${SHOTS}/instructor-attendance.png`, fullPage: true });
    await done(grid);
    await done(board);
  });

  it("charts the course's attendance with the summary's figures", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", INSTRUCTOR);
    await page.waitForURL("**/teaching");
    const transport = await transportAs(baseUrl, "northfield", INSTRUCTOR);
    const { school } = await usersClient(baseUrl).getSchool({
      key: { case: "slug", value: "northfield" },
    });
    const courses = await createClient(CoursesService, transport).listCourses({
      schoolId: school?.id ?? "",
      titleQuery: "Algebra I",
    });
    const course = courses.courses[0];
    const end = new Date();
    const start = new Date(end.getTime() - 119 * 86_400_000);
    const day = (date: Date) => date.toLocaleDateString("sv-SE");
    const summary = await createClient(ProgressService, transport).getAttendanceSummary({
      schoolId: school?.id ?? "",
      courseId: course?.id ?? "",
      groupBy: SummaryGroupBy.DAY,
      dateRange: { startDate: day(start), endDate: day(end) },
    });
    await page.goto(`/teaching/${course?.id}/sessions`);
    const values = page.locator('table[data-chart="Attendance rate per day"] td');
    await expect.poll(() => values.count()).toBe(summary.rows.length);
    const shown = await values.evaluateAll((cells) =>
      cells.map((cell) => Number(cell.getAttribute("data-value"))),
    );
    expect(shown).toEqual(summary.rows.map((row) => row.attendanceRateBp));
    expect(summary.rows.length).toBeGreaterThan(5);
    expect(await page.locator("canvas").count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}/instructor-chart.png`, fullPage: true });
    await done(watched);
  });
});

describe("money", () => {
  it("shows the learner's balances and analytics as the API has them, and follows a new transaction live", async () => {
    const finance = createClient(FinanceService, await transportAs(baseUrl, "northfield", LEARNER));
    const balances = await finance.getBalance({});
    const total = balances.totals[0];
    if (!total) throw new Error("the demo gave the learner no balance");
    const start = new Date(Date.now() - 364 * 86_400_000).toLocaleDateString("sv-SE");
    const { report } = await finance.getAnalytics({
      query: {
        dateRange: { startDate: start, endDate: new Date().toLocaleDateString("sv-SE") },
        balanceInterval: BalanceInterval.MONTH,
      },
    });

    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", LEARNER);
    await page.waitForURL("**/courses");
    await page.getByRole("link", { name: "My money" }).click();
    await page.waitForURL("**/money");
    const shownTotal = page.getByRole("table", { name: "Balances" }).locator("tfoot td").first();
    await expect.poll(() => shownTotal.getAttribute("data-minor")).toBe(String(total.amountMinor));
    const spending = page.locator(
      `table[data-chart="Spending by category (${total.currency})"] td`,
    );
    const expected = (report?.topCategories ?? [])
      .filter((c) => c.kind === TransactionKind.EXPENSE && c.total?.currency === total.currency)
      .map((c) => Number(c.total?.amountMinor));
    await expect.poll(() => spending.count()).toBe(expected.length);
    expect(
      await spending.evaluateAll((cells) => cells.map((c) => Number(c.getAttribute("data-value")))),
    ).toEqual(expected);
    // Income against expense per month, as GetAnalytics's cash flow has them.
    const flow = (report?.cashFlow ?? []).filter((m) => m.net?.currency === total.currency);
    expect(flow.length).toBeGreaterThan(0);
    const flowChart = `table[data-chart="Income and expense per month (${total.currency})"]`;
    for (const [series, expectedValues] of [
      ["Income", flow.map((m) => Number(m.income?.amountMinor ?? 0n))],
      ["Expense", flow.map((m) => Number(m.expense?.amountMinor ?? 0n))],
    ] as const) {
      const cells = page.locator(`${flowChart} td[data-series="${series}"]`);
      await expect.poll(() => cells.count()).toBe(flow.length);
      expect(
        await cells.evaluateAll((all) => all.map((c) => Number(c.getAttribute("data-value")))),
      ).toEqual(expectedValues);
    }
    await expect
      .poll(() => page.getByRole("status").first().getAttribute("data-state"))
      .toBe("live");

    const month = new Date().toLocaleDateString("sv-SE").slice(0, 7);
    const budgets = (report?.budgets ?? []).filter((b) => b.month === month);
    expect(budgets.length).toBeGreaterThan(0);
    const spent = page
      .getByRole("table", { name: "Budgets this month" })
      .locator("tbody td[data-minor]");
    await expect
      .poll(() => spent.evaluateAll((cells) => cells.map((c) => c.getAttribute("data-minor"))))
      .toEqual(budgets.map((b) => String(b.spent?.amountMinor ?? 0n)));

    // A transaction added in a second browser context redraws the open page: the total, and
    // this month's expense bar (its figure) in the income-and-expense chart.
    const thisMonthExpense = page.locator(
      `${flowChart} tr:has(th:text-is("${month}")) td[data-series="Expense"]`,
    );
    const expenseBefore = Number(await thisMonthExpense.getAttribute("data-value"));
    const other = await openPage(browser, baseUrl);
    await signIn(other.page, "northfield", LEARNER);
    await other.page.waitForURL("**/courses");
    await other.page.goto("/money/transactions");
    const form = other.page.getByRole("form", { name: "New transaction" });
    await form.getByLabel("Category").selectOption({ label: "Food (expense)" });
    await form.getByLabel("Amount").fill("43.21");
    await form.getByLabel("Description").fill(`Seen live ${Date.now()}`);
    await form.getByRole("button", { name: "Add transaction" }).click();
    await expect
      .poll(() => shownTotal.getAttribute("data-minor"))
      .toBe(String(total.amountMinor - 4_321n));
    await expect
      .poll(async () => Number(await thisMonthExpense.getAttribute("data-value")))
      .toBe(expenseBefore + 4_321);
    await done(other);
    await page.screenshot({ path: `${SHOTS}/money.png`, fullPage: true });
    await done(watched);
  });
});

describe("transactions", () => {
  it("filters by category, books a double-clicked transaction once, edits and deletes it, and transfers once", async () => {
    const finance = createClient(FinanceService, await transportAs(baseUrl, "northfield", LEARNER));
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", LEARNER);
    await page.waitForURL("**/courses");
    await page.getByRole("link", { name: "Transactions", exact: true }).click();
    await page.waitForURL("**/money/transactions");
    const table = page.getByRole("table", { name: "Transactions" });
    const categoryCells = table.locator("tbody tr td:nth-child(3)");
    await expect.poll(() => categoryCells.count()).toBe(20);

    const filters = page.getByRole("form", { name: "Filters" });
    await filters.getByLabel("Category").selectOption({ label: "Food" });
    await expect
      .poll(async () => [...new Set(await categoryCells.allTextContents())])
      .toEqual(["Food"]);

    const description = `Double click ${Date.now()}`;
    const form = page.getByRole("form", { name: "New transaction" });
    await form.getByLabel("Category").selectOption({ label: "Food (expense)" });
    await form.getByLabel("Amount").fill("12.34");
    await form.getByLabel("Description").fill(description);
    await form.getByRole("button", { name: "Add transaction" }).dblclick();
    const row = table.getByRole("row").filter({ hasText: description });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator("td[data-minor]").getAttribute("data-minor")).toBe("1234");
    const booked = async () =>
      (await finance.listTransactions({ pageSize: 100 })).transactions.filter(
        (t) => t.description === description,
      ).length;
    expect(await booked()).toBe(1);

    await row.getByRole("button", { name: `Edit ${description}` }).click();
    await table.getByLabel("New amount").fill("20.5");
    await table.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => row.locator("td[data-minor]").getAttribute("data-minor")).toBe("2050");

    await row.getByRole("button", { name: `Delete ${description}` }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect(await booked()).toBe(0);

    // With a second account, a transfer moves money between them, once however often clicked.
    const [current] = (await finance.listAccounts({ pageSize: 10 })).accounts;
    await finance.createAccount({
      requestId: `e2e-savings-${Date.now()}`,
      name: `Savings ${Date.now()}`,
      kind: AccountKind.SAVINGS,
      currency: current?.currency ?? "EUR",
      openingBalanceMinor: 0n,
    });
    const balances = async () =>
      new Map(
        (await finance.getBalance({})).accounts.map((b) => [b.accountId, b.balance?.amountMinor]),
      );
    const before = await balances();
    await page.reload();
    const move = page.getByRole("form", { name: "Transfer between accounts" });
    await move.getByLabel(/^From/).selectOption({ index: 0 });
    await move.getByLabel(/^To/).selectOption({ index: 1 });
    await move.getByLabel("Amount to move").fill("7");
    await move.getByRole("button", { name: "Transfer" }).dblclick();
    await expect.poll(() => move.getByLabel("Amount to move").inputValue()).toBe("");
    const after = await balances();
    const moved = [...after].map(([id, value]) => (value ?? 0n) - (before.get(id) ?? 0n));
    expect(moved.filter((delta) => delta !== 0n).sort()).toEqual([-700n, 700n]);
    await done(watched);
  });
});

describe("finance import", () => {
  it("imports a 1,000-row CSV, reports its 3 bad rows by line, and adds nothing when sent again", async () => {
    const finance = createClient(FinanceService, await transportAs(baseUrl, "northfield", LEARNER));
    const [account] = (await finance.listAccounts({ pageSize: 10 })).accounts;
    const [food] = (await finance.listCategories({ kind: TransactionKind.EXPENSE, pageSize: 10 }))
      .categories;
    if (!account || !food) throw new Error("the demo gave the learner no account or category");
    const balance = async () =>
      (await finance.getBalance({ accountId: account.id })).accounts[0]?.balance?.amountMinor;
    const before = await balance();

    const run = Date.now();
    const lines = [
      "idempotency_key,account_id,category_id,kind,amount_minor,currency,description,occurred_at",
    ];
    for (let n = 1; n <= 1000; n++) {
      // Rows 10, 500 and 1,000 are bad: file lines 11, 501 and 1,001.
      const amount = n === 10 ? "ten" : "1";
      const kind = n === 500 ? "gift" : "expense";
      const accountId = n === 1000 ? "no-such-account" : account.id;
      lines.push(
        `e2e-${run}-${n},${accountId},${food.id},${kind},${amount},${account.currency},"Row ${n}, imported",`,
      );
    }
    const csv = {
      name: "transactions.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(lines.join("\n")),
    };

    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", LEARNER);
    await page.waitForURL("**/courses");
    await page.getByRole("link", { name: "Import transactions" }).click();
    await page.waitForURL("**/finance/import");
    const report = page.getByRole("region", { name: "Import report" });
    const summary = async () =>
      ((await report.getByRole("status").textContent()) ?? "").replace(/\s+/g, " ").trim();

    await page.getByLabel("CSV file").setInputFiles(csv);
    await expect.poll(summary).toBe("997 imported · 0 already there · 3 rejected");
    const rejected = report.getByRole("table", { name: "Rejected rows" }).locator("tbody tr");
    expect(await rejected.locator("td:first-child").allTextContents()).toEqual([
      "11",
      "501",
      "1001",
    ]);
    expect(await rejected.locator("td:nth-child(2)").allTextContents()).toEqual([
      "amount",
      "kind",
      "account_id",
    ]);
    expect(await balance()).toBe((before ?? 0n) - 997n);

    await page.getByLabel("CSV file").setInputFiles(csv);
    await expect.poll(summary).toBe("0 imported · 997 already there · 3 rejected");
    expect(await balance()).toBe((before ?? 0n) - 997n);
    await page.screenshot({ path: `${SHOTS}/finance-import.png`, fullPage: true });
    await done(watched);
  });
});

describe("platform admin", () => {
  it("signs in without a school and sees the schools", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "", ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.waitForURL("**/schools");
    const slugs = page.locator("tbody tr td:nth-child(2)");
    await expect.poll(() => slugs.allTextContents()).toEqual(["northfield", "riverside"]);
    await done(watched);
  });

  it("adds a school, and is told in words when its short name is taken", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "", ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.waitForURL("**/schools");
    const slug = `lakeside-${Date.now()}`;
    const form = page.getByRole("form", { name: "New school" });
    const add = async (name: string) => {
      await form.getByLabel("Name", { exact: true }).fill(name);
      await form.getByLabel("Short name").fill(slug);
      await form.getByRole("button", { name: "Create school" }).click();
    };
    await add("Lakeside Academy");
    const row = page.getByRole("row").filter({ hasText: slug });
    await expect.poll(() => row.locator("td").first().textContent()).toBe("Lakeside Academy");
    expect(await form.getByLabel("Name", { exact: true }).inputValue()).toBe("");

    await add("Lakeside again");
    await expect.poll(() => form.locator(".problem").count()).toBeGreaterThan(0);
    expect(await page.getByRole("row").filter({ hasText: slug }).count()).toBe(1);
    await done(watched, { alerts: true });
  });
});

describe("school admin", () => {
  it("signs in and sees every course of the school", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", "admin@northfield.demo");
    await page.waitForURL("**/teaching");
    const titles = page.getByRole("list", { name: "My courses" }).getByRole("heading");
    await expect.poll(() => titles.count()).toBeGreaterThanOrEqual(6);
    for (const title of ["Algebra I", "World History", "Art and Design"]) {
      expect(await titles.allTextContents()).toContain(title);
    }
    await done(watched);
  });

  it("pages through the students, adds an instructor and deactivates them", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", "admin@northfield.demo");
    await page.waitForURL("**/teaching");
    await page.getByRole("link", { name: "People" }).click();
    await page.waitForURL("**/people");
    const people = page.getByRole("table", { name: "People" });
    const emails = people.locator("tbody tr td:nth-child(2)");

    await page.getByLabel("Show").selectOption({ label: "Students" });
    // The filtered page has replaced the first one once every row is a student's.
    const roles = people.locator("tbody tr td:nth-child(3)");
    await expect.poll(async () => [...new Set(await roles.allTextContents())]).toEqual(["student"]);
    expect(await emails.count()).toBe(20);
    const first = await emails.allTextContents();
    await page.getByRole("button", { name: "Next page" }).click();
    await expect.poll(async () => (await emails.allTextContents())[0]).not.toBe(first[0]);
    const second = await emails.allTextContents();
    expect(second.filter((email) => first.includes(email))).toEqual([]);
    await page.getByRole("button", { name: "Previous page" }).click();
    await expect.poll(() => emails.allTextContents()).toEqual(first);

    const email = `new.teacher.${Date.now()}@northfield.demo`;
    const form = page.getByRole("form", { name: "New person" });
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Display name").fill("New Teacher");
    await form.getByLabel("Role").selectOption({ label: "instructor" });
    await form.getByLabel("First password").fill("a long enough password");
    await form.getByRole("button", { name: "Add person" }).click();
    await page.getByLabel("Show").selectOption({ label: "Instructors" });
    const row = people.getByRole("row").filter({ hasText: email });
    await expect.poll(() => row.locator("td:nth-child(4)").textContent()).toBe("active");
    await row.getByRole("button", { name: "Deactivate New Teacher" }).click();
    await expect.poll(() => row.locator("td:nth-child(4)").textContent()).toBe("deactivated");
    await done(watched);
  });

  it("charts the school's attendance per day and per course, and sees marks arrive live", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page } = watched;
    await signIn(page, "northfield", "admin@northfield.demo");
    await page.waitForURL("**/teaching");
    const admin = await transportAs(baseUrl, "northfield", "admin@northfield.demo");
    const { school } = await usersClient(baseUrl).getSchool({
      key: { case: "slug", value: "northfield" },
    });
    const schoolId = school?.id ?? "";
    const end = new Date();
    const start = new Date(end.getTime() - 29 * 86_400_000);
    const day = (date: Date) => date.toLocaleDateString("sv-SE");
    const progress = createClient(ProgressService, admin);
    const range = { startDate: day(start), endDate: day(end) };
    const [byDay, byCourse] = await Promise.all(
      [SummaryGroupBy.DAY, SummaryGroupBy.COURSE].map((groupBy) =>
        progress.getAttendanceSummary({ schoolId, groupBy, dateRange: range }),
      ),
    );

    await page.getByRole("link", { name: "School attendance" }).click();
    await page.waitForURL("**/school/attendance");
    await expect
      .poll(() => page.locator(".rate").getAttribute("data-rate-bp"))
      .toBe(String(byDay?.total?.attendanceRateBp));
    for (const [chart, summary] of [
      ["Attendance rate per day", byDay],
      ["Attendance rate per course", byCourse],
    ] as const) {
      const values = page.locator(`table[data-chart="${chart}"] td`);
      await expect.poll(() => values.count()).toBe(summary?.rows.length);
      const shown = await values.evaluateAll((cells) =>
        cells.map((cell) => Number(cell.getAttribute("data-value"))),
      );
      expect(shown).toEqual(summary?.rows.map((row) => row.attendanceRateBp));
    }
    await expect
      .poll(() => page.getByRole("status").first().getAttribute("data-state"))
      .toBe("live");

    // An instructor takes a mark on another device: it appears on the school's board.
    const teacher = await transportAs(baseUrl, "northfield", INSTRUCTOR);
    const [course] = (
      await createClient(CoursesService, teacher).listCourses({ schoolId, titleQuery: "Algebra I" })
    ).courses;
    const [enrolled] = (
      await createClient(CoursesService, teacher).listEnrollments({
        filter: { case: "courseId", value: course?.id ?? "" },
        pageSize: 1,
      })
    ).enrollments;
    const teaching = createClient(ProgressService, teacher);
    const { session } = await teaching.createAttendanceSession({
      requestId: crypto.randomUUID(),
      courseId: course?.id ?? "",
      title: "Board check",
      sessionDate: day(end),
      startsAt: timestampFromMs(end.getTime()),
    });
    await teaching.batchMarkAttendance({
      requestId: crypto.randomUUID(),
      sessionId: session?.id ?? "",
      marks: [{ studentId: enrolled?.userId ?? "", status: AttendanceStatus.LATE }],
    });
    const { users } = await createClient(UsersService, admin).batchGetUsers({
      userIds: [enrolled?.userId ?? ""],
    });
    const board = page.getByRole("list", { name: "Marks being taken" }).getByRole("listitem");
    await expect
      .poll(() => board.first().textContent())
      .toContain(`Algebra I · ${users[0]?.displayName}: Late`);
    await page.screenshot({ path: `${SHOTS}/school-attendance.png`, fullPage: true });
    await done(watched);
  });
});

describe("events", () => {
  it("a school admin announces an event; learners answer, wait, move up and see it in their calendar feed", async () => {
    const title = `Open evening ${Date.now()}`;
    const admin = await openPage(browser, baseUrl);
    admin.page.on("dialog", (dialog) => void dialog.accept());
    await signIn(admin.page, "northfield", "admin@northfield.demo");
    await admin.page.waitForURL("**/teaching");
    await admin.page.getByRole("link", { name: "Events" }).click();
    const editor = admin.page.getByRole("form", { name: "Announce an event" });
    await editor.getByLabel("Audience").selectOption({ label: "The whole school" });
    await editor.getByLabel("Title", { exact: true }).fill(title);
    const year = new Date().getFullYear() + 1;
    await editor.getByLabel("Starts", { exact: true }).fill(`${year}-03-20T18:00`);
    await editor.getByLabel("Ends", { exact: true }).fill(`${year}-03-20T20:00`);
    await editor.getByLabel("Time zone", { exact: true }).fill("Europe/Berlin");
    await editor.getByLabel("Place", { exact: true }).fill("Main hall");
    await editor.getByLabel("Places (0 for no limit)").fill("1");
    await editor.getByRole("button", { name: "Announce" }).click();
    const adminCard = admin.page.getByRole("listitem", { name: title });
    await expect.poll(() => adminCard.count()).toBe(1);
    // Shown at the time it was given, in its zone, whatever the browser's own zone.
    expect(await adminCard.textContent()).toMatch(
      /Mar 20, \d{4}, 6:00\s*–\s*8:00\sPM \(Europe\/Berlin\)/,
    );

    // The first learner takes the one place, the second waits.
    const answer = async (email: string, expected: RegExp) => {
      const watched = await openPage(browser, baseUrl);
      await signIn(watched.page, "northfield", email);
      await watched.page.waitForURL("**/courses");
      await watched.page.getByRole("link", { name: "Events" }).click();
      const card = watched.page.getByRole("listitem", { name: title });
      await card.getByRole("button", { name: `Going to ${title}`, exact: true }).click();
      await expect.poll(() => card.getByRole("status").textContent()).toMatch(expected);
      return watched;
    };
    const first = await answer(LEARNER, /^You are going\.$/);
    const second = await answer("chloe.owens2@northfield.demo", /waitlist: number 1\.$/);

    // The waiting learner's calendar link serves the event in iCalendar.
    await second.page.getByRole("button", { name: "Show calendar link" }).click();
    const link = second.page.getByLabel("Calendar link");
    await expect.poll(() => link.inputValue()).toMatch(/\/calendar\/v1\/.+\.ics\?/);
    const feedUrl = await link.inputValue();
    const feed = async () => (await fetch(feedUrl)).text();
    expect(await feed()).toContain(`SUMMARY:${title}`);
    expect(await feed()).toContain("DTSTART;TZID=Europe/Berlin:");

    // The first leaves: the waiting one moves up.
    const firstCard = first.page.getByRole("listitem", { name: title });
    await firstCard.getByRole("button", { name: `Not going to ${title}` }).click();
    await expect.poll(() => firstCard.getByRole("status").textContent()).toBe("You are not going.");
    await second.page.reload();
    await expect
      .poll(() =>
        second.page.getByRole("listitem", { name: title }).getByRole("status").textContent(),
      )
      .toBe("You are going.");

    // The admin sees who is coming, then cancels; the feed says so.
    await admin.page.reload();
    await adminCard.getByText("Who is coming").click();
    await expect
      .poll(() => adminCard.getByRole("list", { name: `Attendees of ${title}` }).textContent())
      .toContain("Chloe Owens");
    await adminCard.getByRole("button", { name: `Cancel event ${title}` }).click();
    await expect.poll(() => adminCard.getAttribute("data-status")).toBe("CANCELLED");
    expect(await feed()).toContain("STATUS:CANCELLED");
    await admin.page.screenshot({ path: `${SHOTS}/events.png`, fullPage: true });
    for (const watched of [admin, first, second]) await done(watched);
  });
});

describe("sessions", () => {
  it("two tabs refreshing an expired token at once both stay signed in", async () => {
    const watched = await openPage(browser, baseUrl);
    const { page, context } = watched;
    await signIn(page, "northfield", LEARNER);
    await page.waitForURL("**/courses");
    const cards = (tab: Page) =>
      tab.getByRole("list", { name: "Courses" }).getByRole("listitem").count();
    await expect.poll(() => cards(page)).toBe(3);
    // Both tabs on a document of the origin that is not the app (the app's script, as
    // text), where the stored tokens are aged: when both open the app at once, both must
    // refresh.
    const script = (await page.locator("script[type=module]").getAttribute("src")) ?? "/";
    await page.goto(script);
    const second = await context.newPage();
    await second.goto(script);
    const before = await second.evaluate(async (expiredAt) => {
      const stored = JSON.parse(localStorage.getItem("campus.session") ?? "{}");
      localStorage.setItem(
        "campus.session",
        JSON.stringify({ ...stored, accessExpiresAt: expiredAt }),
      );
      const db = await new Promise<IDBDatabase>((done, fail) => {
        const open = indexedDB.open("campus");
        open.onsuccess = () => done(open.result);
        open.onerror = () => fail(open.error);
      });
      await new Promise<void>((done, fail) => {
        const tx = db.transaction("session", "readwrite");
        const sessions = tx.objectStore("session");
        const read = sessions.get("session");
        read.onsuccess = () =>
          sessions.put({ ...read.result, accessExpiresAt: expiredAt }, "session");
        tx.oncomplete = () => done();
        tx.onerror = () => fail(tx.error);
      });
      db.close();
      return stored.refreshToken as string;
    }, Date.now() - 1000);
    await Promise.all([page.goto("/courses"), second.goto("/courses")]);
    await expect.poll(() => cards(page)).toBe(3);
    await expect.poll(() => cards(second)).toBe(3);
    // The record of truth holds a rotated, fresh pair.
    const durable = () =>
      second.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((done, fail) => {
          const open = indexedDB.open("campus");
          open.onsuccess = () => done(open.result);
          open.onerror = () => fail(open.error);
        });
        const stored = await new Promise<{ refreshToken: string; accessExpiresAt: number }>(
          (done, fail) => {
            const read = db.transaction("session").objectStore("session").get("session");
            read.onsuccess = () => done(read.result);
            read.onerror = () => fail(read.error);
          },
        );
        db.close();
        return stored;
      });
    const after = await durable();
    expect(after.refreshToken).not.toBe(before);
    expect(after.accessExpiresAt).toBeGreaterThan(Date.now());
    // Later loads in both tabs still work: the login was not revoked by a reused token.
    await Promise.all([page.reload(), second.reload()]);
    await expect.poll(() => cards(page)).toBe(3);
    await expect.poll(() => cards(second)).toBe(3);
    expect((await durable()).refreshToken).toBe(after.refreshToken);
    await second.close();
    await done(watched);
  });

  it("fits a phone: no sideways scrolling on the learner's and instructor's pages", async () => {
    const watched = await openPage(browser, baseUrl, { width: 390, height: 844 });
    const { page } = watched;
    await signIn(page, "northfield", INSTRUCTOR);
    await page.waitForURL("**/teaching");
    await sessionsOf(page, "Algebra I");
    await page.locator(".sessions a").first().click();
    await expect.poll(() => page.locator("tr.roster-row").count()).toBeGreaterThan(3);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${SHOTS}/phone-attendance.png`, fullPage: true });
    await done(watched);
  });

  it("fits a phone: the school admin's and the learner's new pages", async () => {
    // Who signs in, where they land, and each page with an element that shows it has loaded.
    const visits = [
      {
        email: "admin@northfield.demo",
        home: "**/teaching",
        pages: [
          ["/school/attendance", 'table[data-chart="Attendance rate per course"] td'],
          ["/people", "table tbody tr"],
          ["/events", ".event h2"],
        ],
      },
      {
        email: LEARNER,
        home: "**/courses",
        pages: [
          ["/money", "tfoot td"],
          ["/money/transactions", "table tbody tr"],
          ["/finance/import", 'table[aria-label="Accounts"] tbody tr'],
        ],
      },
    ];
    const overflow: Record<string, number> = {};
    for (const { email, home, pages } of visits) {
      const watched = await openPage(browser, baseUrl, { width: 390, height: 844 });
      const { page } = watched;
      await signIn(page, "northfield", email);
      await page.waitForURL(home);
      for (const [path = "", ready = ""] of pages) {
        await page.goto(path);
        await page.locator(ready).first().waitFor({ state: "attached" });
        overflow[path] = await page.evaluate(() =>
          Math.max(0, document.documentElement.scrollWidth - window.innerWidth),
        );
        if (path === "/money") {
          await page.screenshot({ path: `${SHOTS}/phone-money.png`, fullPage: true });
        }
      }
      await done(watched);
    }
    expect(overflow).toEqual(
      Object.fromEntries(visits.flatMap(({ pages }) => pages.map(([path]) => [path, 0]))),
    );
  });
});

describe("tls", () => {
  it("serves the dashboard and its grpc-web calls over HTTP/2 inside TLS", async () => {
    // The certificate is the test's own, self-signed: the context accepts it.
    const watched = await openPage(browser, tlsUrl, undefined, { ignoreHTTPSErrors: true });
    const { page } = watched;
    await signIn(page, "", ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.waitForURL("**/schools");
    const protocols = () =>
      page.evaluate(() => ({
        page: (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming)
          .nextHopProtocol,
        calls: performance
          .getEntriesByType("resource")
          .filter((entry) => entry.name.includes("/campus.users.v1.UsersService/"))
          .map((entry) => (entry as PerformanceResourceTiming).nextHopProtocol),
      }));
    // Login and ListSchools at least (an entry appears once its response has ended).
    await expect.poll(async () => (await protocols()).calls.length).toBeGreaterThanOrEqual(2);
    const seen = await protocols();
    expect(seen.page).toBe("h2");
    expect([...new Set(seen.calls)]).toEqual(["h2"]);
    await done(watched);
  });
});
