//! The authorization API (`/v1/authorize`, `/v1/authorize/batch`, `/openapi.json`) driven over
//! HTTP with requests signed by `aws-sigv4`, as an application calls it.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::{Server, iam, server};

/// Sends `body` to `path`, signed with the key (`None`: unsigned), and returns the status
/// and the JSON answer.
async fn send(
    url: &str,
    method: &str,
    path: &str,
    body: &[u8],
    key: Option<(&str, &str)>,
) -> (u16, Value) {
    let host = url.strip_prefix("http://").unwrap();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .header("host", host)
        .header("content-type", "application/json");
    if let Some((key, secret)) = key {
        let identity: Identity = Credentials::new(key, secret, None, None, "test").into();
        #[expect(
            clippy::disallowed_methods,
            reason = "the server checks the signature's time against its clock"
        )]
        let now = SystemTime::now();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("gatehouse")
            .time(now)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [("host", host), ("content-type", "application/json")];
        let signable =
            SignableRequest::new(method, path, headers.into_iter(), SignableBody::Bytes(body))
                .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        for (name, value) in instructions.headers() {
            req = req.header(name, value);
        }
    }
    let client = Client::builder(TokioExecutor::new()).build_http();
    let res = client
        .request(req.body(Full::new(Bytes::copy_from_slice(body))).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{method} {path} ({} bytes): {e:?}", body.len()));
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {bytes:?}"))
    };
    (status, value)
}

/// Sends a body of `len` bytes, just over a limit, and reads the answer (a client that went on
/// writing a larger body could see its connection closed instead of the answer).
async fn oversized(url: &str, path: &str, len: usize) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.strip_prefix("http://").unwrap();
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&vec![b' '; len]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut answer),
    )
    .await
    .unwrap()
    .unwrap();
    let text = String::from_utf8(answer).unwrap();
    let status = text.get(9..12).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A server with user `dev` (AmazonQDeveloperAccess), user `app` allowed `gatehouse:Authorize`
/// on `dev` only, and user `nobody` without policies; keys for `app` and `nobody`.
struct World {
    s: Server,
    account: String,
    app: (String, String),
    nobody: (String, String),
}

impl World {
    fn root(&self) -> Option<(&str, &str)> {
        Some((&self.s.root.access_key_id, &self.s.root.secret_access_key))
    }

    fn dev(&self) -> String {
        format!("arn:aws:iam::{}:user/dev", self.account)
    }

    async fn post(&self, path: &str, body: &Value, key: Option<(&str, &str)>) -> (u16, Value) {
        send(&self.s.url, "POST", path, body.to_string().as_bytes(), key).await
    }
}

async fn world() -> World {
    let s = server().await;
    let account = s.root.account_id.clone();
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let mut keys = Vec::new();
    for name in ["dev", "app", "nobody"] {
        root.create_user().user_name(name).send().await.unwrap();
        let k = root
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap();
        let k = k.access_key().unwrap();
        keys.push((
            k.access_key_id().to_string(),
            k.secret_access_key().to_string(),
        ));
    }
    root.attach_user_policy()
        .user_name("dev")
        .policy_arn("arn:aws:iam::aws:policy/AmazonQDeveloperAccess")
        .send()
        .await
        .unwrap();
    let doc = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
        "Action": "gatehouse:Authorize", "Resource": format!("arn:aws:iam::{account}:user/dev")}});
    root.put_user_policy()
        .user_name("app")
        .policy_name("CanAuthorize")
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
    let nobody = keys.pop().unwrap();
    let app = keys.pop().unwrap();
    World {
        s,
        account,
        app,
        nobody,
    }
}

fn key(k: &(String, String)) -> Option<(&str, &str)> {
    Some((&k.0, &k.1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_principals_are_decided_and_explained() {
    let w = world().await;
    let app = key(&w.app);
    let (status, a) = w
        .post(
            "/v1/authorize",
            &json!({"principal": {"arn": w.dev()}, "action": "q:SendMessage"}),
            app,
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["decision"], "Allow");
    let x = &a["explanation"];
    assert_eq!(x["reason"], json!({"Allowed": "Identity"}));
    assert_eq!(x["determining"][0]["policy"], "AmazonQDeveloperAccess");
    assert_eq!(x["determining"][0]["sid"], "AllowAmazonQDeveloperAccess");
    assert_eq!(x["determining"][0]["index"], 0);
    assert_eq!(
        x["layers"],
        json!([{"layer": "identity", "policies": 1, "outcome": "Allow"}])
    );
    // A statement about q that did not apply is a near miss, with its patterns.
    assert!(
        x["near_misses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["failed"]["element"] == "Action"),
        "{x}"
    );

    let (_, a) = w
        .post(
            "/v1/authorize",
            &json!({"principal": {"arn": w.dev()}, "action": "q:CreatePlugin"}),
            app,
        )
        .await;
    assert_eq!(a["decision"], "ImplicitDeny");
    assert_eq!(
        a["explanation"]["summary"],
        "because no identity-based policy allows the q:CreatePlugin action"
    );
    assert_eq!(a["explanation"]["determining"], json!([]));

    // The fast path: decision, reason, determining statement.
    let (_, a) = w
        .post(
            "/v1/authorize",
            &json!({"principal": {"arn": w.dev()}, "action": "q:SendMessage", "explain": false}),
            app,
        )
        .await;
    assert_eq!(
        a,
        json!({"decision": "Allow", "reason": {"Allowed": "Identity"}, "statement": {
            "layer": "identity", "policy": "AmazonQDeveloperAccess", "version": "v7",
            "sid": "AllowAmazonQDeveloperAccess", "index": 0}})
    );

    // A change to the principal's policies takes effect on the next request.
    let root = iam(
        &w.s.url,
        &w.s.root.access_key_id,
        &w.s.root.secret_access_key,
    );
    let deny = json!({"Version": "2012-10-17", "Statement": {"Sid": "NoChat", "Effect": "Deny",
        "Action": "q:SendMessage", "Resource": "*"}});
    root.put_user_policy()
        .user_name("dev")
        .policy_name("NoChat")
        .policy_document(deny.to_string())
        .send()
        .await
        .unwrap();
    let (_, a) = w
        .post(
            "/v1/authorize",
            &json!({"principal": {"arn": w.dev()}, "action": "q:SendMessage"}),
            app,
        )
        .await;
    assert_eq!(a["decision"], "ExplicitDeny", "{a}");
    let d = &a["explanation"]["determining"][0];
    assert_eq!(d["sid"], "NoChat");
    assert_eq!(d["effect"], "Deny");
    assert!(d["policy"].as_str().unwrap().ends_with("NoChat"), "{d}");
    assert_eq!(
        a["explanation"]["summary"],
        "with an explicit deny in an identity-based policy"
    );

    // Root asks about itself and about a role session of its account.
    let root_arn = format!("arn:aws:iam::{}:root", w.account);
    let (_, a) = w
        .post(
            "/v1/authorize",
            &json!({"principal": {"arn": root_arn}, "action": "iam:CreateUser", "explain": false}),
            w.root(),
        )
        .await;
    assert_eq!(a["reason"], "RootUser");
    let trust = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
        "Principal": {"AWS": w.dev()}, "Action": "sts:AssumeRole"}});
    root.create_role()
        .role_name("reader")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    root.attach_role_policy()
        .role_name("reader")
        .policy_arn("arn:aws:iam::aws:policy/AmazonQDeveloperAccess")
        .send()
        .await
        .unwrap();
    let session = format!("arn:aws:sts::{}:assumed-role/reader/s1", w.account);
    let (status, a) = w
        .post(
            "/v1/authorize",
            &json!({"principal": {"arn": session}, "action": "q:SendMessage", "explain": false}),
            w.root(),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["decision"], "Allow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_policies_with_context_and_layers() {
    let w = world().await;
    let root = w.root();
    let identity = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "finance"}}},
        {"Sid": "TlsOnly", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    let ask = |context: Value, extra: Value| {
        let mut body = json!({"principal": {"arn": "arn:aws:iam::111122223333:user/x"},
            "policies": {"identity": [identity.clone()]}, "action": "s3:GetObject",
            "resource": "arn:aws:s3:::reports/q1.csv", "context": context});
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                body["policies"][k] = v;
            }
        }
        body
    };
    let (status, a) = w
        .post("/v1/authorize", &ask(json!({}), json!(null)), root)
        .await;
    assert_eq!(status, 200, "{a}");
    let x = &a["explanation"];
    assert_eq!(a["decision"], "ImplicitDeny");
    assert_eq!(
        x["missing_context"],
        json!(["aws:PrincipalTag/team", "aws:SecureTransport"])
    );
    let miss = &x["near_misses"][0];
    assert_eq!(miss["policy"], "identity[0]");
    assert_eq!(miss["sid"], "Read");
    assert_eq!(miss["failed"]["element"], "Condition");
    assert_eq!(miss["failed"]["request_values"], Value::Null);

    let ok = json!({"aws:PrincipalTag/team": "finance", "aws:SecureTransport": true});
    let (_, a) = w
        .post("/v1/authorize", &ask(ok.clone(), json!(null)), root)
        .await;
    assert_eq!(a["decision"], "Allow", "{a}");
    assert_eq!(a["explanation"]["determining"][0]["index"], 0);

    let plain = json!({"aws:PrincipalTag/team": "finance", "aws:SecureTransport": "false"});
    let (_, a) = w
        .post("/v1/authorize", &ask(plain, json!(null)), root)
        .await;
    assert_eq!(a["decision"], "ExplicitDeny");
    assert_eq!(a["explanation"]["determining"][0]["sid"], "TlsOnly");
    assert_eq!(a["explanation"]["determining"][0]["index"], 1);

    // A boundary (given as a string, as IAM takes it) that does not allow s3 limits it.
    let boundary = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "q:*", "Resource": "*"}});
    let (_, a) = w
        .post(
            "/v1/authorize",
            &ask(ok.clone(), json!({"boundary": boundary.to_string()})),
            root,
        )
        .await;
    assert_eq!(a["decision"], "ImplicitDeny");
    assert_eq!(
        a["explanation"]["reason"],
        json!({"NotAllowed": "Boundary"})
    );

    // An SCP at the second level that denies wins.
    let scp_allow = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
    let scp_deny = json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}});
    let (_, a) = w
        .post(
            "/v1/authorize",
            &ask(
                ok.clone(),
                json!({"scp": [[scp_allow], [scp_allow.clone(), scp_deny]]}),
            ),
            root,
        )
        .await;
    assert_eq!(a["decision"], "ExplicitDeny", "{a}");
    assert_eq!(a["explanation"]["determining"][0]["policy"], "scp[1][1]");
    assert_eq!(a["explanation"]["determining"][0]["layer"], "scp[2]");

    // Multivalued keys and the server's clock.
    let tags = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:PutObject",
        "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]},
        "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}});
    let body = |keys: Value| {
        json!({"principal": {"arn": "arn:aws:iam::111122223333:user/x"},
        "policies": {"identity": [tags.clone()]}, "action": "s3:PutObject",
        "context": {"aws:TagKeys": keys}, "explain": false})
    };
    let (_, a) = w
        .post("/v1/authorize", &body(json!(["a", "b"])), root)
        .await;
    assert_eq!(a["decision"], "Allow", "{a}");
    let (_, a) = w
        .post("/v1/authorize", &body(json!(["a", "c"])), root)
        .await;
    assert_eq!(a["decision"], "ImplicitDeny", "{a}");

    // A cross-account resource policy that names the caller is enough on its own.
    let bucket = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:user/x"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::shared/*"}});
    let (_, a) = w
        .post(
            "/v1/authorize",
            &json!({"principal": {"arn": "arn:aws:iam::111122223333:user/x"},
                "policies": {"resource": bucket}, "action": "s3:GetObject",
                "resource": "arn:aws:s3:::shared/k", "context": {"aws:ResourceAccount": "444455556666"}}),
            root,
        )
        .await;
    assert_eq!(a["decision"], "Allow", "{a}");
    assert_eq!(a["explanation"]["determining"][0]["grant"], "Direct");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_answer_in_order_with_item_errors() {
    let w = world().await;
    let app = key(&w.app);
    let nobody = format!("arn:aws:iam::{}:user/nobody", w.account);
    let body = json!({"explain": false, "requests": [
        {"principal": {"arn": w.dev()}, "action": "q:SendMessage"},
        {"principal": {"arn": w.dev()}, "action": "q:CreatePlugin", "explain": true},
        {"principal": {"arn": nobody}, "action": "q:SendMessage"},
        {"principal": {"arn": w.dev()}},
        {"principal": 5, "action": "q:SendMessage"},
        {"principal": {"arn": w.dev()}, "action": "q:SendMessage"}
    ]});
    let (status, a) = w.post("/v1/authorize/batch", &body, app).await;
    assert_eq!(status, 200, "{a}");
    let r = a["results"].as_array().unwrap();
    assert_eq!(r.len(), 6);
    assert_eq!(r[0]["decision"], "Allow");
    assert!(r[0].get("explanation").is_none());
    assert_eq!(r[1]["decision"], "ImplicitDeny");
    assert!(r[1].get("explanation").is_some());
    // app may ask about dev only.
    assert_eq!(r[2]["status"], 403);
    assert_eq!(r[2]["error"]["code"], "AccessDenied");
    assert_eq!(r[3]["status"], 400);
    assert!(
        r[3]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'action'")
    );
    assert_eq!(r[4]["error"]["code"], "ValidationError");
    assert_eq!(r[5], r[0]);

    // An unknown principal is an item's 404; root sees every principal of its account.
    let body = json!({"requests": [
        {"principal": {"arn": format!("arn:aws:iam::{}:user/ghost", w.account)}, "action": "q:SendMessage"},
        {"principal": {"arn": nobody}, "action": "q:SendMessage", "explain": false}]});
    let (_, a) = w.post("/v1/authorize/batch", &body, w.root()).await;
    assert_eq!(a["results"][0]["status"], 404);
    assert_eq!(a["results"][0]["error"]["code"], "NoSuchEntity");
    assert_eq!(
        a["results"][0]["error"]["message"],
        "The user with name ghost cannot be found."
    );
    assert_eq!(a["results"][1]["decision"], "ImplicitDeny");

    // 1,000 requests is the limit.
    let one = json!({"principal": {"arn": w.dev()}, "action": "q:SendMessage", "explain": false});
    let full = json!({"requests": vec![one.clone(); 1000]});
    let (status, a) = w.post("/v1/authorize/batch", &full, app).await;
    assert_eq!(status, 200);
    assert_eq!(a["results"].as_array().unwrap().len(), 1000);
    assert!(
        a["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["decision"] == "Allow")
    );
    for n in [1001, 0] {
        let (status, a) = w
            .post(
                "/v1/authorize/batch",
                &json!({"requests": vec![one.clone(); n]}),
                app,
            )
            .await;
        assert_eq!(status, 400, "{n}: {a}");
        assert_eq!(a["error"]["code"], "ValidationError");
    }
    let (status, a) = w.post("/v1/authorize/batch", &json!({}), app).await;
    assert_eq!(
        (status, &a["error"]["code"]),
        (400, &json!("ValidationError"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_json_errors() {
    let w = world().await;
    let root = w.root();
    let url = &w.s.url;
    let expect = |(status, a): (u16, Value), want_status: u16, code: &str| {
        assert_eq!(status, want_status, "{a}");
        assert_eq!(a["error"]["code"], code, "{a}");
        a
    };
    expect(
        send(url, "POST", "/v1/authorize", b"{bad", root).await,
        400,
        "ValidationError",
    );
    expect(
        send(url, "POST", "/v1/authorize", b"[]", root).await,
        400,
        "ValidationError",
    );
    expect(
        send(url, "POST", "/v1/authorize", b"", root).await,
        400,
        "ValidationError",
    );
    let a = expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": w.dev()}}),
            root,
        )
        .await,
        400,
        "ValidationError",
    );
    assert_eq!(
        a["error"]["message"],
        "1 validation error detected: Value null at 'action' failed to satisfy constraint: Member must not be null"
    );
    expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": w.dev()}, "action": "SendMessage"}),
            root,
        )
        .await,
        400,
        "ValidationError",
    );
    expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": w.dev()}, "action": "q:SendMessage", "resources": "*"}),
            root,
        )
        .await,
        400,
        "ValidationError",
    );
    expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": "dev"}, "action": "q:SendMessage"}),
            root,
        )
        .await,
        400,
        "ValidationError",
    );
    expect(
        w.post("/v1/authorize", &json!({"principal": {"arn": w.dev()}, "action": "q:SendMessage", "context": {"k": {"nested": 1}}}), root).await,
        400,
        "ValidationError",
    );
    // Unknown principals, those of other accounts, and paths that are not the user's.
    let ghost = format!("arn:aws:iam::{}:user/ghost", w.account);
    let a = expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": ghost}, "action": "q:SendMessage"}),
            root,
        )
        .await,
        404,
        "NoSuchEntity",
    );
    assert_eq!(
        a["error"]["message"],
        "The user with name ghost cannot be found."
    );
    expect(
        w.post("/v1/authorize", &json!({"principal": {"arn": "arn:aws:iam::999999999999:user/dev"}, "action": "q:SendMessage"}), root).await,
        404,
        "NoSuchEntity",
    );
    let pathed = format!("arn:aws:iam::{}:user/other/dev", w.account);
    expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": pathed}, "action": "q:SendMessage"}),
            root,
        )
        .await,
        404,
        "NoSuchEntity",
    );
    expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": "q.amazonaws.com"}, "action": "q:SendMessage"}),
            root,
        )
        .await,
        400,
        "ValidationError",
    );
    // An invalid inline policy: the validator's code and message, and where.
    let bad = "{\"Version\": \"2012-10-17\",\n \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\", \"Foo\": 1}}";
    let a = expect(
        w.post("/v1/authorize", &json!({"principal": {"arn": "arn:aws:iam::111122223333:user/x"},
            "policies": {"identity": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}, bad]}, "action": "s3:GetObject"}), root).await,
        400,
        "MalformedPolicyDocument",
    );
    assert_eq!(a["error"]["message"], "Syntax errors in policy.");
    assert_eq!(a["error"]["policy"], "identity[1]");
    assert_eq!(a["error"]["line"], 2);
    let a = expect(
        w.post("/v1/authorize", &json!({"principal": {"arn": "arn:aws:iam::111122223333:user/x"},
            "policies": {"identity": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": "*"}}]}, "action": "s3:GetObject"}), root).await,
        400,
        "MalformedPolicyDocument",
    );
    assert_eq!(
        a["error"]["message"],
        "Policy document should not specify a principal."
    );
    expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": "arn:aws:iam::111122223333:user/x"},
            "policies": {"identity": [7]}, "action": "s3:GetObject"}),
            root,
        )
        .await,
        400,
        "MalformedPolicyDocument",
    );
    expect(
        w.post(
            "/v1/authorize",
            &json!({"principal": {"arn": "arn:aws:iam::111122223333:user/x"},
            "policies": {"identities": []}, "action": "s3:GetObject"}),
            root,
        )
        .await,
        400,
        "ValidationError",
    );
    // Authentication.
    expect(
        send(url, "POST", "/v1/authorize", b"{}", None).await,
        403,
        "MissingAuthenticationToken",
    );
    expect(
        send(
            url,
            "POST",
            "/v1/authorize",
            b"{}",
            Some((&w.s.root.access_key_id, "wrong")),
        )
        .await,
        403,
        "SignatureDoesNotMatch",
    );
    expect(
        send(
            url,
            "POST",
            "/v1/authorize",
            b"{}",
            Some(("AKIAUNKNOWNKEY000000", "x")),
        )
        .await,
        403,
        "InvalidClientTokenId",
    );
    // Too large: 413, still JSON.
    expect(
        oversized(url, "/v1/authorize", 1024 * 1024 + 1).await,
        413,
        "RequestEntityTooLarge",
    );
    expect(
        oversized(url, "/v1/authorize/batch", 16 * 1024 * 1024 + 1).await,
        413,
        "RequestEntityTooLarge",
    );
    // Wrong method: not a 500.
    let (status, _) = send(url, "GET", "/v1/authorize", b"", root).await;
    assert_eq!(status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_need_gatehouse_authorize() {
    let w = world().await;
    let ask = json!({"principal": {"arn": w.dev()}, "action": "q:SendMessage"});
    let (status, a) = w.post("/v1/authorize", &ask, key(&w.nobody)).await;
    assert_eq!(status, 403, "{a}");
    assert_eq!(a["error"]["code"], "AccessDenied");
    assert_eq!(
        a["error"]["message"],
        format!(
            "User: arn:aws:iam::{0}:user/nobody is not authorized to perform: gatehouse:Authorize on resource: arn:aws:iam::{0}:user/dev because no identity-based policy allows the gatehouse:Authorize action",
            w.account
        )
    );
    // app may ask about dev, not about others, even with policies given inline.
    let (status, _) = w.post("/v1/authorize", &ask, key(&w.app)).await;
    assert_eq!(status, 200);
    let inline = json!({"principal": {"arn": "arn:aws:iam::111122223333:user/x"},
        "policies": {"identity": []}, "action": "s3:GetObject"});
    let (status, a) = w.post("/v1/authorize", &inline, key(&w.app)).await;
    assert_eq!((status, &a["error"]["code"]), (403, &json!("AccessDenied")));
    let (_, a) = w
        .post(
            "/v1/authorize/batch",
            &json!({"requests": [ask, inline]}),
            key(&w.nobody),
        )
        .await;
    assert_eq!(a["results"][0]["status"], 403);
    assert_eq!(a["results"][1]["status"], 403);

    // The cached key follows its status: deactivated, then deleted, it no longer signs.
    let root = iam(
        &w.s.url,
        &w.s.root.access_key_id,
        &w.s.root.secret_access_key,
    );
    root.update_access_key()
        .user_name("app")
        .access_key_id(&w.app.0)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let (status, a) = w.post("/v1/authorize", &ask, key(&w.app)).await;
    assert_eq!(
        (status, &a["error"]["code"]),
        (403, &json!("InvalidClientTokenId"))
    );
    root.update_access_key()
        .user_name("app")
        .access_key_id(&w.app.0)
        .status(aws_sdk_iam::types::StatusType::Active)
        .send()
        .await
        .unwrap();
    let (status, _) = w.post("/v1/authorize", &ask, key(&w.app)).await;
    assert_eq!(status, 200);
    root.delete_access_key()
        .user_name("app")
        .access_key_id(&w.app.0)
        .send()
        .await
        .unwrap();
    let (status, a) = w.post("/v1/authorize", &ask, key(&w.app)).await;
    assert_eq!(
        (status, &a["error"]["code"]),
        (403, &json!("InvalidClientTokenId"))
    );
}

/// A schema of the OpenAPI document's components, as a JSON Schema validator.
fn validator(doc: &Value, pointer: &str) -> jsonschema::Validator {
    let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"], "$ref": format!("#{pointer}")});
    jsonschema::validator_for(&schema).unwrap()
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
        None => v,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_server() {
    let w = world().await;
    let (status, served) = send(&w.s.url, "GET", "/openapi.json", b"", None).await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(gatehouse_server::authz::OPENAPI).unwrap();
    assert_eq!(served, doc);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut examples = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let method = method.to_uppercase();
            let signed = op.get("security") != Some(&json!([]));
            let key = if signed { w.root() } else { None };
            let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
            let ok_schema = match ok["$ref"].as_str() {
                Some(r) => validator(&doc, r.trim_start_matches('#')),
                None => jsonschema::validator_for(ok).unwrap(),
            };
            let Some(body) = op.get("requestBody") else {
                let (status, answer) = send(&w.s.url, &method, path, b"", key).await;
                assert_eq!(status, 200, "{method} {path}");
                ok_schema.validate(&answer).unwrap();
                continue;
            };
            let media = &body["content"]["application/json"];
            let request_schema = validator(
                &doc,
                media["schema"]["$ref"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('#'),
            );
            for (name, example) in media["examples"].as_object().unwrap() {
                let value = &example["value"];
                request_schema
                    .validate(value)
                    .unwrap_or_else(|e| panic!("example {name} does not meet its schema: {e}"));
                let text = value.to_string().replace("123456789012", &w.account);
                let (status, answer) = send(&w.s.url, &method, path, text.as_bytes(), key).await;
                assert_eq!(status, 200, "{method} {path} {name}: {answer}");
                ok_schema.validate(&answer).unwrap_or_else(|e| {
                    panic!("{path} {name}: the answer does not meet the schema: {e}\n{answer}")
                });
                examples += 1;
            }
            // Every documented error status answers in the documented shape.
            for (code, response) in op["responses"].as_object().unwrap() {
                if code == "200" {
                    continue;
                }
                let response = resolve(&doc, response);
                let schema = &response["content"]["application/json"]["schema"];
                let v = validator(
                    &doc,
                    schema["$ref"].as_str().unwrap().trim_start_matches('#'),
                );
                let (body, key): (Vec<u8>, _) = match code.as_str() {
                    "400" => (b"{bad".to_vec(), w.root()),
                    "403" => (b"{}".to_vec(), None),
                    "404" => (
                        json!({"principal": {"arn": format!("arn:aws:iam::{}:user/ghost", w.account)}, "action": "q:SendMessage"})
                            .to_string()
                            .into_bytes(),
                        w.root(),
                    ),
                    "413" => {
                        let limit = if path.ends_with("batch") { 16 } else { 1 } * 1024 * 1024;
                        let (status, answer) = oversized(&w.s.url, path, limit + 1).await;
                        assert_eq!(status, 413, "{path}: {answer}");
                        v.validate(&answer).unwrap();
                        continue;
                    }
                    other => panic!("undocumented test for {other}"),
                };
                let (status, answer) = send(&w.s.url, &method, path, &body, key).await;
                assert_eq!(status.to_string(), *code, "{path}: {answer}");
                v.validate(&answer)
                    .unwrap_or_else(|e| panic!("{path} {code}: {e}\n{answer}"));
            }
        }
    }
    assert!(examples >= 4, "{examples}");
    // The batch's failed item meets ItemError, and a batch item the Error schema's detail.
    let item_error = validator(&doc, "/components/schemas/ItemError");
    let (_, a) = w
        .post(
            "/v1/authorize/batch",
            &json!({"requests": [{"principal": {"arn": "x"}, "action": "q:SendMessage"}]}),
            w.root(),
        )
        .await;
    item_error.validate(&a["results"][0]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_authorization_api_requests_and_decisions() {
    let w = world().await;
    let app = key(&w.app);
    for _ in 0..2 {
        let (status, _) = w
            .post(
                "/v1/authorize",
                &json!({"principal": {"arn": w.dev()}, "action": "q:CreatePlugin", "explain": false}),
                app,
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = w
        .post("/v1/authorize", &json!({"action": "q:SendMessage"}), app)
        .await;
    assert_eq!(status, 400);
    let text = super::iam_sts::http_get(&w.s.url, "/metrics").await;
    for line in [
        r#"gatehouse_requests_total{api="authorize",operation="Authorize",outcome="ok"} 2"#,
        r#"gatehouse_requests_total{api="authorize",operation="Authorize",outcome="ValidationError"} 1"#,
        r#"gatehouse_decisions_total{result="ImplicitDeny"} 2"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_grant_is_remembered_only_until_its_policies_change() {
    let w = world().await;
    let app = key(&w.app);
    let ask = json!({"principal": {"arn": w.dev()}, "action": "q:SendMessage", "explain": false});
    for _ in 0..3 {
        let (status, a) = w.post("/v1/authorize", &ask, app).await;
        assert_eq!(
            (status, a["decision"].as_str()),
            (200, Some("Allow")),
            "{a}"
        );
    }
    // The caller loses gatehouse:Authorize: the next request is refused.
    iam(
        &w.s.url,
        &w.s.root.access_key_id,
        &w.s.root.secret_access_key,
    )
    .delete_user_policy()
    .user_name("app")
    .policy_name("CanAuthorize")
    .send()
    .await
    .unwrap();
    let (status, a) = w.post("/v1/authorize", &ask, app).await;
    assert_eq!(status, 403, "{a}");
    assert_eq!(a["error"]["code"], "AccessDenied");
}
