//! Fuzz target: decision-case files. Any input either loads as a case or is refused with an
//! error; a loaded case is decided by the indexed path and explained by the full scan, and the
//! two must agree. Files named by a case are refused (the target does no I/O).
#![no_main]

use gatehouse_engine::{Case, decide, explain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut read = |_: &str| -> Result<String, String> { Err("no files while fuzzing".into()) };
    if let Ok(case) = Case::load("fuzz.json", text, &mut read) {
        let layers = case.layers();
        let fast = decide(&layers, &case.request);
        let full = explain(&layers, &case.request);
        assert_eq!(fast.kind, full.decision, "{text}");
        assert_eq!(fast.reason, full.reason, "{text}");
    }
});
