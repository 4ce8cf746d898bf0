//! The managed-policy change feeds, fetched over HTTP without signing, as a feed reader does,
//! and read back with `feed-rs`.

use feed_rs::model::Feed;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::server;

/// Fetches `path` unsigned: the status, the content type and the body.
async fn get(url: &str, path: &str) -> (u16, String, String) {
    let host = url.strip_prefix("http://").unwrap();
    let req = hyper::Request::builder()
        .method("GET")
        .uri(format!("{url}{path}"))
        .header("host", host)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

/// Fetches a feed and parses it, checking its media type.
async fn feed(url: &str, path: &str) -> Feed {
    let (status, content_type, body) = get(url, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    let expected = if path.ends_with(".rss") {
        "application/rss+xml; charset=utf-8"
    } else {
        "application/atom+xml; charset=utf-8"
    };
    assert_eq!(content_type, expected, "{path}");
    feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{path}: {e}\n{body}"))
}

fn title(e: &feed_rs::model::Entry) -> &str {
    e.title.as_ref().map_or("", |t| t.content.as_str())
}

/// Entry dates, newest first: published (Atom, RSS pubDate as feed-rs reads it).
fn assert_newest_first(path: &str, f: &Feed) {
    let dates: Vec<i64> = f
        .entries
        .iter()
        .map(|e| e.published.or(e.updated).unwrap().timestamp_millis())
        .collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "{path}: not newest first: {dates:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feeds_serve_every_real_change_newest_first_with_stable_ids() {
    let s = server().await;

    // One policy: AmazonQFullAccess's real changes, v12 first; v9 and v11 republished the
    // same document and are left out.
    let (store, _) = gatehouse_store::Store::open_data_dir(&s.data_dir, None)
        .await
        .unwrap();
    let history = store.policy_history("AmazonQFullAccess").await.unwrap();
    let expected: Vec<&gatehouse_store::Change> =
        history.iter().rev().filter(|c| c.is_real()).collect();
    let versions: Vec<&str> = expected.iter().map(|c| c.version_id.as_str()).collect();
    assert_eq!(versions, ["v12", "v7", "v6", "v5", "v4", "v3", "v2", "v1"]);
    for ext in ["rss", "atom"] {
        // The name is case-insensitive; titles and links use the policy's own spelling.
        let path = format!("/feeds/policies/amazonqfullaccess.{ext}");
        let f = feed(&s.url, &path).await;
        assert_eq!(
            f.title.as_ref().unwrap().content,
            "Gatehouse: updates to AmazonQFullAccess",
            "{path}"
        );
        assert_eq!(f.entries.len(), 8, "{path}");
        let ids: Vec<&str> = f.entries.iter().map(|e| e.id.as_str()).collect();
        let want: Vec<String> = expected.iter().map(|c| c.id()).collect();
        assert_eq!(ids, want, "{path}");
        assert_newest_first(&path, &f);
        assert_eq!(
            f.entries[0].published.unwrap().timestamp_millis(),
            expected[0].created_at,
            "{path}"
        );
        let titles: Vec<&str> = f.entries.iter().map(title).collect();
        assert_eq!(
            titles[0],
            "AmazonQFullAccess v12: Updated policy (Expanded)"
        );
        assert_eq!(titles[7], "AmazonQFullAccess v1: New policy");
        assert!(
            !titles
                .iter()
                .any(|t| t.contains(" v9:") || t.contains(" v11:"))
        );
        let terms: Vec<&str> = f.entries[0]
            .categories
            .iter()
            .map(|c| c.term.as_str())
            .collect();
        assert_eq!(terms, ["Expanded", "AmazonQFullAccess"], "{path}");
        // The entry's text: the description and the diff, in a <pre>.
        let body = if ext == "rss" {
            f.entries[0].summary.as_ref().unwrap().content.clone()
        } else {
            f.entries[0].content.as_ref().unwrap().body.clone().unwrap()
        };
        assert!(body.contains("q:CreateArtifact"), "{path}: {body}");
        assert!(body.contains("<pre>"), "{path}: {body}");
        let link = &f.entries[0].links[0].href;
        assert_eq!(
            link,
            &format!("{}/feeds/policies/AmazonQFullAccess.{ext}", s.url)
        );
        // The same ids on a second fetch.
        let again = feed(&s.url, &path).await;
        let again: Vec<&str> = again.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(again, ids, "{path}");
    }

    // Every policy: at most 100 changes, newest first, AmazonQFullAccess v12 among them.
    let mut first_ids = None;
    for ext in ["rss", "atom"] {
        let path = format!("/feeds/managed-policies.{ext}");
        let f = feed(&s.url, &path).await;
        assert_eq!(
            f.title.as_ref().unwrap().content,
            "Gatehouse: AWS managed policy updates"
        );
        assert!(!f.entries.is_empty() && f.entries.len() <= 100, "{path}");
        assert_newest_first(&path, &f);
        assert!(
            f.entries
                .iter()
                .any(|e| title(e).starts_with("AmazonQFullAccess v12: ")),
            "{path}"
        );
        let v12 = expected[0].id();
        assert!(f.entries.iter().any(|e| e.id == v12), "{path}");
        // Both formats list the same changes in the same order.
        let ids: Vec<String> = f.entries.iter().map(|e| e.id.clone()).collect();
        match &first_ids {
            None => first_ids = Some(ids),
            Some(rss_ids) => assert_eq!(&ids, rss_ids),
        }
    }

    // Unknown policies and formats are 404, with a short text body.
    for path in [
        "/feeds/policies/NoSuchPolicy.rss",
        "/feeds/policies/NoSuchPolicy.atom",
        "/feeds/policies/AmazonQFullAccess.json",
        "/feeds/policies/AmazonQFullAccess",
    ] {
        let (status, content_type, body) = get(&s.url, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(content_type, "text/plain; charset=utf-8", "{path}");
        assert!(body.len() < 200, "{path}: {body}");
    }

    // Counted under their own API, by feed and not by policy name.
    let text = super::iam_sts::http_get(&s.url, "/metrics").await;
    for line in [
        r#"gatehouse_requests_total{api="feeds",operation="policy",outcome="ok"} 4"#,
        r#"gatehouse_requests_total{api="feeds",operation="policy",outcome="NoSuchEntity"} 2"#,
        r#"gatehouse_requests_total{api="feeds",operation="policy",outcome="NotFound"} 2"#,
        r#"gatehouse_requests_total{api="feeds",operation="managed-policies",outcome="ok"} 2"#,
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}
