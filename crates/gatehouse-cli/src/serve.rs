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
}

pub fn run(args: &ServeArgs) -> Status {
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
        };
        let running = match start(&options, shutdown_signal()).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {}", e.message);
                return Status::Error;
            }
        };
        let creds = args.data_dir.join(ROOT_CREDENTIALS);
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
