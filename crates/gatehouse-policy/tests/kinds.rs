//! Validation by policy kind: one JSON file per case in `tests/validate/`, each with the kind,
//! the mode, the document, and the first error AWS gives (code, message, line, column) or
//! `null` when the document is valid.

use gatehouse_policy::{LineIndex, Mode, PolicyKind, ValidateOptions, validate};

#[test]
fn validation_by_kind() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 30,
        "expected the case files in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let kind = PolicyKind::from_name(case["kind"].as_str().unwrap()).unwrap();
        let mode = match case["mode"].as_str().unwrap() {
            "customer" => Mode::Customer,
            "provider" => Mode::Provider,
            other => panic!("unknown mode {other}"),
        };
        let mut options = ValidateOptions::new(kind, mode);
        options.entity_name = case["entity_name"].as_str().map(str::to_owned);
        let text = case["document"].as_str().unwrap();
        let got = match validate(text, &options) {
            Ok(_) => serde_json::Value::Null,
            Err(errors) => {
                let e = &errors[0];
                let loc = LineIndex::new(text).locate(e.span.start);
                serde_json::json!({
                    "code": e.code.as_str(),
                    "message": e.message,
                    "line": loc.line,
                    "column": loc.column,
                })
            }
        };
        if got != case["error"] {
            failures.push(format!(
                "{}: expected {}, got {}",
                path.file_name().unwrap().to_string_lossy(),
                case["error"],
                got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
