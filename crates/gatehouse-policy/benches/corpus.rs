//! Corpus benchmark: parses and validates all 1,568 AWS managed policy documents in
//! `data/aws-managed-policies/*.json` (`index.json` excluded), timing the whole corpus per
//! iteration.
//!
//! Functions, all in the criterion group `corpus`:
//! - `gatehouse/parse+validate`: `gatehouse_policy::validate` with identity-policy, provider-mode
//!   options on every document;
//! - `iam-rs/parse+validate`: `iam_rs::IAMPolicy::from_json` then `Validate::validate_result` from
//!   the `iam-rs` 0.8.0 crate on the same documents (documents it rejects are still timed);
//! - `gatehouse/parse-only`: `gatehouse_policy::parse_policy` on every document.
//!
//! The files are read into memory once, outside the timed part. Criterion runs single-threaded,
//! so each measurement is on one core.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_policy::{Mode, PolicyKind, ValidateOptions};
use iam_rs::Validate;

/// The number of managed policy documents in the corpus.
const EXPECTED_DOCUMENTS: usize = 1568;

/// Reads every corpus document (except `index.json`), sorted by file name.
fn load_corpus() -> Vec<(String, String)> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/aws-managed-policies"
    ));
    let mut docs: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("read corpus directory")
        .map(|entry| entry.expect("read corpus entry").path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "json")
                && path.file_name().is_some_and(|name| name != "index.json")
        })
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("read corpus document");
            (name, text)
        })
        .collect();
    docs.sort();
    docs
}

/// Parses and validates one document with iam-rs; `true` when it is accepted.
fn iam_rs_accepts(text: &str) -> bool {
    match iam_rs::IAMPolicy::from_json(text) {
        Ok(policy) => policy.validate_result().is_ok(),
        Err(_) => false,
    }
}

fn corpus(c: &mut Criterion) {
    let docs = load_corpus();
    assert_eq!(docs.len(), EXPECTED_DOCUMENTS, "corpus document count");
    let texts: Vec<&str> = docs.iter().map(|(_, text)| text.as_str()).collect();
    let total_bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
    let options = ValidateOptions::new(PolicyKind::Identity, Mode::Provider);

    // Gatehouse must accept every document.
    for (name, text) in &docs {
        if let Err(diagnostics) = gatehouse_policy::validate(text, &options) {
            panic!("gatehouse rejects {name}: {diagnostics:?}");
        }
    }

    // Count (once) the documents iam-rs rejects; they are still timed below.
    let mut parse_failures = 0usize;
    let mut validate_failures = 0usize;
    for (name, text) in &docs {
        match iam_rs::IAMPolicy::from_json(text) {
            Ok(policy) => {
                if let Err(error) = policy.validate_result() {
                    validate_failures += 1;
                    if validate_failures <= 10 {
                        println!("iam-rs: {name} fails validation: {error}");
                    }
                }
            }
            Err(error) => {
                parse_failures += 1;
                if parse_failures <= 10 {
                    println!("iam-rs: {name} fails to parse: {error}");
                }
            }
        }
    }
    println!(
        "corpus: {} documents, {} bytes; gatehouse accepts all; iam-rs rejects {} \
         ({} fail to parse, {} fail validation)",
        texts.len(),
        total_bytes,
        parse_failures + validate_failures,
        parse_failures,
        validate_failures
    );

    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Bytes(total_bytes));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(3));
    group.measurement_time(Duration::from_secs(20));

    group.bench_function("gatehouse/parse+validate", |b| {
        b.iter(|| {
            for text in &texts {
                let result = gatehouse_policy::validate(black_box(text), black_box(&options));
                drop(black_box(result));
            }
        });
    });

    group.bench_function("iam-rs/parse+validate", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(iam_rs_accepts(black_box(text)));
            }
        });
    });

    group.bench_function("gatehouse/parse-only", |b| {
        b.iter(|| {
            for text in &texts {
                let result = gatehouse_policy::parse_policy(black_box(text));
                drop(black_box(result));
            }
        });
    });

    let parsed: Vec<_> = texts
        .iter()
        .map(|t| gatehouse_policy::parse_policy(t).unwrap())
        .collect();
    group.bench_function("gatehouse/validate-only", |b| {
        b.iter(|| {
            for policy in &parsed {
                black_box(gatehouse_policy::check_policy(
                    black_box(policy),
                    black_box(&options),
                ));
            }
        });
    });

    group.finish();
}

criterion_group!(benches, corpus);
criterion_main!(benches);
