//! The `gatehouse` binary, run as a user runs it: exit codes, output formats, and clear errors
//! for inputs that are not policies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn gatehouse(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn corpus_file(name: &str) -> String {
    format!(
        "{}/../../data/aws-managed-policies/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn write(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

const INVALID: &str = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\n    \"Effect\": \"Allow\",\n    \"Action\": \"s3:List:Bucket\",\n    \"Resource\": \"*\"\n  }\n}\n";

#[test]
fn valid_policy_exits_zero() {
    let file = corpus_file("AmazonQFullAccess.json");
    let o = gatehouse(&["policy", "validate", &file], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{file}: valid\n"));
}

#[test]
fn invalid_policy_prints_location_line_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "bad.json", INVALID.as_bytes());
    let o = gatehouse(&["policy", "validate", &file], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{file}:5:15: MalformedPolicyDocument: Actions/Condition can contain only one colon."
        )
    );
    assert_eq!(lines[1], " 5 |     \"Action\": \"s3:List:Bucket\",");
    assert_eq!(lines[2], "   |               ^^^^^^^^^^^^^^^^ ");
}

#[test]
fn json_format_reports_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(&dir, "bad.json", INVALID.as_bytes());
    let good = corpus_file("AmazonQDeveloperAccess.json");
    let o = gatehouse(
        &["policy", "validate", "--format", "json", &good, &bad],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["file"], good.as_str());
    assert_eq!(v[0]["valid"], true);
    assert_eq!(v[0]["errors"], serde_json::json!([]));
    assert_eq!(v[1]["valid"], false);
    let e = &v[1]["errors"][0];
    assert_eq!(e["code"], "MalformedPolicyDocument");
    assert_eq!(
        e["message"],
        "Actions/Condition can contain only one colon."
    );
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(5), Some(15))
    );
}

#[test]
fn reads_standard_input() {
    let o = gatehouse(&["policy", "validate", "-"], Some(INVALID.as_bytes()));
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("-:5:15: "), "{}", stdout(&o));
    let good = std::fs::read(corpus_file("AmazonQFullAccess.json")).unwrap();
    let o = gatehouse(&["policy", "validate", "--provider", "-"], Some(&good));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn kind_and_provider_flags() {
    let dir = tempfile::tempdir().unwrap();
    let trust = write(
        &dir,
        "trust.json",
        br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"q.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    );
    assert_eq!(
        gatehouse(&["policy", "validate", "--kind", "trust", &trust], None)
            .status
            .code(),
        Some(0)
    );
    let o = gatehouse(&["policy", "validate", &trust], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("Policy document should not specify a principal."));
    // AWSSupportServiceRolePolicy is far beyond the customer quota, fine for the provider.
    let big = corpus_file("AWSSupportServiceRolePolicy.json");
    assert_eq!(
        gatehouse(&["policy", "validate", &big], None).status.code(),
        Some(1)
    );
    assert_eq!(
        gatehouse(&["policy", "validate", "--provider", &big], None)
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn inputs_that_are_not_policies_exit_two_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let binary = write(&dir, "x.bin", &[0x7f, b'E', b'L', b'F', 0, 1, 2, 3]);
    let latin1 = write(&dir, "latin1.json", b"{\"Id\": \"caf\xe9\"}");
    let huge = dir.path().join("huge.json");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    let huge = huge.to_string_lossy().into_owned();
    let missing = dir
        .path()
        .join("missing.json")
        .to_string_lossy()
        .into_owned();
    let directory = dir.path().to_string_lossy().into_owned();
    for (file, expected) in [
        (&binary, "is a binary file"),
        (&latin1, "is not UTF-8 text (invalid byte at offset 11)"),
        (&huge, "is too large to be a policy"),
        (&missing, "No such file or directory"),
        (&directory, "is a directory"),
    ] {
        let o = gatehouse(&["policy", "validate", file], None);
        assert_eq!(o.status.code(), Some(2), "{file}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("gatehouse: error: {file}: {expected}")),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // An unreadable file does not stop the others from being checked.
    let good = corpus_file("AmazonQFullAccess.json");
    let o = gatehouse(&["policy", "validate", &missing, &good], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains(&format!("{good}: valid")));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(
        gatehouse(&["policy", "validate", "--kind", "bogus", "x"], None)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        gatehouse(&["policy", "validate"], None).status.code(),
        Some(2)
    );
    assert_eq!(
        gatehouse(&["policy", "frobnicate"], None).status.code(),
        Some(2)
    );
}

#[test]
fn fmt_prints_the_canonical_form() {
    let input = br#"{"Statement":{"Resource":"*","Action":["s3:Get*"],"Effect":"Allow"},"Version":"2012-10-17"}"#;
    let o = gatehouse(&["policy", "fmt", "-"], Some(input));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": {\n        \"Effect\": \"Allow\",\n        \"Action\": [\n            \"s3:Get*\"\n        ],\n        \"Resource\": \"*\"\n    }\n}\n"
    );
    let o = gatehouse(&["policy", "fmt", "--compact", "-"], Some(input));
    assert_eq!(
        stdout(&o),
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\"],\"Resource\":\"*\"}}\n"
    );
    let o = gatehouse(&["policy", "fmt", "-"], Some(b"{\"Statement\": [}"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("-:1:16: MalformedPolicyDocument: Syntax errors in policy."),
        "{}",
        stderr(&o)
    );
}

#[test]
fn at_most_a_hundred_problems_are_shown_per_file() {
    let text = format!("{{\"Statement\":[{}]}}", vec!["{}"; 150].join(","));
    let o = gatehouse(&["policy", "validate", "-"], Some(text.as_bytes()));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert_eq!(
        out.matches("MalformedPolicyDocument: Syntax errors in policy.")
            .count(),
        100
    );
    assert!(out.ends_with("-: and 50 more problems\n"), "{out}");
    let o = gatehouse(
        &["policy", "validate", "--format", "json", "-"],
        Some(text.as_bytes()),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["errors"].as_array().map(Vec::len), Some(100));
    assert_eq!(v[0]["omitted"], 50);
}

#[test]
fn inline_size_message_names_the_entity() {
    let actions: Vec<String> = (0..150)
        .map(|i| format!("\"s3:GetObject{i:04}\""))
        .collect();
    let text = format!(
        "{{\"Statement\":{{\"Effect\":\"Allow\",\"Action\":[{}],\"Resource\":\"*\"}}}}",
        actions.join(",")
    );
    let o = gatehouse(
        &["policy", "validate", "--kind", "inline-user", "-"],
        Some(text.as_bytes()),
    );
    assert!(stdout(&o).contains("Maximum policy size of 2048 bytes exceeded for user <name>"));
    let o = gatehouse(
        &[
            "policy",
            "validate",
            "--kind",
            "inline-user",
            "--entity-name",
            "alice",
            "-",
        ],
        Some(text.as_bytes()),
    );
    assert!(stdout(&o).contains("Maximum policy size of 2048 bytes exceeded for user alice"));
}

fn cases_dir() -> String {
    format!(
        "{}/../gatehouse-engine/tests/cases",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The engine's decision-case corpus, run as users run it.
#[test]
fn decision_case_corpus_passes() {
    let o = gatehouse(&["test", &cases_dir()], None);
    let out = stdout(&o);
    let last = out.lines().last().unwrap_or("");
    assert_eq!(o.status.code(), Some(0), "{out}");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 300, "{last}");
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
}

const CASE: &str = r#"{"name": "PassRole to another service",
 "policies": {"identity": [{"file": "FULL"}]},
 "request": {"principal": "arn:aws:iam::111122223333:user/dev", "action": "iam:PassRole",
             "resource": "arn:aws:iam::111122223333:role/r",
             "context": {"iam:PassedToService": "ec2.amazonaws.com"}},
 "expect": "Allow"}"#;

#[test]
fn eval_explains_an_implicit_deny() {
    let dir = tempfile::tempdir().unwrap();
    let case = write(
        &dir,
        "c.json",
        CASE.replace("FULL", &corpus_file("AmazonQFullAccess.json"))
            .as_bytes(),
    );
    let o = gatehouse(&["eval", &case], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("decision: ImplicitDeny (because no identity-based policy allows the iam:PassRole action)"), "{out}");
    assert!(out.contains("(AllowPassRoleToAmazonQ) Allow: condition StringEquals iam:PassedToService: policy values [\"q.amazonaws.com\"], request values [\"ec2.amazonaws.com\"]"), "{out}");

    let o = gatehouse(&["eval", "--format", "json", &case], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision"], "ImplicitDeny");
    // Only the PassRole statement names iam actions: it is the one near miss.
    assert_eq!(v["near_misses"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["near_misses"][0]["failed"]["element"], "Condition");
    assert_eq!(v["near_misses"][0]["failed"]["key"], "iam:PassedToService");

    // The same case through `gatehouse test`: a failure, explained, exit 1.
    let o = gatehouse(&["test", &case], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("expected Allow, got ImplicitDeny"), "{out}");
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
}

/// The seed's question: why may a developer not create a plugin? The statement about q actions
/// almost applied, and the explanation lists what it does allow.
#[test]
fn eval_explains_an_action_that_is_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let case = format!(
        r#"{{"policies": {{"identity": [{{"file": "{}"}}]}},
        "request": {{"principal": "arn:aws:iam::111122223333:user/dev", "action": "q:CreatePlugin"}},
        "expect": "ImplicitDeny"}}"#,
        corpus_file("AmazonQDeveloperAccess.json")
    );
    let case = write(&dir, "c.json", case.as_bytes());
    let o = gatehouse(&["eval", "--format", "json", &case], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision"], "ImplicitDeny");
    let miss = &v["near_misses"][0];
    assert_eq!(miss["sid"], "AllowAmazonQDeveloperAccess", "{v}");
    assert_eq!(miss["failed"]["element"], "Action");
    assert_eq!(miss["failed"]["requested"], "q:CreatePlugin");
    assert!(
        miss["failed"]["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "q:SendMessage"),
        "{v}"
    );
    let o = gatehouse(&["eval", &case], None);
    assert!(
        stdout(&o).contains("Action [\"q:StartConversation\""),
        "{}",
        stdout(&o)
    );
}

#[test]
fn eval_reports_missing_context_keys() {
    let dir = tempfile::tempdir().unwrap();
    let case = CASE
        .replace("FULL", &corpus_file("AmazonQFullAccess.json"))
        .replace(
            r#""context": {"iam:PassedToService": "ec2.amazonaws.com"}"#,
            r#""context": {}"#,
        );
    let case = write(&dir, "c.json", case.as_bytes());
    let o = gatehouse(&["eval", "--format", "json", &case], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["missing_context"],
        serde_json::json!(["iam:PassedToService"])
    );
}

#[test]
fn eval_rejects_bad_cases_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let bad_policy = r#"{"policies": {"identity": [{"name": "P", "document":
  {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:List:Bucket", "Resource": "*"}}}]},
 "request": {"principal": "arn:aws:iam::111122223333:user/dev", "action": "s3:ListBucket"}}"#;
    let case = write(&dir, "bad.json", bad_policy.as_bytes());
    let o = gatehouse(&["eval", &case], None);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.json:2:"), "{err}");
    assert!(
        err.contains("Actions/Condition can contain only one colon."),
        "{err}"
    );

    for (text, needle) in [
        ("{", "EOF while parsing"),
        (
            r#"{"policies": {}, "request": {"principal": "arn:aws:iam::111122223333:user/dev", "action": "a:b"}}"#,
            "at least one policy",
        ),
        (
            r#"{"policies": {"identity": [{"document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}}]}, "request": {"principal": "bob", "action": "a:b"}}"#,
            "cannot read principal",
        ),
        (
            r#"{"policies": {"identity": [{"file": "missing.json"}]}, "request": {"principal": "arn:aws:iam::111122223333:user/dev", "action": "a:b"}}"#,
            "missing.json",
        ),
        (
            r#"{"policies": {"identity": [{"document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}}]}, "request": {"principal": "arn:aws:iam::111122223333:user/dev", "action": "a:b"}, "expect": "Maybe"}"#,
            "expect must be",
        ),
        (
            r#"{"policies": {"identity": []}, "request": {"principal": "arn:aws:iam::111122223333:user/dev", "action": "a:b"}, "extra": 1}"#,
            "unknown field `extra`",
        ),
    ] {
        let case = write(&dir, "bad.json", text.as_bytes());
        let o = gatehouse(&["eval", &case], None);
        assert_eq!(o.status.code(), Some(2), "{text}");
        assert!(stderr(&o).contains(needle), "{text}: {}", stderr(&o));
    }
}

/// `gatehouse provider publish` loads the catalog on first start and publishes new default
/// versions; the store refuses an invalid document.
#[test]
fn provider_publish_makes_a_new_default_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let doc = write(
        &dir,
        "v.json",
        br#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "q:SendMessage", "Resource": "*"}}"#,
    );
    let publish = |file: &str| {
        gatehouse(
            &[
                "provider",
                "publish",
                "--data-dir",
                data,
                "--policy",
                "AmazonQDeveloperAccess",
                "--document",
                file,
                "--description",
                "Only SendMessage",
            ],
            None,
        )
    };
    // A dry run first: it reports and publishes nothing.
    let o = gatehouse(
        &[
            "provider",
            "publish",
            "--data-dir",
            data,
            "--policy",
            "AmazonQDeveloperAccess",
            "--document",
            &doc,
            "--dry-run",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .starts_with("arn:aws:iam::aws:policy/AmazonQDeveloperAccess (from v7): Narrowed: -"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("reaches 0 identities in 0 accounts"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("loaded the provider catalog: 1568 policies"),
        "{}",
        stderr(&o)
    );
    let o = publish(&doc);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(
            "published AmazonQDeveloperAccess v8 (default)\narn:aws:iam::aws:policy/AmazonQDeveloperAccess (from v7): Narrowed"
        ),
        "the dry run published nothing: {}",
        stdout(&o)
    );
    let o = publish(&doc);
    assert!(
        stdout(&o).starts_with(
            "published AmazonQDeveloperAccess v9 (default)\narn:aws:iam::aws:policy/AmazonQDeveloperAccess (from v8): NoChange\n"
        ),
        "{}",
        stdout(&o)
    );
    assert!(
        !stderr(&o).contains("loaded"),
        "the catalog loads on first start only"
    );
    let bad = write(&dir, "bad.json", INVALID.as_bytes());
    let o = publish(&bad);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("MalformedPolicyDocument"),
        "{}",
        stderr(&o)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// `gatehouse serve` starts on its defaults in a data directory, writes the root credentials
/// (mode 0600), answers, and stops cleanly on SIGTERM.
#[cfg(unix)]
#[test]
fn serve_starts_answers_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("gatehouse: serving IAM and STS on http://") {
            break rest.split(' ').next().unwrap().to_string();
        }
    };
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.ends_with("ok\n"),
        "{reply}"
    );
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("root-credentials.json")).unwrap())
            .unwrap();
    assert_eq!(creds["AccountId"].as_str().unwrap().len(), 12);
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("AKIA"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("root-credentials.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(lines.any(|l| l.unwrap() == "gatehouse: stopped"));
}

/// `gatehouse policy diff` compares versions of the shipped catalog or files, and exits 1 when
/// the permissions differ; `gatehouse policy history` lists every version with its
/// classification, from the catalog or from a data directory.
#[test]
fn policy_diff_and_history() {
    let o = gatehouse(
        &[
            "policy",
            "diff",
            "AmazonQFullAccess@v2",
            "AmazonQFullAccess@v3",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("Mixed: +2 allowed, -"), "{out}");
    assert!(out.contains("\nNo longer allowed ("), "{out}");
    assert!(out.contains("\n  q:CreatePlugin\n"), "{out}");
    let o = gatehouse(
        &[
            "policy",
            "diff",
            "--format",
            "json",
            "AmazonQFullAccess@v7",
            "AmazonQFullAccess@v9",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(d["Classification"], "NoChange");
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.json", br#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#);
    let b = write(&dir, "b.json", br#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}}"#);
    let o = gatehouse(&["policy", "diff", &a, &b], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Reworded\n");
    let o = gatehouse(&["policy", "diff", &a, "AmazonQFullAccess@v99"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("AmazonQFullAccess has no recorded version v99"),
        "{}",
        stderr(&o)
    );
    let bad = write(&dir, "bad.json", b"{");
    let o = gatehouse(&["policy", "diff", &a, &bad], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: new document: line 1, column"),
        "{}",
        stderr(&o)
    );

    let o = gatehouse(&["policy", "history", "AmazonQFullAccess"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "AmazonQFullAccess (arn:aws:iam::aws:policy/AmazonQFullAccess): 10 versions recorded"
    );
    assert!(lines[1].starts_with("v12   2026-05-20  Expanded "), "{out}");
    assert!(
        out.contains("v2    2024-04-29  Expanded       Additional permissions have been added to enable subscriptions checks for Amazon Q Developer. (announced 2024-04-30)"),
        "{out}"
    );
    let o = gatehouse(
        &[
            "policy",
            "history",
            "--format",
            "json",
            "AmazonQDeveloperAccess",
        ],
        None,
    );
    let h: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ids: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["VersionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["v1", "v2", "v3", "v4", "v5", "v6", "v7"]);
    let o = gatehouse(&["policy", "history", "NoSuchPolicy"], None);
    assert_eq!(o.status.code(), Some(2));
}

/// `gatehouse reference diff` lists the shipped policies whose wildcards grant the actions a
/// new reference adds, and exits 1 when there are any.
#[test]
fn reference_diff_reports_what_wildcards_now_grant() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/service-reference.json"),
    )
    .unwrap();
    let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
    file["services"]["s3"]["actions"]["GetSomethingNew"] =
        serde_json::json!({"accessLevel": "Read"});
    let new = write(&dir, "new.json", file.to_string().as_bytes());
    let o = gatehouse(&["reference", "diff", "embedded", &new], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("1 actions added, 0 removed; "), "{out}");
    assert!(
        out.contains("  arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess [aws]\n    now grants: s3:GetSomethingNew (by s3:get*)\n"),
        "{out}"
    );
    let o = gatehouse(&["reference", "diff", "embedded", "embedded"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "0 actions added, 0 removed; 0 policies now grant added actions\n"
    );
    let o = gatehouse(
        &["reference", "diff", "embedded", "/no/such/file.json"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
}

/// `gatehouse check`: PASS exits 0, FAIL 1 with a counterexample, UNDECIDED 3.
#[test]
fn exact_checks_exit_by_their_verdict() {
    let o = gatehouse(
        &[
            "check",
            "no-new-access",
            "AmazonQDeveloperAccess@v7",
            "--reference",
            "AmazonQFullAccess@v12",
        ],
        None,
    );
    assert_eq!(
        (o.status.code(), stdout(&o)),
        (Some(0), "PASS\n".to_string()),
        "{}",
        stderr(&o)
    );
    let o = gatehouse(
        &[
            "check",
            "no-new-access",
            "AmazonQFullAccess@v12",
            "--reference",
            "AmazonQDeveloperAccess@v7",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\n  q:CreatePlugin on * as arn:aws:iam::123456789012:user/gatehouse-check: Allow (reference: ImplicitDeny)\n"),
        "{}",
        stdout(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "p.json", br#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}}"#);
    let o = gatehouse(
        &[
            "check",
            "access-not-granted",
            &p,
            "--action",
            "iam:PassRole",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("UNDECIDED\n"), "{}", stdout(&o));
    let o = gatehouse(
        &[
            "check",
            "access-not-granted",
            &p,
            "--action",
            "s3:GetObject",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["Result"], "Holds");
}

/// `gatehouse policy generate` refuses a window it cannot read, and a principal the store
/// does not have, with a clear error and exit 2.
#[test]
fn policy_generate_bad_input_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let arn = "arn:aws:iam::111122223333:user/nobody";
    let o = gatehouse(
        &[
            "policy",
            "generate",
            "--principal",
            arn,
            "--since",
            "soon",
            "--data-dir",
            data,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--since \"soon\""), "{}", stderr(&o));
    let o = gatehouse(
        &["policy", "generate", "--principal", arn, "--data-dir", data],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("The principal arn:aws:iam::111122223333:user/nobody cannot be found."),
        "{}",
        stderr(&o)
    );
}
