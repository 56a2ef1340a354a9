import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { TransactionKind } from "../gen/campus/finance/v1/finance_pb";
import { parseImport } from "./csv";

const HEADER =
  "idempotency_key,account_id,category_id,kind,amount_minor,currency,description,occurred_at";

describe("parseImport", () => {
  it("reads rows with their file line numbers, quoted fields included", () => {
    const rows = parseImport(
      `${HEADER}\nk1,a1,c1,expense,1234,EUR,"Lunch, with ""friends""",2026-11-02T12:00:00Z\n` +
        `k2,a1,c2,Income,500,EUR,Pay,\n`,
    );
    expect(rows.map((row) => row.lineNumber)).toEqual([2n, 3n]);
    expect(rows[0]?.description).toBe('Lunch, with "friends"');
    expect(rows[0]?.kind).toBe(TransactionKind.EXPENSE);
    expect(rows[0]?.amount?.amountMinor).toBe(1234n);
    expect(rows[0]?.occurredAt).toEqual(timestampFromMs(Date.parse("2026-11-02T12:00:00Z")));
    expect(rows[1]?.kind).toBe(TransactionKind.INCOME);
    expect(rows[1]?.occurredAt).toBeUndefined();
  });

  it("leaves values that do not parse for the server to reject by line", () => {
    const [row] = parseImport(`${HEADER}\nk1,a1,c1,gift,12.50,EUR,x,yesterday\n`);
    expect(row?.kind).toBe(TransactionKind.UNSPECIFIED);
    expect(row?.amount?.amountMinor).toBe(0n);
    expect(row?.occurredAt).toBeUndefined();
  });
});
