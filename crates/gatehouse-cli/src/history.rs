//! `gatehouse policy diff` and `gatehouse policy history`: managed-policy updates, offline.

use gatehouse_analysis::{ServiceReference, diff_documents};

use std::fmt::Write as _;
use std::io::Write as _;

use crate::Status;
use crate::input::read_policy;

/// Writes to standard output; a reader that went away (`| head`) is not an error.
pub fn emit(text: &str) -> Status {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Status::Ok,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Status::Ok,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            Status::Error
        }
    }
}

/// Reads one side of a diff: a file, `-`, or `NAME@VERSION` from the shipped catalog.
pub fn side(spec: &str) -> Result<String, String> {
    if let Some((name, version)) = spec.rsplit_once('@')
        && !std::path::Path::new(spec).exists()
    {
        let catalog = gatehouse_store::ProviderCatalog::embedded().map_err(|e| e.message)?;
        let policy = catalog
            .find(name)
            .ok_or_else(|| format!("no provider policy named {name}"))?;
        let v = policy
            .versions
            .iter()
            .find(|v| v.version_id.eq_ignore_ascii_case(version))
            .ok_or_else(|| {
                let known: Vec<&str> = policy
                    .versions
                    .iter()
                    .map(|v| v.version_id.as_str())
                    .collect();
                format!(
                    "{} has no recorded version {version} (recorded: {})",
                    policy.name,
                    known.join(", ")
                )
            })?;
        return Ok(v.document.clone());
    }
    read_policy(spec).map_err(|e| format!("{spec}: {e}"))
}

pub fn diff(old: &str, new: &str, json: bool) -> Status {
    let (o, n) = match (side(old), side(new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Status::Error;
        }
    };
    match diff_documents(&o, &n, ServiceReference::embedded()) {
        Ok(d) => {
            if json {
                match serde_json::to_string_pretty(&d) {
                    Ok(s) => {
                        emit(&format!("{s}\n"));
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return Status::Error;
                    }
                }
            } else {
                emit(&d.to_string());
            }
            match d.classification {
                gatehouse_analysis::Classification::NoChange
                | gatehouse_analysis::Classification::Reworded => Status::Ok,
                _ => Status::Findings,
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            Status::Error
        }
    }
}

fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// The history from a store (a data directory) or, without one, from the shipped catalog.
pub fn history(
    name: &str,
    json: bool,
    data_dir: Option<&std::path::Path>,
    database: Option<&str>,
) -> Status {
    let changes = match data_dir {
        Some(dir) => {
            let result = crate::store::with_store(dir, database, async |store| {
                store
                    .policy_history(name)
                    .await
                    .map(|h| h.as_ref().clone())
                    .map_err(|e| e.message)
            })
            .and_then(|r| r);
            match result {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Status::Error;
                }
            }
        }
        None => match from_catalog(name) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return Status::Error;
            }
        },
    };
    if json {
        match serde_json::to_string_pretty(&changes) {
            Ok(s) => return emit(&format!("{s}\n")),
            Err(e) => {
                eprintln!("error: {e}");
                return Status::Error;
            }
        }
    }
    let mut out = String::new();
    if let Some(first) = changes.first() {
        let _ = writeln!(
            out,
            "{} ({}): {} versions recorded",
            first.policy_name,
            first.policy_arn,
            changes.len()
        );
    }
    for c in changes.iter().rev() {
        let class = c
            .classification
            .map_or(c.kind.as_str(), gatehouse_analysis::Classification::as_str);
        let mut line = format!(
            "{:<5} {}  {:<14} {}",
            c.version_id,
            date(c.created_at),
            class,
            c.description
        );
        if let Some(a) = &c.announced {
            line.push_str(&format!(" (announced {a})"));
        }
        let _ = writeln!(out, "{line}");
        if c.classification
            .is_some_and(|k| k != gatehouse_analysis::Classification::NoChange)
        {
            let _ = writeln!(out, "      {}", c.summary);
        }
        if !c.missing_versions.is_empty() {
            let _ = writeln!(
                out,
                "      not recorded before it: {}",
                c.missing_versions.join(", ")
            );
        }
    }
    emit(&out)
}

fn from_catalog(name: &str) -> Result<Vec<gatehouse_store::Change>, String> {
    let catalog = gatehouse_store::ProviderCatalog::embedded().map_err(|e| e.message)?;
    let policy = catalog
        .find(name)
        .ok_or_else(|| format!("no provider policy named {name}"))?;
    let versions: Vec<gatehouse_store::VersionRecord> = policy
        .versions
        .iter()
        .map(|v| gatehouse_store::VersionRecord {
            number: v.number(),
            version_id: v.version_id.clone(),
            document: v.document.clone(),
            created_at: v.created_at,
            description: None,
            blast_radius: None,
        })
        .collect();
    let seed = gatehouse_store::seed_table().map_err(|e| e.message)?;
    Ok(gatehouse_store::build_history(
        &policy.name,
        &gatehouse_store::policy_arn_of(policy),
        &versions,
        &seed,
        ServiceReference::embedded(),
    ))
}

/// `gatehouse policy summary`.
pub fn summary(spec: &str, json: bool) -> Status {
    let text = match side(spec) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Error;
        }
    };
    match gatehouse_analysis::summary::summarize(&text, ServiceReference::embedded()) {
        Ok(s) if json => match serde_json::to_string_pretty(&s) {
            Ok(j) => emit(&format!("{j}\n")),
            Err(e) => {
                eprintln!("error: {e}");
                Status::Error
            }
        },
        Ok(s) => emit(&s.to_string()),
        Err(e) => {
            eprintln!("error: {spec}: {e}");
            Status::Error
        }
    }
}

/// `gatehouse policy lint`.
pub fn lint(files: &[String], json: bool) -> Status {
    use gatehouse_analysis::lint::{FindingType, lint};
    let mut out = String::new();
    let mut reports = Vec::new();
    let mut status = Status::Ok;
    for spec in files {
        let text = match side(spec) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                status = Status::Error;
                continue;
            }
        };
        let findings = lint(&text, ServiceReference::embedded());
        if findings
            .iter()
            .any(|f| f.finding_type != FindingType::Suggestion)
            && status == Status::Ok
        {
            status = Status::Findings;
        }
        if json {
            reports.push(serde_json::json!({"file": spec, "findings": findings}));
        } else {
            for f in &findings {
                let _ = writeln!(
                    out,
                    "{spec}:{}:{}: {} {}: {}",
                    f.line,
                    f.column,
                    f.finding_type.as_str(),
                    f.issue_code,
                    f.message
                );
            }
        }
    }
    let written = if json {
        match serde_json::to_string_pretty(&reports) {
            Ok(s) => emit(&format!("{s}\n")),
            Err(e) => {
                eprintln!("error: {e}");
                Status::Error
            }
        }
    } else {
        emit(&out)
    };
    if written == Status::Ok {
        status
    } else {
        written
    }
}

/// Reads `30d`, `12h`, `45m` (or a bare number of days) as milliseconds.
fn duration_ms(text: &str) -> Option<i64> {
    let (n, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (text.get(..i)?, c),
        _ => (text, 'd'),
    };
    let n: i64 = n.parse().ok()?;
    let per = match unit {
        'd' => 86_400_000,
        'h' => 3_600_000,
        'm' => 60_000,
        _ => return None,
    };
    n.checked_mul(per).filter(|ms| *ms >= 0)
}

/// `gatehouse policy generate`.
pub fn generate(
    principal: &str,
    since: &str,
    data_dir: &std::path::Path,
    database: Option<&str>,
    json: bool,
) -> Status {
    use gatehouse_analysis::generate::{generate, unused};
    let Some(window) = duration_ms(since) else {
        eprintln!(
            "error: --since {since:?}: give a number of days, hours or minutes (30d, 12h, 45m)"
        );
        return Status::Error;
    };
    let account = principal.split(':').nth(4).unwrap_or("").to_string();
    let result = crate::store::with_store(data_dir, database, async |store| {
        let attached = store.policies_of(principal).await.map_err(|e| e.message)?;
        #[allow(clippy::disallowed_methods)] // the window ends now: the CLI's own clock
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let rows = store
            .activity_of(&account, principal, now.saturating_sub(window))
            .await
            .map_err(|e| e.message)?;
        Ok::<_, String>((attached, rows))
    })
    .and_then(|r| r);
    let (attached, rows) = match result {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Error;
        }
    };
    let reference = ServiceReference::embedded();
    let used: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r.allowed)
        .map(|r| (r.action.clone(), r.resource.clone()))
        .collect();
    if used.is_empty() {
        eprintln!("error: no allowed request of {principal} was recorded in the last {since}");
        return Status::Findings;
    }
    let document = generate(&used, reference);
    let used_actions: std::collections::BTreeSet<String> =
        used.iter().map(|(a, _)| a.clone()).collect();
    let report = unused(&attached, &used_actions, reference);
    if json {
        let out = serde_json::json!({
            "PolicyDocument": document,
            "RecordedRequests": rows,
            "Unused": report,
        });
        return match serde_json::to_string_pretty(&out) {
            Ok(s) => emit(&format!("{s}\n")),
            Err(e) => {
                eprintln!("error: {e}");
                Status::Error
            }
        };
    }
    let mut notes = String::new();
    for u in &report {
        let _ = writeln!(
            notes,
            "{}: {} of {} allowed actions used",
            u.policy, u.used, u.allowed
        );
        for (svc, n, sample) in &u.services {
            let _ = writeln!(
                notes,
                "  {svc}: {n} unused ({}{})",
                sample.join(", "),
                if *n > sample.len() { ", ..." } else { "" }
            );
        }
    }
    eprint!("{notes}");
    emit(&format!("{document}\n"))
}
