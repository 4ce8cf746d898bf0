//! Decision cases: a request, the policies of each layer and the expected decision, in one
//! JSON file. Gatehouse's own tests are written this way, and so can users' tests of their
//! policies.
//!
//! This module is pure: reading files named by a case is left to a callback.

use std::collections::BTreeMap;
use std::sync::Arc;

use gatehouse_policy::{LineIndex, Mode, PolicyKind, ValidateOptions, parse_policy, validate};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::compile::{CompiledPolicy, PolicySet};
use crate::decide::{DecisionKind, Layers};
use crate::request::{Context, Request, RequestPrincipal, Values};
use crate::value::Value;

/// A problem with a case file, with its location when it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseError {
    /// The file the problem is in (the case file, or a policy file it names).
    pub file: String,
    /// Line and column (from 1), when known.
    pub location: Option<(u32, u32)>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for CaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.location {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for CaseError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile<'a> {
    #[serde(default)]
    name: Option<String>,
    #[serde(borrow)]
    policies: PoliciesSpec<'a>,
    request: RequestSpec,
    #[serde(default)]
    expect: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PoliciesSpec<'a> {
    #[serde(default, borrow)]
    identity: Vec<PolicySpec<'a>>,
    #[serde(default, borrow)]
    resource: Vec<PolicySpec<'a>>,
    #[serde(default, borrow)]
    boundary: Option<PolicySpec<'a>>,
    #[serde(default, borrow)]
    session: Vec<PolicySpec<'a>>,
    #[serde(default, borrow)]
    scp: Vec<Vec<PolicySpec<'a>>>,
    #[serde(default, borrow)]
    rcp: Vec<Vec<PolicySpec<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec<'a> {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default, borrow)]
    document: Option<&'a RawValue>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSpec {
    principal: String,
    #[serde(default)]
    principal_id: Option<String>,
    #[serde(default)]
    role_arn: Option<String>,
    #[serde(default)]
    principal_tags: BTreeMap<String, String>,
    action: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    resource_account: Option<String>,
    #[serde(default)]
    context: serde_json::Map<String, serde_json::Value>,
}

/// A loaded decision case: the compiled layers, the request and the expected decision.
#[derive(Debug)]
pub struct Case {
    /// The case's name (its `name`, else empty).
    pub name: String,
    /// The request.
    pub request: Request,
    /// The expected decision, when the case gives one.
    pub expect: Option<DecisionKind>,
    identity: Option<PolicySet>,
    resource: Option<PolicySet>,
    resource_is_trust: bool,
    boundary: Option<PolicySet>,
    session: Option<PolicySet>,
    scp: Vec<PolicySet>,
    rcp: Vec<PolicySet>,
}

/// Reads a file a case names, given its path relative to the case file; returns its text or
/// a message.
pub type ReadFile<'r> = dyn FnMut(&str) -> Result<String, String> + 'r;

impl Case {
    /// Reads a case. `file` names the case in errors; `read` reads the policy files it refers
    /// to. Every document is validated as its layer's kind (provider mode); the first problem
    /// is reported with its location.
    pub fn load(file: &str, text: &str, read: &mut ReadFile<'_>) -> Result<Case, CaseError> {
        let err_at = |offset: Option<usize>, message: String| CaseError {
            file: file.to_string(),
            location: offset.map(|o| {
                let at = LineIndex::new(text).locate(u32::try_from(o).unwrap_or(u32::MAX));
                (at.line, at.column)
            }),
            message,
        };
        let spec: CaseFile<'_> = serde_json::from_str(text).map_err(|e| CaseError {
            file: file.to_string(),
            location: (e.line() > 0).then(|| {
                (
                    u32::try_from(e.line()).unwrap_or(u32::MAX),
                    u32::try_from(e.column()).unwrap_or(u32::MAX),
                )
            }),
            message: e.to_string(),
        })?;
        let mut loader = Loader {
            file,
            text,
            read,
            count: 0,
        };
        let p = &spec.policies;
        let identity = loader.set(&p.identity, PolicyKind::Identity)?;
        let trust = p
            .resource
            .iter()
            .any(|r| r.kind.as_deref() == Some("trust"));
        let resource = loader.set(&p.resource, PolicyKind::Resource)?;
        let boundary = loader.set(p.boundary.as_slice(), PolicyKind::Boundary)?;
        let session = loader.set(&p.session, PolicyKind::Session)?;
        let mut scp = Vec::new();
        for level in &p.scp {
            scp.push(loader.set(level, PolicyKind::Scp)?.unwrap_or_default());
        }
        let mut rcp = Vec::new();
        for level in &p.rcp {
            rcp.push(loader.set(level, PolicyKind::Rcp)?.unwrap_or_default());
        }
        if loader.count == 0 {
            return Err(err_at(None, "a case needs at least one policy".into()));
        }
        let r = &spec.request;
        let mut principal =
            RequestPrincipal::parse(&r.principal).map_err(|e| err_at(None, e.to_string()))?;
        if let Some(id) = &r.principal_id {
            principal = principal.with_id(id);
        }
        if let Some(arn) = &r.role_arn {
            principal = principal.with_role_arn(arn);
        }
        let mut context = Context::new();
        for (key, v) in &r.context {
            let values = context_values(v)
                .ok_or_else(|| err_at(None, format!("context key {key:?}: a value must be a string, a boolean, a number, or an array of those")))?;
            context.put(key, values);
        }
        let mut request = Request::new(principal, &r.action, r.resource.as_deref(), context)
            .with_principal_tags(
                r.principal_tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .with_boundary(boundary.is_some());
        if let Some(acct) = &r.resource_account {
            request = request.with_resource_account(acct);
        }
        let expect = match &spec.expect {
            None => None,
            Some(e) => Some(DecisionKind::parse(e).ok_or_else(|| {
                err_at(
                    None,
                    format!("expect must be Allow, ExplicitDeny or ImplicitDeny, not {e:?}"),
                )
            })?),
        };
        Ok(Case {
            name: spec.name.unwrap_or_default(),
            request,
            expect,
            identity,
            resource,
            resource_is_trust: trust,
            boundary,
            session,
            scp,
            rcp,
        })
    }

    /// The layers, for [`crate::decide`] and [`crate::explain`].
    pub fn layers(&self) -> Layers<'_> {
        Layers {
            identity: self.identity.as_ref(),
            resource: self.resource.as_ref(),
            resource_is_trust: self.resource_is_trust,
            boundary: self.boundary.as_ref(),
            session: self.session.as_ref(),
            scp: &self.scp,
            rcp: &self.rcp,
        }
    }
}

fn context_values(v: &serde_json::Value) -> Option<Values> {
    fn one(v: &serde_json::Value) -> Option<Value> {
        match v {
            serde_json::Value::String(s) => Some(Value::new(s.as_str())),
            serde_json::Value::Bool(b) => Some(Value::from(*b)),
            serde_json::Value::Number(n) => Some(Value::new(n.to_string())),
            _ => None,
        }
    }
    match v {
        serde_json::Value::Array(items) => Some(Values::Multi(
            items.iter().map(one).collect::<Option<Vec<_>>>()?,
        )),
        other => Some(Values::Single(one(other)?)),
    }
}

struct Loader<'f, 'r> {
    file: &'f str,
    text: &'f str,
    read: &'f mut ReadFile<'r>,
    count: usize,
}

impl Loader<'_, '_> {
    fn set(
        &mut self,
        specs: &[PolicySpec<'_>],
        kind: PolicyKind,
    ) -> Result<Option<PolicySet>, CaseError> {
        if specs.is_empty() {
            return Ok(None);
        }
        let mut policies = Vec::new();
        for spec in specs {
            policies.push(Arc::new(self.policy(spec, kind)?));
        }
        Ok(Some(PolicySet::new(policies)))
    }

    fn policy(
        &mut self,
        spec: &PolicySpec<'_>,
        kind: PolicyKind,
    ) -> Result<CompiledPolicy, CaseError> {
        self.count += 1;
        let kind = match (kind, spec.kind.as_deref()) {
            (PolicyKind::Resource, Some("trust")) => PolicyKind::Trust,
            (PolicyKind::Resource, None | Some("resource")) => PolicyKind::Resource,
            (_, None) => kind,
            (_, Some(other)) => {
                return Err(self.error(
                    None,
                    format!("policy kind {other:?}: only resource policies take a kind (\"resource\" or \"trust\")"),
                ));
            }
        };
        let (doc_file, doc_text, base): (String, String, usize) = match (&spec.document, &spec.file)
        {
            (Some(raw), None) => {
                let text = raw.get();
                // The document's offset in the case file, for locations.
                let base = (text.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
                (self.file.to_string(), text.to_string(), base)
            }
            (None, Some(path)) => {
                let text =
                    (self.read)(path).map_err(|m| self.error(None, format!("{path}: {m}")))?;
                (path.clone(), text, 0)
            }
            _ => {
                return Err(self.error(
                    None,
                    "a policy needs exactly one of \"document\" and \"file\"".into(),
                ));
            }
        };
        let name = spec.name.clone().unwrap_or_else(|| match &spec.file {
            Some(f) => f
                .rsplit('/')
                .next()
                .unwrap_or(f)
                .trim_end_matches(".json")
                .to_string(),
            None => format!("policy{}", self.count),
        });
        let located = |offset: u32, message: String| {
            let (file, full) = if base > 0 || doc_file == self.file {
                (self.file.to_string(), self.text)
            } else {
                (doc_file.clone(), doc_text.as_str())
            };
            let at = LineIndex::new(full)
                .locate(offset.saturating_add(u32::try_from(base).unwrap_or(0)));
            CaseError {
                file,
                location: Some((at.line, at.column)),
                message,
            }
        };
        if let Err(diags) = validate(&doc_text, &ValidateOptions::new(kind, Mode::Provider))
            && let Some(d) = diags.first()
        {
            return Err(located(
                d.span.start,
                format!(
                    "policy {name:?} is not a valid {} policy: {}",
                    kind.name(),
                    d.message
                ),
            ));
        }
        let policy = parse_policy(&doc_text).map_err(|errors| match errors.first() {
            Some(e) => located(e.span.start, format!("policy {name:?}: {}", e.kind)),
            None => located(0, format!("policy {name:?} cannot be read")),
        })?;
        Ok(CompiledPolicy::compile(
            &name,
            spec.version.as_deref(),
            &policy,
        ))
    }

    fn error(&self, offset: Option<usize>, message: String) -> CaseError {
        CaseError {
            file: self.file.to_string(),
            location: offset.map(|o| {
                let at = LineIndex::new(self.text).locate(u32::try_from(o).unwrap_or(u32::MAX));
                (at.line, at.column)
            }),
            message,
        }
    }
}
