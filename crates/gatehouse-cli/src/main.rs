//! The `gatehouse` command: a thin shell over the Gatehouse libraries. Each subcommand parses
//! its arguments, reads its inputs, calls a library, and prints; no policy logic lives here.

mod check;
mod eval;
mod history;
mod input;
mod policy;
mod provider;
mod reference;
mod serve;
mod store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Gatehouse: an open implementation of the AWS managed-policy system.
#[derive(Parser)]
#[command(name = "gatehouse", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with IAM policy documents offline.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
    },
    /// Serve IAM and STS (SigV4, the Query protocol) on the data directory's store.
    ///
    /// On first start it loads the provider catalog, creates the root account and its
    /// credentials, and writes them to DIR/root-credentials.json (mode 0600).
    Serve(serve::ServeArgs),
    /// The provider's operations on its managed policies.
    Provider {
        #[command(subcommand)]
        command: provider::ProviderCommand,
    },
    /// The service reference, and what an update of it grants through existing wildcards.
    Reference {
        #[command(subcommand)]
        command: reference::ReferenceCommand,
    },
    /// Exact checks over actions and resources: no new access, access not granted.
    Check {
        #[command(subcommand)]
        command: check::CheckCommand,
    },
    /// The data directory's store: checks.
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Decide one decision case and explain the decision.
    ///
    /// Exits 0 on any decision, 2 when the case cannot be read or a policy in it is invalid.
    Eval(eval::EvalArgs),
    /// Run decision cases and compare each decision with the case's `expect`.
    ///
    /// Prints each failure with its explanation and a closing `N passed, M failed` line. Exits 0
    /// when every case passes, 1 when any fails, 2 on a usage error.
    Test(eval::TestArgs),
}

/// Exit statuses shared by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Everything checked out.
    Ok = 0,
    /// Some input was found wanting (an invalid policy).
    Findings = 1,
    /// The command could not do its work (usage or I/O error).
    Error = 2,
    /// A check could be neither proven nor refuted.
    Undecided = 3,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = match cli.command {
        Command::Policy { command } => policy::run(command),
        Command::Serve(args) => serve::run(&args),
        Command::Provider { command } => provider::run(command),
        Command::Reference { command } => reference::run(command),
        Command::Check { command } => check::run(command),
        Command::Store { command } => store::run(command),
        Command::Eval(args) => eval::eval(&args),
        Command::Test(args) => eval::test(&args),
    };
    ExitCode::from(status as u8)
}
