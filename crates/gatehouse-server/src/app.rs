//! The HTTP application: one POST endpoint for the Query protocol (IAM and STS on one
//! listener, routed by `Version`), SigV4 on every request, every call authorized by the engine
//! against the caller's effective policies (root may do everything), and `/healthz`; the
//! public managed-policy change feeds under `/feeds/` ([`crate::feeds`]).
//!
//! So far (issue 5, in progress): STS GetCallerIdentity; IAM users (Create, Get, List, Delete),
//! access keys (Create, List, Update, Delete), user inline policies (Put, Get, Delete, List),
//! roles (Create, Get, List, Delete, UpdateAssumeRolePolicy), managed policies and versions
//! (CreatePolicy, GetPolicy, ListPolicies, DeletePolicy, CreatePolicyVersion,
//! GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion, SetDefaultPolicyVersion),
//! attachments (Attach, Detach, ListAttached for users and roles), CreateServiceLinkedRole and
//! SimulatePrincipalPolicy. Any other operation is `InvalidAction`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_engine::{Context, DecisionKind, Layers, Reason, Request, RequestPrincipal, decide};
use gatehouse_store::{Actor, PrincipalKind, Session, Store, StoreError};

use crate::query::Params;
use crate::sigv4::{self, AuthError, SignedRequest};
use crate::xml::{self, Element, IAM_NAMESPACE, STS_NAMESPACE};

/// The largest request body accepted (IAM's largest parameter, a policy document, is at most
/// 131,072 characters).
pub const MAX_BODY: usize = 1024 * 1024;

/// What every request handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The server's metrics.
    pub metrics: crate::metrics::Metrics,
    /// Derived SigV4 signing keys.
    pub signing_keys: Arc<sigv4::SigningKeys>,
    /// Callers found allowed `gatehouse:Authorize` on a principal, with the journal sequence
    /// of that decision (the decision has no context: it changes only with the policies).
    pub(crate) authorize_grants: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

impl AppState {
    /// The state of a server on a store, with fresh metrics.
    pub fn new(store: Store) -> Result<AppState, prometheus::Error> {
        Ok(AppState {
            store,
            metrics: crate::metrics::Metrics::new()?,
            signing_keys: Arc::default(),
            authorize_grants: Arc::default(),
        })
    }
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", post(query))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/authorize", post(crate::authz::authorize_one))
        .route(
            "/v1/authorize/batch",
            post(crate::authz::authorize_batch)
                .layer(DefaultBodyLimit::max(crate::authz::MAX_BATCH_BODY)),
        )
        .route("/openapi.json", get(crate::authz::openapi))
        .route("/feeds/managed-policies.rss", get(crate::feeds::all_rss))
        .route("/feeds/managed-policies.atom", get(crate::feeds::all_atom))
        .route("/feeds/policies/{file}", get(crate::feeds::one))
        .merge(crate::console::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(state))
}

/// An answer: status, code and message for errors, or an XML body.
struct Answer {
    status: StatusCode,
    body: String,
    request_id: String,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.body).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            h.insert("x-amzn-requestid", v);
        }
        let date = jiff::Timestamp::now()
            .strftime("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        if let Ok(v) = HeaderValue::from_str(&date) {
            h.insert(header::DATE, v);
        }
        r
    }
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = jiff::Timestamp::now().as_nanosecond();
    format!("{:08x}-0000-4000-8000-{:012x}", (t as u64) & 0xffff_ffff, n)
}

/// The service a request is for, by its `Version`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Iam,
    Sts,
}

impl Service {
    fn namespace(self) -> &'static str {
        match self {
            Service::Iam => IAM_NAMESPACE,
            Service::Sts => STS_NAMESPACE,
        }
    }
}

/// An error answer.
pub(crate) struct Failure {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::new(e.code.http_status(), e.code.as_str(), e.message)
    }
}

impl From<AuthError> for Failure {
    fn from(e: AuthError) -> Failure {
        Failure::new(e.status(), e.code(), e.message())
    }
}

/// The authenticated caller.
pub(crate) struct Caller {
    pub(crate) account: String,
    pub(crate) arn: String,
    pub(crate) id: String,
    /// The user's name, for IAM users.
    pub(crate) user: Option<String>,
    /// The role session, for temporary credentials from AssumeRole.
    pub(crate) session: Option<Arc<Session>>,
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let body = state.metrics.render(&state.store);
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    r
}

// The server reads the clock to measure latency (the clippy rule keeps clocks out of the
// engine).
#[allow(clippy::disallowed_methods)]
async fn query(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Answer {
    let started = std::time::Instant::now();
    let request_id = request_id();
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            // A body over the limit (or one that cannot be read) is answered in the protocol's
            // own error form, counted and logged like any other failure.
            let status = rejection.status();
            let (code, message) = if status == StatusCode::PAYLOAD_TOO_LARGE {
                (
                    "RequestEntityTooLarge",
                    format!("The request body is larger than the limit of {MAX_BODY} bytes."),
                )
            } else {
                ("MalformedQueryString", rejection.body_text())
            };
            state.metrics.request(
                "query",
                crate::metrics::UNKNOWN_OPERATION,
                code,
                started.elapsed().as_secs_f64(),
            );
            tracing::info!(target: "gatehouse::request", request_id = %request_id, api = "query", outcome = code);
            return Answer {
                status,
                body: xml::error(IAM_NAMESPACE, status.as_u16(), code, &message, &request_id),
                request_id,
            };
        }
    };
    let params = Params::parse(&body, uri.query());
    let service = match params.as_ref().ok().and_then(|p| p.get("Version")) {
        Some("2011-06-15") => Service::Sts,
        _ => Service::Iam,
    };
    // The request runs in a task of its own, so a client that goes away mid-request does not
    // cancel it: a write it started completes (or fails) whole, as at AWS, rather than being
    // dropped halfway through its transaction.
    let task = {
        let (state, uri, headers, body) =
            (state.clone(), uri.clone(), headers.clone(), body.clone());
        tokio::spawn(async move { handle(&state, &uri, &headers, &body, params, service).await })
    };
    let result = task.await.unwrap_or_else(|e| {
        tracing::error!(target: "gatehouse::request", request_id = %request_id, error = %e, "request task failed");
        Err((
            None,
            None,
            Failure::new(500, "ServiceFailure", "The request could not be completed."),
        ))
    });
    let (operation, caller) = match &result {
        Ok((action, _, caller)) | Err((Some(action), caller, _)) => (
            if crate::ops::is_served(service, action) {
                action.as_str()
            } else {
                crate::metrics::UNKNOWN_OPERATION
            },
            caller.as_deref(),
        ),
        Err((None, caller, _)) => (crate::metrics::UNKNOWN_OPERATION, caller.as_deref()),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err((_, _, f)) => f.code.as_str(),
    };
    let elapsed = started.elapsed();
    state
        .metrics
        .request("query", operation, outcome, elapsed.as_secs_f64());
    tracing::info!(
        target: "gatehouse::request",
        request_id = %request_id,
        api = "query",
        operation,
        outcome,
        caller = caller.unwrap_or("-"),
        micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
    );
    match result {
        Ok((action, element, _)) => Answer {
            status: StatusCode::OK,
            body: xml::response(&action, service.namespace(), element, &request_id),
            request_id,
        },
        Err((_, _, f)) => Answer {
            status: StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST),
            body: xml::error(
                service.namespace(),
                f.status,
                &f.code,
                &f.message,
                &request_id,
            ),
            request_id,
        },
    }
}

/// Verifies a request's SigV4 signature against the access key's secret (a long-term key, the
/// root user's, or a role session's, whose token must match and be unexpired).
pub(crate) async fn authenticate(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, Failure> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Incomplete("The Authorization header is not text.".into()))?;
    let auth = sigv4::parse_authorization(auth)?;
    let token = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    let now = jiff::Timestamp::now();
    let (secret, caller) = if auth.access_key.starts_with("ASIA") {
        let session = state
            .store
            .find_session(&auth.access_key)
            .await?
            .ok_or(AuthError::UnknownKey)?;
        // The token must be the session's own (compared in constant time).
        let given = token.unwrap_or("").as_bytes();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            given,
            session.token.as_bytes(),
        )) {
            return Err(AuthError::UnknownKey.into());
        }
        if session.expires_at <= now.as_millisecond() {
            return Err(AuthError::ExpiredToken.into());
        }
        let session = Arc::new(session);
        (
            session.secret.clone(),
            Caller {
                account: session.account.clone(),
                arn: session.arn.clone(),
                id: session.assumed_role_id.clone(),
                user: None,
                session: Some(session),
            },
        )
    } else {
        let owner = state
            .store
            .find_access_key(&auth.access_key)
            .await?
            .filter(|k| k.active)
            .ok_or(AuthError::UnknownKey)?;
        (
            owner.secret,
            Caller {
                user: (!owner.root).then_some(owner.user_name),
                account: owner.account,
                arn: owner.user_arn,
                id: owner.user_id,
                session: None,
            },
        )
    };
    // Header names arrive lower-case (`http` normalizes them); values that are not text cannot
    // have been signed and are left out.
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = SignedRequest {
        method: "POST",
        path_and_query: path,
        headers: &pairs,
        body,
    };
    sigv4::verify(
        &req,
        &auth,
        &secret,
        token,
        now.as_second(),
        &state.signing_keys,
    )?;
    Ok(caller)
}

/// The policies that apply to a caller (none for root): its effective identity policies and
/// boundary (a session's role's), its session policies, and the caller as the engine's
/// request principal.
pub(crate) async fn caller_policies(
    state: &AppState,
    caller: &Caller,
) -> Result<
    (
        Option<Arc<gatehouse_store::Effective>>,
        Option<Arc<gatehouse_engine::PolicySet>>,
        RequestPrincipal,
    ),
    Failure,
> {
    let principal = RequestPrincipal::parse(&caller.arn)
        .map_err(|e| Failure::new(500, "ServiceFailure", e.to_string()))?;
    if let Some(session) = &caller.session {
        let effective = state
            .store
            .effective_policies(&session.account, PrincipalKind::Role, &session.role_name)
            .await?;
        let set = if session.has_session_policies() {
            Some(state.store.session_policies(session).await?)
        } else {
            None
        };
        let principal = principal
            .with_role_arn(&session.role_arn)
            .with_id(&session.assumed_role_id);
        return Ok((Some(effective), set, principal));
    }
    let Some(user) = &caller.user else {
        return Ok((None, None, principal));
    };
    let effective = state
        .store
        .effective_policies(&caller.account, PrincipalKind::User, user)
        .await?;
    Ok((Some(effective), None, principal.with_id(&caller.id)))
}

/// The caller's principal tags (`aws:PrincipalTag/...`): a session's tags, then its role's
/// (a session tag overrides the role's tag of the same key); a user's own tags.
pub(crate) fn caller_tags<'a>(
    effective: &'a gatehouse_store::Effective,
    session: Option<&'a Session>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    session
        .into_iter()
        .flat_map(|s| s.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())))
        .chain(effective.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Authorizes a call by the engine against the caller's effective policies (and a session's
/// session policies). Root may do everything in its account.
pub(crate) async fn authorize(
    state: &AppState,
    caller: &Caller,
    action: &str,
    resource: &str,
) -> Result<(), Failure> {
    let (effective, session, principal) = caller_policies(state, caller).await?;
    let Some(effective) = effective else {
        return Ok(());
    };
    let layers = Layers {
        identity: Some(&effective.identity),
        boundary: effective.boundary.as_ref(),
        session: session.as_deref(),
        ..Layers::default()
    };
    let request = Request::new(principal, action, Some(resource), Context::new())
        .with_boundary(effective.boundary.is_some())
        .with_principal_tags(caller_tags(&effective, caller.session.as_deref()));
    let decision = decide(&layers, &request);
    state.metrics.decisions(decision.kind, 1);
    // Activity is recorded against the policies' owner: the role, for a role session.
    let owner = caller
        .session
        .as_deref()
        .map_or(caller.arn.as_str(), |s| s.role_arn.as_str());
    state.store.record_activity(
        &caller.account,
        owner,
        action,
        resource,
        decision.kind == DecisionKind::Allow,
    );
    if decision.kind == DecisionKind::Allow {
        return Ok(());
    }
    let why = match decision.reason {
        Reason::ExplicitDeny(_) | Reason::NotAllowed(_) => decision.reason.aws_phrase(action),
        _ => format!("because no identity-based policy allows the {action} action"),
    };
    Err(Failure::new(
        403,
        "AccessDenied",
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
            caller.arn
        ),
    ))
}

/// What a request came to: the operation's name and answer, or what is known of the
/// operation and the error; with the caller's ARN once authenticated (for the log).
type Handled =
    Result<(String, Option<Element>, Option<String>), (Option<String>, Option<String>, Failure)>;

async fn handle(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    params: Result<Params, crate::query::QueryError>,
    service: Service,
) -> Handled {
    let action = params
        .as_ref()
        .ok()
        .and_then(|p| p.action().ok())
        .map(str::to_string);
    let caller = match authenticate(state, uri, headers, body).await {
        Ok(c) => c,
        Err(f) => return Err((action, None, f)),
    };
    let arn = Some(caller.arn.clone());
    let fail = |f: Failure| (action.clone(), arn.clone(), f);
    let params = params.map_err(|e| fail(Failure::new(400, e.code(), e.message())))?;
    let name = params
        .action()
        .map_err(|e| fail(Failure::new(400, e.code(), e.message())))?
        .to_string();
    let call = crate::ops::Call {
        state,
        caller: &caller,
        params: &params,
        action: &name,
        actor: Actor {
            account: caller.account.clone(),
            arn: caller.arn.clone(),
        },
    };
    let out = crate::ops::dispatch(&call, service).await.map_err(fail)?;
    Ok((name, out, arn))
}

impl From<crate::page::PageError> for Failure {
    fn from(e: crate::page::PageError) -> Failure {
        Failure::new(400, "ValidationError", e.0)
    }
}
