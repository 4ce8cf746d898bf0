//! Helpers for `scripts/bench-server`: pre-signs an authorization API request (a JSON body) or
//! an IAM Query request (any other body) for `wrk` (SigV4
//! allows a signed request to be replayed within its 15-minute window), and measures the
//! in-process `decide` figure for the same request and policy.
//!
//! ```text
//! authz-bench sign URL KEY SECRET BODY-FILE LUA-OUT
//! authz-bench sign-mix KEY SECRET LUA-OUT DELAY-MS URL=BODY-FILE*WEIGHT...
//! authz-bench decide POLICY-FILE PRINCIPAL-ARN ACTION RESOURCE SECONDS
//! ```
//!
//! `sign-mix` writes a wrk script that sends the signed requests in proportion to their
//! weights (interleaved, so a 9:1 mix is nine of the first then one of the second), each
//! connection waiting DELAY-MS after each answer (0: as fast as the server answers), for
//! `scripts/load-mix`.

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
        ["sign-mix", key, secret, out, delay, parts @ ..] => sign_mix(key, secret, out, delay, parts),
        ["decide", policy, principal, action, resource, seconds] => {
            measure(policy, principal, action, resource, seconds)
        }
        _ => Err("usage: authz-bench sign URL KEY SECRET BODY-FILE LUA-OUT | sign-mix KEY SECRET LUA-OUT DELAY-MS URL=BODY-FILE*WEIGHT... | decide POLICY-FILE PRINCIPAL-ARN ACTION RESOURCE SECONDS".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authz-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A request signed for replay: its path, content type, signing headers and body.
struct Signed {
    path: String,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: String,
}

fn signed(url: &str, key: &str, secret: &str, body: &str) -> Result<Signed, String> {
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
    Ok(Signed {
        path,
        content_type,
        headers: instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: String::from_utf8(body).map_err(|e| e.to_string())?,
    })
}

fn lua_string(s: &str) -> String {
    format!("{s:?}")
}

fn sign_for_wrk(url: &str, key: &str, secret: &str, body: &str, out: &str) -> Result<(), String> {
    let r = signed(url, key, secret, body)?;
    let mut lua = String::from("wrk.method = \"POST\"\n");
    lua.push_str(&format!("wrk.path = {}\n", lua_string(&r.path)));
    lua.push_str(&format!(
        "wrk.headers[\"Content-Type\"] = {}\n",
        lua_string(r.content_type)
    ));
    for (name, value) in &r.headers {
        lua.push_str(&format!(
            "wrk.headers[{}] = {}\n",
            lua_string(name),
            lua_string(value)
        ));
    }
    lua.push_str(&format!("wrk.body = {}\n", lua_string(&r.body)));
    std::fs::write(out, lua).map_err(|e| format!("{out}: {e}"))
}

fn sign_mix(key: &str, secret: &str, out: &str, delay: &str, parts: &[&str]) -> Result<(), String> {
    let delay: u32 = delay
        .parse()
        .map_err(|e| format!("DELAY-MS {delay}: {e}"))?;
    let mut lua = String::from("local requests = {}\nlocal pattern = {}\nlocal n = 0\n");
    lua.push_str("function init(args)\n");
    let mut pattern = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let (url, rest) = part
            .split_once('=')
            .ok_or_else(|| format!("{part}: expected URL=BODY-FILE*WEIGHT"))?;
        let (body, weight) = rest
            .split_once('*')
            .ok_or_else(|| format!("{part}: expected URL=BODY-FILE*WEIGHT"))?;
        let weight: usize = weight.parse().map_err(|e| format!("{part}: {e}"))?;
        let r = signed(url, key, secret, body)?;
        let mut headers = format!("[\"Content-Type\"] = {}", lua_string(r.content_type));
        for (name, value) in &r.headers {
            headers.push_str(&format!(", [{}] = {}", lua_string(name), lua_string(value)));
        }
        lua.push_str(&format!(
            "  requests[{}] = wrk.format(\"POST\", {}, {{{headers}}}, {})\n",
            i + 1,
            lua_string(&r.path),
            lua_string(&r.body)
        ));
        pattern.push((i + 1, weight));
    }
    lua.push_str("end\n");
    // Interleave: spread each request's share evenly over a cycle of the weights' sum.
    let total: usize = pattern.iter().map(|(_, w)| w).sum();
    let mut cycle = Vec::with_capacity(total);
    for _ in 0..total {
        let mut pick = 1;
        let mut best = f64::MAX;
        for (i, w) in &pattern {
            let due = cycle.iter().filter(|c| *c == i).count() as f64 * total as f64 / *w as f64;
            if *w > 0 && due < best {
                best = due;
                pick = *i;
            }
        }
        cycle.push(pick);
    }
    let list: Vec<String> = cycle.iter().map(ToString::to_string).collect();
    lua.push_str(&format!("pattern = {{{}}}\n", list.join(", ")));
    lua.push_str(
        "function request()\n  n = n + 1\n  return requests[pattern[(n % #pattern) + 1]]\nend\n",
    );
    // The first few answers that are not 2xx are printed, to say what went wrong.
    lua.push_str("local shown = 0\nfunction response(status, headers, body)\n  if status >= 300 and shown < 3 then\n    shown = shown + 1\n    io.stderr:write(\"non-2xx answer \" .. status .. \": \" .. body .. \"\\n\")\n  end\nend\n");
    if delay > 0 {
        lua.push_str(&format!("function delay()\n  return {delay}\nend\n"));
    }
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
