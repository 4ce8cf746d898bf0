//! Writers racing on the same policy (issue 9, item 2): concurrent requests through the AWS
//! SDK against the in-process server on SQLite, all released at once. Each writer gets AWS's
//! success or error, the answers and the final state are those of some serial order of the
//! same calls (checked against a model of IAM's rules), and afterwards the store's invariants
//! hold (`Store::check_invariants`, through a second store on the same data directory).

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_iam::error::ProvideErrorMetadata;

use super::{Server, server};

/// A root client that never retries, so every answer the server gives is seen.
fn client(s: &Server) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(&s.url)
        .retry_config(RetryConfig::disabled())
        .credentials_provider(Credentials::new(
            &s.root.access_key_id,
            &s.root.secret_access_key,
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// `ok`, or `Code: message`.
fn outcome<T, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "ok".to_string(),
        Err(e) => match e.code() {
            Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
            None => format!("no answer: {e:?}"),
        },
    }
}

async fn check_invariants(s: &Server) {
    let (store, _) = gatehouse_store::Store::open_data_dir(&s.data_dir, None)
        .await
        .unwrap();
    assert_eq!(
        store.check_invariants().await.unwrap(),
        Vec::<String>::new()
    );
}

/// One writer's call on the policy (and on the user the scenario attaches it to).
#[derive(Clone, Copy, Debug)]
enum Op {
    /// CreatePolicyVersion, with SetAsDefault.
    Create(bool),
    SetDefault(u32),
    DeleteVersion(u32),
    /// AttachUserPolicy to the scenario's user.
    Attach,
    DeletePolicy,
}

/// What IAM keeps of a policy, and what it answers, by its rules (iam-api.md §3.1, §4).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Model {
    /// Version numbers; empty once the policy is deleted.
    versions: BTreeSet<u32>,
    default: u32,
    next: u32,
    attached: bool,
}

const TOO_MANY: &str = "LimitExceeded: A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.";

impl Model {
    fn new(versions: u32, default: u32) -> Model {
        Model {
            versions: (1..=versions).collect(),
            default,
            next: versions + 1,
            attached: false,
        }
    }

    fn exists(&self) -> bool {
        !self.versions.is_empty()
    }

    fn apply(&mut self, op: Op, arn: &str) -> String {
        let no_version = |v: u32| {
            format!("NoSuchEntity: Policy {arn} version v{v} does not exist or is not attachable.")
        };
        match op {
            Op::Create(_) if !self.exists() => format!("NoSuchEntity: Policy {arn} was not found."),
            Op::Create(_) if self.versions.len() >= 5 => TOO_MANY.to_string(),
            Op::Create(set_default) => {
                let v = self.next;
                self.next += 1;
                self.versions.insert(v);
                if set_default {
                    self.default = v;
                }
                format!("ok v{v}")
            }
            Op::SetDefault(v) if !self.versions.contains(&v) => no_version(v),
            Op::SetDefault(v) => {
                self.default = v;
                "ok".to_string()
            }
            Op::DeleteVersion(v) if !self.exists() => no_version(v),
            Op::DeleteVersion(v) if self.default == v => {
                "DeleteConflict: Cannot delete the default version of a policy.".to_string()
            }
            Op::DeleteVersion(v) if !self.versions.contains(&v) => no_version(v),
            Op::DeleteVersion(v) => {
                self.versions.remove(&v);
                "ok".to_string()
            }
            Op::Attach if !self.exists() => {
                format!("NoSuchEntity: Policy {arn} does not exist or is not attachable.")
            }
            Op::Attach => {
                self.attached = true;
                "ok".to_string()
            }
            Op::DeletePolicy if !self.exists() => {
                format!("NoSuchEntity: Policy {arn} was not found.")
            }
            Op::DeletePolicy if self.attached => {
                "DeleteConflict: Cannot delete a policy attached to entities.".to_string()
            }
            Op::DeletePolicy if self.versions.len() > 1 => "DeleteConflict: This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".to_string(),
            Op::DeletePolicy => {
                self.versions.clear();
                "ok".to_string()
            }
        }
    }

    /// What can be read back: (versions, default), attached.
    fn visible(&self) -> (BTreeSet<u32>, Option<u32>, bool) {
        (
            self.versions.clone(),
            self.exists().then_some(self.default),
            self.attached,
        )
    }
}

/// Whether some serial order of `ops` from `start` gives exactly the `observed` answers (in
/// `ops`' order) and ends in `end`.
fn serializable(
    start: &Model,
    ops: &[Op],
    observed: &[String],
    end: &(BTreeSet<u32>, Option<u32>, bool),
    arn: &str,
) -> bool {
    fn go(
        m: &Model,
        left: &mut Vec<usize>,
        ops: &[Op],
        observed: &[String],
        end: &(BTreeSet<u32>, Option<u32>, bool),
        arn: &str,
    ) -> bool {
        if left.is_empty() {
            return m.visible() == *end;
        }
        for k in 0..left.len() {
            let i = left.remove(k);
            let mut next = m.clone();
            let answer = next.apply(ops[i], arn);
            let ok = answer == observed[i] && go(&next, left, ops, observed, end, arn);
            left.insert(k, i);
            if ok {
                return true;
            }
        }
        false
    }
    go(
        start,
        &mut (0..ops.len()).collect(),
        ops,
        observed,
        end,
        arn,
    )
}

/// One racing scenario: the policy's versions at the start (v1..vN, which is the default),
/// and the writers' calls.
struct Scenario {
    name: &'static str,
    versions: u32,
    default: u32,
    ops: Vec<Op>,
}

const ROUNDS: usize = 4;

fn doc(n: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b{n}/*"}}]}}"#
    )
}

/// Runs one call and gives its answer as the model writes it.
async fn run_op(c: aws_sdk_iam::Client, op: Op, arn: String, user: String) -> String {
    match op {
        Op::Create(set_default) => {
            match c
                .create_policy_version()
                .policy_arn(&arn)
                .policy_document(doc(9))
                .set_as_default(set_default)
                .send()
                .await
            {
                Ok(out) => format!(
                    "ok {}",
                    out.policy_version()
                        .and_then(|v| v.version_id())
                        .unwrap_or("?")
                ),
                Err(e) => outcome::<(), _>(Err(e)),
            }
        }
        Op::SetDefault(v) => outcome(
            c.set_default_policy_version()
                .policy_arn(&arn)
                .version_id(format!("v{v}"))
                .send()
                .await,
        ),
        Op::DeleteVersion(v) => outcome(
            c.delete_policy_version()
                .policy_arn(&arn)
                .version_id(format!("v{v}"))
                .send()
                .await,
        ),
        Op::Attach => outcome(
            c.attach_user_policy()
                .user_name(&user)
                .policy_arn(&arn)
                .send()
                .await,
        ),
        Op::DeletePolicy => outcome(c.delete_policy().policy_arn(&arn).send().await),
    }
}

/// What the API shows of a policy afterwards: its versions (at most five, exactly one
/// default), or none once deleted; and whether the user lists it as attached.
async fn read_back(
    c: &aws_sdk_iam::Client,
    arn: &str,
    user: &str,
) -> (BTreeSet<u32>, Option<u32>, bool) {
    let (versions, default) = match c.list_policy_versions().policy_arn(arn).send().await {
        Ok(out) => {
            let vs = out.versions();
            assert!(vs.len() <= 5, "{arn}: {} versions", vs.len());
            let defaults: Vec<u32> = vs
                .iter()
                .filter(|v| v.is_default_version())
                .map(|v| v.version_id().unwrap()[1..].parse().unwrap())
                .collect();
            assert_eq!(defaults.len(), 1, "{arn}: defaults {defaults:?}");
            let all = vs
                .iter()
                .map(|v| v.version_id().unwrap()[1..].parse().unwrap())
                .collect();
            (all, Some(defaults[0]))
        }
        Err(e) => {
            assert_eq!(e.code(), Some("NoSuchEntity"), "{e:?}");
            (BTreeSet::new(), None)
        }
    };
    let attached = c
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    // Only existing policies are listed.
    if !arns.is_empty() {
        assert!(default.is_some(), "{user} lists the deleted {arn}");
    }
    (versions, default, arns == [arn])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_racing_on_a_policy_get_a_serial_outcome() {
    use Op::*;
    let scenarios = [
        Scenario {
            name: "a 6th version: six writers on three free places",
            versions: 2,
            default: 1,
            ops: vec![
                Create(true),
                Create(false),
                Create(true),
                Create(false),
                Create(true),
                Create(false),
            ],
        },
        Scenario {
            name: "SetDefaultPolicyVersion against DeletePolicyVersion",
            versions: 2,
            default: 1,
            ops: vec![SetDefault(2), DeleteVersion(2), DeleteVersion(1)],
        },
        Scenario {
            name: "versions created while others are deleted, at the limit",
            versions: 5,
            default: 5,
            ops: vec![
                Create(false),
                Create(true),
                DeleteVersion(3),
                DeleteVersion(4),
                SetDefault(2),
            ],
        },
        Scenario {
            name: "AttachUserPolicy against DeletePolicy",
            versions: 1,
            default: 1,
            ops: vec![Attach, DeletePolicy],
        },
        Scenario {
            name: "attach, delete the policy, delete and promote its version",
            versions: 2,
            default: 1,
            ops: vec![Attach, DeletePolicy, DeleteVersion(2), SetDefault(2)],
        },
    ];
    let s = server().await;
    let c = client(&s);
    // Every scenario ROUNDS times, each on its own policy and user.
    let mut instances = Vec::new();
    for round in 0..ROUNDS {
        for (k, sc) in scenarios.iter().enumerate() {
            let name = format!("p{k}-{round}");
            let p = c
                .create_policy()
                .policy_name(&name)
                .policy_document(doc(1))
                .send()
                .await
                .unwrap();
            let arn = p.policy().unwrap().arn().unwrap().to_string();
            for v in 2..=sc.versions {
                c.create_policy_version()
                    .policy_arn(&arn)
                    .policy_document(doc(usize::try_from(v).unwrap()))
                    .set_as_default(v == sc.default)
                    .send()
                    .await
                    .unwrap();
            }
            c.create_user().user_name(&name).send().await.unwrap();
            instances.push((sc, arn, name));
        }
    }
    // All writers of all instances released together.
    let total: usize = instances.iter().map(|(sc, _, _)| sc.ops.len()).sum();
    let barrier = Arc::new(tokio::sync::Barrier::new(total));
    let mut tasks = Vec::new();
    for (sc, arn, user) in &instances {
        for op in &sc.ops {
            let (c, op, arn, user) = (c.clone(), *op, arn.clone(), user.clone());
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                run_op(c, op, arn, user).await
            }));
        }
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let mut answers = answers.into_iter();
    let mut failures = Vec::new();
    for (sc, arn, user) in &instances {
        let observed: Vec<String> = answers.by_ref().take(sc.ops.len()).collect();
        let end = read_back(&c, arn, user).await;
        let start = Model::new(sc.versions, sc.default);
        if !serializable(&start, &sc.ops, &observed, &end, arn) {
            failures.push(format!(
                "{}: no serial order of {:?} answers {observed:#?} and ends in {end:?}",
                sc.name, sc.ops
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    check_invariants(&s).await;
}

/// Writers racing on a user: more keys than the quota, and a policy attached while the user
/// is deleted. Each gets AWS's answer; the quota and the owners hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_racing_on_a_user_keep_quotas_and_owners() {
    let s = server().await;
    let c = client(&s);
    const USERS: usize = 4;
    for i in 0..USERS {
        c.create_user()
            .user_name(format!("k{i}"))
            .send()
            .await
            .unwrap();
        c.create_user()
            .user_name(format!("d{i}"))
            .send()
            .await
            .unwrap();
    }
    let policy = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    // Per user: four CreateAccessKey; one AttachUserPolicy against one DeleteUser.
    let barrier = Arc::new(tokio::sync::Barrier::new(USERS * 6));
    let mut keys = Vec::new();
    let mut pairs = Vec::new();
    for i in 0..USERS {
        let mut mine = Vec::new();
        for _ in 0..4 {
            let (c, b) = (c.clone(), barrier.clone());
            mine.push(tokio::spawn(async move {
                b.wait().await;
                outcome(
                    c.create_access_key()
                        .user_name(format!("k{i}"))
                        .send()
                        .await,
                )
            }));
        }
        keys.push(mine);
        let (c1, b1) = (c.clone(), barrier.clone());
        let attach = tokio::spawn(async move {
            b1.wait().await;
            outcome(
                c1.attach_user_policy()
                    .user_name(format!("d{i}"))
                    .policy_arn(policy)
                    .send()
                    .await,
            )
        });
        let (c2, b2) = (c.clone(), barrier.clone());
        let delete = tokio::spawn(async move {
            b2.wait().await;
            outcome(c2.delete_user().user_name(format!("d{i}")).send().await)
        });
        pairs.push((attach, delete));
    }
    let mut failures = Vec::new();
    for (i, mine) in keys.into_iter().enumerate() {
        let mut got = Vec::new();
        for t in mine {
            got.push(t.await.unwrap());
        }
        got.sort();
        let quota = "LimitExceeded: Cannot exceed quota for AccessKeysPerUser: 2".to_string();
        if got != [quota.clone(), quota, "ok".into(), "ok".into()] {
            failures.push(format!("k{i}: {got:?}"));
        }
        let listed = c
            .list_access_keys()
            .user_name(format!("k{i}"))
            .send()
            .await
            .unwrap();
        if listed.access_key_metadata().len() != 2 {
            failures.push(format!("k{i} has {listed:?}"));
        }
    }
    for (i, (attach, delete)) in pairs.into_iter().enumerate() {
        let got = (attach.await.unwrap(), delete.await.unwrap());
        let exists = c.get_user().user_name(format!("d{i}")).send().await.is_ok();
        let attached_first = (
            "ok".to_string(),
            "DeleteConflict: Cannot delete entity, must detach all policies first.".to_string(),
        );
        let deleted_first = (
            format!("NoSuchEntity: The user with name d{i} cannot be found."),
            "ok".to_string(),
        );
        let serial = (got == attached_first && exists) || (got == deleted_first && !exists);
        if !serial {
            failures.push(format!("d{i}: {got:?}, user exists: {exists}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let entities = c
        .list_entities_for_policy()
        .policy_arn(policy)
        .send()
        .await
        .unwrap();
    for u in entities.policy_users() {
        c.get_user()
            .user_name(u.user_name().unwrap())
            .send()
            .await
            .unwrap();
    }
    check_invariants(&s).await;
}
