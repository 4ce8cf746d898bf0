//! The HTTP application: one POST endpoint for the Query protocol (IAM and STS on one
//! listener, routed by `Version`), SigV4 on every request, every call authorized by the engine
//! against the caller's effective policies (root may do everything), and `/healthz`.
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
use gatehouse_store::{Actor, PrincipalKind, Store, StoreError};

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
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", post(query))
        .route("/healthz", get(|| async { "ok\n" }))
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
enum Service {
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
}

async fn query(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let request_id = request_id();
    let params = Params::parse(&body, uri.query());
    let service = match params.as_ref().ok().and_then(|p| p.get("Version")) {
        Some("2011-06-15") => Service::Sts,
        _ => Service::Iam,
    };
    let result = handle(&state, &uri, &headers, &body, params, service).await;
    match result {
        Ok((action, element)) => Answer {
            status: StatusCode::OK,
            body: xml::response(&action, service.namespace(), element, &request_id),
            request_id,
        },
        Err(f) => Answer {
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
    let owner = state
        .store
        .find_access_key(&auth.access_key)
        .await?
        .filter(|k| k.active)
        .ok_or(AuthError::UnknownKey)?;
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = SignedRequest {
        method: "POST",
        path_and_query: path,
        headers: &pairs,
        body,
    };
    let token = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    sigv4::verify(
        &req,
        &auth,
        &owner.secret,
        token,
        jiff::Timestamp::now().as_second(),
    )?;
    Ok(Caller {
        user: (!owner.root).then(|| owner.user_name.clone()),
        account: owner.account,
        arn: owner.user_arn,
        id: owner.user_id,
    })
}

/// Authorizes a call by the engine against the caller's effective policies. Root may do
/// everything in its account.
async fn authorize(
    state: &AppState,
    caller: &Caller,
    action: &str,
    resource: &str,
) -> Result<(), Failure> {
    let Some(user) = &caller.user else {
        return Ok(());
    };
    let effective = state
        .store
        .effective_policies(&caller.account, PrincipalKind::User, user)
        .await?;
    let layers = Layers {
        identity: Some(&effective.identity),
        boundary: effective.boundary.as_ref(),
        ..Layers::default()
    };
    let principal = RequestPrincipal::parse(&caller.arn)
        .map_err(|e| Failure::new(500, "ServiceFailure", e.to_string()))?
        .with_id(&caller.id);
    let request = Request::new(principal, action, Some(resource), Context::new())
        .with_boundary(effective.boundary.is_some());
    let decision = decide(&layers, &request);
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

fn required<'p>(params: &'p Params, name: &str) -> Result<&'p str, Failure> {
    params.get(name).ok_or_else(|| {
        let field = lower_camel(name);
        Failure::new(
            400,
            "ValidationError",
            format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

async fn handle(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    params: Result<Params, crate::query::QueryError>,
    service: Service,
) -> Result<(String, Option<Element>), Failure> {
    let caller = authenticate(state, uri, headers, body).await?;
    let params = params.map_err(|e| Failure::new(400, e.code(), e.message()))?;
    let action = params
        .action()
        .map_err(|e| Failure::new(400, e.code(), e.message()))?
        .to_string();
    let store = &state.store;
    let actor = Actor {
        account: caller.account.clone(),
        arn: caller.arn.clone(),
    };
    let account = caller.account.as_str();
    let iam = |op: &str| format!("iam:{op}");
    let user_arn = |name: String| principal_arn(store, account, PrincipalKind::User, name);
    let role_arn = |name: String| principal_arn(store, account, PrincipalKind::Role, name);
    let mut out = Element::new();
    match (service, action.as_str()) {
        (Service::Sts, "GetCallerIdentity") => {
            out.text("Arn", &caller.arn)
                .text("UserId", &caller.id)
                .text("Account", account);
        }
        (Service::Iam, "CreateUser") => {
            let name = required(&params, "UserName")?;
            let path = params.get("Path");
            authorize(
                state,
                &caller,
                &iam("CreateUser"),
                &format!("arn:aws:iam::{account}:user{}{name}", path.unwrap_or("/")),
            )
            .await?;
            let u = store
                .create_user(&actor, name, path, params.get("PermissionsBoundary"), &[])
                .await?;
            out.child("User", |e| user_element(e, &u));
        }
        (Service::Iam, "GetUser") => {
            let name = match (params.get("UserName"), &caller.user) {
                (Some(n), _) => n.to_string(),
                (None, Some(me)) => me.clone(),
                (None, None) => {
                    out.child("User", |e| {
                        e.text("UserId", account)
                            .text("Arn", &caller.arn)
                            .text("Path", "/");
                    });
                    return Ok((action, Some(out)));
                }
            };
            authorize(
                state,
                &caller,
                &iam("GetUser"),
                &user_arn(name.clone()).await,
            )
            .await?;
            let u = store.get_user(account, &name).await?;
            out.child("User", |e| user_element(e, &u));
        }
        (Service::Iam, "CreateAccessKey") => {
            let name = match (params.get("UserName"), &caller.user) {
                (Some(n), _) => n.to_string(),
                (None, Some(me)) => me.clone(),
                (None, None) => {
                    return Err(Failure::new(
                        400,
                        "ValidationError",
                        "Must specify userName when calling with non-User credentials",
                    ));
                }
            };
            authorize(
                state,
                &caller,
                &iam("CreateAccessKey"),
                &user_arn(name.clone()).await,
            )
            .await?;
            let k = store.create_access_key(&actor, &name).await?;
            out.child("AccessKey", |e| {
                e.text("UserName", &k.user_name)
                    .text("AccessKeyId", &k.id)
                    .text("Status", &k.status)
                    .opt("SecretAccessKey", k.secret.as_deref())
                    .time("CreateDate", k.created_at);
            });
        }
        (Service::Iam, "CreatePolicy") => {
            let name = required(&params, "PolicyName")?;
            let document = required(&params, "PolicyDocument")?;
            let path = params.get("Path");
            authorize(
                state,
                &caller,
                &iam("CreatePolicy"),
                &format!("arn:aws:iam::{account}:policy{}{name}", path.unwrap_or("/")),
            )
            .await?;
            let p = store
                .create_policy(&actor, name, path, document, params.get("Description"), &[])
                .await?;
            out.child("Policy", |e| policy_element(e, &p, true));
        }
        (Service::Iam, "GetPolicy") => {
            let arn = required(&params, "PolicyArn")?;
            authorize(state, &caller, &iam("GetPolicy"), arn).await?;
            let p = store.get_policy(account, arn).await?;
            out.child("Policy", |e| policy_element(e, &p, true));
        }
        (Service::Iam, "GetPolicyVersion") => {
            let arn = required(&params, "PolicyArn")?;
            let vid = required(&params, "VersionId")?;
            authorize(state, &caller, &iam("GetPolicyVersion"), arn).await?;
            let v = store.get_policy_version(account, arn, vid).await?;
            out.child("PolicyVersion", |e| {
                if let Some(d) = &v.document {
                    e.document("Document", d);
                }
                e.text("VersionId", &v.version_id)
                    .boolean("IsDefaultVersion", v.is_default)
                    .time("CreateDate", v.created_at);
            });
        }
        (Service::Iam, "AttachUserPolicy" | "AttachRolePolicy") => {
            let kind = kind_of(&action);
            let name = required(&params, name_param(kind))?;
            let arn = required(&params, "PolicyArn")?;
            let target = principal_arn(store, account, kind, name).await;
            authorize(state, &caller, &iam(&action), &target).await?;
            store.attach_policy(&actor, kind, name, arn).await?;
            return Ok((action, None));
        }
        (Service::Iam, "DetachUserPolicy" | "DetachRolePolicy") => {
            let kind = kind_of(&action);
            let name = required(&params, name_param(kind))?;
            let arn = required(&params, "PolicyArn")?;
            let target = principal_arn(store, account, kind, name).await;
            authorize(state, &caller, &iam(&action), &target).await?;
            store.detach_policy(&actor, kind, name, arn).await?;
            return Ok((action, None));
        }
        (Service::Iam, "ListAttachedUserPolicies" | "ListAttachedRolePolicies") => {
            let kind = kind_of(&action);
            let name = required(&params, name_param(kind))?;
            let target = principal_arn(store, account, kind, name).await;
            authorize(state, &caller, &iam(&action), &target).await?;
            let all = store
                .list_attached_policies(account, kind, name, params.get("PathPrefix"))
                .await?;
            let page = crate::page::page(&all, params.get("Marker"), params.get("MaxItems"))?;
            out.list("AttachedPolicies", page.items, |e, (n, a)| {
                e.text("PolicyName", n).text("PolicyArn", a);
            });
            page.write(&mut out);
        }
        (Service::Iam, "DeleteUser") => {
            let name = required(&params, "UserName")?;
            authorize(
                state,
                &caller,
                &iam("DeleteUser"),
                &user_arn(name.to_string()).await,
            )
            .await?;
            store.delete_user(&actor, name).await?;
            return Ok((action, None));
        }
        (Service::Iam, "ListUsers") => {
            authorize(
                state,
                &caller,
                &iam("ListUsers"),
                &format!("arn:aws:iam::{account}:user/"),
            )
            .await?;
            let all = store.list_users(account, params.get("PathPrefix")).await?;
            let page = crate::page::page(&all, params.get("Marker"), params.get("MaxItems"))?;
            out.list("Users", page.items, user_element);
            page.write(&mut out);
        }
        (Service::Iam, "ListPolicies") => {
            authorize(state, &caller, &iam("ListPolicies"), "*").await?;
            let scope = match params.get("Scope") {
                None | Some("All") => gatehouse_store::Scope::All,
                Some("AWS") => gatehouse_store::Scope::Provider,
                Some("Local") => gatehouse_store::Scope::Local,
                Some(other) => return Err(enum_error("scope", other, "[All, AWS, Local]")),
            };
            let usage = match params.get("PolicyUsageFilter") {
                None => None,
                Some("PermissionsPolicy") => Some(gatehouse_store::Usage::PermissionsPolicy),
                Some("PermissionsBoundary") => Some(gatehouse_store::Usage::PermissionsBoundary),
                Some(other) => {
                    return Err(enum_error(
                        "policyUsageFilter",
                        other,
                        "[PermissionsPolicy, PermissionsBoundary]",
                    ));
                }
            };
            let only_attached = boolean(&params, "OnlyAttached")?;
            let all = store
                .list_policies(
                    account,
                    scope,
                    only_attached,
                    params.get("PathPrefix"),
                    usage,
                )
                .await?;
            let page = crate::page::page(&all, params.get("Marker"), params.get("MaxItems"))?;
            // Listing leaves out tags (as AWS documents).
            out.list("Policies", page.items, |e, p| policy_element(e, p, false));
            page.write(&mut out);
        }
        (Service::Iam, "CreatePolicyVersion") => {
            let arn = required(&params, "PolicyArn")?;
            let document = required(&params, "PolicyDocument")?;
            authorize(state, &caller, &iam("CreatePolicyVersion"), arn).await?;
            let v = store
                .create_policy_version(&actor, arn, document, boolean(&params, "SetAsDefault")?)
                .await?;
            out.child("PolicyVersion", |e| {
                e.text("VersionId", &v.version_id)
                    .boolean("IsDefaultVersion", v.is_default)
                    .time("CreateDate", v.created_at);
            });
        }
        (Service::Iam, "ListPolicyVersions") => {
            let arn = required(&params, "PolicyArn")?;
            authorize(state, &caller, &iam("ListPolicyVersions"), arn).await?;
            let all = store.list_policy_versions(account, arn).await?;
            let page = crate::page::page(&all, params.get("Marker"), params.get("MaxItems"))?;
            out.list("Versions", page.items, |e, v| {
                e.text("VersionId", &v.version_id)
                    .boolean("IsDefaultVersion", v.is_default)
                    .time("CreateDate", v.created_at);
            });
            page.write(&mut out);
        }
        (Service::Iam, "DeletePolicyVersion") => {
            let arn = required(&params, "PolicyArn")?;
            let vid = required(&params, "VersionId")?;
            authorize(state, &caller, &iam("DeletePolicyVersion"), arn).await?;
            store.delete_policy_version(&actor, arn, vid).await?;
            return Ok((action, None));
        }
        (Service::Iam, "SetDefaultPolicyVersion") => {
            let arn = required(&params, "PolicyArn")?;
            let vid = required(&params, "VersionId")?;
            authorize(state, &caller, &iam("SetDefaultPolicyVersion"), arn).await?;
            store.set_default_policy_version(&actor, arn, vid).await?;
            return Ok((action, None));
        }
        (Service::Iam, "DeletePolicy") => {
            let arn = required(&params, "PolicyArn")?;
            authorize(state, &caller, &iam("DeletePolicy"), arn).await?;
            store.delete_policy(&actor, arn).await?;
            return Ok((action, None));
        }
        (Service::Iam, "CreateServiceLinkedRole") => {
            let service_name = required(&params, "AWSServiceName")?;
            authorize(
                state,
                &caller,
                &iam("CreateServiceLinkedRole"),
                &format!("arn:aws:iam::{account}:role/aws-service-role/{service_name}/"),
            )
            .await?;
            let r = store
                .create_service_linked_role(
                    &actor,
                    service_name,
                    params.get("Description"),
                    params.get("CustomSuffix"),
                )
                .await?;
            out.child("Role", |e| {
                e.text("Path", &r.path)
                    .text("RoleName", &r.name)
                    .text("RoleId", &r.id)
                    .text("Arn", &r.arn)
                    .time("CreateDate", r.created_at)
                    .document("AssumeRolePolicyDocument", &r.trust_policy)
                    .opt("Description", r.description.as_deref());
            });
        }
        (Service::Iam, "CreateRole") => {
            let name = required(&params, "RoleName")?;
            let trust = required(&params, "AssumeRolePolicyDocument")?;
            let path = params.get("Path");
            authorize(
                state,
                &caller,
                &iam("CreateRole"),
                &format!("arn:aws:iam::{account}:role{}{name}", path.unwrap_or("/")),
            )
            .await?;
            let max = integer(&params, "MaxSessionDuration")?;
            let r = store
                .create_role(
                    &actor,
                    name,
                    path,
                    trust,
                    params.get("Description"),
                    max,
                    params.get("PermissionsBoundary"),
                    &[],
                )
                .await?;
            out.child("Role", |e| role_element(e, &r, false));
        }
        (Service::Iam, "GetRole") => {
            let name = required(&params, "RoleName")?;
            authorize(
                state,
                &caller,
                &iam("GetRole"),
                &role_arn(name.to_string()).await,
            )
            .await?;
            let r = store.get_role(account, name).await?;
            out.child("Role", |e| role_element(e, &r, true));
        }
        (Service::Iam, "ListRoles") => {
            authorize(
                state,
                &caller,
                &iam("ListRoles"),
                &format!("arn:aws:iam::{account}:role/"),
            )
            .await?;
            let all = store.list_roles(account, params.get("PathPrefix")).await?;
            let page = crate::page::page(&all, params.get("Marker"), params.get("MaxItems"))?;
            // Listed roles carry MaxSessionDuration, but not the boundary, tags or last use.
            out.list("Roles", page.items, |e, r| {
                role_element(e, r, false);
                e.int("MaxSessionDuration", r.max_session_duration);
            });
            page.write(&mut out);
        }
        (Service::Iam, "DeleteRole") => {
            let name = required(&params, "RoleName")?;
            authorize(
                state,
                &caller,
                &iam("DeleteRole"),
                &role_arn(name.to_string()).await,
            )
            .await?;
            store.delete_role(&actor, name).await?;
            return Ok((action, None));
        }
        (Service::Iam, "UpdateAssumeRolePolicy") => {
            let name = required(&params, "RoleName")?;
            let trust = required(&params, "PolicyDocument")?;
            authorize(
                state,
                &caller,
                &iam("UpdateAssumeRolePolicy"),
                &role_arn(name.to_string()).await,
            )
            .await?;
            store.update_assume_role_policy(&actor, name, trust).await?;
            return Ok((action, None));
        }
        (Service::Iam, "PutUserPolicy") => {
            let name = required(&params, "UserName")?;
            let policy = required(&params, "PolicyName")?;
            let document = required(&params, "PolicyDocument")?;
            authorize(
                state,
                &caller,
                &iam("PutUserPolicy"),
                &user_arn(name.to_string()).await,
            )
            .await?;
            store
                .put_inline_policy(&actor, PrincipalKind::User, name, policy, document)
                .await?;
            return Ok((action, None));
        }
        (Service::Iam, "GetUserPolicy") => {
            let name = required(&params, "UserName")?;
            let policy = required(&params, "PolicyName")?;
            authorize(
                state,
                &caller,
                &iam("GetUserPolicy"),
                &user_arn(name.to_string()).await,
            )
            .await?;
            let (user, document) = store
                .get_inline_policy(account, PrincipalKind::User, name, policy)
                .await?;
            out.text("UserName", &user)
                .text("PolicyName", policy)
                .document("PolicyDocument", &document);
        }
        (Service::Iam, "DeleteUserPolicy") => {
            let name = required(&params, "UserName")?;
            let policy = required(&params, "PolicyName")?;
            authorize(
                state,
                &caller,
                &iam("DeleteUserPolicy"),
                &user_arn(name.to_string()).await,
            )
            .await?;
            store
                .delete_inline_policy(&actor, PrincipalKind::User, name, policy)
                .await?;
            return Ok((action, None));
        }
        (Service::Iam, "ListUserPolicies") => {
            let name = required(&params, "UserName")?;
            authorize(
                state,
                &caller,
                &iam("ListUserPolicies"),
                &user_arn(name.to_string()).await,
            )
            .await?;
            let all = store
                .list_inline_policies(account, PrincipalKind::User, name)
                .await?;
            let page = crate::page::page(&all, params.get("Marker"), params.get("MaxItems"))?;
            out.strings("PolicyNames", page.items);
            page.write(&mut out);
        }
        (Service::Iam, "ListAccessKeys") => {
            let name = self_or_named(&params, &caller)?;
            authorize(
                state,
                &caller,
                &iam("ListAccessKeys"),
                &user_arn(name.clone()).await,
            )
            .await?;
            let all = store.list_access_keys(account, &name).await?;
            let page = crate::page::page(&all, params.get("Marker"), params.get("MaxItems"))?;
            out.list("AccessKeyMetadata", page.items, |e, k| {
                e.text("UserName", &k.user_name)
                    .text("AccessKeyId", &k.id)
                    .text("Status", &k.status)
                    .time("CreateDate", k.created_at);
            });
            page.write(&mut out);
        }
        (Service::Iam, "UpdateAccessKey") => {
            let name = self_or_named(&params, &caller)?;
            let id = required(&params, "AccessKeyId")?;
            let status = required(&params, "Status")?;
            authorize(
                state,
                &caller,
                &iam("UpdateAccessKey"),
                &user_arn(name.clone()).await,
            )
            .await?;
            store.update_access_key(&actor, &name, id, status).await?;
            return Ok((action, None));
        }
        (Service::Iam, "DeleteAccessKey") => {
            let name = self_or_named(&params, &caller)?;
            let id = required(&params, "AccessKeyId")?;
            authorize(
                state,
                &caller,
                &iam("DeleteAccessKey"),
                &user_arn(name.clone()).await,
            )
            .await?;
            store.delete_access_key(&actor, &name, id).await?;
            return Ok((action, None));
        }
        (Service::Iam, "SimulatePrincipalPolicy") => {
            let source = required(&params, "PolicySourceArn")?;
            authorize(state, &caller, &iam("SimulatePrincipalPolicy"), source).await?;
            simulate(state, account, source, &params, &mut out).await?;
        }
        (_, other) => {
            let version = params.get("Version").unwrap_or("");
            return Err(Failure::new(
                400,
                "InvalidAction",
                format!("Could not find operation {other} for version {version}"),
            ));
        }
    }
    Ok((action, Some(out)))
}

fn user_element(e: &mut Element, u: &gatehouse_store::User) {
    e.text("Path", &u.path)
        .text("UserName", &u.name)
        .text("UserId", &u.id)
        .text("Arn", &u.arn)
        .time("CreateDate", u.created_at);
    if let Some(b) = &u.permissions_boundary {
        e.child("PermissionsBoundary", |p| {
            p.text("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                .text("PermissionsBoundaryArn", b);
        });
    }
}

/// A user's or role's ARN, with its path, for authorization; one that does not exist (yet, or
/// at all) is named as at the root path.
async fn principal_arn(
    store: &Store,
    account: &str,
    kind: PrincipalKind,
    name: impl AsRef<str>,
) -> String {
    let name = name.as_ref();
    let found = match kind {
        PrincipalKind::Role => store.get_role(account, name).await.map(|r| r.arn),
        _ => store.get_user(account, name).await.map(|u| u.arn),
    };
    found.unwrap_or_else(|_| {
        let k = if kind == PrincipalKind::Role {
            "role"
        } else {
            "user"
        };
        format!("arn:aws:iam::{account}:{k}/{name}")
    })
}

/// The principal kind an attachment operation is about (`AttachRolePolicy` -> role).
fn kind_of(action: &str) -> PrincipalKind {
    if action.contains("Role") {
        PrincipalKind::Role
    } else {
        PrincipalKind::User
    }
}

/// The parameter that names a principal of a kind.
fn name_param(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Role => "RoleName",
        _ => "UserName",
    }
}

/// `UserName`, or the calling user's own name when it is absent.
fn self_or_named(params: &Params, caller: &Caller) -> Result<String, Failure> {
    match (params.get("UserName"), &caller.user) {
        (Some(n), _) => Ok(n.to_string()),
        (None, Some(me)) => Ok(me.clone()),
        (None, None) => Err(Failure::new(
            400,
            "ValidationError",
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

fn integer(params: &Params, name: &str) -> Result<Option<i64>, Failure> {
    params
        .get(name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                Failure::new(
                    400,
                    "ValidationError",
                    format!("1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must be a number", lower_camel(name)),
                )
            })
        })
        .transpose()
}

/// A role as GetRole answers (`full`), or as CreateRole and ListRoles do.
fn role_element(e: &mut Element, r: &gatehouse_store::Role, full: bool) {
    e.text("Path", &r.path)
        .text("RoleName", &r.name)
        .text("RoleId", &r.id)
        .text("Arn", &r.arn)
        .time("CreateDate", r.created_at)
        .document("AssumeRolePolicyDocument", &r.trust_policy)
        .opt("Description", r.description.as_deref());
    if full {
        e.int("MaxSessionDuration", r.max_session_duration);
        if let Some(b) = &r.permissions_boundary {
            e.child("PermissionsBoundary", |p| {
                p.text("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                    .text("PermissionsBoundaryArn", b);
            });
        }
        e.list("Tags", &r.tags, |t, tag| {
            t.text("Key", &tag.key).text("Value", &tag.value);
        });
        e.child("RoleLastUsed", |_| {});
    }
}

fn enum_error(field: &str, value: &str, set: &str) -> Failure {
    Failure::new(
        400,
        "ValidationError",
        format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: {set}"
        ),
    )
}

fn boolean(params: &Params, name: &str) -> Result<bool, Failure> {
    match params.get(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Failure::new(
            400,
            "ValidationError",
            format!(
                "1 validation error detected: Value '{other}' at '{}' failed to satisfy constraint: Member must be true or false",
                lower_camel(name)
            ),
        )),
    }
}

fn policy_element(e: &mut Element, p: &gatehouse_store::ManagedPolicy, with_tags: bool) {
    e.text("PolicyName", &p.name)
        .text("PolicyId", &p.id)
        .text("Arn", &p.arn)
        .text("Path", &p.path)
        .text("DefaultVersionId", &p.default_version_id)
        .int("AttachmentCount", p.attachment_count)
        .int("PermissionsBoundaryUsageCount", p.boundary_usage_count)
        .boolean("IsAttachable", p.is_attachable)
        .opt("Description", p.description.as_deref())
        .time("CreateDate", p.created_at)
        .time("UpdateDate", p.updated_at);
    if with_tags {
        e.list("Tags", &p.tags, |t, tag| {
            t.text("Key", &tag.key).text("Value", &tag.value);
        });
    }
}

impl From<crate::page::PageError> for Failure {
    fn from(e: crate::page::PageError) -> Failure {
        Failure::new(400, "ValidationError", e.0)
    }
}

/// SimulatePrincipalPolicy: the principal's effective policies (and any `PolicyInputList`),
/// each action on each resource, decided and explained by the engine.
async fn simulate(
    state: &AppState,
    account: &str,
    source: &str,
    params: &Params,
    out: &mut Element,
) -> Result<(), Failure> {
    let invalid = || Failure::new(400, "InvalidInput", format!("Invalid ARN: {source}"));
    let resource = source.split(':').nth(5).ok_or_else(invalid)?;
    let (kind, name) = match resource.split_once('/') {
        Some(("user", rest)) => (PrincipalKind::User, rest.rsplit('/').next().unwrap_or(rest)),
        Some(("role", rest)) => (PrincipalKind::Role, rest.rsplit('/').next().unwrap_or(rest)),
        _ => return Err(invalid()),
    };
    let effective = state.store.effective_policies(account, kind, name).await?;
    let mut identity: Vec<std::sync::Arc<gatehouse_engine::CompiledPolicy>> =
        effective.identity.policies().to_vec();
    for (i, doc) in params
        .list("PolicyInputList")
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let policy = gatehouse_policy::parse_policy(doc).map_err(|_| {
            Failure::new(400, "MalformedPolicyDocument", "Syntax errors in policy.")
        })?;
        identity.push(std::sync::Arc::new(
            gatehouse_engine::CompiledPolicy::compile(
                &format!("PolicyInputList.{}", i + 1),
                None,
                &policy,
            ),
        ));
    }
    let identity = gatehouse_engine::PolicySet::new(identity);
    let layers = Layers {
        identity: Some(&identity),
        boundary: effective.boundary.as_ref(),
        ..Layers::default()
    };
    let mut context = Context::new();
    let names = params.list_field("ContextEntries", "ContextKeyName");
    for (n, key) in &names {
        let values = params
            .list(&format!("ContextEntries.member.{n}.ContextKeyValues"))
            .unwrap_or_default();
        let list_type = params
            .get(&format!("ContextEntries.member.{n}.ContextKeyType"))
            .is_some_and(|t| t.ends_with("List"));
        if list_type || values.len() > 1 {
            context.set_multi(key, values.iter().copied());
        } else if let Some(v) = values.first() {
            context.set(key, *v);
        }
    }
    let actions = params.list("ActionNames").unwrap_or_default();
    if actions.is_empty() {
        return Err(Failure::new(
            400,
            "ValidationError",
            "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null",
        ));
    }
    let resources = params
        .list("ResourceArns")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| vec!["*"]);
    let principal = RequestPrincipal::parse(&effective.arn)
        .map_err(|e| Failure::new(400, "InvalidInput", e.to_string()))?
        .with_id(&effective.id);
    let mut results = Vec::new();
    for action in &actions {
        for resource in &resources {
            let request = Request::new(principal.clone(), action, Some(resource), context.clone())
                .with_boundary(effective.boundary.is_some());
            let x = gatehouse_engine::explain(&layers, &request);
            results.push((action.to_string(), resource.to_string(), x));
        }
    }
    out.list("EvaluationResults", &results, |e, (action, resource, x)| {
        let decision = match x.decision {
            DecisionKind::Allow => "allowed",
            DecisionKind::ExplicitDeny => "explicitDeny",
            DecisionKind::ImplicitDeny => "implicitDeny",
        };
        e.text("EvalActionName", action)
            .text("EvalResourceName", resource)
            .text("EvalDecision", decision)
            .list("MatchedStatements", &x.determining, |m, st| {
                m.text("SourcePolicyId", &st.policy).text(
                    "SourcePolicyType",
                    if st.policy.starts_with("PolicyInputList.") {
                        "none"
                    } else {
                        "IAM Policy"
                    },
                );
            })
            .strings("MissingContextValues", &x.missing_context);
    });
    out.boolean("IsTruncated", false);
    Ok(())
}
