//! The change history: the seed page's "Policy updates" table for the Amazon Q policies, every
//! real change of the provider's managed policies with its classification (the feed), and the
//! blast radius of a change over the viewer's account.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_store::{ChangeKind, PrincipalKind, seed_table};
use maud::html;

use super::{Viewer, answer, date, diff_href, identity_href, page, policy_href, query};
use crate::app::{AppState, Failure};

/// How many changes the page lists (as the feed of all policies).
pub const CHANGES_SHOWN: usize = crate::feeds::GLOBAL_LIMIT;

fn provider_arn(name: &str, path: Option<&str>) -> String {
    format!("arn:aws:iam::aws:policy{}{name}", path.unwrap_or("/"))
}

pub(crate) async fn show(State(state): State<Arc<AppState>>, viewer: Viewer) -> Response {
    let r = history_page(&state, &viewer).await;
    answer(&viewer, r)
}

async fn history_page(state: &AppState, viewer: &Viewer) -> Result<Response, Failure> {
    viewer.allow(state, "iam:ListPolicies", "*").await?;
    let seed = seed_table()?;
    let changes = state.store.provider_changes(CHANGES_SHOWN).await?;
    // The seed's rows name policies; their ARNs (and so their paths) come from the store.
    let mut seed_rows = Vec::new();
    for row in &seed {
        let arn = match state.store.policy_history(&row.policy).await {
            Ok(h) => h.first().map(|c| c.policy_arn.clone()),
            Err(_) => None,
        }
        .unwrap_or_else(|| provider_arn(&row.policy, None));
        let previous = row
            .version
            .trim_start_matches('v')
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 1)
            .map(|n| format!("v{}", n - 1));
        seed_rows.push((row, arn, previous));
    }
    let body = html! {
        p { "Feeds of these changes: "
            a href="/feeds/managed-policies.atom" { "Atom" } ", "
            a href="/feeds/managed-policies.rss" { "RSS" } "." }
        h2 #seed { "Policy updates: Amazon Q Developer" }
        p.muted { "The table of AWS's page on the managed policies for Amazon Q Developer, with the version each row announced." }
        div.scroll { table {
            thead { tr { th scope="col" { "Change" } th scope="col" { "Description" } th scope="col" { "Date" } th scope="col" { "Version" } th scope="col" { "See" } } }
            tbody {
                @for (row, arn, previous) in &seed_rows {
                    tr {
                        th scope="row" { (row.change) ": " a href=(policy_href(arn, None)) { (row.seed_name) } }
                        td { (row.description) }
                        td { (row.date) }
                        td { a href=(policy_href(arn, Some(&row.version))) { (row.version) } }
                        td {
                            @if let Some(p) = previous {
                                a href=(diff_href(arn, p, &row.version)) { "Diff " (p) "–" (row.version) } " · "
                                a href={ "/console/blast?" (query(&[("arn", arn.as_str()), ("from", p.as_str()), ("to", row.version.as_str())])) } { "Blast radius" }
                            }
                        }
                    }
                }
            }
        } }
        h2 #changes { "Recent changes to AWS managed policies" }
        p.muted { "The newest " (changes.len()) " changes that changed what a policy grants or created one; republications that change nothing are left out." }
        div.scroll { table {
            thead { tr { th scope="col" { "Date" } th scope="col" { "Policy" } th scope="col" { "Change" } th scope="col" { "Description" } th scope="col" { "See" } } }
            tbody {
                @for c in &changes {
                    tr {
                        td { @match &c.announced { Some(d) => (d), None => (date(c.created_at)) } }
                        th scope="row" { a href=(policy_href(&c.policy_arn, None)) { (c.policy_name) } " " (c.version_id) }
                        td { @match (c.kind, c.classification) {
                            (ChangeKind::NewPolicy, _) => span.tag { "New policy" },
                            (_, Some(k)) => span class={ "tag " (k.as_str()) } { (k.as_str()) },
                            (_, None) => span.tag { "Updated" },
                        } }
                        td { (c.description)
                            @if !c.summary.is_empty() && c.summary != c.description { br; span.muted { (c.summary) } }
                            @if let Some(b) = &c.blast_radius { br; span.muted { "When published: " (blast_line(b)) } }
                        }
                        td { @if let Some(p) = &c.previous_version_id {
                            a href=(diff_href(&c.policy_arn, p, &c.version_id)) { "Diff" } " · "
                            a href={ "/console/blast?" (query(&[("arn", c.policy_arn.as_str()), ("from", p.as_str()), ("to", c.version_id.as_str())])) } { "Blast radius" }
                        } }
                    }
                }
            }
        } }
    };
    Ok(page(StatusCode::OK, "Change history", Some(viewer), body))
}

/// A stored blast radius in a line: how many identities it reached and how many changed.
fn blast_line(b: &serde_json::Value) -> String {
    let identities = b.get("Identities").and_then(|v| v.as_array());
    let reached = identities.map_or(0, Vec::len);
    let changed = identities.map_or(0, |ids| {
        ids.iter()
            .filter(|i| {
                let n = |k: &str| i.get(k).and_then(|v| v.as_array()).map_or(0, Vec::len);
                n("Gains") + n("Loses") > 0
            })
            .count()
    });
    format!("reached {reached} identities, {changed} gained or lost permissions")
}

/// The blast radius query: `arn`, `from`, `to`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct BlastQuery {
    arn: String,
    from: String,
    to: String,
}

pub(crate) async fn blast(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<BlastQuery>,
) -> Response {
    let r = blast_page(&state, &viewer, q).await;
    answer(&viewer, r)
}

async fn blast_page(state: &AppState, viewer: &Viewer, q: BlastQuery) -> Result<Response, Failure> {
    let arn = q.arn.as_str();
    viewer.allow(state, "iam:GetPolicyVersion", arn).await?;
    viewer
        .allow(state, "iam:ListEntitiesForPolicy", arn)
        .await?;
    let account = viewer.account();
    let policy = state.store.get_policy(account, arn).await?;
    let old = state
        .store
        .get_policy_version(account, arn, &q.from)
        .await?;
    let new = state.store.get_policy_version(account, arn, &q.to).await?;
    let radius = state
        .store
        .blast_radius_between(
            arn,
            &q.from,
            old.document.as_deref().unwrap_or_default(),
            new.document.as_deref().unwrap_or_default(),
        )
        .await?;
    // Only the viewer's own account is shown.
    let mine: Vec<&gatehouse_store::Affected> = radius
        .identities
        .iter()
        .filter(|a| a.account == account)
        .collect();
    let changed = mine
        .iter()
        .filter(|a| !a.gains.is_empty() || !a.loses.is_empty())
        .count();
    let body = html! {
        p { a href=(diff_href(arn, &q.from, &q.to)) { "The diff of " (q.from) " and " (q.to) } }
        p { span class={ "tag " (radius.classification.as_str()) } { (radius.classification.as_str()) } " " (radius.summary) }
        p { "The change reaches " (mine.len()) " identities of this account today (attached, through a group, or as a permissions boundary); "
            (changed) " of them gain or lose permissions through it, their other policies, outright denies and boundaries considered." }
        @if !mine.is_empty() {
            div.scroll { table {
                thead { tr { th scope="col" { "Identity" } th scope="col" { "Reached" } th scope="col" { "Gains" } th scope="col" { "Loses" } } }
                tbody {
                    @for a in &mine {
                        tr {
                            th scope="row" { (a.kind) " " a href=(identity_href(kind_of(&a.kind), &a.name)) { (a.name) } }
                            td { (a.via) }
                            td { @for (i, g) in a.gains.iter().enumerate() { @if i > 0 { ", " } code { (g) } } }
                            td { @for (i, l) in a.loses.iter().enumerate() { @if i > 0 { ", " } code { (l) } } }
                        }
                    }
                }
            } }
        }
    };
    let title = format!("Blast radius: {} {} to {}", policy.name, q.from, q.to);
    Ok(page(StatusCode::OK, &title, Some(viewer), body))
}

fn kind_of(k: &str) -> PrincipalKind {
    match k {
        "User" => PrincipalKind::User,
        "Group" => PrincipalKind::Group,
        _ => PrincipalKind::Role,
    }
}
