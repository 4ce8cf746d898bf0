//! Managed-policy updates in the store: histories as AWS's page and the recovered versions
//! tell them, the change feed, and the blast radius of a publish, on both backends.

use gatehouse_analysis::Classification;
use gatehouse_store::{Actor, ChangeKind, PrincipalKind, Store};

use crate::{catalog, on_both};

const A: &str = "111122223333";
const B: &str = "444455556666";

on_both!(
    amazon_q_histories_match_the_recovered_versions_and_the_seed_table,
    every_version_is_served_and_classified,
    the_feed_lists_real_changes_newest_first,
    dry_run_reports_the_blast_radius_in_two_accounts,
    a_reference_update_reports_what_wildcards_now_grant_and_to_whom,
);

fn day(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string()
}

/// The recovered history (`data/managed-policy-history/history.json`): policy -> [(version,
/// date)].
fn recovered() -> std::collections::BTreeMap<String, Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(crate::data_dir().join("managed-policy-history/history.json"))
            .unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let mut out: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for e in entries {
        if let (Some(p), Some(v), Some(d)) = (
            e["policy"].as_str(),
            e["version"].as_str(),
            e["date"].as_str(),
        ) {
            out.entry(p.to_string())
                .or_default()
                .push((v.to_string(), d.to_string()));
        }
    }
    out
}

/// The seed page's "Policy updates" table, parsed from the page itself: (name, change,
/// description, date as YYYY-MM-DD).
fn seed_page_rows() -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(
        crate::data_dir().join("seed/amazon-q-developer-managed-policies.txt"),
    )
    .unwrap();
    let table = text.split("Change Description Date").nth(1).unwrap();
    let lines: Vec<&str> = table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut rows = Vec::new();
    for chunk in lines.chunks(3) {
        let [head, description, date] = chunk else {
            continue;
        };
        let Some((name, change)) = head.split_once(" - ") else {
            continue; // "Amazon Q Developer started tracking changes"
        };
        let date = jiff::fmt::strtime::parse("%B %d, %Y", date)
            .unwrap()
            .to_date()
            .unwrap()
            .to_string();
        rows.push((
            name.to_string(),
            change.to_string(),
            description.to_string(),
            date,
        ));
    }
    rows
}

async fn amazon_q_histories_match_the_recovered_versions_and_the_seed_table(s: Store) {
    s.load_provider_catalog(catalog()).await.unwrap();
    let page = seed_page_rows();
    assert_eq!(page.len(), 10, "the seed's table has ten policy rows");
    let table = gatehouse_store::seed_table().unwrap();
    let mut seen = 0;
    for (policy, versions) in recovered() {
        let history = s.policy_history(&policy).await.unwrap();
        let got: Vec<(String, String)> = history
            .iter()
            .map(|c| {
                (
                    c.version_id.clone(),
                    jiff::Timestamp::from_millisecond(c.created_at)
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = versions
            .iter()
            .map(|(v, d)| (v.clone(), d.parse::<jiff::Timestamp>().unwrap().to_string()))
            .collect();
        assert_eq!(got, want, "{policy}: versions and AWS's CreateDates");
        for c in history.iter() {
            // Each row of the page is reproduced on the version it announces.
            if let Some(row) = table
                .iter()
                .find(|r| r.policy == policy && r.version == c.version_id)
            {
                seen += 1;
                assert_eq!(c.description, row.description);
                assert_eq!(c.described_by, "AWS");
                assert_eq!(c.announced.as_deref(), Some(row.date.as_str()));
                assert_eq!(c.kind.as_str(), row.change);
                assert!(
                    page.contains(&(
                        row.seed_name.clone(),
                        row.change.clone(),
                        row.description.clone(),
                        row.date.clone()
                    )),
                    "{row:?} is a row of the page"
                );
                // The page's date is the CreateDate, or a few days after it.
                let lag = jiff::civil::Date::strptime("%Y-%m-%d", &row.date)
                    .unwrap()
                    .since(jiff::civil::Date::strptime("%Y-%m-%d", day(c.created_at)).unwrap())
                    .unwrap()
                    .get_days();
                assert!(
                    (0..=5).contains(&lag),
                    "{policy} {}: {lag} days",
                    c.version_id
                );
            } else {
                assert_ne!(c.described_by, "AWS");
            }
        }
    }
    assert_eq!(seen, 10, "every row of the table is on a version");
    let full = s.policy_history("AmazonQFullAccess").await.unwrap();
    let class = |v: &str| {
        full.iter()
            .find(|c| c.version_id == v)
            .unwrap()
            .classification
    };
    assert_eq!(full[0].kind, ChangeKind::NewPolicy);
    assert_eq!(class("v3"), Some(Classification::Mixed));
    assert_eq!(class("v9"), Some(Classification::NoChange));
    assert_eq!(class("v11"), Some(Classification::NoChange));
    assert_eq!(class("v12"), Some(Classification::Expanded));
    let v11 = full.iter().find(|c| c.version_id == "v11").unwrap();
    assert_eq!(v11.missing_versions, ["v10"]);
    // After the table, versions are described by their diff.
    let v12 = full.iter().find(|c| c.version_id == "v12").unwrap();
    assert_eq!(v12.described_by, "diff");
    assert!(
        v12.description.contains("q:CreateArtifact"),
        "{}",
        v12.description
    );
}

async fn every_version_is_served_and_classified(s: Store) {
    s.load_provider_catalog(catalog()).await.unwrap();
    // ListPolicyVersions and GetPolicyVersion serve every recorded version of the sample.
    let arn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let versions = s.list_policy_versions(A, arn).await.unwrap();
    assert_eq!(versions.len(), 151);
    assert_eq!(versions[0].version_id, "v188");
    assert!(versions[0].is_default);
    let v1 = s.get_policy_version(A, arn, "v1").await.unwrap();
    assert!(v1.document.unwrap().contains("Describe"));
    let history = s.policy_history(arn).await.unwrap();
    assert_eq!(history.len(), 151);
    assert!(history.iter().skip(1).all(|c| c.classification.is_some()));
    // A second read comes from memory.
    let again = s.policy_history("readonlyaccess").await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&history, &again));
    assert_eq!(
        s.policy_history("NoSuchPolicy").await.unwrap_err().code,
        gatehouse_store::ErrorCode::NoSuchEntity
    );
}

async fn the_feed_lists_real_changes_newest_first(s: Store) {
    s.load_provider_catalog(catalog()).await.unwrap();
    let feed = s.provider_changes(100).await.unwrap();
    assert_eq!(feed.len(), 100);
    assert!(feed.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    assert!(feed.iter().all(|c| c.is_real()));
    assert!(
        feed.iter()
            .all(|c| c.classification != Some(Classification::NoChange))
    );
    let all = s.provider_changes(usize::MAX).await.unwrap();
    // Ids are stable and unique.
    let ids: std::collections::HashSet<String> = all.iter().map(|c| c.id()).collect();
    assert_eq!(ids.len(), all.len());
    let q: Vec<&str> = all
        .iter()
        .filter(|c| c.policy_name == "AmazonQFullAccess")
        .map(|c| c.version_id.as_str())
        .collect();
    assert_eq!(q, ["v12", "v7", "v6", "v5", "v4", "v3", "v2", "v1"]);
}

const Q_DEV: &str = "arn:aws:iam::aws:policy/AmazonQDeveloperAccess";

async fn dry_run_reports_the_blast_radius_in_two_accounts(s: Store) {
    s.load_provider_catalog(catalog()).await.unwrap();
    for account in [A, B] {
        s.create_account(account).await.unwrap();
    }
    let (a, b) = (Actor::root(A), Actor::root(B));
    // Account A: a user with the policy attached, a group with it (and a member), a role
    // with it that already has q:* from an inline policy.
    s.create_user(&a, "dev", None, None, &[]).await.unwrap();
    s.attach_policy(&a, PrincipalKind::User, "dev", Q_DEV)
        .await
        .unwrap();
    s.create_group(&a, "devs", None).await.unwrap();
    s.attach_policy(&a, PrincipalKind::Group, "devs", Q_DEV)
        .await
        .unwrap();
    s.create_user(&a, "member", None, None, &[]).await.unwrap();
    s.add_user_to_group(&a, "devs", "member").await.unwrap();
    let trust = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}"#;
    s.create_role(&a, "builder", None, trust, None, None, None, &[])
        .await
        .unwrap();
    s.attach_policy(&a, PrincipalKind::Role, "builder", Q_DEV)
        .await
        .unwrap();
    s.put_inline_policy(
        &a,
        PrincipalKind::Role,
        "builder",
        "all-q",
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "q:*", "Resource": "*"}}"#,
    )
    .await
    .unwrap();
    // Account B: a role with the policy attached, bounded by a boundary that allows only
    // q:Get*.
    s.create_role(&b, "ops", None, trust, None, None, None, &[])
        .await
        .unwrap();
    s.attach_policy(&b, PrincipalKind::Role, "ops", Q_DEV)
        .await
        .unwrap();
    let boundary = s
        .create_policy(
            &b,
            "only-q-get",
            None,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "q:Get*", "Resource": "*"}}"#,
            None,
            &[],
        )
        .await
        .unwrap();
    s.put_permissions_boundary(&b, PrincipalKind::Role, "ops", &boundary.arn)
        .await
        .unwrap();

    // The update: the current default plus q:CreatePlugin and q:GetPlugin, minus
    // q:SendMessage.
    let (_, current) = s.default_document(A, Q_DEV).await.unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&current).unwrap();
    let statements = doc["Statement"].as_array_mut().unwrap();
    let actions = statements
        .iter_mut()
        .find(|st| {
            st["Action"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "q:SendMessage"))
        })
        .unwrap()["Action"]
        .as_array_mut()
        .unwrap();
    actions.retain(|x| x != "q:SendMessage");
    actions.push("q:CreatePlugin".into());
    actions.push("q:GetPlugin".into());
    let new = serde_json::to_string_pretty(&doc).unwrap();

    let seq = s.journal_seq().await.unwrap();
    let blast = s
        .publish_dry_run("AmazonQDeveloperAccess", &new)
        .await
        .unwrap();
    assert_eq!(
        s.journal_seq().await.unwrap(),
        seq,
        "a dry run writes nothing"
    );
    assert_eq!(blast.classification, Classification::Mixed);
    assert_eq!(blast.accounts, 2);
    let find = |account: &str, name: &str, via: &str| {
        blast
            .identities
            .iter()
            .find(|x| x.account == account && x.name == name && x.via == via)
            .unwrap_or_else(|| panic!("{account} {name} {via}: {blast:#?}"))
    };
    let both = (
        vec!["q:CreatePlugin".to_string(), "q:GetPlugin".to_string()],
        vec!["q:SendMessage".to_string()],
    );
    let dev = find(A, "dev", "attached");
    assert_eq!((dev.gains.clone(), dev.loses.clone()), both);
    let group = find(A, "devs", "attached");
    assert_eq!(group.kind, "Group");
    assert_eq!((group.gains.clone(), group.loses.clone()), both);
    let member = find(A, "member", "group devs");
    assert_eq!((member.gains.clone(), member.loses.clone()), both);
    // q:* inline: nothing changes for this role.
    let builder = find(A, "builder", "attached");
    assert!(
        builder.gains.is_empty() && builder.loses.is_empty(),
        "{builder:?}"
    );
    // The boundary lets only q:Get* through.
    let ops = find(B, "ops", "attached");
    assert_eq!(ops.gains, ["q:GetPlugin"]);
    assert!(
        ops.loses.is_empty(),
        "q:SendMessage was never allowed through: {ops:?}"
    );
    assert_eq!(blast.affected().count(), 4);

    // Publishing keeps the report with the version, and the history shows it.
    let (v, kept) = s
        .publish_provider_version_reporting("AmazonQDeveloperAccess", &new, "Plugins; no chat.")
        .await
        .unwrap();
    assert_eq!(kept, blast);
    let history = s.policy_history("AmazonQDeveloperAccess").await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.version_id, v.version_id);
    assert_eq!(last.described_by, "provider");
    assert_eq!(last.description, "Plugins; no chat.");
    assert_eq!(last.classification, Some(Classification::Mixed));
    let kept: serde_json::Value = last.blast_radius.clone().unwrap();
    assert_eq!(kept["Accounts"], 2);
    // The feed shows it first.
    assert_eq!(s.provider_changes(1).await.unwrap()[0].id(), last.id());
}

async fn a_reference_update_reports_what_wildcards_now_grant_and_to_whom(s: Store) {
    use gatehouse_analysis::ServiceReference;
    s.load_provider_catalog(catalog()).await.unwrap();
    s.create_account(A).await.unwrap();
    let a = Actor::root(A);
    s.create_user(&a, "reader", None, None, &[]).await.unwrap();
    s.attach_policy(
        &a,
        PrincipalKind::User,
        "reader",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    )
    .await
    .unwrap();
    s.create_user(&a, "qdev", None, None, &[]).await.unwrap();
    s.attach_policy(&a, PrincipalKind::User, "qdev", Q_DEV)
        .await
        .unwrap();
    s.put_inline_policy(
        &a,
        PrincipalKind::User,
        "qdev",
        "everything-q",
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "q:*", "Resource": "*"}}"#,
    )
    .await
    .unwrap();
    // The new reference: the carried one plus two actions, minus one.
    let mut file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::data_dir().join("service-reference.json")).unwrap(),
    )
    .unwrap();
    let services = file["services"].as_object_mut().unwrap();
    services["s3"]["actions"]["GetSomethingNew"] = serde_json::json!({"accessLevel": "Read"});
    services["q"]["actions"]["BrandNewThing"] = serde_json::json!({"accessLevel": "Write"});
    services["q"]["actions"]
        .as_object_mut()
        .unwrap()
        .remove("SendMessage")
        .unwrap();
    let new = ServiceReference::from_json(&file.to_string()).unwrap();
    let report = s
        .reference_update(ServiceReference::embedded(), &new)
        .await
        .unwrap();
    assert_eq!(
        report.added_actions,
        ["q:BrandNewThing", "s3:GetSomethingNew"]
    );
    assert_eq!(report.removed_actions, ["q:SendMessage"]);
    let find = |policy: &str| report.policies.iter().find(|p| p.policy == policy);
    let s3 = find("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").unwrap();
    assert_eq!(s3.grants.len(), 1);
    assert_eq!(s3.grants[0].action, "s3:GetSomethingNew");
    assert_eq!(s3.grants[0].pattern, "s3:get*");
    assert_eq!(s3.identities.len(), 1);
    assert_eq!(
        (
            s3.identities[0].name.as_str(),
            s3.identities[0].via.as_str()
        ),
        ("reader", "attached")
    );
    let admin = find("arn:aws:iam::aws:policy/AdministratorAccess").unwrap();
    assert_eq!(admin.grants.len(), 2);
    assert!(admin.identities.is_empty());
    let inline = find("inline everything-q").unwrap();
    assert_eq!(inline.account, A);
    assert_eq!(inline.grants[0].action, "q:BrandNewThing");
    assert_eq!(inline.identities[0].name, "qdev");
    // Policies that name their actions grant nothing new.
    assert!(find(Q_DEV).is_none());
}

mod activity {
    use gatehouse_store::Store;

    use crate::on_both;

    on_both!(decisions_are_recorded_in_batches_and_merged);

    async fn decisions_are_recorded_in_batches_and_merged(s: Store) {
        let p = "arn:aws:iam::111122223333:user/dev";
        s.record_activity("111122223333", p, "s3:getobject", "arn:aws:s3:::b/k", true);
        s.record_activity("111122223333", p, "S3:GetObject", "arn:aws:s3:::b/k", true);
        s.record_activity("111122223333", p, "iam:CreateUser", "", false);
        s.record_activity(
            "444455556666",
            "arn:aws:iam::444455556666:user/x",
            "s3:GetObject",
            "*",
            true,
        );
        assert!(
            s.activity_of("111122223333", p, 0)
                .await
                .unwrap()
                .is_empty(),
            "nothing before a flush"
        );
        assert_eq!(s.flush_activity().await.unwrap(), 4);
        s.record_activity("111122223333", p, "s3:GetObject", "arn:aws:s3:::b/k", true);
        assert_eq!(s.flush_activity().await.unwrap(), 1);
        assert_eq!(
            s.flush_activity().await.unwrap(),
            0,
            "an empty flush writes nothing"
        );
        let rows = s.activity_of("111122223333", p, 0).await.unwrap();
        let got: Vec<(&str, &str, bool, i64)> = rows
            .iter()
            .map(|r| (r.action.as_str(), r.resource.as_str(), r.allowed, r.count))
            .collect();
        // Actions in the reference's spelling, so differently cased requests are one row.
        assert_eq!(
            got,
            [
                ("iam:CreateUser", "*", false, 1),
                ("s3:GetObject", "arn:aws:s3:::b/k", true, 3),
            ]
        );
        assert!(rows.iter().all(|r| r.first_at <= r.last_at));
        assert_eq!(s.activity_dropped(), 0);
    }
}

mod retention {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use gatehouse_store::{Clock, Store};

    /// A clock the test moves.
    struct Manual(AtomicI64);
    impl Clock for Manual {
        fn now_ms(&self) -> i64 {
            self.0.load(Ordering::Relaxed)
        }
    }

    /// Rows not seen for longer than the retention are deleted at the next flush.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn old_activity_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        let clock = Arc::new(Manual(AtomicI64::new(1_000_000_000_000)));
        let s = Store::open_with_clock(&url, crate::options(), clock.clone())
            .await
            .unwrap();
        s.set_activity_retention_days(30);
        let p = "arn:aws:iam::111122223333:user/dev";
        s.record_activity("111122223333", p, "s3:GetObject", "*", true);
        s.flush_activity().await.unwrap();
        clock.0.fetch_add(29 * 86_400_000, Ordering::Relaxed);
        s.record_activity("111122223333", p, "s3:PutObject", "*", true);
        s.flush_activity().await.unwrap();
        assert_eq!(s.activity_of("111122223333", p, 0).await.unwrap().len(), 2);
        clock.0.fetch_add(2 * 86_400_000, Ordering::Relaxed);
        s.flush_activity().await.unwrap();
        let left = s.activity_of("111122223333", p, 0).await.unwrap();
        assert_eq!(left.len(), 1, "GetObject, last seen 31 days ago, is gone");
        assert_eq!(left[0].action, "s3:PutObject");
    }
}
