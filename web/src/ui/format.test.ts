import { describe, expect, it } from "vitest";
import { formatMoney } from "./format";

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
