//! The web console (issue 8) at `/console/`: managed policies, versions, diffs, identities,
//! the policy simulator, the change history and activity, as server-rendered HTML (maud) with
//! no JavaScript.
//!
//! **Sign-in** is with an access key pair. The session is a cookie that carries the key ID,
//! an expiry and an HMAC-SHA256 of both under the key's secret: nothing is stored on the
//! server, any node of a PostgreSQL deployment can check it, and deactivating or deleting the
//! key ends every session made with it. The cookie is `HttpOnly` and `SameSite=Strict` (so no
//! other site can make the browser send it with a form: the console's only state-changing
//! requests, sign-in and sign-out, need no other CSRF token).
//!
//! **Authorization.** Every page is authorized like the API calls it stands for, by the engine
//! against the signed-in identity's policies (`app::authorize`): the policy list is
//! `iam:ListPolicies`, a policy `iam:GetPolicy` and `iam:GetPolicyVersion`, the simulator
//! `iam:SimulatePrincipalPolicy` on the principal, and so on. A page the identity may not see
//! answers 403 with AWS's AccessDenied message; a part of a page (the identities a policy is
//! attached to, say) it may not see says so in place.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::Sha256;

use crate::app::{AppState, Caller, Failure};

mod history;
mod identities;
mod policies;
mod simulator;

/// The session cookie's name.
pub const COOKIE: &str = "gatehouse_console";

/// How long a console session lasts (the AWS console's longest session is 12 hours).
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// Rows per page of a long list.
pub const PAGE_SIZE: usize = 100;

const STYLE: &str = include_str!("style.css");

/// The console's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(home))
        .route("/console/style.css", get(style))
        .route("/console/signin", get(signin_form).post(signin))
        .route("/console/signout", post(signout))
        .route("/console/policies", get(policies::list))
        .route("/console/policy", get(policies::show))
        .route("/console/diff", get(policies::diff))
        .route("/console/identities", get(identities::list))
        .route("/console/identity", get(identities::show))
        .route("/console/activity", get(identities::activity))
        .route("/console/simulator", get(simulator::show))
        .route("/console/history", get(history::show))
        .route("/console/blast", get(history::blast))
}

async fn style() -> Response {
    let mut r = STYLE.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    r
}

/// The signed-in identity, taken from the session cookie; a request without a valid session
/// is sent to the sign-in page.
pub(crate) struct Viewer(pub(crate) Caller);

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Viewer, Response> {
        match session_caller(state, &parts.headers).await {
            Some(caller) => Ok(Viewer(caller)),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/console/", |p| p.as_str());
                let target = format!("/console/signin?next={}", encode(next));
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

impl Viewer {
    /// The account the viewer belongs to.
    pub(crate) fn account(&self) -> &str {
        &self.0.account
    }

    /// Authorizes a page (or a part of one) as the API call `action` on `resource`.
    pub(crate) async fn allow(
        &self,
        state: &AppState,
        action: &str,
        resource: &str,
    ) -> Result<(), Failure> {
        crate::app::authorize(state, &self.0, action, resource).await
    }

    /// Authorizes an action on a user, group or role (root needs no lookup).
    pub(crate) async fn allow_on(
        &self,
        state: &AppState,
        action: &str,
        kind: gatehouse_store::PrincipalKind,
        name: &str,
    ) -> Result<String, Failure> {
        let arn = crate::ops::principal_arn(&state.store, self.account(), kind, name).await;
        self.allow(state, action, &arn).await?;
        Ok(arn)
    }
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
}

/// The session's MAC: HMAC-SHA256 under the key's secret of the key ID and expiry.
fn session_mac(secret: &str, key_id: &str, expires: i64) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(b"gatehouse-console-session\n");
    mac.update(key_id.as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The identity whose session cookie the request carries, when it is valid: unexpired, made
/// with a key that is still active, and with a MAC that matches (compared in constant time).
async fn session_caller(state: &AppState, headers: &HeaderMap) -> Option<Caller> {
    let value = cookie_value(headers, COOKIE)?;
    let mut parts = value.split('.');
    let (key_id, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
    let expires: i64 = expires.parse().ok()?;
    if expires <= jiff::Timestamp::now().as_second() || expires > i64::MAX / 2 {
        return None;
    }
    let owner = state.store.find_access_key(key_id).await.ok()??;
    if !owner.active {
        return None;
    }
    let expected = session_mac(&owner.secret, key_id, expires);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        mac.as_bytes(),
        expected.as_bytes(),
    )) {
        return None;
    }
    Some(caller_of(owner))
}

fn caller_of(owner: gatehouse_store::KeyOwner) -> Caller {
    Caller {
        user: (!owner.root).then_some(owner.user_name),
        account: owner.account,
        arn: owner.user_arn,
        id: owner.user_id,
        session: None,
    }
}

async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if session_caller(&state, &headers).await.is_some() {
        Redirect::to("/console/policies").into_response()
    } else {
        Redirect::to("/console/signin").into_response()
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct SignInQuery {
    next: Option<String>,
}

async fn signin_form(query: axum::extract::Query<SignInQuery>) -> Response {
    let next = query.0.next.unwrap_or_default();
    page(
        StatusCode::OK,
        "Sign in",
        None,
        signin_body(&next, None, ""),
    )
}

fn signin_body(next: &str, error: Option<&str>, key_id: &str) -> Markup {
    html! {
        p { "Sign in with an access key of an IAM user (or of the account's root user). "
            "What you see is what that identity's policies allow." }
        @if let Some(e) = error {
            p.error role="alert" { (e) }
        }
        form.signin method="post" action="/console/signin" {
            input type="hidden" name="next" value=(next);
            p {
                label for="access_key_id" { "Access key ID" }
                input #access_key_id name="access_key_id" type="text" autocomplete="username"
                    required value=(key_id) spellcheck="false" autocapitalize="off";
            }
            p {
                label for="secret_access_key" { "Secret access key" }
                input #secret_access_key name="secret_access_key" type="password"
                    autocomplete="current-password" required;
            }
            p { button type="submit" { "Sign in" } }
        }
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct SignIn {
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    secret_access_key: String,
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: a console path of this server, else the policy list.
fn safe_next(next: &str) -> &str {
    if next.starts_with("/console/") && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/console/policies"
    }
}

async fn signin(State(state): State<Arc<AppState>>, form: axum::Form<SignIn>) -> Response {
    let form = form.0;
    let key_id = form.access_key_id.trim();
    let owner = if key_id.starts_with("AKIA") && key_id.len() <= 128 {
        state.store.find_access_key(key_id).await.ok().flatten()
    } else {
        None
    };
    let owner = owner.filter(|o| {
        o.active
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                o.secret.as_bytes(),
                form.secret_access_key.trim().as_bytes(),
            ))
    });
    let Some(owner) = owner else {
        tracing::info!(target: "gatehouse::console", key = %key_id, "sign-in refused");
        return page(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            None,
            signin_body(
                &form.next,
                Some(
                    "The access key ID or secret access key is not valid, or the key is inactive.",
                ),
                key_id,
            ),
        );
    };
    let expires = jiff::Timestamp::now().as_second() + SESSION_SECONDS;
    let mac = session_mac(&owner.secret, key_id, expires);
    tracing::info!(target: "gatehouse::console", key = %key_id, user = %owner.user_arn, "signed in");
    let cookie = cookie::Cookie::build((COOKIE, format!("{key_id}.{expires}.{mac}")))
        .path("/console")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(SESSION_SECONDS))
        .build();
    let mut r = Redirect::to(safe_next(&form.next)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn signout() -> Response {
    let cookie = cookie::Cookie::build((COOKIE, ""))
        .path("/console")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    let mut r = Redirect::to("/console/signin").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// A whole page: the layout around `body`, with the console's headers.
pub(crate) fn page(
    status: StatusCode,
    title: &str,
    viewer: Option<&Viewer>,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Gatehouse" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                a.skiplink href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console/" { "Gatehouse" }
                    @if let Some(v) = viewer {
                        nav aria-label="Main" {
                            ul {
                                li { a href="/console/policies" { "Policies" } }
                                li { a href="/console/identities?kind=user" { "Users" } }
                                li { a href="/console/identities?kind=group" { "Groups" } }
                                li { a href="/console/identities?kind=role" { "Roles" } }
                                li { a href="/console/simulator" { "Simulator" } }
                                li { a href="/console/history" { "History" } }
                            }
                        }
                        div.who {
                            span title="Signed in as" { (v.0.arn) }
                            form method="post" action="/console/signout" {
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    let mut r = (status, markup.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// The page for a failure: AWS's code and message, with the failure's status (403 for
/// AccessDenied, 404 for NoSuchEntity).
pub(crate) fn failure_page(viewer: &Viewer, f: &Failure) -> Response {
    let title = match f.code.as_str() {
        "AccessDenied" => "Access denied",
        "NoSuchEntity" => "Not found",
        _ => "Request failed",
    };
    let body = html! {
        div.error role="alert" {
            p { strong { (f.code) } }
            p { (f.message) }
        }
    };
    page(
        StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST),
        title,
        Some(viewer),
        body,
    )
}

/// Runs a page's body, turning its failure into the failure page.
pub(crate) fn answer(viewer: &Viewer, r: Result<Response, Failure>) -> Response {
    match r {
        Ok(r) => r,
        Err(f) => failure_page(viewer, &f),
    }
}

/// A part of a page the viewer may not see, in place.
pub(crate) fn refused(f: &Failure) -> Markup {
    html! { p.refused role="note" { strong { (f.code) ": " } (f.message) } }
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A query string of pairs.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// The link to a policy (at a version, when given).
pub(crate) fn policy_href(arn: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("/console/policy?{}", query(&[("arn", arn), ("version", v)])),
        None => format!("/console/policy?{}", query(&[("arn", arn)])),
    }
}

/// The link to the diff of two versions of a policy.
pub(crate) fn diff_href(arn: &str, from: &str, to: &str) -> String {
    format!(
        "/console/diff?{}",
        query(&[("arn", arn), ("from", from), ("to", to)])
    )
}

/// The link to an identity.
pub(crate) fn identity_href(kind: gatehouse_store::PrincipalKind, name: &str) -> String {
    format!(
        "/console/identity?{}",
        query(&[("kind", kind_param(kind)), ("name", name)])
    )
}

/// `user`, `group`, `role`.
pub(crate) fn kind_param(kind: gatehouse_store::PrincipalKind) -> &'static str {
    match kind {
        gatehouse_store::PrincipalKind::User => "user",
        gatehouse_store::PrincipalKind::Group => "group",
        gatehouse_store::PrincipalKind::Role => "role",
    }
}

/// A date (UTC) from milliseconds since the epoch.
pub(crate) fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Page links for a list of `total` items shown [`PAGE_SIZE`] at a time.
pub(crate) fn pager(base: &str, pairs: &[(&str, &str)], page_no: usize, total: usize) -> Markup {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let link = |n: usize| {
        let n = n.to_string();
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        all.push(("page", &n));
        format!("{base}?{}", query(&all))
    };
    html! {
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page_no > 1 { a href=(link(page_no - 1)) rel="prev" { "Previous" } " " }
                span { "Page " (page_no) " of " (pages) }
                @if page_no < pages { " " a href=(link(page_no + 1)) rel="next" { "Next" } }
            }
        }
    }
}

/// The items of page `page_no` (from 1).
pub(crate) fn page_of<T>(items: &[T], page_no: usize) -> &[T] {
    let start = page_no.saturating_sub(1).saturating_mul(PAGE_SIZE);
    let end = start.saturating_add(PAGE_SIZE).min(items.len());
    items.get(start.min(end)..end).unwrap_or(&[])
}

/// A page number from a query value (1 when absent or not a number).
pub(crate) fn page_no(s: Option<&str>) -> usize {
    s.and_then(|s| s.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

/// A policy document as an ordered list of lines (the browser numbers them), with the lines
/// that have findings marked.
pub(crate) fn numbered(text: &str, flagged: &[(u32, String)]) -> Markup {
    let mut out = String::from("<ol class=\"code\">");
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let notes: Vec<&str> = flagged
            .iter()
            .filter(|(l, _)| *l == n)
            .map(|(_, m)| m.as_str())
            .collect();
        if notes.is_empty() {
            let _ = write!(out, "<li id=\"L{n}\"><code>");
        } else {
            let _ = write!(
                out,
                "<li id=\"L{n}\" class=\"flag\" title=\"{}\"><code>",
                escape(&notes.join("; "))
            );
        }
        out.push_str(&escape(line));
        out.push_str("</code></li>");
    }
    out.push_str("</ol>");
    PreEscaped(out)
}

/// HTML-escapes text.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = maud::Escaper::new(&mut out).write_str(s);
    out
}
