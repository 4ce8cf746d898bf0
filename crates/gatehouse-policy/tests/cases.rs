//! AWS's validation messages: the 132 cases of `iam-validation-cases.json`, checked in customer
//! mode as a managed identity policy. Where AWS is known to differ from that data set (moto's),
//! we follow AWS; those cases are listed here and in docs/compatibility.md.

use gatehouse_policy::{Mode, PolicyKind, ValidateOptions, check_policy, parse_policy, validate};

/// Cases whose expected answer in the data set is moto's, not AWS's: (index, AWS's message).
/// Each is explained in docs/compatibility.md.
const AWS_DIFFERS: &[(usize, &str)] = &[
    // Sids with underscores: moto accepts any Sid; IAM allows only [0-9A-Za-z]* (iam-spec §1.5).
    (117, SID_MESSAGE),
    (118, SID_MESSAGE),
];

const SID_MESSAGE: &str = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";

#[test]
fn validation_cases_give_aws_messages() {
    let text =
        std::fs::read_to_string(crate::data_dir().join("iam-validation-cases.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 132);
    let options = ValidateOptions::new(PolicyKind::Identity, Mode::Customer);
    let mut mismatches = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let doc = case["document"].as_str().unwrap();
        let got = match validate(doc, &options) {
            Ok(_) => None,
            Err(errors) => Some(errors[0].message.clone()),
        };
        let expected = match AWS_DIFFERS.iter().find(|(j, _)| *j == i) {
            Some((_, aws)) => (!aws.is_empty()).then(|| (*aws).to_owned()),
            None => case["error_message"].as_str().map(str::to_owned),
        };
        // Checking an already parsed policy gives the same answer as validating the text.
        if let Ok(policy) = parse_policy(doc) {
            let again = check_policy(&policy, &options)
                .first()
                .map(|d| d.message.clone());
            assert_eq!(again, got, "case {i}: check_policy and validate disagree");
        }
        if got != expected {
            mismatches.push(format!(
                "case {i}: expected {expected:?}, got {got:?}\n  {doc}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
