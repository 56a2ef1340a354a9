// Transactions from a CSV file, read as `campus finance import` reads them, for the
// dashboard's import page.

import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import Papa from "papaparse";
import {
  type ImportTransactionRowSchema,
  TransactionKind,
} from "../gen/campus/finance/v1/finance_pb";

/** The CSV's columns, in order (the first line of the file names them). */
export const COLUMNS = [
  "idempotency_key",
  "account_id",
  "category_id",
  "kind",
  "amount_minor",
  "currency",
  "description",
  "occurred_at",
];

export type RowInit = MessageInitShape<typeof ImportTransactionRowSchema>;

/**
 * The rows of a CSV file, read as `campus finance import` reads them: line 1 is the header,
 * a value that does not parse is left for the server to reject with its line number.
 */
export function parseImport(text: string): RowInit[] {
  const records = Papa.parse<string[]>(text.trim(), { skipEmptyLines: true }).data;
  return records.slice(1).map((record, index) => {
    const field = (n: number) => (record[n] ?? "").trim();
    const kind =
      field(3).toLowerCase() === "income"
        ? TransactionKind.INCOME
        : field(3).toLowerCase() === "expense"
          ? TransactionKind.EXPENSE
          : TransactionKind.UNSPECIFIED;
    const occurred = Date.parse(field(7));
    return {
      lineNumber: BigInt(index + 2),
      idempotencyKey: field(0),
      accountId: field(1),
      categoryId: field(2),
      kind,
      amount: {
        amountMinor: /^-?\d+$/.test(field(4)) ? BigInt(field(4)) : 0n,
        currency: field(5),
      },
      description: field(6),
      occurredAt: Number.isNaN(occurred) ? undefined : timestampFromMs(occurred),
    } satisfies RowInit;
  });
}
