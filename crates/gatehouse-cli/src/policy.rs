//! `gatehouse policy ...`: validate and format policy documents.

use clap::builder::PossibleValue;
use clap::{Args, Subcommand, ValueEnum};
use gatehouse_policy::{
    Diagnostic, LineIndex, Mode, POLICY_KINDS, PolicyKind, ValidateOptions, parse_policy,
    to_compact, to_pretty, validate,
};

use crate::Status;
use crate::input::read_policy;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Validate policy documents by AWS's rules, with AWS's error codes and messages.
    ///
    /// Exits 0 when every document is valid, 1 when any is invalid, 2 on a usage or I/O error.
    Validate(ValidateArgs),
    /// Print a policy document in Gatehouse's canonical form.
    Fmt(FmtArgs),
    /// Compare two policy documents or two versions of a provider policy: statements added,
    /// removed and changed, and the permissions gained and lost, with wildcards expanded over
    /// the service reference; then the change's classification.
    ///
    /// Each side is a file, `-` for standard input, or `NAME@VERSION` (`AmazonQFullAccess@v3`)
    /// for a version of a provider policy in the catalog Gatehouse ships. Exits 0 when the
    /// permissions are the same (NoChange or Reworded), 1 when they differ, 2 on a usage or
    /// I/O error.
    Diff(DiffArgs),
    /// Lint policies, in the spirit of IAM Access Analyzer's policy validation: ERROR,
    /// SECURITY_WARNING, WARNING and SUGGESTION findings with an issue code and a location,
    /// checked against the service reference Gatehouse ships.
    ///
    /// Each FILE is a file, `-`, or `NAME@VERSION`. Exits 0 when there are no findings other
    /// than suggestions, 1 when there are, 2 on a usage or I/O error.
    Lint(LintArgs),
    /// Summarize what a policy grants, per service, like the IAM console: Full access or the
    /// access levels granted (List, Read, Write, Permissions management, Tagging), the
    /// resources and the request conditions; then what it denies.
    ///
    /// FILE is a file, `-`, or `NAME@VERSION` of a provider policy Gatehouse ships.
    Summary(SummaryArgs),
    /// Generate a customer-managed policy from a principal's recorded activity: exactly the
    /// actions it was allowed on the resources it used, with wildcards only where they grant
    /// nothing unused. Prints the document; reports on standard error what its attached
    /// policies grant that went unused.
    Generate(GenerateArgs),
    /// The update history of a provider policy: every version with its date, its change
    /// description and its classification.
    History(HistoryArgs),
}

#[derive(Args)]
pub struct DiffArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The old document.
    #[arg(value_name = "OLD")]
    old: String,
    /// The new document.
    #[arg(value_name = "NEW")]
    new: String,
}

#[derive(Args)]
pub struct LintArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The policies.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// The user's or role's ARN.
    #[arg(long, value_name = "ARN")]
    principal: String,
    /// How far back to look: `30d`, `12h`, `45m`.
    #[arg(long, value_name = "DURATION", default_value = "90d")]
    since: String,
    /// The data directory whose store recorded the activity.
    #[arg(long, value_name = "DIR", default_value = "gatehouse-data")]
    data_dir: std::path::PathBuf,
    /// A database other than the data directory's SQLite file (`postgres://...`).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Print JSON: the document, the recorded requests and the unused report.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct SummaryArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The policy.
    #[arg(value_name = "FILE")]
    file: String,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The policy's name or ARN (`AmazonQFullAccess`).
    #[arg(value_name = "NAME")]
    name: String,
    /// Read the history from this data directory's store (with the versions published there);
    /// without it, from the catalog Gatehouse ships.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// With `--data-dir`: a database other than its SQLite file (`postgres://...`).
    #[arg(long, value_name = "URL", requires = "data_dir")]
    database: Option<String>,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The kind of policy the documents are.
    #[arg(long, default_value = "identity")]
    kind: Kind,
    /// Check by the rules AWS's own managed policies meet (no customer quotas).
    #[arg(long)]
    provider: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The user, group or role an inline policy belongs to (used in AWS's size message).
    #[arg(long, value_name = "NAME")]
    entity_name: Option<String>,
    /// Policy files, or `-` for standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
}

#[derive(Args)]
pub struct FmtArgs {
    /// Print without whitespace instead of the pretty form.
    #[arg(long)]
    compact: bool,
    /// The policy file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: String,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `file:line:column: CODE: message`, with the line and a caret.
    Text,
    /// A JSON array of `{"file", "valid", "errors": [...]}`.
    Json,
}

/// A policy kind as a command-line value; the names and help come from the library's registry.
#[derive(Clone, Copy)]
struct Kind(PolicyKind);

impl ValueEnum for Kind {
    fn value_variants<'a>() -> &'a [Self] {
        const KINDS: &[Kind] = &[
            Kind(PolicyKind::Identity),
            Kind(PolicyKind::InlineUser),
            Kind(PolicyKind::InlineGroup),
            Kind(PolicyKind::InlineRole),
            Kind(PolicyKind::Trust),
            Kind(PolicyKind::Resource),
            Kind(PolicyKind::Boundary),
            Kind(PolicyKind::Session),
            Kind(PolicyKind::Scp),
            Kind(PolicyKind::Rcp),
        ];
        KINDS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        POLICY_KINDS
            .iter()
            .find(|(_, k, _)| *k == self.0)
            .map(|(name, _, help)| PossibleValue::new(*name).help(*help))
    }
}

pub fn run(command: PolicyCommand) -> Status {
    match command {
        PolicyCommand::Validate(args) => validate_files(&args),
        PolicyCommand::Fmt(args) => fmt_file(&args),
        PolicyCommand::Lint(args) => crate::history::lint(&args.files, args.format == Format::Json),
        PolicyCommand::Generate(args) => crate::history::generate(
            &args.principal,
            &args.since,
            &args.data_dir,
            args.database.as_deref(),
            args.json,
        ),
        PolicyCommand::Summary(args) => {
            crate::history::summary(&args.file, args.format == Format::Json)
        }
        PolicyCommand::Diff(args) => {
            crate::history::diff(&args.old, &args.new, args.format == Format::Json)
        }
        PolicyCommand::History(args) => crate::history::history(
            &args.name,
            args.format == Format::Json,
            args.data_dir.as_deref(),
            args.database.as_deref(),
        ),
    }
}

fn validate_files(args: &ValidateArgs) -> Status {
    let mode = if args.provider {
        Mode::Provider
    } else {
        Mode::Customer
    };
    let mut options = ValidateOptions::new(args.kind.0, mode);
    let mut status = Status::Ok;
    let mut reports = Vec::new();
    for file in &args.files {
        let text = match read_policy(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("gatehouse: error: {file}: {e}");
                status = status.max(Status::Error);
                continue;
            }
        };
        options.entity_name = args.entity_name.clone().or_else(|| Some(entity_name(file)));
        let errors = validate(&text, &options).err().unwrap_or_default();
        if !errors.is_empty() {
            status = status.max(Status::Findings);
        }
        match args.format {
            Format::Text => print_text(file, &text, &errors),
            Format::Json => reports.push(json_report(file, &text, &errors)),
        }
    }
    if let Format::Json = args.format {
        let out = serde_json::Value::Array(reports);
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    status
}

/// The name an inline policy's size message uses when none is given: the file's stem.
fn entity_name(file: &str) -> String {
    if file == "-" {
        return "<name>".to_owned();
    }
    std::path::Path::new(file)
        .file_stem()
        .map_or_else(|| "<name>".to_owned(), |s| s.to_string_lossy().into_owned())
}

/// How many problems are shown per file. A hostile document can have tens of thousands (one
/// per statement), and locating each on a long line is not free.
const MAX_SHOWN: usize = 100;

fn print_text(file: &str, text: &str, errors: &[Diagnostic]) {
    if errors.is_empty() {
        println!("{file}: valid");
        return;
    }
    let index = LineIndex::new(text);
    for d in errors.iter().take(MAX_SHOWN) {
        let loc = index.locate(d.span.start);
        println!("{file}:{loc}: {}: {}", d.code, d.message);
        let line = index.line_text(d.span.start);
        let (shown, caret_col, caret_len) = window(line, loc.column as usize, span_chars(text, d));
        let gutter = loc.line.to_string();
        let pad = " ".repeat(gutter.len());
        println!(" {gutter} | {shown}");
        let note = d.detail.as_deref().unwrap_or("");
        println!(
            " {pad} | {}{} {note}",
            " ".repeat(caret_col.saturating_sub(1)),
            "^".repeat(caret_len.max(1))
        );
    }
    if errors.len() > MAX_SHOWN {
        println!("{file}: and {} more problems", errors.len() - MAX_SHOWN);
    }
}

/// How many characters of the diagnostic's span to underline (at most to the end of its line).
fn span_chars(text: &str, d: &Diagnostic) -> usize {
    text.get(d.span.start as usize..d.span.end as usize)
        .map_or(1, |s| s.lines().next().unwrap_or("").chars().count())
}

/// Cuts a long line (a minified policy is one line) to about 100 characters around the caret.
/// Returns the text to show, the caret's column in it, and the caret's length.
fn window(line: &str, column: usize, len: usize) -> (String, usize, usize) {
    const WIDTH: usize = 100;
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= WIDTH {
        let len = len.min(chars.len().saturating_sub(column - 1).max(1));
        return (line.to_owned(), column, len);
    }
    let start = column.saturating_sub(1).saturating_sub(WIDTH / 3);
    let end = (start + WIDTH).min(chars.len());
    let mut shown: String = chars.get(start..end).unwrap_or(&[]).iter().collect();
    let mut col = column - start;
    if start > 0 {
        shown.insert_str(0, "...");
        col += 3;
    }
    if end < chars.len() {
        shown.push_str("...");
    }
    let len = len.min(end.saturating_sub(column - 1).max(1));
    (shown, col, len)
}

fn json_report(file: &str, text: &str, errors: &[Diagnostic]) -> serde_json::Value {
    let index = LineIndex::new(text);
    let omitted = errors.len().saturating_sub(MAX_SHOWN);
    let valid = errors.is_empty();
    let errors: Vec<serde_json::Value> = errors
        .iter()
        .take(MAX_SHOWN)
        .map(|d| {
            let loc = index.locate(d.span.start);
            let mut e = serde_json::json!({
                "code": d.code.as_str(),
                "message": d.message,
                "line": loc.line,
                "column": loc.column,
            });
            if let (Some(detail), Some(obj)) = (&d.detail, e.as_object_mut()) {
                obj.insert(
                    "detail".to_owned(),
                    serde_json::Value::from(detail.as_str()),
                );
            }
            e
        })
        .collect();
    let mut report = serde_json::json!({ "file": file, "valid": valid, "errors": errors });
    if let (true, Some(obj)) = (omitted > 0, report.as_object_mut()) {
        obj.insert("omitted".to_owned(), serde_json::Value::from(omitted));
    }
    report
}

fn fmt_file(args: &FmtArgs) -> Status {
    let text = match read_policy(&args.file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("gatehouse: error: {}: {e}", args.file);
            return Status::Error;
        }
    };
    match parse_policy(&text) {
        Ok(policy) => {
            if args.compact {
                println!("{}", to_compact(&policy));
            } else {
                print!("{}", to_pretty(&policy));
            }
            Status::Ok
        }
        Err(errors) => {
            let index = LineIndex::new(&text);
            let more = errors.len().saturating_sub(MAX_SHOWN);
            for e in errors.into_iter().take(MAX_SHOWN) {
                eprintln!(
                    "{}:{}: MalformedPolicyDocument: Syntax errors in policy. ({})",
                    args.file,
                    index.locate(e.span.start),
                    e.kind
                );
            }
            if more > 0 {
                eprintln!("{}: and {more} more problems", args.file);
            }
            Status::Findings
        }
    }
}
