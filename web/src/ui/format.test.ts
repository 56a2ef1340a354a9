import { describe, expect, it } from "vitest";
import { formatMoney, formatSize, parseMoney, zonedInstant, zonedLocal } from "./format";

describe("formatMoney", () => {
  it("writes minor units exactly, with the currency's own number of decimals", () => {
    expect(formatMoney({ amountMinor: 123456n, currency: "EUR" })).toBe(
      new Intl.NumberFormat(undefined, { style: "currency", currency: "EUR" }).format(1234.56),
    );
    expect(formatMoney({ amountMinor: -5n, currency: "USD" })).toBe(
      new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" }).format(-0.05),
    );
    expect(formatMoney({ amountMinor: 1500n, currency: "JPY" })).toBe(
      new Intl.NumberFormat(undefined, { style: "currency", currency: "JPY" }).format(1500),
    );
    // Beyond a double's 53 bits: every digit kept.
    expect(formatMoney({ amountMinor: 9007199254740993n, currency: "EUR" })).toMatch(/409\D93/);
    expect(formatMoney(undefined)).toBe("—");
  });
});

describe("parseMoney", () => {
  it("reads what people type as exact minor units", () => {
    expect(parseMoney("12.5", "EUR")).toBe(1250n);
    expect(parseMoney("12,50", "EUR")).toBe(1250n);
    expect(parseMoney("1 200", "EUR")).toBe(120000n);
    expect(parseMoney("1500", "JPY")).toBe(1500n);
    expect(parseMoney("0.10", "USD")).toBe(10n);
  });
  it("refuses what is not a positive amount of the currency", () => {
    for (const text of ["", "abc", "-3", "0", "1.234", "1.5.0"]) {
      expect(parseMoney(text, "EUR")).toBeNull();
    }
    expect(parseMoney("1.5", "JPY")).toBeNull();
  });
});

describe("formatSize", () => {
  it("picks the unit that keeps the figure at least 1", () => {
    expect(formatSize(0)).toBe("0 bytes");
    expect(formatSize(1023)).toBe(`${(1023).toLocaleString()} bytes`);
    expect(formatSize(1536)).toBe(`${(1.5).toLocaleString()} KiB`);
    expect(formatSize(10 * 1024 * 1024)).toBe("10 MiB");
    expect(formatSize(200 * 1024 ** 3)).toBe("200 GiB");
  });
});

describe("zonedInstant", () => {
  it("reads a wall-clock time in the event's zone on either side of a daylight-saving change", () => {
    expect(zonedInstant("2026-03-28T10:00", "Europe/Berlin")?.toISOString()).toBe(
      "2026-03-28T09:00:00.000Z",
    );
    expect(zonedInstant("2026-03-30T10:00", "Europe/Berlin")?.toISOString()).toBe(
      "2026-03-30T08:00:00.000Z",
    );
    expect(zonedInstant("2026-07-01T09:30", "America/New_York")?.toISOString()).toBe(
      "2026-07-01T13:30:00.000Z",
    );
    // 02:30 does not exist in Berlin that night: an hour later.
    expect(zonedInstant("2026-03-29T02:30", "Europe/Berlin")?.toISOString()).toBe(
      "2026-03-29T01:30:00.000Z",
    );
    expect(zonedInstant("not a time", "Europe/Berlin")).toBeNull();
  });

  it("writes an instant back as the same wall-clock time", () => {
    const instant = new Date("2026-10-26T08:15:00Z");
    expect(zonedLocal(instant, "Europe/Berlin")).toBe("2026-10-26T09:15");
    expect(zonedInstant(zonedLocal(instant, "Asia/Kolkata"), "Asia/Kolkata")).toEqual(instant);
  });
});
