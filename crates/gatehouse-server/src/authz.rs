//! The authorization API for applications: `POST /v1/authorize` decides one request and
//! `POST /v1/authorize/batch` up to [`MAX_BATCH`], each for a principal known to the store (its
//! effective policies) or for policies given inline, with the engine's explanation; and
//! `GET /openapi.json`, the OpenAPI 3.1 document that describes them (`openapi.json` beside
//! this file, which the tests check against the server).
//!
//! Callers sign with SigV4 (any service name in the scope) and need `gatehouse:Authorize` on
//! the principal they ask about, decided by the engine against their own effective policies as
//! every IAM call is. Bodies are read by serde with borrowed strings. A request asks for no
//! explanation with `"explain": false` (the default is `true`): it then takes the engine's
//! `decide` fast path and answers with the decision, its reason and the determining statement.
//! Everything a request needs in steady state is cached (access keys and effective policies by
//! the store, compiled inline policies and authorization checks for the length of a batch), so
//! a decision runs no SQL.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use gatehouse_engine::{
    CompiledPolicy, Context, LayerId, Layers, PolicySet, PrincipalType, Reason, Request,
    RequestPrincipal, Value, Values, decide, explain,
};
use gatehouse_policy::{LineIndex, Mode, PolicyKind, ValidateOptions, validate};
use gatehouse_store::{Effective, PrincipalKind};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::app::{AppState, Caller, Failure, authenticate, authorize};

/// The most requests one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// The largest batch body accepted (1,000 requests with inline policies of a few KB each).
pub const MAX_BATCH_BODY: usize = 16 * 1024 * 1024;

/// The action a caller needs, on the principal it asks about.
pub const AUTHORIZE_ACTION: &str = "gatehouse:Authorize";

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /openapi.json`.
pub(crate) async fn openapi() -> Response {
    json_response(StatusCode::OK, OPENAPI.as_bytes().to_vec())
}

/// `POST /v1/authorize`.
pub(crate) async fn authorize_one(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let timer = Observed::start();
    let r = one(state.clone(), uri, headers, body).await;
    timer.finish(&state, "Authorize", r)
}

/// What an answer is counted as: `ok`, or its error code.
#[derive(Clone)]
struct Outcome(Cow<'static, str>);

/// Counts, times and logs one request of the authorization API (like the Query API's).
struct Observed {
    started: std::time::Instant,
}

impl Observed {
    // The server reads the clock to measure latency (the clippy rule keeps clocks out of the
    // engine).
    #[allow(clippy::disallowed_methods)]
    fn start() -> Observed {
        Observed {
            started: std::time::Instant::now(),
        }
    }

    fn finish(self, state: &AppState, operation: &str, r: Response) -> Response {
        let elapsed = self.started.elapsed();
        let outcome = r
            .extensions()
            .get::<Outcome>()
            .map_or(Cow::Borrowed("ok"), |o| o.0.clone());
        state
            .metrics
            .request("authorize", operation, &outcome, elapsed.as_secs_f64());
        // The data plane: one event per request at `debug` (the Query API's are at `info`).
        tracing::debug!(
            target: "gatehouse::request",
            api = "authorize",
            operation,
            outcome = &*outcome,
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
        r
    }
}

/// The body of a signed request and its caller, or the error answer.
async fn signed(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Bytes, Caller), Response> {
    let body = body.map_err(|e| error_response(&ApiError::rejected(&e)))?;
    let caller = authenticate(state, uri, headers, &body)
        .await
        .map_err(|f| error_response(&ApiError::from(f)))?;
    Ok((body, caller))
}

async fn one(
    state: Arc<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (body, caller) = match signed(&state, &uri, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let item: Item<'_> = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => return error_response(&ApiError::json(&e)),
    };
    let mut run = Run::new(&state, &caller);
    let mut out = Vec::with_capacity(256);
    match run.item(&item, true, &mut out).await {
        Ok(()) => json_response(StatusCode::OK, out),
        Err(e) => error_response(&e),
    }
}

/// `POST /v1/authorize/batch`.
pub(crate) async fn authorize_batch(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let timer = Observed::start();
    let r = batch(state.clone(), uri, headers, body).await;
    timer.finish(&state, "AuthorizeBatch", r)
}

async fn batch(
    state: Arc<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (body, caller) = match signed(&state, &uri, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let batch: Batch<'_> = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error_response(&ApiError::json(&e)),
    };
    let Some(requests) = batch.requests else {
        return error_response(&ApiError::missing("requests"));
    };
    if requests.is_empty() || requests.len() > MAX_BATCH {
        return error_response(&ApiError::validation(format!(
            "1 validation error detected: Value at 'requests' failed to satisfy constraint: Member must have length between 1 and {MAX_BATCH} (it has {})",
            requests.len()
        )));
    }
    let default_explain = batch.explain.unwrap_or(true);
    let mut run = Run::new(&state, &caller);
    let mut out = Vec::with_capacity(16 + requests.len() * 128);
    out.extend_from_slice(b"{\"results\":[");
    for (i, raw) in requests.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mark = out.len();
        let result = match serde_json::from_str::<Item<'_>>(raw.get()) {
            Ok(item) => run.item(&item, default_explain, &mut out).await,
            Err(e) => Err(ApiError::json(&e)),
        };
        if let Err(e) = result {
            // A failed item leaves nothing half-written.
            out.truncate(mark);
            write_json(&mut out, &ItemError::from(&e));
        }
    }
    out.extend_from_slice(b"]}");
    json_response(StatusCode::OK, out)
}

// ---------------------------------------------------------------------------------------------
// The request body

/// A batch: `{"requests": [...], "explain": bool}`. Items are kept raw so that one that does
/// not read fails alone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "BatchRequest")]
struct Batch<'a> {
    #[serde(borrow)]
    requests: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    explain: Option<bool>,
}

/// One authorization request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "AuthorizeRequest")]
struct Item<'a> {
    #[serde(borrow)]
    principal: Option<PrincipalInput<'a>>,
    /// Kept raw: it also keys the batch's cache of compiled policies.
    #[serde(borrow, default)]
    policies: Option<&'a RawValue>,
    #[serde(borrow, default)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    resource: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    context: Option<ContextInput<'a>>,
    #[serde(default)]
    explain: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Principal")]
struct PrincipalInput<'a> {
    #[serde(borrow)]
    arn: Cow<'a, str>,
    /// The unique ID (`AIDA...`), for `aws:userid`; inline policies only (the store knows it).
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

/// Policies given inline, by layer. An absent layer does not restrict; a present empty list
/// allows nothing in that layer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "InlinePolicies")]
struct InlinePolicies<'a> {
    #[serde(borrow, default)]
    identity: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    resource: Option<&'a RawValue>,
    #[serde(default)]
    resource_is_trust: bool,
    #[serde(borrow, default)]
    boundary: Option<&'a RawValue>,
    #[serde(borrow, default)]
    session: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    scp: Vec<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    rcp: Vec<Vec<&'a RawValue>>,
}

/// The context: key -> a string or a list of strings (numbers and booleans as their text).
struct ContextInput<'a>(Vec<(Cow<'a, str>, ContextValue<'a>)>);

enum ContextValue<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

/// One scalar context value.
struct Scalar<'a>(Cow<'a, str>);

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, a number or a boolean")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(if v { "true" } else { "false" }))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor).map(Scalar)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ContextValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContextValue<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                ScalarVisitor.visit_borrowed_str(v).map(ContextValue::One)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                ScalarVisitor.visit_str(v).map(ContextValue::One)
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                ScalarVisitor.visit_string(v).map(ContextValue::One)
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                ScalarVisitor.visit_bool(v).map(ContextValue::One)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                ScalarVisitor.visit_i64(v).map(ContextValue::One)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                ScalarVisitor.visit_u64(v).map(ContextValue::One)
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                ScalarVisitor.visit_f64(v).map(ContextValue::One)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                while let Some(Scalar(v)) = seq.next_element()? {
                    values.push(v);
                }
                Ok(ContextValue::Many(values))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ContextInput<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContextInput<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of context keys")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((Scalar(k), v)) =
                    map.next_entry::<Scalar<'de>, ContextValue<'de>>()?
                {
                    entries.push((k, v));
                }
                Ok(ContextInput(entries))
            }
        }
        d.deserialize_map(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An error answer: `{"error": {"code", "message", ...}}` with an HTTP status.
#[derive(Clone, Debug, Serialize)]
struct ApiError {
    #[serde(skip)]
    status: u16,
    code: Cow<'static, str>,
    message: String,
    /// For an invalid inline policy: which one (`identity[0]`, `resource`, `scp[1][0]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    /// Where in that policy's text (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u32>,
    /// What exactly is wrong, when AWS's message does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: Cow::Borrowed(code),
            message: message.into(),
            policy: None,
            line: None,
            column: None,
            detail: None,
        }
    }

    fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "ValidationError", message)
    }

    fn missing(field: &str) -> ApiError {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    }

    fn json(e: &serde_json::Error) -> ApiError {
        ApiError::validation(format!("The request body is not valid: {e}"))
    }

    fn rejected(e: &BytesRejection) -> ApiError {
        let status = e.status().as_u16();
        let code = if status == 413 {
            "RequestEntityTooLarge"
        } else {
            "ValidationError"
        };
        ApiError::new(status, code, e.body_text())
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> ApiError {
        ApiError {
            status: f.status,
            code: Cow::Owned(f.code),
            message: f.message,
            policy: None,
            line: None,
            column: None,
            detail: None,
        }
    }
}

impl From<gatehouse_store::StoreError> for ApiError {
    fn from(e: gatehouse_store::StoreError) -> ApiError {
        ApiError::from(Failure::from(e))
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a ApiError,
}

/// A failed item of a batch: the error and the status it would have had alone.
#[derive(Serialize)]
struct ItemError<'a> {
    error: &'a ApiError,
    status: u16,
}

impl<'a> From<&'a ApiError> for ItemError<'a> {
    fn from(error: &'a ApiError) -> ItemError<'a> {
        ItemError {
            error,
            status: error.status,
        }
    }
}

fn write_json(out: &mut Vec<u8>, value: &impl Serialize) {
    // Writing these types to a vector cannot fail (no maps with non-string keys, no I/O).
    let _ = serde_json::to_writer(out, value);
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error_response(e: &ApiError) -> Response {
    let mut out = Vec::with_capacity(128 + e.message.len());
    write_json(&mut out, &ErrorBody { error: e });
    let mut r = json_response(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        out,
    );
    r.extensions_mut().insert(Outcome(e.code.clone()));
    r
}

// ---------------------------------------------------------------------------------------------
// Deciding

/// A principal with its policy layers, ready for requests.
struct Subject {
    principal: RequestPrincipal,
    has_boundary: bool,
    source: Source,
}

enum Source {
    /// The account's root user: no policies.
    Root,
    Store(Arc<Effective>),
    Inline(Box<InlineSets>),
}

struct InlineSets {
    identity: Option<PolicySet>,
    resource: Option<PolicySet>,
    resource_is_trust: bool,
    boundary: Option<PolicySet>,
    session: Option<PolicySet>,
    scp: Vec<PolicySet>,
    rcp: Vec<PolicySet>,
}

impl Subject {
    fn layers(&self) -> Layers<'_> {
        match &self.source {
            Source::Root => Layers::default(),
            Source::Store(e) => Layers {
                identity: Some(&e.identity),
                boundary: e.boundary.as_ref(),
                ..Layers::default()
            },
            Source::Inline(s) => Layers {
                identity: s.identity.as_ref(),
                resource: s.resource.as_ref(),
                resource_is_trust: s.resource_is_trust,
                boundary: s.boundary.as_ref(),
                session: s.session.as_ref(),
                scp: &s.scp,
                rcp: &s.rcp,
            },
        }
    }
}

/// One HTTP request's work: the caller, the time, and what its items share.
struct Run<'s> {
    state: &'s AppState,
    caller: &'s Caller,
    current_time: Value,
    epoch_time: Value,
    /// `gatehouse:Authorize` checks, by the principal ARN asked about.
    allowed: HashMap<String, Option<ApiError>>,
    /// Resolved subjects, by principal ARN, NUL, and the raw inline policies.
    subjects: HashMap<String, Result<Arc<Subject>, ApiError>>,
    key: String,
    /// Decisions to record as activity when the request ends, alike neighbours counted
    /// together (a batch of a thousand alike decisions is one record).
    activity: Vec<(String, String, String, bool, i64)>,
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        for (principal, action, resource, allowed, count) in self.activity.drain(..) {
            let account = principal.split(':').nth(4).unwrap_or("");
            self.state
                .store
                .record_activity_n(account, &principal, &action, &resource, allowed, count);
        }
    }
}

/// `aws:CurrentTime` and `aws:EpochTime` for now, made once per second (a typed `Value` costs
/// more to make than a decision).
fn clock_values() -> (Value, Value) {
    static LAST: std::sync::Mutex<Option<(i64, Value, Value)>> = std::sync::Mutex::new(None);
    let now = jiff::Timestamp::now();
    let second = now.as_second();
    if let Ok(last) = LAST.lock()
        && let Some((at, current, epoch)) = &*last
        && *at == second
    {
        return (current.clone(), epoch.clone());
    }
    let current = Value::new(now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    let epoch = Value::new(second.to_string());
    if let Ok(mut last) = LAST.lock() {
        *last = Some((second, current.clone(), epoch.clone()));
    }
    (current, epoch)
}

impl<'s> Run<'s> {
    fn new(state: &'s AppState, caller: &'s Caller) -> Run<'s> {
        // The engine never reads a clock: the time reaches it as the keys AWS sets on every
        // request, once per HTTP request.
        let (current_time, epoch_time) = clock_values();
        Run {
            state,
            caller,
            current_time,
            epoch_time,
            allowed: HashMap::new(),
            subjects: HashMap::new(),
            key: String::new(),
            activity: Vec::new(),
        }
    }

    /// Decides one item and writes its answer to `out`.
    async fn item(
        &mut self,
        item: &Item<'_>,
        default_explain: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), ApiError> {
        let principal = item
            .principal
            .as_ref()
            .ok_or_else(|| ApiError::missing("principal"))?;
        let action = item
            .action
            .as_deref()
            .ok_or_else(|| ApiError::missing("action"))?;
        if !action
            .split_once(':')
            .is_some_and(|(s, a)| !s.is_empty() && !a.is_empty())
        {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{action}' at 'action' failed to satisfy constraint: Member must be SERVICE:ACTION"
            )));
        }
        self.check_caller(&principal.arn).await?;
        let subject = self.subject(principal, item.policies).await?;
        let context = self.context(item.context.as_ref());
        let mut request = Request::new(
            subject.principal.clone(),
            action,
            item.resource.as_deref(),
            context,
        )
        .with_boundary(subject.has_boundary);
        // A store principal's tags are its `aws:PrincipalTag/...` (unless the context gives them).
        if let Source::Store(e) = &subject.source
            && !e.tags.is_empty()
        {
            request =
                request.with_principal_tags(e.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        let layers = subject.layers();
        if item.explain.unwrap_or(default_explain) {
            let x = explain(&layers, &request);
            self.state.metrics.decisions(x.decision, 1);
            self.record(&principal.arn, action, item.resource.as_deref(), x.decision);
            write_json(
                out,
                &Explained {
                    decision: x.decision.as_str(),
                    explanation: &x,
                },
            );
        } else {
            let d = decide(&layers, &request);
            self.state.metrics.decisions(d.kind, 1);
            self.record(&principal.arn, action, item.resource.as_deref(), d.kind);
            write_json(
                out,
                &Lean {
                    decision: d.kind.as_str(),
                    reason: d.reason,
                    statement: d.statement.map(|s| StatementOut {
                        layer: s.layer,
                        policy: s.policy,
                        version: s.version,
                        sid: s.sid,
                        index: s.index,
                    }),
                },
            );
        }
        Ok(())
    }

    /// Records a decision as activity, against the principal asked about (written to the
    /// store's buffer when the request ends).
    fn record(
        &mut self,
        principal: &str,
        action: &str,
        resource: Option<&str>,
        kind: gatehouse_engine::DecisionKind,
    ) {
        let resource = resource.unwrap_or("*");
        let allowed = kind == gatehouse_engine::DecisionKind::Allow;
        if let Some(last) = self.activity.last_mut()
            && last.3 == allowed
            && last.1 == action
            && last.2 == resource
            && last.0 == principal
        {
            last.4 += 1;
            return;
        }
        self.activity.push((
            principal.to_string(),
            action.to_string(),
            resource.to_string(),
            allowed,
            1,
        ));
    }

    /// The caller needs `gatehouse:Authorize` on the principal it asks about.
    async fn check_caller(&mut self, arn: &str) -> Result<(), ApiError> {
        if let Some(done) = self.allowed.get(arn) {
            return done.clone().map_or(Ok(()), Err);
        }
        // An allow found by an earlier request holds while the journal has not moved.
        let grant = format!("{}\0{}\0{arn}", self.caller.arn, self.caller.id);
        let seq = self.state.store.known_seq();
        if let Ok(grants) = self.state.authorize_grants.lock()
            && grants.get(&grant) == Some(&seq)
        {
            self.allowed.insert(arn.to_string(), None);
            return Ok(());
        }
        let result = authorize(self.state, self.caller, AUTHORIZE_ACTION, arn)
            .await
            .err()
            .map(ApiError::from);
        if result.is_none()
            && let Ok(mut grants) = self.state.authorize_grants.lock()
        {
            // Bounded: a node keeps at most this many callers' grants.
            if grants.len() >= 100_000 {
                grants.clear();
            }
            grants.insert(grant, seq);
        }
        self.allowed.insert(arn.to_string(), result.clone());
        result.map_or(Ok(()), Err)
    }

    async fn subject(
        &mut self,
        principal: &PrincipalInput<'_>,
        policies: Option<&RawValue>,
    ) -> Result<Arc<Subject>, ApiError> {
        self.key.clear();
        self.key.push_str(&principal.arn);
        self.key.push('\0');
        if let Some(p) = policies {
            self.key.push_str(p.get());
        }
        if let Some(id) = &principal.id {
            self.key.push('\0');
            self.key.push_str(id);
        }
        if let Some(found) = self.subjects.get(self.key.as_str()) {
            return found.clone();
        }
        let resolved = match policies {
            Some(p) => inline_subject(principal, p).map(Arc::new),
            None => self.store_subject(principal).await.map(Arc::new),
        };
        self.subjects
            .insert(std::mem::take(&mut self.key), resolved.clone());
        resolved
    }

    /// A user, role or role session of the caller's account, with its effective policies.
    async fn store_subject(&self, input: &PrincipalInput<'_>) -> Result<Subject, ApiError> {
        let given =
            RequestPrincipal::parse(&input.arn).map_err(|e| ApiError::validation(e.to_string()))?;
        let (kind, noun) = match given.kind() {
            PrincipalType::User => (PrincipalKind::User, "user"),
            PrincipalType::Role | PrincipalType::AssumedRole => (PrincipalKind::Role, "role"),
            PrincipalType::Root if given.account() == self.caller.account => {
                return Ok(Subject {
                    principal: given,
                    has_boundary: false,
                    source: Source::Root,
                });
            }
            PrincipalType::Root => {
                return Err(ApiError::new(
                    404,
                    "NoSuchEntity",
                    format!("The account {} cannot be found.", given.account()),
                ));
            }
            _ => {
                return Err(ApiError::validation(format!(
                    "The store knows users, roles and role sessions; {} is none: give its policies inline in 'policies'.",
                    input.arn
                )));
            }
        };
        let not_found = || {
            ApiError::new(
                404,
                "NoSuchEntity",
                format!("The {noun} with name {} cannot be found.", given.name()),
            )
        };
        // Principals of other accounts are not the caller's to see.
        if given.account() != self.caller.account {
            return Err(not_found());
        }
        let effective = self
            .state
            .store
            .effective_policies(&self.caller.account, kind, given.name())
            .await?;
        let principal = if given.kind() == PrincipalType::AssumedRole {
            given.with_role_arn(&effective.arn).with_id(&effective.id)
        } else {
            // The ARN as stored (with its path); one given with another path names no one.
            let bare = format!(
                "arn:{}:iam::{}:{noun}/{}",
                given.partition(),
                given.account(),
                given.name()
            );
            if *input.arn != effective.arn && *input.arn != bare {
                return Err(not_found());
            }
            RequestPrincipal::parse(&effective.arn)
                .map_err(|e| ApiError::validation(e.to_string()))?
                .with_id(&effective.id)
        };
        Ok(Subject {
            principal,
            has_boundary: effective.boundary.is_some(),
            source: Source::Store(effective),
        })
    }

    fn context(&self, input: Option<&ContextInput<'_>>) -> Context {
        let mut context = Context::new();
        if let Some(ContextInput(entries)) = input {
            for (key, value) in entries {
                let values = match value {
                    ContextValue::One(v) => Values::Single(Value::new(&**v)),
                    ContextValue::Many(vs) => {
                        Values::Multi(vs.iter().map(|v| Value::new(&**v)).collect())
                    }
                };
                context.put(key, values);
            }
        }
        if !context.contains("aws:CurrentTime") {
            context.put("aws:CurrentTime", Values::Single(self.current_time.clone()));
        }
        if !context.contains("aws:EpochTime") {
            context.put("aws:EpochTime", Values::Single(self.epoch_time.clone()));
        }
        context
    }
}

/// A principal named by its ARN with policies given inline; the store is not consulted.
fn inline_subject(input: &PrincipalInput<'_>, raw: &RawValue) -> Result<Subject, ApiError> {
    let mut principal =
        RequestPrincipal::parse(&input.arn).map_err(|e| ApiError::validation(e.to_string()))?;
    if let Some(id) = &input.id {
        principal = principal.with_id(id);
    }
    let given: InlinePolicies<'_> = serde_json::from_str(raw.get())
        .map_err(|e| ApiError::validation(format!("'policies' is not valid: {e}")))?;
    let set = |name: &str, kind: PolicyKind, docs: &[&RawValue]| -> Result<PolicySet, ApiError> {
        let mut compiled = Vec::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            let name = if docs.len() == 1 && matches!(name, "resource" | "boundary") {
                name.to_string()
            } else {
                format!("{name}[{i}]")
            };
            compiled.push(Arc::new(compile(&name, kind, doc)?));
        }
        Ok(PolicySet::new(compiled))
    };
    let levels = |name: &str, kind: PolicyKind, levels: &[Vec<&RawValue>]| {
        levels
            .iter()
            .enumerate()
            .map(|(i, docs)| set(&format!("{name}[{i}]"), kind, docs))
            .collect::<Result<Vec<_>, _>>()
    };
    let boundary = given
        .boundary
        .map(|d| set("boundary", PolicyKind::Boundary, &[d]))
        .transpose()?;
    let sets = InlineSets {
        identity: given
            .identity
            .as_deref()
            .map(|d| set("identity", PolicyKind::Identity, d))
            .transpose()?,
        resource: given
            .resource
            .map(|d| {
                let kind = if given.resource_is_trust {
                    PolicyKind::Trust
                } else {
                    PolicyKind::Resource
                };
                set("resource", kind, &[d])
            })
            .transpose()?,
        resource_is_trust: given.resource_is_trust,
        session: given
            .session
            .as_deref()
            .map(|d| set("session", PolicyKind::Session, d))
            .transpose()?,
        scp: levels("scp", PolicyKind::Scp, &given.scp)?,
        rcp: levels("rcp", PolicyKind::Rcp, &given.rcp)?,
        boundary,
    };
    Ok(Subject {
        principal,
        has_boundary: sets.boundary.is_some(),
        source: Source::Inline(Box::new(sets)),
    })
}

/// Validates one inline policy as AWS validates its kind (the language rules; the quotas of
/// stored policies do not apply to policies that are not stored) and compiles it.
fn compile(name: &str, kind: PolicyKind, doc: &RawValue) -> Result<CompiledPolicy, ApiError> {
    let raw = doc.get();
    // A policy is given as a JSON object or as a string holding one (as IAM's API takes it).
    let text: Cow<'_, str> = if raw.starts_with('"') {
        Cow::Owned(serde_json::from_str::<String>(raw).map_err(|e| ApiError::json(&e))?)
    } else {
        Cow::Borrowed(raw)
    };
    let options = ValidateOptions::new(kind, Mode::Provider);
    match validate(&text, &options) {
        Ok(policy) => Ok(CompiledPolicy::compile(name, None, &policy)),
        Err(diagnostics) => {
            let Some(d) = diagnostics.first() else {
                return Err(ApiError::new(
                    400,
                    "MalformedPolicyDocument",
                    "Syntax errors in policy.",
                ));
            };
            let at = LineIndex::new(&text).locate(d.span.start);
            Err(ApiError {
                status: d.code.http_status(),
                code: Cow::Borrowed(d.code.as_str()),
                message: d.message.clone(),
                policy: Some(name.to_string()),
                line: Some(at.line),
                column: Some(at.column),
                detail: d.detail.clone(),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Answers

#[derive(Serialize)]
struct Explained<'a> {
    decision: &'static str,
    explanation: &'a gatehouse_engine::Explanation,
}

#[derive(Serialize)]
struct Lean<'a> {
    decision: &'static str,
    reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement: Option<StatementOut<'a>>,
}

#[derive(Serialize)]
struct StatementOut<'a> {
    layer: LayerId,
    policy: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    index: usize,
}
