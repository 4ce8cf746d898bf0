//! The analysis crate's tests: the service reference, the semantic diff on hand-written cases
//! and on real AWS versions, and the replay of the whole history sample.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::path::PathBuf;

use gatehouse_analysis::permissions::pattern_covers;
use gatehouse_analysis::{Analyzed, Classification, Sensitive, ServiceReference, diff_documents};
use serde::Deserialize;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

fn reference() -> &'static ServiceReference {
    ServiceReference::embedded()
}

fn doc(statements: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#)
}

#[test]
fn the_embedded_reference_is_read_whole() {
    let r = reference();
    assert_eq!(r.prefixes().len(), 457);
    assert!(r.actions().len() > 22_000, "{}", r.actions().len());
    assert_eq!(r.service_name("q"), Some("Amazon Q"));
    // IAM matches action names without regard to case.
    assert!(r.find("q:GetIdentityMetaData").is_some());
    let mut n = 0;
    r.expand("s3:GetObject*", |_| n += 1);
    assert!(n > 5, "{n}");
    let mut all = 0;
    r.expand("*", |_| all += 1);
    assert_eq!(all, r.actions().len());
    let mut none = 0;
    r.expand("nosuchservice:*", |_| none += 1);
    assert_eq!(none, 0);
    // The fast paths agree with a plain glob over every action.
    for pattern in ["*:Get*", "*:*", "s3:Get*", "*:get?ucket*", "S3:*Object"] {
        let mut fast = Vec::new();
        r.expand(pattern, |id| fast.push(id));
        fast.sort_unstable();
        let slow: Vec<u32> = r
            .actions()
            .iter()
            .enumerate()
            .filter(|(_, a)| gatehouse_policy::glob_match(&pattern.to_ascii_lowercase(), &a.lower))
            .map(|(i, _)| i as u32)
            .collect();
        assert_eq!(fast, slow, "{pattern}");
        assert!(!fast.is_empty(), "{pattern}");
    }
}

#[test]
fn pattern_inclusion() {
    for (outer, inner, covers) in [
        ("*", "arn:aws:s3:::b/*", true),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k", true),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/*", true),
        ("arn:aws:s3:::b/k", "arn:aws:s3:::b/*", false),
        (
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::*:role/*AmazonSageMaker*",
            true,
        ),
        (
            "arn:aws:iam::*:role/*AmazonSageMaker*",
            "arn:aws:iam::*:role/*",
            false,
        ),
        ("a?c", "abc", true),
        ("a?c", "a*c", false),
        ("a*c", "a?c", true),
        ("abc", "abc", true),
        ("abc", "abd", false),
    ] {
        assert_eq!(
            pattern_covers(outer, inner),
            covers,
            "{outer} covers {inner}"
        );
    }
}

#[test]
fn hand_written_changes_are_classified() {
    let get = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#;
    let cases: &[(&str, String, String, Classification)] = &[
        ("same text", doc(get), doc(get), Classification::NoChange),
        (
            "whitespace only",
            doc(get),
            doc(get).replace(", ", ",\n    "),
            Classification::NoChange,
        ),
        (
            "a list instead of a string",
            doc(get),
            doc(&get.replace(r#""s3:GetObject""#, r#"["s3:GetObject"]"#)),
            Classification::Reworded,
        ),
        (
            "an action added",
            doc(get),
            doc(&get.replace(r#""s3:GetObject""#, r#"["s3:GetObject", "s3:PutObject"]"#)),
            Classification::Expanded,
        ),
        (
            "a wider resource",
            doc(get),
            doc(&get.replace("b/*", "*")),
            Classification::Expanded,
        ),
        (
            "a narrower resource",
            doc(get),
            doc(&get.replace("b/*", "b/public/*")),
            Classification::Narrowed,
        ),
        (
            "another resource",
            doc(get),
            doc(&get.replace("b/*", "c/*")),
            Classification::Mixed,
        ),
        (
            "a condition added",
            doc(get),
            doc(&get.replace(
                r#""Resource""#,
                r#""Condition": {"Bool": {"aws:SecureTransport": "true"}}, "Resource""#,
            )),
            Classification::Narrowed,
        ),
        (
            "a condition removed",
            doc(&get.replace(
                r#""Resource""#,
                r#""Condition": {"Bool": {"aws:SecureTransport": "true"}}, "Resource""#,
            )),
            doc(get),
            Classification::Expanded,
        ),
        (
            "more values for a positive operator",
            doc(&get.replace(
                r#""Resource""#,
                r#""Condition": {"StringEquals": {"aws:PrincipalTag/team": "a"}}, "Resource""#,
            )),
            doc(&get.replace(
                r#""Resource""#,
                r#""Condition": {"StringEquals": {"aws:PrincipalTag/team": ["a", "b"]}}, "Resource""#,
            )),
            Classification::Expanded,
        ),
        (
            "a deny added",
            doc(get),
            doc(&format!(
                r#"{get}, {{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret/*"}}"#
            )),
            Classification::Narrowed,
        ),
        (
            "a wildcard for the actions it names",
            doc(r#"{"Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}"#),
            doc(r#"{"Effect": "Allow", "Action": ["sts:GetCallerIdentit*"], "Resource": "*"}"#),
            Classification::Reworded,
        ),
        (
            "Sid renamed",
            doc(&get.replace("{", r#"{"Sid": "A", "#)),
            doc(&get.replace("{", r#"{"Sid": "B", "#)),
            Classification::Reworded,
        ),
    ];
    for (name, old, new, expected) in cases {
        let d = diff_documents(old, new, reference()).unwrap();
        assert_eq!(d.classification, *expected, "{name}:\n{d}");
    }
}

#[test]
fn an_invalid_document_is_an_error_with_its_location() {
    let e = diff_documents("{", &doc(""), reference()).unwrap_err();
    assert_eq!(e.side, "old");
    assert!(e.message.starts_with("line 1, column"), "{}", e.message);
}

#[test]
fn not_action_and_unknown_actions() {
    // NotAction grants every action it does not name, including ones only the other side names.
    let d = diff_documents(
        &doc(r#"{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}"#),
        &doc(r#"{"Effect": "Allow", "NotAction": ["iam:*", "newservice:*"], "Resource": "*"}"#),
        reference(),
    )
    .unwrap();
    assert_eq!(d.classification, Classification::Narrowed, "{d}");
    assert_eq!(d.no_longer_allowed, ["newservice:*"]);
    let d = diff_documents(
        &doc(r#"{"Effect": "Allow", "Action": "q:*", "Resource": "*"}"#),
        &doc(r#"{"Effect": "Allow", "Action": ["q:*", "q:SomethingNew"], "Resource": "*"}"#),
        reference(),
    )
    .unwrap();
    assert_eq!(
        d.classification,
        Classification::Reworded,
        "q:* already grants it: {d}"
    );
}

fn version(policy: &str, v: &str) -> String {
    let sample = data()
        .join("history-sample")
        .join(policy)
        .join(format!("{v}.json"));
    let q = data()
        .join("managed-policy-history")
        .join(policy)
        .join(format!("{v}.json"));
    std::fs::read_to_string(if sample.exists() { sample } else { q }).unwrap()
}

/// Hand-picked updates of real AWS managed policies, each checked against its two documents.
#[test]
fn real_updates_match_their_documents() {
    struct Case {
        policy: &'static str,
        old: &'static str,
        new: &'static str,
        class: Classification,
        newly: &'static [&'static str],
        gone: &'static [&'static str],
        sensitive: &'static [&'static str],
    }
    let cases = [
        Case {
            policy: "AmazonQFullAccess",
            old: "v1",
            new: "v2",
            class: Classification::Expanded,
            newly: &["sts:SetContext"],
            gone: &[],
            sensitive: &["NewService sts"],
        },
        Case {
            policy: "AmazonQFullAccess",
            old: "v4",
            new: "v5",
            class: Classification::Expanded,
            newly: &[
                "iam:PassRole",
                "q:CreatePlugin",
                "q:DeletePlugin",
                "q:GetPlugin",
                "q:ListPluginProviders",
                "q:ListPlugins",
                "q:ListTagsForResource",
                "q:TagResource",
                "q:UntagResource",
                "q:UsePlugin",
            ],
            gone: &[],
            sensitive: &["NewService iam", "PassRole"],
        },
        Case {
            policy: "AmazonQFullAccess",
            old: "v7",
            new: "v9",
            class: Classification::NoChange,
            newly: &[],
            gone: &[],
            sensitive: &[],
        },
        Case {
            policy: "AmazonQDeveloperAccess",
            old: "v6",
            new: "v7",
            class: Classification::Expanded,
            newly: &[
                "q:CreateArtifact",
                "q:GetArtifact",
                "q:GetArtifactActionResult",
                "q:PerformArtifactAction",
            ],
            gone: &[],
            sensitive: &[],
        },
        Case {
            policy: "AWSServiceRoleForAmazonQDeveloper",
            old: "v1",
            new: "v2",
            class: Classification::Expanded,
            newly: &["identitystore:ListGroupMembershipsForMember"],
            gone: &[],
            sensitive: &["NewService identitystore"],
        },
        Case {
            policy: "AWSServiceRoleForUserSubscriptions",
            old: "v2",
            new: "v3",
            class: Classification::Expanded,
            newly: &["kms:Decrypt"],
            gone: &[],
            sensitive: &["NewService kms"],
        },
        Case {
            policy: "AmazonS3FullAccess",
            old: "v1",
            new: "v2",
            class: Classification::Expanded,
            newly: &[],
            gone: &[],
            sensitive: &[
                "NewService s3-object-lambda",
                "NewWildcard s3-object-lambda:*",
            ],
        },
        Case {
            policy: "Billing",
            old: "v3",
            new: "v4",
            class: Classification::Narrowed,
            newly: &[],
            gone: &[
                "awsbillingconsole:*Billing",
                "awsbillingconsole:*PaymentMethods",
                "awsbillingconsole:*Usage",
            ],
            sensitive: &[],
        },
        Case {
            policy: "AWSConfigServiceRolePolicy",
            old: "v45",
            new: "v46",
            class: Classification::Narrowed,
            newly: &[],
            gone: &["ssm:GetParameter"],
            sensitive: &[],
        },
        Case {
            policy: "AmazonSageMakerFullAccess",
            old: "v19",
            new: "v20",
            class: Classification::Narrowed,
            newly: &[],
            gone: &[],
            sensitive: &[],
        },
        Case {
            policy: "AWSOrganizationsFullAccess",
            old: "v5",
            new: "v6",
            class: Classification::Reworded,
            newly: &[],
            gone: &[],
            sensitive: &[],
        },
        Case {
            policy: "AmazonECSServiceRolePolicy",
            old: "v13",
            new: "v14",
            class: Classification::Reworded,
            newly: &[],
            gone: &[],
            sensitive: &[],
        },
    ];
    for c in &cases {
        let (old, new) = (version(c.policy, c.old), version(c.policy, c.new));
        let d = diff_documents(&old, &new, reference()).unwrap();
        let what = format!("{} {} -> {}:\n{d}", c.policy, c.old, c.new);
        assert_eq!(d.classification, c.class, "{what}");
        if !c.newly.is_empty() || c.class != Classification::Expanded {
            assert_eq!(d.newly_allowed, c.newly, "{what}");
        }
        assert_eq!(d.no_longer_allowed, c.gone, "{what}");
        let flags: Vec<String> = d
            .sensitive
            .iter()
            .map(|s| match s {
                Sensitive::NewService { service } => format!("NewService {service}"),
                Sensitive::NewWildcard { pattern } => format!("NewWildcard {pattern}"),
                Sensitive::PermissionsManagement { .. } => "PermissionsManagement".to_string(),
                Sensitive::PassRole => "PassRole".to_string(),
            })
            .filter(|f| f != "PermissionsManagement")
            .collect();
        assert_eq!(flags, c.sensitive, "{what}");
    }
}

/// AmazonQFullAccess v2 -> v3 replaced `q:*` with 12 named actions: every other q action of
/// the service reference is no longer allowed.
#[test]
fn q_star_replaced_by_twelve_actions_lists_every_q_action_lost() {
    let (old, new) = (
        version("AmazonQFullAccess", "v2"),
        version("AmazonQFullAccess", "v3"),
    );
    let d = diff_documents(&old, &new, reference()).unwrap();
    assert_eq!(d.classification, Classification::Mixed);
    assert_eq!(
        d.newly_allowed,
        ["cloudformation:GetResource", "cloudformation:ListResources"]
    );
    let v3: serde_json::Value = serde_json::from_str(&new).unwrap();
    let named: Vec<String> = v3["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_ascii_lowercase))
        .filter(|a| a.starts_with("q:"))
        .collect();
    assert_eq!(named.len(), 12);
    let expected: Vec<String> = reference()
        .actions()
        .iter()
        .filter(|a| a.lower.starts_with("q:") && !named.contains(&a.lower))
        .map(|a| a.name.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(d.no_longer_allowed, expected);
}

#[derive(Deserialize)]
struct Index {
    policies: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    policy: String,
}

#[derive(Deserialize)]
struct History {
    history: Vec<Version>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Version {
    version: String,
    date: String,
    document_file: String,
}

/// Replays the 761 versions of the history sample: every change is classified, and every
/// republication of 2026-02-11/12 whose document is the same is NoChange.
#[test]
fn the_history_sample_replays_and_every_change_is_classified() {
    let dir = data().join("history-sample");
    let index: Index =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index.policies.len(), 30);
    let (mut versions, mut diffs, mut republications) = (0, 0, 0);
    let mut counts = std::collections::BTreeMap::new();
    for p in &index.policies {
        let h: History = serde_json::from_str(
            &std::fs::read_to_string(dir.join(&p.policy).join("history.json")).unwrap(),
        )
        .unwrap();
        let texts: Vec<String> = h
            .history
            .iter()
            .map(|v| std::fs::read_to_string(dir.join(&p.policy).join(&v.document_file)).unwrap())
            .collect();
        let read: Vec<Analyzed<'_>> = texts
            .iter()
            .map(|t| Analyzed::new(t, "version", reference()).unwrap())
            .collect();
        versions += read.len();
        for (i, pair) in read.windows(2).enumerate() {
            let d = pair[0].diff(&pair[1], reference());
            diffs += 1;
            *counts.entry(d.classification).or_insert(0) += 1;
            let v = &h.history[i + 1];
            let same: bool = serde_json::from_str::<serde_json::Value>(&texts[i]).unwrap()
                == serde_json::from_str::<serde_json::Value>(&texts[i + 1]).unwrap();
            assert_eq!(
                d.classification == Classification::NoChange,
                same,
                "{} {}: NoChange exactly when the document is the same",
                p.policy,
                v.version
            );
            if v.date.starts_with("2026-02-11") || v.date.starts_with("2026-02-12") {
                republications += 1;
                assert!(same, "{} {} changed on 2026-02-11/12", p.policy, v.version);
                assert_eq!(d.classification, Classification::NoChange);
            }
        }
    }
    assert_eq!(versions, 761);
    assert_eq!(diffs, 731);
    assert_eq!(republications, 50);
    for class in [
        Classification::Expanded,
        Classification::Narrowed,
        Classification::Mixed,
        Classification::Reworded,
        Classification::NoChange,
    ] {
        assert!(
            counts.get(&class).copied().unwrap_or(0) > 0,
            "{class:?}: {counts:?}"
        );
    }
}

mod checks {
    use super::{doc, reference, version};
    use gatehouse_analysis::check::{Verdict, access_not_granted, no_new_access};

    fn label(v: &Verdict) -> &'static str {
        v.label()
    }

    fn counterexample(v: &Verdict) -> (String, String) {
        match v {
            Verdict::Fails { counterexamples } => (
                counterexamples[0].action.clone(),
                counterexamples[0].resource.clone(),
            ),
            other => panic!("expected FAIL, got {other:?}"),
        }
    }

    /// AmazonQDeveloperAccess grants nothing AmazonQFullAccess does not (as of 2026-05-20,
    /// both updated that day); the reverse fails on a plugin action.
    #[test]
    fn developer_access_is_within_full_access_and_not_the_reverse() {
        let dev = version("AmazonQDeveloperAccess", "v7");
        let full = version("AmazonQFullAccess", "v12");
        assert_eq!(
            label(&no_new_access(&dev, &full, reference()).unwrap()),
            "PASS"
        );
        let v = no_new_access(&full, &dev, reference()).unwrap();
        let Verdict::Fails { counterexamples } = &v else {
            panic!("{v}")
        };
        assert!(
            counterexamples
                .iter()
                .any(|c| c.action == "q:CreatePlugin" && c.resource == "*"),
            "{v}"
        );
        assert!(
            counterexamples
                .iter()
                .all(|c| c.decision == "Allow" && c.reference_decision.as_deref() != Some("Allow"))
        );
    }

    #[test]
    fn wildcards_not_action_and_resources_on_both_sides() {
        let allow = |action: &str, resource: &str| {
            doc(&format!(
                r#"{{"Effect": "Allow", "Action": {action}, "Resource": {resource}}}"#
            ))
        };
        let cases: &[(&str, String, String, &str)] = &[
            (
                "a named action within a wildcard",
                allow(r#""s3:GetObject""#, r#""*""#),
                allow(r#""s3:Get*""#, r#""*""#),
                "PASS",
            ),
            (
                "a wildcard beyond a named action",
                allow(r#""s3:Get*""#, r#""*""#),
                allow(r#""s3:GetObject""#, r#""*""#),
                "FAIL",
            ),
            (
                "a resource within a wider one",
                allow(r#""s3:GetObject""#, r#""arn:aws:s3:::b/k/*""#),
                allow(r#""s3:GetObject""#, r#""arn:aws:s3:::b/*""#),
                "PASS",
            ),
            (
                "a resource beyond",
                allow(r#""s3:GetObject""#, r#""arn:aws:s3:::*""#),
                allow(r#""s3:GetObject""#, r#""arn:aws:s3:::b/*""#),
                "FAIL",
            ),
            (
                "NotAction within *",
                doc(r#"{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}"#),
                allow(r#""*""#, r#""*""#),
                "PASS",
            ),
            (
                "* beyond NotAction",
                allow(r#""*""#, r#""*""#),
                doc(r#"{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}"#),
                "FAIL",
            ),
            (
                "a deny the reference has and the policy lacks",
                allow(r#""s3:*""#, r#""*""#),
                doc(
                    r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}"#,
                ),
                "FAIL",
            ),
            (
                "a deny on both sides",
                doc(
                    r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}"#,
                ),
                doc(
                    r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}"#,
                ),
                "PASS",
            ),
            (
                "NotResource beyond a resource",
                doc(
                    r#"{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}"#,
                ),
                allow(r#""s3:GetObject""#, r#""arn:aws:s3:::b/*""#),
                "FAIL",
            ),
            (
                "a condition the reference lacks narrows: proven",
                doc(
                    r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}"#,
                ),
                allow(r#""s3:GetObject""#, r#""*""#),
                "PASS",
            ),
            (
                "a condition only the reference has: undecided",
                allow(r#""s3:GetObject""#, r#""*""#),
                doc(
                    r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}"#,
                ),
                "FAIL",
            ),
            (
                "conditions on both, different: undecided",
                doc(
                    r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "a"}}}"#,
                ),
                doc(
                    r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "b"}}}"#,
                ),
                "UNDECIDED",
            ),
        ];
        for (name, new, old, expected) in cases {
            let v = no_new_access(new, old, reference()).unwrap();
            assert_eq!(label(&v), *expected, "{name}: {v}");
        }
        let (action, resource) = counterexample(
            &no_new_access(
                &allow(r#""s3:GetObject""#, r#""arn:aws:s3:::*""#),
                &allow(r#""s3:GetObject""#, r#""arn:aws:s3:::b/*""#),
                reference(),
            )
            .unwrap(),
        );
        assert_eq!(action, "s3:GetObject");
        assert!(!resource.starts_with("arn:aws:s3:::b/"), "{resource}");
    }

    #[test]
    fn access_not_granted_answers_for_actions_and_resources() {
        let policy = doc(
            r#"{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::public/*"},
               {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}"#,
        );
        let check = |actions: &[&str], resources: &[&str]| {
            let a: Vec<String> = actions.iter().map(|s| s.to_string()).collect();
            let r: Vec<String> = resources.iter().map(|s| s.to_string()).collect();
            access_not_granted(&policy, &a, &r, reference()).unwrap()
        };
        assert_eq!(label(&check(&["s3:PutObject"], &[])), "PASS");
        assert_eq!(
            label(&check(&["s3:GetObject"], &["arn:aws:s3:::private/*"])),
            "PASS"
        );
        let v = check(&["s3:GetObject"], &["arn:aws:s3:::public/*"]);
        assert_eq!(counterexample(&v).0, "s3:GetObject");
        let v = check(&["s3:*"], &[]);
        assert_eq!(label(&v), "FAIL", "{v}");
        assert_eq!(label(&check(&["iam:PassRole"], &[])), "UNDECIDED");
    }
}

mod summaries {
    use super::{doc, reference, version};
    use gatehouse_analysis::summary::summarize;

    #[test]
    fn amazon_q_full_access_summarizes_like_the_console() {
        let s = summarize(&version("AmazonQFullAccess", "v12"), reference()).unwrap();
        let line = |svc: &str| s.allow.iter().find(|l| l.service == svc).unwrap();
        assert_eq!(s.allow.len(), 4);
        assert_eq!(line("sts").access, "Limited: Write");
        assert_eq!(line("sts").resources, ["arn:aws:sts::*:self"]);
        let iam = line("iam");
        assert_eq!(iam.resources, ["arn:aws:iam::*:role/*"]);
        assert_eq!(
            iam.conditions,
            ["StringEquals iam:passedtoservice [q.amazonaws.com]"]
        );
        assert!(
            line("q").access.contains("Limited:"),
            "{}",
            line("q").access
        );
        assert!(s.deny.is_empty() && s.unrecognized.is_empty());
    }

    #[test]
    fn full_access_levels_denies_and_unknown_services() {
        let s = summarize(
            &doc(r#"{"Effect": "Allow", "Action": ["s3:*", "sqs:List*", "madeup:Thing"], "Resource": "*"},
                    {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::keep"}"#),
            reference(),
        )
        .unwrap();
        let s3 = s.allow.iter().find(|l| l.service == "s3").unwrap();
        assert_eq!(s3.access, "Full access");
        assert_eq!(s3.resources, ["All resources"]);
        let sqs = s.allow.iter().find(|l| l.service == "sqs").unwrap();
        // The reference puts SQS's List* actions at the Read level.
        assert_eq!(sqs.access, "Limited: Read");
        assert_eq!(s.deny.len(), 1);
        assert_eq!(s.deny[0].access, "Limited: Write");
        assert_eq!(s.deny[0].resources, ["arn:aws:s3:::keep"]);
        assert_eq!(s.unrecognized, ["madeup:Thing"]);
    }
}

mod lints {
    use super::{doc, reference};
    use gatehouse_analysis::lint::lint;

    fn codes(text: &str) -> Vec<(String, &'static str)> {
        lint(text, reference())
            .into_iter()
            .map(|f| (f.finding_type.as_str().to_string(), f.issue_code))
            .collect()
    }

    /// One finding per case, each with its type and code; a clean statement gives none.
    #[test]
    fn each_check_finds_its_issue() {
        type Case<'a> = (&'a str, String, &'a [(&'a str, &'a str)]);
        let cases: &[Case<'_>] = &[
            ("clean", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#), &[]),
            ("unknown service", doc(r#"{"Effect": "Allow", "Action": "nosuch:Get", "Resource": "*"}"#), &[("ERROR", "INVALID_SERVICE_IN_ACTION")]),
            ("unknown action", doc(r#"{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}"#), &[("ERROR", "INVALID_ACTION")]),
            ("pattern matching nothing", doc(r#"{"Effect": "Allow", "Action": "s3:Frobnicate*", "Resource": "*"}"#), &[("ERROR", "INVALID_ACTION")]),
            ("resource of no type", doc(r#"{"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "arn:aws:logs:*:*:/aws-glue/*"}"#), &[("ERROR", "INVALID_ARN_RESOURCE")]),
            ("resource of no service", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:nosuchsvc:::x"}"#), &[("ERROR", "INVALID_ARN_SERVICE")]),
            ("key not for the action", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"ec2:InstanceType": "t3.micro"}}}"#), &[("WARNING", "UNSUPPORTED_ACTION_FOR_CONDITION_KEY")]),
            ("key of no service key", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"s3:NoSuchKey": "x"}}}"#), &[("ERROR", "INVALID_CONDITION_KEY")]),
            ("operator of another type", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"NumericEquals": {"aws:SourceIp": "1"}}}"#), &[("WARNING", "MISMATCHED_TYPE")]),
            ("multivalued key without qualifier", doc(r#"{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*", "Condition": {"StringEquals": {"aws:TagKeys": "team"}}}"#), &[("WARNING", "MISSING_QUALIFIER")]),
            ("unknown global key", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:NoSuchGlobalKey": "x"}}}"#), &[("WARNING", "UNKNOWN_GLOBAL_CONDITION_KEY")]),
            ("never holds", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}"#), &[("ERROR", "CONDITION_NEVER_HOLDS")]),
            ("bad CIDR", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}"#), &[("ERROR", "CONDITION_NEVER_HOLDS")]),
            ("PassRole on *", doc(r#"{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}"#), &[("SECURITY_WARNING", "PASS_ROLE_WITH_STAR_IN_RESOURCE")]),
            ("PassRole narrowed", doc(r#"{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}"#), &[]),
            ("Allow NotAction", doc(r#"{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}"#), &[("SECURITY_WARNING", "ALLOW_WITH_NOT_ACTION")]),
            ("Allow NotResource", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}"#), &[("SECURITY_WARNING", "ALLOW_WITH_NOT_RESOURCE")]),
            ("Deny NotResource is fine", doc(r#"{"Effect": "Deny", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::public/*"}"#), &[]),
            ("redundant action", doc(r#"{"Effect": "Allow", "Action": ["s3:Get*", "s3:GetObject"], "Resource": "*"}"#), &[("SUGGESTION", "REDUNDANT_ACTION")]),
            ("redundant statement", doc(r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#), &[("SUGGESTION", "REDUNDANT_STATEMENT")]),
            ("ForAllValues on a single-valued key", doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:PrincipalTag/team": "a"}}}"#), &[("SECURITY_WARNING", "FOR_ALL_VALUES_WITH_SINGLE_VALUED_KEY")]),
            ("no Version", r#"{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#.to_string(), &[("WARNING", "MISSING_VERSION")]),
            ("old Version", r#"{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#.to_string(), &[("WARNING", "OUTDATED_VERSION")]),
        ];
        for (name, text, expected) in cases {
            let got = codes(text);
            let want: Vec<(String, &str)> =
                expected.iter().map(|(t, c)| (t.to_string(), *c)).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn findings_have_locations() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\n    \"Effect\": \"Allow\",\n    \"Action\": \"s3:GetObjekt\",\n    \"Resource\": \"*\"\n  }\n}";
        let f = &lint(text, reference())[0];
        assert_eq!((f.line, f.column), (5, 15));
        assert_eq!(f.message, "The action s3:GetObjekt does not exist.");
    }

    /// Every AWS managed policy lints without a panic; the counts per code are in
    /// docs/compatibility.md.
    #[test]
    fn the_aws_corpus_lints() {
        let dir = super::data().join("aws-managed-policies");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.file_name().is_some_and(|f| f == "index.json") {
                continue;
            }
            let _ = lint(&std::fs::read_to_string(&path).unwrap(), reference());
            n += 1;
        }
        assert_eq!(n, 1568);
    }
}
