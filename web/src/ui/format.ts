// Dates and numbers in the browser's locale.

import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });

/** A timestamp as a date and time, or "—" when absent. */
export function formatTime(timestamp: Timestamp | undefined): string {
  return timestamp ? dateTime.format(timestampDate(timestamp)) : "—";
}

/** A calendar date (`YYYY-MM-DD`, as the API sends session dates). */
export function formatDay(isoDate: string): string {
  const parsed = new Date(`${isoDate}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) ? isoDate : day.format(parsed);
}

/** A rate in basis points (10000 = 100 %). */
export function formatRate(basisPoints: number): string {
  return percent.format(basisPoints / 10_000);
}

/** A file size in bytes, in the largest unit that keeps it at least 1 (1,024 to the next). */
export function formatSize(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toLocaleString(undefined, { maximumFractionDigits: digits })} ${units[unit]}`;
}

/** A ratio between 0 and 1. */
export function formatShare(share: number): string {
  return percent.format(share);
}

/** A day as `YYYY-MM-DD` in the browser's zone. */
function isoDay(day: Date): string {
  const month = String(day.getMonth() + 1).padStart(2, "0");
  const date = String(day.getDate()).padStart(2, "0");
  return `${day.getFullYear()}-${month}-${date}`;
}

/** Today as `YYYY-MM-DD` in the browser's zone. */
export function today(): string {
  return isoDay(new Date());
}

/** The last `days` days up to today, as the API's date range (at most 366 days). */
export function lastDays(days: number): { startDate: string; endDate: string } {
  const start = new Date();
  start.setDate(start.getDate() - (days - 1));
  return { startDate: isoDay(start), endDate: today() };
}

/** Decimals of `currency` (2 for EUR, 0 for JPY), as Intl knows them. */
function decimalsOf(currency: string): number {
  return (
    new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2
  );
}

/** An amount as the user would type it back (`-12.34`): the minor units as a plain decimal. */
export function plainAmount(money: { amountMinor: bigint; currency: string } | undefined): string {
  if (!money || !money.currency) return "";
  const digits = decimalsOf(money.currency);
  const negative = money.amountMinor < 0n;
  const units = (negative ? -money.amountMinor : money.amountMinor)
    .toString()
    .padStart(digits + 1, "0");
  const decimal = digits > 0 ? `${units.slice(0, -digits)}.${units.slice(-digits)}` : units;
  return `${negative ? "-" : ""}${decimal}`;
}

/**
 * An amount in minor units (int64, never a float) in its ISO-4217 currency, for the browser's
 * locale: the minor units are written as an exact decimal string and Intl places the
 * separators and the symbol.
 */
export function formatMoney(money: { amountMinor: bigint; currency: string } | undefined): string {
  if (!money || !money.currency) return "—";
  const format = new Intl.NumberFormat(undefined, { style: "currency", currency: money.currency });
  // Intl formats a decimal string exactly (ES2023); the ES2022 typings accept numbers only.
  return format.format(plainAmount(money) as unknown as number);
}

/**
 * What the user typed as an amount of `currency` (`12.5`, `12,50`, `1 200`), in minor units;
 * `null` if it is not a positive amount with at most the currency's decimals.
 */
export function parseMoney(text: string, currency: string): bigint | null {
  const digits = decimalsOf(currency);
  const match = /^(\d+)(?:[.,](\d*))?$/.exec(text.replace(/[\s\u00a0']/g, ""));
  if (!match) return null;
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return null;
  const minor = BigInt(`${match[1]}${fraction.padEnd(digits, "0")}`);
  return minor > 0n ? minor : null;
}

/** The parts of `instant` on the wall clock of IANA zone `zone`. */
function wallClock(instant: Date, zone: string): Record<string, number> {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(instant);
  const wall: Record<string, number> = {};
  for (const part of parts) if (part.type !== "literal") wall[part.type] = Number(part.value);
  return wall;
}

/** How far `zone`'s wall clock is ahead of UTC at `instant`, in milliseconds. */
function zoneOffsetMs(instant: Date, zone: string): number {
  const wall = wallClock(instant, zone);
  const asUtc = Date.UTC(
    wall.year ?? 1970,
    (wall.month ?? 1) - 1,
    wall.day ?? 1,
    wall.hour ?? 0,
    wall.minute ?? 0,
    wall.second ?? 0,
  );
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * The instant a `datetime-local` value (`YYYY-MM-DDTHH:MM`) names on the wall clock of IANA
 * zone `zone`, or null if it is not a time. A time skipped by a change to summer time is
 * taken an hour later, as calendars do.
 */
export function zonedInstant(local: string, zone: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!match) return null;
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  const first = asUtc - zoneOffsetMs(new Date(asUtc), zone);
  const second = asUtc - zoneOffsetMs(new Date(first), zone);
  return new Date(Math.max(first, second));
}

/** `instant` as a `datetime-local` value on the wall clock of IANA zone `zone`. */
export function zonedLocal(instant: Date, zone: string): string {
  const wall = wallClock(instant, zone);
  const two = (value: number | undefined) => String(value ?? 0).padStart(2, "0");
  return `${wall.year}-${two(wall.month)}-${two(wall.day)}T${two(wall.hour)}:${two(wall.minute)}`;
}

/** An event's start and end in its own zone, e.g. "28 Mar 2026, 10:00 – 11:00 (Europe/Berlin)". */
export function formatEventTime(
  starts: Timestamp | undefined,
  ends: Timestamp | undefined,
  zone: string,
): string {
  if (!starts || !ends) return "—";
  const format = new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: zone,
  });
  return `${format.formatRange(timestampDate(starts), timestampDate(ends))} (${zone})`;
}
