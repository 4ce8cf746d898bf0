//! The managed-policy change feeds (issue 6, item 5): RSS 2.0 and Atom, of every real change
//! to the provider's managed policies (`/feeds/managed-policies.rss` and `.atom`, the newest
//! [`GLOBAL_LIMIT`]) and of one policy's (`/feeds/policies/NAME.rss` and `.atom`), newest
//! first, one entry per version that changed the document or created the policy.
//!
//! The feeds are built by pure functions from the store's [`Change`]s ([`rss()`], [`atom()`]); the
//! XML is written by the `rss` and `atom_syndication` crates. An entry's id is
//! [`Change::id`], so readers see each version once however often they poll. The feeds are
//! public, like AWS's own documentation feed: no signature is asked for.
//!
//! The server does not know the address clients reach it by; links are built from the
//! request's `Host` header when it is a plain host name (`http://` is assumed: a proxy that
//! terminates TLS would need a configured base URL, which does not exist yet), and left out
//! otherwise.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use atom_syndication::FixedDateTime;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_store::{Change, ChangeKind, ErrorCode};

use crate::app::AppState;

/// How many changes the feed of all policies holds.
pub const GLOBAL_LIMIT: usize = 100;

/// The most lines of an entry's text diff a feed carries.
pub const MAX_DIFF_LINES: usize = 200;

/// The most bytes of an entry's text diff a feed carries (a hundred entries of long lines
/// would otherwise make a feed of megabytes).
pub const MAX_DIFF_BYTES: usize = 24 * 1024;

/// The RSS media type.
pub const RSS_CONTENT_TYPE: &str = "application/rss+xml; charset=utf-8";

/// The Atom media type.
pub const ATOM_CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

/// A feed format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RSS 2.0.
    Rss,
    /// Atom (RFC 4287).
    Atom,
}

impl Format {
    /// The format a file extension names (`rss`, `atom`).
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "rss" => Some(Format::Rss),
            "atom" => Some(Format::Atom),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
        }
    }

    /// The media type served.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => RSS_CONTENT_TYPE,
            Format::Atom => ATOM_CONTENT_TYPE,
        }
    }

    fn link_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
        }
    }
}

/// What a feed is about: its title, permanent id and where it is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedInfo {
    /// The title.
    pub title: String,
    /// A permanent id (`urn:gatehouse:feed:...`).
    pub id: String,
    /// `http://HOST`, when the request named its host.
    pub base: Option<String>,
    /// The path without the extension (`/feeds/managed-policies`).
    pub stem: String,
}

impl FeedInfo {
    /// The feed of every provider policy.
    pub fn all(base: Option<String>) -> FeedInfo {
        FeedInfo {
            title: "Gatehouse: AWS managed policy updates".to_string(),
            id: "urn:gatehouse:feed:managed-policies".to_string(),
            base,
            stem: "/feeds/managed-policies".to_string(),
        }
    }

    /// The feed of one policy, by its name and ARN.
    pub fn policy(name: &str, arn: &str, base: Option<String>) -> FeedInfo {
        FeedInfo {
            title: format!("Gatehouse: updates to {name}"),
            id: format!("urn:gatehouse:feed:managed-policy:{arn}"),
            base,
            stem: policy_stem(name),
        }
    }

    /// The feed's own URL in a format, when the host is known.
    fn href(&self, format: Format) -> Option<String> {
        self.base
            .as_ref()
            .map(|b| format!("{b}{}.{}", self.stem, format.extension()))
    }
}

/// The path of a policy's feeds, without the extension.
fn policy_stem(name: &str) -> String {
    let mut out = String::from("/feeds/policies/");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~+=,@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `http://HOST` from a `Host` header, if it is a plain host and port (anything else would
/// put a client's text into links).
pub fn base_url(host: Option<&str>) -> Option<String> {
    let host = host?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    plain.then(|| format!("http://{host}"))
}

/// An entry's title: `AmazonQFullAccess v3: Updated policy (Mixed)`.
pub fn entry_title(c: &Change) -> String {
    match (c.kind, c.classification) {
        (ChangeKind::UpdatedPolicy, Some(class)) => format!(
            "{} {}: {} ({})",
            c.policy_name,
            c.version_id,
            c.kind.as_str(),
            class.as_str()
        ),
        _ => format!("{} {}: {}", c.policy_name, c.version_id, c.kind.as_str()),
    }
}

/// An entry's summary, as plain text: the change description, then the diff's one-line
/// summary (with its sensitive-action flags) unless it only repeats the kind of change.
pub fn entry_summary(c: &Change) -> String {
    let description = clean(c.description.trim());
    if c.summary.is_empty() || c.summary == c.kind.as_str() {
        return description.into_owned();
    }
    format!("{description}\n{}", clean(&c.summary))
}

/// An entry's content, as HTML: the summary's parts, what the version is compared with, and
/// the text diff in a `<pre>` (at most [`MAX_DIFF_LINES`] lines and [`MAX_DIFF_BYTES`]).
pub fn entry_content(c: &Change) -> String {
    let mut html = String::new();
    let _ = write!(html, "<p>{}</p>", escape(c.description.trim()));
    if !c.summary.is_empty() && c.summary != c.kind.as_str() {
        let _ = write!(html, "<p>{}</p>", escape(&c.summary));
    }
    let mut facts = Vec::new();
    if let Some(previous) = &c.previous_version_id {
        facts.push(format!("Compared with {previous}."));
    }
    if !c.missing_versions.is_empty() {
        facts.push(format!(
            "Versions not recorded in between: {}.",
            c.missing_versions.join(", ")
        ));
    }
    if let Some(date) = &c.announced {
        facts.push(format!("Announced by AWS on {date}."));
    }
    if !facts.is_empty() {
        let _ = write!(html, "<p>{}</p>", escape(&facts.join(" ")));
    }
    if let Some(diff) = &c.diff {
        let _ = write!(html, "<pre>{}</pre>", escape(&truncated(&diff.to_string())));
    }
    html
}

/// A diff's text cut to [`MAX_DIFF_LINES`] lines and [`MAX_DIFF_BYTES`], whole lines only,
/// saying how much was left out.
fn truncated(text: &str) -> Cow<'_, str> {
    let total = text.lines().count();
    let mut end = 0;
    let mut kept = 0;
    for line in text.split_inclusive('\n') {
        if kept == MAX_DIFF_LINES || end + line.len() > MAX_DIFF_BYTES {
            break;
        }
        end += line.len();
        kept += 1;
    }
    if kept >= total {
        return Cow::Borrowed(text);
    }
    let head = text.get(..end).unwrap_or_default();
    let mut out = head.trim_end_matches('\n').to_string();
    let _ = write!(
        out,
        "\n... diff truncated: {} more lines of {total}.",
        total - kept
    );
    Cow::Owned(out)
}

/// Text with the characters XML 1.0 cannot carry (control characters other than tab and line
/// breaks) replaced, as a policy's strings may hold them.
fn clean(s: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if s.contains(bad) {
        Cow::Owned(s.replace(bad, "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Text as HTML (the feeds' HTML is itself escaped again, or put in CDATA, by the XML writer).
fn escape(s: &str) -> String {
    let s = clean(s);
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// A change's instant (milliseconds since the epoch).
fn instant(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// An instant for Atom (RFC 3339): formatted by jiff, carried in `atom_syndication`'s type.
fn atom_date(ms: i64) -> FixedDateTime {
    FixedDateTime::parse_from_rfc3339(&instant(ms).to_string()).unwrap_or_default()
}

/// An instant for RSS: RFC 2822, in the `GMT` form RSS readers know best.
fn rss_date(ms: i64) -> String {
    jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&instant(ms))
        .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 GMT".to_string())
}

/// The feed's date: its newest entry's, or the epoch when it has none.
fn newest(changes: &[Change]) -> i64 {
    changes.iter().map(|c| c.created_at).max().unwrap_or(0)
}

/// A feed failed to write (it writes to memory, so this is not expected).
#[derive(Debug)]
pub struct FeedError(pub String);

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the feed could not be written: {}", self.0)
    }
}

impl std::error::Error for FeedError {}

/// A feed in a format.
pub fn render(format: Format, info: &FeedInfo, changes: &[Change]) -> Result<String, FeedError> {
    match format {
        Format::Rss => rss(info, changes),
        Format::Atom => atom(info, changes),
    }
}

/// The RSS 2.0 feed of `changes`, in their order.
pub fn rss(info: &FeedInfo, changes: &[Change]) -> Result<String, FeedError> {
    let self_href = info.href(Format::Rss);
    let items = changes
        .iter()
        .map(|c| rss::Item {
            title: Some(entry_title(c)),
            link: info.base.as_ref().map(|b| {
                format!(
                    "{b}{}.{}",
                    policy_stem(&c.policy_name),
                    Format::Rss.extension()
                )
            }),
            description: Some(entry_content(c)),
            categories: categories(c)
                .map(|name| rss::Category { name, domain: None })
                .collect(),
            guid: Some(rss::Guid {
                value: c.id(),
                permalink: false,
            }),
            pub_date: Some(rss_date(c.created_at)),
            ..rss::Item::default()
        })
        .collect();
    let channel = rss::Channel {
        title: info.title.clone(),
        // RSS requires a link; without a known host the feed's id stands in.
        link: self_href.clone().unwrap_or_else(|| info.id.clone()),
        description: format!(
            "{}: every new AWS managed policy and every version that changed a document, newest first, with its classification and diff.",
            info.title
        ),
        last_build_date: Some(rss_date(newest(changes))),
        generator: Some("Gatehouse".to_string()),
        items,
        atom_ext: self_href.map(|href| rss::extension::atom::AtomExtension {
            links: vec![rss::extension::atom::Link {
                href,
                rel: "self".to_string(),
                mime_type: Some(Format::Rss.link_type().to_string()),
                ..rss::extension::atom::Link::default()
            }],
        }),
        ..rss::Channel::default()
    };
    let out = channel
        .write_to(Vec::new())
        .map_err(|e| FeedError(e.to_string()))?;
    String::from_utf8(out).map_err(|e| FeedError(e.to_string()))
}

/// The Atom feed of `changes`, in their order.
pub fn atom(info: &FeedInfo, changes: &[Change]) -> Result<String, FeedError> {
    use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};
    let entries = changes
        .iter()
        .map(|c| Entry {
            title: Text::plain(entry_title(c)),
            id: c.id(),
            updated: atom_date(c.created_at),
            published: Some(atom_date(c.created_at)),
            summary: Some(Text::plain(entry_summary(c))),
            content: Some(Content {
                value: Some(entry_content(c)),
                content_type: Some("html".to_string()),
                ..Content::default()
            }),
            categories: categories(c)
                .map(|term| Category {
                    term,
                    ..Category::default()
                })
                .collect(),
            links: info
                .base
                .as_ref()
                .map(|b| Link {
                    href: format!(
                        "{b}{}.{}",
                        policy_stem(&c.policy_name),
                        Format::Atom.extension()
                    ),
                    rel: "alternate".to_string(),
                    mime_type: Some(Format::Atom.link_type().to_string()),
                    ..Link::default()
                })
                .into_iter()
                .collect(),
            ..Entry::default()
        })
        .collect();
    let feed = Feed {
        title: Text::plain(info.title.clone()),
        id: info.id.clone(),
        updated: atom_date(newest(changes)),
        authors: vec![Person {
            name: "Gatehouse".to_string(),
            ..Person::default()
        }],
        generator: Some(Generator {
            value: "Gatehouse".to_string(),
            ..Generator::default()
        }),
        links: info
            .href(Format::Atom)
            .map(|href| Link {
                href,
                rel: "self".to_string(),
                mime_type: Some(Format::Atom.link_type().to_string()),
                ..Link::default()
            })
            .into_iter()
            .collect(),
        entries,
        ..Feed::default()
    };
    let out = feed
        .write_to(Vec::new())
        .map_err(|e| FeedError(e.to_string()))?;
    String::from_utf8(out).map_err(|e| FeedError(e.to_string()))
}

/// An entry's categories: its classification, if any, and its policy's name.
fn categories(c: &Change) -> impl Iterator<Item = String> + '_ {
    c.classification
        .map(|class| class.as_str().to_string())
        .into_iter()
        .chain(std::iter::once(c.policy_name.clone()))
}

// The handlers.

/// `GET /feeds/managed-policies.rss`.
pub(crate) async fn all_rss(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    all(&state, &headers, Format::Rss).await
}

/// `GET /feeds/managed-policies.atom`.
pub(crate) async fn all_atom(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    all(&state, &headers, Format::Atom).await
}

/// `GET /feeds/policies/{NAME}.rss` or `.atom`.
pub(crate) async fn one(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let timer = Timer::start();
    let Some((name, format)) = file
        .rsplit_once('.')
        .and_then(|(name, ext)| Some((name, Format::from_extension(ext)?)))
        .filter(|(name, _)| !name.is_empty())
    else {
        let r = plain(
            StatusCode::NOT_FOUND,
            "A policy's feed is /feeds/policies/NAME.rss or /feeds/policies/NAME.atom.\n",
        );
        return timer.finish(&state, "policy", "NotFound", r);
    };
    let history = match state.store.policy_history(name).await {
        Ok(h) => h,
        Err(e) if e.code == ErrorCode::NoSuchEntity => {
            let r = plain(StatusCode::NOT_FOUND, "No such AWS managed policy.\n");
            return timer.finish(&state, "policy", "NoSuchEntity", r);
        }
        Err(e) => {
            tracing::error!(target: "gatehouse::feeds", error = %e, "a policy's history failed");
            let r = plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.\n");
            return timer.finish(&state, "policy", "ServiceFailure", r);
        }
    };
    let changes: Vec<Change> = history
        .iter()
        .rev()
        .filter(|c| c.is_real())
        .cloned()
        .collect();
    let (canonical, arn) = history
        .first()
        .map_or((name, name), |c| (&c.policy_name, &c.policy_arn));
    let info = FeedInfo::policy(canonical, arn, base_url(host(&headers)));
    let (outcome, r) = answer(format, &info, &changes);
    timer.finish(&state, "policy", outcome, r)
}

async fn all(state: &AppState, headers: &HeaderMap, format: Format) -> Response {
    let timer = Timer::start();
    let changes = match state.store.provider_changes(GLOBAL_LIMIT).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(target: "gatehouse::feeds", error = %e, "the change feed failed");
            let r = plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.\n");
            return timer.finish(state, "managed-policies", "ServiceFailure", r);
        }
    };
    let info = FeedInfo::all(base_url(host(headers)));
    let (outcome, r) = answer(format, &info, &changes);
    timer.finish(state, "managed-policies", outcome, r)
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|h| h.to_str().ok())
}

fn answer(format: Format, info: &FeedInfo, changes: &[Change]) -> (&'static str, Response) {
    match render(format, info, changes) {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            ("ok", r)
        }
        Err(e) => {
            tracing::error!(target: "gatehouse::feeds", error = %e, "a feed failed to write");
            (
                "ServiceFailure",
                plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.\n"),
            )
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = (status, text).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Counts and times a feed request (`api="feeds"`; the operation is `managed-policies` or
/// `policy`, never the policy's name, so the label set stays bounded).
struct Timer {
    started: std::time::Instant,
}

impl Timer {
    // The server reads the clock to measure latency (the clippy rule keeps clocks out of the
    // engine).
    #[allow(clippy::disallowed_methods)]
    fn start() -> Timer {
        Timer {
            started: std::time::Instant::now(),
        }
    }

    fn finish(self, state: &AppState, operation: &str, outcome: &str, r: Response) -> Response {
        let elapsed = self.started.elapsed();
        state
            .metrics
            .request("feeds", operation, outcome, elapsed.as_secs_f64());
        tracing::debug!(
            target: "gatehouse::request",
            api = "feeds",
            operation,
            outcome,
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
        r
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use gatehouse_analysis::Classification;

    use super::*;

    fn change(name: &str, version: &str, ms: i64, class: Option<Classification>) -> Change {
        let kind = if version == "v1" {
            ChangeKind::NewPolicy
        } else {
            ChangeKind::UpdatedPolicy
        };
        Change {
            policy_name: name.to_string(),
            policy_arn: format!("arn:aws:iam::aws:policy/{name}"),
            version_id: version.to_string(),
            previous_version_id: None,
            missing_versions: Vec::new(),
            created_at: ms,
            announced: None,
            kind,
            description: "Added q:CreateArtifact <and> & more.".to_string(),
            described_by: "diff",
            classification: class,
            summary: if class.is_some() {
                "+1 allowed [sensitive: iam:PassRole]".to_string()
            } else {
                kind.as_str().to_string()
            },
            diff: None,
            blast_radius: None,
        }
    }

    fn sample() -> Vec<Change> {
        vec![
            change(
                "AmazonQFullAccess",
                "v3",
                1_717_000_000_123,
                Some(Classification::Mixed),
            ),
            change("AmazonQDeveloperAccess", "v1", 1_700_000_000_000, None),
        ]
    }

    #[test]
    fn titles_name_the_policy_version_kind_and_classification() {
        let s = sample();
        assert_eq!(
            entry_title(&s[0]),
            "AmazonQFullAccess v3: Updated policy (Mixed)"
        );
        assert_eq!(entry_title(&s[1]), "AmazonQDeveloperAccess v1: New policy");
        assert_eq!(
            entry_summary(&s[0]),
            "Added q:CreateArtifact <and> & more.\n+1 allowed [sensitive: iam:PassRole]"
        );
        assert_eq!(entry_summary(&s[1]), "Added q:CreateArtifact <and> & more.");
    }

    #[test]
    fn content_is_escaped_html_with_the_comparison() {
        let mut c = sample().remove(0);
        c.previous_version_id = Some("v1".to_string());
        c.missing_versions = vec!["v2".to_string()];
        c.announced = Some("2024-05-30".to_string());
        assert_eq!(
            entry_content(&c),
            "<p>Added q:CreateArtifact &lt;and&gt; &amp; more.</p><p>+1 allowed [sensitive: iam:PassRole]</p><p>Compared with v1. Versions not recorded in between: v2. Announced by AWS on 2024-05-30.</p>"
        );
        assert_eq!(escape("a\u{1}b"), "a\u{FFFD}b");
    }

    #[test]
    fn long_diffs_are_cut_at_whole_lines_and_say_so() {
        let short = "a\nb\n";
        assert_eq!(truncated(short), short);
        let long: String = (0..500).map(|i| format!("line {i}\n")).collect();
        let cut = truncated(&long);
        assert_eq!(cut.lines().count(), MAX_DIFF_LINES + 1);
        assert!(cut.starts_with("line 0\n"));
        assert!(cut.contains("line 199\n"));
        assert!(
            cut.ends_with("... diff truncated: 300 more lines of 500."),
            "{cut}"
        );
        let wide: String = (0..100)
            .map(|_| format!("{}\n", "x".repeat(1000)))
            .collect();
        let cut = truncated(&wide);
        assert!(cut.len() < MAX_DIFF_BYTES + 100);
        assert!(
            cut.ends_with("... diff truncated: 76 more lines of 100."),
            "{cut}"
        );
    }

    #[test]
    fn dates_are_rfc_3339_and_rfc_2822() {
        assert_eq!(
            atom_date(1_717_000_000_123).to_rfc3339(),
            "2024-05-29T16:26:40.123+00:00"
        );
        assert_eq!(rss_date(1_717_000_000_123), "Wed, 29 May 2024 16:26:40 GMT");
        assert_eq!(rss_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn links_come_from_a_plain_host_only() {
        assert_eq!(
            base_url(Some("127.0.0.1:8470")).as_deref(),
            Some("http://127.0.0.1:8470")
        );
        assert_eq!(
            base_url(Some("[::1]:80")).as_deref(),
            Some("http://[::1]:80")
        );
        assert_eq!(base_url(Some("evil\"/><x")), None);
        assert_eq!(base_url(Some("a/b")), None);
        assert_eq!(base_url(Some("")), None);
        assert_eq!(base_url(None), None);
        assert_eq!(
            policy_stem("A+b=c,d.e@f-g_h"),
            "/feeds/policies/A+b=c,d.e@f-g_h"
        );
        assert_eq!(policy_stem("a b"), "/feeds/policies/a%20b");
    }

    #[test]
    fn rss_has_stable_guids_dates_categories_and_a_self_link() {
        let info = FeedInfo::all(base_url(Some("h:1")));
        let xml = rss(&info, &sample()).unwrap();
        assert!(xml.starts_with("<?xml"), "{xml}");
        assert!(xml.contains("<title>Gatehouse: AWS managed policy updates</title>"));
        assert!(xml.contains(r#"<guid isPermaLink="false">urn:gatehouse:managed-policy-version:arn:aws:iam::aws:policy/AmazonQFullAccess:v3</guid>"#), "{xml}");
        assert!(xml.contains("<pubDate>Wed, 29 May 2024 16:26:40 GMT</pubDate>"));
        assert!(xml.contains("<lastBuildDate>Wed, 29 May 2024 16:26:40 GMT</lastBuildDate>"));
        assert!(xml.contains("<category>Mixed</category>"));
        assert!(xml.contains("<category>AmazonQFullAccess</category>"));
        assert!(xml.contains(
            r#"<atom:link href="http://h:1/feeds/managed-policies.rss" rel="self" type="application/rss+xml"/>"#
        ), "{xml}");
        assert!(xml.contains("<link>http://h:1/feeds/policies/AmazonQFullAccess.rss</link>"));
        let feed = feed_rs::parser::parse(xml.as_bytes()).unwrap();
        assert_eq!(feed.entries.len(), 2);
        assert_eq!(
            feed.entries[0].title.as_ref().unwrap().content,
            "AmazonQFullAccess v3: Updated policy (Mixed)"
        );
    }

    #[test]
    fn atom_has_ids_dates_summary_content_and_links() {
        let info = FeedInfo::policy(
            "AmazonQFullAccess",
            "arn:aws:iam::aws:policy/AmazonQFullAccess",
            None,
        );
        let xml = atom(&info, &sample()[..1]).unwrap();
        let feed = feed_rs::parser::parse(xml.as_bytes()).unwrap();
        assert_eq!(
            feed.id,
            "urn:gatehouse:feed:managed-policy:arn:aws:iam::aws:policy/AmazonQFullAccess"
        );
        assert_eq!(
            feed.title.unwrap().content,
            "Gatehouse: updates to AmazonQFullAccess"
        );
        assert_eq!(feed.updated.unwrap().timestamp_millis(), 1_717_000_000_123);
        assert!(feed.links.is_empty(), "no host, no links");
        let e = &feed.entries[0];
        assert_eq!(
            e.id,
            "urn:gatehouse:managed-policy-version:arn:aws:iam::aws:policy/AmazonQFullAccess:v3"
        );
        assert_eq!(e.published.unwrap().timestamp_millis(), 1_717_000_000_123);
        assert_eq!(
            e.summary.as_ref().unwrap().content,
            entry_summary(&sample()[0])
        );
        let content = e.content.as_ref().unwrap();
        assert_eq!(
            content.body.as_deref(),
            Some(entry_content(&sample()[0]).as_str())
        );
        let terms: Vec<&str> = e.categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(terms, ["Mixed", "AmazonQFullAccess"]);
    }

    #[test]
    fn an_empty_feed_is_dated_at_the_epoch() {
        let xml = atom(&FeedInfo::all(None), &[]).unwrap();
        assert!(
            xml.contains("<updated>1970-01-01T00:00:00+00:00</updated>"),
            "{xml}"
        );
        let xml = rss(&FeedInfo::all(None), &[]).unwrap();
        assert!(
            xml.contains("<link>urn:gatehouse:feed:managed-policies</link>"),
            "{xml}"
        );
        feed_rs::parser::parse(xml.as_bytes()).unwrap();
    }
}
