//! Store benchmarks (figures in BENCHMARKS.md):
//! - `store/catalog-load`: loading the whole provider catalog into a fresh SQLite store;
//! - `store/effective-cold` / `store/effective-cached`: a user's effective policies with 10
//!   managed policies attached, with empty caches and from the cache;
//! - `store/write-pair`: CreateUser plus AttachUserPolicy, two durable commits, on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![allow(clippy::disallowed_methods)] // A benchmark measures time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_store::{Actor, PrincipalKind, ProviderCatalog, Store, StoreOptions};

const A: &str = "111122223333";

/// Ten AWS managed policies of ordinary size (ReadOnlyAccess and PowerUserAccess among them).
const TEN: &[&str] = &[
    "ReadOnlyAccess",
    "PowerUserAccess",
    "AmazonQFullAccess",
    "AmazonQDeveloperAccess",
    "AmazonS3FullAccess",
    "AmazonEC2ReadOnlyAccess",
    "AWSLambda_ReadOnlyAccess",
    "AmazonDynamoDBReadOnlyAccess",
    "CloudWatchReadOnlyAccess",
    "IAMUserChangePassword",
];

fn catalog() -> ProviderCatalog {
    ProviderCatalog::from_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data"))
        .unwrap()
}

async fn fresh(dir: &tempfile::TempDir, name: &str) -> Store {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    Store::open(&url, StoreOptions::new([1; 32])).await.unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let catalog = catalog();
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("store");
    g.sample_size(10).measurement_time(Duration::from_secs(20));

    let mut n = 0;
    g.bench_function("catalog-load", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let store = rt.block_on(fresh(&dir, &format!("catalog{n}.db")));
                let started = Instant::now();
                let summary = rt.block_on(store.load_provider_catalog(&catalog)).unwrap();
                total += started.elapsed();
                assert_eq!(summary.policies, 1568);
            }
            total
        })
    });

    let store = rt.block_on(fresh(&dir, "effective.db"));
    rt.block_on(async {
        store.load_provider_catalog(&catalog).await.unwrap();
        let a = Actor::root(A);
        store.create_user(&a, "dev", None, None, &[]).await.unwrap();
        for name in TEN {
            store
                .attach_policy(
                    &a,
                    PrincipalKind::User,
                    "dev",
                    &format!("arn:aws:iam::aws:policy/{name}"),
                )
                .await
                .unwrap();
        }
    });
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function("effective-cold", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                store.clear_caches(true);
                let started = Instant::now();
                let e = rt
                    .block_on(store.effective_policies(A, PrincipalKind::User, "dev"))
                    .unwrap();
                total += started.elapsed();
                assert_eq!(e.identity.policies().len(), 10);
            }
            total
        })
    });
    g.bench_function("effective-principal-cold", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                store.clear_caches(false);
                let started = Instant::now();
                rt.block_on(store.effective_policies(A, PrincipalKind::User, "dev"))
                    .unwrap();
                total += started.elapsed();
            }
            total
        })
    });
    rt.block_on(store.effective_policies(A, PrincipalKind::User, "dev"))
        .unwrap();
    g.bench_function("effective-cached", |b| {
        b.iter(|| {
            rt.block_on(store.effective_policies(A, PrincipalKind::User, "dev"))
                .unwrap()
        })
    });

    let writes = rt.block_on(fresh(&dir, "writes.db"));
    let a = Actor::root(A);
    let policy = rt.block_on(writes.create_policy(&a, "P", None, r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#, None, &[])).unwrap();
    let mut i = 0u64;
    g.bench_function("write-pair", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(async {
                let user = format!("user{i}");
                writes
                    .create_user(&a, &user, None, None, &[])
                    .await
                    .unwrap();
                writes
                    .attach_policy(&a, PrincipalKind::User, &user, &policy.arn)
                    .await
                    .unwrap();
            })
        })
    });
    g.finish();
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
