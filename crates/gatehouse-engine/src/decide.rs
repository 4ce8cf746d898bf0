//! The decision: AWS's policy evaluation logic over every layer.
//!
//! The order follows AWS's documented enforcement logic (iam-spec §5.4-§5.9): an explicit
//! deny in any layer wins; then every level of service control policies and resource control
//! policies must allow; then the resource-based policy, the identity-based policies, the
//! permissions boundary and the session policies, with the same-account and cross-account
//! rules for which grant is enough.

use gatehouse_policy::Effect;
use serde::Serialize;

use crate::compile::{CompiledStatement, Grant, PolicySet, StmtRef};
use crate::request::{PrincipalType, Request};

/// A decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum DecisionKind {
    /// Allowed.
    Allow,
    /// Denied by an applicable `Deny` statement.
    ExplicitDeny,
    /// Denied because nothing (or not every required layer) allows.
    ImplicitDeny,
}

impl DecisionKind {
    /// The name as written in decision cases (`Allow`, `ExplicitDeny`, `ImplicitDeny`).
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Allow => "Allow",
            DecisionKind::ExplicitDeny => "ExplicitDeny",
            DecisionKind::ImplicitDeny => "ImplicitDeny",
        }
    }

    /// Reads a decision name.
    pub fn parse(s: &str) -> Option<DecisionKind> {
        match s {
            "Allow" => Some(DecisionKind::Allow),
            "ExplicitDeny" => Some(DecisionKind::ExplicitDeny),
            "ImplicitDeny" => Some(DecisionKind::ImplicitDeny),
            _ => None,
        }
    }
}

/// A kind of policy layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum LayerKind {
    /// Service control policies (one set per level of the organization path).
    Scp,
    /// Resource control policies (one set per level).
    Rcp,
    /// The resource-based policy (or a role's trust policy).
    Resource,
    /// Identity-based policies: managed and inline, the user's groups' policies.
    Identity,
    /// The permissions boundary.
    Boundary,
    /// Session policies.
    Session,
}

impl LayerKind {
    /// How AWS names the policy type in AccessDenied messages.
    pub fn aws_name(self) -> &'static str {
        match self {
            LayerKind::Scp => "service control policy",
            LayerKind::Rcp => "resource control policy",
            LayerKind::Resource => "resource-based policy",
            LayerKind::Identity => "identity-based policy",
            LayerKind::Boundary => "permissions boundary",
            LayerKind::Session => "session policy",
        }
    }

    /// A short name (`identity`, `scp`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Scp => "scp",
            LayerKind::Rcp => "rcp",
            LayerKind::Resource => "resource",
            LayerKind::Identity => "identity",
            LayerKind::Boundary => "boundary",
            LayerKind::Session => "session",
        }
    }
}

/// A layer: its kind and, for SCPs and RCPs, the level (1 = the organization root).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerId {
    /// The kind.
    pub kind: LayerKind,
    /// The level for SCPs and RCPs (from 1), 0 otherwise.
    pub level: u16,
}

impl LayerId {
    fn of(kind: LayerKind) -> LayerId {
        LayerId { kind, level: 0 }
    }
}

impl std::fmt::Display for LayerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            LayerKind::Scp | LayerKind::Rcp => write!(f, "{}[{}]", self.kind.as_str(), self.level),
            _ => f.write_str(self.kind.as_str()),
        }
    }
}

impl Serialize for LayerId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why the decision is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Reason {
    /// An applicable `Deny` in a layer of this kind.
    ExplicitDeny(LayerKind),
    /// A layer of this kind had to allow and did not.
    NotAllowed(LayerKind),
    /// Allowed by a layer of this kind (and nothing limited it).
    Allowed(LayerKind),
    /// The account's root user, implicitly allowed in its own account.
    RootUser,
}

impl Reason {
    /// The end of AWS's AccessDenied message: `with an explicit deny in an identity-based
    /// policy`, `because no identity-based policy allows the s3:GetObject action`.
    pub fn aws_phrase(self, action: &str) -> String {
        let article = |k: LayerKind| match k {
            LayerKind::Identity => "an",
            _ => "a",
        };
        match self {
            Reason::ExplicitDeny(k) => {
                format!("with an explicit deny in {} {}", article(k), k.aws_name())
            }
            Reason::NotAllowed(k) => {
                format!("because no {} allows the {action} action", k.aws_name())
            }
            Reason::Allowed(k) => format!("allowed by {} {}", article(k), k.aws_name()),
            Reason::RootUser => "allowed: the account's root user".to_string(),
        }
    }
}

/// The policy layers that apply to a request. Absent layers do not restrict.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layers<'a> {
    /// Identity-based policies (user or role, managed and inline, and the user's groups').
    pub identity: Option<&'a PolicySet>,
    /// The resource's resource-based policy.
    pub resource: Option<&'a PolicySet>,
    /// Whether the resource policy is authoritative (a role trust policy): it must allow the
    /// caller itself, identity policies alone never suffice.
    pub resource_is_trust: bool,
    /// The principal's permissions boundary.
    pub boundary: Option<&'a PolicySet>,
    /// The session policies of a role or federated-user session.
    pub session: Option<&'a PolicySet>,
    /// Service control policies of the principal's account, one set per level, from the
    /// organization root down to the account.
    pub scp: &'a [PolicySet],
    /// Resource control policies of the resource's account, one set per level.
    pub rcp: &'a [PolicySet],
}

/// One statement, identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementId<'a> {
    /// The layer.
    pub layer: LayerId,
    /// The policy's name.
    pub policy: &'a str,
    /// The policy version, when known.
    pub version: Option<&'a str>,
    /// The statement's Sid.
    pub sid: Option<&'a str>,
    /// The statement's position in its policy (from 0).
    pub index: usize,
}

/// A decision, with the reason and the statement that determined it (when one did).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision<'a> {
    /// Allow, explicit deny or implicit deny.
    pub kind: DecisionKind,
    /// Why.
    pub reason: Reason,
    /// The determining statement: the deny, or the allow of the deciding layer.
    pub statement: Option<StatementId<'a>>,
}

/// Why a statement did not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Miss {
    Action,
    Resource,
    Principal,
    Condition(usize),
}

/// Checks one statement against the request. `Ok` carries the principal grant for statements
/// with a `Principal` element.
pub(crate) fn check(
    st: &CompiledStatement,
    req: &Request,
    action_known: bool,
) -> Result<Option<Grant>, Miss> {
    if !action_known {
        match &st.actions {
            Some(a) if a.matches(req.action_lower()) => {}
            _ => return Err(Miss::Action),
        }
    }
    if let Some(r) = &st.resources
        && !r.matches(req.resource(), req)
    {
        return Err(Miss::Resource);
    }
    let grant = match &st.principal {
        // A Deny with NotPrincipal always applies to principals with a permissions boundary.
        Some(p) if p.negated && st.effect == Effect::Deny && req.principal_has_boundary() => {
            Some(Grant::Direct)
        }
        Some(p) => match p.grant(req) {
            // `*` narrowed by an `aws:PrincipalArn` condition names the caller itself.
            Some(Grant::Everyone) if st.principal_arn_condition => Some(Grant::Direct),
            Some(g) => Some(g),
            None => return Err(Miss::Principal),
        },
        None => None,
    };
    for (i, t) in st.conditions.iter().enumerate() {
        if !t.holds(req.context()) {
            return Err(Miss::Condition(i));
        }
    }
    Ok(grant)
}

/// What one policy set says about a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Hits {
    /// An applicable Allow, with its grant (the strongest one in a resource policy).
    pub(crate) allow: Option<(StmtRef, Option<Grant>)>,
    /// An applicable Deny.
    pub(crate) deny: Option<StmtRef>,
}

impl Hits {
    fn record(&mut self, r: StmtRef, st: &CompiledStatement, grant: Option<Grant>) {
        match st.effect {
            Effect::Deny => {
                if self.deny.is_none() {
                    self.deny = Some(r);
                }
            }
            Effect::Allow => match self.allow {
                Some((_, g)) if g >= grant => {}
                _ => self.allow = Some((r, grant)),
            },
        }
    }
}

/// Evaluates a set through its index: only the statements that can apply to the action.
pub(crate) fn scan_indexed(set: &PolicySet, req: &Request) -> Hits {
    let mut hits = Hits::default();
    let c = set.candidates(req.action_lower());
    let mut visit = |r: StmtRef, known: bool, st: &CompiledStatement| {
        if let Ok(grant) = check(st, req, known) {
            hits.record(r, st, grant);
        }
        hits.deny.is_some()
    };
    for &r in c.exact {
        if let Some((_, st)) = set.statement(r)
            && visit(r, true, st)
        {
            return hits;
        }
    }
    for w in c.wild {
        if let Some((_, st)) = set.statement(w.stmt)
            && st.wild_matches(w, req.action_lower())
            && visit(w.stmt, true, st)
        {
            return hits;
        }
    }
    for &r in c.always {
        if let Some((_, st)) = set.statement(r)
            && visit(r, false, st)
        {
            return hits;
        }
    }
    hits
}

/// Evaluates every statement of a set, in order: the plain path, for explanations and as the
/// reference the index is tested against.
pub(crate) fn scan_all(set: &PolicySet, req: &Request) -> Hits {
    let mut hits = Hits::default();
    for r in set.all() {
        if let Some((_, st)) = set.statement(r)
            && let Ok(grant) = check(st, req, false)
        {
            hits.record(r, st, grant);
        }
    }
    hits
}

/// The raw outcome: decision, reason, and the deciding statement's layer and reference.
pub(crate) type Verdict = (DecisionKind, Reason, Option<(LayerId, StmtRef)>);

/// Whether SCPs apply to the principal: IAM principals of the account, except service-linked
/// roles.
fn scps_apply(req: &Request) -> bool {
    let p = req.principal();
    !matches!(p.kind(), PrincipalType::Service | PrincipalType::Anonymous)
        && !p.is_service_linked_role()
}

/// AWS's decision logic, over any way of evaluating a set.
pub(crate) fn decide_with(
    layers: &Layers<'_>,
    req: &Request,
    scan: impl Fn(&PolicySet, &Request) -> Hits,
) -> Verdict {
    use DecisionKind::{Allow, ExplicitDeny, ImplicitDeny};
    let deny = |kind: LayerKind, level: u16, r: StmtRef| -> Verdict {
        (
            ExplicitDeny,
            Reason::ExplicitDeny(kind),
            Some((LayerId { kind, level }, r)),
        )
    };
    // Organization levels: any deny, and the first SCP level that does not allow. RCPs only
    // deny: AWS attaches RCPFullAWSAccess to every level and it cannot be detached, so every
    // RCP level always has an applicable Allow.
    let mut org_gap: Option<LayerKind> = None;
    let orgs = [
        (LayerKind::Scp, layers.scp, scps_apply(req)),
        (
            LayerKind::Rcp,
            layers.rcp,
            !req.principal().is_service_linked_role(),
        ),
    ];
    for (kind, levels, applies) in orgs {
        if !applies {
            continue;
        }
        for (i, set) in levels.iter().enumerate() {
            let h = scan(set, req);
            let level = u16::try_from(i + 1).unwrap_or(u16::MAX);
            if let Some(r) = h.deny {
                return deny(kind, level, r);
            }
            if kind == LayerKind::Scp && h.allow.is_none() && org_gap.is_none() {
                org_gap = Some(kind);
            }
        }
    }
    let eval = |set: Option<&PolicySet>| set.map(|s| scan(s, req));
    let resource = eval(layers.resource);
    let identity = eval(layers.identity);
    let boundary = eval(layers.boundary);
    let session = eval(layers.session);
    for (kind, hits) in [
        (LayerKind::Resource, resource),
        (LayerKind::Identity, identity),
        (LayerKind::Boundary, boundary),
        (LayerKind::Session, session),
    ] {
        if let Some(r) = hits.and_then(|h| h.deny) {
            return deny(kind, 0, r);
        }
    }
    if let Some(kind) = org_gap {
        return (ImplicitDeny, Reason::NotAllowed(kind), None);
    }
    let not_allowed = |kind| (ImplicitDeny, Reason::NotAllowed(kind), None);
    let allowed_by =
        |kind: LayerKind, r: StmtRef| (Allow, Reason::Allowed(kind), Some((LayerId::of(kind), r)));
    // The resource policy's strongest applicable grant.
    let rbp = resource
        .and_then(|h| h.allow)
        .and_then(|(r, g)| g.map(|g| (r, g)));
    let identity_allow = identity.and_then(|h| h.allow).map(|(r, _)| r);
    let principal = req.principal();
    let kind = principal.kind();

    // Services and anonymous callers have no identity policies: only a resource policy grants.
    if matches!(kind, PrincipalType::Service | PrincipalType::Anonymous) {
        return match rbp {
            Some((r, _)) => allowed_by(LayerKind::Resource, r),
            None => not_allowed(LayerKind::Resource),
        };
    }

    // The principal's side: identity policies (or the root user), boundary, session policies.
    // `rbp_covers_identity` says a same-account resource grant stands in for identity
    // policies; `direct` says it also skips the boundary and session policies.
    let principal_side = |rbp_covers_identity: bool, direct: bool| -> Result<(), Verdict> {
        if direct {
            return Ok(());
        }
        if kind != PrincipalType::Root && !rbp_covers_identity && identity_allow.is_none() {
            return Err(not_allowed(LayerKind::Identity));
        }
        if boundary.is_some_and(|h| h.allow.is_none()) {
            return Err(not_allowed(LayerKind::Boundary));
        }
        match session {
            Some(h) if h.allow.is_none() => return Err(not_allowed(LayerKind::Session)),
            None if kind == PrincipalType::FederatedUser => {
                return Err(not_allowed(LayerKind::Session));
            }
            _ => {}
        }
        Ok(())
    };

    if req.is_cross_account() {
        // Both sides must allow; a resource grant never stands in for the caller's side.
        let Some((r, _)) = rbp else {
            return not_allowed(LayerKind::Resource);
        };
        if let Err(v) = principal_side(false, false) {
            return v;
        }
        return match (kind, identity_allow) {
            (PrincipalType::Root, _) | (_, None) => allowed_by(LayerKind::Resource, r),
            (_, Some(i)) => allowed_by(LayerKind::Identity, i),
        };
    }

    // Same account.
    if layers.resource_is_trust && rbp.is_none() {
        return not_allowed(LayerKind::Resource);
    }
    if kind == PrincipalType::Root {
        return match principal_side(true, false) {
            Err(v) => v,
            Ok(()) => match rbp {
                Some((r, _)) if layers.resource_is_trust => allowed_by(LayerKind::Resource, r),
                _ => (Allow, Reason::RootUser, None),
            },
        };
    }
    let grant = rbp.map(|(_, g)| g);
    if let Err(v) = principal_side(
        matches!(
            grant,
            Some(Grant::RoleArn | Grant::Everyone | Grant::Direct)
        ),
        grant == Some(Grant::Direct),
    ) {
        return v;
    }
    match (rbp, identity_allow) {
        (Some((r, Grant::Direct | Grant::RoleArn | Grant::Everyone)), _) => {
            allowed_by(LayerKind::Resource, r)
        }
        (_, Some(i)) => allowed_by(LayerKind::Identity, i),
        (Some((r, _)), None) => allowed_by(LayerKind::Resource, r),
        (None, None) => not_allowed(LayerKind::Identity),
    }
}

/// Looks up the set a layer id names.
pub(crate) fn layer_set<'a>(layers: &Layers<'a>, id: LayerId) -> Option<&'a PolicySet> {
    let level = usize::from(id.level).saturating_sub(1);
    match id.kind {
        LayerKind::Identity => layers.identity,
        LayerKind::Resource => layers.resource,
        LayerKind::Boundary => layers.boundary,
        LayerKind::Session => layers.session,
        LayerKind::Scp => layers.scp.get(level),
        LayerKind::Rcp => layers.rcp.get(level),
    }
}

/// Identifies a statement of a layer.
pub(crate) fn statement_id<'a>(
    layers: &Layers<'a>,
    layer: LayerId,
    r: StmtRef,
) -> Option<StatementId<'a>> {
    let set = layer_set(layers, layer)?;
    let (policy, st) = set.statement(r)?;
    Some(StatementId {
        layer,
        policy: policy.name(),
        version: policy.version_id(),
        sid: st.sid.as_deref(),
        index: st.index,
    })
}

/// Decides a request: the fast path, through each set's index. Does not allocate.
pub fn decide<'a>(layers: &Layers<'a>, req: &Request) -> Decision<'a> {
    let (kind, reason, by) = decide_with(layers, req, scan_indexed);
    Decision {
        kind,
        reason,
        statement: by.and_then(|(layer, r)| statement_id(layers, layer, r)),
    }
}

/// Decides a request by evaluating every statement of every layer, without the index: the
/// plain reference path. Gives the same decision as [`decide`].
pub fn decide_unindexed<'a>(layers: &Layers<'a>, req: &Request) -> DecisionKind {
    decide_with(layers, req, scan_all).0
}
