// A user's own money: balances per account and per currency, this month's budgets against
// spending, and the last twelve months' analytics (income against expense per month,
// spending by category, balance over time),
// kept current by WatchAnalytics: a transaction booked anywhere redraws them.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import { follow, type LiveState } from "../api/live";
import {
  type AnalyticsReport,
  BalanceInterval,
  TransactionKind,
} from "../gen/campus/finance/v1/finance_pb";
import { PointsChart, SeriesChart } from "./chart";
import { LiveBadge, Page, ProblemBanner, useLoad, TableHead } from "./common";
import { formatMoney, lastDays } from "./format";
import { useAccounts } from "./ledger";

/** Chart values are minor units; their labels are money again. */
function chartMoney(currency: string) {
  return (value: number) => formatMoney({ amountMinor: BigInt(Math.round(value)), currency });
}

/** The report of the last twelve months, redrawn after each of the user's writes. */
function useLiveReport(): {
  report: AnalyticsReport | undefined;
  state: LiveState;
  changes: number;
} {
  const [report, setReport] = useState<AnalyticsReport | undefined>(undefined);
  const [state, setState] = useState<LiveState>("connecting");
  const [changes, setChanges] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    const query = { dateRange: lastDays(365), balanceInterval: BalanceInterval.MONTH };
    void follow(
      {
        // Every (re)connection starts with a whole report: nothing to resume from.
        open: (_token, signal, onOpen) =>
          (async function* () {
            const stream = api.finance.watchAnalytics(
              { query },
              { signal, onHeader: onOpen, timeoutMs: 0 },
            );
            for await (const message of stream) yield { resumeToken: "", message };
          })(),
        onMessage: ({ message }) => {
          setReport(message.report);
          setChanges((n) => n + 1);
        },
        onState: (next) => setState(next),
      },
      controller.signal,
    );
    return () => controller.abort();
  }, []);
  return { report, state, changes };
}

export function Money() {
  const { report, state, changes } = useLiveReport();
  const accounts = useAccounts();
  const balances = useLoad(() => api.finance.getBalance({}), "balances");
  // Each new report follows a write: the balances moved with it.
  useEffect(() => {
    if (changes > 1) balances.reload();
  }, [changes]);

  const names = new Map(accounts.data?.map((account) => [account.id, account.name]));
  const currency = balances.data?.totals[0]?.currency ?? "EUR";
  const inCurrency = <T extends { currency: string }>(money: T | undefined) =>
    money?.currency === currency;
  const spending = (report?.topCategories ?? []).filter(
    (total) => total.kind === TransactionKind.EXPENSE && inCurrency(total.total),
  );
  const history = (report?.balanceHistory ?? []).filter((point) => inCurrency(point.balance));
  const flow = (report?.cashFlow ?? []).filter((month) => inCurrency(month.net));
  const thisMonth = new Date().toLocaleDateString("sv-SE").slice(0, 7);
  const budgets = (report?.budgets ?? []).filter((status) => status.month === thisMonth);
  return (
    <Page title="My money" aside={<LiveBadge state={state} />}>
      <ProblemBanner problem={accounts.problem ?? balances.problem} />
      <table aria-label="Balances">
        <TableHead columns={["Account", "Balance"]} />
        <tbody>
          {balances.data?.accounts.map((balance) => (
            <tr key={balance.accountId}>
              <td>{names.get(balance.accountId) ?? balance.accountId}</td>
              <td data-minor={String(balance.balance?.amountMinor ?? 0n)}>
                {formatMoney(balance.balance)}
              </td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          {balances.data?.totals.map((total) => (
            <tr key={total.currency}>
              <th scope="row">Total {total.currency}</th>
              <td data-minor={String(total.amountMinor)}>{formatMoney(total)}</td>
            </tr>
          ))}
        </tfoot>
      </table>
      {flow.length > 0 && (
        <SeriesChart
          kind="bar"
          title={`Income and expense per month (${currency})`}
          labels={flow.map((month) => month.month)}
          series={[
            {
              name: "Income",
              values: flow.map((month) => Number(month.income?.amountMinor ?? 0n)),
            },
            {
              name: "Expense",
              values: flow.map((month) => Number(month.expense?.amountMinor ?? 0n)),
            },
          ]}
          format={chartMoney(currency)}
        />
      )}
      {budgets.length > 0 && (
        <table aria-label="Budgets this month">
          <TableHead columns={["Category", "Limit", "Spent", "Left"]} />
          <tbody>
            {budgets.map((status) => (
              <tr key={status.budget?.id} data-over={status.overLimit}>
                <th scope="row">{status.categoryName}</th>
                <td>{formatMoney(status.budget?.monthlyLimit)}</td>
                <td data-minor={String(status.spent?.amountMinor ?? 0n)}>
                  {formatMoney(status.spent)}
                </td>
                <td>{status.overLimit ? "over the limit" : formatMoney(status.remaining)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {spending.length > 0 && (
        <PointsChart
          kind="bar"
          title={`Spending by category (${currency})`}
          points={spending.map((total) => ({
            label: total.categoryName,
            value: Number(total.total?.amountMinor ?? 0n),
          }))}
          format={chartMoney(currency)}
        />
      )}
      {history.length > 0 && (
        <PointsChart
          kind="line"
          title={`Balance over time (${currency})`}
          points={history.map((point) => ({
            label: point.periodStart,
            value: Number(point.balance?.amountMinor ?? 0n),
          }))}
          format={chartMoney(currency)}
        />
      )}
    </Page>
  );
}
