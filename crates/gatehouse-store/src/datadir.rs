//! The data directory: where the embedded SQLite database and the key that encrypts access-key
//! secrets live.

use std::path::{Path, PathBuf};

use crate::catalog::{CatalogSummary, ProviderCatalog};
use crate::error::StoreError;
use crate::policies::PROVIDER;
use crate::{Store, StoreOptions};

/// The key file's name in the data directory.
pub const SECRET_KEY_FILE: &str = "secret.key";

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::config(format!("cannot {what} {}: {e}", path.display()))
}

/// Creates the data directory, only its owner may enter (0700 on Unix), when it does not
/// exist; one that exists is left as it is.
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| io("create", dir, e))
}

/// Reads the data directory's secret key, creating the directory (0700) and a new random key
/// (mode 0600) on first use.
pub fn secret_key(dir: &Path) -> Result<[u8; 32], StoreError> {
    create_private_dir(dir)?;
    let path = dir.join(SECRET_KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            StoreError::config(format!("{} must hold exactly 32 bytes", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
            write_private(&path, &key)?;
            Ok(key)
        }
        Err(e) => Err(io("read", &path, e)),
    }
}

/// Writes a file only its owner can read (0600 on Unix).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| io("create", path, e))?;
    f.write_all(bytes).map_err(|e| io("write", path, e))?;
    f.sync_all().map_err(|e| io("sync", path, e))
}

/// The embedded database's URL in a data directory.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("gatehouse.db").display())
}

impl Store {
    /// Opens the store of a data directory: its SQLite database unless `database` names
    /// another, with the directory's secret key; on first start (no provider policies yet)
    /// loads the provider catalog that ships with Gatehouse.
    pub async fn open_data_dir(
        dir: &Path,
        database: Option<&str>,
    ) -> Result<(Store, Option<CatalogSummary>), StoreError> {
        let key = secret_key(dir)?;
        let url = database.map_or_else(|| sqlite_url(dir), str::to_string);
        let store = Store::open(&url, StoreOptions::new(key)).await?;
        let loaded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policies WHERE account = $1")
            .bind(PROVIDER)
            .fetch_one(&store.db.pool)
            .await?;
        let summary = if loaded == 0 {
            Some(
                store
                    .load_provider_catalog(&ProviderCatalog::embedded()?)
                    .await?,
            )
        } else {
            None
        };
        Ok((store, summary))
    }
}

/// The default data directory: `./gatehouse-data`.
pub fn default_dir() -> PathBuf {
    PathBuf::from("gatehouse-data")
}
