//! The blast radius of a provider-policy update: which users, groups and roles, in every
//! account, gain or lose which actions through it. Worked out before publishing (a dry run)
//! and kept with the version afterwards.
//!
//! An identity gains an action the update newly allows (or allows more widely) unless its
//! other policies already allow it, a statement of them denies it outright, or its
//! permissions boundary does not allow it; it loses an action the update stops allowing
//! unless its other policies still allow it. Users are counted through their groups too, and
//! identities whose permissions boundary is the policy are counted with their own policies.
//! "Allow" here is per action, whatever the resource: a report of who to look at, not a
//! decision (the engine decides).

use gatehouse_analysis::{Analyzed, Classification, ServiceReference, diff_documents};
use serde::Serialize;
use sqlx::Row;

use crate::Store;
use crate::error::StoreError;
use crate::policies::PROVIDER;

/// One identity the update reaches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Affected {
    /// The account.
    pub account: String,
    /// `User`, `Group` or `Role`.
    pub kind: String,
    /// The name.
    pub name: String,
    /// The ARN.
    pub arn: String,
    /// How the policy reaches it: `attached`, `group NAME` or `permissions boundary`.
    pub via: String,
    /// Actions it gains.
    pub gains: Vec<String>,
    /// Actions it loses.
    pub loses: Vec<String>,
}

/// The blast radius of an update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlastRadius {
    /// The policy.
    pub policy_arn: String,
    /// The version the update replaces as the default.
    pub from_version: String,
    /// The update's classification.
    pub classification: Classification,
    /// The diff's summary.
    pub summary: String,
    /// Accounts with at least one identity the policy reaches.
    pub accounts: usize,
    /// Every identity the policy reaches (affected or not), by account, kind and name.
    pub identities: Vec<Affected>,
}

impl BlastRadius {
    /// The identities that gain or lose anything.
    pub fn affected(&self) -> impl Iterator<Item = &Affected> {
        self.identities
            .iter()
            .filter(|a| !a.gains.is_empty() || !a.loses.is_empty())
    }
}

impl std::fmt::Display for BlastRadius {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} (from {}): {}",
            self.policy_arn, self.from_version, self.summary
        )?;
        let affected: Vec<&Affected> = self.affected().collect();
        writeln!(
            f,
            "reaches {} identities in {} accounts; {} gain or lose permissions",
            self.identities.len(),
            self.accounts,
            affected.len()
        )?;
        for a in affected {
            writeln!(f, "  {} {} {} ({})", a.account, a.kind, a.name, a.via)?;
            if !a.gains.is_empty() {
                writeln!(
                    f,
                    "    gains: {}",
                    gatehouse_analysis::abbreviate(&a.gains, 10)
                )?;
            }
            if !a.loses.is_empty() {
                writeln!(
                    f,
                    "    loses: {}",
                    gatehouse_analysis::abbreviate(&a.loses, 10)
                )?;
            }
        }
        Ok(())
    }
}

/// An identity found reached by the policy, before its other policies are read.
pub(crate) struct Reached {
    account: String,
    kind: &'static str,
    name: String,
    name_lower: String,
    arn: String,
    boundary: Option<String>,
    via: String,
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "user" => "User",
        "group" => "Group",
        _ => "Role",
    }
}

impl Store {
    /// The blast radius of making `document` the default version of provider policy `arn`.
    pub async fn blast_radius(&self, arn: &str, document: &str) -> Result<BlastRadius, StoreError> {
        let row = sqlx::query(
            "SELECT p.default_version, v.document FROM policies p
             JOIN policy_versions v ON v.policy_arn = p.arn AND v.version_id = p.default_version
             WHERE p.arn = $1 AND p.account = $2",
        )
        .bind(arn)
        .bind(PROVIDER)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| StoreError::no_such(format!("Policy {arn} was not found.")))?;
        let from_version: String = row.try_get(0)?;
        let current: String = row.try_get(1)?;
        self.blast_radius_between(arn, &from_version, &current, document)
            .await
    }

    /// The blast radius, over the identities the provider policy `arn` reaches now, of the
    /// change from `current` (version `from_version`) to `document`: what a past change of the policy
    /// meant for today's identities, or what a proposed one would mean.
    pub async fn blast_radius_between(
        &self,
        arn: &str,
        from_version: &str,
        current: &str,
        document: &str,
    ) -> Result<BlastRadius, StoreError> {
        let reference = ServiceReference::embedded();
        let diff = diff_documents(current, document, reference)
            .map_err(|e| StoreError::config(e.to_string()))?;
        let (gains, losses) = (diff.gains(), diff.losses());

        let reached = self.reached(arn).await?;
        // Every identity's documents are read first, then each distinct document is analyzed
        // once: a policy attached to many identities is not analyzed again for each.
        let mut read = Vec::with_capacity(reached.len());
        for r in reached {
            let boundary_doc: Option<String> = match &r.boundary {
                Some(b) => self.boundary_document(b).await?,
                None => None,
            };
            let others = self.other_documents(&r, arn).await?;
            read.push((r, boundary_doc, others));
        }
        let mut analyzed: std::collections::HashMap<&str, Option<Analyzed<'_>>> =
            std::collections::HashMap::new();
        for (_, boundary_doc, others) in &read {
            for d in boundary_doc.iter().chain(others) {
                analyzed
                    .entry(d.as_str())
                    .or_insert_with(|| Analyzed::new(d, "policy", reference).ok());
            }
        }
        let find = |d: &str| analyzed.get(d).and_then(Option::as_ref);
        let mut identities = Vec::with_capacity(read.len());
        for (r, boundary_doc, others) in &read {
            let others: Vec<&Analyzed<'_>> = others.iter().filter_map(|d| find(d)).collect();
            let boundary = boundary_doc.as_deref().and_then(find);
            let allowed_elsewhere =
                |a: &str| others.iter().any(|o| o.permissions().allows(a, reference));
            let denied = |a: &str| {
                others
                    .iter()
                    .any(|o| o.permissions().denies_outright(a, reference))
            };
            let bounded = |a: &str| {
                boundary
                    .as_ref()
                    .is_none_or(|b| b.permissions().allows(a, reference))
            };
            let (g, l) = if r.via == "permissions boundary" {
                // The policy bounds this identity: it gains what its own policies allow and the
                // new boundary lets through, and loses what they allow and it no longer does.
                (
                    gains
                        .iter()
                        .filter(|a| allowed_elsewhere(a) && !denied(a))
                        .cloned()
                        .collect(),
                    losses
                        .iter()
                        .filter(|a| allowed_elsewhere(a) && !denied(a))
                        .cloned()
                        .collect(),
                )
            } else {
                (
                    gains
                        .iter()
                        .filter(|a| !allowed_elsewhere(a) && !denied(a) && bounded(a))
                        .cloned()
                        .collect(),
                    losses
                        .iter()
                        .filter(|a| !allowed_elsewhere(a) && !denied(a) && bounded(a))
                        .cloned()
                        .collect(),
                )
            };
            identities.push(Affected {
                account: r.account.clone(),
                kind: r.kind.to_string(),
                name: r.name.clone(),
                arn: r.arn.clone(),
                via: r.via.clone(),
                gains: g,
                loses: l,
            });
        }
        let accounts = identities
            .iter()
            .map(|a| a.account.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        Ok(BlastRadius {
            policy_arn: arn.to_string(),
            from_version: from_version.to_string(),
            classification: diff.classification,
            summary: diff.headline(),
            accounts,
            identities,
        })
    }

    /// Everyone a managed policy reaches: attached identities, the members of attached
    /// groups, and identities whose boundary it is.
    pub(crate) async fn reached(&self, arn: &str) -> Result<Vec<Reached>, StoreError> {
        let pool = &self.db.pool;
        let mut reached: Vec<Reached> = Vec::new();
        let rows = sqlx::query(
            "SELECT a.account, a.kind, p.name, p.name_lower, p.arn, p.boundary_arn
             FROM attachments a JOIN principals p
               ON p.account = a.account AND p.kind = a.kind AND p.name_lower = a.name_lower
             WHERE a.policy_arn = $1 ORDER BY a.account, a.kind, p.name_lower",
        )
        .bind(arn)
        .fetch_all(pool)
        .await?;
        for r in rows {
            let kind: String = r.try_get(1)?;
            reached.push(Reached {
                account: r.try_get(0)?,
                kind: kind_name(&kind),
                name: r.try_get(2)?,
                name_lower: r.try_get(3)?,
                arn: r.try_get(4)?,
                boundary: r.try_get(5)?,
                via: "attached".to_string(),
            });
        }
        let groups: Vec<(String, String, String)> = reached
            .iter()
            .filter(|r| r.kind == "Group")
            .map(|r| (r.account.clone(), r.name_lower.clone(), r.name.clone()))
            .collect();
        for (account, group_lower, group) in groups {
            let rows = sqlx::query(
                "SELECT p.name, p.name_lower, p.arn, p.boundary_arn FROM group_members m
                 JOIN principals p ON p.account = m.account AND p.kind = 'user'
                   AND p.name_lower = m.user_lower
                 WHERE m.account = $1 AND m.group_lower = $2 ORDER BY p.name_lower",
            )
            .bind(&account)
            .bind(&group_lower)
            .fetch_all(pool)
            .await?;
            for r in rows {
                reached.push(Reached {
                    account: account.clone(),
                    kind: "User",
                    name: r.try_get(0)?,
                    name_lower: r.try_get(1)?,
                    arn: r.try_get(2)?,
                    boundary: r.try_get(3)?,
                    via: format!("group {group}"),
                });
            }
        }
        let rows = sqlx::query(
            "SELECT account, kind, name, name_lower, arn FROM principals
             WHERE boundary_arn = $1 ORDER BY account, kind, name_lower",
        )
        .bind(arn)
        .fetch_all(pool)
        .await?;
        for r in rows {
            let kind: String = r.try_get(1)?;
            reached.push(Reached {
                account: r.try_get(0)?,
                kind: kind_name(&kind),
                name: r.try_get(2)?,
                name_lower: r.try_get(3)?,
                arn: r.try_get(4)?,
                boundary: None,
                via: "permissions boundary".to_string(),
            });
        }

        Ok(reached)
    }

    /// The default version's document of a managed policy, if it exists.
    async fn boundary_document(&self, arn: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT v.document FROM policies p JOIN policy_versions v
               ON v.policy_arn = p.arn AND v.version_id = p.default_version WHERE p.arn = $1",
        )
        .bind(arn)
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// The documents of an identity's policies other than `except`: its managed and inline
    /// policies, and for a user those of its groups.
    async fn other_documents(&self, r: &Reached, except: &str) -> Result<Vec<String>, StoreError> {
        let kind = match r.kind {
            "User" => "user",
            "Group" => "group",
            _ => "role",
        };
        Ok(self
            .documents_of(&r.account, kind, &r.name_lower, Some(except))
            .await?
            .into_iter()
            .map(|(_, doc)| doc)
            .collect())
    }

    /// The named documents of a user's, group's or role's policies (`except` left out): its
    /// managed policies by ARN (the default version), its inline policies (`inline NAME`), and
    /// for a user its groups' (`GROUP: ...`).
    async fn documents_of(
        &self,
        account: &str,
        kind: &str,
        name_lower: &str,
        except: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut holders = vec![(kind.to_string(), name_lower.to_string(), String::new())];
        if kind == "user" {
            let groups: Vec<String> = sqlx::query_scalar(
                "SELECT group_lower FROM group_members WHERE account = $1 AND user_lower = $2",
            )
            .bind(account)
            .bind(name_lower)
            .fetch_all(&self.db.pool)
            .await?;
            holders.extend(
                groups
                    .into_iter()
                    .map(|g| ("group".to_string(), g.clone(), format!("{g}: "))),
            );
        }
        let mut out = Vec::new();
        for (kind, name_lower, label) in holders {
            let managed = sqlx::query(
                "SELECT p.arn, v.document FROM attachments a JOIN policies p ON p.arn = a.policy_arn
                 JOIN policy_versions v ON v.policy_arn = p.arn AND v.version_id = p.default_version
                 WHERE a.account = $1 AND a.kind = $2 AND a.name_lower = $3 AND a.policy_arn <> $4
                 ORDER BY p.arn",
            )
            .bind(account)
            .bind(&kind)
            .bind(&name_lower)
            .bind(except.unwrap_or(""))
            .fetch_all(&self.db.pool)
            .await?;
            for r in managed {
                let arn: String = r.try_get(0)?;
                out.push((format!("{label}{arn}"), r.try_get(1)?));
            }
            let inline = sqlx::query(
                "SELECT policy_name, document FROM inline_policies
                 WHERE account = $1 AND kind = $2 AND name_lower = $3 ORDER BY policy_name",
            )
            .bind(account)
            .bind(&kind)
            .bind(&name_lower)
            .fetch_all(&self.db.pool)
            .await?;
            for r in inline {
                let name: String = r.try_get(0)?;
                out.push((format!("{label}inline {name}"), r.try_get(1)?));
            }
        }
        Ok(out)
    }
}

/// A policy that an update of the service reference widens, and whom it reaches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WidenedPolicy {
    /// A managed policy's ARN, or `inline NAME` for an inline policy.
    pub policy: String,
    /// The account that owns it (`aws` for provider policies).
    pub account: String,
    /// The new actions it now grants, with the pattern that grants each.
    pub grants: Vec<gatehouse_analysis::reference_update::WildcardGrant>,
    /// The identities it reaches (for an inline policy, its holder).
    pub identities: Vec<IdentityRef>,
}

/// An identity, in short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityRef {
    /// The account.
    pub account: String,
    /// `User`, `Group` or `Role`.
    pub kind: String,
    /// The name.
    pub name: String,
    /// The ARN.
    pub arn: String,
    /// How the policy reaches it.
    pub via: String,
}

/// What an update of the service reference does to the policies in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReferenceUpdate {
    /// Actions the new reference adds.
    pub added_actions: Vec<String>,
    /// Actions it no longer lists.
    pub removed_actions: Vec<String>,
    /// Policies whose wildcards now grant added actions.
    pub policies: Vec<WidenedPolicy>,
}

impl std::fmt::Display for ReferenceUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} actions added, {} removed; {} policies now grant added actions",
            self.added_actions.len(),
            self.removed_actions.len(),
            self.policies.len()
        )?;
        for p in &self.policies {
            let actions: Vec<String> = p
                .grants
                .iter()
                .map(|g| format!("{} (by {})", g.action, g.pattern))
                .collect();
            writeln!(f, "  {} [{}]", p.policy, p.account)?;
            writeln!(
                f,
                "    now grants: {}",
                gatehouse_analysis::abbreviate(&actions, 8)
            )?;
            for i in &p.identities {
                writeln!(f, "    to {} {} {} ({})", i.account, i.kind, i.name, i.via)?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// The policies (provider, customer-managed and inline, in every account) whose
    /// wildcards grant actions `new` adds to `old`, and everyone they reach.
    pub async fn reference_update(
        &self,
        old: &gatehouse_analysis::ServiceReference,
        new: &gatehouse_analysis::ServiceReference,
    ) -> Result<ReferenceUpdate, StoreError> {
        use gatehouse_analysis::reference_update::{
            added_actions, removed_actions, wildcard_grants,
        };
        let added = added_actions(old, new);
        let mut policies = Vec::new();
        if !added.is_empty() {
            let managed = sqlx::query(
                "SELECT p.arn, p.account, v.document FROM policies p
                 JOIN policy_versions v ON v.policy_arn = p.arn AND v.version_id = p.default_version
                 ORDER BY p.account, p.arn",
            )
            .fetch_all(&self.db.pool)
            .await?;
            for r in managed {
                let (arn, account, document): (String, String, String) =
                    (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                let grants = wildcard_grants(&document, &added);
                if grants.is_empty() {
                    continue;
                }
                let identities = self
                    .reached(&arn)
                    .await?
                    .into_iter()
                    .map(|x| IdentityRef {
                        account: x.account,
                        kind: x.kind.to_string(),
                        name: x.name,
                        arn: x.arn,
                        via: x.via,
                    })
                    .collect();
                policies.push(WidenedPolicy {
                    policy: arn,
                    account,
                    grants,
                    identities,
                });
            }
            let inline = sqlx::query(
                "SELECT i.account, i.kind, p.name, p.arn, i.policy_name, i.document
                 FROM inline_policies i JOIN principals p
                   ON p.account = i.account AND p.kind = i.kind AND p.name_lower = i.name_lower
                 ORDER BY i.account, i.kind, i.name_lower, i.policy_name",
            )
            .fetch_all(&self.db.pool)
            .await?;
            for r in inline {
                let kind: String = r.try_get(1)?;
                let document: String = r.try_get(5)?;
                let grants = wildcard_grants(&document, &added);
                if grants.is_empty() {
                    continue;
                }
                let policy_name: String = r.try_get(4)?;
                let account: String = r.try_get(0)?;
                policies.push(WidenedPolicy {
                    policy: format!("inline {policy_name}"),
                    account: account.clone(),
                    grants,
                    identities: vec![IdentityRef {
                        account,
                        kind: kind_name(&kind).to_string(),
                        name: r.try_get(2)?,
                        arn: r.try_get(3)?,
                        via: "inline".to_string(),
                    }],
                });
            }
        }
        Ok(ReferenceUpdate {
            added_actions: added,
            removed_actions: removed_actions(old, new),
            policies,
        })
    }
}

impl Store {
    /// The policies of a user or role, by ARN: its managed policies (by ARN), its inline
    /// policies (`inline NAME`), and for a user its groups' (`GROUP: ...`); with their
    /// documents (managed: the default version). NoSuchEntity for an unknown ARN.
    pub async fn policies_of(
        &self,
        principal_arn: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT account, kind, name_lower FROM principals WHERE arn = $1")
            .bind(principal_arn)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| {
                StoreError::no_such(format!("The principal {principal_arn} cannot be found."))
            })?;
        let (account, kind, name_lower): (String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        self.documents_of(&account, &kind, &name_lower, None).await
    }
}
