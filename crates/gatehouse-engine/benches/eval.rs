//! Evaluation benchmark: Gatehouse's fast path ([`gatehouse_engine::decide`]) against the
//! evaluator of the `iam-rs` 0.8.0 crate, on the same policies and the same requests.
//!
//! Scenarios, one criterion group `eval/<scenario>` each, with the functions `gatehouse` and
//! `iam-rs` (ids `eval/<scenario>/gatehouse`, `eval/<scenario>/iam-rs`):
//! - `seed`: the identity layer is the four Amazon Q managed policies (AmazonQFullAccess,
//!   AmazonQDeveloperAccess, AWSServiceRoleForAmazonQDeveloper,
//!   AWSServiceRoleForUserSubscriptions); a fixed mix of ten requests;
//! - `managed10`: ten real AWS managed policies (ReadOnlyAccess, PowerUserAccess,
//!   AmazonQFullAccess and seven others); 1,000 actions drawn with a fixed-seed LCG from
//!   `data/service-reference.json`, each on a resource ARN built from the action's first
//!   resource type (or `*` when it has none);
//! - `synthetic-N` for N = 10, 100, 1,000, 10,000: one generated set of N statements, split
//!   into policies of at most 100 statements. Ten statements concern S3; the other N - 10
//!   are for other services, drawn from the service reference, with resource ARNs and, on
//!   one statement in four, a condition. Nine S3 requests.
//!
//! One timed iteration decides every request of the scenario once (a batch); the throughput
//! is set to the number of requests, so criterion's time is per batch and its `thrpt` is
//! decisions per second. Per decision = batch time / requests.
//!
//! Everything is built before timing, for both engines: parsed and compiled policies, the
//! indexed `PolicySet`, Gatehouse `Request`s, iam-rs's `PolicyEvaluator` (built once, with
//! `max_statements` raised from its default 1,000 so that 10,000 statements can run) and its
//! `IAMRequest`s. Only the decisions are timed. iam-rs's `evaluate` returns the request cloned
//! into its result; that clone is part of its API and is timed with it.
//!
//! iam-rs derives no context keys from the principal, so each iam-rs request gets the context
//! of the Gatehouse request, derived keys included (`aws:username`, `aws:PrincipalArn`, ...);
//! values `true` and `false` become booleans, which iam-rs's `Bool` operator requires.
//! Requests without a resource (`*`) get the ARN `arn:aws:<service>:::*` in iam-rs, which needs
//! one.
//!
//! Before timing, both engines decide every request and must agree (Allow, explicit Deny,
//! implicit deny / NotApplicable). Where iam-rs fails or disagrees on any request, a warning
//! is printed and the scenario's `iam-rs` function is left out.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_engine::{
    CompiledPolicy, Context, DecisionKind, Layers, PolicySet, Request, RequestPrincipal, Values,
    decide,
};
use serde_json::{Value as Json, json};

/// The caller of every request.
const PRINCIPAL: &str = "arn:aws:iam::111122223333:user/dev";
/// The account of the principal and of the resources.
const ACCOUNT: &str = "111122223333";
/// Statements per generated policy, at most.
const PER_POLICY: usize = 100;
/// Requests of the `managed10` scenario.
const MANAGED_REQUESTS: usize = 1000;

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"))
}

fn read_managed(name: &str) -> String {
    let path = data_dir()
        .join("aws-managed-policies")
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A simple 64-bit LCG (Knuth's MMIX constants); the high bits are used.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One service of the service reference.
struct Service {
    prefix: String,
    /// Action name and the ARN template of its first resource type, if any.
    actions: Vec<(String, Option<String>)>,
    /// Condition keys of the service's own namespace, without variables.
    condition_keys: Vec<String>,
}

fn load_services() -> Vec<Service> {
    let text = std::fs::read_to_string(data_dir().join("service-reference.json"))
        .expect("read service reference");
    let doc: Json = serde_json::from_str(&text).expect("service reference is JSON");
    let services = doc["services"].as_object().expect("services object");
    let mut prefixes: Vec<&String> = services.keys().collect();
    prefixes.sort();
    prefixes
        .into_iter()
        .map(|prefix| {
            let s = &services[prefix];
            let types = s["resourceTypes"].as_object();
            let arn_of = |name: &str| -> Option<String> {
                types?.get(name)?["arn"].as_str().map(str::to_string)
            };
            let mut actions: Vec<(String, Option<String>)> = s["actions"]
                .as_object()
                .map(|a| {
                    a.iter()
                        .map(|(name, action)| {
                            let arn = action["resourceTypes"]
                                .as_array()
                                .and_then(|rts| rts.first())
                                .and_then(|rt| rt["name"].as_str())
                                .and_then(arn_of);
                            (name.clone(), arn)
                        })
                        .collect()
                })
                .unwrap_or_default();
            actions.sort();
            let mut condition_keys: Vec<String> = s["conditionKeys"]
                .as_object()
                .map(|k| {
                    k.keys()
                        .filter(|k| {
                            k.starts_with(&format!("{prefix}:")) && !k.contains(['$', '<', '{'])
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            condition_keys.sort();
            Service {
                prefix: prefix.clone(),
                actions,
                condition_keys,
            }
        })
        .filter(|s| !s.actions.is_empty())
        .collect()
}

/// Fills an ARN template of the service reference: partition, region and account IDs get fixed
/// values, every other variable `${Name}` gets `name_value(Name)`.
fn fill_arn(
    template: &str,
    region: &str,
    account: &str,
    name_value: &dyn Fn(&str) -> String,
) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let var = &after[..end];
        match var {
            "Partition" => out.push_str("aws"),
            "Region" => out.push_str(region),
            // `${Account}`, `${AccountId}`, `${ManagementAccountId}`, ...
            v if v.ends_with("Account") || v.ends_with("AccountId") => out.push_str(account),
            _ => out.push_str(&name_value(var)),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// One request, described once for both engines.
struct Input {
    action: String,
    /// `None`: the action has no resource (`*`).
    resource: Option<String>,
    context: Vec<(&'static str, String)>,
}

impl Input {
    fn new(action: &str, resource: Option<&str>, context: &[(&'static str, &str)]) -> Input {
        Input {
            action: action.to_string(),
            resource: resource.map(str::to_string),
            context: context
                .iter()
                .map(|(k, v)| (*k, (*v).to_string()))
                .collect(),
        }
    }
}

/// A scenario, built for both engines.
struct Scenario {
    name: &'static str,
    set: PolicySet,
    requests: Vec<Request>,
    /// iam-rs's evaluator and requests, when it can run the scenario and agrees.
    iam: Option<(iam_rs::PolicyEvaluator, Vec<iam_rs::IAMRequest>)>,
}

fn gatehouse_request(input: &Input) -> Request {
    let who = RequestPrincipal::parse(PRINCIPAL).expect("principal");
    let mut ctx = Context::new();
    for (k, v) in &input.context {
        ctx.set(k, v.as_str());
    }
    Request::new(who, &input.action, input.resource.as_deref(), ctx)
}

/// The iam-rs request for a Gatehouse request: same action and resource, and the Gatehouse
/// context (derived keys included).
fn iam_request(req: &Request) -> Result<iam_rs::IAMRequest, String> {
    use iam_rs::{Arn, ContextValue, IAMRequest, Principal, PrincipalId};
    let service = req.action().split_once(':').map_or("", |(s, _)| s);
    let resource = match req.resource() {
        Some(r) => Arn::parse(r).map_err(|e| format!("resource {r}: {e}"))?,
        None => Arn::parse(&format!("arn:aws:{service}:::*"))
            .map_err(|e| format!("no-resource ARN for {service}: {e}"))?,
    };
    let mut ctx = iam_rs::Context::new();
    for (key, values) in req.context().iter() {
        let value = match values {
            Values::Single(v) => match v.text() {
                "true" => ContextValue::Boolean(true),
                "false" => ContextValue::Boolean(false),
                t => ContextValue::String(t.to_string()),
            },
            Values::Multi(vs) => {
                ContextValue::StringList(vs.iter().map(|v| v.text().to_string()).collect())
            }
        };
        ctx.insert(key.to_string(), value);
    }
    Ok(IAMRequest::new_with_context(
        Principal::Aws(PrincipalId::String(PRINCIPAL.to_string())),
        req.action(),
        resource,
        ctx,
    ))
}

fn iam_kind(d: iam_rs::Decision) -> DecisionKind {
    match d {
        iam_rs::Decision::Allow => DecisionKind::Allow,
        iam_rs::Decision::Deny => DecisionKind::ExplicitDeny,
        iam_rs::Decision::NotApplicable => DecisionKind::ImplicitDeny,
    }
}

/// Builds a scenario from policy documents and requests, and checks that both engines agree.
fn build(name: &'static str, docs: &[(String, String)], inputs: &[Input]) -> Scenario {
    let compiled: Vec<Arc<CompiledPolicy>> = docs
        .iter()
        .map(|(policy_name, text)| {
            let policy = gatehouse_policy::parse_policy(text)
                .unwrap_or_else(|e| panic!("{name}: gatehouse cannot parse {policy_name}: {e:?}"));
            Arc::new(CompiledPolicy::compile(policy_name, None, &policy))
        })
        .collect();
    let set = PolicySet::new(compiled);
    let requests: Vec<Request> = inputs.iter().map(gatehouse_request).collect();
    let layers = Layers {
        identity: Some(&set),
        ..Layers::default()
    };
    let kinds: Vec<DecisionKind> = requests.iter().map(|r| decide(&layers, r).kind).collect();
    let count = |k: DecisionKind| kinds.iter().filter(|&&x| x == k).count();
    println!(
        "{name}: {} policies, {} statements, {} requests: {} Allow, {} ExplicitDeny, {} ImplicitDeny",
        docs.len(),
        set.statement_count(),
        requests.len(),
        count(DecisionKind::Allow),
        count(DecisionKind::ExplicitDeny),
        count(DecisionKind::ImplicitDeny)
    );

    let iam = build_iam(name, docs, &requests, &kinds);
    Scenario {
        name,
        set,
        requests,
        iam,
    }
}

fn build_iam(
    name: &str,
    docs: &[(String, String)],
    requests: &[Request],
    kinds: &[DecisionKind],
) -> Option<(iam_rs::PolicyEvaluator, Vec<iam_rs::IAMRequest>)> {
    let mut policies = Vec::new();
    for (policy_name, text) in docs {
        match iam_rs::IAMPolicy::from_json(text) {
            Ok(p) => policies.push(p),
            Err(e) => {
                println!("WARNING {name}: iam-rs cannot parse {policy_name}: {e}; iam-rs left out");
                return None;
            }
        }
    }
    let statements: usize = policies.iter().map(|p| p.statement.len()).sum();
    let options = iam_rs::EvaluationOptions {
        // Default 1,000: an error beyond that many statements.
        max_statements: statements.max(1000) + 1000,
        ..iam_rs::EvaluationOptions::default()
    };
    let evaluator = iam_rs::PolicyEvaluator::with_policies(policies).with_options(options);
    let mut iam_requests = Vec::new();
    let mut failures = 0usize;
    for (req, &kind) in requests.iter().zip(kinds) {
        let outcome = iam_request(req).and_then(|ir| {
            let d = evaluator
                .evaluate(&ir)
                .map_err(|e| format!("evaluate: {e}"))?;
            Ok((ir, iam_kind(d.decision)))
        });
        match outcome {
            Ok((ir, k)) if k == kind => iam_requests.push(ir),
            Ok((_, k)) => {
                failures += 1;
                if failures <= 10 {
                    println!(
                        "WARNING {name}: {} on {}: gatehouse {kind:?}, iam-rs {k:?}",
                        req.action(),
                        req.resource().unwrap_or("*")
                    );
                }
            }
            Err(e) => {
                failures += 1;
                if failures <= 10 {
                    println!(
                        "WARNING {name}: {} on {}: iam-rs cannot run it: {e}",
                        req.action(),
                        req.resource().unwrap_or("*")
                    );
                }
            }
        }
    }
    if failures > 0 {
        println!(
            "WARNING {name}: iam-rs fails or disagrees on {failures} of {} requests; \
             iam-rs left out of this scenario",
            requests.len()
        );
        return None;
    }
    println!("{name}: iam-rs agrees on all {} requests", requests.len());
    Some((evaluator, iam_requests))
}

/// The four seed policies and a fixed mix of requests.
fn seed() -> Scenario {
    let docs: Vec<(String, String)> = [
        "AmazonQFullAccess",
        "AmazonQDeveloperAccess",
        "AWSServiceRoleForAmazonQDeveloper",
        "AWSServiceRoleForUserSubscriptions",
    ]
    .iter()
    .map(|n| ((*n).to_string(), read_managed(n)))
    .collect();
    let role = "arn:aws:iam::111122223333:role/QPluginRole";
    let inputs = [
        Input::new("q:SendMessage", None, &[]),
        Input::new("q:CreatePlugin", None, &[]),
        Input::new(
            "iam:PassRole",
            Some(role),
            &[("iam:PassedToService", "q.amazonaws.com")],
        ),
        Input::new(
            "iam:PassRole",
            Some(role),
            &[("iam:PassedToService", "ec2.amazonaws.com")],
        ),
        Input::new(
            "sts:SetContext",
            Some("arn:aws:sts::111122223333:self"),
            &[],
        ),
        Input::new(
            "cloudwatch:PutMetricData",
            None,
            &[("cloudwatch:namespace", "AWS/Q")],
        ),
        Input::new("codewhisperer:GenerateRecommendations", None, &[]),
        Input::new(
            "kms:Decrypt",
            Some("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            &[
                ("kms:ViaService", "sso.us-east-1.amazonaws.com"),
                (
                    "kms:EncryptionContext:aws:sso:instance-arn",
                    "arn:aws:sso:::instance/ssoins-1234567890abcdef",
                ),
            ],
        ),
        Input::new("identitystore:DescribeUser", None, &[]),
        Input::new("s3:GetObject", Some("arn:aws:s3:::bucket/key"), &[]),
    ];
    build("seed", &docs, &inputs)
}

/// Ten real managed policies and 1,000 actions drawn from the service reference.
fn managed10(services: &[Service]) -> Scenario {
    let docs: Vec<(String, String)> = [
        "ReadOnlyAccess",
        "PowerUserAccess",
        "AmazonQFullAccess",
        "AmazonS3FullAccess",
        "AmazonEC2FullAccess",
        "AWSLambda_FullAccess",
        "AmazonDynamoDBFullAccess",
        "AmazonSageMakerFullAccess",
        "AmazonECS_FullAccess",
        "IAMUserChangePassword",
    ]
    .iter()
    .map(|n| ((*n).to_string(), read_managed(n)))
    .collect();
    // Actions whose resources are AWS-owned (`aws` in the account field, 13 ARN formats) are
    // left out: iam-rs cannot express them (it takes only a 12-digit account there), and the
    // two engines must decide the same requests.
    let aws_owned = |arn: &str| arn.split(':').nth(4) == Some("aws");
    let all: Vec<(&str, &str, Option<&str>)> = services
        .iter()
        .flat_map(|s| {
            s.actions
                .iter()
                .filter(|(_, arn)| !arn.as_deref().is_some_and(aws_owned))
                .map(move |(a, arn)| (s.prefix.as_str(), a.as_str(), arn.as_deref()))
        })
        .collect();
    let mut lcg = Lcg(0x9E37_79B9_7F4A_7C15);
    let inputs: Vec<Input> = (0..MANAGED_REQUESTS)
        .map(|_| {
            let (prefix, action, arn) = all[lcg.below(all.len())];
            let resource = arn.map(|t| {
                fill_arn(t, "us-east-1", ACCOUNT, &|var| {
                    format!("example-{}", var.to_ascii_lowercase())
                })
            });
            Input {
                action: format!("{prefix}:{action}"),
                resource,
                context: Vec::new(),
            }
        })
        .collect();
    build("managed10", &docs, &inputs)
}

/// The ten S3 statements of every synthetic set.
fn s3_statements() -> Vec<Json> {
    vec![
        json!({"Sid": "S3Read", "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/*"}),
        json!({"Sid": "S3ListHome", "Effect": "Allow", "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::bucket",
            "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}}),
        json!({"Sid": "S3Upload", "Effect": "Allow", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::bucket/uploads/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}),
        json!({"Sid": "S3Protect", "Effect": "Deny", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": "arn:aws:s3:::bucket/protected/*"}),
        json!({"Sid": "S3Logs", "Effect": "Allow", "Action": "s3:Get*",
            "Resource": "arn:aws:s3:::logs-*/*"}),
        json!({"Sid": "S3TlsOnly", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        json!({"Sid": "S3Versions", "Effect": "Allow",
            "Action": ["s3:GetObjectTagging", "s3:GetObjectVersion"],
            "Resource": "arn:aws:s3:::bucket/*"}),
        json!({"Sid": "S3Home", "Effect": "Allow", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::bucket/home/${aws:username}/*"}),
        json!({"Sid": "S3Partner", "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::other-bucket/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}),
        json!({"Sid": "S3Secret", "Effect": "Deny", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/secret/*"}),
    ]
}

/// A generated statement for a service other than S3.
fn other_statement(index: usize, services: &[Service], lcg: &mut Lcg) -> Json {
    let service = loop {
        let s = &services[lcg.below(services.len())];
        if s.prefix != "s3" {
            break s;
        }
    };
    let n = 1 + lcg.below(3);
    let mut actions = Vec::new();
    let mut arn_template = None;
    for _ in 0..n {
        let (name, arn) = &service.actions[lcg.below(service.actions.len())];
        if arn_template.is_none() {
            arn_template = arn.clone();
        }
        // One action in six is a wildcard on the action's verb.
        let verb_end = name
            .char_indices()
            .skip(1)
            .find(|(_, c)| c.is_ascii_uppercase())
            .map_or(name.len(), |(i, _)| i);
        let action = if lcg.below(6) == 0 {
            format!("{}:{}*", service.prefix, &name[..verb_end])
        } else {
            format!("{}:{name}", service.prefix)
        };
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    let resource = match &arn_template {
        Some(t) if lcg.below(4) != 0 => {
            let region = if lcg.below(2) == 0 { "*" } else { "us-east-1" };
            let pick = lcg.below(3);
            fill_arn(t, region, ACCOUNT, &|var| match pick {
                0 => "*".to_string(),
                1 => format!("prod-{}-*", var.to_ascii_lowercase()),
                _ => format!("team-a-{}", var.to_ascii_lowercase()),
            })
        }
        _ => "*".to_string(),
    };
    let effect = if lcg.below(8) == 0 { "Deny" } else { "Allow" };
    let mut st = json!({
        "Sid": format!("Gen{index}"),
        "Effect": effect,
        "Action": actions,
        "Resource": resource,
    });
    if lcg.below(4) == 0 {
        let condition = match lcg.below(4) {
            0 => json!({"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}),
            1 => json!({"StringEquals": {"aws:ResourceTag/team": "platform"}}),
            2 => json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
            _ => match service.condition_keys.as_slice() {
                [] => json!({"StringEquals": {"aws:PrincipalTag/department": "engineering"}}),
                keys => {
                    let key = &keys[lcg.below(keys.len())];
                    json!({"StringLike": {key.as_str(): ["prod-*", "shared-*"]}})
                }
            },
        };
        st["Condition"] = condition;
    }
    st
}

/// A generated set of `n` statements (ten of them for S3) and nine S3 requests.
fn synthetic(name: &'static str, n: usize, services: &[Service]) -> Scenario {
    let s3 = s3_statements();
    assert!(n >= s3.len());
    let mut lcg = Lcg(0x5EED_0000 + n as u64);
    // The S3 statements are spread evenly through the set.
    let mut statements = Vec::with_capacity(n);
    let mut next_s3 = 0;
    for i in 0..n {
        if next_s3 < s3.len() && i == next_s3 * n / s3.len() {
            statements.push(s3[next_s3].clone());
            next_s3 += 1;
        } else {
            statements.push(other_statement(i, services, &mut lcg));
        }
    }
    let docs: Vec<(String, String)> = statements
        .chunks(PER_POLICY)
        .enumerate()
        .map(|(i, chunk)| {
            let doc = json!({"Version": "2012-10-17", "Statement": chunk});
            (
                format!("Synthetic{i}"),
                serde_json::to_string_pretty(&doc).expect("json"),
            )
        })
        .collect();
    let common: [(&'static str, &str); 4] = [
        ("aws:SecureTransport", "true"),
        ("aws:SourceIp", "10.1.2.3"),
        ("aws:RequestedRegion", "us-east-1"),
        ("aws:MultiFactorAuthPresent", "true"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &str)> {
        common.iter().chain(extra).copied().collect()
    };
    let inputs = [
        Input::new("s3:GetObject", Some("arn:aws:s3:::bucket/key"), &with(&[])),
        Input::new(
            "s3:GetObject",
            Some("arn:aws:s3:::bucket/secret/plan.txt"),
            &with(&[]),
        ),
        Input::new(
            "s3:PutObject",
            Some("arn:aws:s3:::bucket/uploads/a.txt"),
            &with(&[("s3:x-amz-acl", "bucket-owner-full-control")]),
        ),
        Input::new(
            "s3:PutObject",
            Some("arn:aws:s3:::bucket/uploads/b.txt"),
            &with(&[]),
        ),
        Input::new(
            "s3:DeleteObject",
            Some("arn:aws:s3:::bucket/protected/x"),
            &with(&[]),
        ),
        Input::new(
            "s3:GetObject",
            Some("arn:aws:s3:::logs-2026/app.log"),
            &with(&[]),
        ),
        Input::new(
            "s3:PutObject",
            Some("arn:aws:s3:::bucket/home/dev/notes.txt"),
            &with(&[]),
        ),
        Input::new(
            "s3:GetObject",
            Some("arn:aws:s3:::other-bucket/report.csv"),
            &with(&[]),
        ),
        Input::new(
            "s3:ListBucket",
            Some("arn:aws:s3:::bucket"),
            &with(&[("s3:prefix", "home/other/")]),
        ),
    ];
    build(name, &docs, &inputs)
}

fn run(c: &mut Criterion, scenario: &Scenario) {
    let layers = Layers {
        identity: Some(&scenario.set),
        ..Layers::default()
    };
    let requests = &scenario.requests;
    let mut group = c.benchmark_group(format!("eval/{}", scenario.name));
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("gatehouse", |b| {
        b.iter(|| {
            for r in requests {
                black_box(decide(black_box(&layers), black_box(r)).kind);
            }
        });
    });
    if let Some((evaluator, iam_requests)) = &scenario.iam {
        group.bench_function("iam-rs", |b| {
            b.iter(|| {
                for r in iam_requests {
                    black_box(
                        evaluator
                            .evaluate(black_box(r))
                            .map(|res| res.decision)
                            .ok(),
                    );
                }
            });
        });
    }
    group.finish();
}

fn eval(c: &mut Criterion) {
    let services = load_services();
    let scenarios = [
        seed(),
        managed10(&services),
        synthetic("synthetic-10", 10, &services),
        synthetic("synthetic-100", 100, &services),
        synthetic("synthetic-1000", 1000, &services),
        synthetic("synthetic-10000", 10_000, &services),
    ];
    for s in &scenarios {
        run(c, s);
    }
}

criterion_group!(benches, eval);
criterion_main!(benches);
