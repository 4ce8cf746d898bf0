//! The web console over raw HTTP: sessions (sign-in, the cookie's attributes, every way a
//! cookie can be wrong, sign-out), where sign-in may send the browser, authorization of pages
//! and of parts of pages, escaping, the security headers, and bad parameters (a 4xx page,
//! never a 500). The browser tests are in `tests/e2e/test_console.py`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{iam, server};

/// A response: status, headers (lower-case names), body.
struct Page {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a fresh connection.
async fn request(url: &str, method: &str, path: &str, cookie: Option<&str>, body: &str) -> Page {
    let host = url.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        head.push_str(&format!("Cookie: {c}\r\n"));
    }
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_lowercase(), v.to_string()))
        .collect();
    // Bodies here are small enough to come in one chunk or with a length; strip chunk framing.
    let body = if text.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Page {
        status,
        headers,
        body,
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

async fn get(url: &str, path: &str, cookie: Option<&str>) -> Page {
    request(url, "GET", path, cookie, "").await
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Signs in and returns the cookie pair (`name=value`).
async fn sign_in(url: &str, key: &str, secret: &str) -> String {
    let page = request(
        url,
        "POST",
        "/console/signin",
        None,
        &form(&[("access_key_id", key), ("secret_access_key", secret)]),
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let set = page.header("set-cookie").unwrap();
    set.split(';').next().unwrap().to_string()
}

fn mac(secret: &str, key: &str, expires: i64) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(format!("gatehouse-console-session\n{key}\n{expires}").as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_checked_every_way_a_cookie_can_be_wrong() {
    let s = server().await;
    let (key, secret) = (&s.root.access_key_id, &s.root.secret_access_key);
    let root = iam(&s.url, key, secret);
    let cookie = sign_in(&s.url, key, secret).await;

    // The cookie's attributes.
    let page = request(
        &s.url,
        "POST",
        "/console/signin",
        None,
        &form(&[("access_key_id", key), ("secret_access_key", secret)]),
    )
    .await;
    let set = page.header("set-cookie").unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(set.contains(attribute), "{set}");
    }
    assert_eq!(page.header("location"), Some("/console/policies"));
    let ok = get(&s.url, "/console/policies?q=AmazonQ", Some(&cookie)).await;
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("AmazonQFullAccess"));

    // Another user's key, to sign a cookie with the wrong secret.
    root.create_user().user_name("other").send().await.unwrap();
    let other = root
        .create_access_key()
        .user_name("other")
        .send()
        .await
        .unwrap();
    let other_secret = other.access_key().unwrap().secret_access_key().to_string();
    let later = now() + 3600;
    let value = cookie.split_once('=').unwrap().1.to_string();
    let mut flipped = value.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    let cases: Vec<(&str, String)> = vec![
        ("no cookie", String::new()),
        ("empty value", "gatehouse_console=".into()),
        ("garbage", "gatehouse_console=garbage".into()),
        (
            "MAC with one character changed",
            format!("gatehouse_console={flipped}"),
        ),
        (
            "expired an hour ago, correctly signed",
            format!(
                "gatehouse_console={key}.{}.{}",
                now() - 3600,
                mac(secret, key, now() - 3600)
            ),
        ),
        (
            "expiry moved later without re-signing",
            format!(
                "gatehouse_console={key}.{}.{}",
                later + 100,
                mac(secret, key, later)
            ),
        ),
        (
            "signed with another key's secret",
            format!(
                "gatehouse_console={key}.{later}.{}",
                mac(&other_secret, key, later)
            ),
        ),
        (
            "unknown key",
            format!(
                "gatehouse_console=AKIAUNKNOWNUNKNOWN00.{later}.{}",
                mac(secret, "AKIAUNKNOWNUNKNOWN00", later)
            ),
        ),
        (
            "expiry not a number",
            format!("gatehouse_console={key}.soon.{}", mac(secret, key, later)),
        ),
        (
            "expiry too far to be real",
            format!(
                "gatehouse_console={key}.{}.{}",
                i64::MAX,
                mac(secret, key, i64::MAX)
            ),
        ),
    ];
    for (what, c) in &cases {
        let page = get(
            &s.url,
            "/console/policies?q=x",
            (!c.is_empty()).then_some(c.as_str()),
        )
        .await;
        assert_eq!(page.status, 303, "{what}");
        assert_eq!(
            page.header("location"),
            Some("/console/signin?next=%2Fconsole%2Fpolicies%3Fq%3Dx"),
            "{what}"
        );
    }
    // A correctly signed cookie of our own making is accepted (so the cases above fail for
    // the reason they name).
    let forged_ok = format!(
        "gatehouse_console={key}.{later}.{}",
        mac(secret, key, later)
    );
    assert_eq!(
        get(&s.url, "/console/policies", Some(&forged_ok))
            .await
            .status,
        200
    );

    // Deactivating the key ends its sessions; reactivating resumes them.
    let other_key = other.access_key().unwrap().access_key_id().to_string();
    let other_cookie = sign_in(&s.url, &other_key, &other_secret).await;
    assert_eq!(
        get(&s.url, "/console/policies", Some(&other_cookie))
            .await
            .status,
        403
    );
    root.update_access_key()
        .user_name("other")
        .access_key_id(&other_key)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&s.url, "/console/policies", Some(&other_cookie))
            .await
            .status,
        303
    );
    // An inactive key cannot sign in either.
    let refused = request(
        &s.url,
        "POST",
        "/console/signin",
        None,
        &form(&[
            ("access_key_id", &other_key),
            ("secret_access_key", &other_secret),
        ]),
    )
    .await;
    assert_eq!(refused.status, 401);

    // Sign-out clears the cookie.
    let out = request(&s.url, "POST", "/console/signout", Some(&cookie), "").await;
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refuses_bad_credentials_and_sends_only_to_console_pages() {
    let s = server().await;
    let (key, secret) = (&s.root.access_key_id, &s.root.secret_access_key);
    let cases: &[(&str, &str, u16)] = &[
        (
            "wrong secret",
            "access_key_id=KEY&secret_access_key=wrong",
            401,
        ),
        (
            "unknown key",
            "access_key_id=AKIAUNKNOWNUNKNOWN00&secret_access_key=SECRET",
            401,
        ),
        ("empty form", "", 401),
        (
            "a session key ID",
            "access_key_id=ASIAAAAAAAAAAAAAAAAA&secret_access_key=SECRET",
            401,
        ),
        (
            "an overlong key ID",
            "access_key_id=AKIA{LONG}&secret_access_key=SECRET",
            401,
        ),
        ("not a form", "%%%&&&==", 401),
    ];
    for (what, body, status) in cases {
        let body = body
            .replace("KEY", key)
            .replace("SECRET", &enc(secret))
            .replace("{LONG}", &"A".repeat(5000));
        let page = request(&s.url, "POST", "/console/signin", None, &body).await;
        assert_eq!(page.status, *status, "{what}: {}", page.body);
        assert!(page.header("set-cookie").is_none(), "{what}");
        if *status == 401 {
            assert!(page.body.contains("is not valid"), "{what}");
        }
    }
    let nexts: &[(&str, &str)] = &[
        ("/console/history", "/console/history"),
        ("/console/policy?arn=x", "/console/policy?arn=x"),
        ("https://evil.example/", "/console/policies"),
        ("//evil.example/console/", "/console/policies"),
        ("/console/\\evil", "/console/policies"),
        ("/feeds/managed-policies.rss", "/console/policies"),
        ("", "/console/policies"),
    ];
    for (next, to) in nexts {
        let page = request(
            &s.url,
            "POST",
            "/console/signin",
            None,
            &form(&[
                ("access_key_id", key),
                ("secret_access_key", secret),
                ("next", next),
            ]),
        )
        .await;
        assert_eq!(page.status, 303, "{next}");
        assert_eq!(page.header("location"), Some(*to), "{next}");
    }
    // The sign-in page keeps `next` for the form, escaped.
    let page = get(&s.url, "/console/signin?next=%22%3E%3Cscript%3E", None).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("\"><script>"));
    assert!(page.body.contains("&quot;&gt;&lt;script&gt;"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_authorized_as_the_api_calls_they_stand_for() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let account = &s.root.account_id;
    // A user who may list policies and read them, but not see who uses them.
    root.create_user().user_name("reader").send().await.unwrap();
    root.put_user_policy()
        .user_name("reader")
        .policy_name("read")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListPolicies","iam:GetPolicy","iam:GetPolicyVersion","iam:ListPolicyVersions"],"Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let k = root
        .create_access_key()
        .user_name("reader")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let reader = sign_in(&s.url, k.access_key_id(), k.secret_access_key()).await;
    root.create_user().user_name("nobody").send().await.unwrap();
    let k = root
        .create_access_key()
        .user_name("nobody")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let nobody = sign_in(&s.url, k.access_key_id(), k.secret_access_key()).await;

    let full = enc("arn:aws:iam::aws:policy/AmazonQFullAccess");
    let user_arn = format!("arn:aws:iam::{account}:user/reader");
    // (path, the action refused to `nobody`, whether `reader` may see it)
    let pages: Vec<(String, &str, bool)> = vec![
        ("/console/policies".into(), "iam:ListPolicies", true),
        (format!("/console/policy?arn={full}"), "iam:GetPolicy", true),
        (
            format!("/console/diff?arn={full}&from=v3&to=v4"),
            "iam:GetPolicyVersion",
            true,
        ),
        (
            "/console/identities?kind=user".into(),
            "iam:ListUsers",
            false,
        ),
        (
            "/console/identities?kind=role".into(),
            "iam:ListRoles",
            false,
        ),
        (
            "/console/identities?kind=group".into(),
            "iam:ListGroups",
            false,
        ),
        (
            "/console/identity?kind=user&name=reader".into(),
            "iam:GetUser",
            false,
        ),
        (
            "/console/activity?kind=user&name=reader".into(),
            "iam:GenerateServiceLastAccessedDetails",
            false,
        ),
        (
            format!(
                "/console/simulator?principal={}&actions=q:CreatePlugin",
                enc(&user_arn)
            ),
            "iam:SimulatePrincipalPolicy",
            false,
        ),
        ("/console/history".into(), "iam:ListPolicies", true),
        (
            format!("/console/blast?arn={full}&from=v3&to=v4"),
            "iam:GetPolicyVersion",
            false,
        ),
    ];
    for (path, action, reader_sees) in &pages {
        let page = get(&s.url, path, Some(&nobody)).await;
        assert_eq!(page.status, 403, "{path}");
        let expected = format!(
            "User: arn:aws:iam::{account}:user/nobody is not authorized to perform: {action}"
        );
        assert!(page.body.contains(&expected), "{path}: {}", page.body);
        let page = get(&s.url, path, Some(&reader)).await;
        assert_eq!(page.status == 200, *reader_sees, "{path}: {}", page.status);
    }
    // A part of a page the reader may not see says so in place.
    let page = get(
        &s.url,
        &format!("/console/policy?arn={full}"),
        Some(&reader),
    )
    .await;
    assert!(
        page.body
            .contains("is not authorized to perform: iam:ListEntitiesForPolicy")
    );
    assert!(page.body.contains("q:GenerateCodeFromCommands"));
    // Root sees everything.
    let root_cookie = sign_in(&s.url, &s.root.access_key_id, &s.root.secret_access_key).await;
    for (path, _, _) in &pages {
        let page = get(&s.url, path, Some(&root_cookie)).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_get_a_4xx_page_and_text_is_escaped() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let account = &s.root.account_id;
    let created = root
        .create_policy()
        .policy_name("Evil")
        .description("<script>alert(1)</script>")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/</code><script>"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let evil = created.policy().unwrap().arn().unwrap().to_string();
    let cookie = sign_in(&s.url, &s.root.access_key_id, &s.root.secret_access_key).await;
    for path in [
        "/console/policies?q=Evil".to_string(),
        format!("/console/policy?arn={}", enc(&evil)),
    ] {
        let page = get(&s.url, &path, Some(&cookie)).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>"), "{path}");
        assert!(page.body.contains("&lt;script&gt;"), "{path}");
        let csp = page.header("content-security-policy").unwrap();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script-src"),
            "{csp}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }

    let full = enc("arn:aws:iam::aws:policy/AmazonQFullAccess");
    let me = enc(&format!("arn:aws:iam::{account}:root"));
    let many: String = (0..101).map(|i| format!("q:A{i} ")).collect();
    let cases: Vec<(String, u16, &str)> = vec![
        ("/console/policy?arn=garbage".into(), 400, "ValidationError"),
        ("/console/policy".into(), 400, "ValidationError"),
        (
            "/console/policy?arn=not-an-arn-but-long-enough".into(),
            400,
            "InvalidInput",
        ),
        (
            format!(
                "/console/policy?arn={}",
                enc("arn:aws:iam::aws:policy/NoSuchPolicy")
            ),
            404,
            "NoSuchEntity",
        ),
        (
            format!("/console/policy?arn={full}&version=v999"),
            404,
            "NoSuchEntity",
        ),
        (
            format!("/console/policy?arn={full}&version=..%2F"),
            400,
            "ValidationError",
        ),
        (
            format!("/console/diff?arn={full}&from=v1&to=v999"),
            404,
            "NoSuchEntity",
        ),
        (
            "/console/identities?kind=bogus".into(),
            400,
            "ValidationError",
        ),
        (
            "/console/identity?kind=user&name=missing".into(),
            404,
            "NoSuchEntity",
        ),
        ("/console/identity?kind=role".into(), 400, "ValidationError"),
        (
            "/console/activity?kind=user&name=missing".into(),
            404,
            "NoSuchEntity",
        ),
        (
            "/console/simulator?principal=not-an-arn&actions=q:x".into(),
            400,
            "InvalidInput",
        ),
        (
            format!("/console/simulator?principal={me}&actions=q:x"),
            400,
            "InvalidInput",
        ),
        (
            format!(
                "/console/simulator?principal={}&actions={}",
                enc(&format!("arn:aws:iam::{account}:user/missing")),
                enc(&many)
            ),
            400,
            "ValidationError",
        ),
        (
            format!(
                "/console/simulator?principal={}&actions=q:x&context=novalue",
                enc(&format!("arn:aws:iam::{account}:user/missing"))
            ),
            400,
            "InvalidInput",
        ),
        (
            format!(
                "/console/simulator?principal={}&actions=q:x",
                enc(&format!("arn:aws:iam::{account}:user/missing"))
            ),
            404,
            "NoSuchEntity",
        ),
        (
            format!("/console/blast?arn={full}&from=v1&to=v999"),
            404,
            "NoSuchEntity",
        ),
        ("/console/policies?page=-1&scope=%00".into(), 200, ""),
        (
            "/console/policies?page=999999999999999999999".into(),
            200,
            "",
        ),
    ];
    let mut wrong = Vec::new();
    for (path, status, code) in &cases {
        let page = get(&s.url, path, Some(&cookie)).await;
        if page.status != *status || !page.body.contains(code) {
            let found = page
                .body
                .split("<strong>")
                .nth(1)
                .and_then(|b| b.split('<').next())
                .unwrap_or("");
            wrong.push(format!(
                "{path}: {} {found}, expected {status} {code}",
                page.status
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
