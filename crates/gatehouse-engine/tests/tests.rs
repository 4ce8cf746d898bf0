//! Integration tests of the evaluation engine: property and differential tests on random
//! policies, and the explanation's content. The decision-case corpus in `cases/` runs through
//! `gatehouse test` (see the CLI's tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod props;
