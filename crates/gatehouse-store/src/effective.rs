//! Effective permissions: a principal's compiled, indexed policy sets (managed and inline, its
//! groups', and its permissions boundary), from a cache kept fresh by the journal sequence.
//!
//! Compiled managed-policy versions never change, so they are cached by (ARN, version) for
//! good. A principal's sets are cached until a journal event makes them stale: the cache knows
//! the newest journal sequence (changes made through this store advance it at commit; changes
//! made by other nodes reach it through [`Store::refresh`], which `watch` runs in the
//! background), and before answering from the cache it reads the events it has not seen yet
//! (one query, by one task at a time) and evicts what each one touches ([`Stale`]): the
//! principal named, every user of the account for a change to a group, every principal whose
//! sets use a managed policy for a change to it, everything for anything else. So a write to
//! one identity leaves every other identity's sets cached. A set read while an event that
//! touches it was being applied is not kept (the events applied are remembered for that). A
//! cache hit runs no SQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_engine::{CompiledPolicy, PolicySet};
use gatehouse_policy::parse_policy;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Row};

use crate::Store;
use crate::error::StoreError;
use crate::model::PrincipalKind;

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
    /// The principal's tags (key, value), for `aws:PrincipalTag/...`.
    pub tags: Vec<(String, String)>,
    /// The journal sequence the sets were read at.
    pub seq: i64,
    /// The managed policies the sets use (the boundary's included), by ARN.
    pub policy_arns: Vec<String>,
}

/// What a journal event makes stale, from its entity's ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stale {
    /// A user or role (and the access keys of a user), by ARN.
    Principal(String),
    /// Every user of an account (a change to one of its groups).
    UsersOf(String),
    /// Every principal whose sets use this managed policy.
    Policy(String),
    /// Everything (a catalog load, an account, a root key, an entity not understood).
    All,
}

impl Stale {
    /// What an event on `entity` makes stale.
    pub(crate) fn of(entity: &str) -> Stale {
        let Some((account, resource)) = entity
            .strip_prefix("arn:aws:iam::")
            .and_then(|r| r.split_once(':'))
        else {
            return Stale::All;
        };
        let has_name = |prefix: &str| {
            resource
                .strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty() && !rest.ends_with('/'))
        };
        if has_name("user/") || has_name("role/") {
            Stale::Principal(entity.to_string())
        } else if has_name("group/") {
            Stale::UsersOf(account.to_string())
        } else if has_name("policy/") {
            Stale::Policy(entity.to_string())
        } else {
            Stale::All
        }
    }

    fn hits(&self, key: &PrincipalKey, e: &Effective) -> bool {
        match self {
            Stale::Principal(arn) => e.arn == *arn,
            Stale::UsersOf(account) => key.0 == *account && key.1 == PrincipalKind::User,
            Stale::Policy(arn) => e.policy_arns.iter().any(|p| p == arn),
            Stale::All => true,
        }
    }

    /// Whether an access key's cached owner is stale.
    pub(crate) fn hits_key(&self, owner: &crate::KeyOwner) -> bool {
        match self {
            Stale::Principal(arn) => owner.user_arn == *arn,
            Stale::UsersOf(_) | Stale::Policy(_) => false,
            Stale::All => true,
        }
    }
}

/// How many applied events are remembered for sets read while they were applied.
const TOMBSTONES: usize = 10_000;

/// The events applied to the cache, newest last, and the sequence before which they are
/// forgotten (a set read before it is not kept).
#[derive(Default)]
struct Applied {
    events: std::collections::VecDeque<(i64, Stale)>,
    floor: i64,
}

type PrincipalKey = (String, PrincipalKind, String);

/// A managed policy version a principal's sets need.
struct VersionRef<'a> {
    policy_id: &'a str,
    arn: &'a str,
    name: &'a str,
    version: &'a str,
}

/// The caches.
#[derive(Default)]
pub(crate) struct PolicyCache {
    /// The newest journal sequence this node knows of.
    seq: AtomicI64,
    compiled: Mutex<HashMap<(String, String), Arc<CompiledPolicy>>>,
    principals: Mutex<HashMap<PrincipalKey, Arc<Effective>>>,
    /// The journal sequence up to which events have been applied to the caches.
    validated: AtomicI64,
    /// Held while events are read and applied, so one task does it.
    catching_up: tokio::sync::Mutex<()>,
    /// The events applied; held while a set is kept or an event applied.
    applied: Mutex<Applied>,
    /// Lookups answered from the cache, and lookups that read the store (for metrics).
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for PolicyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyCache")
            .field("seq", &self.current())
            .finish_non_exhaustive()
    }
}

impl PolicyCache {
    /// Starts at the store's journal sequence when it is opened (the caches are empty, so the
    /// events before it are applied already).
    pub(crate) fn start_at(&self, seq: i64) {
        self.advance(seq);
        self.validated.fetch_max(seq, Ordering::AcqRel);
    }

    /// Notes a journal sequence (a commit here, or one seen from another node).
    pub(crate) fn advance(&self, seq: i64) {
        self.seq.fetch_max(seq, Ordering::AcqRel);
    }

    pub(crate) fn current(&self) -> i64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Whether a set read at `seq` may be kept: no event after `seq` that touches it has been
    /// applied (and `seq` is not older than the events remembered). Holds the events' lock
    /// while `keep` runs, so no event is applied in between.
    pub(crate) fn keep_unless_stale(
        &self,
        seq: i64,
        touches: impl Fn(&Stale) -> bool,
        keep: impl FnOnce(),
    ) {
        let Ok(applied) = self.applied.lock() else {
            return;
        };
        if seq < applied.floor
            || applied
                .events
                .iter()
                .rev()
                .take_while(|(s, _)| *s > seq)
                .any(|(_, stale)| touches(stale))
        {
            return;
        }
        keep();
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
    /// The newest journal sequence this node knows of (no SQL): what any cache kept fresh by
    /// the journal compares with.
    pub fn known_seq(&self) -> i64 {
        self.db.cache.current()
    }

    /// How many effective-policy lookups the cache answered, and how many read the store,
    /// since the store was opened.
    pub fn cache_stats(&self) -> (u64, u64) {
        (
            self.db.cache.hits.load(Ordering::Relaxed),
            self.db.cache.misses.load(Ordering::Relaxed),
        )
    }

    /// The effective policies of a user or role, from the cache when it is fresh.
    pub async fn effective_policies(
        &self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<Arc<Effective>, StoreError> {
        let key = (account.to_string(), kind, name.to_lowercase());
        self.catch_up().await;
        if let Ok(map) = self.db.cache.principals.lock()
            && let Some(e) = map.get(&key)
        {
            self.db.cache.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(e.clone());
        }
        self.db.cache.misses.fetch_add(1, Ordering::Relaxed);
        // A version read as the default can be deleted before its document is read (a
        // SetDefault and a DeletePolicyVersion in between): read again.
        let mut built = None;
        for _ in 0..3 {
            built = self.build_effective(account, kind, name).await?;
            if built.is_some() {
                break;
            }
        }
        let built = Arc::new(built.ok_or_else(|| {
            StoreError::config("the policies kept changing while they were read; try again")
        })?);
        self.db.cache.advance(built.seq);
        let cache = &self.db.cache;
        cache.keep_unless_stale(
            built.seq,
            |stale| stale.hits(&key, &built),
            || {
                if let Ok(mut map) = cache.principals.lock() {
                    map.insert(key.clone(), built.clone());
                }
            },
        );
        Ok(built)
    }

    /// Reads and compiles a principal's policies: one query for the principal (with the
    /// journal sequence, read in the same statement, so a change made meanwhile makes the result
    /// stale rather than lost), the IDs and default versions of its attached managed policies
    /// and those of its groups, and its and its groups' inline policies; then, when some of
    /// those managed-policy versions are not compiled yet, one query for their documents.
    /// `None` when a version was deleted in between.
    async fn build_effective(
        &self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<Option<Effective>, StoreError> {
        crate::names::name(kind.field(), name, 128)?;
        let lower = name.to_lowercase();
        // One connection for both queries: taking one from the pool costs a round trip.
        let mut conn = self.db.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT 'principal', p.arn, p.id, COALESCE(p.boundary_arn, ''),
                    COALESCE(q.default_version, ''), (SELECT COALESCE(MAX(seq), 0) FROM journal),
                    COALESCE(q.id, '')
               FROM principals p LEFT JOIN policies q ON q.arn = p.boundary_arn
               WHERE p.account = $1 AND p.kind = $2 AND p.name_lower = $3
             UNION ALL
             SELECT 'managed', p.arn, p.name, p.default_version, p.id, 0, '' FROM attachments a
               JOIN policies p ON p.arn = a.policy_arn
               WHERE a.account = $1 AND ((a.kind = $2 AND a.name_lower = $3)
                 OR (a.kind = 'group' AND $2 = 'user' AND a.name_lower IN
                     (SELECT group_lower FROM group_members WHERE account = $1 AND user_lower = $3)))
             UNION ALL
             SELECT 'inline', kind || '/' || name_lower || '/' || policy_name, policy_name, document, '', 0, ''
               FROM inline_policies
               WHERE account = $1 AND ((kind = $2 AND name_lower = $3)
                 OR (kind = 'group' AND $2 = 'user' AND name_lower IN
                     (SELECT group_lower FROM group_members WHERE account = $1 AND user_lower = $3)))
             UNION ALL
             SELECT 'tag', key, value, '', '', 0, '' FROM tags
               WHERE account = $1 AND kind = $2 AND target = $3",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(&lower)
        .fetch_all(&mut *conn)
        .await?;
        // (arn, id, boundary ARN, boundary version, sequence, boundary policy id)
        type PrincipalRow = (String, String, String, String, i64, String);
        let mut principal: Option<PrincipalRow> = None;
        // (source, key, name, version or document, policy id)
        let mut entries: Vec<(String, String, String, String, String)> =
            Vec::with_capacity(rows.len());
        let mut tags = Vec::new();
        for r in &rows {
            let source: String = r.try_get(0)?;
            let (a, b, c, d): (String, String, String, String) =
                (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
            if source == "principal" {
                principal = Some((a, b, c, d, r.try_get(5)?, r.try_get(6)?));
            } else if source == "tag" {
                tags.push((a, b));
            } else {
                entries.push((source, a, b, c, d));
            }
        }
        drop(rows);
        let (arn, id, boundary_arn, boundary_version, seq, boundary_id) =
            principal.ok_or_else(|| StoreError::no_such(kind.not_found(name)))?;
        // A policy attached both to the user and to one of its groups counts once; order is
        // fixed so that equal inputs give equal sets.
        entries.sort();
        entries.dedup();
        // The managed-policy versions, the boundary's last.
        let boundary_name = boundary_arn
            .rsplit('/')
            .next()
            .unwrap_or(&boundary_arn)
            .to_string();
        let mut versions: Vec<VersionRef<'_>> = entries
            .iter()
            .filter(|e| e.0 == "managed")
            .map(|(_, arn, pname, version, policy_id)| VersionRef {
                policy_id,
                arn,
                name: pname,
                version,
            })
            .collect();
        if !boundary_arn.is_empty() {
            versions.push(VersionRef {
                policy_id: &boundary_id,
                arn: &boundary_arn,
                name: &boundary_name,
                version: &boundary_version,
            });
        }
        let policy_arns: Vec<String> = versions.iter().map(|v| v.arn.to_string()).collect();
        let Some(mut compiled) = self.compiled_versions(conn, &versions).await? else {
            return Ok(None);
        };
        let boundary = if boundary_arn.is_empty() {
            None
        } else {
            compiled.pop().map(|c| PolicySet::new([c]))
        };
        let mut compiled = compiled.into_iter();
        let mut policies = Vec::with_capacity(entries.len());
        for (source, key, _, last, _) in &entries {
            if source == "managed" {
                policies.extend(compiled.next());
            } else {
                policies.push(Arc::new(compile(key, None, last)?));
            }
        }
        Ok(Some(Effective {
            arn,
            id,
            identity: PolicySet::new(policies),
            boundary,
            tags,
            seq,
            policy_arns,
        }))
    }

    /// Managed policy versions, compiled once, in the order asked. Keyed by the policy's
    /// unique ID (new each time a policy is created, so a policy deleted and created again
    /// under the same ARN never meets the old one's documents) and the version. The versions
    /// not compiled yet are read in one query, on `conn`, which is given back to the pool
    /// before they are compiled. `None` when one of them no longer exists.
    async fn compiled_versions(
        &self,
        mut conn: PoolConnection<Any>,
        versions: &[VersionRef<'_>],
    ) -> Result<Option<Vec<Arc<CompiledPolicy>>>, StoreError> {
        let mut found: Vec<Option<Arc<CompiledPolicy>>> = match self.db.cache.compiled.lock() {
            Ok(map) => versions
                .iter()
                .map(|v| {
                    map.get(&(v.policy_id.to_string(), v.version.to_string()))
                        .cloned()
                })
                .collect(),
            Err(_) => vec![None; versions.len()],
        };
        let missing: Vec<&VersionRef<'_>> = versions
            .iter()
            .zip(&found)
            .filter(|(_, c)| c.is_none())
            .map(|(v, _)| v)
            .collect();
        if !missing.is_empty() {
            let mut sql = String::from(
                "SELECT p.id, v.version_id, v.document FROM policy_versions v
                   JOIN policies p ON p.arn = v.policy_arn WHERE ",
            );
            for i in 0..missing.len() {
                if i > 0 {
                    sql.push_str(" OR ");
                }
                let n = 3 * i;
                sql.push_str(&format!(
                    "(v.policy_arn = ${} AND v.version_id = ${} AND p.id = ${})",
                    n + 1,
                    n + 2,
                    n + 3
                ));
            }
            let mut query = sqlx::query(&sql);
            for v in &missing {
                query = query.bind(v.arn).bind(v.version).bind(v.policy_id);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            drop(conn);
            let mut documents: HashMap<(String, String), String> =
                HashMap::with_capacity(rows.len());
            for r in &rows {
                documents.insert((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?);
            }
            drop(rows);
            for (v, slot) in versions.iter().zip(found.iter_mut()) {
                if slot.is_some() {
                    continue;
                }
                let key = (v.policy_id.to_string(), v.version.to_string());
                let Some(document) = documents.get(&key) else {
                    return Ok(None);
                };
                let c = Arc::new(compile(v.name, Some(v.version), document)?);
                if let Ok(mut map) = self.db.cache.compiled.lock() {
                    map.insert(key, c.clone());
                }
                *slot = Some(c);
            }
        }
        Ok(found.into_iter().collect())
    }

    /// Empties the caches of principals' sets and, with `compiled`, of compiled policy
    /// versions too (for cold-start measurements).
    pub fn clear_caches(&self, compiled: bool) {
        if compiled && let Ok(mut m) = self.db.cache.compiled.lock() {
            m.clear();
        }
        if let Ok(mut m) = self.db.cache.principals.lock() {
            m.clear();
        }
    }

    /// Applies to the caches the journal events this node knows exist but has not applied
    /// yet: reads them (one query a thousand events, by one task at a time; the others wait
    /// for it) and evicts what each makes stale. When they cannot be read, empties the caches.
    pub(crate) async fn catch_up(&self) {
        let cache = &self.db.cache;
        if cache.validated.load(Ordering::Acquire) >= cache.current() {
            return;
        }
        let _one = cache.catching_up.lock().await;
        loop {
            let target = cache.current();
            let from = cache.validated.load(Ordering::Acquire);
            if from >= target {
                return;
            }
            let rows = sqlx::query(
                "SELECT seq, entity FROM journal WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT 1000",
            )
            .bind(from)
            .bind(target)
            .fetch_all(&self.db.pool)
            .await;
            let events: Option<Vec<(i64, String)>> = rows.ok().and_then(|rows| {
                rows.iter()
                    .map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
                    .collect()
            });
            match events {
                Some(events) if !events.is_empty() => {
                    let mut last = from;
                    for (seq, entity) in &events {
                        self.apply(*seq, Stale::of(entity));
                        last = *seq;
                    }
                    // Up to `target` when the read came short of it (sequences are dense, so
                    // it does not; `All` keeps it safe if they were not).
                    if events.len() < 1000 && last < target {
                        self.apply(target, Stale::All);
                        last = target;
                    }
                    cache.validated.fetch_max(last, Ordering::AcqRel);
                }
                _ => {
                    self.apply(target, Stale::All);
                    cache.validated.fetch_max(target, Ordering::AcqRel);
                }
            }
        }
    }

    /// Evicts what one event makes stale, and remembers the event.
    fn apply(&self, seq: i64, stale: Stale) {
        let cache = &self.db.cache;
        let Ok(mut applied) = cache.applied.lock() else {
            return;
        };
        if let Ok(mut map) = cache.principals.lock() {
            map.retain(|k, e| !stale.hits(k, e));
        }
        self.keys.evict(&stale);
        applied.events.push_back((seq, stale));
        while applied.events.len() > TOMBSTONES {
            if let Some((s, _)) = applied.events.pop_front() {
                applied.floor = s;
            }
        }
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

#[cfg(test)]
mod tests {
    use super::Stale;

    #[test]
    fn an_event_makes_stale_what_its_entity_names() {
        let cases = [
            (
                "arn:aws:iam::111122223333:user/dev",
                Stale::Principal("arn:aws:iam::111122223333:user/dev".into()),
            ),
            (
                "arn:aws:iam::111122223333:user/team/dev",
                Stale::Principal("arn:aws:iam::111122223333:user/team/dev".into()),
            ),
            (
                "arn:aws:iam::111122223333:role/app",
                Stale::Principal("arn:aws:iam::111122223333:role/app".into()),
            ),
            (
                "arn:aws:iam::111122223333:group/g",
                Stale::UsersOf("111122223333".into()),
            ),
            (
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                Stale::Policy("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
            ),
            (
                "arn:aws:iam::111122223333:policy/p",
                Stale::Policy("arn:aws:iam::111122223333:policy/p".into()),
            ),
            ("arn:aws:iam::aws:policy/", Stale::All),
            ("arn:aws:iam::111122223333:root", Stale::All),
            ("arn:aws:iam::111122223333:user/", Stale::All),
            ("something else", Stale::All),
            ("", Stale::All),
        ];
        for (entity, stale) in cases {
            assert_eq!(Stale::of(entity), stale, "{entity}");
        }
    }
}
