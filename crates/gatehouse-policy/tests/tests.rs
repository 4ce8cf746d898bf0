//! Integration tests of the policy language against real data: every AWS managed policy, AWS's
//! validation messages, per-kind rules, and generated policies for the round trip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod cases;
mod corpus;
mod kinds;
pub mod oracle;
mod regressions;
mod roundtrip;

use std::path::PathBuf;

/// The project's `data/` folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}
