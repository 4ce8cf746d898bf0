//! The database: connecting to SQLite or PostgreSQL through sqlx's `Any` driver, the embedded
//! schema migrations, and write transactions that append to the journal.
//!
//! Every statement is written once, in the SQL both databases read: `$1`-style parameters,
//! `TEXT` and `BIGINT` columns (booleans are 0/1, times are milliseconds since the epoch),
//! `ON CONFLICT` and `RETURNING`.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::error::StoreError;

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, a file in the data directory (the embedded default).
    Sqlite,
    /// PostgreSQL, shared by any number of Gatehouse nodes.
    Postgres,
}

/// The schema, one migration per entry, applied in order and recorded in `schema_migrations`.
/// Append only: a released migration never changes.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
     CREATE TABLE accounts (id TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
     CREATE TABLE principals (
        account TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, name_lower TEXT NOT NULL,
        id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, arn TEXT NOT NULL, created_at BIGINT NOT NULL,
        boundary_arn TEXT, trust_policy TEXT, description TEXT, max_session BIGINT,
        service_linked BIGINT NOT NULL DEFAULT 0, slr_service TEXT,
        PRIMARY KEY (account, kind, name_lower));
     CREATE INDEX principals_boundary ON principals (boundary_arn);
     CREATE TABLE group_members (account TEXT NOT NULL, group_lower TEXT NOT NULL,
        user_lower TEXT NOT NULL, PRIMARY KEY (account, group_lower, user_lower));
     CREATE INDEX group_members_user ON group_members (account, user_lower);
     CREATE TABLE policies (arn TEXT PRIMARY KEY, account TEXT NOT NULL, name TEXT NOT NULL,
        name_lower TEXT NOT NULL, id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, description TEXT,
        default_version TEXT NOT NULL, next_version BIGINT NOT NULL, created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL, UNIQUE (account, name_lower));
     CREATE TABLE policy_versions (policy_arn TEXT NOT NULL, version_id TEXT NOT NULL,
        number BIGINT NOT NULL, document TEXT NOT NULL, created_at BIGINT NOT NULL,
        change_description TEXT, PRIMARY KEY (policy_arn, version_id));
     CREATE TABLE attachments (account TEXT NOT NULL, kind TEXT NOT NULL, name_lower TEXT NOT NULL,
        policy_arn TEXT NOT NULL, PRIMARY KEY (account, kind, name_lower, policy_arn));
     CREATE INDEX attachments_policy ON attachments (policy_arn, account);
     CREATE TABLE inline_policies (account TEXT NOT NULL, kind TEXT NOT NULL,
        name_lower TEXT NOT NULL, policy_name TEXT NOT NULL, document TEXT NOT NULL,
        PRIMARY KEY (account, kind, name_lower, policy_name));
     CREATE TABLE access_keys (id TEXT PRIMARY KEY, account TEXT NOT NULL, user_lower TEXT NOT NULL,
        secret TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL,
        last_used_at BIGINT, last_used_service TEXT, last_used_region TEXT);
     CREATE INDEX access_keys_user ON access_keys (account, user_lower);
     CREATE TABLE tags (account TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
        key TEXT NOT NULL, key_lower TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (account, kind, target, key_lower));
     CREATE TABLE journal (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, account TEXT NOT NULL,
        actor TEXT NOT NULL, operation TEXT NOT NULL, entity TEXT NOT NULL, before TEXT, after TEXT);
     INSERT INTO counters (name, value) VALUES ('journal', 0);",
    ),
    (
        2,
        "CREATE TABLE root_keys (id TEXT PRIMARY KEY, account TEXT NOT NULL, secret TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
    ),
    (
        3,
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, account TEXT NOT NULL, secret TEXT NOT NULL,
            token TEXT NOT NULL, role_name TEXT NOT NULL, role_arn TEXT NOT NULL,
            role_id TEXT NOT NULL, session_name TEXT NOT NULL, expires_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL, policy TEXT, policy_arns TEXT NOT NULL, tags TEXT NOT NULL,
            transitive_tag_keys TEXT NOT NULL, source_identity TEXT);
         CREATE INDEX sessions_expiry ON sessions (expires_at)",
    ),
    (
        4,
        "ALTER TABLE policy_versions ADD COLUMN blast_radius TEXT",
    ),
    (
        5,
        "CREATE TABLE activity (account TEXT NOT NULL, principal_arn TEXT NOT NULL,
            action TEXT NOT NULL, resource TEXT NOT NULL, allowed BIGINT NOT NULL,
            count BIGINT NOT NULL, first_at BIGINT NOT NULL, last_at BIGINT NOT NULL,
            PRIMARY KEY (account, principal_arn, action, resource, allowed));
         CREATE INDEX activity_last ON activity (last_at);
         CREATE TABLE access_jobs (id TEXT PRIMARY KEY, account TEXT NOT NULL, arn TEXT NOT NULL,
            granularity TEXT NOT NULL, created_at BIGINT NOT NULL)",
    ),
];

/// The connection pool and what kind of database it is.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// Where write transactions run: one connection for SQLite (its single writer); the pool
    /// for PostgreSQL, whose writers serialize on an advisory lock across every node.
    write_pool: AnyPool,
    /// PostgreSQL: this node's writers queue here before taking a connection.
    node_writer: Arc<tokio::sync::Mutex<()>>,
    /// The compiled-policy caches, told of every commit.
    pub(crate) cache: Arc<crate::effective::PolicyCache>,
}

/// The advisory lock every PostgreSQL write transaction takes (an arbitrary constant).
const WRITE_LOCK_KEY: i64 = 0x6761_7465_686f_7573;

impl Db {
    /// Connects, creating the SQLite file if needed, and applies the migrations.
    pub(crate) async fn open(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::config(format!(
                "unsupported database URL {url:?}: use sqlite:PATH or postgres://..."
            )));
        };
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e| StoreError::config(format!("database URL {url:?}: {e}")))?;
        let pool_with = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                // A pooled SQLite connection is a file handle in this process: it cannot break
                // as a network connection can, so it is not pinged (a round trip to sqlx's
                // worker thread) each time it is taken. PostgreSQL connections are.
                .test_before_acquire(backend != Backend::Sqlite)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // The busy timeout first: switching to WAL takes a lock that another
                            // connection may hold for a moment. WAL lets readers run beside the
                            // writer; FULL makes every commit durable before it is acknowledged.
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                        }
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let open_err =
            |e: sqlx::Error| StoreError::config(format!("cannot open database {url:?}: {e}"));
        let (pool, write_pool) = match backend {
            // SQLite has one writer: one connection writes, so a transaction dropped without a
            // commit has rolled back before the next write begins on that same connection.
            Backend::Sqlite => {
                let write = pool_with(1).await.map_err(open_err)?;
                (pool_with(4).await.map_err(open_err)?, write)
            }
            Backend::Postgres => {
                let pool = pool_with(8).await.map_err(open_err)?;
                (pool.clone(), pool)
            }
        };
        let db = Db {
            pool,
            write_pool,
            node_writer: Arc::default(),
            backend,
            cache: Arc::default(),
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut w = self.begin().await?;
        w.tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let done: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut *w.tx)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        for (version, sql) in MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                w.tx.execute(statement).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(0i64)
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await
    }

    /// Begins a write transaction: the only way to change the store.
    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        // PostgreSQL: one writer per node waits for the advisory lock, so waiting writers never
        // hold the pool's connections that readers need. (SQLite's one write connection already
        // serializes.)
        let guard = match self.backend {
            Backend::Postgres => Some(self.node_writer.clone().lock_owned().await),
            Backend::Sqlite => None,
        };
        let mut tx = match self.backend {
            // IMMEDIATE takes the write lock at once, waiting (busy_timeout) for another process
            // that holds it, rather than failing when a read is upgraded to a write.
            Backend::Sqlite => match self.write_pool.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => tx,
                // A write whose future was dropped mid-transaction (a request cancelled when its
                // client went away) can leave the one write connection in a state sqlx refuses
                // to begin on ("attempted to call begin_with at non-zero transaction depth"),
                // for good. Close that connection (SQLite rolls back whatever it left open) and
                // begin on a new one.
                Err(e) if e.to_string().contains("transaction depth") => {
                    let stuck = self.write_pool.acquire().await?;
                    let _ = sqlx::Connection::close(stuck.detach()).await;
                    self.write_pool.begin_with("BEGIN IMMEDIATE").await?
                }
                Err(e) => return Err(e.into()),
            },
            Backend::Postgres => self.write_pool.begin().await?,
        };
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(WriteTx {
            tx,
            cache: self.cache.clone(),
            last_seq: None,
            _node_writer: guard,
        })
    }
}

/// A write transaction. Dropped without `commit`, it rolls back.
pub(crate) struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    _node_writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    cache: Arc<crate::effective::PolicyCache>,
    last_seq: Option<i64>,
}

/// One journal event: who changed what, with the entity before and after.
pub(crate) struct Event<'a> {
    pub(crate) at: i64,
    pub(crate) account: &'a str,
    pub(crate) actor: &'a str,
    pub(crate) operation: &'a str,
    pub(crate) entity: &'a str,
    pub(crate) before: Option<serde_json::Value>,
    pub(crate) after: Option<serde_json::Value>,
}

impl WriteTx {
    /// Appends a journal event in this transaction; returns its sequence number. One
    /// statement: the next sequence is the largest plus one, which is safe because writers
    /// are serialized (SQLite's single writer; PostgreSQL's advisory lock).
    pub(crate) async fn journal(&mut self, e: Event<'_>) -> Result<i64, StoreError> {
        let seq: i64 = sqlx::query(
            "INSERT INTO journal (seq, at, account, actor, operation, entity, before, after)
             SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5, $6, $7 FROM journal
             RETURNING seq",
        )
        .bind(e.at)
        .bind(e.account)
        .bind(e.actor)
        .bind(e.operation)
        .bind(e.entity)
        .bind(e.before.map(|v| v.to_string()))
        .bind(e.after.map(|v| v.to_string()))
        .fetch_one(&mut *self.tx)
        .await?
        .try_get(0)?;
        self.last_seq = Some(seq);
        Ok(seq)
    }

    /// Commits; the write is durable when this returns, and this node's caches know of it.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        if let Some(seq) = self.last_seq {
            self.cache.advance(seq);
        }
        Ok(())
    }
}
