//! The store's tests. Every scenario runs on both backends: SQLite (always) and PostgreSQL
//! (`#[ignore]`d unless `GATEHOUSE_TEST_POSTGRES_URL` names a server; `scripts/test` starts a
//! throwaway one and runs them with `--include-ignored`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    clippy::disallowed_methods // the freshness test has a one-second deadline
)]

mod crash;
mod effective;
mod history;
mod rules;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use gatehouse_store::{ProviderCatalog, Store, StoreOptions};
use sqlx::Executor;

/// The project's `data/` folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

/// A store and what keeps its database alive.
pub struct TestStore {
    pub store: Store,
    pub _dir: Option<tempfile::TempDir>,
}

pub fn options() -> StoreOptions {
    StoreOptions::new([42u8; 32])
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("gatehouse.db").display()
    );
    TestStore {
        store: Store::open(&url, options()).await.unwrap(),
        _dir: Some(dir),
    }
}

/// A fresh database on the test PostgreSQL server.
pub async fn postgres_url() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let admin = std::env::var("GATEHOUSE_TEST_POSTGRES_URL").expect(
        "GATEHOUSE_TEST_POSTGRES_URL must name a PostgreSQL server (scripts/test starts one)",
    );
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    let name = format!(
        "gh_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        rand_suffix()
    );
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_string();
    format!("{base}/{name}")
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(1);
    h.finish() % 1_000_000
}

pub async fn postgres() -> TestStore {
    TestStore {
        store: Store::open(&postgres_url().await, options()).await.unwrap(),
        _dir: None,
    }
}

/// The catalog, read once per test binary.
pub fn catalog() -> &'static ProviderCatalog {
    static CATALOG: std::sync::OnceLock<ProviderCatalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| ProviderCatalog::from_dir(&data_dir()).unwrap())
}

/// Runs a scenario `async fn(Store)` on both backends.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::sqlite().await;
                super::$name(t.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs PostgreSQL: scripts/test starts one and runs these"]
            async fn postgres() {
                let t = $crate::postgres().await;
                super::$name(t.store.clone()).await;
            }
        }
    )*};
}
