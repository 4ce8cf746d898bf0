//! Compiled policies and indexed policy sets.
//!
//! A policy is compiled once: actions are lower-cased and precompiled, resources are split into
//! ARN fields, condition values are read in their operator's domain, principals are classified.
//! A [`PolicySet`] indexes its statements by service prefix and action name, so a statement
//! that cannot apply to a request's action is never looked at.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use gatehouse_policy::{
    ActionClause, Effect, OperatorName, Policy, Principal, PrincipalClause, PrincipalKind,
    ResourceClause, Statement, Version,
};

use crate::condition::Test;
use crate::pattern::{ArnPattern, Pattern, Wildcards};
use crate::request::{PrincipalType, Request};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One action pattern: a range of its element's texts (as written and lower-cased, at the
/// same offsets).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ActionPattern {
    start: u32,
    end: u32,
    matcher: ActionMatch,
}

/// How an action pattern matches. Action patterns have no variables, and almost all are an
/// exact action or a prefix (`s3:Get*`): those need nothing besides their text (AWS's
/// ReadOnlyAccess alone has about 2,900 of them).
#[derive(Clone, Copy, Debug, PartialEq)]
enum ActionMatch {
    Exact,
    /// The pattern's text up to its last byte (a `*`), then anything.
    Prefix,
    Any,
    /// Any other pattern: the element's glob at this position.
    Glob(u32),
}

/// `Action` or `NotAction`.
///
/// The patterns' texts are kept one after another in one string, and lower-cased in another:
/// compiling an element allocates a few buffers, not a few per pattern.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Actions {
    pub(crate) negated: bool,
    /// The patterns as written, one after another.
    text: Box<str>,
    /// The same, ASCII lower-cased (so at the same byte offsets).
    lower: Box<str>,
    patterns: Box<[ActionPattern]>,
    globs: Box<[Pattern]>,
}

/// The positions of the first `*` or `?` in an action pattern, and of the first `:` when it
/// comes before (a colon after a wildcard leaves a wildcard in the service prefix), eight
/// bytes at a time (a pattern is about 25 bytes; ReadOnlyAccess has 2,900 of them).
fn colon_and_wildcard(bytes: &[u8]) -> (Option<usize>, Option<usize>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // 0x80 in each byte of `x` that is zero, 0 elsewhere (exact: no borrow between bytes).
    let zero_bytes = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let (mut colon, mut wild) = (None, None);
    let chunks = bytes.chunks_exact(8);
    let mut tail = [0u8; 8];
    if let Some(t) = tail.get_mut(..chunks.remainder().len()) {
        t.copy_from_slice(chunks.remainder());
    }
    let words = chunks
        .map(|c| <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes))
        .chain(std::iter::once(u64::from_le_bytes(tail)));
    for (i, x) in words.enumerate() {
        let at = |mask: u64| i * 8 + (mask.trailing_zeros() / 8) as usize;
        let colons = zero_bytes(x ^ (ONES * u64::from(b':')));
        if colon.is_none() && colons != 0 {
            colon = Some(at(colons));
        }
        let wilds =
            zero_bytes(x ^ (ONES * u64::from(b'*'))) | zero_bytes(x ^ (ONES * u64::from(b'?')));
        if wilds != 0 {
            wild = Some(at(wilds));
            break;
        }
    }
    (colon.filter(|&c| wild.is_none_or(|w| c < w)), wild)
}

/// A range of a buffer's bytes, as `u32` offsets (policy documents are far smaller than 4 GiB).
fn range_of(start: usize, end: usize) -> (u32, u32) {
    (
        u32::try_from(start).unwrap_or(u32::MAX),
        u32::try_from(end).unwrap_or(u32::MAX),
    )
}

fn slice(buf: &str, start: u32, end: u32) -> &str {
    buf.get(start as usize..end as usize).unwrap_or("")
}

impl Actions {
    /// Compiles an `Action` or `NotAction` element, and works out where its statement goes in
    /// a policy set's index, in one pass over the patterns.
    fn compile(clause: &ActionClause<'_>) -> (Actions, StatementIndex) {
        let values = clause.values.as_slice();
        let mut text = String::with_capacity(values.iter().map(|v| v.node.len()).sum());
        for v in values {
            text.push_str(&v.node);
        }
        let lower = text.to_ascii_lowercase();
        let mut patterns = Vec::with_capacity(values.len());
        let mut globs = Vec::new();
        let mut index = (!clause.negated).then(|| IndexBuilder::new(&lower, values.len()));
        let mut start = 0usize;
        for v in values {
            let end = start + v.node.len();
            let p = lower.get(start..end).unwrap_or("");
            let (colon, wild) = colon_and_wildcard(p.as_bytes());
            let matcher = match wild {
                None => ActionMatch::Exact,
                Some(0) if p == "*" => ActionMatch::Any,
                Some(i) if i + 1 == p.len() && p.ends_with('*') => ActionMatch::Prefix,
                Some(_) => {
                    globs.push(Pattern::compile(p, false, Wildcards::Yes));
                    ActionMatch::Glob(u32::try_from(globs.len() - 1).unwrap_or(u32::MAX))
                }
            };
            let (s, e) = range_of(start, end);
            if let Some(builder) = &mut index {
                match colon {
                    // `*`, a wildcard in the service prefix (`s3*:Get`), or a malformed action:
                    // check the statement on every request.
                    None => index = None,
                    Some(colon) => builder.add(
                        (s, s + u32::try_from(colon).unwrap_or(u32::MAX)),
                        wild.is_some(),
                    ),
                }
            }
            patterns.push(ActionPattern {
                start: s,
                end: e,
                matcher,
            });
            start = end;
        }
        let index = match index {
            Some(builder) => builder.finish(&patterns),
            None => StatementIndex::Always,
        };
        let actions = Actions {
            negated: clause.negated,
            text: text.into_boxed_str(),
            lower: lower.into_boxed_str(),
            patterns: patterns.into_boxed_slice(),
            globs: globs.into_boxed_slice(),
        };
        (actions, index)
    }

    /// The patterns as written.
    pub(crate) fn texts(&self) -> impl Iterator<Item = &str> {
        self.patterns
            .iter()
            .map(|p| slice(&self.text, p.start, p.end))
    }

    /// Whether the pattern matches the (lower-cased) action.
    fn pattern_matches(&self, p: &ActionPattern, action_lower: &str) -> bool {
        match &p.matcher {
            ActionMatch::Exact => slice(&self.lower, p.start, p.end) == action_lower,
            ActionMatch::Prefix => {
                action_lower.starts_with(slice(&self.lower, p.start, p.end.saturating_sub(1)))
            }
            ActionMatch::Any => true,
            ActionMatch::Glob(g) => self.globs.get(*g as usize).is_some_and(|g| {
                g.matches(action_lower, &crate::request::Context::new()) == Some(true)
            }),
        }
    }

    /// Whether any of the patterns at these positions matches the (lower-cased) action.
    pub(crate) fn any_at(&self, positions: &[u32], action_lower: &str) -> bool {
        positions.iter().any(|&i| {
            self.patterns
                .get(i as usize)
                .is_some_and(|p| self.pattern_matches(p, action_lower))
        })
    }

    /// Whether the element lets the (lower-cased) action through.
    pub(crate) fn matches(&self, action_lower: &str) -> bool {
        let any = self
            .patterns
            .iter()
            .any(|p| self.pattern_matches(p, action_lower));
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
            Some(r) => p.matches_resource(r, req) == Some(true),
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
/// is compiled (a policy set is built often: for each principal whose policies change). Keys
/// are ranges of the statement's lower-cased action text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StatementIndex {
    /// No `Action` element: the statement applies to nothing.
    Nothing,
    /// `NotAction`, or a wildcard in a service prefix: check it on every request.
    Always,
    /// The actions, by service.
    Services {
        /// The exact actions (`s3:getobject`) of the services none of whose patterns in the
        /// statement has a wildcard, as written (an action named twice is listed twice).
        exact: Box<[ExactKey]>,
        /// The services with a wildcard pattern (`s3:get*`).
        wild: Box<[WildService]>,
        /// The positions of the wildcard services' patterns, service after service: only those
        /// can match an action of the service.
        positions: Box<[u32]>,
    },
}

/// An exact action of a statement: a range of the lower-cased text, and its hash.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ExactKey {
    start: u32,
    end: u32,
    hash: u64,
}

/// A service one of whose patterns in a statement has a wildcard.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WildService {
    /// The service prefix (a range of the lower-cased text).
    service: (u32, u32),
    /// Its hash.
    hash: u64,
    /// Its patterns' positions (a range of `positions`).
    positions: (u32, u32),
}

/// A statement's index entry being worked out, pattern after pattern.
struct IndexBuilder<'a> {
    /// The element's lower-cased text.
    lower: &'a str,
    /// The services, in first-seen order: (service, has a wildcard, number of patterns).
    groups: Vec<((u32, u32), bool, u32)>,
    /// Each pattern's service (a position in `groups`).
    group_of: Vec<u32>,
    seen: Map<&'a str, usize>,
}

impl<'a> IndexBuilder<'a> {
    fn new(lower: &'a str, patterns: usize) -> IndexBuilder<'a> {
        IndexBuilder {
            lower,
            groups: Vec::new(),
            group_of: Vec::with_capacity(patterns),
            seen: Map::default(),
        }
    }

    /// Adds the next pattern: its service (a range of `lower`, free of wildcards), and whether
    /// its name has a wildcard.
    fn add(&mut self, service: (u32, u32), wild: bool) {
        let lower = self.lower;
        let svc = slice(lower, service.0, service.1);
        // Patterns come grouped by service, so the last service is the usual hit.
        let g = match self.groups.last() {
            Some(last) if slice(lower, last.0.0, last.0.1) == svc => self.groups.len() - 1,
            _ => {
                let groups = &mut self.groups;
                *self.seen.entry(svc).or_insert_with(|| {
                    groups.push((service, false, 0));
                    groups.len() - 1
                })
            }
        };
        if let Some(group) = self.groups.get_mut(g) {
            group.1 |= wild;
            group.2 += 1;
        }
        self.group_of.push(u32::try_from(g).unwrap_or(u32::MAX));
    }

    fn finish(self, patterns: &[ActionPattern]) -> StatementIndex {
        // The wildcard services' pattern positions, grouped by service (a counting sort).
        let mut wild = Vec::new();
        let mut next = vec![u32::MAX; self.groups.len()];
        let mut n = 0u32;
        for ((service, is_wild, count), next) in self.groups.iter().zip(next.iter_mut()) {
            if *is_wild {
                *next = n;
                wild.push(WildService {
                    service: *service,
                    hash: key_hash(slice(self.lower, service.0, service.1)),
                    positions: (n, n + count),
                });
                n += count;
            }
        }
        let mut positions = vec![0u32; n as usize];
        let mut exact = Vec::with_capacity(patterns.len().saturating_sub(n as usize));
        for (i, (p, &g)) in patterns.iter().zip(&self.group_of).enumerate() {
            match next.get_mut(g as usize) {
                Some(next) if *next != u32::MAX => {
                    if let Some(slot) = positions.get_mut(*next as usize) {
                        *slot = u32::try_from(i).unwrap_or(u32::MAX);
                    }
                    *next += 1;
                }
                _ => exact.push(ExactKey {
                    start: p.start,
                    end: p.end,
                    hash: key_hash(slice(self.lower, p.start, p.end)),
                }),
            }
        }
        StatementIndex::Services {
            exact: exact.into_boxed_slice(),
            wild: wild.into_boxed_slice(),
            positions: positions.into_boxed_slice(),
        }
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
    /// Whether one of the patterns of a wildcard entry of the statement matches the
    /// (lower-cased) action.
    pub(crate) fn wild_matches(&self, w: &WildEntry, action_lower: &str) -> bool {
        let StatementIndex::Services { positions, .. } = &self.index_entry else {
            return false;
        };
        let positions = positions
            .get(w.patterns.0 as usize..w.patterns.1 as usize)
            .unwrap_or(&[]);
        self.actions
            .as_ref()
            .is_some_and(|a| a.any_at(positions, action_lower))
    }

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
        let (actions, index_entry) = match st.action.as_ref().map(Actions::compile) {
            Some((actions, index)) => (Some(actions), index),
            None => (None, StatementIndex::Nothing),
        };
        CompiledStatement {
            index,
            sid: st.sid.as_ref().map(|s| s.node.as_ref().into()),
            effect: st.effect.node,
            index_entry,
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct StmtRef {
    pub(crate) policy: u32,
    pub(crate) statement: u32,
}

/// A statement with a wildcard action for one service, with the positions of its patterns for
/// that service (a range of its index entry's `positions`): only those can match an action of
/// the service, so only those are tried.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct WildEntry {
    pub(crate) stmt: StmtRef,
    pub(crate) patterns: (u32, u32),
}

/// The candidates for one action: statements known to match it, statements whose patterns for
/// the action's service must be tried, and statements to check in full.
pub(crate) struct Candidates<'s> {
    pub(crate) exact: &'s [StmtRef],
    pub(crate) wild: &'s [WildEntry],
    pub(crate) always: &'s [StmtRef],
}

/// The hash of an index key (a lower-cased action or service prefix). One random seed per
/// process, so that keys are hashed once, when their policy is compiled, not each time a
/// policy set indexes them.
fn key_hash(key: &str) -> u64 {
    static HASHER: OnceLock<foldhash::fast::SeedableRandomState> = OnceLock::new();
    HASHER
        .get_or_init(foldhash::fast::SeedableRandomState::random)
        .hash_one(key)
}

/// A hasher for keys that are already hashes (the index's table is keyed by its keys' hashes).
#[derive(Clone, Copy, Debug, Default)]
struct HashIsKey(u64);

impl Hasher for HashIsKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed; this is the fallback the trait requires.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One key of a [`KeyIndex`].
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// The key (a range of `keys`).
    key: (u32, u32),
    /// Its items (a range of `items`).
    items: (u32, u32),
    /// The next slot whose key has the same hash (`u32::MAX`: none).
    next: u32,
}

/// Lists of items by string key, built in one go: the keys are copied into one buffer, the
/// lists are ranges of one vector, and a table maps each key's hash to its slot. Building it
/// allocates a handful of buffers however many keys there are, and dropping it frees as many.
#[derive(Clone, Debug, Default)]
struct KeyIndex<T> {
    table: HashMap<u64, u32, BuildHasherDefault<HashIsKey>>,
    slots: Vec<Slot>,
    keys: String,
    items: Vec<T>,
}

/// A [`KeyIndex`] being built: the items as added, with their slots.
struct KeyIndexBuilder<T> {
    index: KeyIndex<T>,
    added: Vec<(u32, T)>,
    /// For each slot, the last item added to it (the position in `added`).
    last: Vec<u32>,
}

impl<T: Copy + Default + PartialEq> KeyIndexBuilder<T> {
    fn with_capacity(items: usize) -> KeyIndexBuilder<T> {
        KeyIndexBuilder {
            index: KeyIndex {
                table: HashMap::with_capacity_and_hasher(items, Default::default()),
                slots: Vec::with_capacity(items),
                ..KeyIndex::default()
            },
            added: Vec::with_capacity(items),
            last: Vec::with_capacity(items),
        }
    }

    /// Adds an item under a key and its hash ([`key_hash`]); the same item added twice in a
    /// row under one key counts once.
    fn add(&mut self, key: &str, hash: u64, item: T) {
        let index = &mut self.index;
        let mut found = index.table.get(&hash).copied();
        while let Some(s) = found {
            match index.slots.get(s as usize) {
                Some(slot) if slice(&index.keys, slot.key.0, slot.key.1) == key => break,
                Some(slot) if slot.next != u32::MAX => found = Some(slot.next),
                _ => found = None,
            }
        }
        let s = match found {
            Some(s) => s,
            None => {
                let s = u32::try_from(index.slots.len()).unwrap_or(u32::MAX);
                let start = index.keys.len();
                index.keys.push_str(key);
                // A new key with the hash of another (as good as never): chain it.
                let next = index.table.insert(hash, s).unwrap_or(u32::MAX);
                index.slots.push(Slot {
                    key: range_of(start, index.keys.len()),
                    items: (0, 0),
                    next,
                });
                self.last.push(u32::MAX);
                s
            }
        };
        let (Some(slot), Some(last)) = (
            index.slots.get_mut(s as usize),
            self.last.get_mut(s as usize),
        ) else {
            return;
        };
        if self
            .added
            .get(*last as usize)
            .is_some_and(|&(_, prev)| prev == item)
        {
            return;
        }
        *last = u32::try_from(self.added.len()).unwrap_or(u32::MAX);
        slot.items.1 += 1;
        self.added.push((s, item));
    }

    /// Lays the items out key after key, each key's in the order added.
    fn finish(self) -> KeyIndex<T> {
        let mut index = self.index;
        let mut n = 0u32;
        for slot in &mut index.slots {
            let count = slot.items.1;
            // `items.1` is the next place to fill until every item is placed.
            slot.items = (n, n);
            n += count;
        }
        index.items = vec![T::default(); n as usize];
        for (s, item) in self.added {
            if let Some(slot) = index.slots.get_mut(s as usize) {
                if let Some(place) = index.items.get_mut(slot.items.1 as usize) {
                    *place = item;
                }
                slot.items.1 += 1;
            }
        }
        index
    }
}

impl<T> KeyIndex<T> {
    /// The items under a key.
    fn get(&self, key: &str) -> &[T] {
        let mut found = self.table.get(&key_hash(key)).copied();
        while let Some(s) = found {
            let Some(slot) = self.slots.get(s as usize) else {
                break;
            };
            if slice(&self.keys, slot.key.0, slot.key.1) == key {
                return self
                    .items
                    .get(slot.items.0 as usize..slot.items.1 as usize)
                    .unwrap_or(&[]);
            }
            found = (slot.next != u32::MAX).then_some(slot.next);
        }
        &[]
    }
}

/// The policies of one layer (or one level of an organization), with their statements
/// indexed by action.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    policies: Vec<Arc<CompiledPolicy>>,
    /// Statements that name an action exactly, by the lower-cased action.
    exact: KeyIndex<StmtRef>,
    /// Statements with a wildcard in an action name, by service.
    wild: KeyIndex<WildEntry>,
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
            if let StatementIndex::Services {
                exact: e, wild: w, ..
            } = &st.index_entry
            {
                exact += e.len();
                wild += w.len();
            }
        }
        let mut exact = KeyIndexBuilder::with_capacity(exact);
        let mut wild = KeyIndexBuilder::with_capacity(wild);
        let mut always = Vec::new();
        let mut statements = 0;
        for (pi, policy) in policies.iter().enumerate() {
            for (si, st) in policy.statements.iter().enumerate() {
                statements += 1;
                let r = StmtRef {
                    policy: u32::try_from(pi).unwrap_or(u32::MAX),
                    statement: u32::try_from(si).unwrap_or(u32::MAX),
                };
                let (
                    StatementIndex::Services {
                        exact: e, wild: w, ..
                    },
                    Some(actions),
                ) = (&st.index_entry, &st.actions)
                else {
                    if matches!(st.index_entry, StatementIndex::Always) {
                        always.push(r);
                    }
                    continue;
                };
                for ws in w.iter() {
                    wild.add(
                        slice(&actions.lower, ws.service.0, ws.service.1),
                        ws.hash,
                        WildEntry {
                            stmt: r,
                            patterns: ws.positions,
                        },
                    );
                }
                for k in e.iter() {
                    exact.add(slice(&actions.lower, k.start, k.end), k.hash, r);
                }
            }
        }
        PolicySet {
            policies,
            exact: exact.finish(),
            wild: wild.finish(),
            always,
            statements,
        }
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
            exact: self.exact.get(action_lower),
            wild: self.wild.get(svc),
            always: &self.always,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::colon_and_wildcard;

    #[test]
    fn colon_and_wildcard_finds_the_first_of_each() {
        for (text, expected) in [
            ("", (None, None)),
            ("s3:GetObject", (Some(2), None)),
            ("s3:Get*", (Some(2), Some(6))),
            ("*", (None, Some(0))),
            ("s3*:Get", (None, Some(2))),
            ("ec2:describe?nstances", (Some(3), Some(12))),
            ("verylongservicename:action:x", (Some(19), None)),
            ("verylongservicename:a*", (Some(19), Some(21))),
            ("12345678:", (Some(8), None)),
            ("1234567?", (None, Some(7))),
        ] {
            assert_eq!(colon_and_wildcard(text.as_bytes()), expected, "{text}");
        }
    }
}
