//! What one policy document allows and denies, action by action: every action its patterns
//! name, expanded over the service reference, with the grants (resources and conditions) under
//! which each statement applies to it.

use std::collections::{BTreeMap, BTreeSet};

use gatehouse_policy::{Effect, Policy, Statement, glob_match};
use serde::Serialize;
use smallvec::SmallVec;

use crate::reference::{ActionId, ServiceReference};

/// An action: one of the reference, or one it does not know (kept in lower case as written,
/// patterns included, so two documents that name it can still be compared).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKey {
    /// An action of the service reference.
    Known(ActionId),
    /// An action or a pattern that matches nothing in the reference.
    Unknown(String),
}

/// A condition entry in canonical form: operator as written, key in lower case (IAM's keys
/// ignore case), values sorted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Cond {
    /// `StringEquals`, `ForAnyValue:StringLike`, ...
    pub operator: String,
    /// The key, lower-cased.
    pub key: String,
    /// The values, sorted and without duplicates.
    pub values: Vec<String>,
}

/// The scope one statement gives its actions: its resources and its conditions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Grant {
    /// True for `NotResource`.
    pub not_resource: bool,
    /// The resource patterns, sorted (`*` when the statement names none).
    pub resources: Vec<String>,
    /// The conditions, sorted.
    pub conditions: Vec<Cond>,
}

/// A list of grant indices, small enough to live on the stack.
pub type Grants = SmallVec<[u32; 4]>;

/// One document's permissions.
#[derive(Debug, Default)]
pub struct Permissions {
    /// The distinct grants of the document.
    pub grants: Vec<Grant>,
    /// (reference action id, allow grant), sorted and without duplicates.
    allow: Vec<(u32, u32)>,
    /// The same for deny statements.
    deny: Vec<(u32, u32)>,
    /// Allow and deny grants of the actions the reference does not know.
    pub unknown: BTreeMap<String, (Grants, Grants)>,
    /// The action patterns with a wildcard in allow statements (lower case), and `NotAction`
    /// written as `NotAction`.
    pub wildcards: BTreeSet<String>,
    /// The spelling each unknown action was first written with.
    pub spelled: BTreeMap<String, String>,
    /// Each statement's action patterns, for matching actions only another document names.
    statements: Vec<StatementPatterns>,
}

/// A statement's action patterns (lower case), by service prefix; those whose prefix has a
/// wildcard under `""`.
#[derive(Debug)]
struct StatementPatterns {
    allow: bool,
    negated: bool,
    patterns: std::collections::HashMap<String, Vec<String>>,
    grant: u32,
}

fn prefix_of(pattern: &str) -> &str {
    match pattern.split_once(':') {
        Some((p, _)) if !p.contains(['*', '?']) => p,
        _ => "",
    }
}

fn range(pairs: &[(u32, u32)], id: u32) -> Grants {
    let start = pairs.partition_point(|p| p.0 < id);
    pairs
        .get(start..)
        .unwrap_or(&[])
        .iter()
        .take_while(|p| p.0 == id)
        .map(|p| p.1)
        .collect()
}

impl Permissions {
    /// The grants this document gives an action it does not name itself (one only another
    /// document names), by matching its statements' patterns: (allow, deny).
    pub fn grants_for_unknown(&self, lower: &str) -> (Grants, Grants) {
        let (mut a, mut d) = (Grants::new(), Grants::new());
        for st in &self.statements {
            let candidates = st
                .patterns
                .get(prefix_of(lower))
                .into_iter()
                .chain(st.patterns.get(""))
                .flatten();
            let hit = candidates.into_iter().any(|p| {
                if p.contains(['*', '?']) {
                    glob_match(p, lower)
                } else {
                    p == lower
                }
            });
            if hit != st.negated {
                let list = if st.allow { &mut a } else { &mut d };
                if !list.contains(&st.grant) {
                    list.push(st.grant);
                }
            }
        }
        a.sort_unstable();
        d.sort_unstable();
        (a, d)
    }

    /// The grant lists of an action: (allow, deny).
    pub fn of(&self, key: &ActionKey) -> (Grants, Grants) {
        match key {
            ActionKey::Known(id) => (range(&self.allow, *id), range(&self.deny, *id)),
            ActionKey::Unknown(name) => self.unknown.get(name).cloned().unwrap_or_default(),
        }
    }

    /// The grant with this index.
    pub fn grant(&self, i: u32) -> Option<&Grant> {
        self.grants.get(i as usize)
    }

    /// The reference actions with at least one grant, allow or deny, sorted.
    pub fn known_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.allow.iter().chain(&self.deny).map(|p| p.0).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The scope a statement gives its actions.
pub fn grant_of(s: &Statement<'_>) -> Grant {
    let (not_resource, mut resources) = match &s.resource {
        Some(r) => (
            r.negated,
            r.values.iter().map(|v| v.node.to_string()).collect(),
        ),
        None => (false, vec!["*".to_string()]),
    };
    resources.sort();
    resources.dedup();
    let mut conditions: Vec<Cond> = s
        .condition
        .iter()
        .flat_map(|c| c.blocks.iter())
        .flat_map(|b| {
            let operator = b.operator.node.to_name();
            b.entries.iter().map(move |e| {
                let mut values: Vec<String> = e
                    .values
                    .iter()
                    .map(|v| v.node.as_text().to_string())
                    .collect();
                values.sort();
                values.dedup();
                Cond {
                    operator: operator.clone(),
                    key: e.key.node.to_ascii_lowercase(),
                    values,
                }
            })
        })
        .collect();
    conditions.sort();
    conditions.dedup();
    Grant {
        not_resource,
        resources,
        conditions,
    }
}

/// Works out a document's permissions.
pub fn permissions(policy: &Policy<'_>, reference: &ServiceReference) -> Permissions {
    let n = reference.actions().len();
    let mut p = Permissions::default();
    let mut matched = vec![false; n];
    for s in policy.statements.iter() {
        let Some(action) = &s.action else { continue };
        let grant = grant_of(s);
        let g = match p.grants.iter().position(|x| *x == grant) {
            Some(i) => i,
            None => {
                p.grants.push(grant);
                p.grants.len() - 1
            }
        };
        let Ok(g) = u32::try_from(g) else { continue };
        let allow = s.effect.node == Effect::Allow;
        let mut patterns: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        if allow && action.negated {
            p.wildcards.insert("NotAction".to_string());
        }
        let pairs = if allow { &mut p.allow } else { &mut p.deny };
        if action.negated {
            matched.iter_mut().for_each(|m| *m = false);
        }
        for v in action.values.iter() {
            let lower = v.node.to_ascii_lowercase();
            if allow && !action.negated && lower.contains(['*', '?']) {
                p.wildcards.insert(lower.clone());
            }
            let mut any = false;
            reference.expand(&lower, |id| {
                any = true;
                if action.negated {
                    if let Some(m) = matched.get_mut(id as usize) {
                        *m = true;
                    }
                } else {
                    pairs.push((id, g));
                }
            });
            if !any {
                p.spelled
                    .entry(lower.clone())
                    .or_insert_with(|| v.node.to_string());
            }
            patterns
                .entry(prefix_of(&lower).to_string())
                .or_default()
                .push(lower);
        }
        if action.negated {
            for (i, m) in matched.iter().enumerate() {
                if let (false, Ok(id)) = (*m, u32::try_from(i)) {
                    pairs.push((id, g));
                }
            }
        }
        p.statements.push(StatementPatterns {
            allow,
            negated: action.negated,
            patterns,
            grant: g,
        });
    }
    for pairs in [&mut p.allow, &mut p.deny] {
        pairs.sort_unstable();
        pairs.dedup();
    }
    let unknown: Vec<String> = p.spelled.keys().cloned().collect();
    for key in unknown {
        let grants = p.grants_for_unknown(&key);
        p.unknown.insert(key, grants);
    }
    p
}

/// Whether every text pattern `inner` matches is matched by `outer` (`*` any run, `?` one
/// character). Written by hand: no glob crate answers inclusion between two patterns. A
/// dynamic programme over both patterns; `inner`'s wildcards can only be absorbed by a `*` of
/// `outer` (or `?` by `?`), which makes the answer exact for these patterns.
pub fn pattern_covers(outer: &str, inner: &str) -> bool {
    if outer == "*" || outer == inner {
        return true;
    }
    let wild = |s: &str| s.contains(['*', '?']);
    if !wild(outer) {
        return false;
    }
    if !wild(inner) {
        return glob_match(outer, inner);
    }
    let o: Vec<char> = outer.chars().collect();
    let i: Vec<char> = inner.chars().collect();
    // cov[a][b]: outer[a..] covers inner[b..]. Filled from the ends.
    let w = i.len() + 1;
    let mut cov = vec![false; (o.len() + 1) * w];
    let at = |a: usize, b: usize| a * w + b;
    if let Some(c) = cov.get_mut(at(o.len(), i.len())) {
        *c = true;
    }
    for a in (0..o.len()).rev() {
        for b in (0..=i.len()).rev() {
            let get = |a: usize, b: usize| cov.get(at(a, b)).copied().unwrap_or(false);
            let v = match o.get(a) {
                Some('*') => get(a + 1, b) || (b < i.len() && get(a, b + 1)),
                Some('?') => matches!(i.get(b), Some(c) if *c != '*') && get(a + 1, b + 1),
                Some(c) => {
                    matches!(i.get(b), Some(d) if d == c && *d != '*' && *d != '?')
                        && get(a + 1, b + 1)
                }
                None => false,
            };
            if let Some(slot) = cov.get_mut(at(a, b)) {
                *slot = v;
            }
        }
    }
    cov.first().copied().unwrap_or(false)
}

fn resources_cover(a: &Grant, b: &Grant) -> bool {
    match (a.not_resource, b.not_resource) {
        // Resource lists are sorted: a pattern found as it is needs no inclusion test.
        (false, false) => b.resources.iter().all(|rb| {
            a.resources.binary_search(rb).is_ok()
                || a.resources.iter().any(|ra| pattern_covers(ra, rb))
        }),
        (true, true) => a.resources.iter().all(|na| {
            b.resources.binary_search(na).is_ok()
                || b.resources.iter().any(|nb| pattern_covers(nb, na))
        }),
        (false, true) => a.resources.iter().any(|r| r == "*"),
        (true, false) => false,
    }
}

fn positive(operator: &str) -> bool {
    !operator.contains("Not")
        && !operator.starts_with("ForAllValues")
        && !operator.starts_with("Null")
        && !operator.starts_with("Bool")
}

fn cond_covers(a: &Cond, b: &Cond) -> bool {
    if a.operator != b.operator || a.key != b.key {
        return false;
    }
    if a.values == b.values {
        return true;
    }
    if positive(&a.operator) {
        b.values.iter().all(|v| a.values.contains(v))
    } else if a.operator.contains("Not") && !a.operator.starts_with("ForAllValues") {
        a.values.iter().all(|v| b.values.contains(v))
    } else {
        false
    }
}

/// Whether grant `a` allows at least everything grant `b` does: resources that cover, and
/// conditions no stricter.
pub fn grant_covers(a: &Grant, b: &Grant) -> bool {
    resources_cover(a, b)
        && a.conditions
            .iter()
            .all(|ca| b.conditions.iter().any(|cb| cond_covers(ca, cb)))
}

/// Whether the grants `a` together allow at least everything each of `b` does.
pub fn grants_cover(a: &[&Grant], b: &[&Grant]) -> bool {
    b.iter().all(|gb| a.iter().any(|ga| grant_covers(ga, gb)))
}

impl Permissions {
    /// The grants for an action given by name (`s3:GetObject`, any case): (allow, deny).
    pub fn grants_for(&self, action: &str, reference: &ServiceReference) -> (Grants, Grants) {
        match reference.find(action) {
            Some(id) => self.of(&ActionKey::Known(id)),
            None => self.grants_for_unknown(&action.to_ascii_lowercase()),
        }
    }

    /// Whether any statement allows the action (on some resource, under some conditions).
    pub fn allows(&self, action: &str, reference: &ServiceReference) -> bool {
        !self.grants_for(action, reference).0.is_empty()
    }

    /// Whether a statement denies the action on every resource without conditions.
    pub fn denies_outright(&self, action: &str, reference: &ServiceReference) -> bool {
        self.grants_for(action, reference).1.iter().any(|g| {
            self.grant(*g).is_some_and(|g| {
                !g.not_resource && g.conditions.is_empty() && g.resources.iter().any(|r| r == "*")
            })
        })
    }
}

/// Whether some text matches both patterns (`*` any run, `?` one character). Written by hand
/// for the same reason as [`pattern_covers`]: a dynamic programme over both patterns, where
/// either side's `*` may absorb any part of the other.
pub fn patterns_overlap(a: &str, b: &str) -> bool {
    if a == b || a == "*" || b == "*" {
        return true;
    }
    let x: Vec<char> = a.chars().collect();
    let y: Vec<char> = b.chars().collect();
    let w = y.len() + 1;
    // ok[i][j]: x[i..] and y[j..] can match a common text. Filled from the ends.
    let mut ok = vec![false; (x.len() + 1) * w];
    let at = |i: usize, j: usize| i * w + j;
    for i in (0..=x.len()).rev() {
        for j in (0..=y.len()).rev() {
            let get = |i: usize, j: usize| ok.get(at(i, j)).copied().unwrap_or(false);
            let v = match (x.get(i), y.get(j)) {
                (None, None) => true,
                (Some('*'), _) => get(i + 1, j) || (j < y.len() && get(i, j + 1)),
                (_, Some('*')) => get(i, j + 1) || (i < x.len() && get(i + 1, j)),
                (Some(c), Some(d)) => (c == d || *c == '?' || *d == '?') && get(i + 1, j + 1),
                _ => false,
            };
            if let Some(slot) = ok.get_mut(at(i, j)) {
                *slot = v;
            }
        }
    }
    ok.first().copied().unwrap_or(false)
}
