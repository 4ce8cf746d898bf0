//! Attacks on authentication and privilege escalation (issue 9, items 3 and 4), each a row
//! of a table: the request as an attacker would send it (raw HTTP, signed by `aws-sigv4` and
//! then tampered with), and AWS's status, code and exact message. Every table has control
//! rows that succeed, so a harness that signs wrongly cannot pass by refusing everything.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{iam, server, sts};

/// An access key: ID, secret, and the session token of temporary credentials.
#[derive(Clone, Debug)]
struct Key {
    id: String,
    secret: String,
    token: Option<String>,
}

impl Key {
    fn long_term(id: &str, secret: &str) -> Key {
        Key {
            id: id.to_string(),
            secret: secret.to_string(),
            token: None,
        }
    }
}

/// What a client signs.
#[derive(Clone)]
struct Signing {
    key: Key,
    region: String,
    service: String,
    /// The `Host` value signed.
    host: String,
    at: SystemTime,
    path: String,
    content_type: String,
    body: String,
}

/// A request as it goes on the wire: path, headers (the `Host` header among them), body.
#[derive(Clone, Debug)]
struct Wire {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Wire {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
    }

    fn set_header(mut self, name: &str, value: &str) -> Wire {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The Authorization header with `from` replaced by `to` (once, and it must be there).
    fn edit_authorization(self, from: &str, to: &str) -> Wire {
        let auth = self.header("authorization").to_string();
        assert!(auth.contains(from), "{from} not in {auth}");
        let edited = auth.replacen(from, to, 1);
        self.set_header("authorization", &edited)
    }

    fn with_body(mut self, body: &str) -> Wire {
        self.body = body.to_string();
        self
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "the server checks the signature's time against its clock"
)]
fn now() -> SystemTime {
    SystemTime::now()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(60 * n)
}

/// Signs as a client does and returns what it sends; `host` is the server's own address.
fn signed(s: &Signing, host: &str) -> Wire {
    let mut headers: Vec<(String, String)> = vec![
        ("content-type".into(), s.content_type.clone()),
        ("host".into(), s.host.clone()),
    ];
    let identity: Identity =
        Credentials::new(&s.key.id, &s.key.secret, s.key.token.clone(), None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&s.region)
        .name(&s.service)
        .time(s.at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        &s.path,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(s.body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for (name, value) in instructions.headers() {
        headers.push((name.to_string(), value.to_string()));
    }
    // The request always reaches this server with this server's Host.
    let wire = Wire {
        path: s.path.clone(),
        headers,
        body: s.body.clone(),
    };
    wire.set_header("host", host)
}

/// Signs as `signed` does, but leaves `host` out of the signed headers (which `aws-sigv4`
/// never does): SigV4 written out by hand (iam-api.md §2.2) over `content-type` and
/// `x-amz-date`. Such a signature is good for any host.
fn signed_without_host(s: &Signing, host: &str) -> Wire {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let hmac = |key: &[u8], data: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    let w = signed(s, host);
    let date = w.header("x-amz-date").to_string();
    let day = &date[..8];
    let canonical = format!(
        "POST\n{}\n\ncontent-type:{}\nx-amz-date:{date}\n\ncontent-type;x-amz-date\n{}",
        s.path,
        s.content_type,
        hex::encode(Sha256::digest(s.body.as_bytes()))
    );
    let scope = format!("{day}/{}/{}/aws4_request", s.region, s.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", s.key.secret).as_bytes(), day);
    for part in [s.region.as_str(), s.service.as_str(), "aws4_request"] {
        key = hmac(&key, part);
    }
    let signature = hex::encode(hmac(&key, &to_sign));
    w.set_header(
        "authorization",
        &format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=content-type;x-amz-date, Signature={signature}",
            s.key.id
        ),
    )
}

/// The answer: status, `<Code>` and `<Message>` (unescaped), and the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    code: String,
    message: String,
    body: String,
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    text.split_once(open)
        .and_then(|(_, rest)| rest.split_once(close))
        .map_or("", |(inside, _)| inside)
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Sends a request over a fresh connection exactly as given.
async fn send(host: &str, wire: &Wire) -> Answer {
    let mut head = format!("POST {} HTTP/1.1\r\nconnection: close\r\n", wire.path);
    for (k, v) in &wire.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", wire.body.len()));
    let mut c = tokio::net::TcpStream::connect(host).await.unwrap();
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(wire.body.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), c.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "no answer within 30 s: a hang");
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Answer {
        status,
        code: unescape(between(&body, "<Code>", "</Code>")),
        message: unescape(between(&body, "<Message>", "</Message>")),
        body,
    }
}

/// What a row expects.
#[derive(Clone, Debug)]
enum Expect {
    /// 200.
    Ok,
    /// This status, code and exact message.
    Err(u16, &'static str, String),
    /// `SignatureDoesNotMatch` for a time outside the window, in the past (`true`) or the
    /// future; the message names the request's `X-Amz-Date`.
    Skew(bool),
}

/// Checks an answer; `None` when it is as expected, else what went wrong.
fn check(name: &str, wire: &Wire, expect: &Expect, got: &Answer) -> Option<String> {
    let ok = match expect {
        Expect::Ok => got.status == 200,
        Expect::Err(status, code, message) => {
            got.status == *status && got.code == *code && got.message == *message
        }
        Expect::Skew(past) => {
            let date = wire.header("x-amz-date");
            let (prefix, suffix) = if *past {
                (
                    format!("Signature expired: {date} is now earlier than "),
                    " - 15 min.)",
                )
            } else {
                (
                    format!("Signature not yet current: {date} is still later than "),
                    " + 15 min.)",
                )
            };
            got.status == 403
                && got.code == "SignatureDoesNotMatch"
                && got.message.starts_with(&prefix)
                && got.message.ends_with(suffix)
        }
    };
    (!ok).then(|| format!("{name}: expected {expect:?}, got {got:?}"))
}

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const WHO_AM_I: &str = "Action=GetCallerIdentity&Version=2011-06-15";

fn mismatch() -> Expect {
    Expect::Err(403, "SignatureDoesNotMatch", MISMATCH.to_string())
}

fn invalid_token() -> Expect {
    Expect::Err(403, "InvalidClientTokenId", INVALID_TOKEN.to_string())
}

/// Root creates user NAME with an access key.
async fn user_with_key(root: &aws_sdk_iam::Client, name: &str) -> Key {
    root.create_user().user_name(name).send().await.unwrap();
    let k = root
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    Key::long_term(k.access_key_id(), k.secret_access_key())
}

/// Session credentials of `role_arn` for the holder of `key`.
async fn assume(url: &str, key: &Key, role_arn: &str, session: &str, policy: Option<&str>) -> Key {
    let out = sts(url, &key.id, &key.secret)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session)
        .set_policy(policy.map(str::to_string))
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    Key {
        id: c.access_key_id().to_string(),
        secret: c.secret_access_key().to_string(),
        token: Some(c.session_token().to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_attacks_are_refused_with_aws_errors() {
    let s = server().await;
    let host = s.url.strip_prefix("http://").unwrap().to_string();
    let root_key = Key::long_term(&s.root.access_key_id, &s.root.secret_access_key);
    let root = iam(&s.url, &root_key.id, &root_key.secret);
    let dev = user_with_key(&root, "dev").await;
    let other = user_with_key(&root, "other").await;
    // A key that worked, then was made inactive; one that worked, then was deleted (each
    // used first, so any cache of keys has seen it).
    let inactive = root
        .create_access_key()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    let inactive = inactive.access_key().unwrap();
    let inactive = Key::long_term(inactive.access_key_id(), inactive.secret_access_key());
    let deleted = user_with_key(&root, "leaver").await;
    for k in [&inactive, &deleted] {
        sts(&s.url, &k.id, &k.secret)
            .get_caller_identity()
            .send()
            .await
            .unwrap();
    }
    root.update_access_key()
        .user_name("dev")
        .access_key_id(&inactive.id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    root.delete_access_key()
        .user_name("leaver")
        .access_key_id(&deleted.id)
        .send()
        .await
        .unwrap();
    // Two role sessions of dev's.
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:user/dev"}},"Action":"sts:AssumeRole"}}]}}"#,
        s.root.account_id
    );
    let role = root
        .create_role()
        .role_name("r")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_string();
    let session = assume(&s.url, &dev, &role_arn, "s1", None).await;
    let session2 = assume(&s.url, &dev, &role_arn, "s2", None).await;

    let base = |key: &Key| Signing {
        key: key.clone(),
        region: "eu-west-1".into(),
        service: "sts".into(),
        host: host.clone(),
        at: now(),
        path: "/".into(),
        content_type: "application/x-www-form-urlencoded; charset=utf-8".into(),
        body: WHO_AM_I.into(),
    };
    let wire = |s: Signing| signed(&s, &host);
    let rows: Vec<(&str, Wire, Expect)> = vec![
        // Controls: what a client sends is accepted.
        ("control: a user's key", wire(base(&dev)), Expect::Ok),
        (
            "control: signed 10 minutes ago, inside the window",
            wire(Signing {
                at: now() - minutes(10),
                ..base(&dev)
            }),
            Expect::Ok,
        ),
        (
            "control: signed for another region, as the client is configured",
            wire(Signing {
                region: "ap-southeast-2".into(),
                ..base(&dev)
            }),
            Expect::Ok,
        ),
        ("control: a role session", wire(base(&session)), Expect::Ok),
        // Bad signatures.
        (
            "wrong secret",
            wire(Signing {
                key: Key::long_term(&dev.id, &other.secret),
                ..base(&dev)
            }),
            mismatch(),
        ),
        (
            "another user's key ID with dev's secret",
            wire(Signing {
                key: Key::long_term(&other.id, &dev.secret),
                ..base(&dev)
            }),
            mismatch(),
        ),
        (
            "one digit of the signature changed",
            {
                let w = wire(base(&dev));
                let auth = w.header("authorization").to_string();
                let last = auth.chars().last().unwrap();
                let flipped = if last == '0' { '1' } else { '0' };
                let edited = format!("{}{flipped}", &auth[..auth.len() - 1]);
                w.set_header("authorization", &edited)
            },
            mismatch(),
        ),
        // Tampering: the signature covers the body and the signed headers.
        (
            "body replaced after signing (root's CreateUser mallory)",
            wire(base(&root_key))
                .with_body("Action=CreateUser&Version=2010-05-08&UserName=mallory"),
            mismatch(),
        ),
        (
            "a parameter appended to the body",
            wire(base(&root_key)).with_body(&format!("{WHO_AM_I}&UserName=mallory")),
            mismatch(),
        ),
        (
            "a signed header changed",
            wire(base(&dev)).set_header("content-type", "application/x-www-form-urlencoded"),
            mismatch(),
        ),
        // Replays and the clock.
        (
            "replayed 16 minutes after signing",
            wire(Signing {
                at: now() - minutes(16),
                ..base(&dev)
            }),
            Expect::Skew(true),
        ),
        (
            "dated 16 minutes ahead",
            wire(Signing {
                at: now() + minutes(16),
                ..base(&dev)
            }),
            Expect::Skew(false),
        ),
        (
            "replayed 20 minutes late with X-Amz-Date moved to now",
            {
                let w = wire(Signing {
                    at: now() - minutes(20),
                    ..base(&dev)
                });
                let fresh = wire(base(&dev));
                w.set_header("x-amz-date", fresh.header("x-amz-date"))
            },
            mismatch(),
        ),
        (
            "scope date not the request's date",
            {
                let w = wire(base(&dev));
                let day = w.header("x-amz-date")[..8].to_string();
                w.edit_authorization(&format!("/{day}/"), "/20000101/")
            },
            mismatch(),
        ),
        // Another host, region or service.
        (
            "signed for another host",
            wire(Signing {
                host: "iam.amazonaws.com".into(),
                ..base(&dev)
            }),
            mismatch(),
        ),
        (
            "signed for another region, scope edited to this one",
            wire(Signing {
                region: "us-west-2".into(),
                ..base(&dev)
            })
            .edit_authorization("/us-west-2/", "/eu-west-1/"),
            mismatch(),
        ),
        (
            "signed for another service, scope edited to sts",
            wire(Signing {
                service: "s3".into(),
                ..base(&dev)
            })
            .edit_authorization("/s3/", "/sts/"),
            mismatch(),
        ),
        (
            "host not among the signed headers (good for any host)",
            signed_without_host(&base(&dev), &host),
            Expect::Err(
                400,
                "IncompleteSignature",
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
                    .to_string(),
            ),
        ),
        // Keys that no longer authenticate.
        (
            "a deleted access key",
            wire(base(&deleted)),
            invalid_token(),
        ),
        (
            "an inactive access key",
            wire(base(&inactive)),
            invalid_token(),
        ),
        (
            "an access key that never existed",
            wire(base(&Key::long_term("AKIAAAAAAAAAAAAAAAAA", &dev.secret))),
            invalid_token(),
        ),
        // Temporary credentials.
        (
            "a session key without its token",
            wire(base(&Key {
                token: None,
                ..session.clone()
            })),
            invalid_token(),
        ),
        (
            "a session key with another session's token",
            wire(base(&Key {
                token: session2.token.clone(),
                ..session.clone()
            })),
            invalid_token(),
        ),
        (
            "a session key and token signed with the user's secret",
            wire(base(&Key {
                secret: dev.secret.clone(),
                ..session.clone()
            })),
            mismatch(),
        ),
        (
            "a session key that was never issued",
            wire(base(&Key {
                id: "ASIAAAAAAAAAAAAAAAAA".into(),
                ..session.clone()
            })),
            invalid_token(),
        ),
    ];
    let mut failures = Vec::new();
    for (name, w, expect) in &rows {
        let got = send(&host, w).await;
        failures.extend(check(name, w, expect, &got));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The tampered CreateUser did nothing.
    let e = root
        .get_user()
        .user_name("mallory")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&e),
        Some("NoSuchEntity")
    );
}

/// Signatures are compared in constant time. A timing measurement cannot be asserted on a
/// shared machine, so this reads the verifier: every comparison of a signature (or a session
/// token) outside the unit tests goes through `subtle`'s `ct_eq`, and none through `==`.
#[test]
fn signatures_are_compared_in_constant_time() {
    let sigv4 = include_str!("../src/sigv4.rs");
    let code = sigv4.split("#[cfg(test)]").next().unwrap();
    let plain: Vec<&str> = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| l.contains("auth.signature") || l.contains("ours"))
        .filter(|l| l.contains("==") || l.contains("!=") || l.contains(".eq("))
        .collect();
    assert!(plain.is_empty(), "a signature compared with ==: {plain:?}");
    assert_eq!(
        code.matches(".ct_eq(auth.signature.as_bytes())").count(),
        2,
        "both paths (the fast one and aws-sigv4's) compare with ct_eq"
    );
    let app = include_str!("../src/app.rs");
    assert!(app.contains("subtle::ConstantTimeEq::ct_eq("));
    assert!(
        !app.lines()
            .any(|l| l.contains("session.token") && (l.contains("==") || l.contains("!="))),
        "a session token compared with =="
    );
}

/// A row of the escalation tables: a label, who calls, the Query parameters, what comes back.
type Row = (String, &'static str, Vec<(String, String)>, Expect);

/// A Query-protocol call by `who` (a user's or a session's key).
fn call(label: &str, who: &'static str, params: &[(&str, &str)], expect: Expect) -> Row {
    (
        label.to_string(),
        who,
        params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        expect,
    )
}

fn denied(caller: &str, action: &str, resource: &str, layer: &str) -> Expect {
    Expect::Err(
        403,
        "AccessDenied",
        format!(
            "User: {caller} is not authorized to perform: {action} on resource: {resource} because no {layer} allows the {action} action"
        ),
    )
}

/// Runs rows against the server; returns the failures.
async fn run(host: &str, keys: &HashMap<&str, Key>, rows: &[Row]) -> Vec<String> {
    let mut failures = Vec::new();
    for (label, who, params, expect) in rows {
        let version = if params
            .iter()
            .any(|(k, v)| k == "Action" && v == "AssumeRole")
        {
            "2011-06-15"
        } else {
            "2010-05-08"
        };
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            body.append_pair(k, v);
        }
        body.append_pair("Version", version);
        let signing = Signing {
            key: keys[who].clone(),
            region: "eu-west-1".into(),
            service: if version == "2011-06-15" {
                "sts"
            } else {
                "iam"
            }
            .into(),
            host: host.to_string(),
            at: now(),
            path: "/".into(),
            content_type: "application/x-www-form-urlencoded; charset=utf-8".into(),
            body: body.finish(),
        };
        let wire = signed(&signing, host);
        let got = send(host, &wire).await;
        failures.extend(check(&format!("{who}: {label}"), &wire, expect, &got));
    }
    failures
}

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const EVERYTHING: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Users without the permission to grant themselves more try every way IAM offers, and
/// each is refused with AWS's AccessDenied text naming the action and resource decided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privilege_escalation_without_the_permission_is_refused() {
    let s = server().await;
    let host = s.url.strip_prefix("http://").unwrap().to_string();
    let a = s.root.account_id.clone();
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let dev = user_with_key(&root, "dev").await;
    let kim = user_with_key(&root, "kim").await;
    let boss = user_with_key(&root, "boss").await;
    for p in [
        "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
        "arn:aws:iam::aws:policy/AmazonQFullAccess",
    ] {
        root.attach_user_policy()
            .user_name("dev")
            .policy_arn(p)
            .send()
            .await
            .unwrap();
    }
    root.attach_user_policy()
        .user_name("boss")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    // A customer policy dev has, with a broader version root keeps as a non-default one.
    let team = root
        .create_policy()
        .policy_name("Team")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"q:SendMessage","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let team = team.policy().unwrap().arn().unwrap().to_string();
    root.create_policy_version()
        .policy_arn(&team)
        .policy_document(EVERYTHING)
        .send()
        .await
        .unwrap();
    root.attach_user_policy()
        .user_name("dev")
        .policy_arn(&team)
        .send()
        .await
        .unwrap();
    // A group of admins, a group dev is in, a role for admins trusting the whole account.
    for g in ["admins", "devs"] {
        root.create_group().group_name(g).send().await.unwrap();
    }
    root.attach_group_policy()
        .group_name("admins")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    root.add_user_to_group()
        .group_name("devs")
        .user_name("dev")
        .send()
        .await
        .unwrap();
    let trust_account = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{a}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    root.create_role()
        .role_name("admin")
        .assume_role_policy_document(&trust_account)
        .send()
        .await
        .unwrap();
    root.attach_role_policy()
        .role_name("admin")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    // kim may manage her own keys only (a policy variable names her).
    root.put_user_policy()
        .user_name("kim")
        .policy_name("own-keys")
        .policy_document(format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:UpdateAccessKey","iam:DeleteAccessKey","iam:ListAccessKeys"],"Resource":"arn:aws:iam::{a}:user/${{aws:username}}"}}]}}"#))
        .send()
        .await
        .unwrap();

    let user = |n: &str| format!("arn:aws:iam::{a}:user/{n}");
    let dev_arn = user("dev");
    let id = "identity-based policy";
    let keys: HashMap<&str, Key> = [("dev", dev), ("kim", kim)].into_iter().collect();
    let rows = vec![
        call(
            "control: reads",
            "dev",
            &[("Action", "ListRoles")],
            Expect::Ok,
        ),
        call(
            "attach AdministratorAccess to itself",
            "dev",
            &[
                ("Action", "AttachUserPolicy"),
                ("UserName", "dev"),
                ("PolicyArn", ADMIN),
            ],
            denied(&dev_arn, "iam:AttachUserPolicy", &dev_arn, id),
        ),
        call(
            "attach AdministratorAccess to a group it is in",
            "dev",
            &[
                ("Action", "AttachGroupPolicy"),
                ("GroupName", "devs"),
                ("PolicyArn", ADMIN),
            ],
            denied(
                &dev_arn,
                "iam:AttachGroupPolicy",
                &format!("arn:aws:iam::{a}:group/devs"),
                id,
            ),
        ),
        call(
            "an inline policy allowing everything",
            "dev",
            &[
                ("Action", "PutUserPolicy"),
                ("UserName", "dev"),
                ("PolicyName", "all"),
                ("PolicyDocument", EVERYTHING),
            ],
            denied(&dev_arn, "iam:PutUserPolicy", &dev_arn, id),
        ),
        call(
            "join the admins group",
            "dev",
            &[
                ("Action", "AddUserToGroup"),
                ("GroupName", "admins"),
                ("UserName", "dev"),
            ],
            denied(
                &dev_arn,
                "iam:AddUserToGroup",
                &format!("arn:aws:iam::{a}:group/admins"),
                id,
            ),
        ),
        call(
            "a new default version of a policy it has",
            "dev",
            &[
                ("Action", "CreatePolicyVersion"),
                ("PolicyArn", &team),
                ("PolicyDocument", EVERYTHING),
                ("SetAsDefault", "true"),
            ],
            denied(&dev_arn, "iam:CreatePolicyVersion", &team, id),
        ),
        call(
            "make the broader version of its policy the default",
            "dev",
            &[
                ("Action", "SetDefaultPolicyVersion"),
                ("PolicyArn", &team),
                ("VersionId", "v2"),
            ],
            denied(&dev_arn, "iam:SetDefaultPolicyVersion", &team, id),
        ),
        call(
            "a key for an administrator",
            "dev",
            &[("Action", "CreateAccessKey"), ("UserName", "boss")],
            denied(&dev_arn, "iam:CreateAccessKey", &user("boss"), id),
        ),
        call(
            "a user of its own",
            "dev",
            &[("Action", "CreateUser"), ("UserName", "sock")],
            denied(&dev_arn, "iam:CreateUser", &user("sock"), id),
        ),
        call(
            "a role trusting itself",
            "dev",
            &[
                ("Action", "CreateRole"),
                ("RoleName", "mine"),
                ("AssumeRolePolicyDocument", &trust_account),
            ],
            denied(
                &dev_arn,
                "iam:CreateRole",
                &format!("arn:aws:iam::{a}:role/mine"),
                id,
            ),
        ),
        call(
            "rewrite the admin role's trust policy",
            "dev",
            &[
                ("Action", "UpdateAssumeRolePolicy"),
                ("RoleName", "admin"),
                ("PolicyDocument", &trust_account),
            ],
            denied(
                &dev_arn,
                "iam:UpdateAssumeRolePolicy",
                &format!("arn:aws:iam::{a}:role/admin"),
                id,
            ),
        ),
        call(
            "assume the admin role its account trusts",
            "dev",
            &[
                ("Action", "AssumeRole"),
                ("RoleArn", &format!("arn:aws:iam::{a}:role/admin")),
                ("RoleSessionName", "x1"),
            ],
            Expect::Err(
                403,
                "AccessDenied",
                format!(
                    "User: {dev_arn} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{a}:role/admin"
                ),
            ),
        ),
        call(
            "detach the boss's policy",
            "dev",
            &[
                ("Action", "DetachUserPolicy"),
                ("UserName", "boss"),
                ("PolicyArn", ADMIN),
            ],
            denied(&dev_arn, "iam:DetachUserPolicy", &user("boss"), id),
        ),
        // kim's own-key permission names her user: another user's key stays out of reach.
        call(
            "control: her own keys",
            "kim",
            &[("Action", "ListAccessKeys")],
            Expect::Ok,
        ),
        call(
            "a key for another user",
            "kim",
            &[("Action", "CreateAccessKey"), ("UserName", "boss")],
            denied(&user("kim"), "iam:CreateAccessKey", &user("boss"), id),
        ),
        call(
            "deactivate another user's key under her own name",
            "kim",
            &[
                ("Action", "UpdateAccessKey"),
                ("UserName", "kim"),
                ("AccessKeyId", &boss.id),
                ("Status", "Inactive"),
            ],
            Expect::Err(
                404,
                "NoSuchEntity",
                format!("The Access Key with id {} cannot be found.", boss.id),
            ),
        ),
        call(
            "delete another user's key under her own name",
            "kim",
            &[
                ("Action", "DeleteAccessKey"),
                ("UserName", "kim"),
                ("AccessKeyId", &boss.id),
            ],
            Expect::Err(
                404,
                "NoSuchEntity",
                format!("The Access Key with id {} cannot be found.", boss.id),
            ),
        ),
    ];
    let failures = run(&host, &keys, &rows).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Nothing changed: dev has its three policies, Team's default is v1, boss's key works.
    let attached = root
        .list_attached_user_policies()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 3);
    let p = root.get_policy().policy_arn(&team).send().await.unwrap();
    assert_eq!(p.policy().unwrap().default_version_id(), Some("v1"));
    assert!(
        root.list_user_policies()
            .user_name("dev")
            .send()
            .await
            .unwrap()
            .policy_names()
            .is_empty()
    );
    sts(&s.url, &boss.id, &boss.secret)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
}

/// A user with AmazonQFullAccess may pass roles to Amazon Q and to no other service: the
/// decision the authorization API gives an application that is about to pass a role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amazon_q_full_access_passes_roles_only_to_q() {
    let s = server().await;
    let host = s.url.strip_prefix("http://").unwrap().to_string();
    let a = s.root.account_id.clone();
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    root.create_user().user_name("dev").send().await.unwrap();
    root.attach_user_policy()
        .user_name("dev")
        .policy_arn("arn:aws:iam::aws:policy/AmazonQFullAccess")
        .send()
        .await
        .unwrap();
    let role = format!("arn:aws:iam::{a}:role/q-agent");
    let rows: Vec<(&str, &str, Value, &str)> = vec![
        (
            "control: to Amazon Q",
            "iam:PassRole",
            json!({"iam:PassedToService": "q.amazonaws.com"}),
            "Allow",
        ),
        (
            "to EC2",
            "iam:PassRole",
            json!({"iam:PassedToService": "ec2.amazonaws.com"}),
            "ImplicitDeny",
        ),
        (
            "to Lambda",
            "iam:PassRole",
            json!({"iam:PassedToService": "lambda.amazonaws.com"}),
            "ImplicitDeny",
        ),
        (
            "to Q spelled in another case",
            "iam:PassRole",
            json!({"iam:PassedToService": "Q.amazonaws.com"}),
            "ImplicitDeny",
        ),
        (
            "to Q with a suffix",
            "iam:PassRole",
            json!({"iam:PassedToService": "q.amazonaws.com.evil"}),
            "ImplicitDeny",
        ),
        (
            "without saying to which service",
            "iam:PassRole",
            json!({}),
            "ImplicitDeny",
        ),
        (
            "control: no other IAM action",
            "iam:AttachRolePolicy",
            json!({}),
            "ImplicitDeny",
        ),
    ];
    let mut failures = Vec::new();
    for (label, action, context, decision) in rows {
        let body = json!({"principal": {"arn": format!("arn:aws:iam::{a}:user/dev")},
            "action": action, "resource": role, "context": context, "explain": false});
        let signing = Signing {
            key: Key::long_term(&s.root.access_key_id, &s.root.secret_access_key),
            region: "eu-west-1".into(),
            service: "gatehouse".into(),
            host: host.clone(),
            at: now(),
            path: "/v1/authorize".into(),
            content_type: "application/json".into(),
            body: body.to_string(),
        };
        let got = send(&host, &signed(&signing, &host)).await;
        let answer: Value = serde_json::from_str(&got.body).unwrap_or(Value::Null);
        if got.status != 200 || answer["decision"] != decision {
            failures.push(format!("{label}: expected {decision}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A user with AdministratorAccess under a boundary that allows managing `/team/` users can
/// do that and nothing more: not grant itself anything, not loosen or drop its boundary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permissions_boundary_caps_what_a_user_can_grant() {
    let s = server().await;
    let host = s.url.strip_prefix("http://").unwrap().to_string();
    let a = s.root.account_id.clone();
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let lead = user_with_key(&root, "lead").await;
    root.attach_user_policy()
        .user_name("lead")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    let boundary = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}},
            {{"Effect":"Allow","Action":["iam:CreateUser","iam:AttachUserPolicy","iam:DetachUserPolicy","iam:PutUserPermissionsBoundary"],"Resource":"arn:aws:iam::{a}:user/team/*"}}]}}"#
    );
    let b = root
        .create_policy()
        .policy_name("LeadBoundary")
        .policy_document(boundary)
        .send()
        .await
        .unwrap();
    let b = b.policy().unwrap().arn().unwrap().to_string();
    // A broader version root keeps as a non-default one.
    root.create_policy_version()
        .policy_arn(&b)
        .policy_document(EVERYTHING)
        .send()
        .await
        .unwrap();
    root.put_user_permissions_boundary()
        .user_name("lead")
        .permissions_boundary(&b)
        .send()
        .await
        .unwrap();
    root.create_user().user_name("boss").send().await.unwrap();
    root.create_role()
        .role_name("admin")
        .assume_role_policy_document(format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{a}:root"}},"Action":"sts:AssumeRole"}}]}}"#))
        .send()
        .await
        .unwrap();

    let me = format!("arn:aws:iam::{a}:user/lead");
    let pb = "permissions boundary";
    let keys: HashMap<&str, Key> = [("lead", lead)].into_iter().collect();
    let rows = vec![
        call(
            "control: a user under /team/",
            "lead",
            &[
                ("Action", "CreateUser"),
                ("UserName", "ann"),
                ("Path", "/team/"),
            ],
            Expect::Ok,
        ),
        call(
            "control: a policy for a /team/ user",
            "lead",
            &[
                ("Action", "AttachUserPolicy"),
                ("UserName", "ann"),
                ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
            ],
            Expect::Ok,
        ),
        call(
            "a user outside /team/",
            "lead",
            &[("Action", "CreateUser"), ("UserName", "sock")],
            denied(
                &me,
                "iam:CreateUser",
                &format!("arn:aws:iam::{a}:user/sock"),
                pb,
            ),
        ),
        call(
            "AdministratorAccess for itself",
            "lead",
            &[
                ("Action", "AttachUserPolicy"),
                ("UserName", "lead"),
                ("PolicyArn", ADMIN),
            ],
            denied(&me, "iam:AttachUserPolicy", &me, pb),
        ),
        call(
            "an inline policy for itself",
            "lead",
            &[
                ("Action", "PutUserPolicy"),
                ("UserName", "lead"),
                ("PolicyName", "all"),
                ("PolicyDocument", EVERYTHING),
            ],
            denied(&me, "iam:PutUserPolicy", &me, pb),
        ),
        call(
            "drop its boundary",
            "lead",
            &[
                ("Action", "DeleteUserPermissionsBoundary"),
                ("UserName", "lead"),
            ],
            denied(&me, "iam:DeleteUserPermissionsBoundary", &me, pb),
        ),
        call(
            "replace its boundary with AdministratorAccess",
            "lead",
            &[
                ("Action", "PutUserPermissionsBoundary"),
                ("UserName", "lead"),
                ("PermissionsBoundary", ADMIN),
            ],
            denied(&me, "iam:PutUserPermissionsBoundary", &me, pb),
        ),
        call(
            "a broader default version of its boundary",
            "lead",
            &[
                ("Action", "CreatePolicyVersion"),
                ("PolicyArn", &b),
                ("PolicyDocument", EVERYTHING),
                ("SetAsDefault", "true"),
            ],
            denied(&me, "iam:CreatePolicyVersion", &b, pb),
        ),
        call(
            "make the broader version of its boundary the default",
            "lead",
            &[
                ("Action", "SetDefaultPolicyVersion"),
                ("PolicyArn", &b),
                ("VersionId", "v2"),
            ],
            denied(&me, "iam:SetDefaultPolicyVersion", &b, pb),
        ),
        call(
            "a key for a user outside /team/",
            "lead",
            &[("Action", "CreateAccessKey"), ("UserName", "boss")],
            denied(
                &me,
                "iam:CreateAccessKey",
                &format!("arn:aws:iam::{a}:user/boss"),
                pb,
            ),
        ),
        call(
            "a policy for a user outside /team/",
            "lead",
            &[
                ("Action", "AttachUserPolicy"),
                ("UserName", "boss"),
                ("PolicyArn", ADMIN),
            ],
            denied(
                &me,
                "iam:AttachUserPolicy",
                &format!("arn:aws:iam::{a}:user/boss"),
                pb,
            ),
        ),
        call(
            "a role without the boundary",
            "lead",
            &[
                ("Action", "CreateRole"),
                ("RoleName", "escape"),
                (
                    "AssumeRolePolicyDocument",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
                ),
            ],
            denied(
                &me,
                "iam:CreateRole",
                &format!("arn:aws:iam::{a}:role/escape"),
                pb,
            ),
        ),
        call(
            "assume an admin role",
            "lead",
            &[
                ("Action", "AssumeRole"),
                ("RoleArn", &format!("arn:aws:iam::{a}:role/admin")),
                ("RoleSessionName", "x1"),
            ],
            Expect::Err(
                403,
                "AccessDenied",
                format!(
                    "User: {me} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{a}:role/admin"
                ),
            ),
        ),
    ];
    let failures = run(&host, &keys, &rows).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let u = root.get_user().user_name("lead").send().await.unwrap();
    assert_eq!(
        u.user()
            .unwrap()
            .permissions_boundary()
            .unwrap()
            .permissions_boundary_arn(),
        Some(b.as_str())
    );
    let p = root.get_policy().policy_arn(&b).send().await.unwrap();
    assert_eq!(p.policy().unwrap().default_version_id(), Some("v1"));
}

/// Service-linked roles and provider-managed policies refuse every operation that would
/// change them, even from the root user, with AWS's codes and messages; afterwards they are
/// as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_linked_roles_and_provider_policies_cannot_be_changed() {
    let s = server().await;
    let host = s.url.strip_prefix("http://").unwrap().to_string();
    let a = s.root.account_id.clone();
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let slr = root
        .create_service_linked_role()
        .aws_service_name("q.amazonaws.com")
        .send()
        .await
        .unwrap();
    let slr = slr.role().unwrap().clone();
    let name = slr.role_name().to_string();
    let slr_policy = "arn:aws:iam::aws:policy/aws-service-role/AWSServiceRoleForAmazonQDeveloper";
    // An administrator, to show the refusals are not a matter of permissions.
    let admin = user_with_key(&root, "admin").await;
    root.attach_user_policy()
        .user_name("admin")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    root.create_group().group_name("g").send().await.unwrap();
    root.create_role()
        .role_name("plain")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    // A provider policy with older versions recorded.
    let provider = "arn:aws:iam::aws:policy/AmazonQDeveloperAccess";
    let before = root
        .list_policy_versions()
        .policy_arn(provider)
        .send()
        .await
        .unwrap();
    let before: Vec<(String, bool)> = before
        .versions()
        .iter()
        .map(|v| (v.version_id().unwrap().to_string(), v.is_default_version()))
        .collect();
    let default = before.iter().find(|(_, d)| *d).unwrap().0.clone();
    let older = before.iter().find(|(_, d)| !*d).unwrap().0.clone();

    let protected = Expect::Err(
        400,
        "UnmodifiableEntity",
        format!(
            "Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
        ),
    );
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let denied_msg = |m: &str| Expect::Err(403, "AccessDenied", m.to_string());
    let not_attachable = Expect::Err(
        400,
        "PolicyNotAttachable",
        "Cannot attach a Service Role Policy to a Customer Role.".to_string(),
    );
    let role_before = root.get_role().role_name(&name).send().await.unwrap();
    let role_before = role_before.role().unwrap().clone();
    let n = name.as_str();
    let mut rows = Vec::new();
    for who in ["root", "admin"] {
        rows.extend([
            call(
                "DeleteRole",
                who,
                &[("Action", "DeleteRole"), ("RoleName", n)],
                protected.clone(),
            ),
            call(
                "UpdateRole",
                who,
                &[
                    ("Action", "UpdateRole"),
                    ("RoleName", n),
                    ("MaxSessionDuration", "43200"),
                ],
                protected.clone(),
            ),
            call(
                "UpdateRoleDescription",
                who,
                &[
                    ("Action", "UpdateRoleDescription"),
                    ("RoleName", n),
                    ("Description", "mine"),
                ],
                protected.clone(),
            ),
            call(
                "UpdateAssumeRolePolicy",
                who,
                &[
                    ("Action", "UpdateAssumeRolePolicy"),
                    ("RoleName", n),
                    ("PolicyDocument", trust),
                ],
                protected.clone(),
            ),
            call(
                "AttachRolePolicy",
                who,
                &[
                    ("Action", "AttachRolePolicy"),
                    ("RoleName", n),
                    ("PolicyArn", ADMIN),
                ],
                protected.clone(),
            ),
            call(
                "DetachRolePolicy",
                who,
                &[
                    ("Action", "DetachRolePolicy"),
                    ("RoleName", n),
                    ("PolicyArn", slr_policy),
                ],
                protected.clone(),
            ),
            call(
                "PutRolePolicy",
                who,
                &[
                    ("Action", "PutRolePolicy"),
                    ("RoleName", n),
                    ("PolicyName", "all"),
                    ("PolicyDocument", EVERYTHING),
                ],
                protected.clone(),
            ),
            call(
                "DeleteRolePolicy",
                who,
                &[
                    ("Action", "DeleteRolePolicy"),
                    ("RoleName", n),
                    ("PolicyName", "all"),
                ],
                protected.clone(),
            ),
            call(
                "PutRolePermissionsBoundary",
                who,
                &[
                    ("Action", "PutRolePermissionsBoundary"),
                    ("RoleName", n),
                    ("PermissionsBoundary", provider),
                ],
                protected.clone(),
            ),
            call(
                "DeleteRolePermissionsBoundary",
                who,
                &[("Action", "DeleteRolePermissionsBoundary"), ("RoleName", n)],
                protected.clone(),
            ),
            call(
                "its policy on a user",
                who,
                &[
                    ("Action", "AttachUserPolicy"),
                    ("UserName", "admin"),
                    ("PolicyArn", slr_policy),
                ],
                not_attachable.clone(),
            ),
            call(
                "its policy on a group",
                who,
                &[
                    ("Action", "AttachGroupPolicy"),
                    ("GroupName", "g"),
                    ("PolicyArn", slr_policy),
                ],
                not_attachable.clone(),
            ),
            call(
                "its policy on a customer role",
                who,
                &[
                    ("Action", "AttachRolePolicy"),
                    ("RoleName", "plain"),
                    ("PolicyArn", slr_policy),
                ],
                not_attachable.clone(),
            ),
            call(
                "DeletePolicy of a provider policy",
                who,
                &[("Action", "DeletePolicy"), ("PolicyArn", provider)],
                denied_msg("Cannot delete policies outside your own account."),
            ),
            call(
                "CreatePolicyVersion of a provider policy",
                who,
                &[
                    ("Action", "CreatePolicyVersion"),
                    ("PolicyArn", provider),
                    ("PolicyDocument", EVERYTHING),
                    ("SetAsDefault", "true"),
                ],
                denied_msg("Cannot update policies outside your own account."),
            ),
            call(
                "DeletePolicyVersion of a provider policy",
                who,
                &[
                    ("Action", "DeletePolicyVersion"),
                    ("PolicyArn", provider),
                    ("VersionId", &older),
                ],
                denied_msg("Cannot delete policy versions for policies outside your own account."),
            ),
            call(
                "DeletePolicyVersion of a provider policy's default",
                who,
                &[
                    ("Action", "DeletePolicyVersion"),
                    ("PolicyArn", provider),
                    ("VersionId", &default),
                ],
                denied_msg("Cannot delete policy versions for policies outside your own account."),
            ),
            call(
                "SetDefaultPolicyVersion of a provider policy",
                who,
                &[
                    ("Action", "SetDefaultPolicyVersion"),
                    ("PolicyArn", provider),
                    ("VersionId", &older),
                ],
                denied_msg("Cannot update policies outside your own account."),
            ),
            call(
                "TagPolicy of a provider policy",
                who,
                &[
                    ("Action", "TagPolicy"),
                    ("PolicyArn", provider),
                    ("Tags.member.1.Key", "k"),
                    ("Tags.member.1.Value", "v"),
                ],
                denied_msg("Cannot update policies outside your own account."),
            ),
            call(
                "UntagPolicy of a provider policy",
                who,
                &[
                    ("Action", "UntagPolicy"),
                    ("PolicyArn", provider),
                    ("TagKeys.member.1", "k"),
                ],
                denied_msg("Cannot update policies outside your own account."),
            ),
        ]);
    }
    rows.push(call(
        "an administrator assumes the service-linked role",
        "admin",
        &[("Action", "AssumeRole"), ("RoleArn", slr.arn()), ("RoleSessionName", "x1")],
        Expect::Err(
            403,
            "AccessDenied",
            format!(
                "User: arn:aws:iam::{a}:user/admin is not authorized to perform: sts:AssumeRole on resource: {}",
                slr.arn()
            ),
        ),
    ));
    let keys: HashMap<&str, Key> = [
        (
            "root",
            Key::long_term(&s.root.access_key_id, &s.root.secret_access_key),
        ),
        ("admin", admin),
    ]
    .into_iter()
    .collect();
    let failures = run(&host, &keys, &rows).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // As they were.
    let got = root.get_role().role_name(&name).send().await.unwrap();
    let got = got.role().unwrap();
    assert_eq!(
        got.assume_role_policy_document(),
        role_before.assume_role_policy_document()
    );
    assert_eq!(got.description(), role_before.description());
    assert_eq!(got.max_session_duration(), Some(3600));
    assert!(got.permissions_boundary().is_none());
    let attached = root
        .list_attached_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    let attached: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(attached, [slr_policy]);
    assert!(
        root.list_role_policies()
            .role_name(&name)
            .send()
            .await
            .unwrap()
            .policy_names()
            .is_empty()
    );
    let after = root
        .list_policy_versions()
        .policy_arn(provider)
        .send()
        .await
        .unwrap();
    let after: Vec<(String, bool)> = after
        .versions()
        .iter()
        .map(|v| (v.version_id().unwrap().to_string(), v.is_default_version()))
        .collect();
    assert_eq!(after, before);
    let tags = root
        .list_policy_tags()
        .policy_arn(provider)
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_empty());
    let e = root
        .list_entities_for_policy()
        .policy_arn(slr_policy)
        .send()
        .await
        .unwrap();
    assert!(e.policy_users().is_empty() && e.policy_groups().is_empty());
    let roles: Vec<&str> = e
        .policy_roles()
        .iter()
        .filter_map(|r| r.role_name())
        .collect();
    assert_eq!(roles, [name.as_str()]);
}

/// A role session never exceeds its session policy, nor its role: every way to more
/// permissions (another session, the role's own policies, keys for a user) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assumed_role_session_never_exceeds_its_session_policy() {
    let s = server().await;
    let host = s.url.strip_prefix("http://").unwrap().to_string();
    let a = s.root.account_id.clone();
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let dev = user_with_key(&root, "dev").await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{a}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    // `ops` may do everything; `narrow` may only list users.
    for (role, policy) in [
        ("ops", EVERYTHING),
        (
            "narrow",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","sts:AssumeRole"],"Resource":"*"}]}"#,
        ),
    ] {
        root.create_role()
            .role_name(role)
            .assume_role_policy_document(&trust)
            .send()
            .await
            .unwrap();
        root.put_role_policy()
            .role_name(role)
            .policy_name("p")
            .policy_document(policy)
            .send()
            .await
            .unwrap();
    }
    root.put_user_policy()
        .user_name("dev")
        .policy_name("assume")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let ops = format!("arn:aws:iam::{a}:role/ops");
    let narrow = format!("arn:aws:iam::{a}:role/narrow");
    let list_users = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;
    let keys: HashMap<&str, Key> = [
        (
            "listing",
            assume(&s.url, &dev, &ops, "listing", Some(list_users)).await,
        ),
        ("full", assume(&s.url, &dev, &ops, "full", None).await),
        (
            "wide",
            assume(&s.url, &dev, &narrow, "wide", Some(EVERYTHING)).await,
        ),
    ]
    .into_iter()
    .collect();
    // A session with a managed session policy (PolicyArns), through the SDK.
    let out = sts(&s.url, &dev.id, &dev.secret)
        .assume_role()
        .role_arn(&ops)
        .role_session_name("readonly")
        .policy_arns(
            aws_sdk_sts::types::PolicyDescriptorType::builder()
                .arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let mut keys = keys;
    keys.insert(
        "readonly",
        Key {
            id: c.access_key_id().to_string(),
            secret: c.secret_access_key().to_string(),
            token: Some(c.session_token().to_string()),
        },
    );

    let session = |n: &str, r: &str| format!("arn:aws:sts::{a}:assumed-role/{r}/{n}");
    let sp = "session policy";
    let listing = session("listing", "ops");
    let chain_denied = |who: &str, role: &str| {
        Expect::Err(
            403,
            "AccessDenied",
            format!("User: {who} is not authorized to perform: sts:AssumeRole on resource: {role}"),
        )
    };
    let rows = vec![
        call(
            "control: what the session policy allows",
            "listing",
            &[("Action", "ListUsers")],
            Expect::Ok,
        ),
        call(
            "what only the role allows",
            "listing",
            &[("Action", "ListRoles")],
            denied(
                &listing,
                "iam:ListRoles",
                &format!("arn:aws:iam::{a}:role/"),
                sp,
            ),
        ),
        call(
            "AdministratorAccess on its own role",
            "listing",
            &[
                ("Action", "AttachRolePolicy"),
                ("RoleName", "ops"),
                ("PolicyArn", ADMIN),
            ],
            denied(&listing, "iam:AttachRolePolicy", &ops, sp),
        ),
        call(
            "an inline policy on its own role",
            "listing",
            &[
                ("Action", "PutRolePolicy"),
                ("RoleName", "ops"),
                ("PolicyName", "all"),
                ("PolicyDocument", EVERYTHING),
            ],
            denied(&listing, "iam:PutRolePolicy", &ops, sp),
        ),
        call(
            "a key for the user who assumed it",
            "listing",
            &[("Action", "CreateAccessKey"), ("UserName", "dev")],
            denied(
                &listing,
                "iam:CreateAccessKey",
                &format!("arn:aws:iam::{a}:user/dev"),
                sp,
            ),
        ),
        call(
            "a new session of its role without the session policy",
            "listing",
            &[
                ("Action", "AssumeRole"),
                ("RoleArn", &ops),
                ("RoleSessionName", "again"),
            ],
            chain_denied(&listing, &ops),
        ),
        call(
            "a new session with a session policy allowing everything",
            "listing",
            &[
                ("Action", "AssumeRole"),
                ("RoleArn", &ops),
                ("RoleSessionName", "again"),
                ("Policy", EVERYTHING),
            ],
            chain_denied(&listing, &ops),
        ),
        call(
            "control: a managed session policy allows reads",
            "readonly",
            &[("Action", "ListRoles")],
            Expect::Ok,
        ),
        call(
            "a managed session policy allows no writes",
            "readonly",
            &[("Action", "CreateUser"), ("UserName", "sock")],
            denied(
                &session("readonly", "ops"),
                "iam:CreateUser",
                &format!("arn:aws:iam::{a}:user/sock"),
                sp,
            ),
        ),
        call(
            "a session policy broader than its role grants nothing more",
            "wide",
            &[("Action", "ListRoles")],
            denied(
                &session("wide", "narrow"),
                "iam:ListRoles",
                &format!("arn:aws:iam::{a}:role/"),
                "identity-based policy",
            ),
        ),
        call(
            "control: without a session policy, the role's permissions",
            "full",
            &[("Action", "ListRoles")],
            Expect::Ok,
        ),
        call(
            "control: without a session policy, a chained session",
            "full",
            &[
                ("Action", "AssumeRole"),
                ("RoleArn", &ops),
                ("RoleSessionName", "chained"),
            ],
            Expect::Ok,
        ),
    ];
    let failures = run(&host, &keys, &rows).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let attached = root
        .list_attached_role_policies()
        .role_name("ops")
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies().is_empty());
    assert_eq!(
        root.list_role_policies()
            .role_name("ops")
            .send()
            .await
            .unwrap()
            .policy_names(),
        ["p"]
    );
    assert!(
        root.list_access_keys()
            .user_name("dev")
            .send()
            .await
            .unwrap()
            .access_key_metadata()
            .len()
            == 1
    );
}
