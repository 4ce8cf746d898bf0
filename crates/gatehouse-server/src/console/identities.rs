//! Identities: the users, groups and roles of the account, one identity (what is attached to
//! it, its groups or members, its effective permissions) and its activity (last accessed
//! services and the actions recorded).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_analysis::ServiceReference;
use gatehouse_store::PrincipalKind;
use maud::html;

use super::{
    PAGE_SIZE, Viewer, answer, date, identity_href, kind_param, page, page_no, page_of, pager,
    policy_href, query, refused,
};
use crate::app::{AppState, Failure};

/// The list's query: `kind` (`user`, `group`, `role`), `q` (name contains), `page`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct ListQuery {
    kind: Option<String>,
    q: Option<String>,
    page: Option<String>,
}

fn kind_of(s: Option<&str>) -> Result<PrincipalKind, Failure> {
    match s {
        None | Some("user") => Ok(PrincipalKind::User),
        Some("group") => Ok(PrincipalKind::Group),
        Some("role") => Ok(PrincipalKind::Role),
        Some(other) => Err(Failure::new(
            400,
            "ValidationError",
            format!("Unknown identity kind '{other}': expected user, group or role."),
        )),
    }
}

fn plural(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "Users",
        PrincipalKind::Group => "Groups",
        PrincipalKind::Role => "Roles",
    }
}

fn api_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "User",
        PrincipalKind::Group => "Group",
        PrincipalKind::Role => "Role",
    }
}

/// One row of the list.
struct Listed {
    name: String,
    path: String,
    created_at: i64,
    note: String,
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
    let kind = kind_of(q.kind.as_deref())?;
    let account = viewer.account();
    let k = kind_param(kind);
    viewer
        .allow(
            state,
            &format!("iam:List{}s", api_name(kind)),
            &format!("arn:aws:iam::{account}:{k}/"),
        )
        .await?;
    let store = &state.store;
    let all: Vec<Listed> = match kind {
        PrincipalKind::User => store
            .list_users(account, None)
            .await?
            .into_iter()
            .map(|u| Listed {
                note: u
                    .permissions_boundary
                    .map(|b| format!("boundary {b}"))
                    .unwrap_or_default(),
                name: u.name,
                path: u.path,
                created_at: u.created_at,
            })
            .collect(),
        PrincipalKind::Group => store
            .list_groups(account, None)
            .await?
            .into_iter()
            .map(|g| Listed {
                name: g.name,
                path: g.path,
                created_at: g.created_at,
                note: String::new(),
            })
            .collect(),
        PrincipalKind::Role => store
            .list_roles(account, None)
            .await?
            .into_iter()
            .map(|r| Listed {
                note: match (&r.service_linked, &r.description) {
                    (Some(s), _) => format!("service-linked role for {s}"),
                    (None, Some(d)) => d.clone(),
                    (None, None) => String::new(),
                },
                name: r.name,
                path: r.path,
                created_at: r.created_at,
            })
            .collect(),
    };
    let needle = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    let found: Vec<&Listed> = all
        .iter()
        .filter(|x| needle.is_empty() || x.name.to_lowercase().contains(&needle))
        .collect();
    let n = page_no(q.page.as_deref());
    let search = q.q.clone().unwrap_or_default();
    let body = html! {
        form.filters method="get" action="/console/identities" role="search" {
            input type="hidden" name="kind" value=(k);
            p {
                label for="q" { "Search by name" }
                input #q type="search" name="q" value=(search);
            }
            p { button type="submit" { "Search" } }
        }
        p.muted { (found.len()) " " (plural(kind).to_lowercase()) @if found.len() > PAGE_SIZE { ", " (PAGE_SIZE) " a page" } "." }
        div.scroll { table {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Path" } th scope="col" { "Created" } th scope="col" { "Notes" } } }
            tbody {
                @for x in page_of(&found, n) {
                    tr {
                        th scope="row" { a href=(identity_href(kind, &x.name)) { (x.name) } }
                        td { (x.path) }
                        td { (date(x.created_at)) }
                        td { (x.note) }
                    }
                }
            }
        } }
        (pager("/console/identities", &[("kind", k), ("q", &search)], n, found.len()))
    };
    Ok(page(StatusCode::OK, plural(kind), Some(viewer), body))
}

/// An identity's query: `kind` and `name`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct IdentityQuery {
    kind: Option<String>,
    name: String,
}

pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<IdentityQuery>,
) -> Response {
    let r = show_page(&state, &viewer, q).await;
    answer(&viewer, r)
}

/// The facts of an identity shown at the top of its page.
struct Facts {
    arn: String,
    id: String,
    path: String,
    created_at: i64,
    boundary: Option<String>,
    extra: Vec<(&'static str, String)>,
}

async fn show_page(
    state: &AppState,
    viewer: &Viewer,
    q: IdentityQuery,
) -> Result<Response, Failure> {
    let kind = kind_of(q.kind.as_deref())?;
    let name = q.name.as_str();
    let account = viewer.account();
    let store = &state.store;
    viewer
        .allow_on(state, &format!("iam:Get{}", api_name(kind)), kind, name)
        .await?;
    let mut members = None;
    let mut trust = None;
    let facts = match kind {
        PrincipalKind::User => {
            let u = store.get_user(account, name).await?;
            Facts {
                arn: u.arn,
                id: u.id,
                path: u.path,
                created_at: u.created_at,
                boundary: u.permissions_boundary,
                extra: u
                    .tags
                    .into_iter()
                    .map(|t| ("Tag", format!("{} = {}", t.key, t.value)))
                    .collect(),
            }
        }
        PrincipalKind::Group => {
            let (g, users) = store.get_group(account, name).await?;
            members = Some(users);
            Facts {
                arn: g.arn,
                id: g.id,
                path: g.path,
                created_at: g.created_at,
                boundary: None,
                extra: Vec::new(),
            }
        }
        PrincipalKind::Role => {
            let r = store.get_role(account, name).await?;
            trust = Some(r.trust_policy.clone());
            let mut extra = Vec::new();
            if let Some(d) = r.description {
                extra.push(("Description", d));
            }
            if let Some(s) = r.service_linked {
                extra.push(("Service-linked role for", s));
            }
            extra.push((
                "Maximum session duration",
                format!("{} seconds", r.max_session_duration),
            ));
            extra.extend(
                r.tags
                    .into_iter()
                    .map(|t| ("Tag", format!("{} = {}", t.key, t.value))),
            );
            Facts {
                arn: r.arn,
                id: r.id,
                path: r.path,
                created_at: r.created_at,
                boundary: r.permissions_boundary,
                extra,
            }
        }
    };
    let api = api_name(kind);
    let attached = match viewer
        .allow(state, &format!("iam:ListAttached{api}Policies"), &facts.arn)
        .await
    {
        Ok(()) => Ok(store
            .list_attached_policies(account, kind, name, None)
            .await?),
        Err(f) => Err(f),
    };
    let inline = match viewer
        .allow(state, &format!("iam:List{api}Policies"), &facts.arn)
        .await
    {
        Ok(()) => Ok(store.list_inline_policies(account, kind, name).await?),
        Err(f) => Err(f),
    };
    let groups = if kind == PrincipalKind::User {
        Some(
            match viewer
                .allow(state, "iam:ListGroupsForUser", &facts.arn)
                .await
            {
                Ok(()) => Ok(store.list_groups_for_user(account, name).await?),
                Err(f) => Err(f),
            },
        )
    } else {
        None
    };
    // The effective permissions are read from every policy that applies, so they are shown
    // only to whoever may list both the attached and the inline policies.
    let effective = if attached.is_ok() && inline.is_ok() {
        Some(effective_summary(state, account, kind, name, &facts.arn).await)
    } else {
        None
    };
    let k = kind_param(kind);
    let body = html! {
        dl.facts {
            dt { "ARN" } dd { code { (facts.arn) } }
            dt { "Unique ID" } dd { code { (facts.id) } }
            dt { "Path" } dd { (facts.path) }
            dt { "Created" } dd { (date(facts.created_at)) }
            @if let Some(b) = &facts.boundary {
                dt { "Permissions boundary" } dd { a href=(policy_href(b, None)) { (b) } }
            }
            @for (label, value) in &facts.extra { dt { (label) } dd { (value) } }
        }
        p {
            @if kind != PrincipalKind::Group {
                a href={ "/console/simulator?" (query(&[("principal", &facts.arn)])) } { "Simulate this " (k) "'s permissions" } " · "
            }
            a href={ "/console/activity?" (query(&[("kind", k), ("name", name)])) } { "Activity and last accessed services" }
        }
        @if let Some(users) = &members {
            h2 { "Members" }
            @if users.is_empty() { p { "No users." } } @else {
                ul { @for u in users { li { a href=(identity_href(PrincipalKind::User, &u.name)) { (u.name) } } } }
            }
        }
        @if let Some(groups) = &groups {
            h2 { "Groups" }
            @match groups {
                Ok(gs) if gs.is_empty() => p { "Not a member of any group." },
                Ok(gs) => ul { @for g in gs { li { a href=(identity_href(PrincipalKind::Group, &g.name)) { (g.name) } } } },
                Err(f) => (refused(f)),
            }
        }
        h2 { "Attached managed policies" }
        @match &attached {
            Ok(a) if a.is_empty() => p { "None." },
            Ok(a) => ul { @for (pname, parn) in a { li { a href=(policy_href(parn, None)) { (pname) } } } },
            Err(f) => (refused(f)),
        }
        h2 { "Inline policies" }
        @match &inline {
            Ok(i) if i.is_empty() => p { "None." },
            Ok(i) => ul { @for pname in i { li { code { (pname) } } } },
            Err(f) => (refused(f)),
        }
        @if let Some(t) = &trust {
            h2 { "Trust policy" }
            (super::numbered(t, &[]))
        }
        h2 { "Effective permissions" }
        @match &effective {
            None => p.refused { "Listing the identity's attached and inline policies is needed to show its effective permissions." },
            Some(Ok((s, count))) => {
                p.muted { "The union of the " (count) @if *count == 1 { " identity policy that applies" } @else { " identity policies that apply" }
                    @if kind == PrincipalKind::User { " (the user's groups' included)" }
                    @if facts.boundary.is_some() { ", before the permissions boundary caps them" }
                    ". The simulator decides single requests with every layer." }
                (super::policies::summary_view(s))
            }
            Some(Err(e)) => p.error { (e) },
        }
    };
    Ok(page(
        StatusCode::OK,
        &format!("{} {name}", api),
        Some(viewer),
        body,
    ))
}

/// The summary of every identity policy that applies to an identity, read as one document.
async fn effective_summary(
    state: &AppState,
    account: &str,
    kind: PrincipalKind,
    name: &str,
    arn: &str,
) -> Result<(gatehouse_analysis::summary::PolicySummary, usize), String> {
    let store = &state.store;
    let documents: Vec<String> = if kind == PrincipalKind::Group {
        let mut docs = Vec::new();
        for (_, parn) in store
            .list_attached_policies(account, kind, name, None)
            .await
            .map_err(|e| e.message.clone())?
        {
            let (_, doc) = store
                .default_document(account, &parn)
                .await
                .map_err(|e| e.message.clone())?;
            docs.push(doc);
        }
        for pname in store
            .list_inline_policies(account, kind, name)
            .await
            .map_err(|e| e.message.clone())?
        {
            let (_, doc) = store
                .get_inline_policy(account, kind, name, &pname)
                .await
                .map_err(|e| e.message.clone())?;
            docs.push(doc);
        }
        docs
    } else {
        store
            .policies_of(arn)
            .await
            .map_err(|e| e.message.clone())?
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    };
    let count = documents.len();
    let merged = merge_documents(&documents);
    gatehouse_analysis::summary::summarize(&merged, ServiceReference::embedded())
        .map(|s| (s, count))
        .map_err(|e| e.to_string())
}

/// One document holding every statement of `documents` (their union, as the identity layer
/// reads them); documents that are not JSON objects are left out.
fn merge_documents(documents: &[String]) -> String {
    let mut statements = Vec::new();
    for d in documents {
        let Ok(serde_json::Value::Object(mut o)) = serde_json::from_str::<serde_json::Value>(d)
        else {
            continue;
        };
        match o.remove("Statement") {
            Some(serde_json::Value::Array(items)) => statements.extend(items),
            Some(one @ serde_json::Value::Object(_)) => statements.push(one),
            _ => {}
        }
    }
    // Sids must be unique within one document; the merged one keeps none.
    for s in &mut statements {
        if let serde_json::Value::Object(o) = s {
            o.remove("Sid");
        }
    }
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

pub(crate) async fn activity(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<IdentityQuery>,
) -> Response {
    let r = activity_page(&state, &viewer, q).await;
    answer(&viewer, r)
}

async fn activity_page(
    state: &AppState,
    viewer: &Viewer,
    q: IdentityQuery,
) -> Result<Response, Failure> {
    let kind = kind_of(q.kind.as_deref())?;
    let name = q.name.as_str();
    let account = viewer.account();
    let arn = viewer
        .allow_on(state, "iam:GenerateServiceLastAccessedDetails", kind, name)
        .await?;
    let services = state.store.last_accessed(account, &arn).await?;
    let rows = state.store.activity_of(account, &arn, 0).await?;
    let body = html! {
        p { a href=(identity_href(kind, name)) { "Back to " (name) } }
        h2 { "Last accessed services" }
        p.muted { "Every service the identity's policies allow, and when it last used it (requests decided here are recorded; recording can be turned off on the server)." }
        @if services.is_empty() { p { "The identity's policies allow no service." } } @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Service" } th scope="col" { "Last accessed" } th scope="col" { "Actions used" } } }
                tbody {
                    @for s in &services {
                        tr {
                            th scope="row" { (s.name) " " span.muted { "(" (s.namespace) ")" } }
                            td { @match s.last_authenticated { Some(t) => (date(t)), None => span.muted { "Not accessed in the tracking period" } } }
                            td { @for (i, (a, _, _)) in s.actions.iter().enumerate() { @if i > 0 { ", " } code { (a) } } }
                        }
                    }
                }
            } }
        }
        h2 { "Recorded requests" }
        @if rows.is_empty() { p { "No request by this identity has been recorded." } } @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Action" } th scope="col" { "Resource" } th scope="col" { "Decision" }
                    th scope="col" { "Count" } th scope="col" { "First" } th scope="col" { "Last" } } }
                tbody {
                    @for r in rows.iter().take(1000) {
                        tr {
                            th scope="row" { code { (r.action) } }
                            td { code { (r.resource) } }
                            td { @if r.allowed { span.tag.Allowed { "Allowed" } } @else { span.tag.ImplicitDeny { "Denied" } } }
                            td.num { (r.count) }
                            td { (date(r.first_at)) }
                            td { (date(r.last_at)) }
                        }
                    }
                }
            } }
            @if rows.len() > 1000 { p.muted { "The first 1,000 of " (rows.len()) " rows." } }
        }
    };
    Ok(page(
        StatusCode::OK,
        &format!("Activity of {name}"),
        Some(viewer),
        body,
    ))
}
