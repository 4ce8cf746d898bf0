//! `gatehouse serve`: open the data directory's store (loading the provider catalog on first
//! start), create the root account and its credentials on first start, and serve until
//! SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_store::{Store, StoreError, datadir};
use rand::Rng;

use crate::app::{AppState, router};

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The address to listen on (`127.0.0.1:8470`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    /// A database other than the data directory's SQLite file.
    pub database: Option<String>,
    /// Whether decisions are recorded as activity (for last-accessed details and policy
    /// generation).
    pub record_activity: bool,
    /// How many days recorded activity is kept after it was last seen (`None`: the store's
    /// default, 400).
    pub activity_retention_days: Option<i64>,
}

/// The root user's credentials, as written to `root-credentials.json`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootCredentials {
    /// The account.
    pub account_id: String,
    /// The access key ID.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

/// The root credentials file's name in the data directory.
pub const ROOT_CREDENTIALS: &str = "root-credentials.json";

fn config(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(gatehouse_store::ErrorCode::ServiceFailure, e.to_string())
}

/// Reads the root credentials, creating the account and its key on first start (mode 0600).
pub async fn root_credentials(
    store: &Store,
    dir: &Path,
) -> Result<(RootCredentials, bool), StoreError> {
    let path = dir.join(ROOT_CREDENTIALS);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let creds: RootCredentials =
            serde_json::from_str(&text).map_err(|e| config(format!("{}: {e}", path.display())))?;
        return Ok((creds, false));
    }
    let account: String = {
        let mut rng = rand::rng();
        (0..12)
            .map(|i| char::from(b'0' + rng.random_range(u8::from(i == 0)..10)))
            .collect()
    };
    store.create_account(&account).await?;
    let key = store.create_root_key(&account).await?;
    let creds = RootCredentials {
        account_id: account,
        access_key_id: key.id,
        secret_access_key: key.secret.unwrap_or_default(),
    };
    let text = serde_json::to_string_pretty(&creds).map_err(config)?;
    datadir::write_private(&path, text.as_bytes())?;
    Ok((creds, true))
}

/// A running server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The root credentials.
    pub root: RootCredentials,
    /// Whether this start created them.
    pub first_start: bool,
    /// The server task; it ends when `shutdown` resolves.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts serving; the server stops when `shutdown` resolves.
pub async fn start(
    options: &ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, StoreError> {
    let (store, _) = Store::open_data_dir(&options.data_dir, options.database.as_deref()).await?;
    store.set_activity_recording(options.record_activity);
    if let Some(days) = options.activity_retention_days {
        store.set_activity_retention_days(days);
    }
    let (root, first_start) = root_credentials(&store, &options.data_dir).await?;
    // Other processes (another node, `gatehouse provider publish`) change the store too.
    let watcher = store.watch(Duration::from_secs(1));
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| config(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener.local_addr().map_err(config)?;
    // Work out the provider policies' histories now, so the first feed reader does not wait.
    let warm = store.clone();
    tokio::spawn(async move {
        if let Err(e) = warm.provider_changes(crate::feeds::GLOBAL_LIMIT).await {
            tracing::warn!(error = %e.message, "working out the managed-policy histories failed");
        }
    });
    // Recorded decisions are written once a second, and once more at shutdown.
    let flusher_store = store.clone();
    let flusher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = flusher_store.flush_activity().await {
                tracing::warn!(error = %e.message, "writing recorded activity failed; kept for the next try");
            }
        }
    });
    let last_flush = store.clone();
    let state = AppState::new(store).map_err(config)?;
    let app = router(state);
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        watcher.abort();
        flusher.abort();
        if let Err(e) = last_flush.flush_activity().await {
            tracing::warn!(error = %e.message, "writing recorded activity at shutdown failed");
        }
        result
    });
    Ok(Running {
        addr,
        root,
        first_start,
        task,
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
