//! Compile benchmark: the ten AWS managed policies of `store/effective-cold` (ReadOnlyAccess,
//! PowerUserAccess, AmazonQFullAccess and seven others), read from `data/aws-managed-policies/`.
//!
//! - `compile/parse`: parsing the ten documents;
//! - `compile/compile`: compiling the ten parsed policies;
//! - `compile/index`: building the indexed `PolicySet` of the ten compiled policies;
//! - `compile/all`: the three in a row, then dropping the set (what a node does the first time
//!   a principal with these policies is asked about).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_engine::{CompiledPolicy, PolicySet};
use gatehouse_policy::parse_policy;

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

fn documents() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/aws-managed-policies");
    TEN.iter()
        .map(|n| std::fs::read_to_string(dir.join(format!("{n}.json"))).unwrap())
        .collect()
}

fn compile_all(docs: &[String]) -> Vec<Arc<CompiledPolicy>> {
    docs.iter()
        .zip(TEN)
        .map(|(d, n)| {
            Arc::new(CompiledPolicy::compile(
                n,
                Some("v1"),
                &parse_policy(d).unwrap(),
            ))
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let docs = documents();
    let mut g = c.benchmark_group("compile");
    g.bench_function("parse", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(parse_policy(black_box(d)).unwrap());
            }
        })
    });
    let parsed: Vec<_> = docs.iter().map(|d| parse_policy(d).unwrap()).collect();
    g.bench_function("compile", |b| {
        b.iter(|| {
            for (p, n) in parsed.iter().zip(TEN) {
                black_box(CompiledPolicy::compile(n, Some("v1"), black_box(p)));
            }
        })
    });
    let compiled = compile_all(&docs);
    g.bench_function("index", |b| {
        b.iter(|| black_box(PolicySet::new(compiled.iter().cloned())))
    });
    g.bench_function("all", |b| {
        b.iter(|| drop(black_box(PolicySet::new(compile_all(black_box(&docs))))))
    });
    g.finish();
}

criterion_group!(compile_benches, benches);
criterion_main!(compile_benches);
