//! `gatehouse check ...`: exact checks over actions and resources, answered PASS (proven),
//! FAIL (with a request the engine decides against the claim) or UNDECIDED.

use clap::{Args, Subcommand};
use gatehouse_analysis::ServiceReference;
use gatehouse_analysis::check::{Verdict, access_not_granted, no_new_access};

use crate::Status;
use crate::history::{emit, side};

#[derive(Subcommand)]
pub enum CheckCommand {
    /// Whether NEW grants nothing the reference policy does not, for every action and resource.
    ///
    /// Each document is a file, `-`, or `NAME@VERSION` of a provider policy Gatehouse ships.
    /// Exits 0 when proven, 1 when refuted (with a counterexample request), 3 when conditions
    /// leave it undecided, 2 on a usage or I/O error.
    NoNewAccess(NoNewAccessArgs),
    /// Whether POLICY grants none of the actions on any of the resources.
    ///
    /// Exits 0 when proven, 1 when refuted (with a counterexample request), 3 when conditions
    /// leave it undecided, 2 on a usage or I/O error.
    AccessNotGranted(AccessNotGrantedArgs),
}

#[derive(Args)]
pub struct NoNewAccessArgs {
    /// The policy to check.
    #[arg(value_name = "NEW")]
    new: String,
    /// The policy it must not go beyond.
    #[arg(long, value_name = "OLD")]
    reference: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AccessNotGrantedArgs {
    /// The policy to check.
    #[arg(value_name = "POLICY")]
    policy: String,
    /// Actions (patterns allowed) it must not grant.
    #[arg(long = "action", value_name = "ACTION", required = true, num_args = 1..)]
    actions: Vec<String>,
    /// Resources it must not grant them on (any resource when none is given).
    #[arg(long = "resource", value_name = "ARN", num_args = 1..)]
    resources: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(command: CheckCommand) -> Status {
    let reference = ServiceReference::embedded();
    let (result, json) = match &command {
        CheckCommand::NoNewAccess(a) => match (side(&a.new), side(&a.reference)) {
            (Ok(new), Ok(old)) => (
                no_new_access(&new, &old, reference).map_err(|e| e.to_string()),
                a.json,
            ),
            (Err(e), _) | (_, Err(e)) => (Err(e), a.json),
        },
        CheckCommand::AccessNotGranted(a) => match side(&a.policy) {
            Ok(doc) => (
                access_not_granted(&doc, &a.actions, &a.resources, reference)
                    .map_err(|e| e.to_string()),
                a.json,
            ),
            Err(e) => (Err(e), a.json),
        },
    };
    let verdict = match result {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Error;
        }
    };
    let written = if json {
        match serde_json::to_string_pretty(&verdict) {
            Ok(s) => emit(&format!("{s}\n")),
            Err(e) => {
                eprintln!("error: {e}");
                Status::Error
            }
        }
    } else {
        emit(&verdict.to_string())
    };
    if written != Status::Ok {
        return written;
    }
    match verdict {
        Verdict::Holds => Status::Ok,
        Verdict::Fails { .. } => Status::Findings,
        Verdict::Undecided { .. } => Status::Undecided,
    }
}
