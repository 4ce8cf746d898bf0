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
