//! Temporary credentials issued by STS AssumeRole: an `ASIA` access key, its secret and a
//! session token, valid until an expiry, for one role session.
//!
//! Sessions are kept in the database so that every node of a PostgreSQL deployment accepts
//! them. Issuing one is not a change to IAM's state, so it is not journaled (a journal event
//! would advance the sequence and empty every node's effective-policy cache on each
//! AssumeRole). The secret and the token are sealed at rest like access-key secrets. A
//! session's compiled session policies are cached per node, keyed by the journal sequence
//! (the default version of a managed session policy can change).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gatehouse_engine::{CompiledPolicy, PolicySet};
use gatehouse_policy::parse_policy;
use rand::Rng;
use sqlx::Row;

use crate::error::StoreError;
use crate::model::Tag;
use crate::{Store, crypto, ids};

/// Sessions that expired more than this long ago are purged when a new one is issued (until
/// then, their use is answered with `ExpiredToken`; afterwards, the key is unknown).
const PURGE_AFTER_MS: i64 = 24 * 3600 * 1000;

/// What AssumeRole decided to issue.
#[derive(Clone, Debug, Default)]
pub struct NewSession {
    /// The role's account.
    pub account: String,
    /// The role's name.
    pub role_name: String,
    /// The role's ARN.
    pub role_arn: String,
    /// The role's unique ID (`AROA...`).
    pub role_id: String,
    /// The session name.
    pub session_name: String,
    /// Lifetime in seconds.
    pub duration_seconds: i64,
    /// The inline session policy.
    pub policy: Option<String>,
    /// Managed session policies (ARNs).
    pub policy_arns: Vec<String>,
    /// Session tags.
    pub tags: Vec<Tag>,
    /// Transitive tag keys.
    pub transitive_tag_keys: Vec<String>,
    /// The source identity.
    pub source_identity: Option<String>,
}

/// A session, as found for authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The temporary access key ID (`ASIA...`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret: String,
    /// The session token.
    pub token: String,
    /// The account.
    pub account: String,
    /// The role's name.
    pub role_name: String,
    /// The role's ARN.
    pub role_arn: String,
    /// The role's unique ID.
    pub role_id: String,
    /// The session name.
    pub session_name: String,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// `ROLEID:SESSION`.
    pub assumed_role_id: String,
    /// When it expires (milliseconds since the epoch).
    pub expires_at: i64,
    /// The inline session policy.
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Vec<String>,
    /// Session tags.
    pub tags: Vec<Tag>,
    /// The source identity.
    pub source_identity: Option<String>,
}

impl Session {
    /// Whether session policies narrow this session.
    pub fn has_session_policies(&self) -> bool {
        self.policy.is_some() || !self.policy_arns.is_empty()
    }
}

/// Compiled session policies of a session, with the journal sequence they were built at.
#[derive(Default)]
pub(crate) struct SessionCache {
    sets: Mutex<HashMap<String, (i64, Arc<PolicySet>)>>,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache").finish_non_exhaustive()
    }
}

/// A session token: opaque, long and random (AWS's are several hundred characters).
fn token() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    (0..356)
        .map(|_| {
            let i = rng.random_range(0..CHARS.len());
            char::from(CHARS.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::config(e.to_string()))
}

impl Store {
    /// Issues temporary credentials for a role session (the caller has checked everything).
    pub async fn create_session(&self, new: &NewSession) -> Result<Session, StoreError> {
        let now = self.now();
        let id = ids::access_key_id("ASIA");
        let secret = ids::secret();
        let token = token();
        let expires_at = now.saturating_add(new.duration_seconds.saturating_mul(1000));
        let arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            new.account, new.role_name, new.session_name
        );
        let assumed_role_id = format!("{}:{}", new.role_id, new.session_name);
        let tags: Vec<(String, String)> = new
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        // Through the write path (SQLite's one writer, PostgreSQL's advisory lock), as every
        // write: a write on a reading connection would contend for SQLite's lock with the
        // writer and wait out its busy back-off.
        let mut w = self.db.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now.saturating_sub(PURGE_AFTER_MS))
            .execute(&mut *w.tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id, account, secret, token, role_name, role_arn, role_id,
                session_name, expires_at, created_at, policy, policy_arns, tags,
                transitive_tag_keys, source_identity)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&id)
        .bind(&new.account)
        .bind(crypto::seal(&self.options.secret_key, &secret)?)
        .bind(crypto::seal(&self.options.secret_key, &token)?)
        .bind(&new.role_name)
        .bind(&new.role_arn)
        .bind(&new.role_id)
        .bind(&new.session_name)
        .bind(expires_at)
        .bind(now)
        .bind(new.policy.as_deref())
        .bind(to_json(&new.policy_arns)?)
        .bind(to_json(&tags)?)
        .bind(to_json(&new.transitive_tag_keys)?)
        .bind(new.source_identity.as_deref())
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(Session {
            access_key_id: id,
            secret,
            token,
            account: new.account.clone(),
            role_name: new.role_name.clone(),
            role_arn: new.role_arn.clone(),
            role_id: new.role_id.clone(),
            session_name: new.session_name.clone(),
            arn,
            assumed_role_id,
            expires_at,
            policy: new.policy.clone(),
            policy_arns: new.policy_arns.clone(),
            tags: new.tags.clone(),
            source_identity: new.source_identity.clone(),
        })
    }

    /// Finds a session by its temporary access key ID; `None` if there is none (expired ones
    /// are returned: the caller answers `ExpiredToken`).
    pub async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT account, secret, token, role_name, role_arn, role_id, session_name,
                expires_at, policy, policy_arns, tags, source_identity
             FROM sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let account: String = r.try_get(0)?;
        let role_name: String = r.try_get(3)?;
        let role_id: String = r.try_get(5)?;
        let session_name: String = r.try_get(6)?;
        let arns: String = r.try_get(9)?;
        let tags: String = r.try_get(10)?;
        let bad = |e: serde_json::Error| StoreError::config(format!("session {id}: {e}"));
        let tags: Vec<(String, String)> = serde_json::from_str(&tags).map_err(bad)?;
        Ok(Some(Session {
            access_key_id: id.to_string(),
            secret: crypto::open(&self.options.secret_key, &r.try_get::<String, _>(1)?)?,
            token: crypto::open(&self.options.secret_key, &r.try_get::<String, _>(2)?)?,
            arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
            assumed_role_id: format!("{role_id}:{session_name}"),
            account,
            role_name,
            role_arn: r.try_get(4)?,
            role_id,
            session_name,
            expires_at: r.try_get(7)?,
            policy: r.try_get(8)?,
            policy_arns: serde_json::from_str(&arns).map_err(bad)?,
            tags: tags
                .into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
            source_identity: r.try_get(11)?,
        }))
    }

    /// The compiled session policies of a session that has any: the inline policy and the
    /// default versions of the managed ones, cached per session until the journal moves.
    pub async fn session_policies(&self, session: &Session) -> Result<Arc<PolicySet>, StoreError> {
        let seq = self.db.cache.current();
        if let Ok(sets) = self.sessions.sets.lock()
            && let Some((at, set)) = sets.get(&session.access_key_id)
            && *at == seq
        {
            return Ok(set.clone());
        }
        let mut policies = Vec::new();
        if let Some(text) = &session.policy {
            let policy = parse_policy(text).map_err(|e| {
                StoreError::config(format!("session policy of {}: {e:?}", session.arn))
            })?;
            policies.push(Arc::new(CompiledPolicy::compile("session", None, &policy)));
        }
        for arn in &session.policy_arns {
            let (version, text) = self.default_document(&session.account, arn).await?;
            let policy = parse_policy(&text)
                .map_err(|e| StoreError::config(format!("policy {arn} {version}: {e:?}")))?;
            let name = arn.rsplit('/').next().unwrap_or(arn);
            policies.push(Arc::new(CompiledPolicy::compile(
                name,
                Some(&version),
                &policy,
            )));
        }
        let set = Arc::new(PolicySet::new(policies));
        if let Ok(mut sets) = self.sessions.sets.lock() {
            // Bounded: a node keeps at most this many sessions' sets.
            if sets.len() >= 100_000 {
                sets.clear();
            }
            sets.insert(session.access_key_id.clone(), (seq, set.clone()));
        }
        Ok(set)
    }
}
