//! Activity: which principal was allowed or denied which action on which resource, when, how
//! often. Every decision the server makes is recorded in memory (a map lookup under a lock),
//! and the buffer is written in batches by [`Store::flush_activity`], one row per (account,
//! principal, action, resource, outcome) with a count and the first and last times. Rows older
//! than the retention are deleted. Not journaled: activity is not a change to IAM.
//!
//! It feeds IAM's last-accessed details and policy generation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use gatehouse_analysis::ServiceReference;
use serde::Serialize;
use sqlx::Row;

use crate::Store;
use crate::error::StoreError;

/// The most distinct rows the buffer holds between flushes; beyond it, records are dropped
/// and counted.
pub const MAX_PENDING: usize = 100_000;

/// Rows are kept this long after they were last seen, unless the store is told otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 400;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    account: String,
    principal: String,
    action: String,
    resource: String,
    allowed: bool,
}

#[derive(Clone, Copy, Debug)]
struct Agg {
    count: i64,
    first: i64,
    last: i64,
}

/// The in-memory buffer.
pub(crate) struct ActivityBuffer {
    /// Rows by the hash of their key, so a decision already seen is counted without
    /// allocating its key (the hot path of a batch of a thousand alike decisions).
    pending: Mutex<Pending>,
    hasher: foldhash::fast::RandomState,
    dropped: AtomicU64,
    enabled: std::sync::atomic::AtomicBool,
    /// Days kept after last seen, when set (0: the store's options say).
    retention_days: std::sync::atomic::AtomicI64,
}

#[derive(Default)]
struct Pending {
    rows: HashMap<u64, Vec<(Key, Agg)>>,
    len: usize,
}

impl ActivityBuffer {
    /// The hash a row is kept under (the same for a borrowed request and a stored key).
    fn hash(
        &self,
        account: &str,
        principal: &str,
        action: &str,
        resource: &str,
        allowed: bool,
    ) -> u64 {
        std::hash::BuildHasher::hash_one(
            &self.hasher,
            (account, principal, action, resource, allowed),
        )
    }
}

impl Default for ActivityBuffer {
    fn default() -> ActivityBuffer {
        ActivityBuffer {
            pending: Mutex::default(),
            hasher: foldhash::fast::RandomState::default(),
            dropped: AtomicU64::new(0),
            enabled: std::sync::atomic::AtomicBool::new(true),
            retention_days: std::sync::atomic::AtomicI64::new(0),
        }
    }
}

/// One recorded row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActivityRow {
    /// The principal's ARN (a role for its sessions).
    pub principal: String,
    /// The action, in the reference's spelling when it knows it.
    pub action: String,
    /// The resource (`*` when the request named none).
    pub resource: String,
    /// Whether it was allowed.
    pub allowed: bool,
    /// How many times.
    pub count: i64,
    /// First time seen (milliseconds since the epoch).
    pub first_at: i64,
    /// Last time seen.
    pub last_at: i64,
}

impl Store {
    /// Records one decision (cheap: no I/O). `principal` is the ARN whose policies decided (for
    /// a role session, the role's ARN).
    pub fn record_activity(
        &self,
        account: &str,
        principal: &str,
        action: &str,
        resource: &str,
        allowed: bool,
    ) {
        self.record_activity_n(account, principal, action, resource, allowed, 1);
    }

    /// Records `count` alike decisions at once (a batch request aggregates its own).
    pub fn record_activity_n(
        &self,
        account: &str,
        principal: &str,
        action: &str,
        resource: &str,
        allowed: bool,
        count: i64,
    ) {
        if !self.activity.enabled.load(Ordering::Relaxed) {
            return;
        }
        let now = self.now();
        let resource = if resource.is_empty() { "*" } else { resource };
        let hash = self
            .activity
            .hash(account, principal, action, resource, allowed);
        let Ok(mut pending) = self.activity.pending.lock() else {
            return;
        };
        let full = pending.len >= MAX_PENDING;
        let bucket = pending.rows.entry(hash).or_default();
        if let Some((_, agg)) = bucket.iter_mut().find(|(k, _)| {
            k.allowed == allowed
                && k.action == action
                && k.resource == resource
                && k.principal == principal
                && k.account == account
        }) {
            agg.count += count;
            agg.last = agg.last.max(now);
            return;
        }
        if full {
            self.activity.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        bucket.push((
            Key {
                account: account.to_string(),
                principal: principal.to_string(),
                action: action.to_string(),
                resource: resource.to_string(),
                allowed,
            },
            Agg {
                count,
                first: now,
                last: now,
            },
        ));
        pending.len += 1;
    }

    /// Turns recording on or off (on by default).
    pub fn set_activity_recording(&self, on: bool) {
        self.activity.enabled.store(on, Ordering::Relaxed);
    }

    /// Keeps recorded activity this many days after it was last seen (at least 1).
    pub fn set_activity_retention_days(&self, days: i64) {
        self.activity
            .retention_days
            .store(days.max(1), Ordering::Relaxed);
    }

    fn activity_retention_days(&self) -> i64 {
        match self.activity.retention_days.load(Ordering::Relaxed) {
            0 => self.options.activity_retention_days,
            days => days,
        }
    }

    /// Records dropped because the buffer was full.
    pub fn activity_dropped(&self) -> u64 {
        self.activity.dropped.load(Ordering::Relaxed)
    }

    /// Writes the buffered activity in one transaction and deletes rows older than the
    /// retention. Returns the rows written. On failure the batch is put back.
    pub async fn flush_activity(&self) -> Result<usize, StoreError> {
        let batch: Vec<(Key, Agg)> = match self.activity.pending.lock() {
            Ok(mut p) => {
                p.len = 0;
                p.rows.drain().flat_map(|(_, rows)| rows).collect()
            }
            Err(_) => return Ok(0),
        };
        let reference = ServiceReference::embedded();
        let n = batch.len();
        let result = async {
            // Through the write path, as every write (see `Db::begin`).
            let mut w = self.db.begin().await?;
            let tx = &mut w.tx;
            for (k, a) in &batch {
                // The reference's spelling, so `S3:getobject` and `s3:GetObject` are one row.
                let action = reference
                    .find(&k.action)
                    .and_then(|id| reference.action(id))
                    .map_or_else(|| k.action.clone(), |x| x.name.clone());
                sqlx::query(
                    "INSERT INTO activity (account, principal_arn, action, resource, allowed,
                        count, first_at, last_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (account, principal_arn, action, resource, allowed) DO UPDATE SET
                        count = activity.count + excluded.count,
                        first_at = CASE WHEN excluded.first_at < activity.first_at
                                   THEN excluded.first_at ELSE activity.first_at END,
                        last_at = CASE WHEN excluded.last_at > activity.last_at
                                  THEN excluded.last_at ELSE activity.last_at END",
                )
                .bind(&k.account)
                .bind(&k.principal)
                .bind(&action)
                .bind(&k.resource)
                .bind(i64::from(k.allowed))
                .bind(a.count)
                .bind(a.first)
                .bind(a.last)
                .execute(&mut **tx)
                .await?;
            }
            let cutoff = self
                .now()
                .saturating_sub(self.activity_retention_days().saturating_mul(86_400_000));
            sqlx::query("DELETE FROM activity WHERE last_at < $1")
                .bind(cutoff)
                .execute(&mut **tx)
                .await?;
            w.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        if let Err(e) = result {
            // Put the batch back (merged with what arrived meanwhile) for the next flush.
            if let Ok(mut p) = self.activity.pending.lock() {
                for (k, a) in batch {
                    let hash = self.activity.hash(
                        &k.account,
                        &k.principal,
                        &k.action,
                        &k.resource,
                        k.allowed,
                    );
                    let bucket = p.rows.entry(hash).or_default();
                    match bucket.iter_mut().find(|(x, _)| *x == k) {
                        Some((_, e)) => {
                            e.count += a.count;
                            e.first = e.first.min(a.first);
                            e.last = e.last.max(a.last);
                        }
                        None => {
                            bucket.push((k, a));
                            p.len += 1;
                        }
                    }
                }
            }
            return Err(e);
        }
        Ok(n)
    }

    /// A principal's recorded activity since `since` (milliseconds since the epoch), by action
    /// then resource.
    pub async fn activity_of(
        &self,
        account: &str,
        principal: &str,
        since: i64,
    ) -> Result<Vec<ActivityRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT principal_arn, action, resource, allowed, count, first_at, last_at
             FROM activity WHERE account = $1 AND principal_arn = $2 AND last_at >= $3
             ORDER BY action, resource, allowed",
        )
        .bind(account)
        .bind(principal)
        .bind(since)
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let allowed: i64 = r.try_get(3)?;
            out.push(ActivityRow {
                principal: r.try_get(0)?,
                action: r.try_get(1)?,
                resource: r.try_get(2)?,
                allowed: allowed != 0,
                count: r.try_get(4)?,
                first_at: r.try_get(5)?,
                last_at: r.try_get(6)?,
            });
        }
        Ok(out)
    }
}

/// When a service was last used by an identity (or a group's members).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceAccess {
    /// The service prefix.
    pub namespace: String,
    /// The service's name.
    pub name: String,
    /// The last allowed request (milliseconds since the epoch), if any.
    pub last_authenticated: Option<i64>,
    /// Who made it.
    pub last_entity: Option<String>,
    /// How many identities used the service.
    pub entities: i64,
    /// The actions used, with when and by whom last.
    pub actions: Vec<(String, i64, String)>,
}

/// A last-accessed job: what it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessJob {
    /// The identity's ARN.
    pub arn: String,
    /// `SERVICE_LEVEL` or `ACTION_LEVEL`.
    pub granularity: String,
    /// When it was asked for.
    pub created_at: i64,
}

fn job_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let hex = |n: usize, rng: &mut rand::rngs::ThreadRng| -> String {
        (0..n)
            .map(|_| format!("{:x}", rng.random_range(0..16u8)))
            .collect()
    };
    format!(
        "{}-{}-{}-{}-{}",
        hex(8, &mut rng),
        hex(4, &mut rng),
        hex(4, &mut rng),
        hex(4, &mut rng),
        hex(12, &mut rng)
    )
}

impl Store {
    /// GenerateServiceLastAccessedDetails: records the job (the details are worked out when
    /// asked for, from the activity then recorded). NoSuchEntity for an identity that does not
    /// exist in the account.
    pub async fn create_access_job(
        &self,
        account: &str,
        arn: &str,
        granularity: &str,
    ) -> Result<String, StoreError> {
        let known: Option<String> =
            sqlx::query_scalar("SELECT arn FROM principals WHERE account = $1 AND arn = $2")
                .bind(account)
                .bind(arn)
                .fetch_optional(&self.db.pool)
                .await?;
        if known.is_none() {
            return Err(StoreError::no_such(format!(
                "The entity with ARN {arn} cannot be found."
            )));
        }
        let id = job_id();
        let mut w = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO access_jobs (id, account, arn, granularity, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(account)
        .bind(arn)
        .bind(granularity)
        .bind(self.now())
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(id)
    }

    /// A job of the account.
    pub async fn access_job(&self, account: &str, id: &str) -> Result<AccessJob, StoreError> {
        let row = sqlx::query(
            "SELECT arn, granularity, created_at FROM access_jobs WHERE account = $1 AND id = $2",
        )
        .bind(account)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| StoreError::no_such(format!("The job with ID {id} cannot be found.")))?;
        Ok(AccessJob {
            arn: row.try_get(0)?,
            granularity: row.try_get(1)?,
            created_at: row.try_get(2)?,
        })
    }

    /// For every service an identity's policies allow, when it (or, for a group, its members)
    /// last used it, by name.
    pub async fn last_accessed(
        &self,
        account: &str,
        arn: &str,
    ) -> Result<Vec<ServiceAccess>, StoreError> {
        let reference = ServiceReference::embedded();
        let documents = self.policies_of(arn).await?;
        let mut services: std::collections::BTreeSet<String> = Default::default();
        for (_, doc) in &documents {
            let Ok(read) = gatehouse_analysis::Analyzed::new(doc, "policy", reference) else {
                continue;
            };
            let p = read.permissions();
            for id in p.known_ids() {
                if p.of(&gatehouse_analysis::permissions::ActionKey::Known(id))
                    .0
                    .is_empty()
                {
                    continue;
                }
                if let Some((svc, _)) = reference.action(id).and_then(|a| a.lower.split_once(':')) {
                    services.insert(svc.to_string());
                }
            }
        }
        // Whose activity counts: the identity, or a group's members.
        let mut principals = vec![arn.to_string()];
        if arn.contains(":group/") {
            let members: Vec<String> = sqlx::query_scalar(
                "SELECT u.arn FROM principals g
                 JOIN group_members m ON m.account = g.account AND m.group_lower = g.name_lower
                 JOIN principals u ON u.account = m.account AND u.kind = 'user'
                   AND u.name_lower = m.user_lower
                 WHERE g.account = $1 AND g.arn = $2",
            )
            .bind(account)
            .bind(arn)
            .fetch_all(&self.db.pool)
            .await?;
            principals = members;
        }
        let mut rows = Vec::new();
        for p in &principals {
            rows.extend(self.activity_of(account, p, 0).await?);
        }
        let mut out = Vec::new();
        for svc in services {
            let used: Vec<&ActivityRow> = rows
                .iter()
                .filter(|r| {
                    r.allowed
                        && r.action
                            .split_once(':')
                            .is_some_and(|(s, _)| s.eq_ignore_ascii_case(&svc))
                })
                .collect();
            let last = used.iter().max_by_key(|r| r.last_at);
            let entities: std::collections::BTreeSet<&str> =
                used.iter().map(|r| r.principal.as_str()).collect();
            let mut actions: std::collections::BTreeMap<String, (i64, String)> = Default::default();
            for r in &used {
                let name = r
                    .action
                    .split_once(':')
                    .map_or(r.action.as_str(), |(_, a)| a);
                let e = actions
                    .entry(name.to_string())
                    .or_insert((r.last_at, r.principal.clone()));
                if r.last_at > e.0 {
                    *e = (r.last_at, r.principal.clone());
                }
            }
            out.push(ServiceAccess {
                name: reference.service_name(&svc).unwrap_or(&svc).to_string(),
                namespace: svc,
                last_authenticated: last.map(|r| r.last_at),
                last_entity: last.map(|r| r.principal.clone()),
                entities: i64::try_from(entities.len()).unwrap_or(i64::MAX),
                actions: actions.into_iter().map(|(a, (t, p))| (a, t, p)).collect(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
