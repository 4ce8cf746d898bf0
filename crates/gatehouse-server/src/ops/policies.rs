//! Managed policies and their versions, attachments, inline policies, tags and the account
//! snapshot (GetAccountAuthorizationDetails).

use gatehouse_store::{ManagedPolicy, PrincipalKind, Scope, TagOn, Usage};

use super::{Call, Reply, boundary_element, enum_error, kind_of, name_param, tags_element};
use crate::app::Failure;
use crate::xml::Element;

fn policy_element(e: &mut Element, p: &ManagedPolicy, with_tags: bool) {
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
        tags_element(e, "Tags", &p.tags);
    }
}

fn usage(call: &Call<'_>) -> Result<Option<Usage>, Failure> {
    match call.get("PolicyUsageFilter") {
        None => Ok(None),
        Some("PermissionsPolicy") => Ok(Some(Usage::PermissionsPolicy)),
        Some("PermissionsBoundary") => Ok(Some(Usage::PermissionsBoundary)),
        Some(other) => Err(enum_error(
            "policyUsageFilter",
            other,
            "[PermissionsPolicy, PermissionsBoundary]",
        )),
    }
}

pub(crate) async fn create_policy(call: &Call<'_>) -> Reply {
    let name = call.required("PolicyName")?;
    let document = call.required("PolicyDocument")?;
    let path = call.get("Path");
    let tags = call.tags("Tags")?;
    call.allow(&format!(
        "arn:aws:iam::{}:policy{}{name}",
        call.account(),
        path.unwrap_or("/")
    ))
    .await?;
    let p = call
        .store()
        .create_policy(
            &call.actor,
            name,
            path,
            document,
            call.get("Description"),
            &tags,
        )
        .await?;
    let mut out = Element::new();
    out.child("Policy", |e| policy_element(e, &p, true));
    Ok(Some(out))
}

pub(crate) async fn get_policy(call: &Call<'_>) -> Reply {
    let arn = call.required("PolicyArn")?;
    call.allow(arn).await?;
    let p = call.store().get_policy(call.account(), arn).await?;
    let mut out = Element::new();
    out.child("Policy", |e| policy_element(e, &p, true));
    Ok(Some(out))
}

pub(crate) async fn list_policies(call: &Call<'_>) -> Reply {
    call.allow("*").await?;
    let scope = match call.get("Scope") {
        None | Some("All") => Scope::All,
        Some("AWS") => Scope::Provider,
        Some("Local") => Scope::Local,
        Some(other) => return Err(enum_error("scope", other, "[All, AWS, Local]")),
    };
    let all = call
        .store()
        .list_policies(
            call.account(),
            scope,
            call.boolean("OnlyAttached")?,
            call.get("PathPrefix"),
            usage(call)?,
        )
        .await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    // Listing leaves out tags (as AWS documents).
    out.list("Policies", page.items, |e, p| policy_element(e, p, false));
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn delete_policy(call: &Call<'_>) -> Reply {
    let arn = call.required("PolicyArn")?;
    call.allow(arn).await?;
    call.store().delete_policy(&call.actor, arn).await?;
    Ok(None)
}

pub(crate) async fn create_policy_version(call: &Call<'_>) -> Reply {
    let arn = call.required("PolicyArn")?;
    let document = call.required("PolicyDocument")?;
    let set_default = call.boolean("SetAsDefault")?;
    call.allow(arn).await?;
    let v = call
        .store()
        .create_policy_version(&call.actor, arn, document, set_default)
        .await?;
    let mut out = Element::new();
    out.child("PolicyVersion", |e| {
        e.text("VersionId", &v.version_id)
            .boolean("IsDefaultVersion", v.is_default)
            .time("CreateDate", v.created_at);
    });
    Ok(Some(out))
}

pub(crate) async fn get_policy_version(call: &Call<'_>) -> Reply {
    let arn = call.required("PolicyArn")?;
    let vid = call.required("VersionId")?;
    call.allow(arn).await?;
    let v = call
        .store()
        .get_policy_version(call.account(), arn, vid)
        .await?;
    let mut out = Element::new();
    out.child("PolicyVersion", |e| {
        if let Some(d) = &v.document {
            e.document("Document", d);
        }
        e.text("VersionId", &v.version_id)
            .boolean("IsDefaultVersion", v.is_default)
            .time("CreateDate", v.created_at);
    });
    Ok(Some(out))
}

pub(crate) async fn list_policy_versions(call: &Call<'_>) -> Reply {
    let arn = call.required("PolicyArn")?;
    call.allow(arn).await?;
    let all = call
        .store()
        .list_policy_versions(call.account(), arn)
        .await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    out.list("Versions", page.items, |e, v| {
        e.text("VersionId", &v.version_id)
            .boolean("IsDefaultVersion", v.is_default)
            .time("CreateDate", v.created_at);
    });
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn delete_policy_version(call: &Call<'_>) -> Reply {
    let arn = call.required("PolicyArn")?;
    let vid = call.required("VersionId")?;
    call.allow(arn).await?;
    call.store()
        .delete_policy_version(&call.actor, arn, vid)
        .await?;
    Ok(None)
}

pub(crate) async fn set_default_policy_version(call: &Call<'_>) -> Reply {
    let arn = call.required("PolicyArn")?;
    let vid = call.required("VersionId")?;
    call.allow(arn).await?;
    call.store()
        .set_default_policy_version(&call.actor, arn, vid)
        .await?;
    Ok(None)
}

/// Attach{User,Group,Role}Policy.
pub(crate) async fn attach(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    let arn = call.required("PolicyArn")?;
    call.allow_on(kind, name).await?;
    call.store()
        .attach_policy(&call.actor, kind, name, arn)
        .await?;
    Ok(None)
}

/// Detach{User,Group,Role}Policy.
pub(crate) async fn detach(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    let arn = call.required("PolicyArn")?;
    call.allow_on(kind, name).await?;
    call.store()
        .detach_policy(&call.actor, kind, name, arn)
        .await?;
    Ok(None)
}

/// ListAttached{User,Group,Role}Policies.
pub(crate) async fn list_attached(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    call.allow_on(kind, name).await?;
    let all = call
        .store()
        .list_attached_policies(call.account(), kind, name, call.get("PathPrefix"))
        .await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    out.list("AttachedPolicies", page.items, |e, (n, a)| {
        e.text("PolicyName", n).text("PolicyArn", a);
    });
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn list_entities_for_policy(call: &Call<'_>) -> Reply {
    let arn = call.required("PolicyArn")?;
    let filter = match call.get("EntityFilter") {
        None | Some("LocalManagedPolicy" | "AWSManagedPolicy") => None,
        Some("User") => Some(PrincipalKind::User),
        Some("Group") => Some(PrincipalKind::Group),
        Some("Role") => Some(PrincipalKind::Role),
        Some(other) => {
            return Err(enum_error(
                "entityFilter",
                other,
                "[User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]",
            ));
        }
    };
    call.allow(arn).await?;
    let found = call
        .store()
        .list_entities_for_policy(
            call.account(),
            arn,
            filter,
            call.get("PathPrefix"),
            usage(call)?,
        )
        .await?;
    // One page across the three lists, in the order users, groups, roles.
    let all: Vec<(PrincipalKind, &(String, String))> = found
        .users
        .iter()
        .map(|u| (PrincipalKind::User, u))
        .chain(found.groups.iter().map(|g| (PrincipalKind::Group, g)))
        .chain(found.roles.iter().map(|r| (PrincipalKind::Role, r)))
        .collect();
    let page = call.page(&all)?;
    let of = |kind: PrincipalKind| -> Vec<&(String, String)> {
        page.items
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, e)| *e)
            .collect()
    };
    let mut out = Element::new();
    out.list("PolicyGroups", &of(PrincipalKind::Group), |e, (n, id)| {
        e.text("GroupName", n).text("GroupId", id);
    })
    .list("PolicyUsers", &of(PrincipalKind::User), |e, (n, id)| {
        e.text("UserName", n).text("UserId", id);
    })
    .list("PolicyRoles", &of(PrincipalKind::Role), |e, (n, id)| {
        e.text("RoleName", n).text("RoleId", id);
    });
    page.write(&mut out);
    Ok(Some(out))
}

/// Put{User,Group,Role}Policy.
pub(crate) async fn put_inline(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    let policy = call.required("PolicyName")?;
    let document = call.required("PolicyDocument")?;
    call.allow_on(kind, name).await?;
    call.store()
        .put_inline_policy(&call.actor, kind, name, policy, document)
        .await?;
    Ok(None)
}

/// Get{User,Group,Role}Policy.
pub(crate) async fn get_inline(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let param = name_param(kind);
    let name = call.required(param)?;
    let policy = call.required("PolicyName")?;
    call.allow_on(kind, name).await?;
    let (principal, document) = call
        .store()
        .get_inline_policy(call.account(), kind, name, policy)
        .await?;
    let mut out = Element::new();
    out.text(param, &principal)
        .text("PolicyName", policy)
        .document("PolicyDocument", &document);
    Ok(Some(out))
}

/// Delete{User,Group,Role}Policy.
pub(crate) async fn delete_inline(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    let policy = call.required("PolicyName")?;
    call.allow_on(kind, name).await?;
    call.store()
        .delete_inline_policy(&call.actor, kind, name, policy)
        .await?;
    Ok(None)
}

/// List{User,Group,Role}Policies.
pub(crate) async fn list_inline(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    call.allow_on(kind, name).await?;
    let all = call
        .store()
        .list_inline_policies(call.account(), kind, name)
        .await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    out.strings("PolicyNames", page.items);
    page.write(&mut out);
    Ok(Some(out))
}

/// What a tag operation is on, authorized on its ARN.
async fn tag_target<'a>(call: &Call<'a>) -> Result<TagOn<'a>, Failure> {
    if call.action.ends_with("Policy") || call.action.ends_with("PolicyTags") {
        let arn = call.required("PolicyArn")?;
        call.allow(arn).await?;
        return Ok(TagOn::Policy(arn));
    }
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    call.allow_on(kind, name).await?;
    Ok(TagOn::Principal(kind, name))
}

/// Tag{User,Role,Policy}.
pub(crate) async fn tag(call: &Call<'_>) -> Reply {
    let tags = call.tags("Tags")?;
    if call.params.list_field("Tags", "Key").is_empty() && call.get("Tags").is_none() {
        return Err(super::null_error("Tags"));
    }
    let on = tag_target(call).await?;
    call.store().tag(&call.actor, on, &tags).await?;
    Ok(None)
}

/// Untag{User,Role,Policy}.
pub(crate) async fn untag(call: &Call<'_>) -> Reply {
    let keys: Vec<String> = call
        .required_list("TagKeys")?
        .into_iter()
        .map(str::to_string)
        .collect();
    let on = tag_target(call).await?;
    call.store().untag(&call.actor, on, &keys).await?;
    Ok(None)
}

/// List{User,Role,Policy}Tags.
pub(crate) async fn list_tags(call: &Call<'_>) -> Reply {
    let on = tag_target(call).await?;
    let all = call.store().list_tags(call.account(), on).await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    tags_element(&mut out, "Tags", page.items);
    page.write(&mut out);
    Ok(Some(out))
}

/// One entry of the account snapshot, rendered.
enum Detail {
    User(Element),
    Group(Element),
    Role(Element),
    Policy(Element),
}

/// GetAccountAuthorizationDetails: every user, group and role with its policies, and every
/// customer-managed policy (and every provider policy attached in the account) with all its
/// versions; one page across the four lists.
pub(crate) async fn account_authorization_details(call: &Call<'_>) -> Reply {
    const FILTERS: &str = "[User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]";
    let filter = call.params.list("Filter").unwrap_or_default();
    for f in &filter {
        if !matches!(
            *f,
            "User" | "Role" | "Group" | "LocalManagedPolicy" | "AWSManagedPolicy"
        ) {
            return Err(enum_error("filter", f, FILTERS));
        }
    }
    let wants = |f: &str| filter.is_empty() || filter.contains(&f);
    call.allow("*").await?;
    let store = call.store();
    let account = call.account();
    let mut details = Vec::new();
    if wants("User") {
        for u in store.list_users(account, None).await? {
            let u = store.get_user(account, &u.name).await?;
            let groups = store.list_groups_for_user(account, &u.name).await?;
            let groups: Vec<String> = groups.into_iter().map(|g| g.name).collect();
            let inline = inline_documents(call, PrincipalKind::User, &u.name).await?;
            let attached = store
                .list_attached_policies(account, PrincipalKind::User, &u.name, None)
                .await?;
            let mut e = Element::new();
            e.text("Path", &u.path)
                .text("UserName", &u.name)
                .text("UserId", &u.id)
                .text("Arn", &u.arn)
                .time("CreateDate", u.created_at);
            if !inline.is_empty() {
                policy_details(&mut e, "UserPolicyList", &inline);
            }
            e.strings("GroupList", &groups);
            attached_element(&mut e, &attached);
            boundary_element(&mut e, u.permissions_boundary.as_deref());
            tags_element(&mut e, "Tags", &u.tags);
            details.push(Detail::User(e));
        }
    }
    if wants("Group") {
        for g in store.list_groups(account, None).await? {
            let inline = inline_documents(call, PrincipalKind::Group, &g.name).await?;
            let attached = store
                .list_attached_policies(account, PrincipalKind::Group, &g.name, None)
                .await?;
            let mut e = Element::new();
            super::identities::group_element(&mut e, &g);
            policy_details(&mut e, "GroupPolicyList", &inline);
            attached_element(&mut e, &attached);
            details.push(Detail::Group(e));
        }
    }
    if wants("Role") {
        for r in store.list_roles(account, None).await? {
            let r = store.get_role(account, &r.name).await?;
            let inline = inline_documents(call, PrincipalKind::Role, &r.name).await?;
            let attached = store
                .list_attached_policies(account, PrincipalKind::Role, &r.name, None)
                .await?;
            let mut e = Element::new();
            e.text("Path", &r.path)
                .text("RoleName", &r.name)
                .text("RoleId", &r.id)
                .text("Arn", &r.arn)
                .time("CreateDate", r.created_at)
                .document("AssumeRolePolicyDocument", &r.trust_policy)
                .list("InstanceProfileList", &[] as &[()], |_, _| {});
            policy_details(&mut e, "RolePolicyList", &inline);
            attached_element(&mut e, &attached);
            boundary_element(&mut e, r.permissions_boundary.as_deref());
            tags_element(&mut e, "Tags", &r.tags);
            e.child("RoleLastUsed", |_| {});
            details.push(Detail::Role(e));
        }
    }
    let mut scopes = Vec::new();
    if wants("LocalManagedPolicy") {
        scopes.push((Scope::Local, false));
    }
    if wants("AWSManagedPolicy") {
        scopes.push((Scope::Provider, true));
    }
    for (scope, only_attached) in scopes {
        for p in store
            .list_policies(account, scope, only_attached, None, None)
            .await?
        {
            let mut versions = Vec::new();
            for v in store.list_policy_versions(account, &p.arn).await? {
                versions.push(
                    store
                        .get_policy_version(account, &p.arn, &v.version_id)
                        .await?,
                );
            }
            let mut e = Element::new();
            policy_element(&mut e, &p, false);
            e.list("PolicyVersionList", &versions, |e, v| {
                if let Some(d) = &v.document {
                    e.document("Document", d);
                }
                e.text("VersionId", &v.version_id)
                    .boolean("IsDefaultVersion", v.is_default)
                    .time("CreateDate", v.created_at);
            });
            details.push(Detail::Policy(e));
        }
    }
    let page = call.page(&details)?;
    let of = |want: fn(&Detail) -> Option<&Element>| -> Vec<&Element> {
        page.items.iter().filter_map(want).collect()
    };
    let raw = |e: &mut Element, x: &&Element| {
        e.raw(x);
    };
    let mut out = Element::new();
    out.list(
        "UserDetailList",
        &of(|d| match d {
            Detail::User(e) => Some(e),
            _ => None,
        }),
        raw,
    )
    .list(
        "GroupDetailList",
        &of(|d| match d {
            Detail::Group(e) => Some(e),
            _ => None,
        }),
        raw,
    )
    .list(
        "RoleDetailList",
        &of(|d| match d {
            Detail::Role(e) => Some(e),
            _ => None,
        }),
        raw,
    )
    .list(
        "Policies",
        &of(|d| match d {
            Detail::Policy(e) => Some(e),
            _ => None,
        }),
        raw,
    );
    page.write(&mut out);
    Ok(Some(out))
}

async fn inline_documents(
    call: &Call<'_>,
    kind: PrincipalKind,
    name: &str,
) -> Result<Vec<(String, String)>, Failure> {
    let store = call.store();
    let mut out = Vec::new();
    for policy in store
        .list_inline_policies(call.account(), kind, name)
        .await?
    {
        let (_, document) = store
            .get_inline_policy(call.account(), kind, name, &policy)
            .await?;
        out.push((policy, document));
    }
    Ok(out)
}

fn policy_details(e: &mut Element, name: &str, inline: &[(String, String)]) {
    e.list(name, inline, |e, (n, d)| {
        e.text("PolicyName", n).document("PolicyDocument", d);
    });
}

fn attached_element(e: &mut Element, attached: &[(String, String)]) {
    e.list("AttachedManagedPolicies", attached, |e, (n, a)| {
        e.text("PolicyName", n).text("PolicyArn", a);
    });
}
