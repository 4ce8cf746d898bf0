//! Users, groups, access keys, roles, service-linked roles and permissions boundaries.

use gatehouse_store::{Group, PrincipalKind, Role, User};

use super::{Call, Reply, boundary_element, kind_of, name_param, tags_element, validation};
use crate::app::Failure;
use crate::xml::Element;

pub(crate) fn user_element(e: &mut Element, u: &User) {
    e.text("Path", &u.path)
        .text("UserName", &u.name)
        .text("UserId", &u.id)
        .text("Arn", &u.arn)
        .time("CreateDate", u.created_at);
    boundary_element(e, u.permissions_boundary.as_deref());
}

/// A user as GetUser and CreateUser answer: with its tags when it has any.
fn full_user_element(e: &mut Element, u: &User) {
    user_element(e, u);
    if !u.tags.is_empty() {
        tags_element(e, "Tags", &u.tags);
    }
}

pub(crate) fn group_element(e: &mut Element, g: &Group) {
    e.text("Path", &g.path)
        .text("GroupName", &g.name)
        .text("GroupId", &g.id)
        .text("Arn", &g.arn)
        .time("CreateDate", g.created_at);
}

/// A role as GetRole answers (`full`), or as CreateRole and ListRoles do.
pub(crate) fn role_element(e: &mut Element, r: &Role, full: bool) {
    e.text("Path", &r.path)
        .text("RoleName", &r.name)
        .text("RoleId", &r.id)
        .text("Arn", &r.arn)
        .time("CreateDate", r.created_at)
        .document("AssumeRolePolicyDocument", &r.trust_policy)
        .opt("Description", r.description.as_deref());
    if full {
        e.int("MaxSessionDuration", r.max_session_duration);
        boundary_element(e, r.permissions_boundary.as_deref());
        tags_element(e, "Tags", &r.tags);
        e.child("RoleLastUsed", |_| {});
    }
}

pub(crate) async fn create_user(call: &Call<'_>) -> Reply {
    let name = call.required("UserName")?;
    let path = call.get("Path");
    let tags = call.tags("Tags")?;
    let account = call.account();
    call.allow(&format!(
        "arn:aws:iam::{account}:user{}{name}",
        path.unwrap_or("/")
    ))
    .await?;
    let u = call
        .store()
        .create_user(
            &call.actor,
            name,
            path,
            call.get("PermissionsBoundary"),
            &tags,
        )
        .await?;
    let mut out = Element::new();
    out.child("User", |e| full_user_element(e, &u));
    Ok(Some(out))
}

pub(crate) async fn get_user(call: &Call<'_>) -> Reply {
    let mut out = Element::new();
    let name = match (call.get("UserName"), &call.caller.user) {
        (Some(n), _) => n.to_string(),
        (None, Some(me)) => me.clone(),
        (None, None) if call.caller.session.is_none() => {
            // The root user.
            out.child("User", |e| {
                e.text("UserId", call.account())
                    .text("Arn", &call.caller.arn)
                    .text("Path", "/");
            });
            return Ok(Some(out));
        }
        (None, None) => {
            return Err(validation(
                "Must specify userName when calling with non-User credentials",
            ));
        }
    };
    call.allow_on(PrincipalKind::User, &name).await?;
    let u = call.store().get_user(call.account(), &name).await?;
    out.child("User", |e| full_user_element(e, &u));
    Ok(Some(out))
}

pub(crate) async fn list_users(call: &Call<'_>) -> Reply {
    call.allow(&format!("arn:aws:iam::{}:user/", call.account()))
        .await?;
    let all = call
        .store()
        .list_users(call.account(), call.get("PathPrefix"))
        .await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    // Listed users leave out the boundary and tags (as AWS documents).
    out.list("Users", page.items, |e, u| {
        e.text("Path", &u.path)
            .text("UserName", &u.name)
            .text("UserId", &u.id)
            .text("Arn", &u.arn)
            .time("CreateDate", u.created_at);
    });
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn delete_user(call: &Call<'_>) -> Reply {
    let name = call.required("UserName")?;
    call.allow_on(PrincipalKind::User, name).await?;
    call.store().delete_user(&call.actor, name).await?;
    Ok(None)
}

pub(crate) async fn create_group(call: &Call<'_>) -> Reply {
    let name = call.required("GroupName")?;
    let path = call.get("Path");
    call.allow(&format!(
        "arn:aws:iam::{}:group{}{name}",
        call.account(),
        path.unwrap_or("/")
    ))
    .await?;
    let g = call.store().create_group(&call.actor, name, path).await?;
    let mut out = Element::new();
    out.child("Group", |e| group_element(e, &g));
    Ok(Some(out))
}

pub(crate) async fn get_group(call: &Call<'_>) -> Reply {
    let name = call.required("GroupName")?;
    call.allow_on(PrincipalKind::Group, name).await?;
    let (g, users) = call.store().get_group(call.account(), name).await?;
    let page = call.page(&users)?;
    let mut out = Element::new();
    out.child("Group", |e| group_element(e, &g));
    out.list("Users", page.items, user_element);
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn list_groups(call: &Call<'_>) -> Reply {
    call.allow(&format!("arn:aws:iam::{}:group/", call.account()))
        .await?;
    let all = call
        .store()
        .list_groups(call.account(), call.get("PathPrefix"))
        .await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    out.list("Groups", page.items, group_element);
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn delete_group(call: &Call<'_>) -> Reply {
    let name = call.required("GroupName")?;
    call.allow_on(PrincipalKind::Group, name).await?;
    call.store().delete_group(&call.actor, name).await?;
    Ok(None)
}

/// AddUserToGroup and RemoveUserFromGroup (authorized on the group, as AWS does).
pub(crate) async fn group_membership(call: &Call<'_>) -> Reply {
    let group = call.required("GroupName")?;
    let user = call.required("UserName")?;
    call.allow_on(PrincipalKind::Group, group).await?;
    if call.action == "AddUserToGroup" {
        call.store()
            .add_user_to_group(&call.actor, group, user)
            .await?;
    } else {
        call.store()
            .remove_user_from_group(&call.actor, group, user)
            .await?;
    }
    Ok(None)
}

pub(crate) async fn list_groups_for_user(call: &Call<'_>) -> Reply {
    let user = call.required("UserName")?;
    call.allow_on(PrincipalKind::User, user).await?;
    let all = call
        .store()
        .list_groups_for_user(call.account(), user)
        .await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    out.list("Groups", page.items, group_element);
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn create_access_key(call: &Call<'_>) -> Reply {
    let name = call.self_or_named()?;
    call.allow_on(PrincipalKind::User, &name).await?;
    let k = call.store().create_access_key(&call.actor, &name).await?;
    let mut out = Element::new();
    out.child("AccessKey", |e| {
        e.text("UserName", &k.user_name)
            .text("AccessKeyId", &k.id)
            .text("Status", &k.status)
            .opt("SecretAccessKey", k.secret.as_deref())
            .time("CreateDate", k.created_at);
    });
    Ok(Some(out))
}

pub(crate) async fn list_access_keys(call: &Call<'_>) -> Reply {
    let name = call.self_or_named()?;
    call.allow_on(PrincipalKind::User, &name).await?;
    let all = call.store().list_access_keys(call.account(), &name).await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    out.list("AccessKeyMetadata", page.items, |e, k| {
        e.text("UserName", &k.user_name)
            .text("AccessKeyId", &k.id)
            .text("Status", &k.status)
            .time("CreateDate", k.created_at);
    });
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn update_access_key(call: &Call<'_>) -> Reply {
    let name = call.self_or_named()?;
    let id = call.required("AccessKeyId")?;
    let status = call.required("Status")?;
    call.allow_on(PrincipalKind::User, &name).await?;
    call.store()
        .update_access_key(&call.actor, &name, id, status)
        .await?;
    Ok(None)
}

pub(crate) async fn delete_access_key(call: &Call<'_>) -> Reply {
    let name = call.self_or_named()?;
    let id = call.required("AccessKeyId")?;
    call.allow_on(PrincipalKind::User, &name).await?;
    call.store()
        .delete_access_key(&call.actor, &name, id)
        .await?;
    Ok(None)
}

pub(crate) async fn create_role(call: &Call<'_>) -> Reply {
    let name = call.required("RoleName")?;
    let trust = call.required("AssumeRolePolicyDocument")?;
    let path = call.get("Path");
    let tags = call.tags("Tags")?;
    call.allow(&format!(
        "arn:aws:iam::{}:role{}{name}",
        call.account(),
        path.unwrap_or("/")
    ))
    .await?;
    let max = call.integer("MaxSessionDuration")?;
    let r = call
        .store()
        .create_role(
            &call.actor,
            name,
            path,
            trust,
            call.get("Description"),
            max,
            call.get("PermissionsBoundary"),
            &tags,
        )
        .await?;
    let mut out = Element::new();
    out.child("Role", |e| {
        role_element(e, &r, false);
        boundary_element(e, r.permissions_boundary.as_deref());
        if !r.tags.is_empty() {
            tags_element(e, "Tags", &r.tags);
        }
    });
    Ok(Some(out))
}

pub(crate) async fn get_role(call: &Call<'_>) -> Reply {
    let name = call.required("RoleName")?;
    call.allow_on(PrincipalKind::Role, name).await?;
    let r = call.store().get_role(call.account(), name).await?;
    let mut out = Element::new();
    out.child("Role", |e| role_element(e, &r, true));
    Ok(Some(out))
}

pub(crate) async fn list_roles(call: &Call<'_>) -> Reply {
    call.allow(&format!("arn:aws:iam::{}:role/", call.account()))
        .await?;
    let all = call
        .store()
        .list_roles(call.account(), call.get("PathPrefix"))
        .await?;
    let page = call.page(&all)?;
    let mut out = Element::new();
    // Listed roles carry MaxSessionDuration, but not the boundary, tags or last use.
    out.list("Roles", page.items, |e, r| {
        role_element(e, r, false);
        e.int("MaxSessionDuration", r.max_session_duration);
    });
    page.write(&mut out);
    Ok(Some(out))
}

pub(crate) async fn delete_role(call: &Call<'_>) -> Reply {
    let name = call.required("RoleName")?;
    call.allow_on(PrincipalKind::Role, name).await?;
    call.store().delete_role(&call.actor, name).await?;
    Ok(None)
}

/// UpdateRole: an empty Result element (boto3 requires it).
pub(crate) async fn update_role(call: &Call<'_>) -> Reply {
    let name = call.required("RoleName")?;
    let max = call.integer("MaxSessionDuration")?;
    call.allow_on(PrincipalKind::Role, name).await?;
    call.store()
        .update_role(&call.actor, name, call.get("Description"), max)
        .await?;
    Ok(Some(Element::new()))
}

/// UpdateRoleDescription (the older operation): answers the role.
pub(crate) async fn update_role_description(call: &Call<'_>) -> Reply {
    let name = call.required("RoleName")?;
    let description = call.required("Description")?;
    call.allow_on(PrincipalKind::Role, name).await?;
    call.store()
        .update_role(&call.actor, name, Some(description), None)
        .await?;
    let r = call.store().get_role(call.account(), name).await?;
    let mut out = Element::new();
    out.child("Role", |e| role_element(e, &r, true));
    Ok(Some(out))
}

pub(crate) async fn update_assume_role_policy(call: &Call<'_>) -> Reply {
    let name = call.required("RoleName")?;
    let trust = call.required("PolicyDocument")?;
    call.allow_on(PrincipalKind::Role, name).await?;
    call.store()
        .update_assume_role_policy(&call.actor, name, trust)
        .await?;
    Ok(None)
}

pub(crate) async fn create_service_linked_role(call: &Call<'_>) -> Reply {
    let service_name = call.required("AWSServiceName")?;
    call.allow(&format!(
        "arn:aws:iam::{}:role/aws-service-role/{service_name}/",
        call.account()
    ))
    .await?;
    let r = call
        .store()
        .create_service_linked_role(
            &call.actor,
            service_name,
            call.get("Description"),
            call.get("CustomSuffix"),
        )
        .await?;
    let mut out = Element::new();
    out.child("Role", |e| role_element(e, &r, false));
    Ok(Some(out))
}

pub(crate) async fn delete_service_linked_role(call: &Call<'_>) -> Reply {
    let name = call.required("RoleName")?;
    call.allow_on(PrincipalKind::Role, name).await?;
    let task = call
        .store()
        .delete_service_linked_role(&call.actor, name)
        .await?;
    let mut out = Element::new();
    out.text("DeletionTaskId", &task);
    Ok(Some(out))
}

pub(crate) async fn deletion_status(call: &Call<'_>) -> Reply {
    let task = call.required("DeletionTaskId")?;
    // task/aws-service-role/SERVICE/ROLE/ID: authorized on the role it deleted.
    let parts: Vec<&str> = task.split('/').collect();
    let (Some(&"task"), Some(role)) = (parts.first(), parts.len().checked_sub(2)) else {
        return Err(Failure::new(
            400,
            "InvalidInput",
            format!("Invalid deletion task id: {task}"),
        ));
    };
    let role = parts.get(role).copied().unwrap_or("");
    let path = parts
        .get(1..parts.len().saturating_sub(2))
        .map(|p| p.join("/"))
        .unwrap_or_default();
    call.allow(&format!(
        "arn:aws:iam::{}:role/{path}/{role}",
        call.account()
    ))
    .await?;
    if !call
        .store()
        .service_linked_role_deletion_succeeded(call.account(), task)
        .await?
    {
        return Err(Failure::new(
            404,
            "NoSuchEntity",
            format!("Deletion task {task} was not found."),
        ));
    }
    let mut out = Element::new();
    out.text("Status", "SUCCEEDED");
    Ok(Some(out))
}

/// Put{User,Role}PermissionsBoundary.
pub(crate) async fn put_boundary(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    let arn = call.required("PermissionsBoundary")?;
    call.allow_on(kind, name).await?;
    call.store()
        .put_permissions_boundary(&call.actor, kind, name, arn)
        .await?;
    Ok(None)
}

/// Delete{User,Role}PermissionsBoundary.
pub(crate) async fn delete_boundary(call: &Call<'_>) -> Reply {
    let kind = kind_of(call.action);
    let name = call.required(name_param(kind))?;
    call.allow_on(kind, name).await?;
    call.store()
        .delete_permissions_boundary(&call.actor, kind, name)
        .await?;
    Ok(None)
}
