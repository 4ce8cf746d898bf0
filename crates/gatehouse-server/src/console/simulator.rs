//! The policy simulator: a principal, actions, a resource and context values; each decision
//! made by the engine with its explanation (the statements that decided, those that almost
//! applied and what failed in each, each layer's outcome, and the context keys the request
//! lacked). It is `iam:SimulatePrincipalPolicy`, so it is authorized as that.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_engine::{
    Context, DecisionKind, Explanation, Failure as Miss, LayerOutcome, Layers, PolicySet,
    RequestPrincipal,
};
use maud::{Markup, html};

use super::{Viewer, answer, identity_href};
use crate::app::{AppState, Failure};
use crate::ops::simulate::{
    Subject, explain_all, principal_of_arn, principal_texts, statement_position, subject,
};

/// The most actions one simulation decides (as the API's ActionNames, which takes 100).
pub const MAX_ACTIONS: usize = 100;

/// The simulator's query: `principal` (an ARN), `actions` (separated by spaces, commas or
/// lines), `resource` (`*` when empty), `context` (`key=value` lines; several values of one
/// key separated by commas make a list).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct SimQuery {
    principal: String,
    actions: String,
    resource: String,
    context: String,
}

pub(crate) async fn page_handler(
    state: &AppState,
    viewer: &Viewer,
    q: SimQuery,
) -> Result<Response, Failure> {
    let account = viewer.account();
    // The principals to pick from, when the viewer may list them.
    let mut choices = Vec::new();
    let users_arn = format!("arn:aws:iam::{account}:user/");
    if viewer
        .allow(state, "iam:ListUsers", &users_arn)
        .await
        .is_ok()
    {
        choices.extend(
            state
                .store
                .list_users(account, None)
                .await?
                .into_iter()
                .map(|u| u.arn),
        );
    }
    let roles_arn = format!("arn:aws:iam::{account}:role/");
    if viewer
        .allow(state, "iam:ListRoles", &roles_arn)
        .await
        .is_ok()
    {
        choices.extend(
            state
                .store
                .list_roles(account, None)
                .await?
                .into_iter()
                .map(|r| r.arn),
        );
    }
    let resource = if q.resource.trim().is_empty() {
        "*"
    } else {
        q.resource.trim()
    };
    let results = if q.principal.trim().is_empty() || q.actions.trim().is_empty() {
        None
    } else {
        Some(simulate(state, viewer, &q, resource).await?)
    };
    let body = html! {
        form.sim method="get" action="/console/simulator" {
            p {
                label for="principal" { "Principal (a user's or role's ARN)" }
                input #principal type="text" name="principal" list="principals" size="70"
                    value=(q.principal) spellcheck="false" autocomplete="off" required;
                datalist #principals { @for c in &choices { option value=(c) {} } }
            }
            p {
                label for="actions" { "Actions (separated by spaces, commas or lines)" }
                textarea #actions name="actions" rows="3" spellcheck="false" required { (q.actions) }
            }
            p {
                label for="resource" { "Resource ARN" }
                input #resource type="text" name="resource" size="70" value=(resource) spellcheck="false";
            }
            p {
                label for="context" { "Context values (one key=value a line, e.g. aws:SourceIp=192.0.2.10)" }
                textarea #context name="context" rows="3" spellcheck="false" { (q.context) }
            }
            p { button type="submit" { "Simulate" } }
        }
        @if let Some((who, rows)) = &results {
            h2 #results { "Results for " (who) }
            @for row in rows { (row) }
        }
    };
    Ok(super::page(
        StatusCode::OK,
        "Policy simulator",
        Some(viewer),
        body,
    ))
}

pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<SimQuery>,
) -> Response {
    let r = page_handler(&state, &viewer, q).await;
    answer(&viewer, r)
}

fn context_of(text: &str) -> Result<Context, Failure> {
    let mut context = Context::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(Failure::new(
                400,
                "InvalidInput",
                format!(
                    "Context line {}: expected key=value, found '{line}'.",
                    n + 1
                ),
            ));
        };
        let values: Vec<&str> = value.split(',').map(str::trim).collect();
        if values.len() > 1 {
            context.set_multi(key.trim(), values);
        } else {
            context.set(key.trim(), value.trim());
        }
    }
    Ok(context)
}

async fn simulate(
    state: &AppState,
    viewer: &Viewer,
    q: &SimQuery,
    resource: &str,
) -> Result<(Markup, Vec<Markup>), Failure> {
    let source = q.principal.trim();
    viewer
        .allow(state, "iam:SimulatePrincipalPolicy", source)
        .await?;
    let (kind, name) = principal_of_arn(source)
        .ok_or_else(|| Failure::new(400, "InvalidInput", format!("Invalid ARN: {source}")))?;
    let actions: Vec<&str> = q
        .actions
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|a| !a.is_empty())
        .collect();
    if actions.len() > MAX_ACTIONS {
        return Err(Failure::new(
            400,
            "ValidationError",
            format!(
                "At most {MAX_ACTIONS} actions can be simulated at once; {} were given.",
                actions.len()
            ),
        ));
    }
    let context = context_of(&q.context)?;
    let account = viewer.account();
    let Subject {
        arn,
        id,
        identity,
        boundary,
        tags,
    } = subject(&state.store, account, kind, name).await?;
    let mut texts = HashMap::new();
    principal_texts(&state.store, account, kind, name, &mut texts).await;
    let identity = PolicySet::new(identity);
    let boundary = boundary.map(PolicySet::new);
    let principal = RequestPrincipal::parse(&arn)
        .map_err(|e| Failure::new(400, "InvalidInput", e.to_string()))?
        .with_id(&id);
    let layers = Layers {
        identity: Some(&identity),
        boundary: boundary.as_ref(),
        ..Layers::default()
    };
    let resources = [resource];
    let results = explain_all(
        &layers, &actions, &resources, &principal, &context, &tags, None,
    );
    let who = html! { a href=(identity_href(kind, name)) { (name) } };
    let rows = results
        .iter()
        .map(|(action, resource, x)| result_view(action, resource, x, &texts))
        .collect();
    Ok((who, rows))
}

fn decision_label(d: DecisionKind) -> (&'static str, &'static str) {
    match d {
        DecisionKind::Allow => ("Allowed", "Allowed"),
        DecisionKind::ExplicitDeny => ("ExplicitDeny", "Explicitly denied"),
        DecisionKind::ImplicitDeny => ("ImplicitDeny", "Implicitly denied"),
    }
}

fn outcome_label(o: LayerOutcome) -> &'static str {
    match o {
        LayerOutcome::Allow => "allows",
        LayerOutcome::Deny => "denies",
        LayerOutcome::NotApplicable => "has no applicable statement",
        LayerOutcome::Exempt => "does not apply to this principal",
    }
}

/// The explanation as a sentence: "Implicitly denied because ...", "Allowed by ...".
fn sentence(label: &str, summary: &str) -> String {
    if summary.starts_with("because") {
        return format!("{label} {summary}.");
    }
    let mut chars = summary.chars();
    match chars.next() {
        Some(c) => format!("{}{}.", c.to_uppercase(), chars.as_str()),
        None => format!("{label}."),
    }
}

/// At most a dozen patterns, then how many more.
fn few(items: &[String]) -> String {
    gatehouse_analysis::abbreviate(items, 12)
}

fn miss_text(m: &Miss) -> String {
    match m {
        Miss::Action {
            clause,
            requested,
            patterns,
        } => {
            format!("{clause} [{}] does not match {requested}", few(patterns))
        }
        Miss::Resource {
            clause,
            requested,
            patterns,
        } => {
            format!("{clause} [{}] does not match {requested}", few(patterns))
        }
        Miss::Principal {
            clause,
            caller,
            entries,
        } => {
            format!("{clause} [{}] does not name {caller}", few(entries))
        }
        Miss::Condition {
            operator,
            key,
            policy_values,
            request_values,
        } => match request_values {
            None => format!(
                "{operator} on {key} [{}]: the request has no {key}",
                few(policy_values)
            ),
            Some(v) => format!(
                "{operator} on {key} [{}]: the request's value [{}] does not satisfy it",
                few(policy_values),
                v.join(", ")
            ),
        },
    }
}

fn statement_label(
    st: &gatehouse_engine::StatementReport,
    texts: &HashMap<String, String>,
) -> Markup {
    let position = texts
        .get(&st.policy)
        .and_then(|t| statement_position(t, st.index));
    html! {
        (st.effect) " statement " (st.index + 1)
        @if let Some(sid) = &st.sid { " (" code { (sid) } ")" }
        " of " strong { (st.policy) }
        @if let Some((start, end)) = position { ", lines " (start.line) "–" (end.line) }
    }
}

fn result_view(
    action: &str,
    resource: &str,
    x: &Explanation,
    texts: &HashMap<String, String>,
) -> Markup {
    let (class, label) = decision_label(x.decision);
    html! {
        section.result aria-label={ (action) " on " (resource) } {
            h3 { code { (action) } " on " code { (resource) } ": " span class={ "tag " (class) } { (label) } }
            p.explanation { (sentence(label, &x.summary)) }
            @if !x.determining.is_empty() {
                p { "Decided by:" }
                ul { @for st in &x.determining { li { (statement_label(st, texts)) } } }
            }
            @if !x.near_misses.is_empty() {
                p { "Statements that almost applied:" }
                ul { @for st in &x.near_misses { li {
                    (statement_label(st, texts))
                    @if let Some(f) = &st.failed { ": " (miss_text(f)) }
                } } }
            }
            @if !x.missing_context.is_empty() {
                p { "Context keys the policies refer to and the request lacks: "
                    @for (i, k) in x.missing_context.iter().enumerate() { @if i > 0 { ", " } code { (k) } } }
            }
            p.muted { "Layers: "
                @for (i, l) in x.layers.iter().enumerate() {
                    @if i > 0 { "; " }
                    (l.layer.to_string()) " (" (l.policies) " policies) " (outcome_label(l.outcome))
                }
            }
        }
    }
}
