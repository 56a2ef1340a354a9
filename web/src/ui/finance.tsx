// Finance, every user's own: importing transactions from a CSV file, in chunks of 1,000 rows
// through BatchImportTransactions (grpc-web cannot stream to the server). The columns are
// those of `campus finance import`; each row is idempotent by its key, so a file sent again,
// or a chunk retried, books nothing twice.

import { useState } from "preact/hooks";
import { api } from "../api/client";
import { COLUMNS, parseImport } from "../api/csv";
import { type RejectedImportRow, TransactionKind } from "../gen/campus/finance/v1/finance_pb";
import { Page, ProblemBanner, ProgressBar, useAction, TableHead } from "./common";
import { useAccounts, useCategories } from "./ledger";

/** Rows a call carries: the server's limit per chunk. */
const CHUNK = 1000;

/** What an import has done so far. */
interface Report {
  sent: number;
  total: number;
  accepted: bigint;
  duplicates: bigint;
  rejected: RejectedImportRow[];
}

export function FinanceImport() {
  const accounts = useAccounts();
  const categories = useCategories();
  const action = useAction();
  const [report, setReport] = useState<Report | null>(null);

  const importFile = (file: File) =>
    void action.run(async () => {
      const rows = parseImport(await file.text());
      let current: Report = {
        sent: 0,
        total: rows.length,
        accepted: 0n,
        duplicates: 0n,
        rejected: [],
      };
      setReport(current);
      for (let start = 0; start < rows.length; start += CHUNK) {
        const chunk = rows.slice(start, start + CHUNK);
        const answer = await api.finance.batchImportTransactions({ rows: chunk });
        current = {
          sent: current.sent + chunk.length,
          total: rows.length,
          accepted: current.accepted + answer.acceptedCount,
          duplicates: current.duplicates + answer.duplicateCount,
          rejected: [...current.rejected, ...answer.rejectedRows],
        };
        setReport(current);
      }
    });

  return (
    <Page title="Import transactions">
      <ProblemBanner problem={accounts.problem ?? categories.problem ?? action.problem} />
      <p>
        A CSV file with the header <code>{COLUMNS.join(",")}</code>: kind is <code>income</code> or{" "}
        <code>expense</code>, the amount in minor units (cents), the time in RFC 3339 (empty for
        now). Rows already imported are skipped, so a file can be sent again.
      </p>
      <label class="file">
        CSV file{" "}
        <input
          type="file"
          accept=".csv,text/csv"
          disabled={action.busy}
          onChange={(event) => {
            const file = event.currentTarget.files?.[0];
            if (file) importFile(file);
            event.currentTarget.value = "";
          }}
        />
      </label>
      {report && (
        <section aria-label="Import report">
          <ProgressBar done={report.sent} total={report.total} label="Rows sent" unit="rows" />
          <p role="status">
            {report.accepted.toString()} imported · {report.duplicates.toString()} already there ·{" "}
            {report.rejected.length} rejected
          </p>
          {report.rejected.length > 0 && (
            <table aria-label="Rejected rows">
              <TableHead columns={["Line", "Field", "Why"]} />
              <tbody>
                {report.rejected.map((row) => (
                  <tr key={row.lineNumber.toString()}>
                    <td>{row.lineNumber.toString()}</td>
                    <td>{row.field}</td>
                    <td>{row.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
      <h2>Your accounts</h2>
      <table aria-label="Accounts">
        <TableHead columns={["Name", "Currency", "account_id"]} />
        <tbody>
          {accounts.data?.map((account) => (
            <tr key={account.id}>
              <td>{account.name}</td>
              <td>{account.currency}</td>
              <td>
                <code>{account.id}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Your categories</h2>
      <table aria-label="Categories">
        <TableHead columns={["Name", "Kind", "category_id"]} />
        <tbody>
          {categories.data?.map((category) => (
            <tr key={category.id}>
              <td>{category.name}</td>
              <td>{category.kind === TransactionKind.INCOME ? "income" : "expense"}</td>
              <td>
                <code>{category.id}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
