//! Lint findings in the spirit of IAM Access Analyzer's policy validation: ERROR (a part of the
//! policy that cannot work), SECURITY_WARNING (access wider than it looks), WARNING (against
//! good practice), SUGGESTION (style that changes nothing), each with an issue code and the
//! line and column of what it is about. Checked against the service reference Gatehouse
//! ships. The codes and severities are listed in docs/compatibility.md.

use std::collections::BTreeSet;

use gatehouse_policy::{
    ConditionValue, Effect, Family, LineIndex, OperatorName, Policy, SetQualifier, Span, Statement,
    Version, parse_policy,
};
use serde::Serialize;

use crate::permissions::{grant_covers, grant_of, pattern_covers, patterns_overlap};
use crate::reference::ServiceReference;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum FindingType {
    /// A part of the policy does not work.
    #[serde(rename = "ERROR")]
    Error,
    /// The policy allows more than it seems to.
    #[serde(rename = "SECURITY_WARNING")]
    SecurityWarning,
    /// Against good practice.
    #[serde(rename = "WARNING")]
    Warning,
    /// Style; changes no access.
    #[serde(rename = "SUGGESTION")]
    Suggestion,
}

impl FindingType {
    /// As Access Analyzer prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingType::Error => "ERROR",
            FindingType::SecurityWarning => "SECURITY_WARNING",
            FindingType::Warning => "WARNING",
            FindingType::Suggestion => "SUGGESTION",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    /// Its type.
    pub finding_type: FindingType,
    /// The issue code (`INVALID_ACTION`).
    pub issue_code: &'static str,
    /// What is wrong, and what to do.
    pub message: String,
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

/// The documented global condition keys and their types (AWS's "global condition context
/// keys" page; the service reference does not list them). Keys ending in `/` take a tag key.
const GLOBAL_KEYS: &[(&str, &str)] = &[
    ("aws:assumedroot", "Bool"),
    ("aws:calledvia", "ArrayOfString"),
    ("aws:calledviafirst", "String"),
    ("aws:calledvialast", "String"),
    ("aws:chatbotsourcearn", "ARN"),
    ("aws:currenttime", "Date"),
    ("aws:ec2instancesourceprivateipv4", "IPAddress"),
    ("aws:ec2instancesourcevpc", "String"),
    ("aws:epochtime", "Date"),
    ("aws:federatedprovider", "String"),
    // Not on the global keys page when this table was written; AWS's own
    // AWSMcpServiceActionsFullAccess tests it with Bool.
    ("aws:ismcpserviceaction", "Bool"),
    ("aws:multifactorauthage", "Numeric"),
    ("aws:multifactorauthpresent", "Bool"),
    ("aws:principalaccount", "String"),
    ("aws:principalarn", "ARN"),
    ("aws:principalisawsservice", "Bool"),
    ("aws:principalorgid", "String"),
    ("aws:principalorgpaths", "ArrayOfString"),
    ("aws:principalservicename", "String"),
    ("aws:principalservicenameslist", "ArrayOfString"),
    ("aws:principaltag/", "String"),
    ("aws:principaltype", "String"),
    ("aws:referer", "String"),
    ("aws:requestedregion", "String"),
    ("aws:requesttag/", "String"),
    ("aws:resourceaccount", "String"),
    ("aws:resourceorgid", "String"),
    ("aws:resourceorgpaths", "ArrayOfString"),
    ("aws:resourcetag/", "String"),
    ("aws:rolesessionname", "String"),
    ("aws:securetransport", "Bool"),
    ("aws:sourceaccount", "String"),
    ("aws:sourcearn", "ARN"),
    ("aws:sourceidentity", "String"),
    ("aws:sourceip", "IPAddress"),
    ("aws:sourceorgid", "String"),
    ("aws:sourceorgpaths", "ArrayOfString"),
    ("aws:sourceowner", "String"),
    ("aws:sourcevpc", "String"),
    ("aws:sourcevpcarn", "ARN"),
    ("aws:sourcevpce", "String"),
    ("aws:tagkeys", "ArrayOfString"),
    ("aws:tokenissuetime", "Date"),
    ("aws:useragent", "String"),
    ("aws:userid", "String"),
    ("aws:username", "String"),
    ("aws:viaawsservice", "Bool"),
    ("aws:vpceaccount", "String"),
    ("aws:vpceorgid", "String"),
    ("aws:vpceorgpaths", "ArrayOfString"),
    ("aws:vpcsourceip", "IPAddress"),
];

fn global_key_type(key: &str) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    GLOBAL_KEYS.iter().find_map(|(k, t)| {
        let hit = if k.ends_with('/') {
            lower.starts_with(k) && lower.len() > k.len()
        } else {
            lower == *k
        };
        hit.then_some(*t)
    })
}

/// Whether a condition key of the reference (lower case) names a key: exactly, or through a
/// placeholder after its last `/` (`aws:ResourceTag/${TagKey}`, `s3:ExistingObjectTag/<key>`,
/// `secretsmanager:ResourceTag/tag-key`: the reference writes placeholders several ways).
fn key_matches(reference_key: &str, key_lower: &str) -> bool {
    reference_key == key_lower
        || placeholder_stem(reference_key)
            .is_some_and(|stem| key_lower.len() > stem.len() && key_lower.starts_with(stem))
}

/// The part of a reference condition key before its placeholder, if it has one: `${...}` or
/// `<...>` anywhere (`kms:EncryptionContext:${EncryptionContextKey}`), or `tag-key` / `key`
/// after the last `/`.
pub(crate) fn placeholder_stem(key: &str) -> Option<&str> {
    if let Some(i) = key.find("${").or_else(|| key.find('<')) {
        return key.get(..i);
    }
    let (stem, last) = key.rsplit_once('/')?;
    matches!(last, "tag-key" | "key" | "tagkey")
        .then(|| key.get(..stem.len() + 1))
        .flatten()
}

/// Whether an operator family fits a key type (`ArrayOf` stripped).
fn fits(family: Family, key_type: &str) -> bool {
    let t = key_type.strip_prefix("ArrayOf").unwrap_or(key_type);
    match family {
        Family::Null => true,
        // String operators work on ARNs (compared as text), and on anything written as text.
        Family::String => matches!(t, "String" | "ARN"),
        Family::Arn => matches!(t, "ARN" | "String"),
        Family::Numeric => t == "Numeric",
        Family::Date => matches!(t, "Date" | "Numeric"),
        Family::Bool => t == "Bool",
        Family::Ip => t == "IPAddress",
        Family::Binary => t == "Binary",
    }
}

/// A resource-type ARN format as a glob (`arn:${Partition}:s3:::${BucketName}` ->
/// `arn:*:s3:::*`).
fn format_glob(format: &str) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(i) = rest.find("${") {
        out.push_str(rest.get(..i).unwrap_or(""));
        out.push('*');
        rest = rest
            .get(i..)
            .and_then(|r| r.find('}').and_then(|j| r.get(j + 1..)))
            .unwrap_or("");
    }
    out.push_str(rest);
    out
}

struct Linter<'a> {
    index: LineIndex<'a>,
    reference: &'a ServiceReference,
    findings: Vec<Finding>,
    /// Every resource-type ARN format of the reference, as globs, by the ARN's service field.
    formats: &'a std::collections::HashMap<String, Vec<String>>,
}

impl Linter<'_> {
    fn push(&mut self, t: FindingType, code: &'static str, span: Span, message: String) {
        let loc = self.index.locate(span.start);
        self.findings.push(Finding {
            finding_type: t,
            issue_code: code,
            message,
            line: loc.line,
            column: loc.column,
        });
    }

    fn statement(&mut self, s: &Statement<'_>) {
        let allow = s.effect.node == Effect::Allow;
        // Actions.
        let mut actions: Vec<u32> = Vec::new();
        if let Some(clause) = &s.action {
            let values: Vec<_> = clause.values.iter().collect();
            let lowers: Vec<String> = values.iter().map(|v| v.node.to_ascii_lowercase()).collect();
            // Patterns by service prefix, for the redundancy test (a pattern can only cover
            // one of its own service, or be covered by one whose service has a wildcard).
            let mut by_service: std::collections::HashMap<&str, Vec<usize>> =
                std::collections::HashMap::new();
            let mut wild_service: Vec<usize> = Vec::new();
            for (i, l) in lowers.iter().enumerate() {
                match l.split_once(':') {
                    Some((svc, _)) if !svc.contains(['*', '?']) => {
                        by_service.entry(svc).or_default().push(i)
                    }
                    _ => wild_service.push(i),
                }
            }
            for (i, v) in values.iter().enumerate() {
                let pattern = v.node.as_ref();
                let lower = pattern.to_ascii_lowercase();
                if lower == "*" {
                    self.reference.expand("*", |id| actions.push(id));
                    continue;
                }
                let Some((service, _)) = lower.split_once(':') else {
                    continue; // the validator's business
                };
                if !service.contains(['*', '?']) && !self.reference.has_service(service) {
                    self.push(
                        FindingType::Error,
                        "INVALID_SERVICE_IN_ACTION",
                        v.span,
                        format!("The service {service} in the action {pattern} does not exist."),
                    );
                    continue;
                }
                let mut any = false;
                self.reference.expand(&lower, |id| {
                    any = true;
                    actions.push(id);
                });
                if !any {
                    self.push(
                        FindingType::Error,
                        "INVALID_ACTION",
                        v.span,
                        if lower.contains(['*', '?']) {
                            format!(
                                "The action pattern {pattern} matches no action of the service."
                            )
                        } else {
                            format!("The action {pattern} does not exist.")
                        },
                    );
                }
                let same = by_service.get(service).map_or(&[][..], Vec::as_slice);
                let covered = same.iter().chain(&wild_service).any(|&j| {
                    let other = lowers.get(j).map_or("", String::as_str);
                    j != i && pattern_covers(other, &lower) && (other != lower || j < i)
                });
                if covered {
                    self.push(
                        FindingType::Suggestion,
                        "REDUNDANT_ACTION",
                        v.span,
                        format!("The action {pattern} is already included by another action of the statement."),
                    );
                }
            }
            actions.sort_unstable();
            actions.dedup();
            if clause.negated && allow {
                self.push(
                    FindingType::SecurityWarning,
                    "ALLOW_WITH_NOT_ACTION",
                    clause.key_span,
                    "Allow with NotAction allows every action not listed, including actions of services added later. List the actions instead.".to_string(),
                );
            }
        }
        let not_action = s.action.as_ref().is_some_and(|a| a.negated);
        // Resources.
        if let Some(r) = &s.resource {
            if r.negated && allow {
                self.push(
                    FindingType::SecurityWarning,
                    "ALLOW_WITH_NOT_RESOURCE",
                    r.key_span,
                    "Allow with NotResource allows every resource not listed, including resources created later. List the resources instead.".to_string(),
                );
            }
            for v in r.values.iter() {
                let res = v.node.as_ref();
                let mut fields = res.splitn(6, ':');
                let (Some("arn"), Some(_), Some(service)) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    continue;
                };
                if service.contains(['*', '?', '$']) {
                    continue;
                }
                match self.formats.get(&service.to_ascii_lowercase()) {
                    None => self.push(
                        FindingType::Error,
                        "INVALID_ARN_SERVICE",
                        v.span,
                        format!("No resource type of any service has ARNs of the service {service}: {res} matches nothing."),
                    ),
                    Some(globs) => {
                        if !globs.iter().any(|g| arn_overlap(g, res)) {
                            self.push(
                                FindingType::Error,
                                "INVALID_ARN_RESOURCE",
                                v.span,
                                format!("{res} has the form of no resource type of {service}."),
                            );
                        }
                    }
                }
            }
        }
        // iam:PassRole on every role, to any service.
        if allow && !not_action {
            let passrole = self.reference.find("iam:PassRole");
            let passes = passrole.is_some_and(|id| actions.binary_search(&id).is_ok());
            let star = s.resource.as_ref().is_some_and(|r| {
                r.negated
                    || r.values.iter().any(|v| {
                        let x = v.node.as_ref();
                        x == "*"
                            || x == "arn:aws:iam::*:role/*"
                            || x.ends_with(":role/*") && x.contains("::*:")
                    })
            });
            let narrowed = s.condition.as_ref().is_some_and(|c| {
                c.blocks.iter().any(|b| {
                    b.entries
                        .iter()
                        .any(|e| e.key.node.eq_ignore_ascii_case("iam:PassedToService"))
                })
            });
            if passes && star && !narrowed {
                let span = s.resource.as_ref().map_or(s.span, |r| r.key_span);
                self.push(
                    FindingType::SecurityWarning,
                    "PASS_ROLE_WITH_STAR_IN_RESOURCE",
                    span,
                    "iam:PassRole on every role, without an iam:PassedToService condition, lets the caller pass any role to any service. Name the roles, or add the condition.".to_string(),
                );
            }
        }
        // Conditions.
        let Some(condition) = &s.condition else {
            return;
        };
        for block in &condition.blocks {
            let OperatorName::Known(op) = &block.operator.node else {
                continue;
            };
            let family = op.base.family();
            for entry in &block.entries {
                let key = entry.key.node.as_ref();
                let Some((prefix, _)) = key.split_once(':') else {
                    continue;
                };
                let key_type: Option<String> = if prefix.eq_ignore_ascii_case("aws") {
                    match global_key_type(key) {
                        Some(t) => Some(t.to_string()),
                        None => {
                            self.push(
                                FindingType::Warning,
                                "UNKNOWN_GLOBAL_CONDITION_KEY",
                                entry.key.span,
                                format!("{key} is not a global condition key AWS documents; a request never has it."),
                            );
                            None
                        }
                    }
                } else if !self.reference.has_service(prefix) {
                    None // a service this reference does not know: reported on its actions
                } else {
                    match self.reference.condition_key(prefix, key) {
                        Some((_, t)) => {
                            // Supported by some action of the statement?
                            if !not_action && !actions.is_empty() {
                                let lower = key.to_ascii_lowercase();
                                let supported =
                                    actions.iter().any(|id| self.action_supports(*id, &lower));
                                if !supported {
                                    self.push(
                                        FindingType::Warning,
                                        "UNSUPPORTED_ACTION_FOR_CONDITION_KEY",
                                        entry.key.span,
                                        format!("No action of the statement supports the condition key {key}; the condition never holds for them."),
                                    );
                                }
                            }
                            Some(t.to_string())
                        }
                        None => {
                            self.push(
                                FindingType::Error,
                                "INVALID_CONDITION_KEY",
                                entry.key.span,
                                format!("The service {prefix} has no condition key {key}."),
                            );
                            None
                        }
                    }
                };
                if let Some(t) = &key_type {
                    if !fits(family, t) {
                        self.push(
                            FindingType::Warning,
                            "MISMATCHED_TYPE",
                            block.operator.span,
                            format!(
                                "The operator {} compares {:?} values, but {key} is of type {t}.",
                                op.base.name(),
                                family
                            ),
                        );
                    }
                    if t.starts_with("ArrayOf") && op.qualifier.is_none() && family != Family::Null
                    {
                        self.push(
                            FindingType::Warning,
                            "MISSING_QUALIFIER",
                            block.operator.span,
                            format!("{key} can have several values: say ForAnyValue: or ForAllValues: before {}.", op.base.name()),
                        );
                    }
                    if op.qualifier == Some(SetQualifier::ForAllValues)
                        && !t.starts_with("ArrayOf")
                        && allow
                        && !op.base.is_negated()
                    {
                        self.push(
                            FindingType::SecurityWarning,
                            "FOR_ALL_VALUES_WITH_SINGLE_VALUED_KEY",
                            block.operator.span,
                            format!("ForAllValues: with the single-valued key {key} also holds when the request has no {key}, so this Allow applies then too."),
                        );
                    }
                }
                // Values the operator can never match.
                for v in entry.values.iter() {
                    let text = v.node.as_text();
                    let bad = match family {
                        Family::Bool | Family::Null => {
                            !matches!(text.to_ascii_lowercase().as_str(), "true" | "false")
                        }
                        Family::Numeric => text.parse::<f64>().is_err(),
                        Family::Ip => text.parse::<ipnet_like::Net>().is_err(),
                        Family::Date => {
                            text.parse::<f64>().is_err()
                                && gatehouse_engine::parse_date(text).is_none()
                        }
                        _ => false,
                    };
                    if bad && !matches!(v.node, ConditionValue::Bool(_)) {
                        self.push(
                            FindingType::Error,
                            "CONDITION_NEVER_HOLDS",
                            v.span,
                            format!(
                                "{text:?} is not a value {} can compare; this test never holds.",
                                op.base.name()
                            ),
                        );
                    }
                }
            }
        }
    }

    fn action_supports(&self, id: u32, key_lower: &str) -> bool {
        let Some(action) = self.reference.action(id) else {
            return false;
        };
        let matches = |k: &String| key_matches(&k.to_ascii_lowercase(), key_lower);
        let service = action.lower.split_once(':').map_or("", |(s, _)| s);
        action.condition_keys.iter().any(matches)
            || action.resource_types.iter().any(|r| {
                r.condition_keys.iter().any(matches)
                    || self
                        .reference
                        .resource_type(service, &r.name)
                        .is_some_and(|t| t.condition_keys.iter().any(matches))
            })
    }
}

/// Parsing an IP address or CIDR for the never-holds check (ipnet is not a dependency of this
/// crate; std parses both forms).
mod ipnet_like {
    pub struct Net;
    impl std::str::FromStr for Net {
        type Err = ();
        fn from_str(s: &str) -> Result<Net, ()> {
            let (addr, bits) = s.split_once('/').unwrap_or((s, ""));
            let ip: std::net::IpAddr = addr.parse().map_err(|_| ())?;
            if bits.is_empty() {
                return Ok(Net);
            }
            let n: u8 = bits.parse().map_err(|_| ())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if n <= max { Ok(Net) } else { Err(()) }
        }
    }
}

/// Whether an ARN pattern may name a resource of an ARN format (as a glob): field by field, as
/// IAM matches resources (five colon-separated fields, then the rest with its colons).
fn arn_overlap(format: &str, resource: &str) -> bool {
    let a: Vec<&str> = format.splitn(6, ':').collect();
    let b: Vec<&str> = resource.splitn(6, ':').collect();
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| patterns_overlap(x, y))
}

/// Every resource-type ARN format of the reference, as globs, by the ARN's service field.
fn formats(reference: &ServiceReference) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for prefix in reference.prefixes() {
        for rt in reference.resource_types(prefix) {
            let service = rt.arn.split(':').nth(2).unwrap_or("").to_ascii_lowercase();
            if service.contains('$') {
                // `arn:${Partition}:${Vendor}:...` (Backup's recovery points): the owning
                // service's ARNs may take this form.
                out.entry(prefix.to_ascii_lowercase())
                    .or_default()
                    .push(format_glob(&rt.arn));
            } else if !service.is_empty() {
                out.entry(service).or_default().push(format_glob(&rt.arn));
            }
        }
    }
    out
}

/// The formats, worked out once per reference (the embedded one is the common case).
fn formats_for(
    reference: &ServiceReference,
) -> std::sync::Arc<std::collections::HashMap<String, Vec<String>>> {
    static EMBEDDED: std::sync::OnceLock<
        std::sync::Arc<std::collections::HashMap<String, Vec<String>>>,
    > = std::sync::OnceLock::new();
    if std::ptr::eq(reference, ServiceReference::embedded()) {
        EMBEDDED
            .get_or_init(|| std::sync::Arc::new(formats(reference)))
            .clone()
    } else {
        std::sync::Arc::new(formats(reference))
    }
}

/// Lints a document. A document that does not parse gives no findings (the validator reports
/// it).
pub fn lint(text: &str, reference: &ServiceReference) -> Vec<Finding> {
    let Ok(policy) = parse_policy(text) else {
        return Vec::new();
    };
    let formats = formats_for(reference);
    let mut l = Linter {
        index: LineIndex::new(text),
        reference,
        findings: Vec::new(),
        formats: &formats,
    };
    match policy.version.as_ref().map(|v| v.node) {
        None => l.push(
            FindingType::Warning,
            "MISSING_VERSION",
            policy.span,
            "The policy has no Version: it is read as 2008-10-17, where policy variables are plain text. Add \"Version\": \"2012-10-17\".".to_string(),
        ),
        Some(Version::V2008_10_17) => {
            if let Some(v) = &policy.version {
                l.push(
                    FindingType::Warning,
                    "OUTDATED_VERSION",
                    v.span,
                    "Version 2008-10-17 reads policy variables as plain text. Use 2012-10-17.".to_string(),
                );
            }
        }
        Some(_) => {}
    }
    for s in policy.statements.iter() {
        l.statement(s);
    }
    redundant_statements(&policy, &mut l);
    l.findings
        .sort_by_key(|f| (f.line, f.column, f.finding_type));
    l.findings
}

/// A statement whose every action and scope another statement of the same effect already has.
fn redundant_statements(policy: &Policy<'_>, l: &mut Linter<'_>) {
    let statements: Vec<&Statement<'_>> = policy.statements.iter().collect();
    let sets: Vec<Option<BTreeSet<String>>> = statements
        .iter()
        .map(|s| {
            let clause = s.action.as_ref().filter(|a| !a.negated)?;
            let mut set = BTreeSet::new();
            for v in clause.values.iter() {
                let lower = v.node.to_ascii_lowercase();
                let mut any = false;
                l.reference.expand(&lower, |id| {
                    any = true;
                    if let Some(a) = l.reference.action(id) {
                        set.insert(a.lower.clone());
                    }
                });
                if !any {
                    set.insert(lower);
                }
            }
            Some(set)
        })
        .collect();
    for (i, s) in statements.iter().enumerate() {
        let Some(Some(mine)) = sets.get(i) else {
            continue;
        };
        if mine.is_empty() || s.principal.is_some() {
            continue;
        }
        let g = grant_of(s);
        let by = statements.iter().enumerate().find(|(j, other)| {
            let Some(Some(theirs)) = sets.get(*j) else {
                return false;
            };
            let identical = theirs == mine && grant_of(other) == g;
            *j != i
                && other.effect.node == s.effect.node
                && other.principal.is_none()
                && mine.is_subset(theirs)
                && grant_covers(&grant_of(other), &g)
                && (!identical || *j < i)
        });
        if let Some((j, _)) = by {
            l.push(
                FindingType::Suggestion,
                "REDUNDANT_STATEMENT",
                s.span,
                format!("Statement {} adds nothing: statement {} already has its actions on its resources.", i + 1, j + 1),
            );
        }
    }
}
