//! Tags on users, roles and customer-managed policies: at most 50, keys unique ignoring case.

use serde_json::json;
use sqlx::{Any, Executor, Row};

use crate::db::{Event, WriteTx};
use crate::error::StoreError;
use crate::model::{PrincipalKind, Tag};
use crate::{Actor, Store, names, principals};

const MAX_TAGS: usize = 50;

/// Where tags are kept: a principal (kind and lower-case name) or a policy (its ARN).
pub(crate) struct Target {
    kind: &'static str,
    key: String,
}

pub(crate) fn target_principal(kind: PrincipalKind, name: &str) -> Target {
    Target {
        kind: kind.as_str(),
        key: name.to_lowercase(),
    }
}

pub(crate) fn target_policy(arn: &str) -> Target {
    Target {
        kind: "policy",
        key: arn.to_string(),
    }
}

/// Checks a tag list given in a request: at most 50, valid keys and values, no key twice.
pub(crate) fn check(tags: &[Tag]) -> Result<(), StoreError> {
    if tags.len() > MAX_TAGS {
        return Err(StoreError::validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
        ));
    }
    for (i, t) in tags.iter().enumerate() {
        names::tag(i + 1, &t.key, &t.value)?;
    }
    for (i, t) in tags.iter().enumerate() {
        if tags
            .iter()
            .skip(i + 1)
            .any(|u| u.key.to_lowercase() == t.key.to_lowercase())
        {
            return Err(StoreError::invalid(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

/// The tags sorted by key, as AWS lists them.
pub(crate) fn sorted(tags: &[Tag]) -> Vec<Tag> {
    let mut v = tags.to_vec();
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
}

/// Writes tags, replacing values of keys that exist (ignoring case).
pub(crate) async fn insert(
    w: &mut WriteTx,
    account: &str,
    target: Target,
    tags: &[Tag],
) -> Result<(), StoreError> {
    for t in tags {
        sqlx::query(
            "INSERT INTO tags (account, kind, target, key, key_lower, value) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account, kind, target, key_lower) DO UPDATE SET key = excluded.key, value = excluded.value",
        )
        .bind(account)
        .bind(target.kind)
        .bind(&target.key)
        .bind(&t.key)
        .bind(t.key.to_lowercase())
        .bind(&t.value)
        .execute(&mut *w.tx)
        .await?;
    }
    Ok(())
}

/// The tags of a target, sorted by key.
pub(crate) async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    account: &str,
    target: &Target,
) -> Result<Vec<Tag>, StoreError> {
    let rows = sqlx::query(
        "SELECT key, value FROM tags WHERE account = $1 AND kind = $2 AND target = $3 ORDER BY key",
    )
    .bind(account)
    .bind(target.kind)
    .bind(&target.key)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Tag {
                key: r.try_get(0)?,
                value: r.try_get(1)?,
            })
        })
        .collect()
}

impl Store {
    /// The target of a tag operation, checked to exist.
    async fn tag_target(
        &self,
        w: &mut WriteTx,
        actor: &Actor,
        on: &TagOn<'_>,
    ) -> Result<(Target, String), StoreError> {
        match on {
            TagOn::Principal(kind, name) => {
                let row = principals::require(&mut *w.tx, &actor.account, *kind, name).await?;
                Ok((target_principal(*kind, name), row.arn))
            }
            TagOn::Policy(arn) => {
                self.require_customer_policy(
                    w,
                    &actor.account,
                    arn,
                    "Cannot update policies outside your own account.",
                )
                .await?;
                Ok((target_policy(arn), arn.to_string()))
            }
        }
    }

    /// Tag{User,Role,Policy}: merges (a key given again, in any case, takes the new value).
    pub async fn tag(&self, actor: &Actor, on: TagOn<'_>, tags: &[Tag]) -> Result<(), StoreError> {
        check(tags)?;
        let mut w = self.db.begin().await?;
        let (target, arn) = self.tag_target(&mut w, actor, &on).await?;
        let existing = list(&mut *w.tx, &actor.account, &target).await?;
        let new_keys = tags
            .iter()
            .filter(|t| {
                !existing
                    .iter()
                    .any(|e| e.key.to_lowercase() == t.key.to_lowercase())
            })
            .count();
        if existing.len() + new_keys > MAX_TAGS {
            return Err(StoreError::limit(format!(
                "The number of tags has reached the maximum limit of {MAX_TAGS}."
            )));
        }
        insert(&mut w, &actor.account, target, tags).await?;
        w.journal(Event {
            at: self.now(),
            account: &actor.account,
            actor: &actor.arn,
            operation: "Tag",
            entity: &arn,
            before: None,
            after: Some(json!(tags)),
        })
        .await?;
        w.commit().await
    }

    /// Untag{User,Role,Policy}: removes keys (ignoring case); absent keys are ignored.
    pub async fn untag(
        &self,
        actor: &Actor,
        on: TagOn<'_>,
        keys: &[String],
    ) -> Result<(), StoreError> {
        if keys.len() > MAX_TAGS {
            return Err(StoreError::validation(
                "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50",
            ));
        }
        let mut w = self.db.begin().await?;
        let (target, arn) = self.tag_target(&mut w, actor, &on).await?;
        for k in keys {
            sqlx::query("DELETE FROM tags WHERE account = $1 AND kind = $2 AND target = $3 AND key_lower = $4")
                .bind(&actor.account)
                .bind(target.kind)
                .bind(&target.key)
                .bind(k.to_lowercase())
                .execute(&mut *w.tx)
                .await?;
        }
        w.journal(Event {
            at: self.now(),
            account: &actor.account,
            actor: &actor.arn,
            operation: "Untag",
            entity: &arn,
            before: Some(json!(keys)),
            after: None,
        })
        .await?;
        w.commit().await
    }

    /// List{User,Role,Policy}Tags, sorted by key.
    pub async fn list_tags(&self, account: &str, on: TagOn<'_>) -> Result<Vec<Tag>, StoreError> {
        let target = match on {
            TagOn::Principal(kind, name) => {
                principals::require(&self.db.pool, account, kind, name).await?;
                target_principal(kind, name)
            }
            TagOn::Policy(arn) => {
                self.get_policy(account, arn).await?;
                target_policy(arn)
            }
        };
        list(&self.db.pool, account, &target).await
    }
}

/// What a tag operation is about.
#[derive(Clone, Copy, Debug)]
pub enum TagOn<'a> {
    /// A user or role, by name.
    Principal(PrincipalKind, &'a str),
    /// A customer-managed policy, by ARN.
    Policy(&'a str),
}
