//! The rules of money: exact amounts in minor units with an ISO-4217 currency, names, kinds,
//! the default categories, and calendar days and months in UTC.

use campus_proto::finance::{AccountKind, DateRange, Money, TransactionKind};
use campus_runtime::api::{day_start_micros, parse_date, utc_date};

use crate::error::FinanceError;

/// Longest analytics range.
pub(crate) const MAX_RANGE_DAYS: i64 = 5 * 366;
/// Longest description.
pub(crate) const MAX_DESCRIPTION: usize = 500;

/// The categories every user starts with: (name, kind).
pub(crate) const DEFAULT_CATEGORIES: &[(&str, TransactionKind)] = &[
    ("Salary", TransactionKind::Income),
    ("Gifts", TransactionKind::Income),
    ("Other income", TransactionKind::Income),
    ("Food", TransactionKind::Expense),
    ("Transport", TransactionKind::Expense),
    ("Housing", TransactionKind::Expense),
    ("Education", TransactionKind::Expense),
    ("Health", TransactionKind::Expense),
    ("Entertainment", TransactionKind::Expense),
    ("Other expenses", TransactionKind::Expense),
];

/// An ISO-4217 code: three upper-case letters.
pub(crate) fn check_currency(value: &str) -> Result<String, String> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(value.to_owned())
    } else {
        Err("must be an ISO-4217 code such as EUR".into())
    }
}

/// A positive amount with a valid currency.
pub(crate) fn check_money(money: Option<&Money>) -> Result<(i64, String), String> {
    let money = money.ok_or("is required")?;
    if money.amount_minor <= 0 {
        return Err("amount_minor must be positive".into());
    }
    Ok((money.amount_minor, check_currency(&money.currency)?))
}

/// A name: trimmed, 1 to 100 characters.
pub(crate) fn check_name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > 100 {
        return Err("must be at most 100 characters".into());
    }
    Ok(value.to_owned())
}

/// A description of at most 500 characters.
pub(crate) fn check_description(value: &str) -> Result<String, String> {
    if value.chars().count() > MAX_DESCRIPTION {
        return Err(format!("must be at most {MAX_DESCRIPTION} characters"));
    }
    Ok(value.to_owned())
}

/// An income or expense kind from a request.
pub(crate) fn check_kind(value: i32) -> Result<TransactionKind, String> {
    match TransactionKind::try_from(value) {
        Ok(TransactionKind::Unspecified) | Err(_) => Err("must be INCOME or EXPENSE".into()),
        Ok(kind) => Ok(kind),
    }
}

/// An account kind from a request.
pub(crate) fn check_account_kind(value: i32) -> Result<AccountKind, String> {
    match AccountKind::try_from(value) {
        Ok(AccountKind::Unspecified) | Err(_) => Err("must be CASH, BANK, CARD or SAVINGS".into()),
        Ok(kind) => Ok(kind),
    }
}

/// The signed effect of a transaction on its account's balance.
pub(crate) fn signed(kind: i64, amount: i64) -> i64 {
    if kind == TransactionKind::Expense as i64 {
        -amount
    } else {
        amount
    }
}

/// The UTC day and month of a time: (`YYYY-MM-DD`, `YYYY-MM`).
pub(crate) fn day_and_month(micros: i64) -> (String, String) {
    let date = utc_date(micros);
    let month = date[..7].to_owned();
    (date, month)
}

/// A date range as `[from, to]` dates and `[start, end)` microseconds, at most `max_days`.
pub(crate) fn check_range(
    field: &'static str,
    range: Option<&DateRange>,
    max_days: i64,
) -> Result<DateBounds, FinanceError> {
    let range = range.ok_or_else(|| FinanceError::invalid(field, "is required"))?;
    let start = parse_date(&range.start_date)
        .ok_or_else(|| FinanceError::invalid(field, "start_date must be a date YYYY-MM-DD"))?;
    let end = parse_date(&range.end_date)
        .ok_or_else(|| FinanceError::invalid(field, "end_date must be a date YYYY-MM-DD"))?;
    if end < start {
        return Err(FinanceError::invalid(
            field,
            "end_date is before start_date",
        ));
    }
    if end - start > max_days {
        return Err(FinanceError::invalid(
            field,
            format!("covers more than {max_days} days"),
        ));
    }
    Ok(DateBounds {
        from: range.start_date.clone(),
        to: range.end_date.clone(),
        start_micros: day_start_micros(start),
        end_micros: day_start_micros(end + 1),
    })
}

/// A checked date range.
#[derive(Debug, Clone)]
pub(crate) struct DateBounds {
    /// First day, `YYYY-MM-DD`.
    pub(crate) from: String,
    /// Last day (included), `YYYY-MM-DD`.
    pub(crate) to: String,
    /// 00:00 UTC of the first day, in microseconds.
    pub(crate) start_micros: i64,
    /// 00:00 UTC of the day after the last, in microseconds (exclusive).
    pub(crate) end_micros: i64,
}

/// `balance + delta` stays within int64: the allowed balance range before adding `delta`.
pub(crate) fn balance_bounds(delta: i64) -> (i64, i64) {
    let low = if delta < 0 {
        i64::MIN - delta
    } else {
        i64::MIN
    };
    let high = if delta > 0 {
        i64::MAX - delta
    } else {
        i64::MAX
    };
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::{balance_bounds, check_currency, day_and_month, signed};

    #[test]
    fn money_rules() {
        assert!(check_currency("EUR").is_ok());
        assert!(check_currency("eur").is_err());
        assert!(check_currency("EURO").is_err());
        assert_eq!(signed(2, 500), -500);
        assert_eq!(signed(1, 500), 500);
        assert_eq!(balance_bounds(10), (i64::MIN, i64::MAX - 10));
        assert_eq!(balance_bounds(-10), (i64::MIN + 10, i64::MAX));
        assert_eq!(
            day_and_month(0),
            ("1970-01-01".to_owned(), "1970-01".to_owned())
        );
    }
}
