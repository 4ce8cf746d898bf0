//! Fuzz target for the policy parser, validator and printer. The properties checked are those
//! of `crates/gatehouse-policy/tests/oracle.rs`, shared with the regression tests so that any
//! crash found here replays under `cargo test` once its input is saved in
//! `crates/gatehouse-policy/tests/regressions/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/gatehouse-policy/tests/oracle.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        oracle::check(text);
    }
});
