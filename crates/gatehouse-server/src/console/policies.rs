//! Managed policies: the list (search and filter), a policy (its document with line numbers
//! and lint findings, its summary, versions and identities) and the diff of two versions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_analysis::lint::lint;
use gatehouse_analysis::summary::summarize;
use gatehouse_analysis::{Classification, PolicyDiff, ServiceReference, diff_documents};
use gatehouse_store::{ManagedPolicy, PrincipalKind, Scope};
use maud::{Markup, html};
use similar::{DiffTag, TextDiff};

use super::{
    PAGE_SIZE, Viewer, answer, date, diff_href, identity_href, numbered, page, page_no, page_of,
    pager, policy_href, refused,
};
use crate::app::{AppState, Failure};

/// The list's query: `q` (name contains), `scope` (`All`, `AWS`, `Local`), `attached`
/// (`on`: attached only), `page`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct ListQuery {
    q: Option<String>,
    scope: Option<String>,
    attached: Option<String>,
    page: Option<String>,
}

fn kind_label(p: &ManagedPolicy) -> &'static str {
    if !p.provider {
        "Customer managed"
    } else if p.path == "/job-function/" {
        "AWS managed – job function"
    } else {
        "AWS managed"
    }
}

pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    let r = list_page(&state, &viewer, q).await;
    answer(&viewer, r)
}

async fn list_page(state: &AppState, viewer: &Viewer, q: ListQuery) -> Result<Response, Failure> {
    viewer.allow(state, "iam:ListPolicies", "*").await?;
    let scope_param = q.scope.as_deref().unwrap_or("All");
    let scope = match scope_param {
        "AWS" => Scope::Provider,
        "Local" => Scope::Local,
        _ => Scope::All,
    };
    let attached = q.attached.as_deref() == Some("on");
    let all = state
        .store
        .list_policies(viewer.account(), scope, attached, None, None)
        .await?;
    let needle = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    let found: Vec<&ManagedPolicy> = all
        .iter()
        .filter(|p| needle.is_empty() || p.name.to_lowercase().contains(&needle))
        .collect();
    let n = page_no(q.page.as_deref());
    let shown = page_of(&found, n);
    let search = q.q.clone().unwrap_or_default();
    let body = html! {
        form.filters method="get" action="/console/policies" role="search" {
            p {
                label for="q" { "Search by name" }
                input #q type="search" name="q" value=(search) placeholder="e.g. AmazonQ";
            }
            p {
                label for="scope" { "Type" }
                select #scope name="scope" {
                    @for (value, text) in [("All", "All types"), ("AWS", "AWS managed"), ("Local", "Customer managed")] {
                        option value=(value) selected[scope_param == value] { (text) }
                    }
                }
            }
            p {
                input #attached type="checkbox" name="attached" checked[attached];
                " "
                label.inline for="attached" { "Attached only" }
            }
            p { button type="submit" { "Filter" } }
        }
        p.muted { (found.len()) " policies" @if found.len() > PAGE_SIZE { ", " (PAGE_SIZE) " a page" } "." }
        div.scroll {
            table {
                caption.muted { "Managed policies" }
                thead { tr { th scope="col" { "Policy name" } th scope="col" { "Type" }
                    th scope="col" { "Attached entities" } th scope="col" { "Default version" }
                    th scope="col" { "Last updated" } th scope="col" { "Description" } } }
                tbody {
                    @for p in shown {
                        tr {
                            th scope="row" { a href=(policy_href(&p.arn, None)) { (p.name) } }
                            td { (kind_label(p)) }
                            td.num { (p.attachment_count) }
                            td { (p.default_version_id) }
                            td { (date(p.updated_at)) }
                            td { (p.description.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
        (pager("/console/policies", &[("q", &search), ("scope", scope_param), ("attached", if attached { "on" } else { "" })], n, found.len()))
    };
    Ok(page(StatusCode::OK, "Policies", Some(viewer), body))
}

/// A policy's query: `arn`, and `version` (the default when absent).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct PolicyQuery {
    arn: String,
    version: Option<String>,
}

/// What a version is, in the history: description, where it comes from, classification.
struct VersionNote {
    description: String,
    source: &'static str,
    classification: Option<Classification>,
    previous: Option<String>,
}

pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<PolicyQuery>,
) -> Response {
    let r = show_page(&state, &viewer, q).await;
    answer(&viewer, r)
}

async fn show_page(state: &AppState, viewer: &Viewer, q: PolicyQuery) -> Result<Response, Failure> {
    let arn = q.arn.as_str();
    viewer.allow(state, "iam:GetPolicy", arn).await?;
    let account = viewer.account();
    let policy = state.store.get_policy(account, arn).await?;
    viewer.allow(state, "iam:GetPolicyVersion", arn).await?;
    let version_id = q
        .version
        .clone()
        .unwrap_or_else(|| policy.default_version_id.clone());
    let version = state
        .store
        .get_policy_version(account, arn, &version_id)
        .await?;
    let document = version.document.clone().unwrap_or_default();
    let reference = ServiceReference::embedded();

    let versions = match viewer.allow(state, "iam:ListPolicyVersions", arn).await {
        Ok(()) => Ok(state.store.list_policy_versions(account, arn).await?),
        Err(f) => Err(f),
    };
    let notes = match &versions {
        Ok(versions) => version_notes(state, account, &policy, versions, reference).await,
        Err(_) => HashMap::new(),
    };
    let entities = match viewer.allow(state, "iam:ListEntitiesForPolicy", arn).await {
        Ok(()) => Ok(state
            .store
            .list_entities_for_policy(account, arn, None, None, None)
            .await?),
        Err(f) => Err(f),
    };
    let findings = lint(&document, reference);
    let flagged: Vec<(u32, String)> = findings
        .iter()
        .map(|f| (f.line, format!("{}: {}", f.issue_code, f.message)))
        .collect();
    let summary = summarize(&document, reference);

    let body = html! {
        dl.facts {
            dt { "ARN" } dd { code { (policy.arn) } }
            dt { "Type" } dd { (kind_label(&policy)) }
            @if let Some(d) = &policy.description { dt { "Description" } dd { (d) } }
            dt { "Default version" } dd { (policy.default_version_id) }
            dt { "Attached entities" } dd { (policy.attachment_count) }
            dt { "Used as a permissions boundary" } dd { (policy.boundary_usage_count) }
            dt { "Created" } dd { (date(policy.created_at)) }
            dt { "Last updated" } dd { (date(policy.updated_at)) }
        }
        h2 #document { "Document: version " (version.version_id) @if version.is_default { " (default)" } }
        (numbered(&document, &flagged))
        h2 #findings { "Lint findings" }
        @if findings.is_empty() {
            p { "No findings." }
        } @else {
            ul.findings {
                @for f in &findings {
                    li {
                        span.tag.warn { (f.finding_type.as_str()) } " "
                        a href={ "#L" (f.line) } { "line " (f.line) ", column " (f.column) } " "
                        code { (f.issue_code) } ": " (f.message)
                    }
                }
            }
        }
        h2 #summary { "Summary" }
        @match &summary {
            Ok(s) => (summary_view(s)),
            Err(e) => p.error { (e.to_string()) }
        }
        h2 #versions { "Versions" }
        @match &versions {
            Ok(versions) => {
                div.scroll { table {
                    thead { tr { th scope="col" { "Version" } th scope="col" { "Created" }
                        th scope="col" { "Change" } th scope="col" { "Description" } th scope="col" { "Compare" } } }
                    tbody {
                        @for v in versions {
                            @let note = notes.get(&v.version_id);
                            tr {
                                th scope="row" {
                                    a href=(policy_href(arn, Some(&v.version_id))) { (v.version_id) }
                                    @if v.is_default { " " span.tag { "default" } }
                                }
                                td { (date(v.created_at)) }
                                td { @if let Some(c) = note.and_then(|n| n.classification) {
                                    span class={ "tag " (c.as_str()) } { (c.as_str()) } } }
                                td { @if let Some(n) = note {
                                    (n.description)
                                    @if !n.source.is_empty() { " " span.muted { "(" (n.source) ")" } }
                                } @else if let Some(d) = &v.change_description { (d) } }
                                td { @if let Some(p) = note.and_then(|n| n.previous.as_deref()) {
                                    a href=(diff_href(arn, p, &v.version_id)) { "Diff with " (p) } } }
                            }
                        }
                    }
                } }
                (compare_form(arn, versions.iter().map(|v| v.version_id.as_str()).collect(), None))
            }
            Err(f) => (refused(f)),
        }
        h2 #entities { "Entities attached" }
        @match &entities {
            Ok(e) => {
                @if e.users.is_empty() && e.groups.is_empty() && e.roles.is_empty() {
                    p { "This policy is not attached to any user, group or role of the account." }
                } @else {
                    ul {
                        @for (name, _) in &e.users { li { "User " a href=(identity_href(PrincipalKind::User, name)) { (name) } } }
                        @for (name, _) in &e.groups { li { "Group " a href=(identity_href(PrincipalKind::Group, name)) { (name) } } }
                        @for (name, _) in &e.roles { li { "Role " a href=(identity_href(PrincipalKind::Role, name)) { (name) } } }
                    }
                }
            }
            Err(f) => (refused(f)),
        }
        @if policy.provider {
            p { a href={ "/feeds/policies/" (policy.name) ".atom" } { "Atom feed of this policy's changes" } }
        }
    };
    Ok(page(StatusCode::OK, &policy.name, Some(viewer), body))
}

/// The form that picks two versions to compare.
pub(crate) fn compare_form(arn: &str, versions: Vec<&str>, picked: Option<(&str, &str)>) -> Markup {
    let mut sorted = versions;
    sorted.sort_by_key(|v| v.trim_start_matches('v').parse::<u64>().unwrap_or(0));
    let (from, to) = picked.unwrap_or_else(|| {
        let n = sorted.len();
        (
            sorted.get(n.saturating_sub(2)).copied().unwrap_or(""),
            sorted.last().copied().unwrap_or(""),
        )
    });
    html! {
        form.filters method="get" action="/console/diff" {
            input type="hidden" name="arn" value=(arn);
            p {
                label for="from" { "Compare version" }
                select #from name="from" { @for v in &sorted { option value=(v) selected[*v == from] { (v) } } }
            }
            p {
                label for="to" { "with version" }
                select #to name="to" { @for v in &sorted { option value=(v) selected[*v == to] { (v) } } }
            }
            p { button type="submit" { "Compare" } }
        }
    }
}

/// A policy summary: the services allowed, those denied, and actions of unknown services.
pub(crate) fn summary_view(s: &gatehouse_analysis::summary::PolicySummary) -> Markup {
    html! {
        (summary_table("Allowed", &s.allow))
        @if !s.deny.is_empty() { (summary_table("Denied", &s.deny)) }
        @if !s.unrecognized.is_empty() {
            p { "Actions of services the service reference does not know: "
                @for (i, a) in s.unrecognized.iter().enumerate() { @if i > 0 { ", " } code { (a) } } }
        }
    }
}

fn summary_table(what: &str, services: &[gatehouse_analysis::summary::ServiceSummary]) -> Markup {
    html! {
        div.scroll { table {
            caption { (what) ": " (services.len()) " services" }
            thead { tr { th scope="col" { "Service" } th scope="col" { "Access level" }
                th scope="col" { "Resources" } th scope="col" { "Request conditions" } } }
            tbody {
                @for s in services {
                    tr {
                        th scope="row" { (s.name) " " span.muted { "(" (s.service) ")" } }
                        td { (s.access) }
                        td { (s.resources.join(", ")) }
                        td { (s.conditions.join("; ")) }
                    }
                }
            }
        } }
    }
}

/// Each version's description: from the provider policy's history (AWS's words where the
/// seed page has them), or for a customer policy the diff with the version before it.
async fn version_notes(
    state: &AppState,
    account: &str,
    policy: &ManagedPolicy,
    versions: &[gatehouse_store::PolicyVersion],
    reference: &ServiceReference,
) -> HashMap<String, VersionNote> {
    let mut out = HashMap::new();
    if policy.provider {
        if let Ok(history) = state.store.policy_history(&policy.arn).await {
            for c in history.iter() {
                out.insert(
                    c.version_id.clone(),
                    VersionNote {
                        description: c.description.clone(),
                        source: match c.described_by {
                            "AWS" => "AWS",
                            "provider" => "provider",
                            _ => "worked out from the diff",
                        },
                        classification: c.classification,
                        previous: c.previous_version_id.clone(),
                    },
                );
            }
        }
        return out;
    }
    let mut sorted: Vec<&gatehouse_store::PolicyVersion> = versions.iter().collect();
    sorted.sort_by_key(|v| {
        v.version_id
            .trim_start_matches('v')
            .parse::<u64>()
            .unwrap_or(0)
    });
    let mut previous: Option<(String, String)> = None;
    for v in sorted {
        let Ok(full) = state
            .store
            .get_policy_version(account, &policy.arn, &v.version_id)
            .await
        else {
            continue;
        };
        let doc = full.document.unwrap_or_default();
        let note = match &previous {
            None => VersionNote {
                description: "First version.".into(),
                source: "",
                classification: None,
                previous: None,
            },
            Some((pv, pdoc)) => match diff_documents(pdoc, &doc, reference) {
                Ok(d) => VersionNote {
                    description: d.headline(),
                    source: "worked out from the diff",
                    classification: Some(d.classification),
                    previous: Some(pv.clone()),
                },
                Err(_) => VersionNote {
                    description: String::new(),
                    source: "",
                    classification: None,
                    previous: Some(pv.clone()),
                },
            },
        };
        out.insert(v.version_id.clone(), note);
        previous = Some((v.version_id.clone(), doc));
    }
    out
}

/// The diff's query: `arn`, `from`, `to`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct DiffQuery {
    arn: String,
    from: String,
    to: String,
}

pub(crate) async fn diff(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<DiffQuery>,
) -> Response {
    let r = diff_page(&state, &viewer, q).await;
    answer(&viewer, r)
}

async fn diff_page(state: &AppState, viewer: &Viewer, q: DiffQuery) -> Result<Response, Failure> {
    let arn = q.arn.as_str();
    viewer.allow(state, "iam:GetPolicyVersion", arn).await?;
    let account = viewer.account();
    let policy = state.store.get_policy(account, arn).await?;
    let old = state
        .store
        .get_policy_version(account, arn, &q.from)
        .await?;
    let new = state.store.get_policy_version(account, arn, &q.to).await?;
    let (old, new) = (
        old.document.unwrap_or_default(),
        new.document.unwrap_or_default(),
    );
    let reference = ServiceReference::embedded();
    let delta = diff_documents(&old, &new, reference);
    let versions: Vec<String> = match viewer.allow(state, "iam:ListPolicyVersions", arn).await {
        Ok(()) => state
            .store
            .list_policy_versions(account, arn)
            .await?
            .into_iter()
            .map(|v| v.version_id)
            .collect(),
        Err(_) => vec![q.from.clone(), q.to.clone()],
    };
    let body = html! {
        p { a href=(policy_href(arn, None)) { "Back to " (policy.name) } }
        (compare_form(arn, versions.iter().map(String::as_str).collect(), Some((&q.from, &q.to))))
        h2 #delta { "Effective permissions" }
        @match &delta {
            Ok(d) => (delta_view(d)),
            Err(e) => p.error { (e.to_string()) },
        }
        @if policy.provider {
            p { a href=(format!("/console/blast?{}", super::query(&[("arn", arn), ("from", &q.from), ("to", &q.to)]))) {
                "Blast radius of this change in your account" } }
        }
        h2 #text { "Document: " (q.from) " and " (q.to) " side by side" }
        (side_by_side(&pretty(&old), &pretty(&new), &q.from, &q.to))
    };
    let title = format!("{}: {} to {}", policy.name, q.from, q.to);
    Ok(page(StatusCode::OK, &title, Some(viewer), body))
}

/// A document laid out by the policy printer (one element per line, so the line diff is
/// meaningful whatever the stored layout); the text as stored when it does not parse.
fn pretty(text: &str) -> String {
    match gatehouse_policy::parse_policy(text) {
        Ok(p) => gatehouse_policy::to_pretty(&p),
        Err(_) => text.to_string(),
    }
}

/// The effective-permission delta of a diff.
pub(crate) fn delta_view(d: &PolicyDiff) -> Markup {
    let list = |title: &str, class: &str, items: &[String]| {
        html! {
            @if !items.is_empty() {
                h3 { (title) " (" (items.len()) ")" }
                ul.actions { @for a in items { li { span class={ "tag " (class) } { code { (a) } } } } }
            }
        }
    };
    html! {
        p {
            span class={ "tag " (d.classification.as_str()) } { (d.classification.as_str()) } " "
            (d.headline())
        }
        @if !d.sensitive.is_empty() {
            p { "Sensitive: " @for (i, s) in d.sensitive.iter().enumerate() { @if i > 0 { ", " } span.tag.warn { (s.to_string()) } } }
        }
        (list("Newly allowed", "gain", &d.newly_allowed))
        (list("No longer allowed", "loss", &d.no_longer_allowed))
        @if !d.allowed_scope_changed.is_empty() {
            h3 { "Allowed on other resources or conditions (" (d.allowed_scope_changed.len()) ")" }
            ul { @for c in &d.allowed_scope_changed { li {
                @for (i, a) in c.actions.iter().enumerate() { @if i > 0 { ", " } code { (a) } }
                " " span.muted { "(" (c.direction.to_lowercase()) ")" } } } }
        }
        (list("Newly denied", "loss", &d.newly_denied))
        (list("No longer denied", "gain", &d.no_longer_denied))
        @if d.classification == Classification::NoChange {
            p { "The two versions grant and deny the same." }
        }
    }
}

/// Two texts side by side, changed lines marked; long unchanged runs folded.
fn side_by_side(old: &str, new: &str, from: &str, to: &str) -> Markup {
    const CONTEXT: usize = 3;
    let diff = TextDiff::from_lines(old, new);
    let olds: Vec<&str> = old.lines().collect();
    let news: Vec<&str> = new.lines().collect();
    let line = |v: &[&str], i: usize| v.get(i).copied().unwrap_or("").to_string();
    struct Row {
        class: &'static str,
        old: Option<(usize, String)>,
        new: Option<(usize, String)>,
    }
    let mut rows: Vec<Row> = Vec::new();
    let ops = diff.ops();
    for (k, op) in ops.iter().enumerate() {
        let (tag, o, n) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                let len = o.len();
                let keep_head = if k == 0 { 0 } else { CONTEXT };
                let keep_tail = if k + 1 == ops.len() { 0 } else { CONTEXT };
                for i in 0..len {
                    if i >= keep_head && i + keep_tail < len {
                        if i == keep_head {
                            let skipped = len.saturating_sub(keep_head + keep_tail);
                            rows.push(Row {
                                class: "fold",
                                old: Some((0, format!("{skipped} unchanged lines"))),
                                new: None,
                            });
                        }
                        continue;
                    }
                    rows.push(Row {
                        class: "same",
                        old: Some((o.start + i + 1, line(&olds, o.start + i))),
                        new: Some((n.start + i + 1, line(&news, n.start + i))),
                    });
                }
            }
            DiffTag::Delete | DiffTag::Insert | DiffTag::Replace => {
                let class = match tag {
                    DiffTag::Delete => "del",
                    DiffTag::Insert => "add",
                    _ => "chg",
                };
                for i in 0..o.len().max(n.len()) {
                    rows.push(Row {
                        class,
                        old: (i < o.len()).then(|| (o.start + i + 1, line(&olds, o.start + i))),
                        new: (i < n.len()).then(|| (n.start + i + 1, line(&news, n.start + i))),
                    });
                }
            }
        }
    }
    html! {
        div.scroll { table.diff {
            caption.muted { "Lines removed from " (from) " are marked on the left, lines added in " (to) " on the right." }
            colgroup { col.ln; col; col.ln; col; }
            thead { tr { th scope="col" { span.muted { "#" } } th scope="col" { (from) } th scope="col" { span.muted { "#" } } th scope="col" { (to) } } }
            tbody {
                @for r in &rows {
                    @if r.class == "fold" {
                        tr.fold { td colspan="4" { (r.old.as_ref().map(|x| x.1.as_str()).unwrap_or("")) } }
                    } @else {
                        tr class=(r.class) {
                            td.ln { @if let Some((n, _)) = &r.old { (n) } }
                            td.old { @if let Some((_, t)) = &r.old { @if r.class == "del" || r.class == "chg" { span.sr { "− " } } (t) } }
                            td.ln { @if let Some((n, _)) = &r.new { (n) } }
                            td.new { @if let Some((_, t)) = &r.new { @if r.class == "add" || r.class == "chg" { span.sr { "+ " } } (t) } }
                        }
                    }
                }
            }
        } }
    }
}
