//! Property tests on random policies and requests:
//! - the indexed fast path agrees with a plain reference evaluator written here from the spec
//!   (iam-spec §2-§3, §5.3), independently of the engine's matchers;
//! - the indexed path agrees with the engine's own unindexed path over every layer;
//! - adding a Deny statement never turns a decision into Allow;
//! - the order of statements and policies never changes a decision.

use std::sync::Arc;

use gatehouse_engine::{
    CompiledPolicy, Context, DecisionKind, Layers, PolicySet, Request, RequestPrincipal, Values,
    decide, decide_unindexed, explain,
};
use gatehouse_policy::parse_policy;
use proptest::prelude::*;
use serde_json::{Value as J, json};

const ACTION_PATTERNS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:*",
    "s3:Get*",
    "*",
    "ec2:RunInstances",
    "ec2:*Instances",
    "q:SendMessage",
    "q:Send?essage",
    "Q:SENDMESSAGE",
    "iam:PassRole",
    "s?:GetObject",
    "kms:*",
];
const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "ec2:RunInstances",
    "ec2:StopInstances",
    "q:SendMessage",
    "iam:PassRole",
    "kms:Decrypt",
];
const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b?/*",
    "arn:aws:ec2:*:111122223333:instance/*",
    "arn:aws:ec2:us-east-1:*:*",
    "arn:aws:s3:::${aws:username}/*",
    "arn:aws:iam::111122223333:role/*",
    "arn:aws:*",
    "arn:aws:s3:::*/x",
];
const RESOURCES: &[Option<&str>] = &[
    None,
    Some("arn:aws:s3:::b/k"),
    Some("arn:aws:s3:::b1/x"),
    Some("arn:aws:s3:::dev/x"),
    Some("arn:aws:ec2:us-east-1:111122223333:instance/i-1"),
    Some("arn:aws:iam::111122223333:role/r"),
];
const PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:user/dev",
    "arn:aws:iam::111122223333:user/ops",
    "arn:aws:sts::111122223333:assumed-role/r/s",
];
const POLICY_PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS": "111122223333"}"#,
    r#"{"AWS": "arn:aws:iam::111122223333:user/dev"}"#,
    r#"{"AWS": "arn:aws:iam::111122223333:role/r"}"#,
    r#"{"AWS": "arn:aws:iam::444455556666:root"}"#,
    r#"{"Service": "q.amazonaws.com"}"#,
];

/// (operator, key, value pool)
const CONDITIONS: &[(&str, &str, &[&str])] = &[
    ("StringEquals", "k1", &["a", "b", "A"]),
    ("StringNotEquals", "k1", &["a", "c"]),
    ("StringLike", "k2", &["a*", "?b", "*"]),
    ("StringNotLike", "k2", &["a*", "x?"]),
    ("StringEqualsIgnoreCase", "k1", &["A", "b"]),
    ("StringEquals", "aws:username", &["dev", "ops"]),
    ("StringLike", "k1", &["${aws:username}", "a"]),
    ("NumericLessThan", "n1", &["10", "2.5"]),
    ("NumericGreaterThanEquals", "n1", &["3"]),
    ("Bool", "b1", &["true", "false"]),
    ("Null", "k1", &["true", "false"]),
    ("Null", "k2", &["true"]),
    (
        "IpAddress",
        "aws:SourceIp",
        &["10.0.0.0/8", "2001:db8::/32"],
    ),
    ("NotIpAddress", "aws:SourceIp", &["10.1.0.0/16"]),
];
const STRING_VALUES: &[&str] = &["a", "b", "A", "ab", "xb", "dev", ""];

fn condition_block() -> impl Strategy<Value = (String, String, Vec<String>)> {
    (
        0..CONDITIONS.len(),
        0..3usize,
        any::<bool>(),
        prop::collection::vec(0..3usize, 1..3),
    )
        .prop_map(|(i, q, if_exists, picks)| {
            let (op, key, pool) = CONDITIONS[i];
            let mut name = op.to_string();
            if op != "Null" {
                name = format!("{}{name}", ["", "ForAnyValue:", "ForAllValues:"][q]);
                if if_exists {
                    name.push_str("IfExists");
                }
            }
            let mut values: Vec<String> = picks
                .iter()
                .map(|&p| pool[p % pool.len()].to_string())
                .collect();
            values.dedup();
            (name, key.to_string(), values)
        })
}

#[derive(Clone, Debug)]
struct GenStatement {
    allow: bool,
    not_action: bool,
    actions: Vec<&'static str>,
    not_resource: bool,
    resources: Vec<&'static str>,
    principal: Option<&'static str>,
    conditions: Vec<(String, String, Vec<String>)>,
}

fn statement(with_principal: bool) -> impl Strategy<Value = GenStatement> {
    (
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.1),
        prop::collection::vec(prop::sample::select(ACTION_PATTERNS), 1..4),
        prop::bool::weighted(0.1),
        prop::collection::vec(prop::sample::select(RESOURCE_PATTERNS), 1..3),
        prop::sample::select(POLICY_PRINCIPALS),
        prop::collection::vec(condition_block(), 0..3),
    )
        .prop_map(
            move |(allow, not_action, actions, not_resource, resources, p, conditions)| {
                // One test per operator and key, as the JSON object keeps it (the last one wins).
                let mut unique: Vec<(String, String, Vec<String>)> = Vec::new();
                for c in conditions.into_iter().rev() {
                    if !unique.iter().any(|u| u.0 == c.0 && u.1 == c.1) {
                        unique.push(c);
                    }
                }
                let conditions = unique;
                GenStatement {
                    allow,
                    not_action,
                    actions,
                    not_resource,
                    resources,
                    principal: with_principal.then_some(p),
                    conditions,
                }
            },
        )
}

fn to_json(statements: &[GenStatement]) -> String {
    let sts: Vec<J> = statements
        .iter()
        .map(|s| {
            let mut o = serde_json::Map::new();
            o.insert(
                "Effect".into(),
                json!(if s.allow { "Allow" } else { "Deny" }),
            );
            o.insert(
                if s.not_action { "NotAction" } else { "Action" }.into(),
                json!(s.actions),
            );
            o.insert(
                if s.not_resource {
                    "NotResource"
                } else {
                    "Resource"
                }
                .into(),
                json!(s.resources),
            );
            if let Some(p) = s.principal {
                o.insert("Principal".into(), serde_json::from_str(p).unwrap());
            }
            if !s.conditions.is_empty() {
                let mut c = serde_json::Map::new();
                for (op, key, values) in &s.conditions {
                    let block = c.entry(op.clone()).or_insert_with(|| json!({}));
                    block[key.as_str()] = json!(values);
                }
                o.insert("Condition".into(), J::Object(c));
            }
            J::Object(o)
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": sts}).to_string()
}

#[derive(Clone, Debug)]
struct GenRequest {
    principal: &'static str,
    action: &'static str,
    resource: Option<&'static str>,
    context: Vec<(&'static str, Option<Vec<&'static str>>)>,
}

/// A key's value: absent, single, or a list (possibly empty).
fn key_value(pool: &'static [&'static str]) -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop_oneof![
        Just(None),
        prop::sample::select(pool).prop_map(|v| Some(vec![v])),
        prop::collection::vec(prop::sample::select(pool), 0..3).prop_map(Some),
    ]
}

fn request() -> impl Strategy<Value = GenRequest> {
    (
        prop::sample::select(PRINCIPALS),
        prop::sample::select(ACTIONS),
        prop::sample::select(RESOURCES),
        key_value(STRING_VALUES),
        key_value(STRING_VALUES),
        key_value(&["1", "3", "2.5", "20", "x"]),
        key_value(&["true", "false", "TRUE"]),
        key_value(&["10.1.2.3", "192.168.0.1", "2001:db8::7"]),
    )
        .prop_map(
            |(principal, action, resource, k1, k2, n1, b1, ip)| GenRequest {
                principal,
                action,
                resource,
                context: vec![
                    ("k1", k1),
                    ("K2", k2),
                    ("n1", n1),
                    ("b1", b1),
                    ("aws:SourceIp", ip),
                ],
            },
        )
}

fn build_request(r: &GenRequest, has_boundary: bool) -> Request {
    let mut ctx = Context::new();
    for (k, v) in &r.context {
        // A one-element list is given as a single value half of the time: both must work.
        match v {
            None => {}
            Some(vs) if vs.len() == 1 => {
                ctx.set(k, vs[0]);
            }
            Some(vs) => {
                ctx.set_multi(k, vs.iter().copied());
            }
        }
    }
    Request::new(
        RequestPrincipal::parse(r.principal).unwrap(),
        r.action,
        r.resource,
        ctx,
    )
    .with_boundary(has_boundary)
}

fn compile(name: &str, statements: &[GenStatement]) -> Arc<CompiledPolicy> {
    let text = to_json(statements);
    let policy = parse_policy(&text).unwrap();
    Arc::new(CompiledPolicy::compile(name, None, &policy))
}

fn set_of(policies: &[Vec<GenStatement>], prefix: &str) -> PolicySet {
    PolicySet::new(
        policies
            .iter()
            .enumerate()
            .map(|(i, p)| compile(&format!("{prefix}{i}"), p)),
    )
}

// ---- The reference evaluator: plain, unindexed, written from the spec. ----

/// `*` and `?` glob over characters, by dynamic programming.
fn glob(p: &str, t: &str) -> bool {
    let p: Vec<char> = p.chars().collect();
    let t: Vec<char> = t.chars().collect();
    let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        dp[i][0] = dp[i - 1][0] && p[i - 1] == '*';
        for j in 1..=t.len() {
            dp[i][j] = match p[i - 1] {
                '*' => dp[i - 1][j] || dp[i][j - 1],
                '?' => dp[i - 1][j - 1],
                c => dp[i - 1][j - 1] && c == t[j - 1],
            };
        }
    }
    dp[p.len()][t.len()]
}

/// The request's values for a key: absent, or a list.
fn values(r: &GenRequest, key: &str) -> Option<Vec<String>> {
    if key.eq_ignore_ascii_case("aws:username") {
        return r
            .principal
            .strip_prefix("arn:aws:iam::111122223333:user/")
            .map(|u| vec![u.to_string()]);
    }
    r.context
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.clone())
        .map(|v| v.iter().map(|s| s.to_string()).collect())
}

fn username(r: &GenRequest) -> Option<String> {
    values(r, "aws:username").and_then(|v| v.first().cloned())
}

fn ref_resource(pattern: &str, r: &GenRequest) -> bool {
    if pattern == "*" {
        return true;
    }
    let Some(res) = r.resource else { return false };
    let pf: Vec<&str> = pattern.splitn(6, ':').collect();
    let rf: Vec<&str> = res.splitn(6, ':').collect();
    if rf.len() < 6 || pf.len() < 2 {
        return glob(pattern, res);
    }
    for (i, f) in pf.iter().enumerate() {
        let mut f = f.to_string();
        if i == 5 && f.contains("${aws:username}") {
            match username(r) {
                Some(u) => f = f.replace("${aws:username}", &u),
                None => return false,
            }
        }
        let text = if i + 1 == pf.len() {
            rf[i..].join(":")
        } else {
            rf[i].to_string()
        };
        if !glob(&f, &text) {
            return false;
        }
    }
    true
}

fn ref_condition(op: &str, key: &str, policy: &[String], r: &GenRequest) -> bool {
    let vals = values(r, key);
    if op == "Null" {
        let absent = vals.as_ref().is_none_or(|v| v.is_empty());
        return policy
            .iter()
            .any(|p| p == if absent { "true" } else { "false" });
    }
    let (qual, rest) = if let Some(x) = op.strip_prefix("ForAnyValue:") {
        (1, x)
    } else if let Some(x) = op.strip_prefix("ForAllValues:") {
        (2, x)
    } else {
        (0, op)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let negated = base.contains("Not");
    let Some(xs) = vals else {
        return if if_exists {
            true
        } else {
            [negated, false, true][qual]
        };
    };
    // Policy values with an unresolvable variable drop out.
    let policy: Vec<String> = policy
        .iter()
        .filter_map(|p| {
            if p.contains("${aws:username}") {
                username(r).map(|u| p.replace("${aws:username}", &u))
            } else {
                Some(p.clone())
            }
        })
        .collect();
    let num = |s: &str| s.parse::<f64>().ok();
    let m = |x: &str, p: &str| -> bool {
        match base {
            "StringEquals" | "StringNotEquals" => x == p,
            "StringEqualsIgnoreCase" => x.to_lowercase() == p.to_lowercase(),
            "StringLike" | "StringNotLike" => glob(p, x),
            "NumericLessThan" => matches!((num(x), num(p)), (Some(a), Some(b)) if a < b),
            "NumericGreaterThanEquals" => matches!((num(x), num(p)), (Some(a), Some(b)) if a >= b),
            "Bool" => x.eq_ignore_ascii_case(p),
            "IpAddress" | "NotIpAddress" => {
                let net: ipnet::IpNet = p.parse().unwrap();
                x.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| net.contains(&ip))
            }
            other => panic!("reference has no {other}"),
        }
    };
    let pos = |x: &String| policy.iter().any(|p| m(x, p));
    match qual {
        0 => xs.iter().any(pos) != negated,
        1 => xs.iter().any(|x| pos(x) != negated),
        _ => xs.iter().all(|x| pos(x) != negated),
    }
}

fn ref_applies(s: &GenStatement, r: &GenRequest) -> bool {
    let a = r.action.to_lowercase();
    let action = s.actions.iter().any(|p| glob(&p.to_lowercase(), &a)) != s.not_action;
    let resource = s.resources.iter().any(|p| ref_resource(p, r)) != s.not_resource;
    action
        && resource
        && s.conditions
            .iter()
            .all(|(op, key, vals)| ref_condition(op, key, vals, r))
}

/// Identity policies alone: a Deny wins, else an Allow allows, else implicit deny (§5.3).
fn reference(policies: &[Vec<GenStatement>], r: &GenRequest) -> DecisionKind {
    let applied: Vec<&GenStatement> = policies
        .iter()
        .flatten()
        .filter(|s| ref_applies(s, r))
        .collect();
    if applied.iter().any(|s| !s.allow) {
        DecisionKind::ExplicitDeny
    } else if applied.iter().any(|s| s.allow) {
        DecisionKind::Allow
    } else {
        DecisionKind::ImplicitDeny
    }
}

fn identity_policies() -> impl Strategy<Value = Vec<Vec<GenStatement>>> {
    prop::collection::vec(prop::collection::vec(statement(false), 1..5), 1..4)
}

#[derive(Clone, Debug)]
struct GenLayers {
    identity: Vec<Vec<GenStatement>>,
    resource: Option<Vec<GenStatement>>,
    trust: bool,
    boundary: Option<Vec<GenStatement>>,
    session: Option<Vec<GenStatement>>,
    scp: Vec<Vec<GenStatement>>,
}

fn layers() -> impl Strategy<Value = GenLayers> {
    (
        identity_policies(),
        prop::option::of(prop::collection::vec(statement(true), 1..4)),
        any::<bool>(),
        prop::option::of(prop::collection::vec(statement(false), 1..3)),
        prop::option::of(prop::collection::vec(statement(false), 1..3)),
        prop::collection::vec(prop::collection::vec(statement(false), 1..3), 0..3),
    )
        .prop_map(
            |(identity, resource, trust, boundary, session, scp)| GenLayers {
                identity,
                resource,
                trust,
                boundary,
                session,
                scp,
            },
        )
}

struct Built {
    identity: PolicySet,
    resource: Option<PolicySet>,
    trust: bool,
    boundary: Option<PolicySet>,
    session: Option<PolicySet>,
    scp: Vec<PolicySet>,
}

impl Built {
    fn new(g: &GenLayers) -> Built {
        Built {
            identity: set_of(&g.identity, "id"),
            resource: g
                .resource
                .as_ref()
                .map(|r| set_of(std::slice::from_ref(r), "res")),
            trust: g.trust,
            boundary: g
                .boundary
                .as_ref()
                .map(|b| set_of(std::slice::from_ref(b), "pb")),
            session: g
                .session
                .as_ref()
                .map(|s| set_of(std::slice::from_ref(s), "sess")),
            scp: g
                .scp
                .iter()
                .map(|l| set_of(std::slice::from_ref(l), "scp"))
                .collect(),
        }
    }

    fn layers(&self) -> Layers<'_> {
        Layers {
            identity: Some(&self.identity),
            resource: self.resource.as_ref(),
            resource_is_trust: self.trust,
            boundary: self.boundary.as_ref(),
            session: self.session.as_ref(),
            scp: &self.scp,
            rcp: &[],
        }
    }
}

fn decision(g: &GenLayers, r: &GenRequest) -> DecisionKind {
    let built = Built::new(g);
    decide(&built.layers(), &build_request(r, g.boundary.is_some())).kind
}

fn deny_everything() -> GenStatement {
    GenStatement {
        allow: false,
        not_action: false,
        actions: vec!["*"],
        not_resource: false,
        resources: vec!["*"],
        principal: None,
        conditions: vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn indexed_path_agrees_with_the_reference(policies in identity_policies(), r in request()) {
        let set = set_of(&policies, "p");
        let layers = Layers { identity: Some(&set), ..Layers::default() };
        let req = build_request(&r, false);
        let expected = reference(&policies, &r);
        let got = decide(&layers, &req);
        prop_assert_eq!(got.kind, expected, "policies: {:?}\nrequest: {:?}\n{}",
            policies.iter().map(|p| to_json(p)).collect::<Vec<_>>(), r,
            serde_json::to_string_pretty(&explain(&layers, &req)).unwrap());
    }

    #[test]
    fn indexed_and_unindexed_paths_agree_on_every_layer(g in layers(), r in request()) {
        let built = Built::new(&g);
        let req = build_request(&r, g.boundary.is_some());
        let fast = decide(&built.layers(), &req);
        prop_assert_eq!(fast.kind, decide_unindexed(&built.layers(), &req));
        let explained = explain(&built.layers(), &req);
        prop_assert_eq!(fast.kind, explained.decision);
        prop_assert_eq!(fast.reason, explained.reason);
    }

    #[test]
    fn adding_a_deny_never_allows(g in layers(), r in request(), deny in statement(false),
                                  layer in 0..4usize) {
        let before = decision(&g, &r);
        let mut deny = deny;
        deny.allow = false;
        let mut g2 = g.clone();
        match layer {
            0 => g2.identity[0].push(deny),
            1 => if let Some(b) = &mut g2.boundary { b.push(deny) } else { g2.identity.push(vec![deny]) },
            2 => if let Some(s) = &mut g2.session { s.push(deny) } else { g2.identity.push(vec![deny]) },
            _ => if let Some(l) = g2.scp.first_mut() { l.push(deny) } else { g2.identity.push(vec![deny]) },
        }
        let after = decision(&g2, &r);
        prop_assert!(after != DecisionKind::Allow || before == DecisionKind::Allow,
            "{:?} -> {:?}", before, after);
        // A Deny of everything in the identity layer always denies explicitly.
        let mut g3 = g.clone();
        g3.identity.push(vec![deny_everything()]);
        prop_assert_eq!(decision(&g3, &r), DecisionKind::ExplicitDeny);
    }

    #[test]
    fn order_never_changes_a_decision(g in layers(), r in request(), seed in any::<u64>()) {
        let before = decision(&g, &r);
        let mut g2 = g.clone();
        let mut s = seed | 1;
        let mut next = move |n: usize| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s % n as u64) as usize };
        for p in &mut g2.identity {
            for i in (1..p.len()).rev() { let j = next(i + 1); p.swap(i, j); }
        }
        for i in (1..g2.identity.len()).rev() { let j = next(i + 1); g2.identity.swap(i, j); }
        if let Some(res) = &mut g2.resource { res.reverse(); }
        for l in &mut g2.scp { l.reverse(); }
        prop_assert_eq!(decision(&g2, &r), before);
    }
}

#[test]
fn multivalued_values_are_read_as_given() {
    let mut ctx = Context::new();
    ctx.set_multi("aws:TagKeys", ["a", "b"]);
    assert!(matches!(ctx.get("AWS:TAGKEYS"), Some(Values::Multi(v)) if v.len() == 2));
}

/// The generators reach every outcome often, so the properties above test something.
#[test]
fn generated_cases_reach_every_decision() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut counts = std::collections::HashMap::new();
    for _ in 0..2000 {
        let policies = identity_policies().new_tree(&mut runner).unwrap().current();
        let r = request().new_tree(&mut runner).unwrap().current();
        *counts.entry(reference(&policies, &r)).or_insert(0usize) += 1;
    }
    for kind in [
        DecisionKind::Allow,
        DecisionKind::ExplicitDeny,
        DecisionKind::ImplicitDeny,
    ] {
        let n = counts.get(&kind).copied().unwrap_or(0);
        assert!(
            n >= 200,
            "{kind:?} reached only {n} times of 2000: {counts:?}"
        );
    }
}

/// An action without a service prefix only meets statements checked in full; the index must
/// not take a pattern `svc:` for a match of the action `svc`.
#[test]
fn actions_without_a_service_prefix_agree_on_both_paths() {
    let text = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "svc:", "Resource": "*"},
        {"Effect": "Allow", "Action": "other:*", "Resource": "*"}]}"#;
    let policy = parse_policy(text).unwrap();
    let set = PolicySet::new([Arc::new(CompiledPolicy::compile("P", None, &policy))]);
    let layers = Layers {
        identity: Some(&set),
        ..Layers::default()
    };
    for action in ["svc", "other", "svc:"] {
        let req = Request::new(
            RequestPrincipal::parse(PRINCIPALS[0]).unwrap(),
            action,
            None,
            Context::new(),
        );
        assert_eq!(
            decide(&layers, &req).kind,
            decide_unindexed(&layers, &req),
            "{action}"
        );
    }
}
