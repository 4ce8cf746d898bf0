//! Crash durability: a writer process is killed with SIGKILL in the middle of a stream of
//! writes, again and again; after each kill every write it had acknowledged is in the store and
//! the invariants hold.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use gatehouse_store::{ErrorCode, PrincipalKind, Store};

use crate::{options, postgres_url};

const A: &str = "111122223333";
const ROUNDS: u64 = 6;

/// Spawns the writer, lets it acknowledge `n` writes, kills it with SIGKILL; returns the lines.
fn write_then_kill(url: &str, start: u64, n: usize) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse-store-load"))
        .args([url, &start.to_string(), "0"])
        .env("GATEHOUSE_STORE_KEY", "2a".repeat(32))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    let mut line = String::new();
    while lines.len() < n && reader.read_line(&mut line).unwrap() > 0 {
        lines.push(line.trim_end().to_string());
        line.clear();
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The writer went on between the n-th line and the kill: what it acknowledged meanwhile
    // (still in the pipe) was committed too, and is checked with the rest.
    for rest in reader.lines() {
        let rest = rest.unwrap();
        if !rest.is_empty() {
            lines.push(rest);
        }
    }
    lines
}

/// Checks every acknowledged write; returns how many were lost.
async fn lost_writes(store: &Store, lines: &[String]) -> usize {
    let mut lost = 0;
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split(' ').collect();
        // A version's deletion is the writer's next operation: acknowledged later, or, for
        // the last acknowledged line, possibly committed just before the kill and never
        // acknowledged.
        let deleted_later = |arn: &str, v: &str| {
            i + 1 == lines.len()
                || lines[i..]
                    .iter()
                    .any(|l| *l == format!("deleted {arn} {v}"))
        };
        let ok = match f.as_slice() {
            ["user", u] => store.get_user(A, u).await.is_ok(),
            ["policy", arn] => store.get_policy(A, arn).await.is_ok(),
            ["version", arn, v, "default"] => store
                .get_policy(A, arn)
                .await
                .is_ok_and(|p| p.default_version_id == *v),
            ["version", arn, v] => {
                deleted_later(arn, v) || store.get_policy_version(A, arn, v).await.is_ok()
            }
            ["deleted", arn, v] => store
                .get_policy_version(A, arn, v)
                .await
                .is_err_and(|e| e.code == ErrorCode::NoSuchEntity),
            ["attach", u, arn] => store
                .list_attached_policies(A, PrincipalKind::User, u, None)
                .await
                .is_ok_and(|l| l.iter().any(|(_, a)| a == arn)),
            ["key", _, id] => store.find_access_key(id).await.is_ok_and(|k| k.is_some()),
            other => panic!("unexpected line {other:?}"),
        };
        if !ok {
            eprintln!("LOST: {line}");
            lost += 1;
        }
    }
    lost
}

async fn crash_test(url: &str, backend: &str) {
    let mut acknowledged = 0;
    let mut lost = 0;
    for round in 0..ROUNDS {
        // Kill after a different number of acknowledged writes each round.
        let n = 25 + (round as usize * 37) % 120;
        let lines = write_then_kill(url, round * 1_000_000, n);
        acknowledged += lines.len();
        let store = Store::open(url, options_with_test_key()).await.unwrap();
        lost += lost_writes(&store, &lines).await;
        let violations = store.check_invariants().await.unwrap();
        assert!(
            violations.is_empty(),
            "{backend}: invariants broken after crash {round}: {violations:?}"
        );
    }
    eprintln!("{backend}: {ROUNDS} SIGKILLs, {acknowledged} writes acknowledged, {lost} lost");
    assert_eq!(lost, 0, "{backend}: acknowledged writes were lost");
}

fn options_with_test_key() -> gatehouse_store::StoreOptions {
    let mut o = options();
    o.secret_key = [0x2a; 32];
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_write_through_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("crash.db").display()
    );
    crash_test(&url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test starts one and runs these"]
async fn postgres_keeps_every_acknowledged_write_through_sigkill() {
    crash_test(&postgres_url().await, "postgres").await;
}

/// Two processes writing to one SQLite file (a server and `gatehouse provider publish`, say):
/// every write succeeds, each waiting for the other's lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_writers_on_one_file_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("two.db").display());
    let one = Store::open(&url, options()).await.unwrap();
    let two = Store::open(&url, options()).await.unwrap();
    let write = |s: Store, prefix: &'static str| {
        tokio::spawn(async move {
            let a = gatehouse_store::Actor::root(A);
            for i in 0..60 {
                let name = format!("{prefix}{i}");
                s.create_user(&a, &name, None, None, &[]).await.unwrap();
                s.tag(
                    &a,
                    gatehouse_store::TagOn::Principal(PrincipalKind::User, &name),
                    &[],
                )
                .await
                .unwrap();
            }
        })
    };
    let (x, y) = (write(one.clone(), "a"), write(two.clone(), "b"));
    x.await.unwrap();
    y.await.unwrap();
    assert_eq!(one.list_users(A, None).await.unwrap().len(), 120);
    assert!(one.check_invariants().await.unwrap().is_empty());
}

/// Writes cancelled at every point of their transaction (their futures dropped, as when a
/// client goes away mid-request) leave the store writable and sound: the next write succeeds,
/// and each cancelled write either happened whole or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_cancelled_midway_leave_the_store_writable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("cancel.db").display()
    );
    let s = Store::open(&url, options()).await.unwrap();
    let a = gatehouse_store::Actor::root(A);
    s.create_account(A).await.unwrap();
    let mut cancelled = 0;
    for i in 0..200u64 {
        let name = format!("u{i}");
        // From 0 to about 2 ms: before, during and after the transaction.
        let budget = std::time::Duration::from_micros(i * 10);
        if tokio::time::timeout(budget, s.create_user(&a, &name, None, None, &[]))
            .await
            .is_err()
        {
            cancelled += 1;
        }
        // The next write always succeeds.
        let tagged = s
            .create_user(&a, &format!("after{i}"), None, None, &[])
            .await;
        assert!(tagged.is_ok(), "write after cancelling u{i}: {tagged:?}");
    }
    assert!(
        cancelled > 0,
        "no write was cancelled: the test proves nothing"
    );
    assert!(s.check_invariants().await.unwrap().is_empty());
    // Each cancelled write is whole or absent: a user that exists can be read and deleted.
    for u in s.list_users(A, None).await.unwrap() {
        s.get_user(A, &u.name).await.unwrap();
    }
}
