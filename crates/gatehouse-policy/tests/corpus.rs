//! Every current AWS managed policy parses, validates in provider mode as a managed identity
//! policy, and round-trips through both printed forms to an equal model.

use gatehouse_policy::{
    Mode, PolicyKind, ValidateOptions, parse_policy, to_compact, to_pretty, validate,
};

fn corpus() -> Vec<(String, String)> {
    let dir = crate::data_dir().join("aws-managed-policies");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "index.json" || !name.ends_with(".json") {
            continue;
        }
        out.push((name, std::fs::read_to_string(&path).unwrap()));
    }
    out.sort();
    out
}

#[test]
fn every_aws_managed_policy_validates_in_provider_mode_and_round_trips() {
    let docs = corpus();
    assert_eq!(docs.len(), 1568, "the corpus should hold 1,568 policies");
    let options = ValidateOptions::new(PolicyKind::Identity, Mode::Provider);
    let mut failures = Vec::new();
    for (name, text) in &docs {
        let policy = match validate(text, &options) {
            Ok(p) => p,
            Err(errors) => {
                failures.push(format!("{name}: {:?}", errors.first()));
                continue;
            }
        };
        // The parsed model agrees with serde_json on the statement count.
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let n = v["Statement"].as_array().map_or(1, Vec::len);
        assert_eq!(policy.statements.len(), n, "{name}");
        assert!(
            policy.clone().into_owned() == policy,
            "{name}: into_owned changed the model"
        );
        for printed in [to_pretty(&policy), to_compact(&policy)] {
            let again = parse_policy(&printed).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(
                again == policy,
                "{name}: print then parse changed the model"
            );
            // And the printed JSON means the same as the original JSON.
            let w: serde_json::Value = serde_json::from_str(&printed).unwrap();
            assert_eq!(w, v, "{name}: printed JSON differs from the original");
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn customer_mode_rejects_exactly_the_oversized_ones() {
    // In customer mode AWS's 6,144-character quota applies to the document without whitespace.
    // The corpus files are re-indented, so the quota is checked on their compact form, and the
    // expected set is computed independently with serde_json.
    let options = ValidateOptions::new(PolicyKind::Identity, Mode::Customer);
    let mut over = 0;
    for (name, text) in corpus() {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let compact = serde_json::to_string(&v).unwrap();
        let expected_over = compact.chars().count() > 6144;
        match validate(&compact, &options) {
            Ok(_) => assert!(!expected_over, "{name} should exceed the quota"),
            Err(errors) => {
                assert!(expected_over, "{name}: {:?}", errors[0]);
                // One AWS policy is even beyond what the API accepts in a request.
                let expected = if compact.chars().count() > 131_072 {
                    "1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to 131072"
                } else {
                    "Cannot exceed quota for PolicySize: 6144"
                };
                assert_eq!(errors[0].message, expected, "{name}");
                over += 1;
            }
        }
    }
    assert!(over >= 69, "{over} over the quota");
    eprintln!("{over} AWS managed policies exceed the customer size quota");
}

#[test]
fn every_recorded_version_of_the_amazon_q_policies_validates_and_round_trips() {
    // The 25 recovered versions of the four Amazon Q policies, 2023-11 to 2026-07. Entries
    // without a document note versions no tracker recorded.
    let dir = crate::data_dir().join("managed-policy-history");
    let history: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("history.json")).unwrap()).unwrap();
    let files: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["document-file"].as_str())
        .collect();
    assert_eq!(files.len(), 25);
    let options = ValidateOptions::new(PolicyKind::Identity, Mode::Provider);
    for file in files {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let policy =
            validate(&text, &options).unwrap_or_else(|e| panic!("{file}: {:?}", e.first()));
        let printed = to_compact(&policy);
        let again = parse_policy(&printed).unwrap();
        assert!(
            again == policy,
            "{file}: print then parse changed the model"
        );
    }
}
