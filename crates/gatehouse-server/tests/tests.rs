//! The server driven by the AWS SDK for Rust, as users drive it: SigV4 with the root
//! credentials written on first start, IAM and STS on one listener, engine-enforced access.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use gatehouse_server::serve::{ServeOptions, start};

mod authorize;
mod bad_input;
mod console;
mod feeds;
mod iam_sts;
mod races;
mod security;

struct Server {
    url: String,
    root: gatehouse_server::serve::RootCredentials,
    data_dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = start(
        &ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            database: None,
            record_activity: true,
            activity_retention_days: None,
        },
        async move {
            let _ = rx.await;
        },
    )
    .await
    .unwrap();
    assert!(running.first_start);
    Server {
        url: format!("http://{}", running.addr),
        root: running.root,
        data_dir: dir.path().join("data"),
        _dir: dir,
        _stop: tx,
    }
}

fn iam(url: &str, key: &str, secret: &str) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

fn sts(url: &str, key: &str, secret: &str) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("eu-west-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            key, secret, None, None, "test",
        ))
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_story_through_the_rust_sdk() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let me = sts(&s.url, &s.root.access_key_id, &s.root.secret_access_key)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(s.root.account_id.as_str()));
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{}:root", s.root.account_id).as_str())
    );

    let user = root.create_user().user_name("dev").send().await.unwrap();
    assert!(user.user().unwrap().user_id().starts_with("AIDA"));
    let dup = root
        .create_user()
        .user_name("dev")
        .send()
        .await
        .unwrap_err();
    assert!(
        dup.as_service_error()
            .unwrap()
            .is_entity_already_exists_exception(),
        "{dup:?}"
    );
    root.attach_user_policy()
        .user_name("dev")
        .policy_arn("arn:aws:iam::aws:policy/AmazonQDeveloperAccess")
        .send()
        .await
        .unwrap();
    let attached = root
        .list_attached_user_policies()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_name(),
        Some("AmazonQDeveloperAccess")
    );
    assert!(!attached.is_truncated());
    let key = root
        .create_access_key()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();

    // As dev: AmazonQDeveloperAccess allows no IAM writes.
    let dev = iam(&s.url, key.access_key_id(), key.secret_access_key());
    let doc = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "q:SendMessage", "Resource": "*"}}"#;
    let denied = dev
        .create_policy()
        .policy_name("Mine")
        .policy_document(doc)
        .send()
        .await
        .unwrap_err();
    let meta = denied.as_service_error().map(|e| e.meta().clone()).unwrap();
    assert_eq!(meta.code(), Some("AccessDenied"));
    let message = meta.message().unwrap();
    assert!(message.starts_with(&format!("User: arn:aws:iam::{}:user/dev is not authorized to perform: iam:CreatePolicy on resource: arn:aws:iam::{}:policy/Mine", s.root.account_id, s.root.account_id)), "{message}");
    assert!(
        message.ends_with("because no identity-based policy allows the iam:CreatePolicy action"),
        "{message}"
    );
    let who = sts(&s.url, key.access_key_id(), key.secret_access_key())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws:iam::{}:user/dev", s.root.account_id).as_str())
    );

    // Root creates and reads a policy; the document comes back percent-encoded, as from AWS.
    let p = root
        .create_policy()
        .policy_name("Mine")
        .policy_document(doc)
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_string();
    let v = root
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    let encoded = v.policy_version().unwrap().document().unwrap();
    assert!(
        encoded.starts_with("%7B%22Version%22%3A%20%222012-10-17%22"),
        "{encoded}"
    );
    let bad = root
        .get_policy()
        .policy_arn(format!("arn:aws:iam::{}:policy/Nope", s.root.account_id))
        .send()
        .await
        .unwrap_err();
    assert!(
        bad.as_service_error()
            .unwrap()
            .is_no_such_entity_exception()
    );

    // As dev, with leave to simulate its own policies: q:SendMessage allowed, q:CreatePlugin
    // implicitly denied, iam:PassRole's missing context key reported.
    let dev_arn = format!("arn:aws:iam::{}:user/dev", s.root.account_id);
    let may_simulate = format!(
        r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "{dev_arn}"}}}}"#
    );
    let sim = root
        .create_policy()
        .policy_name("SimulateSelf")
        .policy_document(may_simulate)
        .send()
        .await
        .unwrap();
    root.attach_user_policy()
        .user_name("dev")
        .policy_arn(sim.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    let results = dev
        .simulate_principal_policy()
        .policy_source_arn(&dev_arn)
        .action_names("q:SendMessage")
        .action_names("q:CreatePlugin")
        .send()
        .await
        .unwrap();
    let decisions: Vec<(&str, &str)> = results
        .evaluation_results()
        .iter()
        .map(|r| (r.eval_action_name(), r.eval_decision().as_str()))
        .collect();
    assert_eq!(
        decisions,
        [
            ("q:SendMessage", "allowed"),
            ("q:CreatePlugin", "implicitDeny")
        ]
    );
    let allowed = &results.evaluation_results()[0];
    assert_eq!(
        allowed.matched_statements()[0].source_policy_id(),
        Some("AmazonQDeveloperAccess")
    );
    let full = root.simulate_principal_policy()
        .policy_source_arn(&dev_arn)
        .policy_input_list(r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "q.amazonaws.com"}}}}"#)
        .action_names("iam:PassRole")
        .send()
        .await
        .unwrap();
    let r = &full.evaluation_results()[0];
    assert_eq!(r.eval_decision().as_str(), "implicitDeny");
    assert_eq!(r.missing_context_values(), ["iam:PassedToService"]);
    let with_context = root.simulate_principal_policy()
        .policy_source_arn(&dev_arn)
        .policy_input_list(r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "q.amazonaws.com"}}}}"#)
        .action_names("iam:PassRole")
        .context_entries(
            aws_sdk_iam::types::ContextEntry::builder()
                .context_key_name("iam:PassedToService")
                .context_key_values("q.amazonaws.com")
                .context_key_type(aws_sdk_iam::types::ContextKeyTypeEnum::String)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_context.evaluation_results()[0]
            .eval_decision()
            .as_str(),
        "allowed"
    );

    // Resources are named with their paths: a policy scoped to /eng/ users lets dev read them.
    root.create_user()
        .user_name("ops")
        .path("/eng/")
        .send()
        .await
        .unwrap();
    root.create_user().user_name("other").send().await.unwrap();
    let scoped = format!(
        r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::{}:user/eng/*"}}}}"#,
        s.root.account_id
    );
    let p = root
        .create_policy()
        .policy_name("ReadEng")
        .policy_document(scoped)
        .send()
        .await
        .unwrap();
    root.attach_user_policy()
        .user_name("dev")
        .policy_arn(p.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    let ops = dev.get_user().user_name("ops").send().await.unwrap();
    assert_eq!(ops.user().unwrap().path(), "/eng/");
    let e = dev.get_user().user_name("other").send().await.unwrap_err();
    assert_eq!(
        e.as_service_error()
            .map(|e| e.meta().code().unwrap_or("").to_string())
            .as_deref(),
        Some("AccessDenied")
    );

    // A wrong secret is refused with AWS's code.
    let forged = iam(
        &s.url,
        key.access_key_id(),
        "0000000000000000000000000000000000000000",
    );
    let e = forged.get_user().user_name("dev").send().await.unwrap_err();
    assert_eq!(
        e.as_service_error()
            .map(|e| e.meta().code().unwrap_or("").to_string())
            .as_deref(),
        Some("SignatureDoesNotMatch")
    );
    let unknown = iam(&s.url, "AKIANOSUCHKEY0000000", "x");
    let e = unknown.get_user().send().await.unwrap_err();
    assert_eq!(
        e.as_service_error()
            .map(|e| e.meta().code().unwrap_or("").to_string())
            .as_deref(),
        Some("InvalidClientTokenId")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_service_linked_roles_and_paging_through_the_rust_sdk() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let doc = |a: &str| {
        format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "{a}", "Resource": "*"}}}}"#
        )
    };
    let p = root
        .create_policy()
        .policy_name("Team")
        .policy_document(doc("s3:GetObject"))
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_string();
    for i in 2..=5 {
        let v = root
            .create_policy_version()
            .policy_arn(&arn)
            .policy_document(doc("s3:PutObject"))
            .set_as_default(i == 5)
            .send()
            .await
            .unwrap();
        assert_eq!(
            v.policy_version().unwrap().version_id(),
            Some(format!("v{i}").as_str())
        );
    }
    // The sixth version fails with LimitExceeded, AWS's message.
    let e = root
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(doc("s3:*"))
        .send()
        .await
        .unwrap_err();
    let e = e.as_service_error().unwrap();
    assert!(e.is_limit_exceeded_exception(), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some(
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version."
        )
    );
    let versions = root
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let ids: Vec<(&str, bool)> = versions
        .versions()
        .iter()
        .map(|v| (v.version_id().unwrap(), v.is_default_version()))
        .collect();
    assert_eq!(
        ids,
        [
            ("v5", true),
            ("v4", false),
            ("v3", false),
            ("v2", false),
            ("v1", false)
        ]
    );
    let e = root
        .delete_policy_version()
        .policy_arn(&arn)
        .version_id("v5")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_delete_conflict_exception());
    root.set_default_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    for v in ["v2", "v3", "v4", "v5"] {
        root.delete_policy_version()
            .policy_arn(&arn)
            .version_id(v)
            .send()
            .await
            .unwrap();
    }
    root.delete_policy().policy_arn(&arn).send().await.unwrap();

    // Provider policies: read-only, listed, paged.
    let provider = "arn:aws:iam::aws:policy/AmazonQFullAccess";
    let e = root
        .delete_policy()
        .policy_arn(provider)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error()
            .map(|e| e.meta().code().unwrap_or("").to_string())
            .as_deref(),
        Some("AccessDenied")
    );
    let listed = root
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Aws)
        .max_items(500)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.policies().len(), 500);
    assert!(listed.is_truncated());
    let mut total = 0;
    let mut pages = root
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Aws)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        total += page.unwrap().policies().len();
    }
    assert_eq!(total, 1568);

    // The Amazon Q service-linked role, and its policy refused to anyone else.
    let r = root
        .create_service_linked_role()
        .aws_service_name("q.amazonaws.com")
        .send()
        .await
        .unwrap();
    let role = r.role().unwrap();
    assert_eq!(role.role_name(), "AWSServiceRoleForAmazonQDeveloper");
    assert_eq!(role.path(), "/aws-service-role/q.amazonaws.com/");
    root.create_user().user_name("dev").send().await.unwrap();
    let e = root
        .attach_user_policy()
        .user_name("dev")
        .policy_arn("arn:aws:iam::aws:policy/aws-service-role/AWSServiceRoleForAmazonQDeveloper")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_policy_not_attachable_exception(),
        "{e:?}"
    );
    let e = root
        .attach_role_policy()
        .role_name("AWSServiceRoleForAmazonQDeveloper")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_unmodifiable_entity_exception(),
        "{e:?}"
    );
    // An operation Gatehouse does not serve yet is InvalidAction (400), never a 500.
    let e = root
        .create_login_profile()
        .user_name("dev")
        .password("a-Password-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error()
            .map(|e| e.meta().code().unwrap_or("").to_string())
            .as_deref(),
        Some("InvalidAction")
    );

    // Roles: the trust policy comes back percent-encoded, GetRole has the session duration.
    let trust = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}"#;
    let made = root
        .create_role()
        .role_name("app")
        .path("/svc/")
        .assume_role_policy_document(trust)
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    assert!(made.role().unwrap().role_id().starts_with("AROA"));
    let got = root.get_role().role_name("app").send().await.unwrap();
    let got = got.role().unwrap();
    assert_eq!(
        (got.path(), got.max_session_duration()),
        ("/svc/", Some(7200))
    );
    assert!(
        got.assume_role_policy_document()
            .unwrap()
            .starts_with("%7B%22Version%22")
    );
    let slr = root
        .get_role()
        .role_name("AWSServiceRoleForAmazonQDeveloper")
        .send()
        .await
        .unwrap();
    assert_eq!(
        slr.role().unwrap().path(),
        "/aws-service-role/q.amazonaws.com/"
    );
    let e = root
        .delete_role()
        .role_name("AWSServiceRoleForAmazonQDeveloper")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_unmodifiable_entity_exception(),
        "{e:?}"
    );
    root.attach_role_policy()
        .role_name("app")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let e = root
        .delete_role()
        .role_name("app")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_delete_conflict_exception(),
        "{e:?}"
    );
    assert_eq!(
        root.list_attached_role_policies()
            .role_name("app")
            .send()
            .await
            .unwrap()
            .attached_policies()
            .len(),
        1
    );
    root.detach_role_policy()
        .role_name("app")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let bad_trust = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "s3:GetObject"}}"#;
    let e = root
        .update_assume_role_policy()
        .role_name("app")
        .policy_document(bad_trust)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_malformed_policy_document_exception(),
        "{e:?}"
    );
    assert_eq!(
        root.list_roles()
            .path_prefix("/svc/")
            .send()
            .await
            .unwrap()
            .roles()
            .len(),
        1
    );
    root.delete_role().role_name("app").send().await.unwrap();

    // Inline policies and access keys of a user.
    let inline = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#;
    root.put_user_policy()
        .user_name("dev")
        .policy_name("read")
        .policy_document(inline)
        .send()
        .await
        .unwrap();
    assert_eq!(
        root.list_user_policies()
            .user_name("dev")
            .send()
            .await
            .unwrap()
            .policy_names(),
        ["read"]
    );
    let got = root
        .get_user_policy()
        .user_name("dev")
        .policy_name("read")
        .send()
        .await
        .unwrap();
    assert!(got.policy_document().starts_with("%7B"));
    let e = root
        .delete_user()
        .user_name("dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error().unwrap().meta().message(),
        Some("Cannot delete entity, must delete policies first.")
    );
    root.delete_user_policy()
        .user_name("dev")
        .policy_name("read")
        .send()
        .await
        .unwrap();
    let k = root
        .create_access_key()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    let id = k.access_key().unwrap().access_key_id().to_string();
    root.update_access_key()
        .user_name("dev")
        .access_key_id(&id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let keys = root
        .list_access_keys()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.access_key_metadata()[0].status(),
        Some(&aws_sdk_iam::types::StatusType::Inactive)
    );
    // An inactive key does not authenticate.
    let inactive = iam(&s.url, &id, k.access_key().unwrap().secret_access_key());
    let e = inactive.get_user().send().await.unwrap_err();
    assert_eq!(
        e.as_service_error()
            .map(|e| e.meta().code().unwrap_or("").to_string())
            .as_deref(),
        Some("InvalidClientTokenId")
    );
    root.delete_access_key()
        .user_name("dev")
        .access_key_id(&id)
        .send()
        .await
        .unwrap();
    let users = root.list_users().send().await.unwrap();
    assert_eq!(users.users().len(), 1);
    root.delete_user().user_name("dev").send().await.unwrap();
}
