//! Helpers for `scripts/bench-server`: pre-signs an authorization API request (a JSON body) or
//! an IAM Query request (any other body) for `wrk` (SigV4
//! allows a signed request to be replayed within its 15-minute window), and measures the
//! in-process `decide` figure for the same request and policy.
//!
//! ```text
//! authz-bench sign URL KEY SECRET BODY-FILE LUA-OUT
//! authz-bench decide POLICY-FILE PRINCIPAL-ARN ACTION RESOURCE SECONDS
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use gatehouse_engine::{
    CompiledPolicy, Context, Layers, PolicySet, Request, RequestPrincipal, decide,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["sign", url, key, secret, body, out] => sign_for_wrk(url, key, secret, body, out),
        ["decide", policy, principal, action, resource, seconds] => {
            measure(policy, principal, action, resource, seconds)
        }
        _ => Err("usage: authz-bench sign URL KEY SECRET BODY-FILE LUA-OUT | decide POLICY-FILE PRINCIPAL-ARN ACTION RESOURCE SECONDS".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authz-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn sign_for_wrk(url: &str, key: &str, secret: &str, body: &str, out: &str) -> Result<(), String> {
    let body = std::fs::read(body).map_err(|e| format!("{body}: {e}"))?;
    let rest = url
        .strip_prefix("http://")
        .ok_or("the URL must start with http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let identity: Identity = Credentials::new(key, secret, None, None, "bench").into();
    // A JSON body is for the authorization API; a form-encoded one is an IAM Query request.
    let (service, content_type) = if body.first() == Some(&b'{') {
        ("gatehouse", "application/json")
    } else {
        ("iam", "application/x-www-form-urlencoded; charset=utf-8")
    };
    #[expect(
        clippy::disallowed_methods,
        reason = "the server checks the signature's time against its clock"
    )]
    let now = SystemTime::now();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let headers = [("host", host), ("content-type", content_type)];
    let request = SignableRequest::new(
        "POST",
        &path,
        headers.iter().copied(),
        SignableBody::Bytes(&body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let lua_string = |s: &str| format!("{s:?}");
    let mut lua = String::from("wrk.method = \"POST\"\n");
    lua.push_str(&format!("wrk.path = {}\n", lua_string(&path)));
    lua.push_str(&format!(
        "wrk.headers[\"Content-Type\"] = {}\n",
        lua_string(content_type)
    ));
    for (name, value) in instructions.headers() {
        lua.push_str(&format!(
            "wrk.headers[{}] = {}\n",
            lua_string(name),
            lua_string(value)
        ));
    }
    let text = String::from_utf8(body).map_err(|e| e.to_string())?;
    lua.push_str(&format!("wrk.body = {}\n", lua_string(&text)));
    std::fs::write(out, lua).map_err(|e| format!("{out}: {e}"))
}

fn measure(
    policy: &str,
    principal: &str,
    action: &str,
    resource: &str,
    seconds: &str,
) -> Result<(), String> {
    let text = std::fs::read_to_string(policy).map_err(|e| format!("{policy}: {e}"))?;
    let parsed = gatehouse_policy::parse_policy(&text).map_err(|_| "the policy does not parse")?;
    let name = std::path::Path::new(policy)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("policy");
    let set = PolicySet::new([Arc::new(CompiledPolicy::compile(name, None, &parsed))]);
    let layers = Layers {
        identity: Some(&set),
        ..Layers::default()
    };
    let who = RequestPrincipal::parse(principal).map_err(|e| e.to_string())?;
    let resource = Some(resource).filter(|r| *r != "*");
    let seconds: f64 = seconds.parse().map_err(|_| "SECONDS must be a number")?;
    let request = Request::new(who.clone(), action, resource, Context::new());
    let first = decide(&layers, &request).kind;
    #[expect(clippy::disallowed_methods, reason = "a benchmark times itself")]
    let rate = |f: &mut dyn FnMut() -> bool| {
        let budget = Duration::from_secs_f64(seconds);
        let start = Instant::now();
        let mut n: u64 = 0;
        while start.elapsed() < budget {
            for _ in 0..1000 {
                std::hint::black_box(f());
            }
            n += 1000;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let d = rate(&mut || decide(&layers, std::hint::black_box(&request)).kind == first);
    let full = rate(&mut || {
        let r = Request::new(who.clone(), action, resource, Context::new());
        decide(&layers, &r).kind == first
    });
    println!(
        "in-process decide: {:.0} decisions/s ({:.0} ns each), one core; with Request::new: {:.0}/s ({:.0} ns); decision {}",
        d,
        1e9 / d,
        full,
        1e9 / full,
        first.as_str()
    );
    Ok(())
}
