//! The provider catalog: every AWS managed policy, and the recovered version history of the
//! Amazon Q policies, loaded into the store on first start; and publishing new provider
//! versions, which take effect at once for every identity the policy is attached to.

use std::collections::BTreeMap;
use std::path::Path;

use gatehouse_policy::{Mode, PolicyKind, ValidateOptions, validate};
use serde::Deserialize;
use serde_json::json;

use crate::blast::BlastRadius;
use crate::db::Event;
use crate::error::{ErrorCode, StoreError};
use crate::model::PolicyVersion;
use crate::policies::{self, PROVIDER, diagnostic_error, insert_policy, insert_version};
use crate::{Actor, Store};

/// One version of a provider policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogVersion {
    /// `v1`, `v12`, ...
    pub version_id: String,
    /// The document.
    pub document: String,
    /// When AWS created it (milliseconds since the epoch).
    pub created_at: i64,
}

/// One provider policy with its known versions (oldest first; the last is the default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogPolicy {
    /// The name.
    pub name: String,
    /// The path (`/`, `/service-role/`, `/aws-service-role/`, ...).
    pub path: String,
    /// When AWS created the policy.
    pub created_at: i64,
    /// The versions.
    pub versions: Vec<CatalogVersion>,
}

/// The provider catalog, read from the project's `data/` folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderCatalog {
    /// The policies, by name.
    pub policies: Vec<CatalogPolicy>,
}

/// What loading the catalog did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CatalogSummary {
    /// Policies added.
    pub policies: usize,
    /// Versions added.
    pub versions: usize,
    /// Policies already present (left as they are).
    pub skipped: usize,
}

#[derive(Deserialize)]
struct Index {
    policies: Vec<IndexEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    name: String,
    path: String,
    default_version_id: String,
    create_date: String,
    update_date: String,
    file: String,
}

#[derive(Deserialize)]
struct HistoryEntry {
    policy: String,
    /// Absent in the entries that only record missing versions.
    version: Option<String>,
    date: Option<String>,
    #[serde(rename = "document-file")]
    document_file: Option<String>,
}

#[derive(Deserialize)]
struct SampleIndex {
    policies: Vec<SampleEntry>,
}

#[derive(Deserialize)]
struct SampleEntry {
    policy: String,
}

#[derive(Deserialize)]
struct SampleHistory {
    history: Vec<SampleVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SampleVersion {
    version: String,
    date: String,
    document_file: String,
}

fn millis(date: &str) -> Result<i64, StoreError> {
    let ts: jiff::Timestamp = date
        .parse()
        .map_err(|e| StoreError::config(format!("catalog date {date:?}: {e}")))?;
    Ok(ts.as_millisecond())
}

fn read(path: &Path) -> Result<String, StoreError> {
    std::fs::read_to_string(path)
        .map_err(|e| StoreError::config(format!("cannot read {}: {e}", path.display())))
}

fn version_number(id: &str) -> i64 {
    id.trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// The catalog packed at build time from the project's `data/` folder (see `build.rs`).
const PACK: &str = include_str!(concat!(env!("OUT_DIR"), "/catalog.pack"));

/// The pack's files: name -> (start, length) in [`PACK`].
type PackIndex = std::collections::HashMap<&'static str, (usize, usize)>;

/// The pack's index, read once.
fn pack_index() -> &'static Result<PackIndex, String> {
    static INDEX: std::sync::OnceLock<Result<PackIndex, String>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = std::collections::HashMap::new();
        let mut at = 0;
        while at < PACK.len() {
            let rest = PACK.get(at..).unwrap_or("");
            let (header, _) = rest
                .split_once('\n')
                .ok_or_else(|| "the embedded catalog is damaged".to_string())?;
            let (name, len) = header
                .split_once('\t')
                .and_then(|(n, l)| Some((n, l.parse::<usize>().ok()?)))
                .ok_or_else(|| "the embedded catalog is damaged".to_string())?;
            let start = at + header.len() + 1;
            index.insert(name, (start, len));
            at = start + len + 1;
        }
        Ok(index)
    })
}

/// Finds a file in the pack.
pub(crate) fn packed_file(rel: &str) -> Result<String, StoreError> {
    let index = pack_index()
        .as_ref()
        .map_err(|e| StoreError::config(e.clone()))?;
    let (start, len) = index
        .get(rel)
        .ok_or_else(|| StoreError::config(format!("the embedded catalog has no {rel}")))?;
    PACK.get(*start..start + len)
        .map(str::to_string)
        .ok_or_else(|| StoreError::config("the embedded catalog is damaged"))
}

impl CatalogVersion {
    /// The version's number (`v12` -> 12).
    pub fn number(&self) -> i64 {
        version_number(&self.version_id)
    }
}

impl ProviderCatalog {
    /// A policy by name (any case) or ARN.
    pub fn find(&self, name_or_arn: &str) -> Option<&CatalogPolicy> {
        self.policies
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name_or_arn) || policy_arn_of(p) == name_or_arn)
    }

    /// The catalog that ships inside Gatehouse: every current AWS managed policy and the
    /// recovered history of the Amazon Q policies, packed from the project's `data/` folder at
    /// build time.
    pub fn embedded() -> Result<ProviderCatalog, StoreError> {
        ProviderCatalog::read_with(&|rel: &str| packed_file(rel))
    }

    /// Reads the catalog from a `data/` folder: `aws-managed-policies/` (every current policy,
    /// its default version), `managed-policy-history/` (every recovered version of the Amazon
    /// Q policies, with AWS's dates) and `history-sample/` (every recovered version of 30
    /// popular policies).
    pub fn from_dir(data: &Path) -> Result<ProviderCatalog, StoreError> {
        ProviderCatalog::read_with(&|rel: &str| read(&data.join(rel)))
    }

    fn read_with(
        read: &dyn Fn(&str) -> Result<String, StoreError>,
    ) -> Result<ProviderCatalog, StoreError> {
        let index: Index = serde_json::from_str(&read("aws-managed-policies/index.json")?)
            .map_err(|e| StoreError::config(format!("aws-managed-policies/index.json: {e}")))?;
        let history: Vec<HistoryEntry> =
            serde_json::from_str(&read("managed-policy-history/history.json")?).map_err(|e| {
                StoreError::config(format!("managed-policy-history/history.json: {e}"))
            })?;
        let mut recovered: BTreeMap<String, Vec<CatalogVersion>> = BTreeMap::new();
        for h in history {
            let (Some(version_id), Some(date), Some(file)) = (h.version, h.date, h.document_file)
            else {
                continue;
            };
            recovered.entry(h.policy).or_default().push(CatalogVersion {
                version_id,
                document: read(&format!("managed-policy-history/{file}"))?,
                created_at: millis(&date)?,
            });
        }
        // The history sample: every recovered version of 30 popular policies.
        let sample: SampleIndex = serde_json::from_str(&read("history-sample/index.json")?)
            .map_err(|e| StoreError::config(format!("history-sample/index.json: {e}")))?;
        for p in sample.policies {
            let file = format!("history-sample/{}/history.json", p.policy);
            let h: SampleHistory = serde_json::from_str(&read(&file)?)
                .map_err(|e| StoreError::config(format!("{file}: {e}")))?;
            let mut versions = Vec::with_capacity(h.history.len());
            for v in h.history {
                versions.push(CatalogVersion {
                    document: read(&format!("history-sample/{}/{}", p.policy, v.document_file))?,
                    created_at: millis(&v.date)?,
                    version_id: v.version,
                });
            }
            recovered.entry(p.policy).or_insert(versions);
        }
        let mut policies = Vec::with_capacity(index.policies.len());
        for e in index.policies {
            let mut versions = match recovered.remove(&e.name) {
                Some(v) => v,
                None => vec![CatalogVersion {
                    version_id: e.default_version_id.clone(),
                    document: read(&format!("aws-managed-policies/{}", e.file))?,
                    created_at: millis(&e.update_date)?,
                }],
            };
            versions.sort_by_key(|v| version_number(&v.version_id));
            policies.push(CatalogPolicy {
                name: e.name,
                path: e.path,
                created_at: millis(&e.create_date)?,
                versions,
            });
        }
        Ok(ProviderCatalog { policies })
    }
}

/// The actor of provider changes in the journal.
const PROVIDER_ACTOR: &str = "arn:aws:iam::aws:root";

impl Store {
    /// Loads the provider catalog. Policies already in the store are left as they are, so this
    /// is what first start runs, and running it again changes nothing.
    pub async fn load_provider_catalog(
        &self,
        catalog: &ProviderCatalog,
    ) -> Result<CatalogSummary, StoreError> {
        let mut w = self.db.begin().await?;
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT arn FROM policies WHERE account = $1")
                .bind(PROVIDER)
                .fetch_all(&mut *w.tx)
                .await?;
        let existing: std::collections::HashSet<String> = existing.into_iter().collect();
        let mut summary = CatalogSummary::default();
        for p in &catalog.policies {
            let arn = policies::policy_arn(PROVIDER, &p.path, &p.name);
            if existing.contains(&arn) {
                summary.skipped += 1;
                continue;
            }
            let Some(last) = p.versions.last() else {
                continue;
            };
            insert_policy(&mut w, &arn, PROVIDER, &p.name, &p.path, None, p.created_at).await?;
            for v in &p.versions {
                insert_version(
                    &mut w,
                    &arn,
                    version_number(&v.version_id),
                    &v.document,
                    v.created_at,
                    None,
                )
                .await?;
                summary.versions += 1;
            }
            sqlx::query("UPDATE policies SET default_version = $1, next_version = $2, updated_at = $3 WHERE arn = $4")
                .bind(&last.version_id)
                .bind(version_number(&last.version_id) + 1)
                .bind(last.created_at)
                .bind(&arn)
                .execute(&mut *w.tx)
                .await?;
            summary.policies += 1;
        }
        if summary.policies > 0 {
            w.journal(Event {
                at: self.now(),
                account: PROVIDER,
                actor: PROVIDER_ACTOR,
                operation: "LoadProviderCatalog",
                entity: "arn:aws:iam::aws:policy/",
                before: None,
                after: Some(json!({"Policies": summary.policies, "Versions": summary.versions})),
            })
            .await?;
        }
        w.commit().await?;
        Ok(summary)
    }

    /// Publishes a new default version of a provider policy (the provider's own operation;
    /// no account can do this). Validated by the rules AWS's own policies meet.
    pub async fn publish_provider_version(
        &self,
        name: &str,
        document: &str,
        description: &str,
    ) -> Result<PolicyVersion, StoreError> {
        Ok(self
            .publish_provider_version_reporting(name, document, description)
            .await?
            .0)
    }

    /// What publishing `document` as the new default version of provider policy `name` would
    /// do, without publishing: the diff with the current default and who gains and loses what.
    pub async fn publish_dry_run(
        &self,
        name: &str,
        document: &str,
    ) -> Result<BlastRadius, StoreError> {
        check_provider_document(document)?;
        let arn = self.provider_arn(name).await?;
        self.blast_radius(&arn, document).await
    }

    async fn provider_arn(&self, name: &str) -> Result<String, StoreError> {
        sqlx::query_scalar("SELECT arn FROM policies WHERE account = $1 AND name_lower = $2")
            .bind(PROVIDER)
            .bind(name.to_lowercase())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| StoreError::no_such(format!("No provider policy named {name}.")))
    }

    /// [`Store::publish_provider_version`], returning the blast radius kept with the version.
    pub async fn publish_provider_version_reporting(
        &self,
        name: &str,
        document: &str,
        description: &str,
    ) -> Result<(PolicyVersion, BlastRadius), StoreError> {
        check_provider_document(document)?;
        let blast = self
            .blast_radius(&self.provider_arn(name).await?, document)
            .await?;
        let blast_json = serde_json::to_string(&blast)
            .map_err(|e| StoreError::config(format!("blast radius: {e}")))?;
        let mut w = self.db.begin().await?;
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT arn, default_version, next_version FROM policies WHERE account = $1 AND name_lower = $2",
        )
        .bind(PROVIDER)
        .bind(name.to_lowercase())
        .fetch_optional(&mut *w.tx)
        .await?;
        let (arn, before, number) =
            row.ok_or_else(|| StoreError::no_such(format!("No provider policy named {name}.")))?;
        let now = self.now();
        let vid = insert_version(&mut w, &arn, number, document, now, Some(description)).await?;
        sqlx::query("UPDATE policy_versions SET blast_radius = $1 WHERE policy_arn = $2 AND version_id = $3")
            .bind(&blast_json)
            .bind(&arn)
            .bind(&vid)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("UPDATE policies SET default_version = $1, next_version = $2, updated_at = $3 WHERE arn = $4")
            .bind(&vid)
            .bind(number + 1)
            .bind(now)
            .bind(&arn)
            .execute(&mut *w.tx)
            .await?;
        w.journal(Event {
            at: now,
            account: PROVIDER,
            actor: PROVIDER_ACTOR,
            operation: "PublishPolicyVersion",
            entity: &arn,
            before: Some(json!({"DefaultVersionId": before})),
            after: Some(
                json!({"DefaultVersionId": vid, "Description": description, "Document": document}),
            ),
        })
        .await?;
        w.commit().await?;
        Ok((
            PolicyVersion {
                version_id: vid,
                document: None,
                is_default: true,
                created_at: now,
                change_description: Some(description.to_string()),
            },
            blast,
        ))
    }
}

/// Checks a provider document by the rules AWS's own policies meet.
fn check_provider_document(document: &str) -> Result<(), StoreError> {
    match validate(
        document,
        &ValidateOptions::new(PolicyKind::Identity, Mode::Provider),
    ) {
        Ok(_) => Ok(()),
        Err(diags) => Err(diags.first().map(diagnostic_error).unwrap_or_else(|| {
            StoreError::new(
                ErrorCode::MalformedPolicyDocument,
                "Syntax errors in policy.",
            )
        })),
    }
}

/// The actor that publishes provider versions, for callers that want to show it.
pub fn provider_actor() -> Actor {
    Actor {
        account: PROVIDER.to_string(),
        arn: PROVIDER_ACTOR.to_string(),
    }
}

/// The ARN of a catalog policy (`arn:aws:iam::aws:policy/<path><name>`).
pub fn policy_arn_of(policy: &CatalogPolicy) -> String {
    policies::policy_arn(PROVIDER, &policy.path, &policy.name)
}
