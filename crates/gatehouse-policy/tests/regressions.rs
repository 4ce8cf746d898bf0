//! Inputs that once broke a property (found by the fuzzer or by hand), replayed through the
//! fuzz target's own checks. One file per input in `tests/regressions/`.

#[test]
fn regressions_keep_every_property() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            crate::oracle::check(text);
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}

#[test]
fn miscased_effect_prints_as_written_and_stays_invalid() {
    // Found by the fuzzer: the printer wrote "Deny" for "denY", turning an invalid policy into
    // a valid one.
    let text =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"denY","Action":"s3:*","Resource":"*"}}"#;
    let policy = gatehouse_policy::parse_policy(text).unwrap();
    assert!(gatehouse_policy::to_compact(&policy).contains(r#""Effect":"denY""#));
    crate::oracle::check(text);
}
