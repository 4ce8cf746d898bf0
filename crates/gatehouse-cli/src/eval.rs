//! `gatehouse eval` and `gatehouse test`: decide decision cases and explain the decisions.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use gatehouse_engine::{Case, CaseError, Explanation, Failure, decide, explain};

use crate::Status;
use crate::input::read_policy;

#[derive(Args)]
pub struct EvalArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The decision case file, or `-` for standard input.
    #[arg(value_name = "CASE")]
    case: String,
}

#[derive(Args)]
pub struct TestArgs {
    /// Case files, or directories to search recursively for `*.json` case files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The decision and its explanation, for people.
    Text,
    /// The explanation as JSON.
    Json,
}

/// Reads and loads a case; policy files are read relative to the case file.
fn load(name: &str) -> Result<Case, CaseError> {
    let text = read_policy(name).map_err(|e| CaseError {
        file: name.to_string(),
        location: None,
        message: e.to_string(),
    })?;
    let dir = Path::new(name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut read = |rel: &str| -> Result<String, String> {
        read_policy(&dir.join(rel).to_string_lossy()).map_err(|e| e.to_string())
    };
    Case::load(name, &text, &mut read)
}

pub fn eval(args: &EvalArgs) -> Status {
    let case = match load(&args.case) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Error;
        }
    };
    let explanation = explain(&case.layers(), &case.request);
    match args.format {
        Format::Text => print!("{}", render(&case, &explanation)),
        Format::Json => match serde_json::to_string_pretty(&explanation) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return Status::Error;
            }
        },
    }
    Status::Ok
}

pub fn test(args: &TestArgs) -> Status {
    let mut files = Vec::new();
    for p in &args.paths {
        if let Err(e) = collect(p, &mut files) {
            eprintln!("error: {}: {e}", p.display());
            return Status::Error;
        }
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let name = file.to_string_lossy();
        let case = match load(&name) {
            Ok(c) => c,
            Err(e) => {
                println!("FAIL {name}\n  error: {e}\n");
                failed += 1;
                continue;
            }
        };
        let Some(expect) = case.expect else {
            println!("FAIL {name}\n  error: the case has no \"expect\"\n");
            failed += 1;
            continue;
        };
        let explanation = explain(&case.layers(), &case.request);
        // The fast, indexed path must agree with the full scan that explains.
        let fast = decide(&case.layers(), &case.request).kind;
        if fast != explanation.decision {
            failed += 1;
            println!(
                "FAIL {name}\n  the indexed path decides {}, the full scan {}\n",
                fast.as_str(),
                explanation.decision.as_str()
            );
            continue;
        }
        if explanation.decision == expect {
            passed += 1;
        } else {
            failed += 1;
            println!(
                "FAIL {name}\n  expected {}, got {}",
                expect.as_str(),
                explanation.decision.as_str()
            );
            for line in render(&case, &explanation).lines() {
                println!("  {line}");
            }
            println!();
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        Status::Findings
    } else {
        Status::Ok
    }
}

/// Collects case files: the file itself, or every `*.json` under a directory, sorted.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !path.is_dir() {
        if !path.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file or directory",
            ));
        }
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            collect(&e, out)?;
        } else if e.extension().is_some_and(|x| x == "json") {
            out.push(e);
        }
    }
    Ok(())
}

/// The explanation in text.
fn render(case: &Case, x: &Explanation) -> String {
    let mut s = String::new();
    let req = &case.request;
    if !case.name.is_empty() {
        let _ = writeln!(s, "case: {}", case.name);
    }
    let _ = writeln!(
        s,
        "request: {} calls {} on {} (resource account {})",
        req.principal().arn(),
        req.action(),
        req.resource().unwrap_or("*"),
        if req.resource_account().is_empty() {
            "-"
        } else {
            req.resource_account()
        }
    );
    let _ = writeln!(s, "decision: {} ({})", x.decision.as_str(), x.summary);
    if !x.layers.is_empty() {
        let _ = writeln!(s, "layers:");
        for l in &x.layers {
            let _ = writeln!(
                s,
                "  {:<12} {:?} ({} {})",
                l.layer.to_string(),
                l.outcome,
                l.policies,
                if l.policies == 1 {
                    "policy"
                } else {
                    "policies"
                }
            );
        }
    }
    let statement = |r: &gatehouse_engine::StatementReport| {
        let mut t = format!("{} {}", r.layer, r.policy);
        if let Some(v) = &r.version {
            let _ = write!(t, " {v}");
        }
        let _ = write!(t, " statement {}", r.index);
        if let Some(sid) = &r.sid {
            let _ = write!(t, " ({sid})");
        }
        let _ = write!(t, " {}", r.effect);
        t
    };
    if !x.determining.is_empty() {
        let _ = writeln!(s, "determining statements:");
        for r in &x.determining {
            let _ = writeln!(s, "  {}", statement(r));
        }
    }
    if !x.near_misses.is_empty() {
        let _ = writeln!(s, "statements that almost applied:");
        for r in &x.near_misses {
            let why = match &r.failed {
                Some(Failure::Action {
                    clause,
                    requested,
                    patterns,
                }) => format!("{clause} {patterns:?} does not let {requested} through"),
                Some(Failure::Resource {
                    clause,
                    requested,
                    patterns,
                }) => format!("{clause} {patterns:?} does not let {requested} through"),
                Some(Failure::Principal {
                    clause,
                    caller,
                    entries,
                }) => format!("{clause} {entries:?} does not let {caller} through"),
                Some(Failure::Condition {
                    operator,
                    key,
                    policy_values,
                    request_values,
                }) => match request_values {
                    Some(v) => format!(
                        "condition {operator} {key}: policy values {policy_values:?}, request values {v:?}"
                    ),
                    None => format!(
                        "condition {operator} {key}: policy values {policy_values:?}, the request has no {key}"
                    ),
                },
                None => String::new(),
            };
            let _ = writeln!(s, "  {}: {why}", statement(r));
        }
    }
    if !x.missing_context.is_empty() {
        let _ = writeln!(
            s,
            "context keys the policies use that the request lacks: {}",
            x.missing_context.join(", ")
        );
    }
    s
}
