//! What an update of the service reference does to existing policies: the actions it adds,
//! and which of them the wildcards (and `NotAction`s) of a policy now grant.

use gatehouse_policy::{Effect, glob_match, parse_policy};
use serde::Serialize;

use crate::reference::ServiceReference;

/// The actions of `new` that `old` does not have, in AWS's casing, sorted.
pub fn added_actions(old: &ServiceReference, new: &ServiceReference) -> Vec<String> {
    new.actions()
        .iter()
        .filter(|a| old.find(&a.lower).is_none())
        .map(|a| a.name.clone())
        .collect()
}

/// The actions of `old` that `new` no longer has.
pub fn removed_actions(old: &ServiceReference, new: &ServiceReference) -> Vec<String> {
    added_actions(new, old)
}

/// One new action a policy now grants, and the pattern that grants it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WildcardGrant {
    /// The action.
    pub action: String,
    /// The pattern (`s3:Get*`, `*`), or `NotAction [...]` for a statement that names what it
    /// does not grant.
    pub pattern: String,
}

/// The new `actions` an allow statement of the document grants through a wildcard or a
/// `NotAction` (naming a new action outright cannot happen before it exists; such a name is
/// reported as its own pattern). A document that does not parse grants nothing.
pub fn wildcard_grants(document: &str, actions: &[String]) -> Vec<WildcardGrant> {
    let Ok(policy) = parse_policy(document) else {
        return Vec::new();
    };
    let mut out: Vec<WildcardGrant> = Vec::new();
    for s in policy.statements.iter() {
        if s.effect.node != Effect::Allow {
            continue;
        }
        let Some(clause) = &s.action else { continue };
        let patterns: Vec<String> = clause
            .values
            .iter()
            .map(|v| v.node.to_ascii_lowercase())
            .collect();
        for action in actions {
            let lower = action.to_ascii_lowercase();
            let hit = patterns.iter().find(|p| glob_match(p, &lower));
            let pattern = match (clause.negated, hit) {
                (false, Some(p)) => p.clone(),
                (true, None) => format!("NotAction [{}]", patterns.join(", ")),
                _ => continue,
            };
            if !out.iter().any(|g| g.action == *action) {
                out.push(WildcardGrant {
                    action: action.clone(),
                    pattern,
                });
            }
        }
    }
    out.sort_by(|a, b| a.action.cmp(&b.action));
    out
}
