//! Effective permissions: a principal's compiled, indexed policy sets (managed and inline, its
//! groups', and its permissions boundary), from a cache kept fresh by the journal sequence.
//!
//! Compiled managed-policy versions never change, so they are cached by (ARN, version) for
//! good. A principal's sets are cached with the journal sequence they were read at; any change
//! anywhere advances the sequence, and the next request rebuilds. Changes made through this
//! store advance the cache's sequence at commit; changes made by other nodes reach it through
//! [`Store::refresh`], which `watch` runs in the background. A cache hit runs no SQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_engine::{CompiledPolicy, PolicySet};
use gatehouse_policy::parse_policy;
use sqlx::Row;

use crate::error::StoreError;
use crate::model::PrincipalKind;
use crate::{Store, principals};

/// A principal's effective policies.
#[derive(Debug)]
pub struct Effective {
    /// The principal's ARN.
    pub arn: String,
    /// Its unique ID.
    pub id: String,
    /// Identity-based policies: attached managed policies (default versions), inline
    /// policies, and for a user those of its groups.
    pub identity: PolicySet,
    /// The permissions boundary.
    pub boundary: Option<PolicySet>,
    /// The journal sequence the sets were read at.
    pub seq: i64,
}

type PrincipalKey = (String, PrincipalKind, String);

/// The caches.
#[derive(Default)]
pub(crate) struct PolicyCache {
    /// The newest journal sequence this node knows of.
    seq: AtomicI64,
    compiled: Mutex<HashMap<(String, String), Arc<CompiledPolicy>>>,
    principals: Mutex<HashMap<PrincipalKey, Arc<Effective>>>,
}

impl std::fmt::Debug for PolicyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyCache")
            .field("seq", &self.current())
            .finish_non_exhaustive()
    }
}

impl PolicyCache {
    /// Notes a journal sequence (a commit here, or one seen from another node).
    pub(crate) fn advance(&self, seq: i64) {
        self.seq.fetch_max(seq, Ordering::AcqRel);
    }

    fn current(&self) -> i64 {
        self.seq.load(Ordering::Acquire)
    }
}

fn compile(
    name: &str,
    version: Option<&str>,
    document: &str,
) -> Result<CompiledPolicy, StoreError> {
    let policy = parse_policy(document).map_err(|_| {
        StoreError::config(format!(
            "stored policy {name} {} cannot be read",
            version.unwrap_or("")
        ))
    })?;
    Ok(CompiledPolicy::compile(name, version, &policy))
}

impl Store {
    /// The effective policies of a user or role, from the cache when it is fresh.
    pub async fn effective_policies(
        &self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<Arc<Effective>, StoreError> {
        let key = (account.to_string(), kind, name.to_lowercase());
        let current = self.db.cache.current();
        if let Ok(map) = self.db.cache.principals.lock()
            && let Some(e) = map.get(&key)
            && e.seq >= current
        {
            return Ok(e.clone());
        }
        let built = Arc::new(self.build_effective(account, kind, name).await?);
        self.db.cache.advance(built.seq);
        if let Ok(mut map) = self.db.cache.principals.lock() {
            map.insert(key, built.clone());
        }
        Ok(built)
    }

    /// Reads and compiles a principal's policies (the sequence is read first, so a change
    /// made meanwhile makes the result stale rather than lost).
    async fn build_effective(
        &self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<Effective, StoreError> {
        let seq = self.journal_seq().await?;
        let row = principals::require(&self.db.pool, account, kind, name).await?;
        let lower = row.name.to_lowercase();
        // Attached managed policies: the principal's, and for a user its groups'.
        let managed = sqlx::query(
            "SELECT DISTINCT p.arn, p.name, p.default_version FROM attachments a
             JOIN policies p ON p.arn = a.policy_arn
             WHERE a.account = $1 AND ((a.kind = $2 AND a.name_lower = $3)
               OR (a.kind = 'group' AND $2 = 'user' AND a.name_lower IN
                   (SELECT group_lower FROM group_members WHERE account = $1 AND user_lower = $3)))
             ORDER BY p.arn",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(&lower)
        .fetch_all(&self.db.pool)
        .await?;
        let mut policies = Vec::with_capacity(managed.len() + 2);
        for r in &managed {
            let (arn, pname, version): (String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            policies.push(self.compiled_version(&arn, &pname, &version).await?);
        }
        let inline = sqlx::query(
            "SELECT kind, name_lower, policy_name, document FROM inline_policies
             WHERE account = $1 AND ((kind = $2 AND name_lower = $3)
               OR (kind = 'group' AND $2 = 'user' AND name_lower IN
                   (SELECT group_lower FROM group_members WHERE account = $1 AND user_lower = $3)))
             ORDER BY kind, name_lower, policy_name",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(&lower)
        .fetch_all(&self.db.pool)
        .await?;
        for r in &inline {
            let (k, owner, pname, document): (String, String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            policies.push(Arc::new(compile(
                &format!("{k}/{owner}/{pname}"),
                None,
                &document,
            )?));
        }
        let boundary = match &row.boundary {
            None => None,
            Some(arn) => {
                let (version, _) = self.default_document(account, arn).await?;
                let pname = arn.rsplit('/').next().unwrap_or(arn);
                Some(PolicySet::new([self
                    .compiled_version(arn, pname, &version)
                    .await?]))
            }
        };
        Ok(Effective {
            arn: row.arn,
            id: row.id,
            identity: PolicySet::new(policies),
            boundary,
            seq,
        })
    }

    /// A managed policy version, compiled once.
    async fn compiled_version(
        &self,
        arn: &str,
        name: &str,
        version: &str,
    ) -> Result<Arc<CompiledPolicy>, StoreError> {
        let key = (arn.to_string(), version.to_string());
        if let Ok(map) = self.db.cache.compiled.lock()
            && let Some(c) = map.get(&key)
        {
            return Ok(c.clone());
        }
        let document: String = sqlx::query_scalar(
            "SELECT document FROM policy_versions WHERE policy_arn = $1 AND version_id = $2",
        )
        .bind(arn)
        .bind(version)
        .fetch_one(&self.db.pool)
        .await?;
        let compiled = Arc::new(compile(name, Some(version), &document)?);
        if let Ok(mut map) = self.db.cache.compiled.lock() {
            map.insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    /// Reads the journal sequence, so that changes made by other nodes invalidate this node's
    /// cache. Returns the sequence.
    pub async fn refresh(&self) -> Result<i64, StoreError> {
        let seq = self.journal_seq().await?;
        self.db.cache.advance(seq);
        Ok(seq)
    }

    /// Refreshes in the background every `interval`; abort the handle to stop.
    pub fn watch(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                let _ = store.refresh().await;
            }
        })
    }
}
