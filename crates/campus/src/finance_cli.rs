//! `campus finance …`: operator commands of the finance service.

use anyhow::Context as _;
use campus_store::{Database, DatabaseConfig};

use crate::Role;

/// `campus finance` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum FinanceCommand {
    /// Import transactions from a CSV file through ImportTransactions, with a progress bar.
    /// Columns (with a header row): idempotency_key, account_id, category_id, kind
    /// (income|expense), amount_minor, currency, description, occurred_at (RFC 3339, may be
    /// empty). Each row is idempotent by its key, so importing a file twice adds nothing.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        #[command(flatten)]
        #[allow(missing_docs)]
        remote: crate::remote::Remote,
    },
    /// Check every account's stored balance against its ledger entries, and every transfer's
    /// two legs against zero. Prints each difference; exits non-zero if there is any.
    Reconcile,
}

/// Everything `campus finance` is configured with.
#[derive(Debug, Clone, clap::Args)]
pub struct FinanceSettings {
    #[command(subcommand)]
    #[allow(missing_docs)]
    pub command: FinanceCommand,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: DatabaseConfig,
}

/// Runs a `campus finance` command; `Ok(false)` means it found differences.
pub async fn run(settings: &FinanceSettings) -> anyhow::Result<bool> {
    if let FinanceCommand::Import { file, remote } = &settings.command {
        let report = import(file, remote).await?;
        println!(
            "accepted {}, already imported {}, rejected {}",
            report.accepted_count,
            report.duplicate_count,
            report.rejected_rows.len()
        );
        for row in &report.rejected_rows {
            println!("line {}: {}: {}", row.line_number, row.field, row.reason);
        }
        return Ok(true);
    }
    let database = Database::connect_lazy(&settings.database)?;
    database
        .ping()
        .await
        .with_context(|| format!("connecting to {:?}", settings.database.url))?;
    // Reconciling only reads: a schema that is behind is reported, never migrated here.
    let pending = database
        .pending_migrations(&Role::Finance.migrations())
        .await?;
    if !pending.is_empty() {
        database.close().await;
        anyhow::bail!(
            "the finance schema is behind: {} migration(s) not applied ({}); run `campus migrate` \
             first (reconcile reads only and changes nothing)",
            pending.len(),
            pending.join(", ")
        );
    }
    let clean = match settings.command {
        FinanceCommand::Import { .. } => true,
        FinanceCommand::Reconcile => {
            let found = campus_finance::reconcile(&database)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            for mismatch in &found.balances {
                println!(
                    "account {}: stored balance {} but opening balance + entries = {}",
                    mismatch.account_id, mismatch.stored, mismatch.computed
                );
            }
            for transfer in &found.transfers {
                println!(
                    "transfer {}: {} legs summing to {}",
                    transfer.transfer_id, transfer.legs, transfer.legs_sum
                );
            }
            if found.is_clean() {
                println!(
                    "reconciled: every balance equals its entries and every transfer nets to zero"
                );
            }
            found.is_clean()
        }
    };
    database.close().await;
    Ok(clean)
}

/// Rows sent per ImportTransactions message.
const CHUNK: usize = 1000;

/// The rows of a transactions CSV (a header line, then `idempotency_key, account_id,
/// category_id, kind, amount_minor, currency, description, occurred_at`), numbered by their
/// line. A row that does not parse is kept with empty fields, so the server rejects it with
/// its line number like any other invalid row; nothing here fails or panics on any input.
pub fn parse_rows(csv: impl std::io::Read) -> Vec<campus_proto::finance::ImportTransactionRow> {
    use campus_proto::finance::{ImportTransactionRow, Money, TransactionKind};

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(csv);
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        // Line 1 is the header.
        let line_number = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(2);
        let record = record.unwrap_or_default();
        let field = |n: usize| record.get(n).unwrap_or_default().trim().to_owned();
        let kind = match field(3).to_lowercase().as_str() {
            "income" => TransactionKind::Income,
            "expense" => TransactionKind::Expense,
            _ => TransactionKind::Unspecified,
        };
        let occurred_at = humantime::parse_rfc3339(&field(7))
            .ok()
            .map(campus_runtime::api::Timestamp::from);
        rows.push(ImportTransactionRow {
            line_number,
            idempotency_key: field(0),
            account_id: field(1),
            category_id: field(2),
            kind: kind as i32,
            amount: Some(Money {
                amount_minor: field(4).parse().unwrap_or(0),
                currency: field(5),
            }),
            description: field(6),
            occurred_at,
        });
    }
    rows
}

/// Streams the rows of a CSV file to ImportTransactions and returns the server's report.
pub async fn import(
    file: &std::path::Path,
    remote: &crate::remote::Remote,
) -> anyhow::Result<campus_proto::finance::ImportTransactionsResponse> {
    use campus_proto::finance::{
        ImportTransactionsRequest, finance_service_client::FinanceServiceClient,
    };

    let csv = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let rows = parse_rows(std::io::BufReader::new(csv));
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("importing [{bar:40}] {pos}/{len} rows")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let chunks: Vec<ImportTransactionsRequest> = rows
        .chunks(CHUNK)
        .map(|chunk| ImportTransactionsRequest {
            rows: chunk.to_vec(),
        })
        .collect();
    let ticker = bar.clone();
    let stream = tokio_stream::StreamExt::map(tokio_stream::iter(chunks), move |chunk| {
        ticker.inc(chunk.rows.len() as u64);
        chunk
    });
    let mut client = FinanceServiceClient::new(remote.channel().await?);
    let report = client
        .import_transactions(stream)
        .await
        .map_err(|status| anyhow::anyhow!("import refused: {}", status.message()))?
        .into_inner();
    bar.finish_and_clear();
    Ok(report)
}
