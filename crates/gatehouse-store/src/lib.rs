//! The managed-policy store: accounts; users, groups and roles (with service-linked roles);
//! provider-managed and customer-managed policies with their versions; attachments, inline
//! policies, permissions boundaries, access keys and tags; and the journal of every change.
//!
//! One code path runs on SQLite (the embedded default: a file, WAL, durable commits) and on
//! PostgreSQL (shared by many Gatehouse nodes). Every operation checks its input and answers
//! with AWS's error codes and messages ([`StoreError`]). Every change appends a journal event
//! in its own transaction; the journal is the single source for audit, the change feed and
//! cache invalidation.

mod access_keys;
mod activity;
mod blast;
mod catalog;
mod clock;
mod crypto;
pub mod datadir;
mod db;
mod effective;
mod error;
mod history;
mod ids;
mod inline;
mod model;
mod names;
mod policies;
mod principals;
mod sessions;
mod tags;

use std::sync::Arc;

pub use access_keys::KeyOwner;
pub use activity::{AccessJob, ActivityRow, DEFAULT_RETENTION_DAYS, MAX_PENDING, ServiceAccess};
pub use blast::{Affected, BlastRadius, IdentityRef, ReferenceUpdate, WidenedPolicy};
pub use catalog::{
    CatalogPolicy, CatalogSummary, CatalogVersion, ProviderCatalog, policy_arn_of, provider_actor,
};
pub use clock::{Clock, SystemClock};
pub use db::Backend;
pub use effective::Effective;
pub use error::{ErrorCode, StoreError};
pub use history::{Change, ChangeKind, SeedRow, VersionRecord, build_history, seed_table};
pub use model::{AccessKey, Group, ManagedPolicy, PolicyVersion, PrincipalKind, Role, Tag, User};
pub use policies::{PROVIDER, PolicyEntities, Scope, Usage};
pub use sessions::{NewSession, Session};
pub use tags::TagOn;

/// Who makes a change: the account it is made in and the caller's ARN (for the journal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The account the change is made in.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
}

impl Actor {
    /// The root user of an account.
    pub fn root(account: &str) -> Actor {
        Actor {
            account: account.to_string(),
            arn: format!("arn:aws:iam::{account}:root"),
        }
    }
}

/// Store settings.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// The key that encrypts access-key secrets at rest (32 bytes, kept in the data directory).
    pub secret_key: [u8; 32],
    /// Managed policies per user or role (AWS's default 10, adjustable up to 20).
    pub managed_policies_per_principal: i64,
    /// How long recorded activity is kept after it was last seen, in days.
    pub activity_retention_days: i64,
}

impl StoreOptions {
    /// The defaults, with the given secret key.
    pub fn new(secret_key: [u8; 32]) -> StoreOptions {
        StoreOptions {
            secret_key,
            managed_policies_per_principal: 10,
            activity_retention_days: activity::DEFAULT_RETENTION_DAYS,
        }
    }
}

/// The store. Cheap to clone; every clone shares the pool.
#[derive(Clone)]
pub struct Store {
    db: db::Db,
    clock: Arc<dyn Clock>,
    options: Arc<StoreOptions>,
    /// Accounts known to exist (they are never deleted).
    known_accounts: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Access keys found for authentication.
    keys: Arc<access_keys::KeyCache>,
    /// Compiled session policies of STS sessions.
    sessions: Arc<sessions::SessionCache>,
    /// Provider policies' histories worked out so far.
    history: Arc<history::HistoryCache>,
    /// Decisions recorded and not yet written.
    activity: Arc<activity::ActivityBuffer>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.db.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (and migrates) the store at `url`: `sqlite:PATH?mode=rwc` or `postgres://...`.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        Store::open_with_clock(url, options, Arc::new(SystemClock)).await
    }

    /// Opens the store with a given clock (tests use a fixed one).
    pub async fn open_with_clock(
        url: &str,
        options: StoreOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        if !(10..=20).contains(&options.managed_policies_per_principal) {
            return Err(StoreError::config(
                "managed policies per principal must be between 10 and 20",
            ));
        }
        let store = Store {
            db: db::Db::open(url).await?,
            clock,
            options: Arc::new(options),
            known_accounts: Arc::default(),
            keys: Arc::default(),
            sessions: Arc::default(),
            history: Arc::default(),
            activity: Arc::default(),
        };
        // The caches start empty: the events before this point are applied already.
        let seq = store.journal_seq().await?;
        store.db.cache.start_at(seq);
        Ok(store)
    }

    /// The database the store runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Creates an account (idempotent).
    pub async fn create_account(&self, account: &str) -> Result<(), StoreError> {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::invalid(format!(
                "Account ID {account} is not valid: it must be 12 digits."
            )));
        }
        let mut w = self.db.begin().await?;
        let done = sqlx::query(
            "INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(account)
        .bind(self.now())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() > 0 {
            w.journal(db::Event {
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
        w.commit().await
    }

    /// The journal's latest sequence number: any change since a reading makes it larger.
    pub async fn journal_seq(&self) -> Result<i64, StoreError> {
        use sqlx::Row;
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM journal")
            .fetch_one(&self.db.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Journal events after `seq`, oldest first, at most `limit`.
    pub async fn journal_since(
        &self,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<JournalEvent>, StoreError> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT seq, at, account, actor, operation, entity, before, after FROM journal
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JournalEvent {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    account: r.try_get(2)?,
                    actor: r.try_get(3)?,
                    operation: r.try_get(4)?,
                    entity: r.try_get(5)?,
                    before: r.try_get(6)?,
                    after: r.try_get(7)?,
                })
            })
            .collect()
    }
}

impl Store {
    /// Checks the store's invariants; returns every violation found (none in a sound store):
    /// attachments, memberships, keys and inline policies that refer to a missing policy or
    /// principal; policies whose default version is missing; customer-managed policies with
    /// more than 5 versions; users with more than 2 access keys.
    pub async fn check_invariants(&self) -> Result<Vec<String>, StoreError> {
        const CHECKS: &[(&str, &str)] = &[
            (
                "attachment to a missing policy",
                "SELECT COUNT(*) FROM attachments a WHERE NOT EXISTS (SELECT 1 FROM policies p WHERE p.arn = a.policy_arn)",
            ),
            (
                "attachment to a missing principal",
                "SELECT COUNT(*) FROM attachments a WHERE NOT EXISTS (SELECT 1 FROM principals p WHERE p.account = a.account AND p.kind = a.kind AND p.name_lower = a.name_lower)",
            ),
            (
                "group membership of a missing user or group",
                "SELECT COUNT(*) FROM group_members m WHERE NOT EXISTS (SELECT 1 FROM principals p WHERE p.account = m.account AND p.kind = 'user' AND p.name_lower = m.user_lower) OR NOT EXISTS (SELECT 1 FROM principals g WHERE g.account = m.account AND g.kind = 'group' AND g.name_lower = m.group_lower)",
            ),
            (
                "access key of a missing user",
                "SELECT COUNT(*) FROM access_keys k WHERE NOT EXISTS (SELECT 1 FROM principals p WHERE p.account = k.account AND p.kind = 'user' AND p.name_lower = k.user_lower)",
            ),
            (
                "inline policy of a missing principal",
                "SELECT COUNT(*) FROM inline_policies i WHERE NOT EXISTS (SELECT 1 FROM principals p WHERE p.account = i.account AND p.kind = i.kind AND p.name_lower = i.name_lower)",
            ),
            (
                "policy without its default version",
                "SELECT COUNT(*) FROM policies p WHERE NOT EXISTS (SELECT 1 FROM policy_versions v WHERE v.policy_arn = p.arn AND v.version_id = p.default_version)",
            ),
            (
                "customer-managed policy with more than 5 versions",
                "SELECT COUNT(*) FROM policies p WHERE p.account <> 'aws' AND (SELECT COUNT(*) FROM policy_versions v WHERE v.policy_arn = p.arn) > 5",
            ),
            (
                "version of a missing policy",
                "SELECT COUNT(*) FROM policy_versions v WHERE NOT EXISTS (SELECT 1 FROM policies p WHERE p.arn = v.policy_arn)",
            ),
            (
                "user with more than 2 access keys",
                "SELECT COUNT(*) FROM (SELECT account, user_lower FROM access_keys GROUP BY account, user_lower HAVING COUNT(*) > 2) t",
            ),
            (
                "boundary that is not a policy",
                "SELECT COUNT(*) FROM principals p WHERE p.boundary_arn IS NOT NULL AND NOT EXISTS (SELECT 1 FROM policies q WHERE q.arn = p.boundary_arn)",
            ),
        ];
        let mut out = Vec::new();
        for (what, sql) in CHECKS {
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&self.db.pool).await?;
            if n > 0 {
                out.push(format!("{n} x {what}"));
            }
        }
        Ok(out)
    }
}

/// A journal event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct JournalEvent {
    /// The sequence number (strictly increasing, no gaps).
    pub seq: i64,
    /// When (milliseconds since the epoch).
    pub at: i64,
    /// The account.
    pub account: String,
    /// The caller's ARN.
    pub actor: String,
    /// The operation (`CreatePolicyVersion`).
    pub operation: String,
    /// The entity's ARN.
    pub entity: String,
    /// The entity before, as JSON.
    pub before: Option<String>,
    /// The entity after, as JSON.
    pub after: Option<String>,
}
