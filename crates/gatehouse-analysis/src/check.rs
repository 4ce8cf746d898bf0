//! Exact checks over actions and resources: does a policy grant anything another does not
//! (`no_new_access`), does it grant any of these actions on these resources
//! (`access_not_granted`). An answer is proven from the documents' grants, or refuted by a
//! concrete request that the engine decides (the engine, not this module, says Allow); when
//! conditions stand in the way of both, the answer is `Undecided`, never "safe".

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_engine::{
    CompiledPolicy, Context, DecisionKind, Layers, PolicySet, Request, RequestPrincipal, decide,
};
use gatehouse_policy::glob_match;
use serde::Serialize;

use crate::diff::{Analyzed, DiffError};
use crate::permissions::{ActionKey, Grant, grant_covers};
use crate::reference::ServiceReference;

/// The account and user the example requests are made as.
pub const EXAMPLE_PRINCIPAL: &str = "arn:aws:iam::123456789012:user/gatehouse-check";

/// A request that shows a check failing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Counterexample {
    /// The principal.
    pub principal: String,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// What the checked policy decides.
    pub decision: String,
    /// What the reference policy decides (for `no-new-access`).
    pub reference_decision: Option<String>,
}

/// The outcome of a check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "Result")]
pub enum Verdict {
    /// Proven for every action and resource.
    Holds,
    /// Refuted: requests the engine decides against the claim.
    Fails {
        /// The requests, at most one per action.
        #[serde(rename = "Counterexamples")]
        counterexamples: Vec<Counterexample>,
    },
    /// Neither proven nor refuted: conditions (or a union of grants) are in the way.
    Undecided {
        /// Why, per action.
        #[serde(rename = "Reasons")]
        reasons: Vec<String>,
    },
}

impl Verdict {
    /// Refuted when there is a counterexample, else undecided when there is a reason, else
    /// proven.
    fn of(counterexamples: Vec<Counterexample>, reasons: Vec<String>) -> Verdict {
        if !counterexamples.is_empty() {
            Verdict::Fails { counterexamples }
        } else if !reasons.is_empty() {
            Verdict::Undecided { reasons }
        } else {
            Verdict::Holds
        }
    }

    /// `PASS`, `FAIL` or `UNDECIDED`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Holds => "PASS",
            Verdict::Fails { .. } => "FAIL",
            Verdict::Undecided { .. } => "UNDECIDED",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.label())?;
        match self {
            Verdict::Holds => {}
            Verdict::Fails { counterexamples } => {
                for c in counterexamples {
                    write!(
                        f,
                        "  {} on {} as {}: {}",
                        c.action, c.resource, c.principal, c.decision
                    )?;
                    if let Some(r) = &c.reference_decision {
                        write!(f, " (reference: {r})")?;
                    }
                    writeln!(f)?;
                }
            }
            Verdict::Undecided { reasons } => {
                for r in reasons {
                    writeln!(f, "  {r}")?;
                }
            }
        }
        Ok(())
    }
}

/// A document compiled for the engine.
struct Compiled {
    set: PolicySet,
}

impl Compiled {
    fn new(name: &str, read: &Analyzed<'_>) -> Compiled {
        Compiled {
            set: PolicySet::new([Arc::new(CompiledPolicy::compile(name, None, read.policy()))]),
        }
    }

    fn decide(&self, action: &str, resource: &str) -> DecisionKind {
        let Ok(principal) = RequestPrincipal::parse(EXAMPLE_PRINCIPAL) else {
            return DecisionKind::ImplicitDeny;
        };
        let req = Request::new(principal, action, Some(resource), Context::new());
        let layers = Layers {
            identity: Some(&self.set),
            ..Layers::default()
        };
        decide(&layers, &req).kind
    }
}

/// Concrete resources a pattern matches: its wildcards filled in a few ways, its policy
/// variables with the example principal's values.
fn instances(pattern: &str) -> Vec<String> {
    let p = pattern
        .replace("${aws:username}", "gatehouse-check")
        .replace("${aws:PrincipalAccount}", "123456789012")
        .replace("${aws:userid}", "AIDAGATEHOUSECHECK");
    if p == "*" {
        return vec![
            "*".to_string(),
            "arn:aws:s3:::gatehouse-example".to_string(),
            "arn:aws:iam::123456789012:role/gatehouse-example".to_string(),
        ];
    }
    ["", "x", "gatehouse-example"]
        .iter()
        .map(|fill| p.replace('*', fill).replace('?', "x"))
        .collect()
}

fn candidates(grants: &[&Grant]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in grants {
        if g.not_resource {
            out.extend(instances("*"));
        } else {
            for r in &g.resources {
                out.extend(instances(r));
            }
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|r| seen.insert(r.clone()));
    out
}

fn action_name(key: &ActionKey, reference: &ServiceReference, spelled: &str) -> String {
    match key {
        ActionKey::Known(id) => reference
            .action(*id)
            .map_or_else(|| spelled.to_string(), |a| a.name.clone()),
        ActionKey::Unknown(_) => spelled.to_string(),
    }
}

/// Whether `new` grants nothing `old` does not, over every action of the reference (and every
/// action either names) and every resource.
pub fn no_new_access(
    new: &str,
    old: &str,
    reference: &ServiceReference,
) -> Result<Verdict, DiffError> {
    let n = Analyzed::new(new, "new", reference)?;
    let o = Analyzed::new(old, "reference", reference)?;
    let (pn, po) = (n.permissions(), o.permissions());
    let (cn, co) = (Compiled::new("new", &n), Compiled::new("reference", &o));
    let mut keys: Vec<(ActionKey, String)> = Vec::new();
    let mut ids = pn.known_ids();
    ids.extend(po.known_ids());
    ids.sort_unstable();
    ids.dedup();
    keys.extend(
        ids.into_iter()
            .map(|id| (ActionKey::Known(id), String::new())),
    );
    let unknown: BTreeSet<(String, String)> = pn
        .spelled
        .iter()
        .chain(&po.spelled)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    keys.extend(unknown.into_iter().map(|(k, v)| (ActionKey::Unknown(k), v)));
    let (mut counterexamples, mut reasons) = (Vec::new(), Vec::new());
    for (key, spelled) in &keys {
        let (na, nd) = match key {
            ActionKey::Unknown(k) => pn.grants_for_unknown(k),
            known => pn.of(known),
        };
        if na.is_empty() {
            continue;
        }
        let (oa, od) = match key {
            ActionKey::Unknown(k) => po.grants_for_unknown(k),
            known => po.of(known),
        };
        let g = |p: &crate::permissions::Permissions, list: &[u32]| -> Vec<Grant> {
            list.iter().filter_map(|i| p.grant(*i).cloned()).collect()
        };
        let (na, nd, oa, od) = (g(pn, &na), g(pn, &nd), g(po, &oa), g(po, &od));
        let proven = na.iter().all(|x| oa.iter().any(|y| grant_covers(y, x)))
            && od.iter().all(|d| nd.iter().any(|x| grant_covers(x, d)));
        if proven {
            continue;
        }
        let action = action_name(key, reference, spelled);
        let mut search: Vec<&Grant> = na.iter().collect();
        search.extend(od.iter());
        let found = candidates(&search).into_iter().find_map(|r| {
            let dn = cn.decide(&action, &r);
            let dold = co.decide(&action, &r);
            (dn == DecisionKind::Allow && dold != DecisionKind::Allow).then(|| Counterexample {
                principal: EXAMPLE_PRINCIPAL.to_string(),
                action: action.clone(),
                resource: r,
                decision: dn.as_str().to_string(),
                reference_decision: Some(dold.as_str().to_string()),
            })
        });
        match found {
            Some(c) => counterexamples.push(c),
            None => {
                let conditional = na
                    .iter()
                    .chain(&oa)
                    .chain(&nd)
                    .chain(&od)
                    .any(|x| !x.conditions.is_empty());
                reasons.push(format!(
                    "{action}: {}",
                    if conditional {
                        "conditions decide whether the reference allows everything the policy does"
                    } else {
                        "the reference's grants together may cover the policy's; not proven"
                    }
                ));
            }
        }
    }
    Ok(Verdict::of(counterexamples, reasons))
}

/// Whether `policy` grants none of `actions` (patterns allowed) on any of `resources` (`*`
/// when none are given).
pub fn access_not_granted(
    policy: &str,
    actions: &[String],
    resources: &[String],
    reference: &ServiceReference,
) -> Result<Verdict, DiffError> {
    let p = Analyzed::new(policy, "policy", reference)?;
    let perms = p.permissions();
    let compiled = Compiled::new("policy", &p);
    let resources: Vec<String> = if resources.is_empty() {
        vec!["*".to_string()]
    } else {
        resources.to_vec()
    };
    // The actions asked about, expanded; a pattern the reference does not know stays itself.
    let mut asked: Vec<String> = Vec::new();
    for a in actions {
        let mut any = false;
        reference.expand(a, |id| {
            any = true;
            if let Some(x) = reference.action(id) {
                asked.push(x.name.clone());
            }
        });
        if !any {
            asked.push(a.clone());
        }
    }
    asked.sort();
    asked.dedup();
    let (mut counterexamples, mut reasons) = (Vec::new(), Vec::new());
    for action in &asked {
        let (allow, _) = perms.grants_for(action, reference);
        let grants: Vec<&Grant> = allow.iter().filter_map(|i| perms.grant(*i)).collect();
        // Resources of the policy that may meet the asked ones.
        let overlapping: Vec<&Grant> = grants
            .iter()
            .copied()
            .filter(|g| {
                g.not_resource
                    || g.resources.iter().any(|r| {
                        resources.iter().any(|asked| {
                            glob_match(r, asked) || glob_match(asked, r) || asked == "*"
                        })
                    })
            })
            .collect();
        if overlapping.is_empty() {
            continue;
        }
        let mut tries: Vec<String> = Vec::new();
        for r in &resources {
            tries.extend(instances(r));
        }
        tries.extend(candidates(&overlapping).into_iter().filter(|c| {
            resources
                .iter()
                .any(|asked| asked == "*" || glob_match(asked, c))
        }));
        let found = tries.into_iter().find_map(|r| {
            let d = compiled.decide(action, &r);
            (d == DecisionKind::Allow).then(|| Counterexample {
                principal: EXAMPLE_PRINCIPAL.to_string(),
                action: action.clone(),
                resource: r,
                decision: d.as_str().to_string(),
                reference_decision: None,
            })
        });
        match found {
            Some(c) => counterexamples.push(c),
            None => reasons.push(format!(
                "{action}: {}",
                if overlapping.iter().any(|g| !g.conditions.is_empty()) {
                    "allowed under conditions that decide whether access is granted"
                } else {
                    "a grant may meet the resources asked about; not refuted"
                }
            )),
        }
    }
    Ok(Verdict::of(counterexamples, reasons))
}
