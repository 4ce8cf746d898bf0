//! The update history of provider-managed policies: every version with its date, its change
//! description (AWS's own words where the seed page's table has them, the provider's when
//! published, else the diff's) and its classification; the feed of every real change.
//!
//! Changes are worked out from the stored versions by `gatehouse-analysis` and kept in memory
//! per policy until a new version is published (versions never change once written).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gatehouse_analysis::{Analyzed, Classification, PolicyDiff, ServiceReference};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::Store;
use crate::error::StoreError;
use crate::policies::PROVIDER;

/// One row of the seed page's "Policy updates" table, matched to the version it announces.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedRow {
    /// The name the page uses.
    pub seed_name: String,
    /// The real IAM policy name.
    pub policy: String,
    /// The version it announces.
    pub version: String,
    /// `New policy` or `Updated policy`.
    pub change: String,
    /// The page's description.
    pub description: String,
    /// The page's date (`YYYY-MM-DD`).
    pub date: String,
}

#[derive(Deserialize)]
struct SeedFile {
    rows: Vec<SeedRow>,
}

/// The seed page's table, as carried in `data/seed/policy-updates.json`.
pub fn seed_table() -> Result<Vec<SeedRow>, StoreError> {
    let text = crate::catalog::packed_file("seed/policy-updates.json")?;
    let file: SeedFile = serde_json::from_str(&text)
        .map_err(|e| StoreError::config(format!("seed/policy-updates.json: {e}")))?;
    Ok(file.rows)
}

/// What kind of change a version is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    /// The policy's first version.
    #[serde(rename = "New policy")]
    NewPolicy,
    /// A later version.
    #[serde(rename = "Updated policy")]
    UpdatedPolicy,
}

impl ChangeKind {
    /// As the seed's table prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::NewPolicy => "New policy",
            ChangeKind::UpdatedPolicy => "Updated policy",
        }
    }
}

/// One version in a policy's history.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    /// The policy's name.
    pub policy_name: String,
    /// The policy's ARN.
    pub policy_arn: String,
    /// This version.
    pub version_id: String,
    /// The version it is compared with (the previous recorded one), if any.
    pub previous_version_id: Option<String>,
    /// Versions between the two that no tracker recorded.
    pub missing_versions: Vec<String>,
    /// AWS's CreateDate of the version (milliseconds since the epoch).
    pub created_at: i64,
    /// The date the seed page's table gives, where it has a row for this version.
    pub announced: Option<String>,
    /// New or updated.
    pub kind: ChangeKind,
    /// The change description.
    pub description: String,
    /// Where the description comes from: `AWS` (the seed page), `provider` (given when
    /// published) or `diff` (worked out here).
    pub described_by: &'static str,
    /// The classification (none for a new policy, or when the previous version is unknown).
    pub classification: Option<Classification>,
    /// The diff's one-line summary.
    pub summary: String,
    /// The diff with the previous recorded version.
    pub diff: Option<PolicyDiff>,
    /// For versions published here: who gained and lost what (see `blast_radius`).
    pub blast_radius: Option<serde_json::Value>,
}

impl Change {
    /// Whether the feed shows it: a new policy, or an update that changed the document.
    pub fn is_real(&self) -> bool {
        match self.kind {
            ChangeKind::NewPolicy => true,
            ChangeKind::UpdatedPolicy => {
                !matches!(self.classification, None | Some(Classification::NoChange))
            }
        }
    }

    /// A stable id for feeds: the policy ARN and the version.
    pub fn id(&self) -> String {
        format!(
            "urn:gatehouse:managed-policy-version:{}:{}",
            self.policy_arn, self.version_id
        )
    }
}

/// One stored version, as the history is built from.
#[derive(Clone, Debug)]
pub struct VersionRecord {
    /// `v3`.
    pub version_id: String,
    /// 3.
    pub number: i64,
    /// The document.
    pub document: String,
    /// CreateDate.
    pub created_at: i64,
    /// The provider's description, when published here.
    pub description: Option<String>,
    /// The blast radius kept when published here.
    pub blast_radius: Option<serde_json::Value>,
}

/// Builds a policy's history from its versions (any order): each version compared with the
/// previous recorded one.
pub fn build_history(
    name: &str,
    arn: &str,
    versions: &[VersionRecord],
    seed: &[SeedRow],
    reference: &ServiceReference,
) -> Vec<Change> {
    let mut sorted: Vec<&VersionRecord> = versions.iter().collect();
    sorted.sort_by_key(|v| v.number);
    let mut out = Vec::with_capacity(sorted.len());
    let mut previous: Option<&VersionRecord> = None;
    let mut previous_read: Option<Analyzed<'_>> = None;
    for v in sorted {
        let read = Analyzed::new(&v.document, "version", reference).ok();
        let row = seed
            .iter()
            .find(|r| r.policy.eq_ignore_ascii_case(name) && r.version == v.version_id);
        let diff = match (&previous_read, &read) {
            (Some(p), Some(r)) => Some(p.diff(r, reference)),
            _ => None,
        };
        let kind = if v.number == 1 {
            ChangeKind::NewPolicy
        } else {
            ChangeKind::UpdatedPolicy
        };
        let missing = previous
            .map(|p| (p.number + 1..v.number).map(|n| format!("v{n}")).collect())
            .unwrap_or_default();
        let (description, described_by) = match (row, &v.description, &diff) {
            (Some(r), _, _) => (r.description.clone(), "AWS"),
            (None, Some(d), _) => (d.clone(), "provider"),
            (None, None, Some(d)) => (d.description(), "diff"),
            (None, None, None) if kind == ChangeKind::NewPolicy => {
                ("New policy.".to_string(), "diff")
            }
            (None, None, None) => (
                "Earlier versions were not recorded; nothing to compare with.".to_string(),
                "diff",
            ),
        };
        out.push(Change {
            policy_name: name.to_string(),
            policy_arn: arn.to_string(),
            version_id: v.version_id.clone(),
            previous_version_id: previous.map(|p| p.version_id.clone()),
            missing_versions: missing,
            created_at: v.created_at,
            announced: row.map(|r| r.date.clone()),
            kind,
            description,
            described_by,
            classification: diff.as_ref().map(|d| d.classification),
            summary: diff
                .as_ref()
                .map(PolicyDiff::headline)
                .unwrap_or_else(|| kind.as_str().to_string()),
            diff,
            blast_radius: v.blast_radius.clone(),
        });
        previous = Some(v);
        previous_read = read;
    }
    out
}

/// A history and the policy's `next_version` when it was worked out.
type CachedHistory = (i64, Arc<Vec<Change>>);

/// Histories worked out so far, by policy ARN, with the version count they were built from.
#[derive(Default)]
pub(crate) struct HistoryCache {
    by_arn: Mutex<HashMap<String, CachedHistory>>,
    /// Held while a history is worked out, so concurrent first readers (a feed fetched twice
    /// at start) wait for one computation instead of each doing it.
    building: tokio::sync::Mutex<()>,
}

impl Store {
    /// A provider policy's history, oldest first. `policy` is a name or an ARN.
    pub async fn policy_history(&self, policy: &str) -> Result<Arc<Vec<Change>>, StoreError> {
        let row = sqlx::query(
            "SELECT arn, name, next_version FROM policies WHERE account = $1 AND (arn = $2 OR name_lower = $3)",
        )
        .bind(PROVIDER)
        .bind(policy)
        .bind(policy.to_lowercase())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| StoreError::no_such(format!("No provider policy named {policy}.")))?;
        let arn: String = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let next: i64 = row.try_get(2)?;
        self.history_of(&arn, &name, next).await
    }

    async fn history_of(
        &self,
        arn: &str,
        name: &str,
        next: i64,
    ) -> Result<Arc<Vec<Change>>, StoreError> {
        let cached = || {
            self.history.by_arn.lock().ok().and_then(|cache| {
                cache
                    .get(arn)
                    .filter(|(n, _)| *n == next)
                    .map(|(_, h)| h.clone())
            })
        };
        if let Some(h) = cached() {
            return Ok(h);
        }
        let _building = self.history.building.lock().await;
        if let Some(h) = cached() {
            return Ok(h);
        }
        let rows = sqlx::query(
            "SELECT version_id, number, document, created_at, change_description, blast_radius
             FROM policy_versions WHERE policy_arn = $1 ORDER BY number",
        )
        .bind(arn)
        .fetch_all(&self.db.pool)
        .await?;
        let mut versions = Vec::with_capacity(rows.len());
        for r in rows {
            let blast: Option<String> = r.try_get(5)?;
            versions.push(VersionRecord {
                version_id: r.try_get(0)?,
                number: r.try_get(1)?,
                document: r.try_get(2)?,
                created_at: r.try_get(3)?,
                description: r.try_get(4)?,
                blast_radius: blast.and_then(|b| serde_json::from_str(&b).ok()),
            });
        }
        let seed = seed_table()?;
        let (name, arn2) = (name.to_string(), arn.to_string());
        // Diffing a long history is CPU work: off the async workers.
        let history = tokio::task::spawn_blocking(move || {
            build_history(&name, &arn2, &versions, &seed, ServiceReference::embedded())
        })
        .await
        .map_err(|e| StoreError::config(format!("history worker failed: {e}")))?;
        let history = Arc::new(history);
        if let Ok(mut cache) = self.history.by_arn.lock() {
            cache.insert(arn.to_string(), (next, history.clone()));
        }
        Ok(history)
    }

    /// Every real change of every provider policy (new policies, and updates that changed the
    /// document), newest first, at most `limit`.
    pub async fn provider_changes(&self, limit: usize) -> Result<Vec<Change>, StoreError> {
        // Policies with more than one version need their history worked out; a policy known by
        // one version is a new policy if that version is v1, else nothing is known of its
        // changes.
        let rows = sqlx::query(
            "SELECT p.arn, p.name, p.next_version, COUNT(v.version_id), MAX(v.created_at)
             FROM policies p JOIN policy_versions v ON v.policy_arn = p.arn
             WHERE p.account = $1 GROUP BY p.arn, p.name, p.next_version",
        )
        .bind(PROVIDER)
        .fetch_all(&self.db.pool)
        .await?;
        let seed = seed_table()?;
        let mut all: Vec<Change> = Vec::new();
        for r in rows {
            let arn: String = r.try_get(0)?;
            let name: String = r.try_get(1)?;
            let next: i64 = r.try_get(2)?;
            let count: i64 = r.try_get(3)?;
            if count > 1 {
                let h = self.history_of(&arn, &name, next).await?;
                all.extend(h.iter().filter(|c| c.is_real()).cloned());
            } else if next == 2 {
                let created_at: i64 = r.try_get(4)?;
                let row = seed
                    .iter()
                    .find(|s| s.policy.eq_ignore_ascii_case(&name) && s.version == "v1");
                all.push(Change {
                    policy_name: name,
                    policy_arn: arn,
                    version_id: "v1".to_string(),
                    previous_version_id: None,
                    missing_versions: Vec::new(),
                    created_at,
                    announced: row.map(|r| r.date.clone()),
                    kind: ChangeKind::NewPolicy,
                    description: row
                        .map_or_else(|| "New policy.".to_string(), |r| r.description.clone()),
                    described_by: if row.is_some() { "AWS" } else { "diff" },
                    classification: None,
                    summary: ChangeKind::NewPolicy.as_str().to_string(),
                    diff: None,
                    blast_radius: None,
                });
            }
        }
        all.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.policy_arn.cmp(&b.policy_arn))
        });
        all.truncate(limit);
        Ok(all)
    }
}
