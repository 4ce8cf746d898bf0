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

#[test]
fn many_statements_without_effect_are_each_reported_once() {
    // Found in review: finding whether a statement's Effect had already been reported scanned
    // every earlier error, quadratic in the statements. 20,000 of them now take no time.
    let n = 20_000;
    let text = format!("{{\"Statement\":[{}]}}", vec!["{}"; n].join(","));
    let errors = gatehouse_policy::parse_policy(&text).unwrap_err();
    assert_eq!(errors.len(), n);
    assert!(
        errors
            .iter()
            .all(|e| e.kind == gatehouse_policy::SyntaxErrorKind::MissingEffect)
    );
}

#[test]
fn many_repeated_sids_are_each_reported() {
    let n = 5_000;
    let statement = r#"{"Sid":"Same","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#;
    let text = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{}]}}",
        vec![statement; n].join(",")
    );
    let options = gatehouse_policy::ValidateOptions::new(
        gatehouse_policy::PolicyKind::Identity,
        gatehouse_policy::Mode::Provider,
    );
    let errors = gatehouse_policy::validate(&text, &options).unwrap_err();
    assert_eq!(errors.len(), n - 1);
    assert_eq!(
        errors[0].message,
        "Statement IDs (SID) in a single policy must be unique."
    );
}
