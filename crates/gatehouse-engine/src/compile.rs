//! Compiled policies and indexed policy sets.
//!
//! A policy is compiled once: actions are lower-cased and precompiled, resources are split into
//! ARN fields, condition values are read in their operator's domain, principals are classified.
//! A [`PolicySet`] indexes its statements by service prefix and action name, so a statement
//! that cannot apply to a request's action is never looked at.

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

use gatehouse_policy::{
    ActionClause, Effect, OperatorName, Policy, Principal, PrincipalClause, PrincipalKind,
    ResourceClause, Statement, Version,
};

use crate::condition::Test;
use crate::pattern::{ArnPattern, Pattern, Wildcards};
use crate::request::{PrincipalType, Request};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One action pattern, lower-cased.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ActionPattern {
    /// As written (for explanations).
    pub(crate) text: Box<str>,
    /// Lower-cased; also the action index's key for an exact action.
    pub(crate) lower: Arc<str>,
    matcher: ActionMatch,
}

/// How an action pattern matches. Action patterns have no variables, and almost all are an
/// exact action or a prefix (`s3:Get*`): those compile without allocating a matcher (AWS's
/// ReadOnlyAccess alone has about 2,900 of them).
#[derive(Clone, Debug, PartialEq)]
enum ActionMatch {
    Exact,
    /// The first `n` bytes of `lower`, then anything.
    Prefix(usize),
    Any,
    Glob(Box<Pattern>),
}

impl ActionPattern {
    fn compile(text: &str) -> ActionPattern {
        let lower: Arc<str> = Arc::from(text.to_ascii_lowercase());
        let matcher = match lower.find(['*', '?']) {
            None => ActionMatch::Exact,
            Some(0) if &*lower == "*" => ActionMatch::Any,
            Some(i) if i + 1 == lower.len() && lower.ends_with('*') => ActionMatch::Prefix(i),
            Some(_) => ActionMatch::Glob(Box::new(Pattern::compile(&lower, false, Wildcards::Yes))),
        };
        ActionPattern {
            text: text.into(),
            lower,
            matcher,
        }
    }

    /// Whether the (lower-cased) action matches.
    fn matches(&self, action_lower: &str) -> bool {
        match &self.matcher {
            ActionMatch::Exact => *self.lower == *action_lower,
            ActionMatch::Prefix(n) => self
                .lower
                .get(..*n)
                .is_some_and(|prefix| action_lower.starts_with(prefix)),
            ActionMatch::Any => true,
            ActionMatch::Glob(p) => {
                p.matches(action_lower, &crate::request::Context::new()) == Some(true)
            }
        }
    }
}

/// `Action` or `NotAction`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Actions {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<ActionPattern>,
}

impl Actions {
    fn compile(clause: &ActionClause<'_>) -> Actions {
        Actions {
            negated: clause.negated,
            patterns: clause
                .values
                .iter()
                .map(|v| ActionPattern::compile(&v.node))
                .collect(),
        }
    }

    /// Whether any of the patterns at these positions matches the (lower-cased) action.
    pub(crate) fn any_at(&self, positions: &[u32], action_lower: &str) -> bool {
        positions.iter().any(|&i| {
            self.patterns
                .get(i as usize)
                .is_some_and(|p| p.matches(action_lower))
        })
    }

    /// Whether the element lets the (lower-cased) action through.
    pub(crate) fn matches(&self, action_lower: &str) -> bool {
        let any = self.patterns.iter().any(|p| p.matches(action_lower));
        any != self.negated
    }
}

/// `Resource` or `NotResource`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Resources {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<ArnPattern>,
}

impl Resources {
    fn compile(clause: &ResourceClause<'_>, variables: bool) -> Resources {
        Resources {
            negated: clause.negated,
            patterns: clause
                .values
                .iter()
                .map(|v| ArnPattern::compile(&v.node, variables))
                .collect(),
        }
    }

    /// Whether the element lets the resource through (`None`: an action without a resource,
    /// which only the pattern `*` matches).
    pub(crate) fn matches(&self, resource: Option<&str>, req: &Request) -> bool {
        let any = self.patterns.iter().any(|p| match resource {
            None => p.is_any(),
            Some(r) => p.matches_resource(r, req.context()) == Some(true),
        });
        any != self.negated
    }
}

/// How a resource-based policy's principal entry names the caller. The order is from weakest
/// to strongest grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Grant {
    /// The caller's account (an account ID or `:root` ARN): delegation to the account, whose
    /// identity policies must also allow.
    Account,
    /// `*` (without an `aws:PrincipalArn` condition): identity policies need not allow, but
    /// the permissions boundary and session policies still limit.
    Everyone,
    /// The role of which the caller is a session: identity policies need not allow, but the
    /// permissions boundary and session policies still limit.
    RoleArn,
    /// The caller itself (user, role session, federated user, service, unique ID), or `*`
    /// with an `aws:PrincipalArn` condition.
    Direct,
}

/// One principal entry, classified.
#[derive(Clone, Debug, PartialEq)]
enum PrincipalPattern {
    Any,
    Account(Box<str>),
    /// A user ARN, session ARN or federated-user ARN: the caller's ARN must be equal.
    Exact(Box<str>),
    /// A role ARN: the role itself, or any session of it.
    Role {
        arn: Box<str>,
        account: Box<str>,
        name: Box<str>,
    },
    Service(Box<str>),
    Federated(Box<str>),
    UniqueId(Box<str>),
    /// Something that names no caller Gatehouse knows (a canonical user, a malformed ARN).
    Never,
}

impl PrincipalPattern {
    fn compile(kind: PrincipalKind, text: &str) -> PrincipalPattern {
        match kind {
            PrincipalKind::Service => PrincipalPattern::Service(text.into()),
            PrincipalKind::Federated => PrincipalPattern::Federated(text.into()),
            PrincipalKind::CanonicalUser => PrincipalPattern::Never,
            PrincipalKind::Aws => {
                if text == "*" {
                    return PrincipalPattern::Any;
                }
                if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
                    return PrincipalPattern::Account(text.into());
                }
                if !text.starts_with("arn:") {
                    return PrincipalPattern::UniqueId(text.into());
                }
                let f: Vec<&str> = text.splitn(6, ':').collect();
                match (f.get(2), f.get(4), f.get(5)) {
                    (Some(&"iam"), Some(acct), Some(&"root")) => {
                        PrincipalPattern::Account((*acct).into())
                    }
                    (Some(&"iam"), Some(acct), Some(res)) if res.starts_with("role/") => {
                        PrincipalPattern::Role {
                            arn: text.into(),
                            account: (*acct).into(),
                            name: res.rsplit('/').next().unwrap_or("").into(),
                        }
                    }
                    (Some(&"iam"), Some(_), Some(res)) if res.starts_with("user/") => {
                        PrincipalPattern::Exact(text.into())
                    }
                    (Some(&"sts"), Some(_), Some(res))
                        if res.starts_with("assumed-role/")
                            || res.starts_with("federated-user/") =>
                    {
                        PrincipalPattern::Exact(text.into())
                    }
                    _ => PrincipalPattern::Never,
                }
            }
        }
    }

    fn grant(&self, req: &Request) -> Option<Grant> {
        let p = req.principal();
        let kind = p.kind();
        match self {
            PrincipalPattern::Any => Some(Grant::Everyone),
            PrincipalPattern::Account(a) => (kind != PrincipalType::Service
                && kind != PrincipalType::Anonymous
                && **a == *p.account())
            .then_some(Grant::Account),
            PrincipalPattern::Exact(arn) => (**arn == *p.arn()).then_some(Grant::Direct),
            PrincipalPattern::Role { arn, account, name } => match kind {
                PrincipalType::Role => (**arn == *p.arn()).then_some(Grant::Direct),
                PrincipalType::AssumedRole => {
                    let same = match p.role_arn() {
                        Some(r) if r.contains(":role/") && r.matches('/').count() > 1 => {
                            **arn == *r
                        }
                        _ => **account == *p.account() && **name == *p.name(),
                    };
                    same.then_some(Grant::RoleArn)
                }
                _ => None,
            },
            PrincipalPattern::Service(s) => {
                (kind == PrincipalType::Service && **s == *p.name()).then_some(Grant::Direct)
            }
            PrincipalPattern::Federated(provider) => req
                .context()
                .get("aws:FederatedProvider")
                .is_some_and(|v| v.as_slice().iter().any(|v| v.text() == &**provider))
                .then_some(Grant::Direct),
            // A role's unique ID names the role: for its sessions that is a role grant.
            PrincipalPattern::UniqueId(id) => match (kind, p.id()) {
                (PrincipalType::AssumedRole, Some(caller)) => {
                    (caller.split(':').next() == Some(&**id)).then_some(Grant::RoleArn)
                }
                (_, Some(caller)) => (caller == &**id).then_some(Grant::Direct),
                (_, None) => None,
            },
            PrincipalPattern::Never => None,
        }
    }
}

/// `Principal` or `NotPrincipal`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Principals {
    pub(crate) negated: bool,
    entries: Vec<PrincipalPattern>,
    pub(crate) texts: Vec<String>,
}

impl Principals {
    fn compile(clause: &PrincipalClause<'_>) -> Principals {
        let mut entries = Vec::new();
        let mut texts = Vec::new();
        match &clause.value.node {
            Principal::Wildcard => {
                entries.push(PrincipalPattern::Any);
                texts.push("*".to_string());
            }
            Principal::Map(map) => {
                for entry in map {
                    for v in entry.values.iter() {
                        entries.push(PrincipalPattern::compile(entry.kind.node, &v.node));
                        texts.push(format!("{}:{}", entry.kind.node.as_str(), v.node));
                    }
                }
            }
        }
        Principals {
            negated: clause.negated,
            entries,
            texts,
        }
    }

    /// The strongest grant among the entries that name the caller; for `NotPrincipal`, a
    /// direct grant when no entry names it.
    pub(crate) fn grant(&self, req: &Request) -> Option<Grant> {
        if self.negated {
            return (!self.names_whole_chain(req)).then_some(Grant::Direct);
        }
        self.entries.iter().filter_map(|e| e.grant(req)).max()
    }

    /// For `NotPrincipal`: whether the entries name every identity AWS checks for the caller,
    /// which is what exempts it. AWS evaluates a user as its account and then the user, a role
    /// session as the account, the role and the session; an entry that names only one of them
    /// does not exempt the caller (AWS's NotPrincipal documentation).
    fn names_whole_chain(&self, req: &Request) -> bool {
        if self.entries.contains(&PrincipalPattern::Any) {
            return true;
        }
        let (mut account, mut role, mut direct) = (false, false, false);
        for g in self.entries.iter().filter_map(|e| e.grant(req)) {
            match g {
                Grant::Account => account = true,
                Grant::RoleArn => role = true,
                Grant::Direct => direct = true,
                Grant::Everyone => {}
            }
        }
        match req.principal().kind() {
            PrincipalType::Root => account,
            PrincipalType::User | PrincipalType::Role | PrincipalType::FederatedUser => {
                account && direct
            }
            PrincipalType::AssumedRole => account && role && direct,
            PrincipalType::Service | PrincipalType::Anonymous => direct,
        }
    }
}

/// Where a statement goes in a policy set's action index, worked out once when the policy
/// is compiled (a policy set is built often: for each principal whose policies change).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StatementIndex {
    /// No `Action` element: the statement applies to nothing.
    Nothing,
    /// `NotAction`, or a wildcard in a service prefix: check it on every request.
    Always,
    /// The services the statement's actions name.
    Services(Box<[ServiceActions]>),
}

/// A statement's actions of one service.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ServiceActions {
    service: Arc<str>,
    /// When a pattern for this service has a wildcard: the positions of all the statement's
    /// patterns for this service (only those can match its actions).
    wild: Option<Arc<[u32]>>,
    /// Otherwise: the exact actions, lower-cased (`s3:getobject`). Shared with every policy
    /// set the statement is indexed in, so building a set allocates no keys.
    exact: Box<[Arc<str>]>,
}

impl StatementIndex {
    fn of(actions: Option<&Actions>) -> StatementIndex {
        let Some(actions) = actions else {
            return StatementIndex::Nothing;
        };
        if actions.negated {
            return StatementIndex::Always;
        }
        // (service, has a wildcard, pattern positions, exact actions), in first-seen order.
        type Group<'a> = (&'a str, bool, Vec<u32>, Vec<Arc<str>>);
        let mut services: Vec<Group<'_>> = Vec::new();
        let mut seen: Map<&str, usize> = Map::default();
        for (i, p) in actions.patterns.iter().enumerate() {
            let Some((svc, name)) = p
                .lower
                .split_once(':')
                .filter(|(svc, _)| !svc.contains(['*', '?']))
            else {
                // `*`, `s3*:Get`, or a malformed action.
                return StatementIndex::Always;
            };
            // Patterns come grouped by service, so the last service is the usual hit.
            let at = match services.last() {
                Some(last) if last.0 == svc => services.len() - 1,
                _ => *seen.entry(svc).or_insert_with(|| {
                    services.push((svc, false, Vec::new(), Vec::new()));
                    services.len() - 1
                }),
            };
            if let Some(entry) = services.get_mut(at) {
                entry.1 |= name.contains(['*', '?']);
                entry.2.push(u32::try_from(i).unwrap_or(u32::MAX));
                if !entry.3.contains(&p.lower) {
                    entry.3.push(p.lower.clone());
                }
            }
        }
        StatementIndex::Services(
            services
                .into_iter()
                .map(|(svc, wild, positions, actions)| ServiceActions {
                    service: svc.into(),
                    wild: wild.then(|| positions.into()),
                    exact: if wild {
                        Box::new([])
                    } else {
                        actions.into_boxed_slice()
                    },
                })
                .collect(),
        )
    }
}

/// A compiled statement.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CompiledStatement {
    pub(crate) index: usize,
    pub(crate) sid: Option<Box<str>>,
    pub(crate) effect: Effect,
    pub(crate) actions: Option<Actions>,
    pub(crate) resources: Option<Resources>,
    pub(crate) principal: Option<Principals>,
    pub(crate) conditions: Box<[Test]>,
    /// Whether a condition tests `aws:PrincipalArn` (which makes a `*` principal a direct
    /// grant).
    pub(crate) principal_arn_condition: bool,
    /// Where the statement goes in a policy set's index.
    pub(crate) index_entry: StatementIndex,
}

impl CompiledStatement {
    fn compile(index: usize, st: &Statement<'_>, version: Version) -> CompiledStatement {
        let variables = version == Version::V2012_10_17;
        let mut conditions = Vec::new();
        if let Some(cond) = &st.condition {
            for block in &cond.blocks {
                // An unknown operator is accepted by AWS only with an empty block, which
                // tests nothing.
                if let OperatorName::Known(op) = block.operator.node {
                    for entry in &block.entries {
                        conditions.push(Test::compile(op, entry, variables));
                    }
                }
            }
        }
        let actions = st.action.as_ref().map(Actions::compile);
        CompiledStatement {
            index,
            sid: st.sid.as_ref().map(|s| s.node.as_ref().into()),
            effect: st.effect.node,
            index_entry: StatementIndex::of(actions.as_ref()),
            actions,
            resources: st
                .resource
                .as_ref()
                .map(|r| Resources::compile(r, variables)),
            principal: st.principal.as_ref().map(Principals::compile),
            principal_arn_condition: conditions
                .iter()
                .any(|t| t.key_lower() == "aws:principalarn"),
            conditions: conditions.into_boxed_slice(),
        }
    }
}

/// A policy compiled for evaluation. Cheap to share between policy sets (`Arc`).
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledPolicy {
    name: Box<str>,
    version_id: Option<Box<str>>,
    pub(crate) statements: Vec<CompiledStatement>,
}

impl CompiledPolicy {
    /// Compiles a parsed policy. `name` and `version_id` identify it in explanations.
    pub fn compile(name: &str, version_id: Option<&str>, policy: &Policy<'_>) -> CompiledPolicy {
        let version = policy.effective_version();
        CompiledPolicy {
            name: name.into(),
            version_id: version_id.map(Into::into),
            statements: policy
                .statements
                .iter()
                .enumerate()
                .map(|(i, s)| CompiledStatement::compile(i, s, version))
                .collect(),
        }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy version (`v3`), when known.
    pub fn version_id(&self) -> Option<&str> {
        self.version_id.as_deref()
    }

    /// The number of statements.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether the policy has no statements.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// A statement of a policy set: (policy, statement) indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct StmtRef {
    pub(crate) policy: u32,
    pub(crate) statement: u32,
}

/// A statement with a wildcard action for one service, with the positions of its patterns for
/// that service: only those can match an action of the service, so only those are tried.
#[derive(Clone, Debug)]
pub(crate) struct WildEntry {
    pub(crate) stmt: StmtRef,
    pub(crate) patterns: Arc<[u32]>,
}

/// The candidates for one action: statements known to match it, statements whose patterns for
/// the action's service must be tried, and statements to check in full.
pub(crate) struct Candidates<'s> {
    pub(crate) exact: &'s [StmtRef],
    pub(crate) wild: &'s [WildEntry],
    pub(crate) always: &'s [StmtRef],
}

/// The policies of one layer (or one level of an organization), with their statements
/// indexed by action.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    policies: Vec<Arc<CompiledPolicy>>,
    /// Statements that name an action exactly, by the lower-cased action.
    exact: Map<Arc<str>, SmallVec<[StmtRef; 2]>>,
    /// Statements with a wildcard in an action name, by service.
    wild: Map<Arc<str>, Vec<WildEntry>>,
    /// `NotAction` statements and statements with a wildcard in the service prefix.
    always: Vec<StmtRef>,
    statements: usize,
}

impl PolicySet {
    /// Indexes the policies.
    pub fn new(policies: impl IntoIterator<Item = Arc<CompiledPolicy>>) -> PolicySet {
        let policies: Vec<Arc<CompiledPolicy>> = policies.into_iter().collect();
        let (mut exact, mut wild) = (0, 0);
        for st in policies.iter().flat_map(|p| p.statements.iter()) {
            if let StatementIndex::Services(list) = &st.index_entry {
                for sa in list.iter() {
                    exact += sa.exact.len();
                    wild += usize::from(sa.wild.is_some());
                }
            }
        }
        let mut set = PolicySet {
            policies,
            exact: Map::with_capacity_and_hasher(exact, Default::default()),
            wild: Map::with_capacity_and_hasher(wild, Default::default()),
            ..PolicySet::default()
        };
        for (pi, policy) in set.policies.iter().enumerate() {
            for (si, st) in policy.statements.iter().enumerate() {
                set.statements += 1;
                let r = StmtRef {
                    policy: u32::try_from(pi).unwrap_or(u32::MAX),
                    statement: u32::try_from(si).unwrap_or(u32::MAX),
                };
                match &st.index_entry {
                    StatementIndex::Nothing => {}
                    StatementIndex::Always => set.always.push(r),
                    StatementIndex::Services(list) => {
                        for sa in list.iter() {
                            if let Some(positions) = &sa.wild {
                                set.wild
                                    .entry(sa.service.clone())
                                    .or_default()
                                    .push(WildEntry {
                                        stmt: r,
                                        patterns: positions.clone(),
                                    });
                                continue;
                            }
                            for key in sa.exact.iter() {
                                let list = set.exact.entry(key.clone()).or_default();
                                if list.last() != Some(&r) {
                                    list.push(r);
                                }
                            }
                        }
                    }
                }
            }
        }
        set
    }

    /// The policies, in order.
    pub fn policies(&self) -> &[Arc<CompiledPolicy>] {
        &self.policies
    }

    /// The number of statements in all policies.
    pub fn statement_count(&self) -> usize {
        self.statements
    }

    /// Whether the set has no policies.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    pub(crate) fn statement(&self, r: StmtRef) -> Option<(&CompiledPolicy, &CompiledStatement)> {
        let p = self.policies.get(r.policy as usize)?;
        Some((p, p.statements.get(r.statement as usize)?))
    }

    /// Every statement, unindexed (for explanations and the reference path).
    pub(crate) fn all(&self) -> impl Iterator<Item = StmtRef> + '_ {
        self.policies.iter().enumerate().flat_map(|(pi, p)| {
            (0..p.statements.len()).map(move |si| StmtRef {
                policy: u32::try_from(pi).unwrap_or(u32::MAX),
                statement: u32::try_from(si).unwrap_or(u32::MAX),
            })
        })
    }

    /// The statements that may apply to a (lower-cased) action.
    pub(crate) fn candidates(&self, action_lower: &str) -> Candidates<'_> {
        // An action without a service prefix can only match patterns checked in full.
        let Some((svc, _)) = action_lower.split_once(':') else {
            return Candidates {
                exact: &[],
                wild: &[],
                always: &self.always,
            };
        };
        Candidates {
            exact: self.exact.get(action_lower).map_or(&[], |l| l.as_slice()),
            wild: self.wild.get(svc).map_or(&[], Vec::as_slice),
            always: &self.always,
        }
    }
}
