//! Inline policies of users, groups and roles, with AWS's aggregate size quotas (user 2,048,
//! group 5,120, role 10,240 characters without whitespace, summed over the principal's inline
//! policies).

use gatehouse_policy::{Mode, PolicyKind, ValidateOptions, parse_policy, validate};
use serde_json::json;
use sqlx::Row;

use crate::db::Event;
use crate::error::{ErrorCode, StoreError};
use crate::model::PrincipalKind;
use crate::policies::diagnostic_error;
use crate::{Actor, Store, names, principals};

fn quota(kind: PrincipalKind) -> (usize, PolicyKind) {
    match kind {
        PrincipalKind::User => (2048, PolicyKind::InlineUser),
        PrincipalKind::Group => (5120, PolicyKind::InlineGroup),
        PrincipalKind::Role => (10240, PolicyKind::InlineRole),
    }
}

fn size(document: &str) -> usize {
    parse_policy(document).map_or(document.len(), |p| p.size_without_whitespace)
}

fn policy_not_found(kind: PrincipalKind, name: &str) -> StoreError {
    StoreError::no_such(format!(
        "The {} policy with name {name} cannot be found.",
        kind.as_str()
    ))
}

impl Store {
    /// Put{User,Group,Role}Policy: creates or replaces the inline policy.
    pub async fn put_inline_policy(
        &self,
        actor: &Actor,
        kind: PrincipalKind,
        principal: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        names::name(kind.field(), principal, 128)?;
        names::name("policyName", policy_name, 128)?;
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = principals::require(&mut *w.tx, account, kind, principal).await?;
        Store::unmodifiable(&row)?;
        let (limit, policy_kind) = quota(kind);
        let mut options = ValidateOptions::new(policy_kind, Mode::Customer);
        options.entity_name = Some(row.name.clone());
        if let Err(diags) = validate(document, &options) {
            return Err(diags.first().map(diagnostic_error).unwrap_or_else(|| {
                StoreError::new(
                    ErrorCode::MalformedPolicyDocument,
                    "Syntax errors in policy.",
                )
            }));
        }
        let lower = row.name.to_lowercase();
        let others = sqlx::query("SELECT policy_name, document FROM inline_policies WHERE account = $1 AND kind = $2 AND name_lower = $3")
            .bind(account)
            .bind(kind.as_str())
            .bind(&lower)
            .fetch_all(&mut *w.tx)
            .await?;
        let mut total = size(document);
        for r in &others {
            let n: String = r.try_get(0)?;
            if n != policy_name {
                let d: String = r.try_get(1)?;
                total += size(&d);
            }
        }
        if total > limit {
            return Err(StoreError::limit(format!(
                "Maximum policy size of {limit} bytes exceeded for {} {}",
                kind.as_str(),
                row.name
            )));
        }
        sqlx::query(
            "INSERT INTO inline_policies (account, kind, name_lower, policy_name, document) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (account, kind, name_lower, policy_name) DO UPDATE SET document = excluded.document",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(&lower)
        .bind(policy_name)
        .bind(document)
        .execute(&mut *w.tx)
        .await?;
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "PutInlinePolicy",
            entity: &row.arn,
            before: None,
            after: Some(json!({"PolicyName": policy_name, "Document": document})),
        })
        .await?;
        w.commit().await
    }

    /// Get{User,Group,Role}Policy: (principal name, document).
    pub async fn get_inline_policy(
        &self,
        account: &str,
        kind: PrincipalKind,
        principal: &str,
        policy_name: &str,
    ) -> Result<(String, String), StoreError> {
        let row = principals::require(&self.db.pool, account, kind, principal).await?;
        let doc: Option<String> = sqlx::query_scalar("SELECT document FROM inline_policies WHERE account = $1 AND kind = $2 AND name_lower = $3 AND policy_name = $4")
            .bind(account)
            .bind(kind.as_str())
            .bind(row.name.to_lowercase())
            .bind(policy_name)
            .fetch_optional(&self.db.pool)
            .await?;
        let doc = doc.ok_or_else(|| policy_not_found(kind, policy_name))?;
        Ok((row.name, doc))
    }

    /// Delete{User,Group,Role}Policy.
    pub async fn delete_inline_policy(
        &self,
        actor: &Actor,
        kind: PrincipalKind,
        principal: &str,
        policy_name: &str,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = principals::require(&mut *w.tx, account, kind, principal).await?;
        Store::unmodifiable(&row)?;
        let done = sqlx::query("DELETE FROM inline_policies WHERE account = $1 AND kind = $2 AND name_lower = $3 AND policy_name = $4")
            .bind(account)
            .bind(kind.as_str())
            .bind(row.name.to_lowercase())
            .bind(policy_name)
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(policy_not_found(kind, policy_name));
        }
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "DeleteInlinePolicy",
            entity: &row.arn,
            before: Some(json!({"PolicyName": policy_name})),
            after: None,
        })
        .await?;
        w.commit().await
    }

    /// List{User,Group,Role}Policies: the names, sorted.
    pub async fn list_inline_policies(
        &self,
        account: &str,
        kind: PrincipalKind,
        principal: &str,
    ) -> Result<Vec<String>, StoreError> {
        let row = principals::require(&self.db.pool, account, kind, principal).await?;
        Ok(sqlx::query_scalar("SELECT policy_name FROM inline_policies WHERE account = $1 AND kind = $2 AND name_lower = $3 ORDER BY policy_name")
            .bind(account)
            .bind(kind.as_str())
            .bind(row.name.to_lowercase())
            .fetch_all(&self.db.pool)
            .await?)
    }
}
