//! `gatehouse reference ...`: the service reference Gatehouse ships, and what an update of it
//! does to existing policies.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gatehouse_analysis::ServiceReference;
use gatehouse_analysis::reference_update::{added_actions, removed_actions, wildcard_grants};

use crate::Status;
use crate::history::emit;

#[derive(Subcommand)]
pub enum ReferenceCommand {
    /// Compare two service references: the actions the new one adds, which policies'
    /// wildcards (and NotActions) now grant them, and to whom.
    ///
    /// Each side is a file in the carried format (`data/service-reference.json`) or
    /// `embedded` for the one built into Gatehouse. With `--data-dir`, every policy of that
    /// store (provider, customer-managed, inline, in every account) and the identities they
    /// reach; without it, the provider policies Gatehouse ships. Exits 0 when no policy grants
    /// more, 1 when some do, 2 on a usage or I/O error.
    Diff(DiffArgs),
}

#[derive(Args)]
pub struct DiffArgs {
    /// The reference before the update (a file, or `embedded`).
    #[arg(value_name = "OLD")]
    old: String,
    /// The reference after it.
    #[arg(value_name = "NEW")]
    new: String,
    /// A data directory whose store to look through.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// With `--data-dir`: a database other than its SQLite file (`postgres://...`).
    #[arg(long, value_name = "URL", requires = "data_dir")]
    database: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(command: ReferenceCommand) -> Status {
    match command {
        ReferenceCommand::Diff(args) => diff(&args),
    }
}

fn load(spec: &str) -> Result<ServiceReference, String> {
    if spec == "embedded" {
        return Ok(ServiceReference::embedded().clone());
    }
    let text = std::fs::read_to_string(spec).map_err(|e| format!("{spec}: {e}"))?;
    ServiceReference::from_json(&text).map_err(|e| format!("{spec}: {e}"))
}

fn diff(args: &DiffArgs) -> Status {
    let (old, new) = match (load(&args.old), load(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Status::Error;
        }
    };
    let report = match &args.data_dir {
        Some(dir) => {
            let result = crate::store::with_store(dir, args.database.as_deref(), async |store| {
                store
                    .reference_update(&old, &new)
                    .await
                    .map_err(|e| e.message)
            })
            .and_then(|r| r);
            match result {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Status::Error;
                }
            }
        }
        None => match shipped(&old, &new) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return Status::Error;
            }
        },
    };
    let status = if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => emit(&format!("{s}\n")),
            Err(e) => {
                eprintln!("error: {e}");
                return Status::Error;
            }
        }
    } else {
        emit(&report.to_string())
    };
    if status != Status::Ok {
        status
    } else if report.policies.is_empty() {
        Status::Ok
    } else {
        Status::Findings
    }
}

/// The report over the provider policies Gatehouse ships (no store, so no identities).
fn shipped(
    old: &ServiceReference,
    new: &ServiceReference,
) -> Result<gatehouse_store::ReferenceUpdate, String> {
    let catalog = gatehouse_store::ProviderCatalog::embedded().map_err(|e| e.message)?;
    let added = added_actions(old, new);
    let mut policies = Vec::new();
    for p in &catalog.policies {
        let Some(v) = p.versions.last() else { continue };
        let grants = wildcard_grants(&v.document, &added);
        if !grants.is_empty() {
            policies.push(gatehouse_store::WidenedPolicy {
                policy: gatehouse_store::policy_arn_of(p),
                account: "aws".to_string(),
                grants,
                identities: Vec::new(),
            });
        }
    }
    Ok(gatehouse_store::ReferenceUpdate {
        added_actions: added,
        removed_actions: removed_actions(old, new),
        policies,
    })
}
