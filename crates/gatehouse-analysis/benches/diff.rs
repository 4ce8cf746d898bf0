//! Diff benchmarks (figures in BENCHMARKS.md):
//! - `diff/largest`: the diff of the last two recorded versions of the largest AWS managed
//!   policy (AWSSupportServiceRolePolicy, about 230 KB): parsing both, expanding their
//!   patterns over the service reference, comparing, classifying;
//! - `diff/replay-sample`: the whole history sample (30 policies, 761 versions): every version
//!   read once and diffed with the one before it, every change classified;
//! - `lint/aws-corpus`: linting all 1,568 AWS managed policies;
//! - `expand/*` and `expand/*:Get*`: expanding the widest patterns over the reference.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_analysis::{Analyzed, ServiceReference, diff_documents};

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/history-sample")
}

fn histories() -> Vec<Vec<String>> {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample().join("index.json")).unwrap())
            .unwrap();
    index["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["policy"].as_str().unwrap();
            let h: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(sample().join(name).join("history.json")).unwrap(),
            )
            .unwrap();
            h["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    std::fs::read_to_string(
                        sample()
                            .join(name)
                            .join(v["documentFile"].as_str().unwrap()),
                    )
                    .unwrap()
                })
                .collect()
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let reference = ServiceReference::embedded();
    let mut g = c.benchmark_group("diff");
    let dir = sample().join("AWSSupportServiceRolePolicy");
    let old = std::fs::read_to_string(dir.join("v58.json")).unwrap();
    let new = std::fs::read_to_string(dir.join("v59.json")).unwrap();
    assert!(new.len() > 200_000, "the largest managed policy");
    g.bench_function("largest", |b| {
        b.iter(|| diff_documents(&old, &new, reference).unwrap())
    });
    let all = histories();
    assert_eq!(all.iter().map(Vec::len).sum::<usize>(), 761);
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("replay-sample", |b| {
        b.iter(|| {
            let mut changes = 0;
            for versions in &all {
                let read: Vec<Analyzed<'_>> = versions
                    .iter()
                    .map(|t| Analyzed::new(t, "version", reference).unwrap())
                    .collect();
                for pair in read.windows(2) {
                    std::hint::black_box(pair[0].diff(&pair[1], reference).classification);
                    changes += 1;
                }
            }
            assert_eq!(changes, 731);
        })
    });
    g.finish();

    let corpus: Vec<String> = std::fs::read_dir(sample().join("../aws-managed-policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|f| f != "index.json"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(corpus.len(), 1568);
    let mut g = c.benchmark_group("expand");
    for pattern in ["*", "*:Get*", "*:*"] {
        g.bench_function(pattern, |b| {
            b.iter(|| {
                let mut n = 0u32;
                reference.expand(pattern, |_| n += 1);
                n
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("lint");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.bench_function("aws-corpus", |b| {
        b.iter(|| {
            corpus
                .iter()
                .map(|t| gatehouse_analysis::lint::lint(t, reference).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(diff, benches);
criterion_main!(diff);
