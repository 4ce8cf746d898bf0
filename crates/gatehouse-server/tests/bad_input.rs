//! Bad input on the Query endpoint, sent as raw HTTP (signed with `aws-sigv4` where the case
//! needs a valid signature): every case gets AWS's code and status in the protocol's XML error
//! form, never a 500, a panic or a hang, and nothing stored is lost.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{iam, server};

/// How a case's request is authenticated.
enum Auth {
    /// Signed with the root key.
    Root,
    /// Signed with the root key ID and a wrong secret.
    WrongSecret,
    /// Signed with a key the server does not know.
    UnknownKey,
    /// Signed with the root key, an hour ago.
    Stale,
    /// No Authorization header.
    None,
    /// An Authorization header that is not a SigV4 one.
    Garbage,
}

/// Sends one POST and returns (status, body).
async fn post(url: &str, body: &[u8], auth: Auth, root: (&str, &str)) -> (u16, String) {
    let host = url.strip_prefix("http://").unwrap();
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.into()),
        (
            "content-type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        ),
    ];
    let creds = match auth {
        Auth::Root | Auth::Stale => Some((root.0.to_string(), root.1.to_string())),
        Auth::WrongSecret => Some((root.0.to_string(), "x".repeat(40))),
        Auth::UnknownKey => Some(("AKIAUNKNOWNUNKNOWN00".into(), "x".repeat(40))),
        Auth::None => None,
        Auth::Garbage => {
            headers.push(("authorization".into(), "Basic dXNlcjpwYXNz".into()));
            None
        }
    };
    if let Some((key, secret)) = creds {
        let identity: Identity = Credentials::new(key, secret, None, None, "test").into();
        #[expect(
            clippy::disallowed_methods,
            reason = "the server checks the signature's time against its clock"
        )]
        let now = SystemTime::now();
        let time = if matches!(auth, Auth::Stale) {
            now - Duration::from_secs(3600)
        } else {
            now
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("iam")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            "POST",
            "/",
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        for (name, value) in instructions.headers() {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let mut head = "POST / HTTP/1.1\r\nconnection: close\r\n".to_string();
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut c = tokio::net::TcpStream::connect(host).await.unwrap();
    c.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before it has read an oversized body.
    let _ = c.write_all(body).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), c.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "no answer within 20 s: a hang");
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
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_aws_errors_and_loses_nothing() {
    let s = server().await;
    let root = (
        s.root.access_key_id.as_str(),
        s.root.secret_access_key.as_str(),
    );
    iam(&s.url, root.0, root.1)
        .create_user()
        .user_name("keep")
        .send()
        .await
        .unwrap();
    let big_doc = format!(
        "Action=CreatePolicy&Version=2010-05-08&PolicyName=p&PolicyDocument={}",
        "a".repeat(2 * 1024 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>, Auth, u16, &str)> = vec![
        (
            "body not UTF-8",
            b"Action=\xff\xfe".to_vec(),
            Auth::Root,
            400,
            "MalformedQueryString",
        ),
        (
            "no Action",
            b"Version=2010-05-08".to_vec(),
            Auth::Root,
            400,
            "MissingAction",
        ),
        (
            "unknown Action",
            b"Action=Frobnicate&Version=2010-05-08".to_vec(),
            Auth::Root,
            400,
            "InvalidAction",
        ),
        (
            "unknown STS action",
            b"Action=GetSessionToken&Version=2011-06-15".to_vec(),
            Auth::Root,
            400,
            "InvalidAction",
        ),
        (
            "missing required parameter",
            b"Action=CreateUser&Version=2010-05-08".to_vec(),
            Auth::Root,
            400,
            "ValidationError",
        ),
        (
            "invalid name",
            b"Action=CreateUser&Version=2010-05-08&UserName=a%20b".to_vec(),
            Auth::Root,
            400,
            "ValidationError",
        ),
        (
            "MaxItems out of range",
            b"Action=ListUsers&Version=2010-05-08&MaxItems=0".to_vec(),
            Auth::Root,
            400,
            "ValidationError",
        ),
        (
            "bad marker",
            b"Action=ListUsers&Version=2010-05-08&Marker=zzz".to_vec(),
            Auth::Root,
            400,
            "ValidationError",
        ),
        (
            "not a boolean",
            b"Action=ListPolicies&Version=2010-05-08&OnlyAttached=yes".to_vec(),
            Auth::Root,
            400,
            "ValidationError",
        ),
        (
            "not a number",
            b"Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=x"
                .to_vec(),
            Auth::Root,
            400,
            "ValidationError",
        ),
        (
            "invalid policy document",
            b"Action=CreatePolicy&Version=2010-05-08&PolicyName=p&PolicyDocument=%7B".to_vec(),
            Auth::Root,
            400,
            "MalformedPolicyDocument",
        ),
        (
            "oversized body",
            big_doc.into_bytes(),
            Auth::Root,
            413,
            "RequestEntityTooLarge",
        ),
        (
            "wrong secret",
            b"Action=ListUsers&Version=2010-05-08".to_vec(),
            Auth::WrongSecret,
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "unknown key",
            b"Action=ListUsers&Version=2010-05-08".to_vec(),
            Auth::UnknownKey,
            403,
            "InvalidClientTokenId",
        ),
        (
            "signed an hour ago",
            b"Action=ListUsers&Version=2010-05-08".to_vec(),
            Auth::Stale,
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "unsigned",
            b"Action=ListUsers&Version=2010-05-08".to_vec(),
            Auth::None,
            403,
            "MissingAuthenticationToken",
        ),
        (
            "not a SigV4 header",
            b"Action=ListUsers&Version=2010-05-08".to_vec(),
            Auth::Garbage,
            400,
            "IncompleteSignature",
        ),
        (
            "unknown STS role",
            b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fnone&RoleSessionName=s1"
                .to_vec(),
            Auth::Root,
            403,
            "AccessDenied",
        ),
    ];
    let mut failures = Vec::new();
    for (name, body, auth, status, code) in cases {
        let (got_status, got_body) = post(&s.url, &body, auth, root).await;
        let code_tag = format!("<Code>{code}</Code>");
        if got_status != status || !got_body.contains(&code_tag) || !got_body.contains("<Message>")
        {
            failures.push(format!(
                "{name}: expected {status} {code}, got {got_status}: {got_body}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing stored was lost.
    let users = iam(&s.url, root.0, root.1)
        .list_users()
        .send()
        .await
        .unwrap();
    assert_eq!(users.users()[0].user_name(), "keep");
}
