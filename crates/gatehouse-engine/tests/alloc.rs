//! The common request path does not allocate: `decide` over the seed policies and a managed
//! set, measured with a counting global allocator (this binary has a single test so no other
//! thread allocates meanwhile).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::alloc::System;
use std::sync::Arc;

use gatehouse_engine::{
    CompiledPolicy, Context, Layers, PolicySet, Request, RequestPrincipal, decide,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn load(name: &str) -> Arc<CompiledPolicy> {
    let path = format!(
        "{}/../../data/aws-managed-policies/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let policy = gatehouse_policy::parse_policy(&text).unwrap();
    Arc::new(CompiledPolicy::compile(name, None, &policy))
}

#[test]
fn decide_does_not_allocate() {
    let set = PolicySet::new(
        [
            "AmazonQFullAccess",
            "AmazonQDeveloperAccess",
            "ReadOnlyAccess",
            "PowerUserAccess",
            "AmazonS3FullAccess",
        ]
        .map(load),
    );
    let boundary = PolicySet::new([load("AmazonQFullAccess")]);
    let scp = vec![PolicySet::new([load("AmazonQDeveloperAccess")])];
    let layers = Layers {
        identity: Some(&set),
        boundary: Some(&boundary),
        scp: &scp,
        ..Layers::default()
    };
    let who = || RequestPrincipal::parse("arn:aws:iam::111122223333:user/dev").unwrap();
    let mut ctx = Context::new();
    ctx.set("iam:PassedToService", "q.amazonaws.com");
    ctx.set("aws:SourceIp", "203.0.113.7");
    ctx.set("aws:CurrentTime", "2026-11-28T00:00:00Z");
    let requests = [
        Request::new(who(), "q:SendMessage", None, ctx.clone()),
        Request::new(who(), "q:CreatePlugin", None, ctx.clone()),
        Request::new(
            who(),
            "iam:PassRole",
            Some("arn:aws:iam::111122223333:role/r"),
            ctx.clone(),
        ),
        Request::new(
            who(),
            "sts:SetContext",
            Some("arn:aws:sts::111122223333:self"),
            ctx.clone(),
        ),
        Request::new(
            who(),
            "s3:GetObject",
            Some("arn:aws:s3:::bucket/key"),
            ctx.clone(),
        ),
        Request::new(
            who(),
            "ec2:RunInstances",
            Some("arn:aws:ec2:us-east-1:111122223333:instance/*"),
            ctx,
        ),
    ];
    let mut kinds = Vec::with_capacity(requests.len());
    // A request works out the context keys AWS derives from its principal once, when a
    // condition or variable first needs them (most decisions never do): that is the request's
    // own allocation, made here. Deciding itself allocates nothing.
    for req in &requests {
        let _ = req.context();
    }
    let region = Region::new(GLOBAL);
    for req in &requests {
        kinds.push(decide(&layers, req).kind);
    }
    let stats = region.change();
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "{stats:?} for {kinds:?}"
    );
    assert_eq!(kinds.len(), requests.len());
}
