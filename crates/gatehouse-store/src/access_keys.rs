//! Access keys: at most two per user, active or inactive; the secret is encrypted at rest.
//!
//! Every signed request looks its key up, so found keys are cached with the journal sequence
//! they were read at, as effective policies are (`effective.rs`): any change anywhere advances
//! the sequence (a commit here, or [`Store::refresh`] for other nodes' changes), and the next
//! lookup of a key read before it runs its query again. A status change or a delete therefore
//! takes effect on the next request. A hit runs no SQL and decrypts nothing. Keys that are
//! not found are not cached.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::json;
use sqlx::Row;

use crate::db::Event;
use crate::error::StoreError;
use crate::model::{AccessKey, PrincipalKind};
use crate::{Actor, Store, crypto, ids, principals};

/// A key found for authentication: who owns it and its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOwner {
    /// The account.
    pub account: String,
    /// The user's name.
    pub user_name: String,
    /// The user's ARN.
    pub user_arn: String,
    /// The user's unique ID.
    pub user_id: String,
    /// The secret access key.
    pub secret: String,
    /// Whether the key is active.
    pub active: bool,
    /// Whether the key is the account root user's (then `user_name` is empty and `user_arn`
    /// is `arn:aws:iam::ACCOUNT:root`).
    pub root: bool,
}

/// The most keys cached; past it the cache starts again (a node serves far fewer keys).
const MAX_CACHED_KEYS: usize = 100_000;

/// Found keys with the journal sequence they were read at.
#[derive(Default)]
pub(crate) struct KeyCache {
    keys: Mutex<HashMap<String, (i64, KeyOwner)>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").finish_non_exhaustive()
    }
}

impl KeyCache {
    /// Evicts the keys a journal event makes stale.
    pub(crate) fn evict(&self, stale: &crate::effective::Stale) {
        if let Ok(mut map) = self.keys.lock() {
            map.retain(|_, (_, owner)| !stale.hits_key(owner));
        }
    }
}

fn key_not_found(id: &str) -> StoreError {
    StoreError::no_such(format!("The Access Key with id {id} cannot be found."))
}

impl Store {
    /// CreateAccessKey: the only time the secret is returned.
    pub async fn create_access_key(
        &self,
        actor: &Actor,
        user: &str,
    ) -> Result<AccessKey, StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = principals::require(&mut *w.tx, account, PrincipalKind::User, user).await?;
        let lower = row.name.to_lowercase();
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM access_keys WHERE account = $1 AND user_lower = $2",
        )
        .bind(account)
        .bind(&lower)
        .fetch_one(&mut *w.tx)
        .await?;
        if count >= 2 {
            return Err(StoreError::limit(
                "Cannot exceed quota for AccessKeysPerUser: 2",
            ));
        }
        let id = ids::access_key_id("AKIA");
        let secret = ids::secret();
        let now = self.now();
        sqlx::query("INSERT INTO access_keys (id, account, user_lower, secret, status, created_at) VALUES ($1, $2, $3, $4, 'Active', $5)")
            .bind(&id)
            .bind(account)
            .bind(&lower)
            .bind(crypto::seal(&self.options.secret_key, &secret)?)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        w.journal(Event {
            at: now,
            account,
            actor: &actor.arn,
            operation: "CreateAccessKey",
            entity: &row.arn,
            before: None,
            // Never the secret.
            after: Some(json!({"AccessKeyId": id, "Status": "Active"})),
        })
        .await?;
        w.commit().await?;
        Ok(AccessKey {
            user_name: row.name,
            id,
            status: "Active".into(),
            secret: Some(secret),
            created_at: now,
        })
    }

    /// ListAccessKeys (no secrets).
    pub async fn list_access_keys(
        &self,
        account: &str,
        user: &str,
    ) -> Result<Vec<AccessKey>, StoreError> {
        let row = principals::require(&self.db.pool, account, PrincipalKind::User, user).await?;
        let rows = sqlx::query("SELECT id, status, created_at FROM access_keys WHERE account = $1 AND user_lower = $2 ORDER BY created_at, id")
            .bind(account)
            .bind(row.name.to_lowercase())
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AccessKey {
                    user_name: row.name.clone(),
                    id: r.try_get(0)?,
                    status: r.try_get(1)?,
                    secret: None,
                    created_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// UpdateAccessKey: `Active` or `Inactive`.
    pub async fn update_access_key(
        &self,
        actor: &Actor,
        user: &str,
        id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        match status {
            "Active" | "Inactive" => {}
            // In the model's enum, but not a status a caller can set.
            "Expired" => {
                return Err(StoreError::invalid(
                    "Status Expired is not valid: an access key can be made Active or Inactive.",
                ));
            }
            other => {
                return Err(StoreError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]"
                )));
            }
        }
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = principals::require(&mut *w.tx, account, PrincipalKind::User, user).await?;
        let done = sqlx::query(
            "UPDATE access_keys SET status = $1 WHERE id = $2 AND account = $3 AND user_lower = $4",
        )
        .bind(status)
        .bind(id)
        .bind(account)
        .bind(row.name.to_lowercase())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(key_not_found(id));
        }
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "UpdateAccessKey",
            entity: &row.arn,
            before: None,
            after: Some(json!({"AccessKeyId": id, "Status": status})),
        })
        .await?;
        w.commit().await
    }

    /// DeleteAccessKey.
    pub async fn delete_access_key(
        &self,
        actor: &Actor,
        user: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let account = actor.account.as_str();
        let mut w = self.db.begin().await?;
        let row = principals::require(&mut *w.tx, account, PrincipalKind::User, user).await?;
        let done = sqlx::query(
            "DELETE FROM access_keys WHERE id = $1 AND account = $2 AND user_lower = $3",
        )
        .bind(id)
        .bind(account)
        .bind(row.name.to_lowercase())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(key_not_found(id));
        }
        w.journal(Event {
            at: self.now(),
            account,
            actor: &actor.arn,
            operation: "DeleteAccessKey",
            entity: &row.arn,
            before: Some(json!({"AccessKeyId": id})),
            after: None,
        })
        .await?;
        w.commit().await
    }

    /// Finds the owner and secret of an access key (for SigV4); `None` if there is no such key.
    /// From the cache unless a journal event about the key's user (or one this node cannot
    /// place) was applied since it was read.
    pub async fn find_access_key(&self, id: &str) -> Result<Option<KeyOwner>, StoreError> {
        self.catch_up().await;
        if let Ok(map) = self.keys.keys.lock()
            && let Some((_, owner)) = map.get(id)
        {
            return Ok(Some(owner.clone()));
        }
        let Some((seq, owner)) = self.read_access_key(id).await? else {
            return Ok(None);
        };
        self.db.cache.advance(seq);
        self.db.cache.keep_unless_stale(
            seq,
            |stale| stale.hits_key(&owner),
            || {
                if let Ok(mut map) = self.keys.keys.lock() {
                    if map.len() >= MAX_CACHED_KEYS {
                        map.clear();
                    }
                    map.insert(id.to_string(), (seq, owner.clone()));
                }
            },
        );
        Ok(Some(owner))
    }

    /// Reads a key with the journal sequence, in the same statement (so a change made
    /// meanwhile makes the entry stale rather than lost).
    async fn read_access_key(&self, id: &str) -> Result<Option<(i64, KeyOwner)>, StoreError> {
        let row = sqlx::query(
            "SELECT k.account, p.name, p.arn, p.id, k.secret, k.status,
                    (SELECT COALESCE(MAX(seq), 0) FROM journal)
             FROM access_keys k
             JOIN principals p ON p.account = k.account AND p.kind = 'user' AND p.name_lower = k.user_lower
             WHERE k.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(r) = row else {
            return self.find_root_key(id).await;
        };
        let sealed: String = r.try_get(4)?;
        let status: String = r.try_get(5)?;
        Ok(Some((
            r.try_get(6)?,
            KeyOwner {
                account: r.try_get(0)?,
                user_name: r.try_get(1)?,
                user_arn: r.try_get(2)?,
                user_id: r.try_get(3)?,
                secret: crypto::open(&self.options.secret_key, &sealed)?,
                active: status == "Active",
                root: false,
            },
        )))
    }

    /// Creates an access key for the account's root user (first start of a server).
    pub async fn create_root_key(&self, account: &str) -> Result<AccessKey, StoreError> {
        let mut w = self.db.begin().await?;
        self.ensure_account(&mut w, account).await?;
        let id = ids::access_key_id("AKIA");
        let secret = ids::secret();
        let now = self.now();
        sqlx::query(
            "INSERT INTO root_keys (id, account, secret, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(account)
        .bind(crypto::seal(&self.options.secret_key, &secret)?)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        let root = format!("arn:aws:iam::{account}:root");
        w.journal(Event {
            at: now,
            account,
            actor: &root,
            operation: "CreateRootAccessKey",
            entity: &root,
            before: None,
            after: Some(json!({"AccessKeyId": id})),
        })
        .await?;
        w.commit().await?;
        Ok(AccessKey {
            user_name: String::new(),
            id,
            status: "Active".into(),
            secret: Some(secret),
            created_at: now,
        })
    }

    async fn find_root_key(&self, id: &str) -> Result<Option<(i64, KeyOwner)>, StoreError> {
        let row = sqlx::query(
            "SELECT account, secret, (SELECT COALESCE(MAX(seq), 0) FROM journal)
             FROM root_keys WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let account: String = r.try_get(0)?;
        let sealed: String = r.try_get(1)?;
        Ok(Some((
            r.try_get(2)?,
            KeyOwner {
                user_name: String::new(),
                user_arn: format!("arn:aws:iam::{account}:root"),
                user_id: account.clone(),
                account,
                secret: crypto::open(&self.options.secret_key, &sealed)?,
                active: true,
                root: true,
            },
        )))
    }
}
