//! The semantic diff of two policy documents: statements added, removed and changed, and the
//! effective-permission delta action by action, with wildcards expanded over the service
//! reference; then the update's classification and what makes it sensitive.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gatehouse_policy::{Effect, Policy, Statement, parse_policy};
use serde::Serialize;

use crate::permissions::{
    ActionKey, Grant, Grants, Permissions, grant_of, grants_cover, permissions,
};
use crate::reference::{AccessLevel, ServiceReference};

/// What an update did to the permissions a policy grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Classification {
    /// It grants more, and takes nothing away.
    Expanded,
    /// It grants less, and adds nothing.
    Narrowed,
    /// It both grants and takes away.
    Mixed,
    /// The document changed, the permissions did not.
    Reworded,
    /// The document is the same (a republication).
    NoChange,
}

impl Classification {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Expanded => "Expanded",
            Classification::Narrowed => "Narrowed",
            Classification::Mixed => "Mixed",
            Classification::Reworded => "Reworded",
            Classification::NoChange => "NoChange",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Classification> {
        [
            Classification::Expanded,
            Classification::Narrowed,
            Classification::Mixed,
            Classification::Reworded,
            Classification::NoChange,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Why an update deserves a closer look.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "Kind")]
pub enum Sensitive {
    /// The policy now allows actions of a service it allowed nothing of.
    NewService {
        /// The service prefix.
        #[serde(rename = "Service")]
        service: String,
    },
    /// A wildcard action pattern (or `NotAction`) appears in an allow statement.
    NewWildcard {
        /// The pattern.
        #[serde(rename = "Pattern")]
        pattern: String,
    },
    /// Permissions-management actions are newly allowed, or allowed more widely.
    PermissionsManagement {
        /// The actions.
        #[serde(rename = "Actions")]
        actions: Vec<String>,
    },
    /// `iam:PassRole` is newly allowed, or allowed more widely.
    PassRole,
}

impl std::fmt::Display for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sensitive::NewService { service } => write!(f, "new service {service}"),
            Sensitive::NewWildcard { pattern } => write!(f, "new wildcard {pattern}"),
            Sensitive::PermissionsManagement { actions } => {
                write!(f, "permissions management: {}", abbreviate(actions, 6))
            }
            Sensitive::PassRole => f.write_str("iam:PassRole"),
        }
    }
}

/// A statement in short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatementSummary {
    /// Its Sid, if any.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// `Action` or `NotAction`.
    pub action_key: String,
    /// Its action patterns, as written.
    pub actions: Vec<String>,
    /// Its resources, sorted (`NotResource` marked in `not_resource`).
    pub resources: Vec<String>,
    /// True for `NotResource`.
    pub not_resource: bool,
    /// Its conditions, one line each.
    pub conditions: Vec<String>,
}

/// How a statement with the same Sid changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatementChange {
    /// The Sid (none for statements without one, paired by effect and scope).
    pub sid: Option<String>,
    /// Action patterns added.
    pub actions_added: Vec<String>,
    /// Action patterns removed.
    pub actions_removed: Vec<String>,
    /// Resources before, when they changed.
    pub resources_before: Option<Vec<String>>,
    /// Resources after, when they changed.
    pub resources_after: Option<Vec<String>>,
    /// Conditions before, when they changed.
    pub conditions_before: Option<Vec<String>>,
    /// Conditions after, when they changed.
    pub conditions_after: Option<Vec<String>>,
    /// Effect before and after, when it changed.
    pub effect: Option<(String, String)>,
}

/// A scope in short: resources and conditions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Scope {
    /// The resource patterns.
    pub resources: Vec<String>,
    /// True for `NotResource`.
    pub not_resource: bool,
    /// The conditions, one line each.
    pub conditions: Vec<String>,
}

/// Actions still allowed (or denied) whose scope changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScopeChange {
    /// The actions.
    pub actions: Vec<String>,
    /// `Broadened`, `Narrowed` or `Changed` (neither covers the other).
    pub direction: String,
    /// The scopes before.
    pub before: Vec<Scope>,
    /// The scopes after.
    pub after: Vec<Scope>,
}

/// The diff of two documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDiff {
    /// The classification.
    pub classification: Classification,
    /// What makes the update sensitive (empty when nothing does).
    pub sensitive: Vec<Sensitive>,
    /// Statements only in the new document.
    pub statements_added: Vec<StatementSummary>,
    /// Statements only in the old document.
    pub statements_removed: Vec<StatementSummary>,
    /// Statements of the same Sid that changed.
    pub statements_changed: Vec<StatementChange>,
    /// Actions the new document allows and the old one did not.
    pub newly_allowed: Vec<String>,
    /// Actions the old document allowed and the new one does not.
    pub no_longer_allowed: Vec<String>,
    /// Actions allowed by both, on other resources or under other conditions.
    pub allowed_scope_changed: Vec<ScopeChange>,
    /// Actions the new document denies and the old one did not.
    pub newly_denied: Vec<String>,
    /// Actions the old document denied and the new one does not.
    pub no_longer_denied: Vec<String>,
    /// Actions denied by both, on other resources or under other conditions.
    pub denied_scope_changed: Vec<ScopeChange>,
}

/// Why two documents could not be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffError {
    /// Which side: `old` or `new`.
    pub side: &'static str,
    /// The first syntax error, with its location.
    pub message: String,
}

impl std::fmt::Display for DiffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} document: {}", self.side, self.message)
    }
}

impl std::error::Error for DiffError {}

fn parse<'a>(text: &'a str, side: &'static str) -> Result<Policy<'a>, DiffError> {
    parse_policy(text).map_err(|errors| DiffError {
        side,
        message: errors
            .first()
            .map(|e| {
                let loc = gatehouse_policy::LineIndex::new(text).locate(e.span.start);
                format!("line {}, column {}: {}", loc.line, loc.column, e.kind)
            })
            .unwrap_or_else(|| "syntax error".to_string()),
    })
}

fn cond_lines(g: &Grant) -> Vec<String> {
    g.conditions
        .iter()
        .map(|c| format!("{} {} [{}]", c.operator, c.key, c.values.join(", ")))
        .collect()
}

fn scope(g: &Grant) -> Scope {
    Scope {
        resources: g.resources.clone(),
        not_resource: g.not_resource,
        conditions: cond_lines(g),
    }
}

fn summary(s: &Statement<'_>) -> StatementSummary {
    let g = grant_of(s);
    StatementSummary {
        sid: s.sid.as_ref().map(|x| x.node.to_string()),
        effect: s.effect.node.as_str().to_string(),
        action_key: if s.action.as_ref().is_some_and(|a| a.negated) {
            "NotAction"
        } else {
            "Action"
        }
        .to_string(),
        actions: s
            .action
            .iter()
            .flat_map(|a| a.values.iter().map(|v| v.node.to_string()))
            .collect(),
        resources: g.resources.clone(),
        not_resource: g.not_resource,
        conditions: cond_lines(&g),
    }
}

/// A statement's canonical form, without its Sid: equal forms grant the same.
#[derive(PartialEq, Eq, Hash, Clone)]
struct Canonical {
    effect: Effect,
    not_action: bool,
    actions: Vec<String>,
    grant: Grant,
}

fn canonical(s: &Statement<'_>) -> Canonical {
    let mut actions: Vec<String> = s
        .action
        .iter()
        .flat_map(|a| a.values.iter().map(|v| v.node.to_ascii_lowercase()))
        .collect();
    actions.sort();
    actions.dedup();
    Canonical {
        effect: s.effect.node,
        not_action: s.action.as_ref().is_some_and(|a| a.negated),
        actions,
        grant: grant_of(s),
    }
}

fn statements_diff(old: &Policy<'_>, new: &Policy<'_>, d: &mut PolicyDiff) {
    let old_s: Vec<&Statement<'_>> = old.statements.iter().collect();
    let new_s: Vec<&Statement<'_>> = new.statements.iter().collect();
    let old_c: Vec<Canonical> = old_s.iter().map(|s| canonical(s)).collect();
    let new_c: Vec<Canonical> = new_s.iter().map(|s| canonical(s)).collect();
    let mut old_used = vec![false; old_s.len()];
    let mut new_used = vec![false; new_s.len()];
    // Identical statements (whatever their Sid) first.
    for (j, nc) in new_c.iter().enumerate() {
        if let Some(i) = (0..old_c.len())
            .find(|&i| !old_used.get(i).copied().unwrap_or(true) && old_c.get(i) == Some(nc))
            && let (Some(o), Some(n)) = (old_used.get_mut(i), new_used.get_mut(j))
        {
            *o = true;
            *n = true;
        }
    }
    // Then statements paired by Sid.
    let sid = |s: &Statement<'_>| {
        s.sid
            .as_ref()
            .map(|x| x.node.to_string())
            .filter(|x| !x.is_empty())
    };
    // Then, among statements left, those without a Sid of the same effect and scope (the
    // same statement with its action list edited).
    for pass in [true, false] {
        for (j, ns) in new_s.iter().enumerate() {
            if new_used.get(j).copied().unwrap_or(true) {
                continue;
            }
            let nsid = sid(ns);
            if pass && nsid.is_none() {
                continue;
            }
            let Some(nc) = new_c.get(j) else { continue };
            let Some(i) = (0..old_s.len()).find(|&i| {
                !old_used.get(i).copied().unwrap_or(true)
                    && if pass {
                        old_s.get(i).and_then(|s| sid(s)) == nsid
                    } else {
                        old_s.get(i).is_some_and(|s| sid(s).is_none())
                            && old_c.get(i).is_some_and(|oc| {
                                oc.effect == nc.effect
                                    && oc.not_action == nc.not_action
                                    && oc.grant == nc.grant
                            })
                    }
            }) else {
                continue;
            };
            let (Some(oc), Some(nc)) = (old_c.get(i), new_c.get(j)) else {
                continue;
            };
            if let (Some(o), Some(n)) = (old_used.get_mut(i), new_used.get_mut(j)) {
                *o = true;
                *n = true;
            }
            let spelled = |s: &Statement<'_>| -> BTreeMap<String, String> {
                s.action
                    .iter()
                    .flat_map(|a| a.values.iter())
                    .map(|v| (v.node.to_ascii_lowercase(), v.node.to_string()))
                    .collect()
            };
            let (os, nsp) = (
                old_s.get(i).map(|s| spelled(s)).unwrap_or_default(),
                spelled(ns),
            );
            let oa: BTreeSet<&String> = oc.actions.iter().collect();
            let na: BTreeSet<&String> = nc.actions.iter().collect();
            let res_changed = oc.grant.resources != nc.grant.resources
                || oc.grant.not_resource != nc.grant.not_resource;
            let cond_changed = oc.grant.conditions != nc.grant.conditions;
            d.statements_changed.push(StatementChange {
                sid: nsid,
                actions_added: na
                    .difference(&oa)
                    .map(|a| nsp.get(*a).cloned().unwrap_or_else(|| (*a).clone()))
                    .collect(),
                actions_removed: oa
                    .difference(&na)
                    .map(|a| os.get(*a).cloned().unwrap_or_else(|| (*a).clone()))
                    .collect(),
                resources_before: res_changed.then(|| oc.grant.resources.clone()),
                resources_after: res_changed.then(|| nc.grant.resources.clone()),
                conditions_before: cond_changed.then(|| cond_lines(&oc.grant)),
                conditions_after: cond_changed.then(|| cond_lines(&nc.grant)),
                effect: (oc.effect != nc.effect).then(|| {
                    (
                        oc.effect.as_str().to_string(),
                        nc.effect.as_str().to_string(),
                    )
                }),
            });
        }
    }
    for (s, used) in old_s.iter().zip(&old_used) {
        if !used {
            d.statements_removed.push(summary(s));
        }
    }
    for (s, used) in new_s.iter().zip(&new_used) {
        if !used {
            d.statements_added.push(summary(s));
        }
    }
}

/// Actions whose scope changed, grouped by (direction, grants before, grants after).
type ScopeGroups<'a> = BTreeMap<(u8, Vec<&'a Grant>, Vec<&'a Grant>), Vec<String>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Relation {
    Same,
    Broadened,
    Narrowed,
    Changed,
}

fn relation(old: &[&Grant], new: &[&Grant]) -> Relation {
    let mut o: Vec<&Grant> = old.to_vec();
    let mut n: Vec<&Grant> = new.to_vec();
    o.sort();
    n.sort();
    if o == n {
        return Relation::Same;
    }
    match (grants_cover(new, old), grants_cover(old, new)) {
        (true, true) => Relation::Same,
        (true, false) => Relation::Broadened,
        (false, true) => Relation::Narrowed,
        (false, false) => Relation::Changed,
    }
}

fn name_of(
    key: &ActionKey,
    reference: &ServiceReference,
    a: &Permissions,
    b: &Permissions,
) -> String {
    match key {
        ActionKey::Known(id) => reference
            .action(*id)
            .map(|x| x.name.clone())
            .unwrap_or_default(),
        ActionKey::Unknown(lower) => a
            .spelled
            .get(lower)
            .or_else(|| b.spelled.get(lower))
            .cloned()
            .unwrap_or_else(|| lower.clone()),
    }
}

fn service_key(key: &ActionKey, reference: &ServiceReference) -> String {
    match key {
        ActionKey::Known(id) => reference
            .action(*id)
            .and_then(|a| a.lower.split_once(':'))
            .map_or(String::new(), |(s, _)| s.to_string()),
        ActionKey::Unknown(lower) => service_of(lower),
    }
}

fn service_of(name: &str) -> String {
    name.split_once(':')
        .map_or(name, |(s, _)| s)
        .to_ascii_lowercase()
}

fn empty_diff() -> PolicyDiff {
    PolicyDiff {
        classification: Classification::NoChange,
        sensitive: Vec::new(),
        statements_added: Vec::new(),
        statements_removed: Vec::new(),
        statements_changed: Vec::new(),
        newly_allowed: Vec::new(),
        no_longer_allowed: Vec::new(),
        allowed_scope_changed: Vec::new(),
        newly_denied: Vec::new(),
        no_longer_denied: Vec::new(),
        denied_scope_changed: Vec::new(),
    }
}

/// Compares two parsed documents whose permissions are already worked out (a history reuses
/// each version's permissions for the diffs on both sides of it).
fn diff_with(
    old: &Policy<'_>,
    new: &Policy<'_>,
    po: &Permissions,
    pn: &Permissions,
    reference: &ServiceReference,
) -> PolicyDiff {
    let mut d = empty_diff();
    statements_diff(old, new, &mut d);
    // Actions only one side names (unknown to the reference) are matched against the other
    // side's patterns.
    let extra = |p: &Permissions, other: &Permissions| -> BTreeMap<String, (Grants, Grants)> {
        other
            .unknown
            .keys()
            .filter(|k| !p.unknown.contains_key(*k))
            .map(|k| (k.clone(), p.grants_for_unknown(k)))
            .collect()
    };
    let (xo, xn) = (extra(po, pn), extra(pn, po));
    let of = |p: &'_ Permissions,
              x: &'_ BTreeMap<String, (Grants, Grants)>,
              key: &ActionKey|
     -> (Grants, Grants) {
        if let ActionKey::Unknown(k) = key
            && let Some((a, d)) = x.get(k)
        {
            return (a.clone(), d.clone());
        }
        p.of(key)
    };
    let mut ids = po.known_ids();
    ids.extend(pn.known_ids());
    ids.sort_unstable();
    ids.dedup();
    let known = ids.into_iter().map(ActionKey::Known);
    let unknown: BTreeSet<String> = po
        .unknown
        .keys()
        .chain(pn.unknown.keys())
        .cloned()
        .collect();
    let keys: Vec<ActionKey> = known
        .chain(unknown.into_iter().map(ActionKey::Unknown))
        .collect();
    // Scope changes grouped by (direction, before, after).
    let mut allow_groups: ScopeGroups<'_> = BTreeMap::new();
    let mut deny_groups: ScopeGroups<'_> = BTreeMap::new();
    let mut memo: HashMap<(Vec<u32>, Vec<u32>), Relation> = HashMap::new();
    let mut old_services: BTreeSet<String> = BTreeSet::new();
    let mut widened: Vec<String> = Vec::new();
    let same_grants = po.grants == pn.grants;
    for key in &keys {
        let (oa, od) = of(po, &xo, key);
        let (na, nd) = of(pn, &xn, key);
        if same_grants && oa == na && od == nd {
            // Same grants, same lists: nothing changed for this action.
            if !oa.is_empty() {
                old_services.insert(service_key(key, reference));
            }
            continue;
        }
        let name = name_of(key, reference, po, pn);
        if !oa.is_empty() {
            old_services.insert(service_of(&name));
        }
        for (old_g, new_g, deny) in [
            (oa.as_slice(), na.as_slice(), false),
            (od.as_slice(), nd.as_slice(), true),
        ] {
            let (added, removed, groups) = if deny {
                (
                    &mut d.newly_denied,
                    &mut d.no_longer_denied,
                    &mut deny_groups,
                )
            } else {
                (
                    &mut d.newly_allowed,
                    &mut d.no_longer_allowed,
                    &mut allow_groups,
                )
            };
            match (old_g.is_empty(), new_g.is_empty()) {
                (true, true) => {}
                (true, false) => {
                    added.push(name.clone());
                    if !deny {
                        widened.push(name.clone());
                    }
                }
                (false, true) => removed.push(name.clone()),
                (false, false) => {
                    let og: Vec<&Grant> = old_g.iter().filter_map(|i| po.grant(*i)).collect();
                    let ng: Vec<&Grant> = new_g.iter().filter_map(|i| pn.grant(*i)).collect();
                    let rel = *memo
                        .entry((old_g.to_vec(), new_g.to_vec()))
                        .or_insert_with(|| relation(&og, &ng));
                    let dir = match rel {
                        Relation::Same => continue,
                        Relation::Broadened => 0,
                        Relation::Narrowed => 1,
                        Relation::Changed => 2,
                    };
                    if !deny && dir != 1 {
                        widened.push(name.clone());
                    }
                    groups.entry((dir, og, ng)).or_default().push(name.clone());
                }
            }
        }
    }
    let dir_name = ["Broadened", "Narrowed", "Changed"];
    for (groups, out) in [
        (allow_groups, &mut d.allowed_scope_changed),
        (deny_groups, &mut d.denied_scope_changed),
    ] {
        for ((dir, before, after), actions) in groups {
            out.push(ScopeChange {
                actions,
                direction: dir_name
                    .get(usize::from(dir))
                    .copied()
                    .unwrap_or("Changed")
                    .to_string(),
                before: before.iter().map(|g| scope(g)).collect(),
                after: after.iter().map(|g| scope(g)).collect(),
            });
        }
    }
    let dir_count = |v: &[ScopeChange], dir: &str| {
        v.iter()
            .any(|c| c.direction == dir || c.direction == "Changed")
    };
    let grants_more = !d.newly_allowed.is_empty()
        || !d.no_longer_denied.is_empty()
        || dir_count(&d.allowed_scope_changed, "Broadened")
        || dir_count(&d.denied_scope_changed, "Narrowed");
    let grants_less = !d.no_longer_allowed.is_empty()
        || !d.newly_denied.is_empty()
        || dir_count(&d.allowed_scope_changed, "Narrowed")
        || dir_count(&d.denied_scope_changed, "Broadened");
    d.classification = match (grants_more, grants_less) {
        (true, true) => Classification::Mixed,
        (true, false) => Classification::Expanded,
        (false, true) => Classification::Narrowed,
        (false, false) => Classification::Reworded,
    };
    // What makes it sensitive.
    let new_services: BTreeSet<String> = d
        .newly_allowed
        .iter()
        .map(|a| service_of(a))
        .filter(|s| !old_services.contains(s))
        .collect();
    for service in new_services {
        d.sensitive.push(Sensitive::NewService { service });
    }
    for pattern in pn.wildcards.difference(&po.wildcards) {
        d.sensitive.push(Sensitive::NewWildcard {
            pattern: pattern.clone(),
        });
    }
    let pm: Vec<String> = widened
        .iter()
        .filter(|a| {
            reference
                .find(a)
                .and_then(|id| reference.action(id))
                .is_some_and(|x| x.access == AccessLevel::PermissionsManagement)
        })
        .cloned()
        .collect();
    if widened
        .iter()
        .any(|a| a.eq_ignore_ascii_case("iam:PassRole"))
    {
        d.sensitive.push(Sensitive::PassRole);
    }
    if !pm.is_empty() {
        d.sensitive
            .push(Sensitive::PermissionsManagement { actions: pm });
    }
    d
}

/// A document read for diffing: parsed, its permissions worked out, its JSON value kept (two
/// documents equal as JSON are the same document). A history reads each version once and
/// diffs it with both neighbours.
pub struct Analyzed<'a> {
    text: &'a str,
    policy: Policy<'a>,
    permissions: Permissions,
    value: Option<serde_json::Value>,
}

impl<'a> Analyzed<'a> {
    /// Reads a document. `side` names it in errors (`old`, `new`, `v3`).
    pub fn new(
        text: &'a str,
        side: &'static str,
        reference: &ServiceReference,
    ) -> Result<Analyzed<'a>, DiffError> {
        let policy = parse(text, side)?;
        let permissions = permissions(&policy, reference);
        Ok(Analyzed {
            text,
            policy,
            permissions,
            value: serde_json::from_str(text).ok(),
        })
    }

    /// The parsed document.
    pub fn policy(&self) -> &Policy<'a> {
        &self.policy
    }

    /// The document's permissions.
    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    /// Whether two documents are the same (as JSON: whitespace aside).
    pub fn same_document(&self, other: &Analyzed<'_>) -> bool {
        self.text == other.text || (self.value.is_some() && self.value == other.value)
    }

    /// The diff from `self` (old) to `new`.
    pub fn diff(&self, new: &Analyzed<'_>, reference: &ServiceReference) -> PolicyDiff {
        if self.same_document(new) {
            return empty_diff();
        }
        diff_with(
            &self.policy,
            &new.policy,
            &self.permissions,
            &new.permissions,
            reference,
        )
    }
}

/// Compares two documents given as text. Documents equal as JSON (whatever their whitespace)
/// are `NoChange`.
pub fn diff_documents(
    old: &str,
    new: &str,
    reference: &ServiceReference,
) -> Result<PolicyDiff, DiffError> {
    let po = Analyzed::new(old, "old", reference)?;
    let pn = Analyzed::new(new, "new", reference)?;
    Ok(po.diff(&pn, reference))
}

/// `a, b, c and 12 more`.
pub fn abbreviate(items: &[String], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

impl PolicyDiff {
    /// The actions an identity with this policy attached may gain: newly allowed, allowed more
    /// widely, or no longer denied.
    pub fn gains(&self) -> Vec<String> {
        let mut out: Vec<String> = self.newly_allowed.clone();
        for c in &self.allowed_scope_changed {
            if c.direction != "Narrowed" {
                out.extend(c.actions.iter().cloned());
            }
        }
        out.extend(self.no_longer_denied.iter().cloned());
        out.sort();
        out.dedup();
        out
    }

    /// The actions it may lose: no longer allowed, allowed less widely, or newly denied.
    pub fn losses(&self) -> Vec<String> {
        let mut out: Vec<String> = self.no_longer_allowed.clone();
        for c in &self.allowed_scope_changed {
            if c.direction != "Broadened" {
                out.extend(c.actions.iter().cloned());
            }
        }
        out.extend(self.newly_denied.iter().cloned());
        out.sort();
        out.dedup();
        out
    }

    /// One line: `Mixed: +2 actions, -25 actions; sensitive: new service cloudformation`.
    pub fn headline(&self) -> String {
        let mut parts = Vec::new();
        if !self.newly_allowed.is_empty() {
            parts.push(format!("+{} allowed", self.newly_allowed.len()));
        }
        if !self.no_longer_allowed.is_empty() {
            parts.push(format!("-{} allowed", self.no_longer_allowed.len()));
        }
        let scoped: usize = self
            .allowed_scope_changed
            .iter()
            .map(|c| c.actions.len())
            .sum();
        if scoped > 0 {
            parts.push(format!("{scoped} rescoped"));
        }
        if !self.newly_denied.is_empty() {
            parts.push(format!("+{} denied", self.newly_denied.len()));
        }
        if !self.no_longer_denied.is_empty() {
            parts.push(format!("-{} denied", self.no_longer_denied.len()));
        }
        let scoped: usize = self
            .denied_scope_changed
            .iter()
            .map(|c| c.actions.len())
            .sum();
        if scoped > 0 {
            parts.push(format!("{scoped} deny rescoped"));
        }
        let stmts = self.statements_added.len()
            + self.statements_removed.len()
            + self.statements_changed.len();
        if parts.is_empty() && stmts > 0 {
            parts.push(format!(
                "{stmts} statement{} reworded",
                if stmts == 1 { "" } else { "s" }
            ));
        }
        let mut s = self.classification.as_str().to_string();
        if !parts.is_empty() {
            s.push_str(": ");
            s.push_str(&parts.join(", "));
        }
        if !self.sensitive.is_empty() {
            let flags: Vec<String> = self.sensitive.iter().map(ToString::to_string).collect();
            s.push_str("; sensitive: ");
            s.push_str(&flags.join("; "));
        }
        s
    }

    /// A sentence that describes the change, for versions nobody described (feeds, history).
    pub fn description(&self) -> String {
        let mut parts = Vec::new();
        if !self.newly_allowed.is_empty() {
            parts.push(format!("Allows {}", abbreviate(&self.newly_allowed, 8)));
        }
        if !self.no_longer_allowed.is_empty() {
            parts.push(format!(
                "no longer allows {}",
                abbreviate(&self.no_longer_allowed, 8)
            ));
        }
        for c in &self.allowed_scope_changed {
            parts.push(format!(
                "{} the scope of {}",
                match c.direction.as_str() {
                    "Broadened" => "broadens",
                    "Narrowed" => "narrows",
                    _ => "changes",
                },
                abbreviate(&c.actions, 4)
            ));
        }
        if !self.newly_denied.is_empty() {
            parts.push(format!("denies {}", abbreviate(&self.newly_denied, 8)));
        }
        if !self.no_longer_denied.is_empty() {
            parts.push(format!(
                "no longer denies {}",
                abbreviate(&self.no_longer_denied, 8)
            ));
        }
        let mut s = match self.classification {
            Classification::NoChange => "Republished with the same document.".to_string(),
            Classification::Reworded => {
                "The document was reworded; the permissions are the same.".to_string()
            }
            _ => {
                let mut s = parts.join("; ");
                if let Some(first) = s.get(..1) {
                    s = format!("{}{}", first.to_uppercase(), s.get(1..).unwrap_or(""));
                }
                s.push('.');
                s
            }
        };
        if !self.sensitive.is_empty() {
            let flags: Vec<String> = self.sensitive.iter().map(ToString::to_string).collect();
            s.push_str(&format!(" Sensitive: {}.", flags.join("; ")));
        }
        s
    }
}

impl std::fmt::Display for PolicyDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.headline())?;
        let stmt = |s: &StatementSummary| {
            let mut line = format!(
                "{} {}{} {}",
                s.sid
                    .as_deref()
                    .map(|x| format!("[{x}]"))
                    .unwrap_or_else(|| "[no Sid]".to_string()),
                s.effect,
                if s.action_key == "NotAction" {
                    " NotAction"
                } else {
                    ""
                },
                abbreviate(&s.actions, 12),
            );
            line.push_str(&format!(
                " on {}{}",
                if s.not_resource { "NotResource " } else { "" },
                s.resources.join(", ")
            ));
            if !s.conditions.is_empty() {
                line.push_str(&format!(" when {}", s.conditions.join(" and ")));
            }
            line
        };
        if !(self.statements_added.is_empty()
            && self.statements_removed.is_empty()
            && self.statements_changed.is_empty())
        {
            writeln!(f, "\nStatements:")?;
        }
        for s in &self.statements_added {
            writeln!(f, "  + {}", stmt(s))?;
        }
        for s in &self.statements_removed {
            writeln!(f, "  - {}", stmt(s))?;
        }
        for c in &self.statements_changed {
            writeln!(f, "  ~ [{}]", c.sid.as_deref().unwrap_or("no Sid"))?;
            if let Some((a, b)) = &c.effect {
                writeln!(f, "      Effect {a} -> {b}")?;
            }
            if !c.actions_added.is_empty() {
                writeln!(f, "      + actions {}", c.actions_added.join(", "))?;
            }
            if !c.actions_removed.is_empty() {
                writeln!(f, "      - actions {}", c.actions_removed.join(", "))?;
            }
            if let (Some(a), Some(b)) = (&c.resources_before, &c.resources_after) {
                writeln!(f, "      resources {} -> {}", a.join(", "), b.join(", "))?;
            }
            if let (Some(a), Some(b)) = (&c.conditions_before, &c.conditions_after) {
                writeln!(
                    f,
                    "      conditions [{}] -> [{}]",
                    a.join(" and "),
                    b.join(" and ")
                )?;
            }
        }
        let list = |f: &mut std::fmt::Formatter<'_>, title: &str, items: &[String]| {
            if items.is_empty() {
                return Ok(());
            }
            writeln!(f, "\n{title} ({}):", items.len())?;
            for a in items {
                writeln!(f, "  {a}")?;
            }
            Ok(())
        };
        list(f, "Newly allowed", &self.newly_allowed)?;
        list(f, "No longer allowed", &self.no_longer_allowed)?;
        let scopes = |f: &mut std::fmt::Formatter<'_>, title: &str, items: &[ScopeChange]| {
            for c in items {
                writeln!(
                    f,
                    "\n{title} ({}, {} actions): {}",
                    c.direction,
                    c.actions.len(),
                    abbreviate(&c.actions, 12)
                )?;
                let show = |s: &Scope| {
                    let mut t = format!(
                        "{}{}",
                        if s.not_resource { "NotResource " } else { "" },
                        s.resources.join(", ")
                    );
                    if !s.conditions.is_empty() {
                        t.push_str(&format!(" when {}", s.conditions.join(" and ")));
                    }
                    t
                };
                for s in &c.before {
                    writeln!(f, "  before: {}", show(s))?;
                }
                for s in &c.after {
                    writeln!(f, "  after:  {}", show(s))?;
                }
            }
            Ok(())
        };
        scopes(f, "Allowed with another scope", &self.allowed_scope_changed)?;
        list(f, "Newly denied", &self.newly_denied)?;
        list(f, "No longer denied", &self.no_longer_denied)?;
        scopes(f, "Denied with another scope", &self.denied_scope_changed)?;
        Ok(())
    }
}
