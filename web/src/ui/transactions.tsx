// A user's transactions: filtered by account, category and dates, a page at a time; adding
// one (or a transfer) with an idempotency key made here and kept until it is booked, so a
// double click or a retried request books it once; editing and deleting one at the version
// shown.

import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { api, requestId } from "../api/client";
import { TransactionKind } from "../gen/campus/finance/v1/finance_pb";
import {
  FieldProblem,
  Page,
  Pager,
  ProblemBanner,
  useAction,
  useLoad,
  usePages,
  TableHead,
} from "./common";
import { formatMoney, formatTime, lastDays, parseMoney, plainAmount, today } from "./format";
import { useAccounts, useCategories } from "./ledger";

/** Transactions a page shows. */
const PAGE_SIZE = 20;

export function Transactions() {
  const accounts = useAccounts();
  const categories = useCategories();
  const [filter, setFilter] = useState({ accountId: "", categoryId: "", ...lastDays(365) });
  const pages = usePages();
  const list = useLoad(
    () =>
      api.finance.listTransactions({
        accountId: filter.accountId,
        categoryId: filter.categoryId,
        dateRange: { startDate: filter.startDate, endDate: filter.endDate },
        pageSize: PAGE_SIZE,
        pageToken: pages.token,
      }),
    `${JSON.stringify(filter)}|${pages.token}`,
  );
  const refilter = (change: Partial<typeof filter>) => {
    setFilter({ ...filter, ...change });
    pages.reset();
  };

  const add = useAction();
  const change = useAction();
  const transfer = useAction();
  const [editing, setEditing] = useState<{
    id: string;
    version: bigint;
    currency: string;
    amount: string;
    description: string;
  } | null>(null);
  const [transferKey, setTransferKey] = useState(requestId);
  const [fromId, setFromId] = useState("");
  const [toId, setToId] = useState("");
  const [transferAmount, setTransferAmount] = useState("");
  const [accountId, setAccountId] = useState("");
  const [categoryId, setCategoryId] = useState("");
  const [amount, setAmount] = useState("");
  const [description, setDescription] = useState("");
  const [date, setDate] = useState(today());
  const [key, setKey] = useState(requestId);
  const [amountProblem, setAmountProblem] = useState("");

  const account = accounts.data?.find((a) => a.id === (accountId || accounts.data?.[0]?.id));
  const category = categories.data?.find((c) => c.id === (categoryId || categories.data?.[0]?.id));
  const names = new Map([
    ...(accounts.data ?? []).map((a) => [a.id, a.name] as const),
    ...(categories.data ?? []).map((c) => [c.id, c.name] as const),
  ]);

  const addTransaction = (event: Event) => {
    event.preventDefault();
    if (!account || !category || add.busy) return;
    const minor = parseMoney(amount, account.currency);
    setAmountProblem(minor === null ? `Enter a positive amount in ${account.currency}.` : "");
    if (minor === null) return;
    void add
      .run(async () => {
        await api.finance.createTransaction({
          idempotencyKey: key,
          accountId: account.id,
          categoryId: category.id,
          kind: category.kind,
          amount: { amountMinor: minor, currency: account.currency },
          description,
          occurredAt: timestampFromMs(new Date(`${date}T12:00:00`).getTime()),
        });
      })
      .then((booked) => {
        if (!booked) return;
        setAmount("");
        setDescription("");
        setKey(requestId());
        list.reload();
      });
  };

  const saveEdit = () => {
    if (!editing) return;
    const minor = parseMoney(editing.amount, editing.currency);
    if (minor === null) return;
    void change
      .run(async () => {
        await api.finance.updateTransaction({
          transactionId: editing.id,
          version: editing.version,
          amount: { amountMinor: minor, currency: editing.currency },
          description: editing.description,
        });
      })
      .then((saved) => {
        if (!saved) return;
        setEditing(null);
        list.reload();
      });
  };

  const from = accounts.data?.find((a) => a.id === (fromId || accounts.data?.[0]?.id));
  const to = accounts.data?.find((a) => a.id === (toId || accounts.data?.[1]?.id));
  const addTransfer = (event: Event) => {
    event.preventDefault();
    if (!from || !to || transfer.busy) return;
    const minor = parseMoney(transferAmount, from.currency);
    if (minor === null) return;
    void transfer
      .run(async () => {
        await api.finance.createTransfer({
          idempotencyKey: transferKey,
          fromAccountId: from.id,
          toAccountId: to.id,
          amount: { amountMinor: minor, currency: from.currency },
          description: `Transfer to ${to.name}`,
        });
      })
      .then((booked) => {
        if (!booked) return;
        setTransferAmount("");
        setTransferKey(requestId());
      });
  };

  const next = list.data?.nextPageToken ?? "";
  return (
    <Page title="Transactions">
      <ProblemBanner problem={accounts.problem ?? categories.problem ?? list.problem} />
      <form class="panel inline" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Account
          <select
            value={filter.accountId}
            onChange={(e) => refilter({ accountId: e.currentTarget.value })}
          >
            <option value="">All accounts</option>
            {accounts.data?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Category
          <select
            value={filter.categoryId}
            onChange={(e) => refilter({ categoryId: e.currentTarget.value })}
          >
            <option value="">All categories</option>
            {categories.data?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input
            type="date"
            value={filter.startDate}
            onChange={(e) => refilter({ startDate: e.currentTarget.value })}
          />
        </label>
        <label>
          To
          <input
            type="date"
            value={filter.endDate}
            onChange={(e) => refilter({ endDate: e.currentTarget.value })}
          />
        </label>
      </form>
      <ProblemBanner problem={change.problem} />
      <table aria-label="Transactions">
        <TableHead columns={["When", "Account", "Category", "Description", "Amount", ""]} />
        <tbody>
          {list.data?.transactions.map((t) => (
            <tr key={t.id}>
              <td>{formatTime(t.occurredAt)}</td>
              <td>{names.get(t.accountId) ?? t.accountId}</td>
              <td>{names.get(t.categoryId) ?? t.categoryId}</td>
              {editing?.id === t.id ? (
                <>
                  <td>
                    <input
                      aria-label="New description"
                      value={editing.description}
                      onInput={(e) =>
                        setEditing({ ...editing, description: e.currentTarget.value })
                      }
                    />
                  </td>
                  <td>
                    <input
                      aria-label="New amount"
                      inputMode="decimal"
                      value={editing.amount}
                      onInput={(e) => setEditing({ ...editing, amount: e.currentTarget.value })}
                    />
                  </td>
                  <td>
                    <button type="button" disabled={change.busy} onClick={saveEdit}>
                      Save
                    </button>
                    <button type="button" onClick={() => setEditing(null)}>
                      Cancel
                    </button>
                  </td>
                </>
              ) : (
                <>
                  <td>{t.description}</td>
                  <td data-minor={String(t.amount?.amountMinor ?? 0n)}>
                    {t.kind === TransactionKind.EXPENSE ? "−" : "+"}
                    {formatMoney(t.amount)}
                  </td>
                  <td>
                    <button
                      type="button"
                      onClick={() =>
                        setEditing({
                          id: t.id,
                          version: t.version,
                          currency: t.amount?.currency ?? "",
                          amount: plainAmount(t.amount),
                          description: t.description,
                        })
                      }
                    >
                      Edit <span class="sr-only">{t.description}</span>
                    </button>
                    <button
                      type="button"
                      disabled={change.busy}
                      onClick={() =>
                        void change
                          .run(async () => {
                            await api.finance.deleteTransaction({
                              transactionId: t.id,
                              version: t.version,
                            });
                          })
                          .then(() => list.reload())
                      }
                    >
                      Delete <span class="sr-only">{t.description}</span>
                    </button>
                  </td>
                </>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pages={pages} next={next} />
      <form class="panel" onSubmit={addTransaction} aria-labelledby="new-transaction">
        <h2 id="new-transaction">New transaction</h2>
        <label>
          Account
          <select value={account?.id ?? ""} onChange={(e) => setAccountId(e.currentTarget.value)}>
            {accounts.data?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.currency})
              </option>
            ))}
          </select>
        </label>
        <label>
          Category
          <select value={category?.id ?? ""} onChange={(e) => setCategoryId(e.currentTarget.value)}>
            {categories.data?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.kind === TransactionKind.INCOME ? "income" : "expense"})
              </option>
            ))}
          </select>
        </label>
        <label>
          Amount
          <input
            inputMode="decimal"
            value={amount}
            onInput={(e) => setAmount(e.currentTarget.value)}
            required
          />
          {amountProblem && <span class="field-problem">{amountProblem}</span>}
          <FieldProblem problem={add.problem} field="amount" />
        </label>
        <label>
          Description
          <input value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <label>
          Date
          <input type="date" value={date} onChange={(e) => setDate(e.currentTarget.value)} />
        </label>
        <ProblemBanner problem={add.problem} />
        <button type="submit" disabled={add.busy}>
          Add transaction
        </button>
      </form>
      {(accounts.data?.length ?? 0) > 1 && (
        <form class="panel" onSubmit={addTransfer} aria-labelledby="new-transfer">
          <h2 id="new-transfer">Transfer between accounts</h2>
          <label>
            From
            <select value={from?.id ?? ""} onChange={(e) => setFromId(e.currentTarget.value)}>
              {accounts.data?.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name} ({a.currency})
                </option>
              ))}
            </select>
          </label>
          <label>
            To
            <select value={to?.id ?? ""} onChange={(e) => setToId(e.currentTarget.value)}>
              {accounts.data?.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name} ({a.currency})
                </option>
              ))}
            </select>
          </label>
          <label>
            Amount to move
            <input
              inputMode="decimal"
              value={transferAmount}
              onInput={(e) => setTransferAmount(e.currentTarget.value)}
              required
            />
            <FieldProblem problem={transfer.problem} field="amount" />
          </label>
          <ProblemBanner problem={transfer.problem} />
          <button type="submit" disabled={transfer.busy}>
            Transfer
          </button>
        </form>
      )}
    </Page>
  );
}
