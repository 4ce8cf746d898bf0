//! Opening a data directory's store for one command, on a runtime of its own.

use std::path::Path;

use gatehouse_store::Store;

/// Opens the store of `data_dir` (or `database`), says on standard error when the provider
/// catalog was loaded into it, and runs `f` with it. An error is a message for the user.
pub fn with_store<T>(
    data_dir: &Path,
    database: Option<&str>,
    f: impl AsyncFnOnce(Store) -> T,
) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let (store, loaded) = Store::open_data_dir(data_dir, database)
            .await
            .map_err(|e| e.message)?;
        if let Some(summary) = loaded {
            eprintln!(
                "loaded the provider catalog: {} policies, {} versions",
                summary.policies, summary.versions
            );
        }
        Ok(f(store).await)
    })
}

/// Operations on a data directory's store.
#[derive(clap::Subcommand, Debug)]
pub enum StoreCommand {
    /// Check the store's invariants: no attachment to a missing policy or identity, a default
    /// version for every policy, at most 5 versions per policy, at most 2 access keys per
    /// user, and the rest `Store::check_invariants` knows.
    ///
    /// Prints each violation; exits 0 when there is none, 1 when there are some, 2 when the
    /// store cannot be opened.
    Check(CheckArgs),
}

/// `gatehouse store check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The data directory (its database and secret key).
    #[arg(long, value_name = "DIR", default_value = "gatehouse-data")]
    data_dir: std::path::PathBuf,
    /// A database other than the data directory's SQLite file (`postgres://...`).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

/// Runs a `gatehouse store` command.
pub fn run(command: StoreCommand) -> crate::Status {
    match command {
        StoreCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> crate::Status {
    let checked = with_store(&args.data_dir, args.database.as_deref(), async |store| {
        store.check_invariants().await
    });
    match checked {
        Ok(Ok(violations)) if violations.is_empty() => {
            println!("ok: every invariant holds");
            crate::Status::Ok
        }
        Ok(Ok(violations)) => {
            for v in &violations {
                println!("violation: {v}");
            }
            println!("{} violations", violations.len());
            crate::Status::Findings
        }
        Ok(Err(e)) => {
            eprintln!("error: {}", e.message);
            crate::Status::Error
        }
        Err(e) => {
            eprintln!("error: {e}");
            crate::Status::Error
        }
    }
}
