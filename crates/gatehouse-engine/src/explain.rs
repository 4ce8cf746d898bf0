//! The explained decision: every layer's outcome, the statements that decided, the statements
//! that almost applied and what failed in each, and the context keys the policies needed but
//! the request lacked.

use std::collections::BTreeSet;

use gatehouse_policy::Effect;
use serde::Serialize;

use crate::compile::{CompiledPolicy, CompiledStatement, Grant, PolicySet, StmtRef};
use crate::decide::{
    DecisionKind, LayerId, LayerKind, Layers, Miss, Reason, check, decide_with, scan_all,
};
use crate::request::{PrincipalType, Request};

/// What a layer said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LayerOutcome {
    /// An applicable Allow and no applicable Deny.
    Allow,
    /// An applicable Deny.
    Deny,
    /// No statement applied.
    NotApplicable,
    /// The layer does not apply to this principal (service-linked roles and SCPs).
    Exempt,
}

/// One layer's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerReport {
    /// The layer.
    pub layer: LayerId,
    /// How many policies it has.
    pub policies: usize,
    /// What it said.
    pub outcome: LayerOutcome,
}

/// What failed in a statement whose action matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "element")]
pub enum Failure {
    /// The action is not in `Action` (or is in `NotAction`). Reported only for statements
    /// about the request's service, which are the ones that almost applied.
    Action {
        /// `Action` or `NotAction`.
        clause: &'static str,
        /// The requested action.
        requested: String,
        /// The statement's patterns for the request's service.
        patterns: Vec<String>,
    },
    /// The resource is not in `Resource` (or is in `NotResource`).
    Resource {
        /// `Resource` or `NotResource`.
        clause: &'static str,
        /// The requested resource (`*` for an action without one).
        requested: String,
        /// The patterns, with variables substituted where they have values.
        patterns: Vec<String>,
    },
    /// The caller is not named by `Principal` (or is named by `NotPrincipal`).
    Principal {
        /// `Principal` or `NotPrincipal`.
        clause: &'static str,
        /// The caller.
        caller: String,
        /// The entries, as `AWS:arn`, `Service:name`.
        entries: Vec<String>,
    },
    /// A condition test does not hold.
    Condition {
        /// The operator as written.
        operator: String,
        /// The condition key as written.
        key: String,
        /// The policy's values.
        policy_values: Vec<String>,
        /// The request's values; `None` when the request lacks the key.
        request_values: Option<Vec<String>>,
    },
}

/// A statement in an explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementReport {
    /// The layer.
    pub layer: LayerId,
    /// The policy's name.
    pub policy: String,
    /// The policy version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The statement's Sid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The statement's position in its policy (from 0).
    pub index: usize,
    /// `Allow` or `Deny`.
    pub effect: &'static str,
    /// For a resource-based policy: how its principal named the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
    /// For a statement that almost applied: what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<Failure>,
}

/// A decision with its explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The decision.
    pub decision: DecisionKind,
    /// Why, as the structured reason.
    pub reason: Reason,
    /// Why, in the words of AWS's AccessDenied message.
    pub summary: String,
    /// The statements that decided: every applicable Deny for an explicit deny, the applicable
    /// Allows of the deciding layer for an allow, none for an implicit deny.
    pub determining: Vec<StatementReport>,
    /// Every layer that was given, with its outcome.
    pub layers: Vec<LayerReport>,
    /// Statements whose action matched but which did not apply, with what failed.
    pub near_misses: Vec<StatementReport>,
    /// Context keys that conditions or variables of matching statements refer to and the
    /// request lacks (as SimulatePrincipalPolicy's MissingContextValues).
    pub missing_context: Vec<String>,
}

/// Decides a request and explains the decision. Evaluates every statement of every layer.
pub fn explain(layers: &Layers<'_>, req: &Request) -> Explanation {
    let (decision, reason, _) = decide_with(layers, req, scan_all);
    let mut out = Explanation {
        decision,
        reason,
        summary: reason.aws_phrase(req.action()),
        determining: Vec::new(),
        layers: Vec::new(),
        near_misses: Vec::new(),
        missing_context: Vec::new(),
    };
    let mut missing = BTreeSet::new();
    let slr = req.principal().is_service_linked_role();
    let org_exempt = |kind: LayerKind| match kind {
        LayerKind::Scp => {
            slr || matches!(
                req.principal().kind(),
                PrincipalType::Service | PrincipalType::Anonymous
            )
        }
        LayerKind::Rcp => slr,
        _ => false,
    };
    let mut all: Vec<(LayerId, &PolicySet)> = Vec::new();
    for (kind, levels) in [(LayerKind::Scp, layers.scp), (LayerKind::Rcp, layers.rcp)] {
        for (i, set) in levels.iter().enumerate() {
            let level = u16::try_from(i + 1).unwrap_or(u16::MAX);
            all.push((LayerId { kind, level }, set));
        }
    }
    for (kind, set) in [
        (LayerKind::Resource, layers.resource),
        (LayerKind::Identity, layers.identity),
        (LayerKind::Boundary, layers.boundary),
        (LayerKind::Session, layers.session),
    ] {
        if let Some(set) = set {
            all.push((LayerId { kind, level: 0 }, set));
        }
    }
    let deciding_layer = match reason {
        Reason::Allowed(k) => Some(k),
        _ => None,
    };
    for (layer, set) in all {
        if org_exempt(layer.kind) {
            out.layers.push(LayerReport {
                layer,
                policies: set.policies().len(),
                outcome: LayerOutcome::Exempt,
            });
            continue;
        }
        let (mut allow, mut deny) = (false, false);
        for r in set.all() {
            let Some(report) = report(set, layer, r, req, &mut missing) else {
                continue;
            };
            match (report.failed.is_none(), report.effect) {
                (true, "Deny") => {
                    deny = true;
                    if decision == DecisionKind::ExplicitDeny {
                        out.determining.push(report);
                    }
                }
                (true, _) => {
                    allow = true;
                    if decision == DecisionKind::Allow && deciding_layer == Some(layer.kind) {
                        out.determining.push(report);
                    }
                }
                (false, _) => out.near_misses.push(report),
            }
        }
        out.layers.push(LayerReport {
            layer,
            policies: set.policies().len(),
            outcome: match (deny, allow) {
                (true, _) => LayerOutcome::Deny,
                (false, true) => LayerOutcome::Allow,
                (false, false) => LayerOutcome::NotApplicable,
            },
        });
    }
    out.missing_context = missing.into_iter().collect();
    out
}

/// Reports one statement whose action matches; `None` for statements about other actions.
fn report(
    set: &PolicySet,
    layer: LayerId,
    r: StmtRef,
    req: &Request,
    missing: &mut BTreeSet<String>,
) -> Option<StatementReport> {
    let (policy, st) = set.statement(r)?;
    let result = check(st, req, false);
    // A statement about another service did not almost apply; one that names actions of the
    // request's service did.
    let same_service: Vec<String> = match (&result, &st.actions) {
        (Err(Miss::Action), Some(actions)) => {
            let service = req.action_lower().split(':').next().unwrap_or("");
            actions
                .texts()
                .filter(|p| {
                    p.split_once(':')
                        .is_some_and(|(s, _)| s.eq_ignore_ascii_case(service))
                })
                .map(str::to_string)
                .collect()
        }
        _ => Vec::new(),
    };
    if result == Err(Miss::Action) && same_service.is_empty() {
        return None;
    }
    let ctx = req.context();
    let failed = failure(st, req, result, same_service);
    if result == Err(Miss::Action) {
        return Some(statement_report(policy, st, layer, None, failed));
    }
    // Keys the statement needs that the request lacks: its condition keys and the variables
    // in its resources and condition values.
    let mut need = |key: &str| {
        if ctx.get_lower(&key.to_ascii_lowercase()).is_none() {
            missing.insert(key.to_string());
        }
    };
    for t in st.conditions.iter() {
        need(t.key());
        for k in t.variable_keys() {
            need(k);
        }
    }
    if let Some(res) = &st.resources {
        for p in &res.patterns {
            for f in p.fields() {
                for k in f.variable_keys() {
                    need(k);
                }
            }
        }
    }
    Some(statement_report(
        policy,
        st,
        layer,
        result.ok().flatten(),
        failed,
    ))
}

/// What failed, for a statement that did not apply.
fn failure(
    st: &CompiledStatement,
    req: &Request,
    result: Result<Option<Grant>, Miss>,
    same_service: Vec<String>,
) -> Option<Failure> {
    let ctx = req.context();
    match result {
        Ok(_) => None,
        Err(Miss::Action) => st.actions.as_ref().map(|a| Failure::Action {
            clause: if a.negated { "NotAction" } else { "Action" },
            requested: req.action().to_string(),
            patterns: same_service,
        }),
        Err(Miss::Resource) => st.resources.as_ref().map(|res| Failure::Resource {
            clause: if res.negated {
                "NotResource"
            } else {
                "Resource"
            },
            requested: req.resource().unwrap_or("*").to_string(),
            patterns: res
                .patterns
                .iter()
                .map(|p| {
                    p.whole()
                        .resolved_text(ctx)
                        .unwrap_or_else(|| p.text().to_string())
                })
                .collect(),
        }),
        Err(Miss::Principal) => st.principal.as_ref().map(|p| Failure::Principal {
            clause: if p.negated {
                "NotPrincipal"
            } else {
                "Principal"
            },
            caller: req.principal().arn().to_string(),
            entries: p.texts.clone(),
        }),
        Err(Miss::Condition(i)) => st.conditions.get(i).map(|t| Failure::Condition {
            operator: t.operator().to_string(),
            key: t.key().to_string(),
            policy_values: t.texts().iter().map(|v| v.to_string()).collect(),
            request_values: t.request_values(ctx),
        }),
    }
}

fn statement_report(
    policy: &CompiledPolicy,
    st: &CompiledStatement,
    layer: LayerId,
    grant: Option<Grant>,
    failed: Option<Failure>,
) -> StatementReport {
    StatementReport {
        layer,
        policy: policy.name().to_string(),
        version: policy.version_id().map(str::to_string),
        sid: st.sid.as_deref().map(str::to_string),
        index: st.index,
        effect: match st.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        },
        grant,
        failed,
    }
}
