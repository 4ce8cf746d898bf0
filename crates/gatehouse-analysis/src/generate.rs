//! Policies generated from activity: a customer-managed policy that grants exactly the actions
//! used on the resources used, with wildcards only where they grant nothing unused; and what
//! the currently attached policies grant that went unused.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::diff::Analyzed;
use crate::permissions::ActionKey;
use crate::reference::ServiceReference;

/// The leading word of an action name (`GetObjectAcl` -> `Get`).
fn verb(name: &str) -> &str {
    let end = name
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_ascii_uppercase())
        .map_or(name.len(), |(i, _)| i);
    name.get(..end).unwrap_or(name)
}

/// The action patterns for a set of used actions (in the reference's spelling): `svc:*` when
/// every action of the service was used, `svc:Verb*` when every action the pattern matches
/// was used, the names otherwise.
fn compress(actions: &BTreeSet<String>, reference: &ServiceReference) -> Vec<String> {
    let mut by_service: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for a in actions {
        let (svc, _) = a.split_once(':').unwrap_or((a.as_str(), ""));
        by_service
            .entry(svc.to_ascii_lowercase())
            .or_default()
            .insert(a.as_str());
    }
    let mut out = Vec::new();
    for (svc, used) in by_service {
        let lower_used: BTreeSet<String> = used.iter().map(|a| a.to_ascii_lowercase()).collect();
        let all = reference.service_actions(&svc);
        if !all.is_empty() && all.iter().all(|a| lower_used.contains(&a.lower)) {
            out.push(format!("{svc}:*"));
            continue;
        }
        let mut covered: BTreeSet<&str> = BTreeSet::new();
        let verbs: BTreeSet<&str> = used
            .iter()
            .filter_map(|a| a.split_once(':').map(|(_, n)| verb(n)))
            .collect();
        for v in verbs {
            let pattern = format!("{svc}:{v}*");
            let mut matched = Vec::new();
            reference.expand(&pattern, |id| {
                if let Some(a) = reference.action(id) {
                    matched.push(a.lower.clone());
                }
            });
            // Worth a wildcard only when it stands for two or more actions, all of them used.
            if matched.len() >= 2 && matched.iter().all(|m| lower_used.contains(m)) {
                out.push(pattern);
                for a in &used {
                    if matched.contains(&a.to_ascii_lowercase()) {
                        covered.insert(a);
                    }
                }
            }
        }
        out.extend(
            used.iter()
                .filter(|a| !covered.contains(*a))
                .map(|a| a.to_string()),
        );
    }
    out
}

/// A policy document granting `used` (action, resource) pairs and nothing else the reference
/// knows of: one statement per set of resources.
pub fn generate(used: &[(String, String)], reference: &ServiceReference) -> String {
    // action -> resources
    let mut resources: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (action, resource) in used {
        let name = reference
            .find(action)
            .and_then(|id| reference.action(id))
            .map_or_else(|| action.clone(), |a| a.name.clone());
        resources.entry(name).or_default().insert(resource.clone());
    }
    // resources (with `*` standing alone) -> actions
    let mut groups: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for (action, rs) in resources {
        let rs: Vec<String> = if rs.contains("*") {
            vec!["*".to_string()]
        } else {
            rs.into_iter().collect()
        };
        groups.entry(rs).or_default().insert(action);
    }
    let statements: Vec<serde_json::Value> = groups
        .into_iter()
        .enumerate()
        .map(|(i, (rs, actions))| {
            serde_json::json!({
                "Sid": format!("Used{}", i + 1),
                "Effect": "Allow",
                "Action": compress(&actions, reference),
                "Resource": rs,
            })
        })
        .collect();
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    let compact = doc.to_string();
    // Gatehouse's canonical layout (Version first, statement keys in AWS's order).
    match gatehouse_policy::parse_policy(&compact) {
        Ok(p) => gatehouse_policy::to_pretty(&p),
        Err(_) => compact,
    }
}

/// What an attached policy grants that went unused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Unused {
    /// The policy's name or ARN.
    pub policy: String,
    /// Actions it allows (expanded over the reference).
    pub allowed: usize,
    /// Of those, the ones used.
    pub used: usize,
    /// Unused actions per service: (service, count, a few names).
    pub services: Vec<(String, usize, Vec<String>)>,
}

/// For each (name, document) attached, the actions it allows that are not in `used` (action
/// names, any case).
pub fn unused(
    attached: &[(String, String)],
    used: &BTreeSet<String>,
    reference: &ServiceReference,
) -> Vec<Unused> {
    let used_lower: BTreeSet<String> = used.iter().map(|a| a.to_ascii_lowercase()).collect();
    let mut out = Vec::new();
    for (name, document) in attached {
        let Ok(read) = Analyzed::new(document, "policy", reference) else {
            continue;
        };
        let p = read.permissions();
        let mut per_service: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let (mut allowed, mut hit) = (0, 0);
        for id in p.known_ids() {
            if p.of(&ActionKey::Known(id)).0.is_empty() {
                continue;
            }
            let Some(a) = reference.action(id) else {
                continue;
            };
            allowed += 1;
            if used_lower.contains(&a.lower) {
                hit += 1;
            } else {
                let svc = a.lower.split_once(':').map_or("", |(s, _)| s).to_string();
                per_service.entry(svc).or_default().push(a.name.clone());
            }
        }
        out.push(Unused {
            policy: name.clone(),
            allowed,
            used: hit,
            services: per_service
                .into_iter()
                .map(|(s, names)| {
                    let n = names.len();
                    (s, n, names.into_iter().take(5).collect())
                })
                .collect(),
        });
    }
    out
}
