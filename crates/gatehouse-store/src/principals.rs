//! Users, groups, roles and service-linked roles; group membership; permissions boundaries.

use gatehouse_policy::{Mode, PolicyKind, ValidateOptions, validate};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::db::{Event, WriteTx};
use crate::error::{ErrorCode, StoreError};
use crate::model::{Group, PrincipalKind, Role, Tag, User};
use crate::{Actor, Store, ids, names, tags};

/// The service-linked roles Gatehouse knows: service principal, role name, policy ARN.
pub(crate) const SERVICE_LINKED_ROLES: &[(&str, &str, &str)] = &[
    (
        "q.amazonaws.com",
        "AWSServiceRoleForAmazonQDeveloper",
        "arn:aws:iam::aws:policy/aws-service-role/AWSServiceRoleForAmazonQDeveloper",
    ),
    (
        "user-subscriptions.amazonaws.com",
        "AWSServiceRoleForUserSubscriptions",
        "arn:aws:iam::aws:policy/aws-service-role/AWSServiceRoleForUserSubscriptions",
    ),
];

/// Columns every principal query selects, in this order.
const COLUMNS: &str = "name, id, path, arn, created_at, boundary_arn, trust_policy, description, \
                       max_session, slr_service";

/// One principal row, of any kind.
pub(crate) struct PrincipalRow {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) path: String,
    pub(crate) arn: String,
    pub(crate) created_at: i64,
    pub(crate) boundary: Option<String>,
    trust_policy: Option<String>,
    description: Option<String>,
    max_session: Option<i64>,
    pub(crate) slr_service: Option<String>,
}

impl PrincipalRow {
    fn from_row(r: &AnyRow) -> Result<PrincipalRow, StoreError> {
        Ok(PrincipalRow {
            name: r.try_get(0)?,
            id: r.try_get(1)?,
            path: r.try_get(2)?,
            arn: r.try_get(3)?,
            created_at: r.try_get(4)?,
            boundary: r.try_get(5)?,
            trust_policy: r.try_get(6)?,
            description: r.try_get(7)?,
            max_session: r.try_get(8)?,
            slr_service: r.try_get(9)?,
        })
    }

    fn user(self, tags: Vec<Tag>) -> User {
        User {
            name: self.name,
            id: self.id,
            path: self.path,
            arn: self.arn,
            created_at: self.created_at,
            permissions_boundary: self.boundary,
            tags,
        }
    }

    fn group(self) -> Group {
        Group {
            name: self.name,
            id: self.id,
            path: self.path,
            arn: self.arn,
            created_at: self.created_at,
        }
    }

    fn role(self, tags: Vec<Tag>) -> Role {
        Role {
            name: self.name,
            id: self.id,
            path: self.path,
            arn: self.arn,
            created_at: self.created_at,
            trust_policy: self.trust_policy.unwrap_or_default(),
            description: self.description,
            max_session_duration: self.max_session.unwrap_or(3600),
            permissions_boundary: self.boundary,
            tags,
            service_linked: self.slr_service,
        }
    }
}

/// Loads a principal by name (case-insensitive).
pub(crate) async fn find<'e, E: Executor<'e, Database = Any>>(
    e: E,
    account: &str,
    kind: PrincipalKind,
    name: &str,
) -> Result<Option<PrincipalRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM principals WHERE account = $1 AND kind = $2 AND name_lower = $3"
    );
    let row = sqlx::query(&sql)
        .bind(account)
        .bind(kind.as_str())
        .bind(name.to_lowercase())
        .fetch_optional(e)
        .await?;
    row.as_ref().map(PrincipalRow::from_row).transpose()
}

/// Loads a principal that must exist.
pub(crate) async fn require<'e, E: Executor<'e, Database = Any>>(
    e: E,
    account: &str,
    kind: PrincipalKind,
    name: &str,
) -> Result<PrincipalRow, StoreError> {
    // Roles are named in at most 64 characters; existing users and groups in 128.
    let max = if kind == PrincipalKind::Role { 64 } else { 128 };
    names::name(kind.field(), name, max)?;
    find(e, account, kind, name)
        .await?
        .ok_or_else(|| StoreError::no_such(kind.not_found(name)))
}

fn principal_arn(account: &str, kind: PrincipalKind, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{}{path}{name}", kind.as_str())
}

/// What a new principal is made of.
struct NewPrincipal<'a> {
    kind: PrincipalKind,
    name: &'a str,
    path: &'a str,
    boundary: Option<&'a str>,
    trust_policy: Option<&'a str>,
    description: Option<&'a str>,
    max_session: Option<i64>,
    slr_service: Option<&'a str>,
}

impl Store {
    async fn insert_principal(
        &self,
        w: &mut WriteTx,
        actor: &Actor,
        p: NewPrincipal<'_>,
        tag_list: &[Tag],
    ) -> Result<PrincipalRow, StoreError> {
        let account = actor.account.as_str();
        self.ensure_account(w, account).await?;
        if find(&mut *w.tx, account, p.kind, p.name).await?.is_some() {
            let kind = match p.kind {
                PrincipalKind::User => "User",
                PrincipalKind::Group => "Group",
                PrincipalKind::Role => "Role",
            };
            return Err(StoreError::exists(format!(
                "{kind} with name {} already exists.",
                p.name
            )));
        }
        if let Some(arn) = p.boundary {
            self.check_boundary_policy(w, account, arn).await?;
        }
        let prefix = match p.kind {
            PrincipalKind::User => "AIDA",
            PrincipalKind::Group => "AGPA",
            PrincipalKind::Role => "AROA",
        };
        let now = self.now();
        let row = PrincipalRow {
            name: p.name.to_string(),
            id: ids::unique_id(prefix),
            path: p.path.to_string(),
            arn: principal_arn(account, p.kind, p.path, p.name),
            created_at: now,
            boundary: p.boundary.map(str::to_string),
            trust_policy: p.trust_policy.map(str::to_string),
            description: p.description.map(str::to_string),
            max_session: p.max_session,
            slr_service: p.slr_service.map(str::to_string),
        };
        sqlx::query(
            "INSERT INTO principals (account, kind, name, name_lower, id, path, arn, created_at,
             boundary_arn, trust_policy, description, max_session, service_linked, slr_service)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(account)
        .bind(p.kind.as_str())
        .bind(&row.name)
        .bind(row.name.to_lowercase())
        .bind(&row.id)
        .bind(&row.path)
        .bind(&row.arn)
        .bind(now)
        .bind(row.boundary.clone())
        .bind(row.trust_policy.clone())
        .bind(row.description.clone())
        .bind(row.max_session)
        .bind(i64::from(row.slr_service.is_some()))
        .bind(row.slr_service.clone())
        .execute(&mut *w.tx)
        .await?;
        tags::insert(w, account, tags::target_principal(p.kind, p.name), tag_list).await?;
        Ok(row)
    }

    pub(crate) async fn ensure_account(
        &self,
        w: &mut WriteTx,
        account: &str,
    ) -> Result<(), StoreError> {
        // Changes are made in an account: a 12-digit ID (never the provider's `aws`).
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::invalid(format!(
                "Account ID {account} is not valid: it must be 12 digits."
            )));
        }
        // Accounts are never deleted: once seen, no need to ask the database again.
        if self
            .known_accounts
            .lock()
            .is_ok_and(|k| k.contains(account))
        {
            return Ok(());
        }
        let done = sqlx::query(
            "INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(account)
        .bind(self.now())
        .execute(&mut *w.tx)
        .await?;
        // Remember it only when it was there before this transaction, which may roll back.
        if done.rows_affected() == 0 {
            if let Ok(mut k) = self.known_accounts.lock() {
                k.insert(account.to_string());
            }
        } else {
            w.journal(Event {
                at: self.now(),
                account,
                actor: "gatehouse",
                operation: "CreateAccount",
                entity: &format!("arn:aws:iam::{account}:root"),
                before: None,
                after: None,
            })
            .await?;
        }
        Ok(())
    }

    async fn journal_principal(
        &self,
        w: &mut WriteTx,
        actor: &Actor,
        operation: &str,
        arn: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), StoreError> {
        w.journal(Event {
            at: self.now(),
            account: &actor.account,
            actor: &actor.arn,
            operation,
            entity: arn,
            before,
            after,
        })
        .await?;
        Ok(())
    }

    // ---- users ----

    /// CreateUser.
    pub async fn create_user(
        &self,
        actor: &Actor,
        name: &str,
        path: Option<&str>,
        boundary: Option<&str>,
        tag_list: &[Tag],
    ) -> Result<User, StoreError> {
        names::name("userName", name, 64)?;
        let path = path.unwrap_or("/");
        names::path(path)?;
        tags::check(tag_list)?;
        let mut w = self.db.begin().await?;
        let row = self
            .insert_principal(
                &mut w,
                actor,
                NewPrincipal {
                    kind: PrincipalKind::User,
                    name,
                    path,
                    boundary,
                    trust_policy: None,
                    description: None,
                    max_session: None,
                    slr_service: None,
                },
                tag_list,
            )
            .await?;
        let user = row.user(tags::sorted(tag_list));
        self.journal_principal(
            &mut w,
            actor,
            "CreateUser",
            &user.arn,
            None,
            Some(json!(user)),
        )
        .await?;
        w.commit().await?;
        Ok(user)
    }

    /// GetUser.
    pub async fn get_user(&self, account: &str, name: &str) -> Result<User, StoreError> {
        let row = require(&self.db.pool, account, PrincipalKind::User, name).await?;
        let t = tags::list(
            &self.db.pool,
            account,
            &tags::target_principal(PrincipalKind::User, name),
        )
        .await?;
        Ok(row.user(t))
    }

    /// ListUsers: users whose path starts with the prefix, by name.
    pub async fn list_users(
        &self,
        account: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<User>, StoreError> {
        Ok(self
            .list_principals(account, PrincipalKind::User, path_prefix)
            .await?
            .into_iter()
            .map(|r| r.user(Vec::new()))
            .collect())
    }

    async fn list_principals(
        &self,
        account: &str,
        kind: PrincipalKind,
        path_prefix: Option<&str>,
    ) -> Result<Vec<PrincipalRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM principals WHERE account = $1 AND kind = $2 ORDER BY name_lower"
        );
        let rows = sqlx::query(&sql)
            .bind(account)
            .bind(kind.as_str())
            .fetch_all(&self.db.pool)
            .await?;
        let prefix = names::path_prefix(path_prefix)?;
        rows.iter()
            .map(PrincipalRow::from_row)
            .filter(|r| r.as_ref().map_or(true, |r| r.path.starts_with(prefix)))
            .collect()
    }

    /// DeleteUser: refused while the user has attached or inline policies, access keys or
    /// groups.
    pub async fn delete_user(&self, actor: &Actor, name: &str) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = require(&mut *w.tx, account, PrincipalKind::User, name).await?;
        let lower = row.name.to_lowercase();
        refuse_if_in_use(
            &mut w,
            account,
            PrincipalKind::User,
            &lower,
            &[ATTACHED, INLINE, KEYS, MEMBERSHIPS],
        )
        .await?;
        let before = row.user(Vec::new());
        self.delete_principal_rows(&mut w, account, PrincipalKind::User, &lower)
            .await?;
        self.journal_principal(
            &mut w,
            actor,
            "DeleteUser",
            &before.arn,
            Some(json!(before)),
            None,
        )
        .await?;
        w.commit().await
    }

    async fn delete_principal_rows(
        &self,
        w: &mut WriteTx,
        account: &str,
        kind: PrincipalKind,
        lower: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM principals WHERE account = $1 AND kind = $2 AND name_lower = $3")
            .bind(account)
            .bind(kind.as_str())
            .bind(lower)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("DELETE FROM tags WHERE account = $1 AND kind = $2 AND target = $3")
            .bind(account)
            .bind(kind.as_str())
            .bind(lower)
            .execute(&mut *w.tx)
            .await?;
        Ok(())
    }

    // ---- groups ----

    /// CreateGroup.
    pub async fn create_group(
        &self,
        actor: &Actor,
        name: &str,
        path: Option<&str>,
    ) -> Result<Group, StoreError> {
        names::name("groupName", name, 128)?;
        let path = path.unwrap_or("/");
        names::path(path)?;
        let mut w = self.db.begin().await?;
        let row = self
            .insert_principal(
                &mut w,
                actor,
                NewPrincipal {
                    kind: PrincipalKind::Group,
                    name,
                    path,
                    boundary: None,
                    trust_policy: None,
                    description: None,
                    max_session: None,
                    slr_service: None,
                },
                &[],
            )
            .await?;
        let group = row.group();
        self.journal_principal(
            &mut w,
            actor,
            "CreateGroup",
            &group.arn,
            None,
            Some(json!(group)),
        )
        .await?;
        w.commit().await?;
        Ok(group)
    }

    /// GetGroup: the group and its members.
    pub async fn get_group(
        &self,
        account: &str,
        name: &str,
    ) -> Result<(Group, Vec<User>), StoreError> {
        let group = require(&self.db.pool, account, PrincipalKind::Group, name)
            .await?
            .group();
        let sql = format!(
            "SELECT {} FROM principals p JOIN group_members m
             ON m.account = p.account AND m.user_lower = p.name_lower AND p.kind = 'user'
             WHERE m.account = $1 AND m.group_lower = $2 ORDER BY p.name_lower",
            COLUMNS
                .split(", ")
                .map(|c| format!("p.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let users = sqlx::query(&sql)
            .bind(account)
            .bind(name.to_lowercase())
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|r| PrincipalRow::from_row(r).map(|p| p.user(Vec::new())))
            .collect::<Result<_, _>>()?;
        Ok((group, users))
    }

    /// ListGroups.
    pub async fn list_groups(
        &self,
        account: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<Group>, StoreError> {
        Ok(self
            .list_principals(account, PrincipalKind::Group, path_prefix)
            .await?
            .into_iter()
            .map(PrincipalRow::group)
            .collect())
    }

    /// DeleteGroup: refused while it has members or policies.
    pub async fn delete_group(&self, actor: &Actor, name: &str) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = require(&mut *w.tx, account, PrincipalKind::Group, name).await?;
        let lower = row.name.to_lowercase();
        refuse_if_in_use(
            &mut w,
            account,
            PrincipalKind::Group,
            &lower,
            &[MEMBERS, ATTACHED, INLINE],
        )
        .await?;
        let before = row.group();
        self.delete_principal_rows(&mut w, account, PrincipalKind::Group, &lower)
            .await?;
        self.journal_principal(
            &mut w,
            actor,
            "DeleteGroup",
            &before.arn,
            Some(json!(before)),
            None,
        )
        .await?;
        w.commit().await
    }

    /// AddUserToGroup (a user is in at most 10 groups; adding a member again does nothing).
    pub async fn add_user_to_group(
        &self,
        actor: &Actor,
        group: &str,
        user: &str,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let g = require(&mut *w.tx, account, PrincipalKind::Group, group).await?;
        let u = require(&mut *w.tx, account, PrincipalKind::User, user).await?;
        let (gl, ul) = (g.name.to_lowercase(), u.name.to_lowercase());
        let member: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE account = $1 AND group_lower = $2 AND user_lower = $3")
            .bind(account)
            .bind(&gl)
            .bind(&ul)
            .fetch_one(&mut *w.tx)
            .await?;
        if member > 0 {
            return Ok(());
        }
        let groups: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM group_members WHERE account = $1 AND user_lower = $2",
        )
        .bind(account)
        .bind(&ul)
        .fetch_one(&mut *w.tx)
        .await?;
        if groups >= 10 {
            return Err(StoreError::limit(
                "Cannot exceed quota for GroupsPerUser: 10",
            ));
        }
        sqlx::query(
            "INSERT INTO group_members (account, group_lower, user_lower) VALUES ($1, $2, $3)",
        )
        .bind(account)
        .bind(&gl)
        .bind(&ul)
        .execute(&mut *w.tx)
        .await?;
        self.journal_principal(
            &mut w,
            actor,
            "AddUserToGroup",
            &g.arn,
            None,
            Some(json!({"UserName": u.name})),
        )
        .await?;
        w.commit().await
    }

    /// RemoveUserFromGroup (a user who is not a member is NoSuchEntity).
    pub async fn remove_user_from_group(
        &self,
        actor: &Actor,
        group: &str,
        user: &str,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let g = require(&mut *w.tx, account, PrincipalKind::Group, group).await?;
        let u = require(&mut *w.tx, account, PrincipalKind::User, user).await?;
        let done = sqlx::query(
            "DELETE FROM group_members WHERE account = $1 AND group_lower = $2 AND user_lower = $3",
        )
        .bind(account)
        .bind(g.name.to_lowercase())
        .bind(u.name.to_lowercase())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::no_such(format!(
                "The user with name {} is not in group {}.",
                u.name, g.name
            )));
        }
        self.journal_principal(
            &mut w,
            actor,
            "RemoveUserFromGroup",
            &g.arn,
            Some(json!({"UserName": u.name})),
            None,
        )
        .await?;
        w.commit().await
    }

    /// ListGroupsForUser.
    pub async fn list_groups_for_user(
        &self,
        account: &str,
        user: &str,
    ) -> Result<Vec<Group>, StoreError> {
        require(&self.db.pool, account, PrincipalKind::User, user).await?;
        let sql = format!(
            "SELECT {} FROM principals p JOIN group_members m
             ON m.account = p.account AND m.group_lower = p.name_lower AND p.kind = 'group'
             WHERE m.account = $1 AND m.user_lower = $2 ORDER BY p.name_lower",
            COLUMNS
                .split(", ")
                .map(|c| format!("p.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        sqlx::query(&sql)
            .bind(account)
            .bind(user.to_lowercase())
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|r| PrincipalRow::from_row(r).map(PrincipalRow::group))
            .collect()
    }

    // ---- roles ----

    /// CreateRole: the trust policy is validated as AWS validates one.
    #[allow(clippy::too_many_arguments)] // CreateRole's parameters, as the API has them.
    pub async fn create_role(
        &self,
        actor: &Actor,
        name: &str,
        path: Option<&str>,
        trust_policy: &str,
        description: Option<&str>,
        max_session_duration: Option<i64>,
        boundary: Option<&str>,
        tag_list: &[Tag],
    ) -> Result<Role, StoreError> {
        names::name("roleName", name, 64)?;
        let path = path.unwrap_or("/");
        names::path(path)?;
        if let Some(d) = description {
            names::role_description(d)?;
        }
        let max_session = check_max_session(max_session_duration)?;
        tags::check(tag_list)?;
        check_trust_policy(trust_policy)?;
        let mut w = self.db.begin().await?;
        let row = self
            .insert_principal(
                &mut w,
                actor,
                NewPrincipal {
                    kind: PrincipalKind::Role,
                    name,
                    path,
                    boundary,
                    trust_policy: Some(trust_policy),
                    description,
                    max_session: Some(max_session),
                    slr_service: None,
                },
                tag_list,
            )
            .await?;
        let role = row.role(tags::sorted(tag_list));
        self.journal_principal(
            &mut w,
            actor,
            "CreateRole",
            &role.arn,
            None,
            Some(json!(role)),
        )
        .await?;
        w.commit().await?;
        Ok(role)
    }

    /// GetRole.
    pub async fn get_role(&self, account: &str, name: &str) -> Result<Role, StoreError> {
        let row = require(&self.db.pool, account, PrincipalKind::Role, name).await?;
        let t = tags::list(
            &self.db.pool,
            account,
            &tags::target_principal(PrincipalKind::Role, name),
        )
        .await?;
        Ok(row.role(t))
    }

    /// ListRoles.
    pub async fn list_roles(
        &self,
        account: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<Role>, StoreError> {
        Ok(self
            .list_principals(account, PrincipalKind::Role, path_prefix)
            .await?
            .into_iter()
            .map(|r| r.role(Vec::new()))
            .collect())
    }

    /// Refuses changes to a service-linked role.
    pub(crate) fn unmodifiable(row: &PrincipalRow) -> Result<(), StoreError> {
        if row.slr_service.is_some() {
            return Err(StoreError::new(
                ErrorCode::UnmodifiableEntity,
                format!(
                    "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
                    row.name
                ),
            ));
        }
        Ok(())
    }

    /// DeleteRole: refused for service-linked roles and while policies are attached or inline.
    pub async fn delete_role(&self, actor: &Actor, name: &str) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = require(&mut *w.tx, account, PrincipalKind::Role, name).await?;
        Store::unmodifiable(&row)?;
        self.delete_role_rows(&mut w, actor, row, "DeleteRole", None)
            .await?;
        w.commit().await
    }

    async fn delete_role_rows(
        &self,
        w: &mut WriteTx,
        actor: &Actor,
        row: PrincipalRow,
        operation: &str,
        after: Option<serde_json::Value>,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let lower = row.name.to_lowercase();
        let service_linked = row.slr_service.is_some();
        if !service_linked {
            refuse_if_in_use(w, account, PrincipalKind::Role, &lower, &[ATTACHED, INLINE]).await?;
        } else {
            sqlx::query(
                "DELETE FROM attachments WHERE account = $1 AND kind = 'role' AND name_lower = $2",
            )
            .bind(account)
            .bind(&lower)
            .execute(&mut *w.tx)
            .await?;
        }
        let before = row.role(Vec::new());
        self.delete_principal_rows(w, account, PrincipalKind::Role, &lower)
            .await?;
        self.journal_principal(w, actor, operation, &before.arn, Some(json!(before)), after)
            .await?;
        Ok(())
    }

    /// UpdateAssumeRolePolicy.
    pub async fn update_assume_role_policy(
        &self,
        actor: &Actor,
        name: &str,
        trust_policy: &str,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = require(&mut *w.tx, account, PrincipalKind::Role, name).await?;
        Store::unmodifiable(&row)?;
        check_trust_policy(trust_policy)?;
        sqlx::query("UPDATE principals SET trust_policy = $1 WHERE account = $2 AND kind = 'role' AND name_lower = $3")
            .bind(trust_policy)
            .bind(account)
            .bind(row.name.to_lowercase())
            .execute(&mut *w.tx)
            .await?;
        let arn = row.arn.clone();
        let before = row.trust_policy.clone();
        self.journal_principal(
            &mut w,
            actor,
            "UpdateAssumeRolePolicy",
            &arn,
            Some(json!({"AssumeRolePolicyDocument": before})),
            Some(json!({"AssumeRolePolicyDocument": trust_policy})),
        )
        .await?;
        w.commit().await
    }

    /// UpdateRole: the description and the maximum session duration.
    pub async fn update_role(
        &self,
        actor: &Actor,
        name: &str,
        description: Option<&str>,
        max_session_duration: Option<i64>,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        if let Some(d) = description {
            names::role_description(d)?;
        }
        if max_session_duration.is_some() {
            check_max_session(max_session_duration)?;
        }
        let mut w = self.db.begin().await?;
        let row = require(&mut *w.tx, account, PrincipalKind::Role, name).await?;
        Store::unmodifiable(&row)?;
        let description = description.map(str::to_string).or(row.description.clone());
        let max_session = max_session_duration.or(row.max_session);
        sqlx::query("UPDATE principals SET description = $1, max_session = $2 WHERE account = $3 AND kind = 'role' AND name_lower = $4")
            .bind(description.clone())
            .bind(max_session)
            .bind(account)
            .bind(row.name.to_lowercase())
            .execute(&mut *w.tx)
            .await?;
        let arn = row.arn.clone();
        self.journal_principal(
            &mut w,
            actor,
            "UpdateRole",
            &arn,
            None,
            Some(json!({"Description": description, "MaxSessionDuration": max_session})),
        )
        .await?;
        w.commit().await
    }

    /// CreateServiceLinkedRole: the role, its trust policy for the service, and the service's
    /// provider policy attached.
    pub async fn create_service_linked_role(
        &self,
        actor: &Actor,
        service: &str,
        description: Option<&str>,
        custom_suffix: Option<&str>,
    ) -> Result<Role, StoreError> {
        let Some(&(_, role_name, policy_arn)) =
            SERVICE_LINKED_ROLES.iter().find(|(s, _, _)| *s == service)
        else {
            return Err(StoreError::invalid(format!(
                "Service role name for {service} is not known to Gatehouse. Known services: {}.",
                SERVICE_LINKED_ROLES
                    .iter()
                    .map(|(s, _, _)| *s)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if custom_suffix.is_some() {
            return Err(StoreError::invalid(format!(
                "Custom suffix is not allowed for {service}"
            )));
        }
        if let Some(d) = description {
            names::role_description(d)?;
        }
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        if find(&mut *w.tx, account, PrincipalKind::Role, role_name)
            .await?
            .is_some()
        {
            return Err(StoreError::invalid(format!(
                "Service role name {role_name} has been taken in this account, please try a different suffix."
            )));
        }
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policies WHERE arn = $1")
            .bind(policy_arn)
            .fetch_one(&mut *w.tx)
            .await?;
        if exists == 0 {
            return Err(StoreError::no_such(format!(
                "Policy {policy_arn} does not exist: load the provider catalog first."
            )));
        }
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let path = format!("/aws-service-role/{service}/");
        let row = self
            .insert_principal(
                &mut w,
                actor,
                NewPrincipal {
                    kind: PrincipalKind::Role,
                    name: role_name,
                    path: &path,
                    boundary: None,
                    trust_policy: Some(&trust),
                    description,
                    max_session: Some(3600),
                    slr_service: Some(service),
                },
                &[],
            )
            .await?;
        sqlx::query("INSERT INTO attachments (account, kind, name_lower, policy_arn) VALUES ($1, 'role', $2, $3)")
            .bind(account)
            .bind(role_name.to_lowercase())
            .bind(policy_arn)
            .execute(&mut *w.tx)
            .await?;
        let role = row.role(Vec::new());
        self.journal_principal(
            &mut w,
            actor,
            "CreateServiceLinkedRole",
            &role.arn,
            None,
            Some(json!(role)),
        )
        .await?;
        w.commit().await?;
        Ok(role)
    }

    /// DeleteServiceLinkedRole: deletes at once; returns the deletion task ID.
    pub async fn delete_service_linked_role(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<String, StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = require(&mut *w.tx, account, PrincipalKind::Role, name).await?;
        let Some(service) = row.slr_service.clone() else {
            return Err(StoreError::invalid(format!(
                "Role {} is not a service-linked role.",
                row.name
            )));
        };
        let task = format!(
            "task/aws-service-role/{service}/{}/{}",
            row.name,
            ids::unique_id("TASK")
        );
        let after = json!({ "DeletionTaskId": task });
        self.delete_role_rows(&mut w, actor, row, "DeleteServiceLinkedRole", Some(after))
            .await?;
        w.commit().await?;
        Ok(task)
    }

    /// GetServiceLinkedRoleDeletionStatus: deletions happen at once, so a task this account
    /// was given has succeeded; any other is `NoSuchEntity`.
    pub async fn service_linked_role_deletion_succeeded(
        &self,
        account: &str,
        task: &str,
    ) -> Result<bool, StoreError> {
        let after = json!({ "DeletionTaskId": task }).to_string();
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM journal WHERE account = $1 AND operation = 'DeleteServiceLinkedRole' AND after = $2",
        )
        .bind(account)
        .bind(after)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(found.is_some())
    }

    // ---- permissions boundaries ----

    /// Checks that a boundary ARN names an existing managed policy.
    async fn check_boundary_policy(
        &self,
        w: &mut WriteTx,
        account: &str,
        arn: &str,
    ) -> Result<(), StoreError> {
        let ok = arn.starts_with("arn:aws:iam::")
            && arn
                .split(':')
                .nth(5)
                .is_some_and(|r| r.starts_with("policy/"));
        if !ok {
            return Err(StoreError::invalid(format!("ARN {arn} is not valid.")));
        }
        let owner = arn.split(':').nth(4).unwrap_or("");
        let path: Option<String> = sqlx::query_scalar("SELECT path FROM policies WHERE arn = $1")
            .bind(arn)
            .fetch_optional(&mut *w.tx)
            .await?;
        let Some(path) = path.filter(|_| owner == "aws" || owner == account) else {
            return Err(StoreError::no_such(format!(
                "Scope ARN: {arn} does not exist or is not attachable."
            )));
        };
        // A service-role policy is for its service-linked role only, never a boundary.
        if owner == "aws" && path.starts_with("/aws-service-role/") {
            return Err(StoreError::new(
                ErrorCode::PolicyNotAttachable,
                format!("Cannot attach a Service Role Policy as a permissions boundary: {arn}."),
            ));
        }
        Ok(())
    }

    /// Put{User,Role}PermissionsBoundary.
    pub async fn put_permissions_boundary(
        &self,
        actor: &Actor,
        kind: PrincipalKind,
        name: &str,
        policy_arn: &str,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = require(&mut *w.tx, account, kind, name).await?;
        Store::unmodifiable(&row)?;
        self.check_boundary_policy(&mut w, account, policy_arn)
            .await?;
        sqlx::query("UPDATE principals SET boundary_arn = $1 WHERE account = $2 AND kind = $3 AND name_lower = $4")
            .bind(policy_arn)
            .bind(account)
            .bind(kind.as_str())
            .bind(row.name.to_lowercase())
            .execute(&mut *w.tx)
            .await?;
        let arn = row.arn.clone();
        self.journal_principal(
            &mut w,
            actor,
            "PutPermissionsBoundary",
            &arn,
            Some(json!({"PermissionsBoundary": row.boundary})),
            Some(json!({"PermissionsBoundary": policy_arn})),
        )
        .await?;
        w.commit().await
    }

    /// Delete{User,Role}PermissionsBoundary (none set: nothing to do).
    pub async fn delete_permissions_boundary(
        &self,
        actor: &Actor,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = require(&mut *w.tx, account, kind, name).await?;
        Store::unmodifiable(&row)?;
        if row.boundary.is_none() {
            return Ok(());
        }
        sqlx::query("UPDATE principals SET boundary_arn = NULL WHERE account = $1 AND kind = $2 AND name_lower = $3")
            .bind(account)
            .bind(kind.as_str())
            .bind(row.name.to_lowercase())
            .execute(&mut *w.tx)
            .await?;
        let arn = row.arn.clone();
        self.journal_principal(
            &mut w,
            actor,
            "DeletePermissionsBoundary",
            &arn,
            Some(json!({"PermissionsBoundary": row.boundary})),
            None,
        )
        .await?;
        w.commit().await
    }
}

/// What refuses a delete: a count over `$1` account, `$2` lower-case name, `$3` kind, and
/// AWS's DeleteConflict message. Deletes check them in AWS's order.
type InUse = (&'static str, &'static str);

const ATTACHED: InUse = (
    "SELECT COUNT(*) FROM attachments WHERE account = $1 AND name_lower = $2 AND kind = $3",
    "Cannot delete entity, must detach all policies first.",
);
const INLINE: InUse = (
    "SELECT COUNT(*) FROM inline_policies WHERE account = $1 AND name_lower = $2 AND kind = $3",
    "Cannot delete entity, must delete policies first.",
);
const KEYS: InUse = (
    "SELECT COUNT(*) FROM access_keys WHERE account = $1 AND user_lower = $2 AND $3 = 'user'",
    "Cannot delete entity, must delete access keys first.",
);
const MEMBERSHIPS: InUse = (
    "SELECT COUNT(*) FROM group_members WHERE account = $1 AND user_lower = $2 AND $3 = 'user'",
    "Cannot delete entity, must remove users from group first.",
);
const MEMBERS: InUse = (
    "SELECT COUNT(*) FROM group_members WHERE account = $1 AND group_lower = $2 AND $3 = 'group'",
    "Cannot delete entity, must remove users from group first.",
);

async fn refuse_if_in_use(
    w: &mut WriteTx,
    account: &str,
    kind: PrincipalKind,
    lower: &str,
    checks: &[InUse],
) -> Result<(), StoreError> {
    for (sql, message) in checks {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(account)
            .bind(lower)
            .bind(kind.as_str())
            .fetch_one(&mut *w.tx)
            .await?;
        if n > 0 {
            return Err(StoreError::conflict(*message));
        }
    }
    Ok(())
}

fn check_max_session(value: Option<i64>) -> Result<i64, StoreError> {
    let v = value.unwrap_or(3600);
    if !(3600..=43200).contains(&v) {
        return Err(StoreError::validation(format!(
            "1 validation error detected: Value '{v}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {}",
            if v < 3600 {
                "greater than or equal to 3600"
            } else {
                "less than or equal to 43200"
            }
        )));
    }
    Ok(v)
}

/// Validates a trust policy as AWS does (MalformedPolicyDocument, or LimitExceeded for size).
pub(crate) fn check_trust_policy(text: &str) -> Result<(), StoreError> {
    match validate(
        text,
        &ValidateOptions::new(PolicyKind::Trust, Mode::Customer),
    ) {
        Ok(_) => Ok(()),
        Err(diags) => Err(diags
            .first()
            .map(crate::policies::diagnostic_error)
            .unwrap_or_else(|| {
                StoreError::new(
                    ErrorCode::MalformedPolicyDocument,
                    "Syntax errors in policy.",
                )
            })),
    }
}
