// The user's own accounts and categories, which every finance page names and offers.

import { api } from "../api/client";
import type { Account, Category } from "../gen/campus/finance/v1/finance_pb";
import { type Loaded, useLoad } from "./common";

/** The user's open accounts. */
export function useAccounts(): Loaded<Account[]> {
  return useLoad(
    () => api.finance.listAccounts({ pageSize: 100 }).then((page) => page.accounts),
    "accounts",
  );
}

/** The user's categories, income and expense. */
export function useCategories(): Loaded<Category[]> {
  return useLoad(
    () => api.finance.listCategories({ pageSize: 200 }).then((page) => page.categories),
    "categories",
  );
}
