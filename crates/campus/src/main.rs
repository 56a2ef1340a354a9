//! `campus`: the one binary of Campus. See `campus --help`.

use std::process::ExitCode;

use anyhow::Context as _;
use campus::{ServeSettings, migrate::MigrateSettings};
use campus_runtime::{config::TelemetryConfig, shutdown, telemetry::Telemetry};
use clap::Parser as _;
use tokio::net::TcpListener;

/// Campus: gRPC services for schools and learners.
#[derive(Debug, clap::Parser)]
#[command(name = "campus", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve every service (default) or one service.
    Serve {
        #[command(flatten)]
        settings: Box<ServeSettings>,
        #[command(flatten)]
        telemetry: TelemetryConfig,
    },
    /// Operator commands of the users service.
    Users {
        #[command(flatten)]
        settings: Box<campus::users_cli::UsersSettings>,
        #[command(flatten)]
        telemetry: TelemetryConfig,
    },
    /// Operator commands of the finance service.
    Finance {
        #[command(flatten)]
        settings: campus::finance_cli::FinanceSettings,
        #[command(flatten)]
        telemetry: TelemetryConfig,
    },
    /// Client commands of the courses service (uploads).
    Courses {
        #[command(subcommand)]
        command: campus::courses_cli::CoursesCommand,
    },
    /// Copy the embedded SQLite database to a file while it serves (PostgreSQL: pg_dump).
    Backup {
        #[command(flatten)]
        settings: campus::backup_cli::BackupSettings,
    },
    /// Fill a running server with a term of sample data over the API (idempotent).
    Demo {
        #[command(flatten)]
        settings: campus::demo_cli::DemoSettings,
    },
    /// Benchmark a Campus server against a bare tonic baseline, in the same run.
    Bench {
        #[command(flatten)]
        settings: Box<campus::bench_cli::BenchSettings>,
    },
    /// The bare tonic server `campus bench` measures as its baseline.
    #[command(hide = true)]
    BenchBaseline {
        #[command(flatten)]
        settings: campus::bench_cli::BaselineSettings,
    },
    /// Apply every pending database migration, then exit.
    Migrate {
        #[command(flatten)]
        settings: MigrateSettings,
        #[command(flatten)]
        telemetry: TelemetryConfig,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // A bad flag or variable exits here with code 2 and a message naming it.
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("campus: {}", campus::report::one_line(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            settings,
            telemetry,
        } => {
            let service_name = settings.role.service_name();
            let telemetry = Telemetry::init(&telemetry, &service_name)?;
            let listener = TcpListener::bind(settings.server.listen)
                .await
                .with_context(|| format!("CAMPUS_LISTEN: binding {}", settings.server.listen))?;
            let admin_listener = TcpListener::bind(settings.server.admin_listen)
                .await
                .with_context(|| {
                    format!(
                        "CAMPUS_ADMIN_LISTEN: binding {}",
                        settings.server.admin_listen
                    )
                })?;
            let served =
                campus::serve(*settings, listener, admin_listener, shutdown::signal()).await;
            telemetry.shutdown();
            served
        }
        Command::Users {
            settings,
            telemetry,
        } => {
            let telemetry = Telemetry::init(&telemetry, "campus-users-cli")?;
            let done = campus::users_cli::run(&settings).await;
            telemetry.shutdown();
            done
        }
        Command::Finance {
            settings,
            telemetry,
        } => {
            let telemetry = Telemetry::init(&telemetry, "campus-finance-cli")?;
            let clean = campus::finance_cli::run(&settings).await;
            telemetry.shutdown();
            if !clean? {
                anyhow::bail!("the ledger does not reconcile");
            }
            Ok(())
        }
        Command::Courses { command } => campus::courses_cli::run(&command).await,
        Command::Backup { settings } => campus::backup_cli::run(&settings).await,
        Command::Demo { settings } => campus::demo_cli::run(&settings).await,
        Command::Bench { settings } => campus::bench_cli::run(&settings).await,
        Command::BenchBaseline { settings } => campus::bench_cli::serve_baseline(&settings).await,
        Command::Migrate {
            settings,
            telemetry,
        } => {
            let telemetry = Telemetry::init(&telemetry, "campus-migrate")?;
            let migrated = campus::migrate::migrate(&settings).await;
            telemetry.shutdown();
            migrated
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
