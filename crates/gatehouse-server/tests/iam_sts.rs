//! Groups, tags, boundaries, the account snapshot, the simulator's custom policies,
//! service-linked role deletion, and STS AssumeRole, through the AWS SDK for Rust.

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;

use super::{iam, server, sts};

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("").to_string()
}

/// Root creates user NAME with an access key; returns (key, secret, arn).
async fn user_with_key(root: &aws_sdk_iam::Client, name: &str) -> (String, String, String) {
    let u = root.create_user().user_name(name).send().await.unwrap();
    let k = root
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    (
        k.access_key_id().to_string(),
        k.secret_access_key().to_string(),
        u.user().unwrap().arn().to_string(),
    )
}

const LIST_USERS_AND_ROLES: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:ListRoles"],"Resource":"*"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_issues_session_credentials_narrowed_by_the_session_policy() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let (key, secret, dev_arn) = user_with_key(&root, "dev").await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{dev_arn}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let role = root
        .create_role()
        .role_name("deployer")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_string();
    root.put_role_policy()
        .role_name("deployer")
        .policy_name("list")
        .policy_document(LIST_USERS_AND_ROLES)
        .send()
        .await
        .unwrap();

    // Root may not assume roles; a user the trust policy does not name may not either.
    let e = sts(&s.url, &s.root.access_key_id, &s.root.secret_access_key)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    let (okey, osecret, other_arn) = user_with_key(&root, "other").await;
    let e = sts(&s.url, &okey, &osecret)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert_eq!(
        e.message(),
        Some(
            format!(
                "User: {other_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
            .as_str()
        )
    );

    // Bad parameters are ValidationErrors in STS's words.
    let dev_sts = sts(&s.url, &key, &secret);
    let e = dev_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
    assert!(e.message().unwrap().contains("'roleSessionName'"), "{e:?}");
    let e = dev_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("s1")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        Some("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    );
    let e = dev_sts
        .assume_role()
        .role_arn("not-an-arn-but-long-enough")
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.message(), Some("not-an-arn-but-long-enough is invalid"));
    let e = dev_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("s1")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MalformedPolicyDocument");

    // With a session policy that allows only ListUsers.
    let out = dev_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("s1")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    assert!(out.packed_policy_size().is_some());
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let assumed = out.assumed_role_user().unwrap();
    let session_arn = format!(
        "arn:aws:sts::{}:assumed-role/deployer/s1",
        s.root.account_id
    );
    assert_eq!(assumed.arn(), session_arn);
    assert!(assumed.assumed_role_id().ends_with(":s1"));
    let session_creds = aws_sdk_iam::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "session",
    );
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("eu-west-1"))
        .endpoint_url(&s.url)
        .credentials_provider(session_creds.clone())
        .build();
    let as_session = aws_sdk_iam::Client::from_conf(conf);
    let sconf = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("eu-west-1"))
        .endpoint_url(&s.url)
        .credentials_provider(session_creds)
        .build();
    let who = aws_sdk_sts::Client::from_conf(sconf)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who.arn(), Some(session_arn.as_str()));
    assert_eq!(who.user_id(), Some(assumed.assumed_role_id()));
    // Allowed by both the role and the session policy.
    as_session.list_users().send().await.unwrap();
    // Allowed by the role only: denied by the session policy.
    let e = as_session.list_roles().send().await.unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert!(
        e.message().unwrap().starts_with(&format!(
            "User: {session_arn} is not authorized to perform: iam:ListRoles"
        )),
        "{e:?}"
    );
    // Without a session policy the session has the role's permissions.
    let out = dev_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("s2")
        .send()
        .await
        .unwrap();
    assert!(out.packed_policy_size().is_none());
    let c = out.credentials().unwrap();
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("eu-west-1"))
        .endpoint_url(&s.url)
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "session",
        ))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
        .list_roles()
        .send()
        .await
        .unwrap();
    // A wrong token is an invalid one.
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("eu-west-1"))
        .endpoint_url(&s.url)
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some("forged".to_string()),
            None,
            "session",
        ))
        .build();
    let e = aws_sdk_iam::Client::from_conf(conf)
        .list_roles()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidClientTokenId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_token_is_refused() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let role = root
        .create_role()
        .role_name("r")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    // A session that expires as it is issued, written by a second store on the same data
    // directory (the server reads sessions from the database).
    let (store, _) = gatehouse_store::Store::open_data_dir(&s.data_dir, None)
        .await
        .unwrap();
    let session = store
        .create_session(&gatehouse_store::NewSession {
            account: s.root.account_id.clone(),
            role_name: "r".into(),
            role_arn: role.arn().to_string(),
            role_id: role.role_id().to_string(),
            session_name: "late".into(),
            duration_seconds: 0,
            ..Default::default()
        })
        .await
        .unwrap();
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("eu-west-1"))
        .endpoint_url(&s.url)
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            session.access_key_id,
            session.secret,
            Some(session.token),
            None,
            "session",
        ))
        .build();
    let e = aws_sdk_iam::Client::from_conf(conf)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ExpiredToken");
    assert_eq!(
        e.message(),
        Some("The security token included in the request is expired")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_grant_their_members_and_refuse_deletion_while_used() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let (key, secret, _) = user_with_key(&root, "dev").await;
    let dev = iam(&s.url, &key, &secret);
    assert_eq!(
        code(&dev.list_roles().send().await.unwrap_err()),
        "AccessDenied"
    );

    let g = root.create_group().group_name("ops").send().await.unwrap();
    assert!(g.group().unwrap().group_id().starts_with("AGPA"));
    let e = root
        .create_group()
        .group_name("OPS")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "EntityAlreadyExists");
    root.add_user_to_group()
        .group_name("ops")
        .user_name("dev")
        .send()
        .await
        .unwrap();
    root.put_group_policy()
        .group_name("ops")
        .policy_name("list")
        .policy_document(LIST_USERS_AND_ROLES)
        .send()
        .await
        .unwrap();
    // The member now has the group's permissions.
    dev.list_roles().send().await.unwrap();
    let got = root.get_group().group_name("ops").send().await.unwrap();
    assert_eq!(got.users()[0].user_name(), "dev");
    let groups = root
        .list_groups_for_user()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.groups()[0].group_name(), "ops");
    let names = root
        .list_group_policies()
        .group_name("ops")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["list"]);
    let doc = root
        .get_group_policy()
        .group_name("ops")
        .policy_name("list")
        .send()
        .await
        .unwrap();
    assert!(doc.policy_document().contains("iam%3AListRoles"));
    root.attach_group_policy()
        .group_name("ops")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let attached = root
        .list_attached_group_policies()
        .group_name("ops")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);
    let entities = root
        .list_entities_for_policy()
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    assert_eq!(entities.policy_groups()[0].group_name(), Some("ops"));
    assert!(entities.policy_users().is_empty());
    // Deletion is refused while the group has members, then policies.
    let e = root
        .delete_group()
        .group_name("ops")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "DeleteConflict");
    root.remove_user_from_group()
        .group_name("ops")
        .user_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(&dev.list_roles().send().await.unwrap_err()),
        "AccessDenied"
    );
    let e = root
        .delete_group()
        .group_name("ops")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "DeleteConflict");
    root.detach_group_policy()
        .group_name("ops")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    root.delete_group_policy()
        .group_name("ops")
        .policy_name("list")
        .send()
        .await
        .unwrap();
    root.delete_group().group_name("ops").send().await.unwrap();
    let e = root.get_group().group_name("ops").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchEntity");
    assert_eq!(
        e.message(),
        Some("The group with name ops cannot be found.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boundaries_tags_snapshot_and_simulation() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let (key, secret, dev_arn) = user_with_key(&root, "dev").await;
    let dev = iam(&s.url, &key, &secret);
    root.attach_user_policy()
        .user_name("dev")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    dev.list_roles().send().await.unwrap();
    // A boundary that allows only ListUsers caps the user.
    let boundary = root
        .create_policy()
        .policy_name("only-list-users")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let boundary_arn = boundary.policy().unwrap().arn().unwrap().to_string();
    root.put_user_permissions_boundary()
        .user_name("dev")
        .permissions_boundary(&boundary_arn)
        .send()
        .await
        .unwrap();
    dev.list_users().send().await.unwrap();
    let e = dev.list_roles().send().await.unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert!(
        e.message().unwrap().contains("permissions boundary"),
        "{e:?}"
    );
    let u = root.get_user().user_name("dev").send().await.unwrap();
    assert_eq!(
        u.user()
            .unwrap()
            .permissions_boundary()
            .unwrap()
            .permissions_boundary_arn(),
        Some(boundary_arn.as_str())
    );
    let e = root
        .delete_policy()
        .policy_arn(&boundary_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "DeleteConflict");
    root.delete_user_permissions_boundary()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    dev.list_roles().send().await.unwrap();

    // Tags: merged ignoring case, listed sorted, removed.
    root.tag_user()
        .user_name("dev")
        .tags(Tag::builder().key("team").value("a").build().unwrap())
        .tags(Tag::builder().key("cost").value("1").build().unwrap())
        .send()
        .await
        .unwrap();
    root.tag_user()
        .user_name("dev")
        .tags(Tag::builder().key("TEAM").value("b").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = root.list_user_tags().user_name("dev").send().await.unwrap();
    let pairs: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("TEAM", "b"), ("cost", "1")]);
    root.untag_user()
        .user_name("dev")
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = root.list_user_tags().user_name("dev").send().await.unwrap();
    assert_eq!(tags.tags().len(), 1);
    let e = root
        .tag_user()
        .user_name("dev")
        .tags(Tag::builder().key("a").value("1").build().unwrap())
        .tags(Tag::builder().key("A").value("2").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidInput");
    root.tag_policy()
        .policy_arn(&boundary_arn)
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap();
    let e = root
        .tag_policy()
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");

    // The account snapshot holds the user with its policies and the customer policy with its
    // versions (documents included), and the attached provider policy.
    let all = root
        .get_account_authorization_details()
        .send()
        .await
        .unwrap();
    let user = &all.user_detail_list()[0];
    assert_eq!(user.arn(), Some(dev_arn.as_str()));
    assert_eq!(user.attached_managed_policies().len(), 1);
    let names: Vec<&str> = all
        .policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    assert!(names.contains(&"only-list-users") && names.contains(&"IAMReadOnlyAccess"));
    assert!(all.policies().iter().all(|p| {
        p.policy_version_list()
            .iter()
            .all(|v| v.document().is_some())
    }));
    let only_users = root
        .get_account_authorization_details()
        .filter(aws_sdk_iam::types::EntityType::User)
        .send()
        .await
        .unwrap();
    assert!(only_users.policies().is_empty() && only_users.user_detail_list().len() == 1);

    // The simulator with custom policies gives decisions and statement positions.
    let sim = root
        .simulate_custom_policy()
        .policy_input_list("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\"}\n  ]\n}")
        .action_names("s3:GetObject")
        .action_names("s3:PutObject")
        .send()
        .await
        .unwrap();
    let results = sim.evaluation_results();
    assert_eq!(results[0].eval_decision().as_str(), "allowed");
    assert_eq!(results[1].eval_decision().as_str(), "implicitDeny");
    let m = &results[0].matched_statements()[0];
    assert_eq!(m.source_policy_id(), Some("PolicyInputList.1"));
    let start = m.start_position().unwrap();
    assert_eq!((start.line(), start.column()), (4, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_update_and_service_linked_roles_delete_with_a_task() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    root.create_role()
        .role_name("r")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    root.update_role()
        .role_name("r")
        .description("builds")
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    let r = root.get_role().role_name("r").send().await.unwrap();
    assert_eq!(r.role().unwrap().description(), Some("builds"));
    assert_eq!(r.role().unwrap().max_session_duration(), Some(7200));
    root.tag_role()
        .role_name("r")
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = root.list_role_tags().role_name("r").send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), "k");

    let slr = root
        .create_service_linked_role()
        .aws_service_name("q.amazonaws.com")
        .send()
        .await
        .unwrap();
    let name = slr.role().unwrap().role_name().to_string();
    let e = root
        .update_role()
        .role_name(&name)
        .description("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "UnmodifiableEntity");
    let task = root
        .delete_service_linked_role()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    let task = task.deletion_task_id();
    assert!(task.starts_with(&format!("task/aws-service-role/q.amazonaws.com/{name}/")));
    let status = root
        .get_service_linked_role_deletion_status()
        .deletion_task_id(task)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status().as_str(), "SUCCEEDED");
    let e = root
        .get_service_linked_role_deletion_status()
        .deletion_task_id("task/aws-service-role/q.amazonaws.com/X/unknown")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchEntity");
    let e = root.get_role().role_name(&name).send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchEntity");
}

/// A plain HTTP GET (the answer's body).
pub(super) async fn http_get(url: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.trim_start_matches("http://");
    let mut c = tokio::net::TcpStream::connect(host).await.unwrap();
    c.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).await.unwrap();
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_outcomes_decisions_and_cache_use() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let (key, secret, _) = user_with_key(&root, "dev").await;
    let dev = iam(&s.url, &key, &secret);
    dev.list_roles().send().await.unwrap_err();
    dev.list_roles().send().await.unwrap_err();
    root.create_login_profile()
        .user_name("dev")
        .password("x-Password-1")
        .send()
        .await
        .unwrap_err();
    let text = http_get(&s.url, "/metrics").await;
    for line in [
        r#"gatehouse_requests_total{api="query",operation="CreateUser",outcome="ok"} 1"#,
        r#"gatehouse_requests_total{api="query",operation="ListRoles",outcome="AccessDenied"} 2"#,
        r#"gatehouse_requests_total{api="query",operation="unknown",outcome="InvalidAction"} 1"#,
        r#"gatehouse_decisions_total{result="ImplicitDeny"} 2"#,
        r#"gatehouse_request_duration_seconds_count{api="query",operation="ListRoles"} 2"#,
        "gatehouse_effective_policy_cache_hits 1",
        "gatehouse_effective_policy_cache_misses 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_tags_are_its_principal_tags() {
    let s = server().await;
    let root = iam(&s.url, &s.root.access_key_id, &s.root.secret_access_key);
    let (key, secret, _) = user_with_key(&root, "dev").await;
    let dev = iam(&s.url, &key, &secret);
    root.put_user_policy()
        .user_name("dev")
        .policy_name("team-q")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"q"}}}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(&dev.list_roles().send().await.unwrap_err()),
        "AccessDenied"
    );
    root.tag_user()
        .user_name("dev")
        .tags(Tag::builder().key("team").value("q").build().unwrap())
        .send()
        .await
        .unwrap();
    dev.list_roles().send().await.unwrap();
    root.untag_user()
        .user_name("dev")
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(&dev.list_roles().send().await.unwrap_err()),
        "AccessDenied"
    );
}
