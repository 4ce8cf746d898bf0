//! The properties every input must keep, whatever it is: shared by the fuzz target
//! (`fuzz/fuzz_targets/parse_policy.rs`) and the regression tests, so a crash the fuzzer finds
//! is replayed by `cargo test` against exactly the same checks.
//!
//! For any text:
//! - `validate` never panics, for every policy kind in both modes, and a failure always has at
//!   least one diagnostic, with a span inside the text that `LineIndex` can locate;
//! - whenever `parse_policy` accepts the text, printing the policy (pretty and compact) and
//!   parsing the result again gives an equal policy, and the printed text gets the same verdict
//!   (code and message) as the input for every kind in provider mode, where no
//!   whitespace-dependent quota applies.

use gatehouse_policy::{
    LineIndex, Mode, PolicyKind, ValidateOptions, parse_policy, to_compact, to_pretty, validate,
};

const KINDS: [PolicyKind; 10] = [
    PolicyKind::Identity,
    PolicyKind::InlineUser,
    PolicyKind::InlineGroup,
    PolicyKind::InlineRole,
    PolicyKind::Trust,
    PolicyKind::Resource,
    PolicyKind::Boundary,
    PolicyKind::Session,
    PolicyKind::Scp,
    PolicyKind::Rcp,
];

/// Checks every property above on `text`; panics with the evidence when one fails.
pub fn check(text: &str) {
    let len = text.len();
    let index = LineIndex::new(text);
    for kind in KINDS {
        for mode in [Mode::Customer, Mode::Provider] {
            let Err(diagnostics) = validate(text, &ValidateOptions::new(kind, mode)) else {
                continue;
            };
            assert!(
                !diagnostics.is_empty(),
                "validate failed with no diagnostic ({kind:?}, {mode:?})"
            );
            for d in &diagnostics {
                let (start, end) = (d.span.start as usize, d.span.end as usize);
                assert!(
                    start <= end && end <= len,
                    "span {start}..{end} outside a text of {len} bytes ({kind:?}, {mode:?}): {d:?}"
                );
                let _ = index.locate(d.span.start);
                let _ = index.locate(d.span.end);
                let _ = index.line_text(d.span.start);
            }
        }
    }
    let Ok(policy) = parse_policy(text) else {
        return;
    };
    for (layout, printed) in [
        ("pretty", to_pretty(&policy)),
        ("compact", to_compact(&policy)),
    ] {
        match parse_policy(&printed) {
            Ok(reparsed) => assert!(
                reparsed == policy,
                "{layout} round trip changed the policy\n--- input\n{text}\n--- printed\n{printed}"
            ),
            Err(errors) => panic!(
                "{layout} output does not parse\n--- input\n{text}\n--- printed\n{printed}\n--- errors\n{errors:?}"
            ),
        }
        for kind in KINDS {
            let options = ValidateOptions::new(kind, Mode::Provider);
            let verdict = |t: &str| {
                validate(t, &options)
                    .err()
                    .map(|d| (d[0].code, d[0].message.clone()))
            };
            assert_eq!(
                verdict(text),
                verdict(&printed),
                "{layout} printing changed the verdict ({kind:?})\n--- input\n{text}\n--- printed\n{printed}"
            );
        }
    }
}
