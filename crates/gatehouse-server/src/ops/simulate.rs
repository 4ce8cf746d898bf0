//! The policy simulator: SimulatePrincipalPolicy (a principal's effective policies, plus any
//! given) and SimulateCustomPolicy (only the given policies). Every action is decided on
//! every resource by the engine and explained: the matched statements, with their positions
//! in the text when the text is at hand, and the context keys the request lacked.

use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_engine::{
    CompiledPolicy, Context, DecisionKind, Explanation, LayerKind, Layers, PolicySet, Request,
    RequestPrincipal, explain,
};
use gatehouse_policy::{LineIndex, Location, parse_policy};
use gatehouse_store::{PrincipalKind, Store};

use super::{Call, Reply, enum_error, null_error};
use crate::app::Failure;
use crate::xml::Element;

/// Documents given in a list parameter, compiled under the names `LIST.N`; their texts are
/// kept for statement positions.
fn given(
    call: &Call<'_>,
    list: &str,
    texts: &mut HashMap<String, String>,
) -> Result<Vec<Arc<CompiledPolicy>>, Failure> {
    let mut out = Vec::new();
    for (i, doc) in call
        .params
        .list(list)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let name = format!("{list}.{}", i + 1);
        out.push(compile_text(&name, doc)?);
        texts.insert(name, doc.to_string());
    }
    Ok(out)
}

pub(crate) fn compile_text(name: &str, doc: &str) -> Result<Arc<CompiledPolicy>, Failure> {
    let policy = parse_policy(doc)
        .map_err(|_| Failure::new(400, "MalformedPolicyDocument", "Syntax errors in policy."))?;
    Ok(Arc::new(CompiledPolicy::compile(name, None, &policy)))
}

/// The context entries, typed as their `ContextKeyType` says (values travel as strings).
fn context(call: &Call<'_>) -> Result<Context, Failure> {
    const TYPES: &str = "[string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList]";
    let mut context = Context::new();
    for (n, key) in call.params.list_field("ContextEntries", "ContextKeyName") {
        let values = call
            .params
            .list(&format!("ContextEntries.member.{n}.ContextKeyValues"))
            .unwrap_or_default();
        let kind = call.get(&format!("ContextEntries.member.{n}.ContextKeyType"));
        let list = match kind {
            None => values.len() > 1,
            Some(
                t @ ("string" | "numeric" | "boolean" | "ip" | "binary" | "date" | "stringList"
                | "numericList" | "booleanList" | "ipList" | "binaryList" | "dateList"),
            ) => t.ends_with("List"),
            Some(other) => {
                return Err(enum_error(
                    &format!("contextEntries.{n}.member.contextKeyType"),
                    other,
                    TYPES,
                ));
            }
        };
        if list {
            context.set_multi(key, values.iter().copied());
        } else if let Some(v) = values.first() {
            context.set(key, *v);
        }
    }
    Ok(context)
}

/// The policies a simulation adds to the identity set and the boundary, its resource policy,
/// and the texts of all of them.
struct Given {
    identity: Vec<Arc<CompiledPolicy>>,
    boundary: Vec<Arc<CompiledPolicy>>,
    resource: Option<PolicySet>,
    texts: HashMap<String, String>,
}

fn given_policies(call: &Call<'_>) -> Result<Given, Failure> {
    let mut texts = HashMap::new();
    let identity = given(call, "PolicyInputList", &mut texts)?;
    let boundary = given(call, "PermissionsBoundaryPolicyInputList", &mut texts)?;
    let resource = match call.get("ResourcePolicy") {
        Some(doc) => {
            texts.insert("ResourcePolicy".into(), doc.to_string());
            Some(PolicySet::new([compile_text("ResourcePolicy", doc)?]))
        }
        None => None,
    };
    Ok(Given {
        identity,
        boundary,
        resource,
        texts,
    })
}

/// A user's, group's or role's policies, compiled, as the simulator decides with them.
pub(crate) struct Subject {
    /// The principal the requests are made as (for a group, a placeholder member).
    pub(crate) arn: String,
    /// Its unique ID.
    pub(crate) id: String,
    /// Its identity policies (a user's groups' included).
    pub(crate) identity: Vec<Arc<CompiledPolicy>>,
    /// Its permissions boundary.
    pub(crate) boundary: Option<Vec<Arc<CompiledPolicy>>>,
    /// Its tags.
    pub(crate) tags: Vec<(String, String)>,
}

/// The kind and name a user's, group's or role's ARN names.
pub(crate) fn principal_of_arn(arn: &str) -> Option<(PrincipalKind, &str)> {
    let resource = arn.split(':').nth(5)?;
    let (kind, rest) = resource.split_once('/')?;
    let name = rest.rsplit('/').next().unwrap_or(rest);
    if name.is_empty() {
        return None;
    }
    match kind {
        "user" => Some((PrincipalKind::User, name)),
        "role" => Some((PrincipalKind::Role, name)),
        "group" => Some((PrincipalKind::Group, name)),
        _ => None,
    }
}

/// The policies a principal is simulated with.
pub(crate) async fn subject(
    store: &Store,
    account: &str,
    kind: PrincipalKind,
    name: &str,
) -> Result<Subject, Failure> {
    if kind == PrincipalKind::Group {
        // A group is simulated as a member of it would be, with only the group's policies.
        let (g, _) = store.get_group(account, name).await?;
        let mut policies = Vec::new();
        for (policy, arn) in store
            .list_attached_policies(account, kind, name, None)
            .await?
        {
            let (_, doc) = store.default_document(account, &arn).await?;
            policies.push(compile_text(&policy, &doc)?);
        }
        for policy in store.list_inline_policies(account, kind, name).await? {
            let (_, doc) = store
                .get_inline_policy(account, kind, name, &policy)
                .await?;
            policies.push(compile_text(&policy, &doc)?);
        }
        return Ok(Subject {
            arn: format!("arn:aws:iam::{account}:user/simulated-member-of-{}", g.name),
            id: g.id,
            identity: policies,
            boundary: None,
            tags: Vec::new(),
        });
    }
    let effective = store.effective_policies(account, kind, name).await?;
    Ok(Subject {
        arn: effective.arn.clone(),
        id: effective.id.clone(),
        identity: effective.identity.policies().to_vec(),
        boundary: effective.boundary.as_ref().map(|b| b.policies().to_vec()),
        tags: effective.tags.clone(),
    })
}

pub(crate) async fn simulate_principal_policy(call: &Call<'_>) -> Reply {
    let source = call.required("PolicySourceArn")?;
    let actions = call.required_list("ActionNames")?;
    call.allow(source).await?;
    let (kind, name) = principal_of_arn(source)
        .ok_or_else(|| Failure::new(400, "InvalidInput", format!("Invalid ARN: {source}")))?;
    let account = call.account();
    let store = call.store();
    let mut given = given_policies(call)?;
    let Subject {
        arn,
        id,
        mut identity,
        boundary,
        tags,
    } = subject(store, account, kind, name).await?;
    principal_texts(store, account, kind, name, &mut given.texts).await;
    identity.extend(given.identity.iter().cloned());
    let boundary = match (boundary, given.boundary.is_empty()) {
        (None, true) => None,
        (b, _) => Some(PolicySet::new(
            b.unwrap_or_default()
                .into_iter()
                .chain(given.boundary.iter().cloned()),
        )),
    };
    let identity = PolicySet::new(identity);
    let principal = RequestPrincipal::parse(&arn)
        .map_err(|e| Failure::new(400, "InvalidInput", e.to_string()))?
        .with_id(&id);
    run(
        call,
        &actions,
        &principal,
        &identity,
        boundary.as_ref(),
        &given,
        &tags,
    )
}

pub(crate) async fn simulate_custom_policy(call: &Call<'_>) -> Reply {
    let inputs = call.required_list("PolicyInputList")?;
    if inputs.is_empty() {
        return Err(null_error("PolicyInputList"));
    }
    let actions = call.required_list("ActionNames")?;
    call.allow("*").await?;
    let given = given_policies(call)?;
    let identity = PolicySet::new(given.identity.iter().cloned());
    let boundary =
        (!given.boundary.is_empty()).then(|| PolicySet::new(given.boundary.iter().cloned()));
    // The given policies are simulated as identity policies of an IAM user: the caller's own
    // ARN, or CallerArn; a root caller is simulated as a user of its account (the root user's
    // implicit allow would hide what the policies decide).
    let placeholder = format!("arn:aws:iam::{}:user/simulated-caller", call.account());
    let caller = match call.get("CallerArn") {
        Some(arn) => arn,
        None if call.caller.user.is_some() || call.caller.session.is_some() => &call.caller.arn,
        None => &placeholder,
    };
    let principal = RequestPrincipal::parse(caller).map_err(|e| {
        Failure::new(
            400,
            "InvalidInput",
            format!("Invalid CallerArn {caller}: {e}"),
        )
    })?;
    run(
        call,
        &actions,
        &principal,
        &identity,
        boundary.as_ref(),
        &given,
        &[],
    )
}

/// The texts of a principal's attached and inline policies (and a user's groups'), for the
/// positions of matched statements. Best effort: a policy whose text cannot be read gets no
/// positions.
pub(crate) async fn principal_texts(
    store: &Store,
    account: &str,
    kind: PrincipalKind,
    name: &str,
    texts: &mut HashMap<String, String>,
) {
    let mut owners = vec![(kind, name.to_string())];
    if kind == PrincipalKind::User
        && let Ok(groups) = store.list_groups_for_user(account, name).await
    {
        owners.extend(groups.into_iter().map(|g| (PrincipalKind::Group, g.name)));
    }
    for (kind, owner) in owners {
        if let Ok(attached) = store
            .list_attached_policies(account, kind, &owner, None)
            .await
        {
            for (policy, arn) in attached {
                if let Ok((_, doc)) = store.default_document(account, &arn).await {
                    texts.insert(policy, doc);
                }
            }
        }
        if let Ok(inline) = store.list_inline_policies(account, kind, &owner).await {
            for policy in inline {
                if let Ok((_, doc)) = store
                    .get_inline_policy(account, kind, &owner, &policy)
                    .await
                {
                    texts.insert(policy, doc);
                }
            }
        }
    }
}

/// The start and end of statement `index` in a policy text.
pub(crate) fn statement_position(text: &str, index: usize) -> Option<(Location, Location)> {
    let policy = parse_policy(text).ok()?;
    let statement = policy.statements.iter().nth(index)?;
    let lines = LineIndex::new(text);
    Some((
        lines.locate(statement.span.start),
        lines.locate(statement.span.end),
    ))
}

fn run(
    call: &Call<'_>,
    actions: &[&str],
    principal: &RequestPrincipal,
    identity: &PolicySet,
    boundary: Option<&PolicySet>,
    given: &Given,
    tags: &[(String, String)],
) -> Reply {
    if actions.is_empty() {
        return Err(null_error("ActionNames"));
    }
    let context = context(call)?;
    let resources = call
        .params
        .list("ResourceArns")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| vec!["*"]);
    let layers = Layers {
        identity: Some(identity),
        boundary,
        resource: given.resource.as_ref(),
        ..Layers::default()
    };
    let owner = call.get("ResourceOwner").and_then(|o| o.split(':').nth(4));
    let results = explain_all(
        &layers, actions, &resources, principal, &context, tags, owner,
    );
    let page = call.page(&results)?;
    let mut out = Element::new();
    out.list(
        "EvaluationResults",
        page.items,
        |e, (action, resource, x)| {
            let decision = match x.decision {
                DecisionKind::Allow => "allowed",
                DecisionKind::ExplicitDeny => "explicitDeny",
                DecisionKind::ImplicitDeny => "implicitDeny",
            };
            e.text("EvalActionName", action)
                .text("EvalResourceName", resource)
                .text("EvalDecision", decision)
                .list("MatchedStatements", &x.determining, |m, st| {
                    let kind = match st.layer.kind {
                        LayerKind::Resource => "resource",
                        _ if st.policy.contains("PolicyInputList.") => "none",
                        _ => "IAM Policy",
                    };
                    m.text("SourcePolicyId", &st.policy)
                        .text("SourcePolicyType", kind);
                    if let Some((start, end)) = given
                        .texts
                        .get(&st.policy)
                        .and_then(|t| statement_position(t, st.index))
                    {
                        m.child("StartPosition", |p| {
                            p.int("Line", start.line.into())
                                .int("Column", start.column.into());
                        })
                        .child("EndPosition", |p| {
                            p.int("Line", end.line.into())
                                .int("Column", end.column.into());
                        });
                    }
                })
                .strings("MissingContextValues", &x.missing_context);
            if boundary.is_some() {
                let allowed = x
                    .layers
                    .iter()
                    .find(|l| l.layer.kind == LayerKind::Boundary)
                    .is_none_or(|l| l.outcome == gatehouse_engine::LayerOutcome::Allow);
                e.child("PermissionsBoundaryDecisionDetail", |d| {
                    d.boolean("AllowedByPermissionsBoundary", allowed);
                });
            }
        },
    );
    page.write(&mut out);
    Ok(Some(out))
}

/// Every action decided and explained on every resource.
pub(crate) fn explain_all<'a>(
    layers: &Layers<'_>,
    actions: &[&'a str],
    resources: &[&'a str],
    principal: &RequestPrincipal,
    context: &Context,
    tags: &[(String, String)],
    resource_owner: Option<&str>,
) -> Vec<(&'a str, &'a str, Explanation)> {
    let mut results = Vec::with_capacity(actions.len() * resources.len());
    for action in actions {
        for resource in resources {
            let mut request =
                Request::new(principal.clone(), action, Some(resource), context.clone())
                    .with_boundary(layers.boundary.is_some())
                    .with_principal_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if let Some(o) = resource_owner {
                request = request.with_resource_account(o);
            }
            results.push((*action, *resource, explain(layers, &request)));
        }
    }
    results
}
