//! Validation: what AWS checks after the grammar, per policy kind, in AWS's order and with
//! AWS's exact messages.
//!
//! The order of stages follows IAM's (as reproduced by moto and recorded in iam-spec §8.2): the
//! first stage that fails decides the message AWS returns. Within the failing stage every
//! problem found is reported, AWS's choice first, so a person can fix them all at once. Where
//! the order or the text of AWS is unknown the choice is written in docs/compatibility.md.

use std::fmt;

use crate::model::Statement;
use crate::model::{Effect, OperatorName, Policy, Principal, Version};
use crate::operator::Family;
use crate::parse::{SyntaxErrorKind, parse_policy_with};
use crate::span::Span;

/// The kinds of policy, each validated by its own rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PolicyKind {
    /// A managed identity policy (customer-managed or provider-managed).
    #[default]
    Identity,
    /// An inline policy of a user.
    InlineUser,
    /// An inline policy of a group.
    InlineGroup,
    /// An inline policy of a role.
    InlineRole,
    /// A role trust policy.
    Trust,
    /// A resource-based policy (bucket, queue, key...).
    Resource,
    /// A permissions boundary (a managed policy used as a boundary).
    Boundary,
    /// A session policy passed to AssumeRole or GetFederationToken.
    Session,
    /// A service control policy.
    Scp,
    /// A resource control policy.
    Rcp,
}

/// Each kind with its command-line name and a description: the one registry the CLI's help and
/// parsing are built from.
pub const POLICY_KINDS: &[(&str, PolicyKind, &str)] = &[
    (
        "identity",
        PolicyKind::Identity,
        "customer-managed identity policy (the default)",
    ),
    (
        "inline-user",
        PolicyKind::InlineUser,
        "inline policy of a user",
    ),
    (
        "inline-group",
        PolicyKind::InlineGroup,
        "inline policy of a group",
    ),
    (
        "inline-role",
        PolicyKind::InlineRole,
        "inline policy of a role",
    ),
    ("trust", PolicyKind::Trust, "role trust policy"),
    ("resource", PolicyKind::Resource, "resource-based policy"),
    ("boundary", PolicyKind::Boundary, "permissions boundary"),
    ("session", PolicyKind::Session, "session policy"),
    ("scp", PolicyKind::Scp, "service control policy"),
    ("rcp", PolicyKind::Rcp, "resource control policy"),
];

impl PolicyKind {
    /// The command-line name of the kind.
    pub fn name(self) -> &'static str {
        POLICY_KINDS
            .iter()
            .find(|(_, k, _)| *k == self)
            .map_or("identity", |(n, _, _)| n)
    }

    /// Looks a kind up by its command-line name.
    pub fn from_name(name: &str) -> Option<PolicyKind> {
        POLICY_KINDS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, k, _)| *k)
    }

    fn is_organizations(self) -> bool {
        matches!(self, PolicyKind::Scp | PolicyKind::Rcp)
    }
}

/// Whose rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// AWS's create-time rules and quotas for customers.
    #[default]
    Customer,
    /// The rules AWS's own managed policies meet: the same language rules, without the customer
    /// size quotas and request-size limits that 69 of them exceed.
    Provider,
}

/// The error codes validation can return: AWS's, per API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// IAM's `MalformedPolicyDocument` (HTTP 400).
    MalformedPolicyDocument,
    /// IAM's `LimitExceeded` (HTTP 409).
    LimitExceeded,
    /// Request validation (`ValidationError`, HTTP 400).
    ValidationError,
    /// Organizations' `MalformedPolicyDocumentException` (SCPs and RCPs).
    MalformedPolicyDocumentException,
    /// Organizations' `ConstraintViolationException` (SCP and RCP size).
    ConstraintViolationException,
}

impl ErrorCode {
    /// The code as AWS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            ErrorCode::LimitExceeded => "LimitExceeded",
            ErrorCode::ValidationError => "ValidationError",
            ErrorCode::MalformedPolicyDocumentException => "MalformedPolicyDocumentException",
            ErrorCode::ConstraintViolationException => "ConstraintViolationException",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::LimitExceeded => 409,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validation problem: AWS's code and exact message, where it is, and (for messages such
/// as `Syntax errors in policy.` that say little) what exactly is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// AWS's error code.
    pub code: ErrorCode,
    /// AWS's exact message.
    pub message: String,
    /// Where in the text.
    pub span: Span,
    /// What exactly is wrong, when AWS's message does not say.
    pub detail: Option<String>,
}

impl Diagnostic {
    fn new(code: ErrorCode, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            span,
            detail: None,
        }
    }

    fn with_detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = Some(detail.into());
        self
    }
}

/// How to validate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// The kind of policy.
    pub kind: PolicyKind,
    /// Customer or provider rules.
    pub mode: Mode,
    /// The user, group or role an inline policy belongs to, for AWS's size message.
    pub entity_name: Option<String>,
}

impl ValidateOptions {
    /// Options for `kind` in `mode`.
    pub fn new(kind: PolicyKind, mode: Mode) -> ValidateOptions {
        ValidateOptions {
            kind,
            mode,
            entity_name: None,
        }
    }
}

/// The largest policy document IAM's API accepts, in characters including whitespace.
pub const MAX_REQUEST_DOCUMENT_CHARS: usize = 131_072;

/// Parses and validates `text`. Returns the policy when it is valid, else the problems of the
/// first failing stage (never empty), AWS's own answer first.
pub fn validate<'a>(
    text: &'a str,
    options: &ValidateOptions,
) -> Result<Policy<'a>, Vec<Diagnostic>> {
    let kind = options.kind;
    if options.mode == Mode::Customer {
        request_checks(text, kind)?;
    }
    // The per-string checks run on each statement as the parser finishes it; when every
    // string passes (almost always), the stages that only look at strings have nothing to say.
    let mut strings_ok = true;
    let parsed = parse_policy_with(text, &mut |st| strings_ok &= statement_strings_ok(st));
    let policy = match parsed {
        Ok(policy) => policy,
        Err(errors) => {
            return Err(errors
                .into_iter()
                .map(|e| syntax_diagnostic(kind, &e.kind, e.span))
                .collect());
        }
    };
    let problems = check_stages(&policy, options, strings_ok);
    if problems.is_empty() {
        Ok(policy)
    } else {
        Err(problems)
    }
}

fn org_malformed(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::MalformedPolicyDocumentException,
        "The provided policy document doesn't meet the requirements of the specified policy type.",
        span,
    )
}

fn syntax_diagnostic(kind: PolicyKind, error: &SyntaxErrorKind, span: Span) -> Diagnostic {
    let detail = error.to_string();
    if kind.is_organizations() {
        return org_malformed(span).with_detail(detail);
    }
    let message = match error {
        // Real IAM names the field for trust policies (iam-spec §8.4).
        SyntaxErrorKind::UnknownField(name) if kind == PolicyKind::Trust => {
            format!("Unknown field {name}")
        }
        _ => "Syntax errors in policy.".to_owned(),
    };
    Diagnostic::new(ErrorCode::MalformedPolicyDocument, message, span).with_detail(detail)
}

/// The checks IAM's request validation makes on the raw parameter, before parsing.
fn request_checks(text: &str, kind: PolicyKind) -> Result<(), Vec<Diagnostic>> {
    let parameter = match kind {
        PolicyKind::Trust => "assumeRolePolicyDocument",
        PolicyKind::Session => "policy",
        PolicyKind::Scp | PolicyKind::Rcp => "content",
        _ => "policyDocument",
    };
    if text.is_empty() {
        return Err(vec![Diagnostic::new(
            ErrorCode::ValidationError,
            format!(
                "1 validation error detected: Value at '{parameter}' failed to satisfy constraint: Member must have length greater than or equal to 1"
            ),
            Span::at(0),
        )]);
    }
    let chars = crate::span::char_count(text);
    if chars > MAX_REQUEST_DOCUMENT_CHARS {
        return Err(vec![Diagnostic::new(
            ErrorCode::ValidationError,
            format!(
                "1 validation error detected: Value at '{parameter}' failed to satisfy constraint: Member must have length less than or equal to {MAX_REQUEST_DOCUMENT_CHARS}"
            ),
            Span::at(0),
        ).with_detail(format!("the document has {chars} characters"))]);
    }
    if let Some((offset, c)) = text
        .char_indices()
        .find(|&(_, c)| !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
    {
        return Err(vec![Diagnostic::new(
            ErrorCode::ValidationError,
            format!(
                "1 validation error detected: Value at '{parameter}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
            ),
            Span::new(offset, offset + c.len_utf8()),
        )
        .with_detail(format!("character U+{:04X} is outside the allowed set", c as u32))]);
    }
    Ok(())
}

/// Runs every stage after parsing on an already-parsed policy. The checks IAM makes on the raw
/// request parameter (its length, its character set) need the text and are made by
/// [`validate`] only.
pub fn check_policy(policy: &Policy<'_>, options: &ValidateOptions) -> Vec<Diagnostic> {
    let strings_ok = policy.statements.iter().all(statement_strings_ok);
    check_stages(policy, options, strings_ok)
}

/// Whether every string of the statement passes the checks made on strings one at a time: the
/// effect's spelling, Date values, resource formats and IAM's legacy resource rule, and action
/// formats. When this holds, the legacy, resource-format and action-format stages find nothing.
fn statement_strings_ok(st: &Statement<'_>) -> bool {
    if st.effect_spelling.is_some() {
        return false;
    }
    let dates_ok = st.condition.iter().flat_map(|c| &c.blocks).all(|block| {
        !matches!(&block.operator.node, OperatorName::Known(op) if op.base.family() == Family::Date)
            || block
                .entries
                .iter()
                .flat_map(|e| &e.values)
                .all(|v| legacy_date_ok(v.node.as_text()))
    });
    // Plain slices rather than `flat_map` chains: this runs on every string of every policy.
    let resources = st
        .resource
        .as_ref()
        .map_or(&[][..], |r| r.values.as_slice());
    let resources_ok = resources.iter().all(|r| {
        r.node == "*" || {
            let c = Colons::of(&r.node);
            resource_format_problem_with(&r.node, &c).is_none()
                && legacy_resource_ok_with(&r.node, &c)
        }
    });
    let actions = st.action.as_ref().map_or(&[][..], |a| a.values.as_slice());
    let actions_ok = actions.iter().all(|a| action_format_ok(&a.node));
    dates_ok && resources_ok && actions_ok
}

fn check_stages(
    policy: &Policy<'_>,
    options: &ValidateOptions,
    strings_ok: bool,
) -> Vec<Diagnostic> {
    let kind = options.kind;
    let first = [
        size_stage(policy, options),
        version_stage(policy, kind),
        principal_stage(policy, kind, options.mode),
    ];
    if let Some(problems) = first.into_iter().find(|p| !p.is_empty()) {
        return problems;
    }
    let (legacy, resource_format) = if strings_ok {
        (Vec::new(), Vec::new())
    } else {
        legacy_stage(policy)
    };
    if !legacy.is_empty() {
        return legacy;
    }
    // The remaining stages run in IAM's order, each only when all before it passed.
    // Resource-format problems were found during the legacy stage but are reported here.
    let mut resource_format = Some(resource_format);
    for stage in [
        Stage::Sid,
        Stage::ActionsPresent,
        Stage::ResourceFormat,
        Stage::ActionFormat,
        Stage::Final,
    ] {
        let problems = match stage {
            Stage::Sid => sid_stage(policy, kind),
            Stage::ActionsPresent => actions_present_stage(policy, kind),
            Stage::ResourceFormat => resource_format.take().unwrap_or_default(),
            Stage::ActionFormat if strings_ok => Vec::new(),
            Stage::ActionFormat => action_format_stage(policy, kind),
            Stage::Final => final_stage(policy, kind, options.mode),
        };
        if !problems.is_empty() {
            return problems;
        }
    }
    Vec::new()
}

/// The stages after legacy parsing, in IAM's order.
#[derive(Clone, Copy)]
enum Stage {
    Sid,
    ActionsPresent,
    ResourceFormat,
    ActionFormat,
    Final,
}

fn size_stage(policy: &Policy<'_>, options: &ValidateOptions) -> Vec<Diagnostic> {
    if options.mode == Mode::Provider {
        return Vec::new();
    }
    let name = options.entity_name.as_deref().unwrap_or("<name>");
    let n = policy.size_without_whitespace;
    let (limit, code, message) = match options.kind {
        PolicyKind::Identity | PolicyKind::Boundary => (
            6144,
            ErrorCode::LimitExceeded,
            "Cannot exceed quota for PolicySize: 6144".to_owned(),
        ),
        PolicyKind::InlineUser => (
            2048,
            ErrorCode::LimitExceeded,
            format!("Maximum policy size of 2048 bytes exceeded for user {name}"),
        ),
        PolicyKind::InlineGroup => (
            5120,
            ErrorCode::LimitExceeded,
            format!("Maximum policy size of 5120 bytes exceeded for group {name}"),
        ),
        PolicyKind::InlineRole => (
            10240,
            ErrorCode::LimitExceeded,
            format!("Maximum policy size of 10240 bytes exceeded for role {name}"),
        ),
        PolicyKind::Trust => (
            2048,
            ErrorCode::LimitExceeded,
            "Cannot exceed quota for ACLSizePerRole: 2048".to_owned(),
        ),
        PolicyKind::Session => {
            // STS limits the plaintext parameter itself, whitespace included.
            if policy.size > 2048 {
                return vec![Diagnostic::new(
                    ErrorCode::ValidationError,
                    "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048",
                    policy.span,
                ).with_detail(format!("the document has {} characters", policy.size))];
            }
            return Vec::new();
        }
        PolicyKind::Scp | PolicyKind::Rcp => {
            // Organizations counts every character, whitespace included.
            if policy.size > 5120 {
                return vec![
                    Diagnostic::new(
                        ErrorCode::ConstraintViolationException,
                        "You have exceeded the maximum size of a policy document: 5120 characters.",
                        policy.span,
                    )
                    .with_detail(format!("the document has {} characters", policy.size)),
                ];
            }
            return Vec::new();
        }
        PolicyKind::Resource => return Vec::new(),
    };
    if n > limit {
        return vec![
            Diagnostic::new(code, message, policy.span).with_detail(format!(
                "the document has {n} characters without whitespace; the limit is {limit}"
            )),
        ];
    }
    Vec::new()
}

fn version_stage(policy: &Policy<'_>, kind: PolicyKind) -> Vec<Diagnostic> {
    let required = matches!(
        kind,
        PolicyKind::Identity | PolicyKind::Boundary | PolicyKind::Scp | PolicyKind::Rcp
    );
    if !required || policy.effective_version() == Version::V2012_10_17 {
        return Vec::new();
    }
    let span = policy.version.as_ref().map_or(policy.span, |v| v.span);
    let detail = match &policy.version {
        Some(_) => "Version is 2008-10-17",
        None => "the policy has no Version",
    };
    if kind.is_organizations() {
        return vec![org_malformed(span).with_detail(detail)];
    }
    vec![
        Diagnostic::new(
            ErrorCode::MalformedPolicyDocument,
            "Policy document must be version 2012-10-17 or greater.",
            span,
        )
        .with_detail(detail),
    ]
}

const NO_PRINCIPALS: &str = "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!";

fn principal_stage(policy: &Policy<'_>, kind: PolicyKind, mode: Mode) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for st in &policy.statements {
        match kind {
            PolicyKind::Identity
            | PolicyKind::InlineUser
            | PolicyKind::InlineGroup
            | PolicyKind::InlineRole
            | PolicyKind::Boundary
            | PolicyKind::Session => {
                if let Some(p) = &st.principal {
                    out.push(Diagnostic::new(
                        ErrorCode::MalformedPolicyDocument,
                        "Policy document should not specify a principal.",
                        p.key_span,
                    ));
                }
            }
            PolicyKind::Scp => {
                if let Some(p) = &st.principal {
                    out.push(
                        org_malformed(p.key_span)
                            .with_detail("service control policies cannot name principals"),
                    );
                }
            }
            PolicyKind::Rcp => {
                match &st.principal {
                    Some(p) if !p.negated && is_everyone(&p.value) => {}
                    Some(p) => out.push(
                        org_malformed(p.key_span)
                            .with_detail("a resource control policy's Principal must be \"*\""),
                    ),
                    None => out.push(org_malformed(st.span).with_detail(
                        "a resource control policy statement needs \"Principal\": \"*\"",
                    )),
                }
            }
            PolicyKind::Trust => match &st.principal {
                None => out.push(Diagnostic::new(
                    ErrorCode::MalformedPolicyDocument,
                    NO_PRINCIPALS,
                    st.span,
                )),
                Some(p) if p.negated => out.push(
                    Diagnostic::new(
                        ErrorCode::MalformedPolicyDocument,
                        "Syntax errors in policy.",
                        p.key_span,
                    )
                    .with_detail("a role trust policy cannot use NotPrincipal"),
                ),
                Some(p) => principal_values(&p.value, &mut out),
            },
            PolicyKind::Resource => match &st.principal {
                None => out.push(Diagnostic::new(
                    ErrorCode::MalformedPolicyDocument,
                    "Missing required field Principal",
                    st.span,
                )),
                Some(p) => {
                    if p.negated && st.effect.node == Effect::Allow && mode == Mode::Customer {
                        out.push(
                            Diagnostic::new(
                                ErrorCode::MalformedPolicyDocument,
                                "Invalid principal in policy",
                                p.key_span,
                            )
                            .with_detail("NotPrincipal can only be used with \"Effect\": \"Deny\""),
                        );
                    }
                    principal_values(&p.value, &mut out);
                }
            },
        }
    }
    out
}

fn is_everyone(p: &Principal<'_>) -> bool {
    match p {
        Principal::Wildcard => true,
        Principal::Map(entries) => {
            entries.len() == 1
                && entries.iter().all(|e| {
                    e.kind.node == crate::model::PrincipalKind::Aws
                        && !e.values.is_empty()
                        && e.values.iter().all(|v| v.node == "*")
                })
        }
    }
}

/// Principal values: a map must name someone, and wildcards stand only alone (AWS forbids
/// partial wildcards such as `arn:aws:iam::*:role/x`).
fn principal_values(p: &crate::span::Spanned<Principal<'_>>, out: &mut Vec<Diagnostic>) {
    let Principal::Map(entries) = &p.node else {
        return;
    };
    if entries.iter().all(|e| e.values.is_empty()) {
        out.push(Diagnostic::new(
            ErrorCode::MalformedPolicyDocument,
            NO_PRINCIPALS,
            p.span,
        ));
        return;
    }
    for e in entries {
        for v in &e.values {
            if v.node != "*" && (v.node.contains('*') || v.node.contains('?') || v.node.is_empty())
            {
                out.push(Diagnostic::new(
                    ErrorCode::MalformedPolicyDocument,
                    format!(
                        "Invalid principal in policy: \"{}\":\"{}\"",
                        e.kind.as_str(),
                        v.node
                    ),
                    v.span,
                ));
            }
        }
    }
}

const LEGACY: &str = "The policy failed legacy parsing";

/// The "legacy parsing" stage, and the resource-format problems found on the way (reported
/// later, after the Sid and action-presence stages, as IAM does). Returns (legacy problems,
/// resource-format problems with AWS's pick first).
fn legacy_stage(policy: &Policy<'_>) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut legacy = Vec::new();
    for st in &policy.statements {
        if st.effect_spelling.is_some() {
            legacy.push(
                Diagnostic::new(ErrorCode::MalformedPolicyDocument, LEGACY, st.effect.span)
                    .with_detail(format!(
                        "Effect must be written exactly \"{}\"",
                        st.effect.node.as_str()
                    )),
            );
        }
        for block in st.condition.iter().flat_map(|c| &c.blocks) {
            let OperatorName::Known(op) = &block.operator.node else {
                continue;
            };
            if op.base.family() != Family::Date {
                continue;
            }
            for entry in &block.entries {
                for v in &entry.values {
                    if !legacy_date_ok(v.node.as_text()) {
                        legacy.push(
                            Diagnostic::new(ErrorCode::MalformedPolicyDocument, LEGACY, v.span)
                                .with_detail(format!(
                                    "\"{}\" is not a date IAM accepts",
                                    v.node.as_text()
                                )),
                        );
                    }
                }
            }
        }
    }
    // Resource formats, Resource entries of every statement first, then NotResource. IAM
    // remembers the last problem it meets, scanning each list in descending order (so the
    // smallest bad entry of the last offending list); once a problem is known it stops
    // legacy-checking resources.
    let mut found: Vec<Diagnostic> = Vec::new();
    let mut pick: Option<usize> = None;
    for negated in [false, true] {
        for st in &policy.statements {
            let Some(clause) = st.resource.as_ref().filter(|c| c.negated == negated) else {
                continue;
            };
            let mut smallest: Option<(usize, &str)> = None;
            for r in &clause.values {
                if let Some(message) = resource_format_problem(&r.node) {
                    found.push(Diagnostic::new(
                        ErrorCode::MalformedPolicyDocument,
                        message,
                        r.span,
                    ));
                    if smallest.is_none_or(|(_, v)| r.node.as_ref() < v) {
                        smallest = Some((found.len() - 1, &r.node));
                    }
                }
            }
            if let Some((i, _)) = smallest {
                pick = Some(i);
            }
            if pick.is_none() {
                for r in &clause.values {
                    if r.node != "*" && !legacy_resource_ok(&r.node) {
                        legacy.push(
                            Diagnostic::new(ErrorCode::MalformedPolicyDocument, LEGACY, r.span)
                                .with_detail(format!(
                                    "\"{}\" has an empty service or too few fields",
                                    r.node
                                )),
                        );
                    }
                }
            }
        }
    }
    let mut resource = Vec::new();
    if let Some(i) = pick.filter(|&i| i < found.len()) {
        resource.push(found.remove(i));
        found.sort_by_key(|d| d.span);
        resource.extend(found);
    }
    (legacy, resource)
}

/// IAM's legacy check on a resource entry: not fewer than five colons when it holds `::`, and a
/// non-empty service field.
fn legacy_resource_ok(r: &str) -> bool {
    legacy_resource_ok_with(r, &Colons::of(r))
}

fn legacy_resource_ok_with(r: &str, c: &Colons) -> bool {
    if c.total < 5 && c.double {
        return false;
    }
    c.field(r, 2).is_some_and(|s| !s.is_empty())
}

/// Where the colons of an ARN-like string are, found in one pass (resources are checked by
/// the thousand, so this avoids splitting the same short string again and again).
struct Colons {
    /// Offsets of the first five colons; only the first `min(total, 5)` are meaningful.
    at: [usize; 5],
    /// How many colons the string has, counting up to five.
    total: usize,
    /// Whether two of the first five colons stand side by side (`::`).
    double: bool,
}

impl Colons {
    /// Finds the first five colons; `total` stops counting at five, which is all the rules ask.
    fn of(s: &str) -> Colons {
        let (at, total) = crate::swar::first_positions::<5>(s.as_bytes(), b':');
        let found = at.get(..total).unwrap_or(&[]);
        let double = found.windows(2).any(|w| matches!(w, [a, b] if a + 1 == *b));
        Colons { at, total, double }
    }

    /// Field `n` (0-based) of `s` when split at every colon, if the string has that many fields.
    /// Only fields 0 to 4 can be asked for; field 5 is the rest (see [`Colons::rest`]).
    fn field<'s>(&self, s: &'s str, n: usize) -> Option<&'s str> {
        if n > self.total || n > 4 {
            return None;
        }
        let start = if n == 0 { 0 } else { self.at.get(n - 1)? + 1 };
        let end = if n < self.total {
            *self.at.get(n)?
        } else {
            s.len()
        };
        s.get(start..end)
    }

    /// Everything after the fifth colon (the resource field of an ARN), or "".
    fn rest<'s>(&self, s: &'s str) -> &'s str {
        if self.total < 5 {
            return "";
        }
        self.at.get(4).and_then(|&i| s.get(i + 1..)).unwrap_or("")
    }
}

/// The partitions IAM accepts in resource ARNs (iam-spec §2.3).
const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

const IAM_PATH_MESSAGE: &str = "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.";

/// IAM resource types: the thirteen of AWS's message, and those the service reference adds.
const IAM_RESOURCE_PREFIXES: &[&str] = &[
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
    "assumed-role/",
    "delegation-request/",
    "role-template/",
];

/// S3 resource types whose ARNs carry a region (from the service reference); all other S3
/// ARNs must leave the region empty.
const S3_REGIONAL_PREFIXES: &[&str] = &[
    "accesspoint/",
    "access-grants/",
    "job/",
    "storage-lens/",
    "storage-lens-group/",
    "async-request/",
];

/// The resource-format problem of one entry, with AWS's message (iam-spec §8.3 rows 6-11).
fn resource_format_problem(r: &str) -> Option<String> {
    if r == "*" {
        return None;
    }
    resource_format_problem_with(r, &Colons::of(r))
}

fn resource_format_problem_with(r: &str, c: &Colons) -> Option<String> {
    if c.total == 0 {
        return Some(format!("Resource {r} must be in ARN format or \"*\"."));
    }
    let partition = c.field(r, 1).unwrap_or("");
    if partition != "*" && !PARTITIONS.contains(&partition) {
        return Some(partition_problem(r, partition));
    }
    if c.total < 2 {
        return Some(
            "Resource vendor must be fully qualified and cannot contain regexes.".to_owned(),
        );
    }
    let service = c.field(r, 2).unwrap_or("");
    let region = c.field(r, 3).unwrap_or("");
    let resource = c.rest(r);
    match service {
        "iam" => {
            // IAM (after moto) calls the region missing only when a colon follows the
            // service's: `arn:aws:iam` and `arn:aws:iam:` "contain region information".
            if c.total < 4 || !region.is_empty() {
                return Some(format!(
                    "IAM resource {r} cannot contain region information."
                ));
            }
            if (c.total >= 5 && !iam_resource_ok(resource)) || c.total == 4 {
                return Some(IAM_PATH_MESSAGE.to_owned());
            }
        }
        "s3" if (c.total < 4 || !region.is_empty())
            && !S3_REGIONAL_PREFIXES.iter().any(|p| resource.starts_with(p)) =>
        {
            return Some(format!("Resource {r} can not contain region information."));
        }
        _ => {}
    }
    None
}

/// AWS's message for an unknown partition, which prints the entry as an ARN: fields after the
/// partition that are missing print as `*`, present-but-empty ones print empty.
fn partition_problem(r: &str, partition: &str) -> String {
    let after = r.splitn(3, ':').nth(2);
    let parts: Vec<&str> = after.map_or_else(Vec::new, |a| a.split(':').collect());
    let field = |i: usize| parts.get(i).copied().unwrap_or("*");
    let f1 = match parts.first() {
        Some(s) if !s.is_empty() || parts.len() > 1 => *s,
        _ => "*",
    };
    let f4 = if parts.len() > 3 {
        parts.get(3..).map(|p| p.join(":")).unwrap_or_default()
    } else {
        "*".to_owned()
    };
    format!(
        "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{f1}:{}:{}:{f4}\".",
        field(1),
        field(2)
    )
}

/// Whether an IAM resource field names an IAM resource type, or is a wildcard that could.
fn iam_resource_ok(resource: &str) -> bool {
    if resource == "root"
        || IAM_RESOURCE_PREFIXES
            .iter()
            .any(|p| resource.starts_with(p))
    {
        return true;
    }
    match resource.find(['*', '?']) {
        Some(i) => {
            let literal = resource.get(..i).unwrap_or("");
            "root".starts_with(literal)
                || IAM_RESOURCE_PREFIXES.iter().any(|p| p.starts_with(literal))
        }
        None => false,
    }
}

fn sid_stage(policy: &Policy<'_>, kind: PolicyKind) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Whether any Sid repeats: pairwise for the usual handful of statements, by sorting for
    // more (AWS's own policies have up to 162); only then is the list walked again to report
    // the repeats in document order.
    let statements = policy.statements.as_slice();
    let repeats = if statements.len() <= 16 {
        statements.iter().enumerate().any(|(i, a)| {
            a.sid.as_ref().is_some_and(|a| {
                !a.node.is_empty()
                    && statements
                        .get(i + 1..)
                        .unwrap_or(&[])
                        .iter()
                        .any(|b| b.sid.as_ref().is_some_and(|b| b.node == a.node))
            })
        })
    } else {
        let mut sids: Vec<&str> = statements
            .iter()
            .filter_map(|st| st.sid.as_ref().map(|s| s.node.as_ref()))
            .filter(|s| !s.is_empty())
            .collect();
        sids.sort_unstable();
        sids.windows(2).any(|w| matches!(w, [a, b] if a == b))
    };
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for st in policy.statements.iter().filter(|_| repeats) {
        if let Some(sid) = &st.sid
            && !sid.node.is_empty()
            && !seen.insert(sid.node.as_ref())
        {
            out.push(
                Diagnostic::new(
                    ErrorCode::MalformedPolicyDocument,
                    "Statement IDs (SID) in a single policy must be unique.",
                    sid.span,
                )
                .with_detail(format!("Sid \"{}\" is used more than once", sid.node)),
            );
        }
    }
    if !out.is_empty() || kind == PolicyKind::Resource {
        return out;
    }
    for st in &policy.statements {
        if let Some(sid) = &st.sid
            && !crate::swar::all_alphanumeric(sid.node.as_bytes())
        {
            let d = Diagnostic::new(
                ErrorCode::MalformedPolicyDocument,
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
                sid.span,
            );
            out.push(if kind.is_organizations() {
                org_malformed(sid.span).with_detail(d.message)
            } else {
                d
            });
        }
    }
    out
}

fn actions_present_stage(policy: &Policy<'_>, kind: PolicyKind) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for st in &policy.statements {
        if st.action.as_ref().is_none_or(|a| a.values.is_empty()) {
            let span = st.action.as_ref().map_or(st.span, |a| a.key_span);
            out.push(if kind.is_organizations() {
                org_malformed(span).with_detail("the statement has no actions")
            } else {
                Diagnostic::new(
                    ErrorCode::MalformedPolicyDocument,
                    "Policy statement must contain actions.",
                    span,
                )
            });
        }
    }
    out
}

/// The vendor-prefix rules of actions: every Action entry of every statement, then every
/// NotAction entry; AWS reports the first problem.
fn action_format_stage(policy: &Policy<'_>, kind: PolicyKind) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for negated in [false, true] {
        for st in &policy.statements {
            let Some(clause) = st.action.as_ref().filter(|c| c.negated == negated) else {
                continue;
            };
            for a in &clause.values {
                if let Some(message) = action_format_problem(&a.node) {
                    out.push(if kind.is_organizations() {
                        org_malformed(a.span).with_detail(message)
                    } else {
                        Diagnostic::new(ErrorCode::MalformedPolicyDocument, message, a.span)
                    });
                }
            }
        }
    }
    out
}

/// The bytes a vendor prefix may hold, `[A-Za-z0-9.-]`, as a table (one load per byte).
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time; the index runs over 0..256 of a 256-entry table"
)]
const VENDOR_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'.';
        b += 1;
    }
    table
};

/// Whether `action` has no format problem: the common shape `vendor:Name` is recognised in
/// one pass, anything else asks [`action_format_problem`].
fn action_format_ok(action: &str) -> bool {
    let bytes = action.as_bytes();
    // Short actions are padded to sixteen bytes with a quote, which is neither a vendor byte
    // nor a colon, so the same vector check applies.
    let padded;
    let block = match crate::swar::pad16(bytes, b'"') {
        Some(p) => {
            padded = p;
            &padded[..]
        }
        None => bytes,
    };
    if let Some((vendor_len, single_colon)) = crate::swar::vendor_colon_name(block)
        && vendor_len > 0
        && single_colon
    {
        return true;
    }
    let vendor_len = bytes
        .iter()
        .position(|&b| !VENDOR_BYTE.get(usize::from(b)).copied().unwrap_or(false))
        .unwrap_or(bytes.len());
    match bytes.get(vendor_len..) {
        Some([b':', name @ ..]) if vendor_len > 0 => !crate::swar::contains_byte(name, b':'),
        _ => action_format_problem(action).is_none(),
    }
}

fn action_format_problem(action: &str) -> Option<String> {
    let (colons, n) = crate::swar::first_positions::<2>(action.as_bytes(), b':');
    match n {
        0 if action == "*" => None,
        0 => Some(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".to_owned(),
        ),
        1 => {
            let vendor = colons.first().and_then(|&c| action.get(..c)).unwrap_or("");
            let vendor_ok = vendor == "*"
                || vendor
                    .bytes()
                    .all(|b| VENDOR_BYTE.get(usize::from(b)).copied().unwrap_or(false));
            (!vendor_ok).then(|| format!("Vendor {vendor} is not valid"))
        }
        _ => Some("Actions/Condition can contain only one colon.".to_owned()),
    }
}

/// The actions a role trust policy may name (iam-spec §1.12), compared exactly.
pub const TRUST_POLICY_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:DecodeAuthorizationMessage",
    "sts:GetAccessKeyInfo",
    "sts:GetCallerIdentity",
    "sts:GetFederationToken",
    "sts:GetServiceBearerToken",
    "sts:GetSessionToken",
    "sts:SetContext",
    "sts:SetSourceIdentity",
    "sts:TagSession",
];

fn final_stage(policy: &Policy<'_>, kind: PolicyKind, mode: Mode) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if kind == PolicyKind::Trust {
        for st in &policy.statements {
            let Some(clause) = &st.action else { continue };
            let bad: Vec<_> = if clause.negated {
                vec![clause.key_span]
            } else {
                clause
                    .values
                    .iter()
                    .filter(|a| !TRUST_POLICY_ACTIONS.contains(&a.node.as_ref()))
                    .map(|a| a.span)
                    .collect()
            };
            for span in bad {
                out.push(Diagnostic::new(
                    ErrorCode::MalformedPolicyDocument,
                    "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity",
                    span,
                ));
            }
        }
        if out.is_empty() {
            for st in &policy.statements {
                if let Some(r) = &st.resource {
                    out.push(Diagnostic::new(
                        ErrorCode::MalformedPolicyDocument,
                        "Has prohibited field Resource.",
                        r.key_span,
                    ));
                }
            }
        }
        return out;
    }
    for st in &policy.statements {
        if st.resource.as_ref().is_none_or(|r| r.values.is_empty()) {
            let span = st.resource.as_ref().map_or(st.span, |r| r.key_span);
            out.push(if kind.is_organizations() {
                org_malformed(span).with_detail("the statement has no resources")
            } else {
                Diagnostic::new(
                    ErrorCode::MalformedPolicyDocument,
                    "Policy statement must contain resources.",
                    span,
                )
            });
        }
    }
    if kind == PolicyKind::Rcp && out.is_empty() {
        out.extend(rcp_rules(policy, mode));
    }
    out
}

/// RCPs deny only (AWS's own `RCPFullAWSAccess` is the one Allow, so provider mode accepts
/// Allow) and take no NotAction.
fn rcp_rules(policy: &Policy<'_>, mode: Mode) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for st in &policy.statements {
        if st.effect.node == Effect::Allow && mode == Mode::Customer {
            out.push(
                org_malformed(st.effect.span)
                    .with_detail("resource control policies may only deny"),
            );
        }
        if let Some(a) = st.action.as_ref().filter(|a| a.negated) {
            out.push(
                org_malformed(a.key_span)
                    .with_detail("resource control policies cannot use NotAction"),
            );
        }
    }
    out
}

/// IAM's save-time check of a Date operator's value (iam-spec §3.4): an ISO 8601-like date and
/// time, or epoch seconds from 0 to i64::MAX.
pub(crate) fn legacy_date_ok(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if lower.contains('t') || lower.contains('-') {
        iso_date_ok(&lower)
    } else {
        // Python's int() accepts surrounding whitespace, a sign and underscores between
        // digits; IAM's parser is Java's, so only plain digits are taken here.
        !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_digit())
            && value.parse::<i64>().is_ok()
    }
}

fn int_in(s: &str, lo: i64, hi: i64) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<i64>().is_ok_and(|v| (lo..=hi).contains(&v))
}

fn iso_date_ok(s: &str) -> bool {
    let (date, time) = s.split_once('t').unwrap_or((s, ""));
    let (negative, date) = match date.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, date),
    };
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() > 3 {
        return false;
    }
    let year = parts.first().copied().unwrap_or("");
    if year.starts_with(['-', '+']) {
        return false;
    }
    let year_ok = if negative {
        int_in(&format!("-{year}"), -292_275_054, 292_278_993)
    } else {
        int_in(year, -292_275_054, 292_278_993)
    };
    if !year_ok {
        return false;
    }
    if parts.get(1).is_some_and(|m| !int_in(m, 1, 12))
        || parts.get(2).is_some_and(|d| !int_in(d, 1, 31))
    {
        return false;
    }
    let time_parts: Vec<&str> = time.split(':').collect();
    let hours = time_parts.first().copied().unwrap_or("");
    if !hours.is_empty() && !int_in(hours, 0, 23) {
        return false;
    }
    if time_parts.get(1).is_some_and(|m| !int_in(m, 0, 59)) {
        return false;
    }
    let Some(rest) = time_parts
        .get(2..)
        .map(|p| p.join(":"))
        .filter(|_| time_parts.len() > 2)
    else {
        return true;
    };
    // Seconds, an optional fraction, then `Z` or a `+hh[:mm]` / `-hh[:mm]` zone.
    let (seconds, zone) = if let Some((sec, after)) = rest.split_once('z') {
        if !after.is_empty() {
            return false;
        }
        (sec.to_owned(), None)
    } else if let Some(i) = rest.find(['+', '-']) {
        (rest.get(..i).unwrap_or("").to_owned(), rest.get(i + 1..))
    } else {
        (rest.clone(), None)
    };
    if let Some(zone) = zone {
        let (h, m) = match zone.split_once(':') {
            Some((h, m)) => (h, Some(m)),
            None => (zone, None),
        };
        if h.len() != 2 || !int_in(h, 0, 23) {
            return false;
        }
        if m.is_some_and(|m| m.len() != 2 || !int_in(m, 0, 59)) {
            return false;
        }
    }
    let (sec, fraction) = match seconds.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (seconds.as_str(), None),
    };
    int_in(sec, 0, 59) && fraction.is_none_or(|f| int_in(f, 0, 999_999_999))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_dates() {
        for ok in [
            "2019-07-01T13:20:15Z",
            "2016-12-13T21:20:37.593194+00:00",
            "2016-12-13t2:00:00.593194+23",
            "01T",
            "-292275054",
            "0",
            "9223372036854775807",
            "2020-01-01T00:00:00-05:00",
            "2017-07-01T00:00:00Z",
        ] {
            assert!(legacy_date_ok(ok), "{ok}");
        }
        for bad in [
            "sdfdsf",
            "234-13",
            "2016-12-13t2:00:00.593194+1",
            "2016-12-13t2:00:00.1999999999+10:59",
            "9223372036854775808",
            "1.5",
            "",
            "2020-01-01-01",
            "2020-01-01T24:00",
        ] {
            assert!(!legacy_date_ok(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_action_check_agrees_with_the_full_one(a in "[a-zA-Z0-9.*: _é-]{0,40}") {
            proptest::prop_assert_eq!(action_format_ok(&a), action_format_problem(&a).is_none(), "{:?}", a);
        }
    }

    #[test]
    fn short_iam_and_s3_arns_contain_region_information() {
        for (r, message) in [
            (
                "arn:aws:s3",
                "Resource arn:aws:s3 can not contain region information.",
            ),
            (
                "arn:aws:s3:",
                "Resource arn:aws:s3: can not contain region information.",
            ),
            (
                "arn:aws:iam",
                "IAM resource arn:aws:iam cannot contain region information.",
            ),
            (
                "arn:aws:iam:",
                "IAM resource arn:aws:iam: cannot contain region information.",
            ),
        ] {
            assert_eq!(resource_format_problem(r).as_deref(), Some(message), "{r}");
        }
        assert_eq!(resource_format_problem("arn:aws:s3:::b"), None);
    }

    #[test]
    fn resource_formats() {
        for ok in [
            "arn:aws:fdsasf",
            "arn:aws:s33:::b",
            "arn:aws:invalid-service:us-east-1::b",
            "arn:*:s3:::b",
            "arn:aws:iam::*:root",
            "arn:aws:iam::*:*",
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:s3:*:*:access-grants/default",
            "arn:aws:s3:us-west-2:123456789012:accesspoint/x",
        ] {
            assert_eq!(resource_format_problem(ok), None, "{ok}");
        }
        assert_eq!(
            resource_format_problem("a:b:c:d:e:f:g:h").as_deref(),
            Some("Partition \"b\" is not valid for resource \"arn:b:c:d:e:f:g:h\".")
        );
        assert_eq!(
            resource_format_problem("aws:s3:::example_bucket").as_deref(),
            Some("Partition \"s3\" is not valid for resource \"arn:s3:::example_bucket:*\".")
        );
    }
}
