//! A policy summary like the IAM console's: per service, the access granted (Full access, or
//! per access level full or limited), on which resources, under which request conditions; the
//! same for what the policy denies; and the services the reference does not know.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::diff::{Analyzed, DiffError};
use crate::reference::{AccessLevel, ServiceReference};

/// One service's line of the summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceSummary {
    /// The prefix (`s3`).
    pub service: String,
    /// Its name (`Amazon S3`).
    pub name: String,
    /// `Full access`, or e.g. `Full: List; Limited: Read, Write`.
    pub access: String,
    /// Per access level: (level, actions covered, actions of the level).
    pub levels: Vec<(String, usize, usize)>,
    /// The resources, `All resources` when any grant is `*`.
    pub resources: Vec<String>,
    /// The request conditions, one line each (`None` when some grant has none).
    pub conditions: Vec<String>,
}

/// A policy's summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicySummary {
    /// Services with allowed actions, by name.
    pub allow: Vec<ServiceSummary>,
    /// Services with denied actions.
    pub deny: Vec<ServiceSummary>,
    /// Action patterns whose service the reference does not know (they grant nothing AWS
    /// would recognise).
    pub unrecognized: Vec<String>,
}

fn level_order(l: AccessLevel) -> u8 {
    match l {
        AccessLevel::List => 0,
        AccessLevel::Read => 1,
        AccessLevel::Write => 2,
        AccessLevel::PermissionsManagement => 3,
        AccessLevel::Tagging => 4,
        AccessLevel::Unknown => 5,
    }
}

/// Summarizes a document.
pub fn summarize(text: &str, reference: &ServiceReference) -> Result<PolicySummary, DiffError> {
    let read = Analyzed::new(text, "policy", reference)?;
    let p = read.permissions();
    // service -> (allowed action ids, grants), and the same for deny.
    type Acc = BTreeMap<String, (BTreeSet<u32>, BTreeSet<u32>)>;
    let (mut allow, mut deny): (Acc, Acc) = (BTreeMap::new(), BTreeMap::new());
    for id in p.known_ids() {
        let Some(action) = reference.action(id) else {
            continue;
        };
        let service = action
            .lower
            .split_once(':')
            .map_or("", |(s, _)| s)
            .to_string();
        let (a, d) = p.of(&crate::permissions::ActionKey::Known(id));
        for (grants, acc) in [(a, &mut allow), (d, &mut deny)] {
            if grants.is_empty() {
                continue;
            }
            let entry = acc.entry(service.clone()).or_default();
            entry.0.insert(id);
            entry.1.extend(grants.iter().copied());
        }
    }
    let lines = |acc: Acc| -> Vec<ServiceSummary> {
        let mut out: Vec<ServiceSummary> = acc
            .into_iter()
            .map(|(service, (ids, grants))| {
                let all = reference.service_actions(&service);
                let mut per_level: BTreeMap<u8, (AccessLevel, usize, usize)> = BTreeMap::new();
                for a in all {
                    let e = per_level
                        .entry(level_order(a.access))
                        .or_insert((a.access, 0, 0));
                    e.2 += 1;
                }
                for id in &ids {
                    if let Some(a) = reference.action(*id)
                        && let Some(e) = per_level.get_mut(&level_order(a.access))
                    {
                        e.1 += 1;
                    }
                }
                let access = if ids.len() == all.len() {
                    "Full access".to_string()
                } else {
                    let full: Vec<&str> = per_level
                        .values()
                        .filter(|(_, n, t)| *n > 0 && n == t)
                        .map(|(l, _, _)| l.as_str())
                        .collect();
                    let limited: Vec<&str> = per_level
                        .values()
                        .filter(|(_, n, t)| *n > 0 && n < t)
                        .map(|(l, _, _)| l.as_str())
                        .collect();
                    let mut parts = Vec::new();
                    if !full.is_empty() {
                        parts.push(format!("Full: {}", full.join(", ")));
                    }
                    if !limited.is_empty() {
                        parts.push(format!("Limited: {}", limited.join(", ")));
                    }
                    parts.join("; ")
                };
                let gs: Vec<&crate::permissions::Grant> =
                    grants.iter().filter_map(|g| p.grant(*g)).collect();
                let resources = if gs
                    .iter()
                    .any(|g| !g.not_resource && g.resources.iter().any(|r| r == "*"))
                {
                    vec!["All resources".to_string()]
                } else {
                    let set: BTreeSet<String> = gs
                        .iter()
                        .flat_map(|g| {
                            g.resources.iter().map(move |r| {
                                if g.not_resource {
                                    format!("Not {r}")
                                } else {
                                    r.clone()
                                }
                            })
                        })
                        .collect();
                    set.into_iter().collect()
                };
                let conditions = if gs.iter().any(|g| g.conditions.is_empty()) {
                    vec!["None".to_string()]
                } else {
                    let set: BTreeSet<String> = gs
                        .iter()
                        .flat_map(|g| {
                            g.conditions.iter().map(|c| {
                                format!("{} {} [{}]", c.operator, c.key, c.values.join(", "))
                            })
                        })
                        .collect();
                    set.into_iter().collect()
                };
                ServiceSummary {
                    name: reference
                        .service_name(&service)
                        .unwrap_or(&service)
                        .to_string(),
                    service,
                    access,
                    levels: per_level
                        .values()
                        .map(|(l, n, t)| (l.as_str().to_string(), *n, *t))
                        .collect(),
                    resources,
                    conditions,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    };
    let unrecognized: Vec<String> = p
        .spelled
        .iter()
        .filter(|(lower, _)| {
            lower
                .split_once(':')
                .is_none_or(|(svc, _)| !svc.contains(['*', '?']) && !reference.has_service(svc))
        })
        .map(|(_, spelled)| spelled.clone())
        .collect();
    Ok(PolicySummary {
        allow: lines(allow),
        deny: lines(deny),
        unrecognized,
    })
}

impl std::fmt::Display for PolicySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (title, list) in [("Allow", &self.allow), ("Explicit deny", &self.deny)] {
            if list.is_empty() {
                continue;
            }
            writeln!(f, "{title} ({} services):", list.len())?;
            for s in list {
                writeln!(f, "  {} ({}): {}", s.name, s.service, s.access)?;
                writeln!(f, "    resources: {}", s.resources.join(", "))?;
                writeln!(f, "    conditions: {}", s.conditions.join(" and "))?;
            }
        }
        if !self.unrecognized.is_empty() {
            writeln!(f, "Unrecognized services: {}", self.unrecognized.join(", "))?;
        }
        if self.allow.is_empty() && self.deny.is_empty() && self.unrecognized.is_empty() {
            writeln!(f, "This policy grants and denies nothing.")?;
        }
        Ok(())
    }
}
