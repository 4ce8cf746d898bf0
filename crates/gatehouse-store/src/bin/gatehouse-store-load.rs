//! A stream of writes against a store, for the crash test and the write benchmark.
//!
//! `gatehouse-store-load URL START COUNT` makes, for i in START..START+COUNT, the writes
//! CreateUser, CreatePolicy, CreatePolicyVersion (twice), DeletePolicyVersion, AttachUserPolicy
//! and CreateAccessKey in account 111122223333, and prints one line per write as soon as the
//! store has acknowledged it (the commit is durable), then flushes. The access-key secret key
//! is the hex in GATEHOUSE_STORE_KEY (64 hex digits), else all zeros. With COUNT 0 it runs
//! until killed. GATEHOUSE_STORE_LOAD_PAUSE_MS makes it wait that long after each write (the
//! two-node test uses it). Exits 1 on the first refused write.
#![allow(clippy::print_stdout)]

use std::io::Write;

use gatehouse_store::{Actor, PrincipalKind, Store, StoreOptions};

const DOC: &str = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#;

fn key() -> [u8; 32] {
    let mut key = [0u8; 32];
    if let Ok(hex) = std::env::var("GATEHOUSE_STORE_KEY") {
        for (i, b) in key.iter_mut().enumerate() {
            *b = hex
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
        }
    }
    key
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(start), Some(count)) = (
        args.get(1),
        args.get(2).and_then(|s| s.parse::<u64>().ok()),
        args.get(3).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: gatehouse-store-load URL START COUNT");
        return std::process::ExitCode::from(2);
    };
    match run(url, start, count).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse-store-load: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn run(url: &str, start: u64, count: u64) -> Result<(), gatehouse_store::StoreError> {
    let store = Store::open(url, StoreOptions::new(key())).await?;
    let actor = Actor::root("111122223333");
    let pause = std::env::var("GATEHOUSE_STORE_LOAD_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    let mut out = std::io::stdout().lock();
    let mut ack = |line: String| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        if let Some(p) = pause {
            std::thread::sleep(p);
        }
    };
    let mut i = start;
    while count == 0 || i < start + count {
        let user = format!("u{i}");
        store.create_user(&actor, &user, None, None, &[]).await?;
        ack(format!("user {user}"));
        let policy = store
            .create_policy(&actor, &format!("p{i}"), None, DOC, None, &[])
            .await?;
        ack(format!("policy {}", policy.arn));
        let v2 = store
            .create_policy_version(&actor, &policy.arn, DOC, true)
            .await?;
        ack(format!("version {} {} default", policy.arn, v2.version_id));
        let v3 = store
            .create_policy_version(&actor, &policy.arn, DOC, false)
            .await?;
        ack(format!("version {} {}", policy.arn, v3.version_id));
        store
            .delete_policy_version(&actor, &policy.arn, &v3.version_id)
            .await?;
        ack(format!("deleted {} {}", policy.arn, v3.version_id));
        store
            .attach_policy(&actor, PrincipalKind::User, &user, &policy.arn)
            .await?;
        ack(format!("attach {user} {}", policy.arn));
        let k = store.create_access_key(&actor, &user).await?;
        ack(format!("key {user} {}", k.id));
        i += 1;
    }
    Ok(())
}
