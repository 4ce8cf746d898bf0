//! The operations of the Query protocol: one function per operation, grouped by what they act
//! on, and [`dispatch`], which routes a call by service and `Action`.
//!
//! Every operation first reads and checks its parameters, then asks the engine whether the
//! caller may do it ([`Call::allow`]), then calls the store. Answers are built as XML
//! [`Element`]s; `None` means the operation has no Result element.

mod access;
mod identities;
mod policies;
pub(crate) mod simulate;
mod sts;

use gatehouse_store::{Actor, PrincipalKind, Store, Tag};

use crate::app::{AppState, Caller, Failure, Service, authorize};
use crate::page::{Page, page};
use crate::query::Params;
use crate::xml::Element;

/// What an operation answers: its Result element, or none.
pub(crate) type Reply = Result<Option<Element>, Failure>;

/// One call: who makes it, with what parameters.
pub(crate) struct Call<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) caller: &'a Caller,
    pub(crate) params: &'a Params,
    pub(crate) action: &'a str,
    pub(crate) actor: Actor,
}

impl<'a> Call<'a> {
    pub(crate) fn store(&self) -> &'a Store {
        &self.state.store
    }

    pub(crate) fn account(&self) -> &'a str {
        &self.caller.account
    }

    /// An optional parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.params.get(name)
    }

    /// A required parameter (AWS's "Member must not be null" when absent).
    pub(crate) fn required(&self, name: &str) -> Result<&'a str, Failure> {
        self.params.get(name).ok_or_else(|| null_error(name))
    }

    /// A required list parameter.
    pub(crate) fn required_list(&self, name: &str) -> Result<Vec<&'a str>, Failure> {
        self.params.list(name).ok_or_else(|| null_error(name))
    }

    /// Authorizes this call's action (`iam:Action`) on a resource.
    pub(crate) async fn allow(&self, resource: &str) -> Result<(), Failure> {
        let service = if self.params.get("Version") == Some("2011-06-15") {
            "sts"
        } else {
            "iam"
        };
        let action = format!("{service}:{}", self.action);
        authorize(self.state, self.caller, &action, resource).await
    }

    /// Authorizes this call on a user, group or role, named by its ARN (with its path when it
    /// exists).
    pub(crate) async fn allow_on(&self, kind: PrincipalKind, name: &str) -> Result<(), Failure> {
        // Root may do everything: its calls need no ARN looked up to be decided.
        if self.caller.user.is_none() && self.caller.session.is_none() {
            return Ok(());
        }
        let arn = principal_arn(self.store(), self.account(), kind, name).await;
        self.allow(&arn).await
    }

    /// One page of a list, from `Marker` and `MaxItems`.
    pub(crate) fn page<'t, T>(&self, all: &'t [T]) -> Result<Page<'t, T>, Failure> {
        Ok(page(all, self.get("Marker"), self.get("MaxItems"))?)
    }

    /// A boolean parameter (absent is false).
    pub(crate) fn boolean(&self, name: &str) -> Result<bool, Failure> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(validation(format!(
                "1 validation error detected: Value '{other}' at '{}' failed to satisfy constraint: Member must be true or false",
                lower_camel(name)
            ))),
        }
    }

    /// An integer parameter.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, Failure> {
        self.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    validation(format!(
                        "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must be a number",
                        lower_camel(name)
                    ))
                })
            })
            .transpose()
    }

    /// `Tags.member.N.Key` / `.Value`, in order.
    pub(crate) fn tags(&self, name: &str) -> Result<Vec<Tag>, Failure> {
        let keys = self.params.list_field(name, "Key");
        let values = self.params.list_field(name, "Value");
        let mut tags = Vec::with_capacity(keys.len());
        if let Some(n) = values.keys().find(|n| !keys.contains_key(n)) {
            return Err(validation(format!(
                "1 validation error detected: Value null at '{}.{n}.member.key' failed to satisfy constraint: Member must not be null",
                lower_camel(name)
            )));
        }
        for (n, key) in keys {
            let value = values.get(&n).copied().ok_or_else(|| {
                validation(format!(
                    "1 validation error detected: Value null at '{}.{n}.member.value' failed to satisfy constraint: Member must not be null",
                    lower_camel(name)
                ))
            })?;
            tags.push(Tag {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        Ok(tags)
    }

    /// `UserName`, or the calling user's own name when it is absent.
    pub(crate) fn self_or_named(&self) -> Result<String, Failure> {
        match (self.get("UserName"), &self.caller.user) {
            (Some(n), _) => Ok(n.to_string()),
            (None, Some(me)) => Ok(me.clone()),
            (None, None) => Err(validation(
                "Must specify userName when calling with non-User credentials",
            )),
        }
    }
}

/// The STS operations served.
const STS_OPERATIONS: &[&str] = &["GetCallerIdentity", "AssumeRole"];

/// The IAM operations served (as [`dispatch`] routes them).
const IAM_OPERATIONS: &[&str] = &[
    "CreateUser",
    "GetUser",
    "ListUsers",
    "DeleteUser",
    "CreateGroup",
    "GetGroup",
    "ListGroups",
    "DeleteGroup",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "ListGroupsForUser",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "CreateRole",
    "GetRole",
    "ListRoles",
    "DeleteRole",
    "UpdateRole",
    "UpdateRoleDescription",
    "UpdateAssumeRolePolicy",
    "CreateServiceLinkedRole",
    "DeleteServiceLinkedRole",
    "GetServiceLinkedRoleDeletionStatus",
    "PutUserPermissionsBoundary",
    "PutRolePermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "CreatePolicy",
    "GetPolicy",
    "ListPolicies",
    "DeletePolicy",
    "CreatePolicyVersion",
    "GetPolicyVersion",
    "ListPolicyVersions",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "AttachUserPolicy",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "DetachUserPolicy",
    "DetachGroupPolicy",
    "DetachRolePolicy",
    "ListAttachedUserPolicies",
    "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies",
    "ListEntitiesForPolicy",
    "PutUserPolicy",
    "PutGroupPolicy",
    "PutRolePolicy",
    "GetUserPolicy",
    "GetGroupPolicy",
    "GetRolePolicy",
    "DeleteUserPolicy",
    "DeleteGroupPolicy",
    "DeleteRolePolicy",
    "ListUserPolicies",
    "ListGroupPolicies",
    "ListRolePolicies",
    "TagUser",
    "TagRole",
    "TagPolicy",
    "UntagUser",
    "UntagRole",
    "UntagPolicy",
    "ListUserTags",
    "ListRoleTags",
    "ListPolicyTags",
    "GetAccountAuthorizationDetails",
    "SimulatePrincipalPolicy",
    "SimulateCustomPolicy",
    "GenerateServiceLastAccessedDetails",
    "GetServiceLastAccessedDetails",
];

/// Whether an operation is served (metrics label unknown ones alike).
pub(crate) fn is_served(service: Service, action: &str) -> bool {
    match service {
        Service::Sts => STS_OPERATIONS.contains(&action),
        Service::Iam => IAM_OPERATIONS.contains(&action),
    }
}

/// Routes a call to its operation.
pub(crate) async fn dispatch(call: &Call<'_>, service: Service) -> Reply {
    use identities as id;
    use policies as p;
    match (service, call.action) {
        (Service::Sts, "GetCallerIdentity") => sts::get_caller_identity(call),
        (Service::Sts, "AssumeRole") => sts::assume_role(call).await,
        (Service::Iam, action) if is_served(Service::Iam, action) => match action {
            "CreateUser" => id::create_user(call).await,
            "GetUser" => id::get_user(call).await,
            "ListUsers" => id::list_users(call).await,
            "DeleteUser" => id::delete_user(call).await,
            "CreateGroup" => id::create_group(call).await,
            "GetGroup" => id::get_group(call).await,
            "ListGroups" => id::list_groups(call).await,
            "DeleteGroup" => id::delete_group(call).await,
            "AddUserToGroup" | "RemoveUserFromGroup" => id::group_membership(call).await,
            "ListGroupsForUser" => id::list_groups_for_user(call).await,
            "CreateAccessKey" => id::create_access_key(call).await,
            "ListAccessKeys" => id::list_access_keys(call).await,
            "UpdateAccessKey" => id::update_access_key(call).await,
            "DeleteAccessKey" => id::delete_access_key(call).await,
            "CreateRole" => id::create_role(call).await,
            "GetRole" => id::get_role(call).await,
            "ListRoles" => id::list_roles(call).await,
            "DeleteRole" => id::delete_role(call).await,
            "UpdateRole" => id::update_role(call).await,
            "UpdateRoleDescription" => id::update_role_description(call).await,
            "UpdateAssumeRolePolicy" => id::update_assume_role_policy(call).await,
            "CreateServiceLinkedRole" => id::create_service_linked_role(call).await,
            "DeleteServiceLinkedRole" => id::delete_service_linked_role(call).await,
            "GetServiceLinkedRoleDeletionStatus" => id::deletion_status(call).await,
            "PutUserPermissionsBoundary" | "PutRolePermissionsBoundary" => {
                id::put_boundary(call).await
            }
            "DeleteUserPermissionsBoundary" | "DeleteRolePermissionsBoundary" => {
                id::delete_boundary(call).await
            }
            "CreatePolicy" => p::create_policy(call).await,
            "GetPolicy" => p::get_policy(call).await,
            "ListPolicies" => p::list_policies(call).await,
            "DeletePolicy" => p::delete_policy(call).await,
            "CreatePolicyVersion" => p::create_policy_version(call).await,
            "GetPolicyVersion" => p::get_policy_version(call).await,
            "ListPolicyVersions" => p::list_policy_versions(call).await,
            "DeletePolicyVersion" => p::delete_policy_version(call).await,
            "SetDefaultPolicyVersion" => p::set_default_policy_version(call).await,
            "AttachUserPolicy" | "AttachGroupPolicy" | "AttachRolePolicy" => p::attach(call).await,
            "DetachUserPolicy" | "DetachGroupPolicy" | "DetachRolePolicy" => p::detach(call).await,
            "ListAttachedUserPolicies"
            | "ListAttachedGroupPolicies"
            | "ListAttachedRolePolicies" => p::list_attached(call).await,
            "ListEntitiesForPolicy" => p::list_entities_for_policy(call).await,
            "PutUserPolicy" | "PutGroupPolicy" | "PutRolePolicy" => p::put_inline(call).await,
            "GetUserPolicy" | "GetGroupPolicy" | "GetRolePolicy" => p::get_inline(call).await,
            "DeleteUserPolicy" | "DeleteGroupPolicy" | "DeleteRolePolicy" => {
                p::delete_inline(call).await
            }
            "ListUserPolicies" | "ListGroupPolicies" | "ListRolePolicies" => {
                p::list_inline(call).await
            }
            "TagUser" | "TagRole" | "TagPolicy" => p::tag(call).await,
            "UntagUser" | "UntagRole" | "UntagPolicy" => p::untag(call).await,
            "ListUserTags" | "ListRoleTags" | "ListPolicyTags" => p::list_tags(call).await,
            "GetAccountAuthorizationDetails" => p::account_authorization_details(call).await,
            "SimulatePrincipalPolicy" => simulate::simulate_principal_policy(call).await,
            "SimulateCustomPolicy" => simulate::simulate_custom_policy(call).await,
            "GenerateServiceLastAccessedDetails" => {
                access::generate_service_last_accessed_details(call).await
            }
            "GetServiceLastAccessedDetails" => {
                access::get_service_last_accessed_details(call).await
            }
            _ => Err(invalid_action(call)),
        },
        _ => Err(invalid_action(call)),
    }
}

fn invalid_action(call: &Call<'_>) -> Failure {
    let version = call.get("Version").unwrap_or("");
    Failure::new(
        400,
        "InvalidAction",
        format!(
            "Could not find operation {} for version {version}",
            call.action
        ),
    )
}

/// The principal kind an operation is about, from its name (`AttachRolePolicy` -> role).
pub(crate) fn kind_of(action: &str) -> PrincipalKind {
    if action.contains("Role") {
        PrincipalKind::Role
    } else if action.contains("Group") {
        PrincipalKind::Group
    } else {
        PrincipalKind::User
    }
}

/// The parameter that names a principal of a kind.
pub(crate) fn name_param(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Role => "RoleName",
        PrincipalKind::Group => "GroupName",
        PrincipalKind::User => "UserName",
    }
}

/// A user's, group's or role's ARN, with its path, for authorization; one that does not exist
/// (yet, or at all) is named as at the root path.
pub(crate) async fn principal_arn(
    store: &Store,
    account: &str,
    kind: PrincipalKind,
    name: &str,
) -> String {
    let found = match kind {
        PrincipalKind::Role => store.get_role(account, name).await.map(|r| r.arn),
        PrincipalKind::Group => store.get_group(account, name).await.map(|(g, _)| g.arn),
        PrincipalKind::User => store.get_user(account, name).await.map(|u| u.arn),
    };
    found.unwrap_or_else(|_| {
        let k = match kind {
            PrincipalKind::Role => "role",
            PrincipalKind::Group => "group",
            PrincipalKind::User => "user",
        };
        format!("arn:aws:iam::{account}:{k}/{name}")
    })
}

pub(crate) fn validation(message: impl Into<String>) -> Failure {
    Failure::new(400, "ValidationError", message)
}

pub(crate) fn null_error(name: &str) -> Failure {
    validation(format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        lower_camel(name)
    ))
}

pub(crate) fn enum_error(field: &str, value: &str, set: &str) -> Failure {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: {set}"
    ))
}

pub(crate) fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// A permissions boundary element.
pub(crate) fn boundary_element(e: &mut Element, arn: Option<&str>) {
    if let Some(b) = arn {
        e.child("PermissionsBoundary", |p| {
            p.text("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                .text("PermissionsBoundaryArn", b);
        });
    }
}

/// A list of tags.
pub(crate) fn tags_element(e: &mut Element, name: &str, tags: &[Tag]) {
    e.list(name, tags, |t, tag| {
        t.text("Key", &tag.key).text("Value", &tag.value);
    });
}
