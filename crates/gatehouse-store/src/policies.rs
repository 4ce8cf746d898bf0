//! Managed policies of two owners, their versions, and their attachments.
//!
//! Provider-managed policies (`arn:aws:iam::aws:policy/...`) are visible to and attachable by
//! every account and read-only to all of them; only the provider publishes their versions.
//! Customer-managed policies belong to one account and keep at most five versions.

use gatehouse_policy::{Diagnostic, Mode, PolicyKind, ValidateOptions, validate};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::db::{Event, WriteTx};
use crate::error::{ErrorCode, StoreError};
use crate::model::{ManagedPolicy, PolicyVersion, PrincipalKind, Tag};
use crate::{Actor, Store, ids, names, principals, tags};

/// The account field of provider-managed policy ARNs.
pub const PROVIDER: &str = "aws";

/// At most this many versions of a customer-managed policy.
const MAX_VERSIONS: i64 = 5;

/// The error for a validator diagnostic, with AWS's code.
pub(crate) fn diagnostic_error(d: &Diagnostic) -> StoreError {
    let code = match d.code.as_str() {
        "LimitExceeded" => ErrorCode::LimitExceeded,
        _ => ErrorCode::MalformedPolicyDocument,
    };
    StoreError::new(code, d.message.clone())
}

/// Validates a document as a customer submits it.
pub(crate) fn check_document(text: &str, kind: PolicyKind) -> Result<(), StoreError> {
    match validate(text, &ValidateOptions::new(kind, Mode::Customer)) {
        Ok(_) => Ok(()),
        Err(diags) => Err(diags.first().map(diagnostic_error).unwrap_or_else(|| {
            StoreError::new(
                ErrorCode::MalformedPolicyDocument,
                "Syntax errors in policy.",
            )
        })),
    }
}

/// The parts of a managed policy ARN: account (`aws` for provider policies), path, name.
pub(crate) fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_name = resource.strip_prefix("policy")?;
    if !path_name.starts_with('/') {
        return None;
    }
    let i = path_name.rfind('/')?;
    let (path, name) = (path_name.get(..=i)?, path_name.get(i + 1..)?);
    let account_ok =
        account == PROVIDER || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    (account_ok && !name.is_empty()).then_some((account, path, name))
}

pub(crate) fn policy_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:policy{path}{name}")
}

/// One policy row.
pub(crate) struct PolicyRow {
    pub(crate) arn: String,
    pub(crate) account: String,
    name: String,
    id: String,
    path: String,
    description: Option<String>,
    pub(crate) default_version: String,
    next_version: i64,
    created_at: i64,
    updated_at: i64,
}

const POLICY_COLUMNS: &str = "arn, account, name, id, path, description, default_version, next_version, created_at, updated_at";

impl PolicyRow {
    fn from_row(r: &AnyRow) -> Result<PolicyRow, StoreError> {
        Ok(PolicyRow {
            arn: r.try_get(0)?,
            account: r.try_get(1)?,
            name: r.try_get(2)?,
            id: r.try_get(3)?,
            path: r.try_get(4)?,
            description: r.try_get(5)?,
            default_version: r.try_get(6)?,
            next_version: r.try_get(7)?,
            created_at: r.try_get(8)?,
            updated_at: r.try_get(9)?,
        })
    }

    fn provider(&self) -> bool {
        self.account == PROVIDER
    }

    fn into_policy(
        self,
        attachment_count: i64,
        boundary_usage_count: i64,
        tags: Vec<Tag>,
    ) -> ManagedPolicy {
        ManagedPolicy {
            provider: self.provider(),
            name: self.name,
            id: self.id,
            arn: self.arn,
            path: self.path,
            default_version_id: self.default_version,
            attachment_count,
            boundary_usage_count,
            is_attachable: true,
            description: self.description,
            created_at: self.created_at,
            updated_at: self.updated_at,
            tags,
        }
    }
}

/// A policy by ARN, if the account can see it (its own, or a provider policy).
pub(crate) async fn find<'e, E: Executor<'e, Database = Any>>(
    e: E,
    account: &str,
    arn: &str,
) -> Result<Option<PolicyRow>, StoreError> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE arn = $1 AND (account = $2 OR account = $3)"
    );
    let row = sqlx::query(&sql)
        .bind(arn)
        .bind(account)
        .bind(PROVIDER)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(PolicyRow::from_row).transpose()
}

/// AWS's NoSuchEntity for a policy ARN: `Policy arn:aws:iam::...:policy/x was not found.`
fn not_found(arn: &str) -> StoreError {
    StoreError::no_such(format!("Policy {arn} was not found."))
}

fn version_not_found(arn: &str, vid: &str) -> StoreError {
    StoreError::no_such(format!(
        "Policy {arn} version {vid} does not exist or is not attachable."
    ))
}

fn check_arn(arn: &str, code: ErrorCode) -> Result<(), StoreError> {
    names::arn_length("policyArn", arn)?;
    if parse_arn(arn).is_none() {
        return Err(StoreError::new(code, format!("ARN {arn} is not valid.")));
    }
    Ok(())
}

/// Filters for ListPolicies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Provider and customer policies (the default).
    #[default]
    All,
    /// Provider-managed policies only (`AWS`).
    Provider,
    /// The account's own policies (`Local`).
    Local,
}

/// How a policy is used, for ListPolicies and ListEntitiesForPolicy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Attached as a permissions policy.
    PermissionsPolicy,
    /// Used as a permissions boundary.
    PermissionsBoundary,
}

/// The users, groups and roles a policy is attached to (or bounds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyEntities {
    /// Users: (name, id).
    pub users: Vec<(String, String)>,
    /// Groups: (name, id).
    pub groups: Vec<(String, String)>,
    /// Roles: (name, id).
    pub roles: Vec<(String, String)>,
}

impl Store {
    /// The account's attachments of a policy and its uses as a permissions boundary.
    async fn counts<'e, E: Executor<'e, Database = Any>>(
        &self,
        e: E,
        account: &str,
        arn: &str,
    ) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM attachments WHERE policy_arn = $1 AND account = $2),
                    (SELECT COUNT(*) FROM principals WHERE boundary_arn = $1 AND account = $2)",
        )
        .bind(arn)
        .bind(account)
        .fetch_one(e)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// CreatePolicy: version v1, the default.
    pub async fn create_policy(
        &self,
        actor: &Actor,
        name: &str,
        path: Option<&str>,
        document: &str,
        description: Option<&str>,
        tag_list: &[Tag],
    ) -> Result<ManagedPolicy, StoreError> {
        names::name("policyName", name, 128)?;
        let path = path.unwrap_or("/");
        names::policy_path(path)?;
        if let Some(d) = description {
            names::description(d)?;
        }
        tags::check(tag_list)?;
        check_document(document, PolicyKind::Identity)?;
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        self.ensure_account(&mut w, account).await?;
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM policies WHERE account = $1 AND name_lower = $2",
        )
        .bind(account)
        .bind(name.to_lowercase())
        .fetch_one(&mut *w.tx)
        .await?;
        if taken > 0 {
            return Err(StoreError::exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        let arn = policy_arn(account, path, name);
        let now = self.now();
        insert_policy(&mut w, &arn, account, name, path, description, now).await?;
        insert_version(&mut w, &arn, 1, document, now, None).await?;
        tags::insert(&mut w, account, tags::target_policy(&arn), tag_list).await?;
        let policy = find(&mut *w.tx, account, &arn)
            .await?
            .ok_or_else(|| not_found(&arn))?
            .into_policy(0, 0, tags::sorted(tag_list));
        w.journal(Event {
            at: now,
            account,
            actor: &actor.arn,
            operation: "CreatePolicy",
            entity: &arn,
            before: None,
            after: Some(json!({"Policy": policy, "Document": document})),
        })
        .await?;
        w.commit().await?;
        Ok(policy)
    }

    /// GetPolicy, with the asking account's attachment counts.
    pub async fn get_policy(&self, account: &str, arn: &str) -> Result<ManagedPolicy, StoreError> {
        check_arn(arn, ErrorCode::InvalidInput)?;
        // One statement for the policy and the account's counts (GetPolicy is the hot read).
        let sql = format!(
            "SELECT {POLICY_COLUMNS},
               (SELECT COUNT(*) FROM attachments a WHERE a.policy_arn = p.arn AND a.account = $2),
               (SELECT COUNT(*) FROM principals b WHERE b.boundary_arn = p.arn AND b.account = $2)
             FROM policies p WHERE p.arn = $1 AND (p.account = $2 OR p.account = $3)"
        );
        let r = sqlx::query(&sql)
            .bind(arn)
            .bind(account)
            .bind(PROVIDER)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| not_found(arn))?;
        let row = PolicyRow::from_row(&r)?;
        let attached: i64 = r.try_get(10)?;
        let bounds: i64 = r.try_get(11)?;
        let t = if row.provider() {
            Vec::new()
        } else {
            tags::list(&self.db.pool, account, &tags::target_policy(arn)).await?
        };
        Ok(row.into_policy(attached, bounds, t))
    }

    /// ListPolicies: by scope, attachment, path prefix and usage; by name.
    pub async fn list_policies(
        &self,
        account: &str,
        scope: Scope,
        only_attached: bool,
        path_prefix: Option<&str>,
        usage: Option<Usage>,
    ) -> Result<Vec<ManagedPolicy>, StoreError> {
        let sql = format!(
            "SELECT {POLICY_COLUMNS},
               (SELECT COUNT(*) FROM attachments a WHERE a.policy_arn = p.arn AND a.account = $1),
               (SELECT COUNT(*) FROM principals b WHERE b.boundary_arn = p.arn AND b.account = $1)
             FROM policies p WHERE p.account = $2 OR p.account = $1 ORDER BY p.name_lower, p.arn"
        );
        let rows = sqlx::query(&sql)
            .bind(account)
            .bind(PROVIDER)
            .fetch_all(&self.db.pool)
            .await?;
        let prefix = names::path_prefix(path_prefix)?;
        let mut out = Vec::new();
        for r in &rows {
            let row = PolicyRow::from_row(r)?;
            let attached: i64 = r.try_get(10)?;
            let bounds: i64 = r.try_get(11)?;
            let keep_scope = match scope {
                Scope::All => true,
                Scope::Provider => row.provider(),
                Scope::Local => !row.provider(),
            };
            let used = match usage {
                None => attached > 0 || bounds > 0,
                Some(Usage::PermissionsPolicy) => attached > 0,
                Some(Usage::PermissionsBoundary) => bounds > 0,
            };
            let keep_usage = match (only_attached, usage) {
                (false, None) => true,
                _ => used,
            };
            if keep_scope && keep_usage && row.path.starts_with(prefix) {
                out.push(row.into_policy(attached, bounds, Vec::new()));
            }
        }
        Ok(out)
    }

    /// Checks that a policy exists for the account and is its own (provider policies: the
    /// given AccessDenied message).
    pub(crate) async fn require_customer_policy(
        &self,
        w: &mut WriteTx,
        account: &str,
        arn: &str,
        denied: &str,
    ) -> Result<PolicyRow, StoreError> {
        check_arn(arn, ErrorCode::InvalidInput)?;
        let row = find(&mut *w.tx, account, arn)
            .await?
            .ok_or_else(|| not_found(arn))?;
        if row.provider() {
            return Err(StoreError::denied(denied));
        }
        Ok(row)
    }

    /// Like `require_customer_policy`, for an operation on one version: a missing policy is
    /// AWS's "version does not exist" error.
    async fn require_version_policy(
        &self,
        w: &mut WriteTx,
        account: &str,
        arn: &str,
        version_id: &str,
        denied: &str,
    ) -> Result<PolicyRow, StoreError> {
        self.require_customer_policy(w, account, arn, denied)
            .await
            .map_err(|e| match e.code {
                ErrorCode::NoSuchEntity => version_not_found(arn, version_id),
                _ => e,
            })
    }

    /// DeletePolicy: refused while attached or used as a boundary, or while it has versions
    /// other than the default.
    pub async fn delete_policy(&self, actor: &Actor, arn: &str) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = self
            .require_customer_policy(
                &mut w,
                account,
                arn,
                "Cannot delete policies outside your own account.",
            )
            .await?;
        let (attached, bounds) = self.counts(&mut *w.tx, account, arn).await?;
        if attached > 0 || bounds > 0 {
            return Err(StoreError::conflict(
                "Cannot delete a policy attached to entities.",
            ));
        }
        let versions: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM policy_versions WHERE policy_arn = $1")
                .bind(arn)
                .fetch_one(&mut *w.tx)
                .await?;
        if versions > 1 {
            return Err(StoreError::conflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
            ));
        }
        for sql in [
            "DELETE FROM policy_versions WHERE policy_arn = $1",
            "DELETE FROM policies WHERE arn = $1",
        ] {
            sqlx::query(sql).bind(arn).execute(&mut *w.tx).await?;
        }
        sqlx::query("DELETE FROM tags WHERE kind = 'policy' AND target = $1")
            .bind(arn)
            .execute(&mut *w.tx)
            .await?;
        let before = row.into_policy(0, 0, Vec::new());
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "DeletePolicy",
            entity: arn,
            before: Some(json!(before)),
            after: None,
        })
        .await?;
        w.commit().await
    }

    /// CreatePolicyVersion (customer-managed policies; at most 5 versions).
    pub async fn create_policy_version(
        &self,
        actor: &Actor,
        arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> Result<PolicyVersion, StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = self
            .require_customer_policy(
                &mut w,
                account,
                arn,
                "Cannot update policies outside your own account.",
            )
            .await?;
        check_document(document, PolicyKind::Identity)?;
        let versions: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM policy_versions WHERE policy_arn = $1")
                .bind(arn)
                .fetch_one(&mut *w.tx)
                .await?;
        if versions >= MAX_VERSIONS {
            return Err(StoreError::limit(
                "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
            ));
        }
        let now = self.now();
        let number = row.next_version;
        let version = insert_version(&mut w, arn, number, document, now, None).await?;
        let default = if set_as_default {
            version.clone()
        } else {
            row.default_version.clone()
        };
        sqlx::query("UPDATE policies SET next_version = $1, updated_at = $2, default_version = $3 WHERE arn = $4")
            .bind(number + 1)
            .bind(now)
            .bind(&default)
            .bind(arn)
            .execute(&mut *w.tx)
            .await?;
        w.journal(Event {
            at: now,
            account,
            actor: &actor.arn,
            operation: "CreatePolicyVersion",
            entity: arn,
            before: Some(json!({"DefaultVersionId": row.default_version})),
            after: Some(
                json!({"VersionId": version, "DefaultVersionId": default, "Document": document}),
            ),
        })
        .await?;
        w.commit().await?;
        Ok(PolicyVersion {
            is_default: set_as_default,
            version_id: version,
            document: None,
            created_at: now,
            change_description: None,
        })
    }

    /// GetPolicyVersion, with its document.
    pub async fn get_policy_version(
        &self,
        account: &str,
        arn: &str,
        version_id: &str,
    ) -> Result<PolicyVersion, StoreError> {
        names::version_id(version_id)?;
        check_arn(arn, ErrorCode::InvalidInput)?;
        let row = find(&self.db.pool, account, arn)
            .await?
            .ok_or_else(|| version_not_found(arn, version_id))?;
        let v = sqlx::query("SELECT version_id, document, created_at, change_description FROM policy_versions WHERE policy_arn = $1 AND version_id = $2")
            .bind(arn)
            .bind(version_id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| version_not_found(arn, version_id))?;
        let vid: String = v.try_get(0)?;
        Ok(PolicyVersion {
            is_default: vid == row.default_version,
            version_id: vid,
            document: Some(v.try_get(1)?),
            created_at: v.try_get(2)?,
            change_description: v.try_get(3)?,
        })
    }

    /// The default version's document of a policy the account can see.
    pub async fn default_document(
        &self,
        account: &str,
        arn: &str,
    ) -> Result<(String, String), StoreError> {
        let row = find(&self.db.pool, account, arn)
            .await?
            .ok_or_else(|| not_found(arn))?;
        let doc: String = sqlx::query_scalar(
            "SELECT document FROM policy_versions WHERE policy_arn = $1 AND version_id = $2",
        )
        .bind(arn)
        .bind(&row.default_version)
        .fetch_one(&self.db.pool)
        .await?;
        Ok((row.default_version, doc))
    }

    /// ListPolicyVersions: newest first, without documents.
    pub async fn list_policy_versions(
        &self,
        account: &str,
        arn: &str,
    ) -> Result<Vec<PolicyVersion>, StoreError> {
        check_arn(arn, ErrorCode::InvalidInput)?;
        let row = find(&self.db.pool, account, arn)
            .await?
            .ok_or_else(|| not_found(arn))?;
        let rows = sqlx::query("SELECT version_id, created_at, change_description FROM policy_versions WHERE policy_arn = $1 ORDER BY number DESC")
            .bind(arn)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let vid: String = r.try_get(0)?;
                Ok(PolicyVersion {
                    is_default: vid == row.default_version,
                    version_id: vid,
                    document: None,
                    created_at: r.try_get(1)?,
                    change_description: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// DeletePolicyVersion: never the default version.
    pub async fn delete_policy_version(
        &self,
        actor: &Actor,
        arn: &str,
        version_id: &str,
    ) -> Result<(), StoreError> {
        names::version_id(version_id)?;
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = self
            .require_version_policy(
                &mut w,
                account,
                arn,
                version_id,
                "Cannot delete policy versions for policies outside your own account.",
            )
            .await?;
        if row.default_version == version_id {
            return Err(StoreError::conflict(
                "Cannot delete the default version of a policy.",
            ));
        }
        let done =
            sqlx::query("DELETE FROM policy_versions WHERE policy_arn = $1 AND version_id = $2")
                .bind(arn)
                .bind(version_id)
                .execute(&mut *w.tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(version_not_found(arn, version_id));
        }
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "DeletePolicyVersion",
            entity: arn,
            before: Some(json!({"VersionId": version_id})),
            after: None,
        })
        .await?;
        w.commit().await
    }

    /// SetDefaultPolicyVersion.
    pub async fn set_default_policy_version(
        &self,
        actor: &Actor,
        arn: &str,
        version_id: &str,
    ) -> Result<(), StoreError> {
        names::version_id(version_id)?;
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = self
            .require_version_policy(
                &mut w,
                account,
                arn,
                version_id,
                "Cannot update policies outside your own account.",
            )
            .await?;
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM policy_versions WHERE policy_arn = $1 AND version_id = $2",
        )
        .bind(arn)
        .bind(version_id)
        .fetch_one(&mut *w.tx)
        .await?;
        if exists == 0 {
            return Err(version_not_found(arn, version_id));
        }
        sqlx::query("UPDATE policies SET default_version = $1 WHERE arn = $2")
            .bind(version_id)
            .bind(arn)
            .execute(&mut *w.tx)
            .await?;
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "SetDefaultPolicyVersion",
            entity: arn,
            before: Some(json!({"DefaultVersionId": row.default_version})),
            after: Some(json!({"DefaultVersionId": version_id})),
        })
        .await?;
        w.commit().await
    }

    // ---- attachments ----

    /// Attach{User,Group,Role}Policy.
    pub async fn attach_policy(
        &self,
        actor: &Actor,
        kind: PrincipalKind,
        name: &str,
        arn: &str,
    ) -> Result<(), StoreError> {
        names::name(kind.field(), name, kind.max_name())?;
        check_arn(arn, ErrorCode::ValidationError)?;
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = principals::require(&mut *w.tx, account, kind, name).await?;
        Store::unmodifiable(&row)?;
        let policy = find(&mut *w.tx, account, arn).await?.ok_or_else(|| {
            StoreError::no_such(format!("Policy {arn} does not exist or is not attachable."))
        })?;
        if policy.provider() && policy.path.starts_with("/aws-service-role/") {
            return Err(StoreError::new(
                ErrorCode::PolicyNotAttachable,
                "Cannot attach a Service Role Policy to a Customer Role.",
            ));
        }
        let lower = row.name.to_lowercase();
        // Whether it is attached already, and how many are: one query.
        let counts = sqlx::query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN policy_arn = $4 THEN 1 ELSE 0 END), 0)
             FROM attachments WHERE account = $1 AND kind = $2 AND name_lower = $3",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(&lower)
        .bind(arn)
        .fetch_one(&mut *w.tx)
        .await?;
        let (count, already): (i64, i64) = (counts.try_get(0)?, counts.try_get(1)?);
        if already > 0 {
            return Ok(());
        }
        let quota = match kind {
            PrincipalKind::Group => 10,
            _ => self.options.managed_policies_per_principal,
        };
        if count >= quota {
            let which = match kind {
                PrincipalKind::User => "PoliciesPerUser",
                PrincipalKind::Group => "PoliciesPerGroup",
                PrincipalKind::Role => "PoliciesPerRole",
            };
            return Err(StoreError::limit(format!(
                "Cannot exceed quota for {which}: {quota}"
            )));
        }
        sqlx::query("INSERT INTO attachments (account, kind, name_lower, policy_arn) VALUES ($1, $2, $3, $4)")
            .bind(account)
            .bind(kind.as_str())
            .bind(&lower)
            .bind(arn)
            .execute(&mut *w.tx)
            .await?;
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "AttachPolicy",
            entity: &row.arn,
            before: None,
            after: Some(json!({"PolicyArn": arn})),
        })
        .await?;
        w.commit().await
    }

    /// Detach{User,Group,Role}Policy.
    pub async fn detach_policy(
        &self,
        actor: &Actor,
        kind: PrincipalKind,
        name: &str,
        arn: &str,
    ) -> Result<(), StoreError> {
        check_arn(arn, ErrorCode::ValidationError)?;
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = principals::require(&mut *w.tx, account, kind, name).await?;
        Store::unmodifiable(&row)?;
        let done = sqlx::query("DELETE FROM attachments WHERE account = $1 AND kind = $2 AND name_lower = $3 AND policy_arn = $4")
            .bind(account)
            .bind(kind.as_str())
            .bind(row.name.to_lowercase())
            .bind(arn)
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(arn));
        }
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "DetachPolicy",
            entity: &row.arn,
            before: Some(json!({"PolicyArn": arn})),
            after: None,
        })
        .await?;
        w.commit().await
    }

    /// ListAttached{User,Group,Role}Policies: (name, ARN), filtered on the policy path.
    pub async fn list_attached_policies(
        &self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let row = principals::require(&self.db.pool, account, kind, name).await?;
        let rows = sqlx::query(
            "SELECT p.name, p.arn, p.path FROM attachments a JOIN policies p ON p.arn = a.policy_arn
             WHERE a.account = $1 AND a.kind = $2 AND a.name_lower = $3 ORDER BY p.name_lower",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(row.name.to_lowercase())
        .fetch_all(&self.db.pool)
        .await?;
        let prefix = names::path_prefix(path_prefix)?;
        let mut out = Vec::new();
        for r in &rows {
            let path: String = r.try_get(2)?;
            if path.starts_with(prefix) {
                out.push((r.try_get(0)?, r.try_get(1)?));
            }
        }
        Ok(out)
    }

    /// ListEntitiesForPolicy: the account's users, groups and roles using the policy.
    pub async fn list_entities_for_policy(
        &self,
        account: &str,
        arn: &str,
        kind: Option<PrincipalKind>,
        path_prefix: Option<&str>,
        usage: Option<Usage>,
    ) -> Result<PolicyEntities, StoreError> {
        check_arn(arn, ErrorCode::InvalidInput)?;
        find(&self.db.pool, account, arn).await?.ok_or_else(|| {
            StoreError::no_such(format!("Policy {arn} does not exist or is not attachable."))
        })?;
        let mut sql = Vec::new();
        if usage != Some(Usage::PermissionsBoundary) {
            sql.push(
                "SELECT p.kind, p.name, p.id, p.path FROM attachments a JOIN principals p
                 ON p.account = a.account AND p.kind = a.kind AND p.name_lower = a.name_lower
                 WHERE a.account = $1 AND a.policy_arn = $2",
            );
        }
        if usage != Some(Usage::PermissionsPolicy) {
            sql.push("SELECT kind, name, id, path FROM principals WHERE account = $1 AND boundary_arn = $2");
        }
        let mut out = PolicyEntities::default();
        let prefix = names::path_prefix(path_prefix)?;
        for q in sql {
            for r in sqlx::query(q)
                .bind(account)
                .bind(arn)
                .fetch_all(&self.db.pool)
                .await?
            {
                let k: String = r.try_get(0)?;
                let path: String = r.try_get(3)?;
                if !path.starts_with(prefix) || kind.is_some_and(|want| want.as_str() != k) {
                    continue;
                }
                let entry = (r.try_get(1)?, r.try_get(2)?);
                let list = match k.as_str() {
                    "user" => &mut out.users,
                    "group" => &mut out.groups,
                    _ => &mut out.roles,
                };
                if !list.contains(&entry) {
                    list.push(entry);
                }
            }
        }
        for list in [&mut out.users, &mut out.groups, &mut out.roles] {
            list.sort();
        }
        Ok(out)
    }
}

pub(crate) async fn insert_policy(
    w: &mut WriteTx,
    arn: &str,
    account: &str,
    name: &str,
    path: &str,
    description: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO policies (arn, account, name, name_lower, id, path, description, default_version,
         next_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'v1', 2, $8, $8)",
    )
    .bind(arn)
    .bind(account)
    .bind(name)
    .bind(name.to_lowercase())
    .bind(ids::unique_id("ANPA"))
    .bind(path)
    .bind(description)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// Inserts version `v<number>`; returns its ID.
pub(crate) async fn insert_version(
    w: &mut WriteTx,
    arn: &str,
    number: i64,
    document: &str,
    at: i64,
    change_description: Option<&str>,
) -> Result<String, StoreError> {
    let vid = format!("v{number}");
    sqlx::query(
        "INSERT INTO policy_versions (policy_arn, version_id, number, document, created_at, change_description)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(arn)
    .bind(&vid)
    .bind(number)
    .bind(document)
    .bind(at)
    .bind(change_description)
    .execute(&mut *w.tx)
    .await?;
    Ok(vid)
}
