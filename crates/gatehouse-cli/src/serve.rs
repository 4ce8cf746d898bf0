//! `gatehouse serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use gatehouse_server::serve::{ROOT_CREDENTIALS, ServeOptions, shutdown_signal, start};

use crate::Status;

#[derive(Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8470")]
    listen: SocketAddr,
    /// The data directory (the SQLite database, the secret key, the root credentials).
    #[arg(long, value_name = "DIR", default_value = "gatehouse-data")]
    data_dir: PathBuf,
    /// A database other than the data directory's SQLite file (`postgres://...`).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// How log events are written to standard error: `text` or `json` (one object per
    /// line). Which are written is set by `GATEHOUSE_LOG` (`info` by default; `warn` leaves
    /// out one event per request).
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// Do not record decisions as activity (last-accessed details and `policy generate` then
    /// have nothing to work from).
    #[arg(long)]
    no_activity: bool,
    /// How many days recorded activity is kept after it was last seen.
    #[arg(long, value_name = "DAYS", default_value_t = 400, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    activity_retention_days: i64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Structured logs (tracing) on standard error.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A subscriber may already be set (never, from the command line); logs then go there.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub fn run(args: &ServeArgs) -> Status {
    init_logs(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return Status::Error;
        }
    };
    runtime.block_on(async {
        let options = ServeOptions {
            listen: args.listen,
            data_dir: args.data_dir.clone(),
            database: args.database.clone(),
            record_activity: !args.no_activity,
            activity_retention_days: Some(args.activity_retention_days),
        };
        let running = match start(&options, shutdown_signal()).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {}", e.message);
                return Status::Error;
            }
        };
        let creds = args.data_dir.join(ROOT_CREDENTIALS);
        tracing::info!(
            listen = %running.addr,
            account = %running.root.account_id,
            data_dir = %args.data_dir.display(),
            database = if args.database.is_some() { "postgres" } else { "sqlite" },
            "serving"
        );
        if running.first_start {
            eprintln!(
                "created account {} and its root credentials in {}",
                running.root.account_id,
                creds.display()
            );
        }
        eprintln!(
            "gatehouse: serving IAM and STS on http://{} (account {}, root credentials in {})",
            running.addr,
            running.root.account_id,
            creds.display()
        );
        match running.task.await {
            Ok(Ok(())) => {
                tracing::info!("stopped");
                eprintln!("gatehouse: stopped");
                Status::Ok
            }
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                Status::Error
            }
            Err(e) => {
                eprintln!("error: {e}");
                Status::Error
            }
        }
    })
}
