//! `gatehouse provider ...`: the provider's own operations on its managed policies.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::Status;
use crate::input::read_policy;

#[derive(Subcommand)]
pub enum ProviderCommand {
    /// Publish a new default version of a provider-managed policy, and show its blast radius.
    ///
    /// The new version takes effect at once for every user, group and role the policy is
    /// attached to, in every account. The document is checked by the rules AWS's own managed
    /// policies meet. Exits 0 when published, 1 when the store refuses it (an invalid document,
    /// an unknown policy), 2 on a usage or I/O error.
    Publish(PublishArgs),
}

#[derive(Args)]
pub struct PublishArgs {
    /// The policy's name (`AmazonQDeveloperAccess`).
    #[arg(long, value_name = "NAME")]
    policy: String,
    /// The new document, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    document: String,
    /// What changed, as the policy's update history will show it (required unless
    /// `--dry-run`).
    #[arg(long, value_name = "TEXT", required_unless_present = "dry_run")]
    description: Option<String>,
    /// Publish nothing: show the diff with the current default version and the blast radius,
    /// every user, group and role in every account that would gain or lose actions.
    #[arg(long)]
    dry_run: bool,
    /// Print the blast radius as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The data directory (its database and secret key).
    #[arg(long, value_name = "DIR", default_value = "gatehouse-data")]
    data_dir: PathBuf,
    /// A database other than the data directory's SQLite file (`postgres://...`).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

pub fn run(command: ProviderCommand) -> Status {
    match command {
        ProviderCommand::Publish(args) => publish(&args),
    }
}

fn publish(args: &PublishArgs) -> Status {
    let document = match read_policy(&args.document) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {}: {e}", args.document);
            return Status::Error;
        }
    };
    let published =
        crate::store::with_store(&args.data_dir, args.database.as_deref(), async |store| {
            if args.dry_run {
                return match store.publish_dry_run(&args.policy, &document).await {
                    Ok(blast) => {
                        print_blast(&blast, args.json);
                        Status::Ok
                    }
                    Err(e) => {
                        eprintln!("{}: {}: {}", args.document, e.code.as_str(), e.message);
                        Status::Findings
                    }
                };
            }
            let description = args.description.as_deref().unwrap_or_default();
            match store
                .publish_provider_version_reporting(&args.policy, &document, description)
                .await
            {
                Ok((v, blast)) => {
                    println!("published {} {} (default)", args.policy, v.version_id);
                    print_blast(&blast, args.json);
                    Status::Ok
                }
                Err(e) => {
                    eprintln!("{}: {}: {}", args.document, e.code.as_str(), e.message);
                    Status::Findings
                }
            }
        });
    published.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        Status::Error
    })
}

fn print_blast(blast: &gatehouse_store::BlastRadius, json: bool) {
    if json {
        match serde_json::to_string_pretty(blast) {
            Ok(s) => {
                crate::history::emit(&format!("{s}\n"));
            }
            Err(e) => eprintln!("error: {e}"),
        }
    } else {
        crate::history::emit(&blast.to_string());
    }
}
