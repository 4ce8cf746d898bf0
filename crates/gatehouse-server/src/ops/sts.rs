//! STS: GetCallerIdentity and AssumeRole.

use std::sync::Arc;

use gatehouse_engine::{CompiledPolicy, DecisionKind, Layers, PolicySet, Request, decide};
use gatehouse_policy::{Mode, PolicyKind, ValidateOptions, parse_policy, validate};
use gatehouse_store::{NewSession, Tag};

use super::{Call, Reply, validation};
use crate::app::{Failure, caller_policies};
use crate::xml::Element;

/// The largest session policy (plain text) and the number of managed session policies.
const MAX_SESSION_POLICY: usize = 2048;
const MAX_POLICY_ARNS: usize = 10;
/// Role chaining limits a session to an hour.
const CHAINED_MAX: i64 = 3600;

/// GetCallerIdentity needs no permission (an explicit Deny does not block it).
pub(crate) fn get_caller_identity(call: &Call<'_>) -> Reply {
    let mut out = Element::new();
    out.text("Arn", &call.caller.arn)
        .text("UserId", &call.caller.id)
        .text("Account", call.account());
    Ok(Some(out))
}

fn sts_validation(value: &str, field: &str, constraint: &str) -> Failure {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

fn invalid_parameter(message: &str) -> Failure {
    Failure::new(400, "InvalidParameterValue", message)
}

/// `[\w+=,.@-]*` between `min` and `max` characters, as STS checks names.
fn check_name(value: &str, field: &str, min: usize, max: usize) -> Result<(), Failure> {
    let n = value.chars().count();
    if n < min {
        return Err(sts_validation(
            value,
            field,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(sts_validation(
            value,
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@-".contains(c))
    {
        return Err(sts_validation(
            value,
            field,
            r"Member must satisfy regular expression pattern: [\w+=,.@-]*",
        ));
    }
    Ok(())
}

/// The role named by `RoleArn`: (account, name).
fn role_of(arn: &str) -> Result<(&str, &str), Failure> {
    let invalid = || validation(format!("{arn} is invalid"));
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    let name = resource
        .strip_prefix("role/")
        .and_then(|r| r.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(invalid)?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    Ok((account, name))
}

fn session_tags(call: &Call<'_>) -> Result<(Vec<Tag>, Vec<String>), Failure> {
    let tags = call.tags("Tags")?;
    if tags.len() > 50 {
        return Err(validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
        ));
    }
    for (i, t) in tags.iter().enumerate() {
        let n = i + 1;
        let ok = |s: &str| {
            s.chars()
                .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
        };
        if t.key.is_empty() || t.key.chars().count() > 128 || !ok(&t.key) {
            return Err(sts_validation(
                &t.key,
                &format!("tags.{n}.member.key"),
                "Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
            ));
        }
        if t.value.chars().count() > 256 || !ok(&t.value) {
            return Err(sts_validation(
                &t.value,
                &format!("tags.{n}.member.value"),
                "Member must have length less than or equal to 256 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
            ));
        }
    }
    for (i, t) in tags.iter().enumerate() {
        if tags
            .iter()
            .skip(i + 1)
            .any(|o| o.key.to_lowercase() == t.key.to_lowercase())
        {
            return Err(invalid_parameter(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    let transitive: Vec<String> = call
        .params
        .list("TransitiveTagKeys")
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    if transitive
        .iter()
        .any(|k| !tags.iter().any(|t| t.key.eq_ignore_ascii_case(k)))
    {
        return Err(invalid_parameter(
            "The specified transitive tag key must be included in the requested tags.",
        ));
    }
    Ok((tags, transitive))
}

/// AssumeRole: the role's trust policy (with the caller's identity policies, for grants to
/// the account) must allow `sts:AssumeRole` (and `sts:TagSession` with tags,
/// `sts:SetSourceIdentity` with a source identity); the session gets temporary credentials,
/// narrowed by any session policies.
pub(crate) async fn assume_role(call: &Call<'_>) -> Reply {
    let role_arn = call.required("RoleArn")?;
    let session_name = call.required("RoleSessionName")?;
    if role_arn.chars().count() < 20 {
        return Err(sts_validation(
            role_arn,
            "roleArn",
            "Member must have length greater than or equal to 20",
        ));
    }
    check_name(session_name, "roleSessionName", 2, 64)?;
    let (role_account, role_name) = role_of(role_arn)?;
    let duration = call.integer("DurationSeconds")?.unwrap_or(3600);
    if duration < 900 {
        return Err(sts_validation(
            &duration.to_string(),
            "durationSeconds",
            "Member must have value greater than or equal to 900",
        ));
    }
    if duration > 43200 {
        return Err(sts_validation(
            &duration.to_string(),
            "durationSeconds",
            "Member must have value less than or equal to 43200",
        ));
    }
    let source_identity = call.get("SourceIdentity");
    if let Some(s) = source_identity {
        check_name(s, "sourceIdentity", 2, 256)?;
    }
    if let Some(e) = call.get("ExternalId") {
        let n = e.chars().count();
        if !(2..=1224).contains(&n) {
            return Err(sts_validation(
                e,
                "externalId",
                "Member must have length between 2 and 1224",
            ));
        }
    }
    let (tags, transitive) = session_tags(call)?;
    // Session policies: the inline one is validated as an identity policy.
    let policy = call.get("Policy");
    if let Some(p) = policy {
        if p.chars().count() > MAX_SESSION_POLICY {
            return Err(validation(format!(
                "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to {MAX_SESSION_POLICY}"
            )));
        }
        if let Err(diags) = validate(
            p,
            &ValidateOptions::new(PolicyKind::Identity, Mode::Customer),
        ) {
            let message = diags.first().map_or_else(
                || "Syntax errors in policy.".to_string(),
                |d| d.message.clone(),
            );
            return Err(Failure::new(400, "MalformedPolicyDocument", message));
        }
    }
    let policy_arns: Vec<String> = call
        .params
        .list_field("PolicyArns", "arn")
        .into_values()
        .map(str::to_string)
        .collect();
    if policy_arns.len() > MAX_POLICY_ARNS {
        return Err(validation(format!(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )));
    }
    if call.caller.user.is_none() && call.caller.session.is_none() {
        return Err(Failure::new(
            403,
            "AccessDenied",
            "Roles may not be assumed by root accounts.",
        ));
    }
    let denied = || {
        Failure::new(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                call.caller.arn
            ),
        )
    };
    let store = call.store();
    // An unknown role is denied the same way (AWS does not reveal which roles exist).
    let role = store
        .get_role(role_account, role_name)
        .await
        .map_err(|_| denied())?;
    if role.arn != role_arn && !role_arn.ends_with(&format!("role/{role_name}")) {
        return Err(denied());
    }
    let trust = parse_policy(&role.trust_policy).map_err(|_| denied())?;
    let trust = PolicySet::new([Arc::new(CompiledPolicy::compile("trust", None, &trust))]);
    let (effective, session_set, principal) = caller_policies(call.state, call.caller).await?;
    let mut context = gatehouse_engine::Context::new();
    context.set("sts:RoleSessionName", session_name);
    if let Some(e) = call.get("ExternalId") {
        context.set("sts:ExternalId", e);
    }
    if let Some(s) = source_identity {
        context.set("sts:SourceIdentity", s);
    }
    for t in &tags {
        context.set(&format!("aws:RequestTag/{}", t.key), t.value.as_str());
    }
    if !tags.is_empty() {
        context.set_multi("aws:TagKeys", tags.iter().map(|t| t.key.as_str()));
    }
    let mut actions = vec!["sts:AssumeRole"];
    if !tags.is_empty() {
        actions.push("sts:TagSession");
    }
    if source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    let layers = Layers {
        identity: effective.as_ref().map(|e| &e.identity),
        boundary: effective.as_ref().and_then(|e| e.boundary.as_ref()),
        session: session_set.as_deref(),
        resource: Some(&trust),
        resource_is_trust: true,
        ..Layers::default()
    };
    for action in actions {
        let mut request = Request::new(principal.clone(), action, Some(&role.arn), context.clone())
            .with_boundary(layers.boundary.is_some());
        if let Some(e) = &effective {
            request = request
                .with_principal_tags(crate::app::caller_tags(e, call.caller.session.as_deref()));
        }
        if decide(&layers, &request).kind != DecisionKind::Allow {
            return Err(denied());
        }
    }
    let max = if call.caller.session.is_some() {
        CHAINED_MAX
    } else {
        role.max_session_duration
    };
    if duration > max {
        return Err(validation(if call.caller.session.is_some() {
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        } else {
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        }));
    }
    for arn in &policy_arns {
        if let Err(e) = store.default_document(role_account, arn).await {
            return Err(Failure::new(
                400,
                "InvalidParameterValue",
                format!(
                    "Policy {arn} does not exist or is not attachable: {}",
                    e.message
                ),
            ));
        }
    }
    // PackedPolicySize: the session policies and tags as a percentage of what a session can
    // carry (AWS does not publish its packing; this is proportional to their plain size).
    let packed_bytes = policy.map_or(0, |p| p.chars().filter(|c| !c.is_whitespace()).count())
        + policy_arns.iter().map(String::len).sum::<usize>()
        + tags
            .iter()
            .map(|t| t.key.len() + t.value.len())
            .sum::<usize>();
    let packed = (packed_bytes * 100).div_ceil(MAX_SESSION_POLICY);
    if packed > 100 {
        return Err(Failure::new(
            400,
            "PackedPolicyTooLarge",
            format!("Packed size of consumed sessionPolicy exceeds 100% of limit: {packed}%"),
        ));
    }
    let session = store
        .create_session(&NewSession {
            account: role_account.to_string(),
            role_name: role.name.clone(),
            role_arn: role.arn.clone(),
            role_id: role.id.clone(),
            session_name: session_name.to_string(),
            duration_seconds: duration,
            policy: policy.map(str::to_string),
            policy_arns: policy_arns.clone(),
            tags: tags.clone(),
            transitive_tag_keys: transitive,
            source_identity: source_identity.map(str::to_string),
        })
        .await?;
    let mut out = Element::new();
    out.child("Credentials", |c| {
        c.text("AccessKeyId", &session.access_key_id)
            .text("SecretAccessKey", &session.secret)
            .text("SessionToken", &session.token)
            .time("Expiration", session.expires_at);
    })
    .child("AssumedRoleUser", |u| {
        u.text("AssumedRoleId", &session.assumed_role_id)
            .text("Arn", &session.arn);
    });
    if policy.is_some() || !policy_arns.is_empty() || !tags.is_empty() {
        out.int("PackedPolicySize", i64::try_from(packed).unwrap_or(100));
    }
    out.opt("SourceIdentity", source_identity);
    Ok(Some(out))
}
