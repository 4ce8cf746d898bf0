//! SigV4 verification (iam-api.md §2): read the `Authorization` header, check the clock skew,
//! recompute the signature over exactly the headers the client signed, and compare in constant
//! time.
//!
//! The signature is computed with the `aws-sigv4` crate (the signer of the AWS SDK for Rust),
//! which reproduces what boto3, the aws CLI and the Rust SDK send (checked against 37 captured
//! requests, iam-api.md §2.3); only the header parsing and the checks around it are here.

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use subtle::ConstantTimeEq;

/// How far a request's time may be from the server's, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Why a request is not authenticated, with AWS's code, status and words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// The header lacks a part or has a bad one.
    Incomplete(String),
    /// The request's time is outside the skew window.
    Skew(String),
    /// The signature does not match.
    Mismatch,
    /// No such access key (or an inactive one).
    UnknownKey,
    /// The session token has expired.
    ExpiredToken,
}

impl AuthError {
    /// AWS's error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationToken",
            AuthError::Incomplete(_) => "IncompleteSignature",
            AuthError::Skew(_) | AuthError::Mismatch => "SignatureDoesNotMatch",
            AuthError::UnknownKey => "InvalidClientTokenId",
            AuthError::ExpiredToken => "ExpiredToken",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Incomplete(_) => 400,
            _ => 403,
        }
    }

    /// The message, in AWS's words.
    pub fn message(&self) -> String {
        match self {
            AuthError::Missing => "Request is missing Authentication Token".into(),
            AuthError::Incomplete(why) => why.clone(),
            AuthError::Skew(why) => why.clone(),
            AuthError::Mismatch => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
            AuthError::UnknownKey => "The security token included in the request is invalid.".into(),
            AuthError::ExpiredToken => "The security token included in the request is expired".into(),
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The access key ID.
    pub access_key: String,
    /// The scope's date, `YYYYMMDD`.
    pub date: String,
    /// The scope's region (whatever the client was configured with).
    pub region: String,
    /// The scope's service (`iam` or `sts`).
    pub service: String,
    /// The signed header names, lower case, as sent.
    pub signed_headers: Vec<String>,
    /// The signature, 64 hex digits.
    pub signature: String,
}

fn incomplete(why: &str) -> AuthError {
    AuthError::Incomplete(why.to_string())
}

/// Reads the header value.
pub fn parse_authorization(value: &str) -> Result<Authorization, AuthError> {
    let rest = value
        .trim()
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| {
            incomplete("Unsupported AWS 'algorithm': only AWS4-HMAC-SHA256 is accepted.")
        })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {
                return Err(incomplete(&format!(
                    "Authorization header has a part that is not Credential, SignedHeaders or Signature: '{part}'."
                )));
            }
        }
    }
    let missing = |what: &str| {
        incomplete(&format!(
            "Authorization header requires '{what}' parameter. Authorization={value}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(&format!(
            "Credential should be scoped to a valid region, not '{credential}'. "
        )));
    };
    if *terminator != "aws4_request" || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(incomplete(&format!(
            "Credential should be scoped correctly, not '{credential}'."
        )));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(incomplete("Signature must be 64 hexadecimal digits."));
    }
    Ok(Authorization {
        access_key: (*access_key).to_string(),
        date: (*date).to_string(),
        region: (*region).to_string(),
        service: (*service).to_string(),
        signed_headers: signed.split(';').map(str::to_string).collect(),
        signature: signature.to_ascii_lowercase(),
    })
}

/// What the signature covers: method, raw path and query, the received headers (names
/// lower-case), and the exact body bytes.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The path and query as received (`/`).
    pub path_and_query: &'a str,
    /// Every received header, name lower-case.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// Reads an `X-Amz-Date` value (`20240115T120000Z`) as seconds since the epoch.
pub fn parse_amz_date(value: &str) -> Option<i64> {
    let dt = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", value)
        .ok()?
        .to_datetime()
        .ok()?;
    Some(jiff::tz::Offset::UTC.to_timestamp(dt).ok()?.as_second())
}

fn amz_date(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// Verifies the signature with the key's secret (and the session token the request carries,
/// for temporary credentials). `now` is the server's time in seconds since the epoch.
pub fn verify(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    secret: &str,
    session_token: Option<&str>,
    now: i64,
) -> Result<(), AuthError> {
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let date = header("x-amz-date").ok_or_else(|| {
        incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    let at = parse_amz_date(date).ok_or_else(|| {
        incomplete(&format!(
            "Date must be in ISO-8601 'basic format'. Got '{date}'."
        ))
    })?;
    if !date.starts_with(&auth.date) {
        return Err(AuthError::Mismatch);
    }
    let skew = i64::try_from(MAX_SKEW.as_secs()).unwrap_or(900);
    if at < now - skew {
        return Err(AuthError::Skew(format!(
            "Signature expired: {date} is now earlier than {} ({} - 15 min.)",
            amz_date(now - skew),
            amz_date(now)
        )));
    }
    if at > now + skew {
        return Err(AuthError::Skew(format!(
            "Signature not yet current: {date} is still later than {} ({} + 15 min.)",
            amz_date(now + skew),
            amz_date(now)
        )));
    }
    for name in &auth.signed_headers {
        if header(name).is_none() {
            return Err(incomplete(&format!(
                "The signed header {name} is missing from the request."
            )));
        }
    }
    let identity: Identity = Credentials::new(
        &auth.access_key,
        secret,
        session_token.map(str::to_string),
        None,
        "gatehouse",
    )
    .into();
    let mut settings = SigningSettings::default();
    // Sign exactly the headers the client listed.
    settings.excluded_headers = Some(Vec::new());
    let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(at).unwrap_or(0));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|_| AuthError::Mismatch)?
        .into();
    let signed = req
        .headers
        .iter()
        .filter(|(k, _)| auth.signed_headers.iter().any(|s| s == k))
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let request = SignableRequest::new(
        req.method,
        req.path_and_query,
        signed,
        SignableBody::Bytes(req.body),
    )
    .map_err(|_| AuthError::Mismatch)?;
    let output = sign(request, &params).map_err(|_| AuthError::Mismatch)?;
    let ours = output.signature();
    if bool::from(ours.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// iam-api.md §2.2's worked example, checked there against botocore's signer.
    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=559aa258c3d3e24d25724fab527640a75120f25cef43a250575cd11b7e12404a";
    const BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";

    fn headers() -> Vec<(String, String)> {
        [
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("host", "127.0.0.1:4566"),
            ("x-amz-date", "20240115T120000Z"),
            ("user-agent", "not signed"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn check(
        body: &[u8],
        headers: &[(String, String)],
        secret: &str,
        now: i64,
    ) -> Result<(), AuthError> {
        let auth = parse_authorization(AUTH)?;
        let req = SignedRequest {
            method: "POST",
            path_and_query: "/",
            headers,
            body,
        };
        verify(&req, &auth, secret, None, now)
    }

    const NOW: i64 = 1_705_320_000; // 2024-01-15T12:00:00Z

    #[test]
    fn the_worked_example_verifies() {
        let auth = parse_authorization(AUTH).unwrap();
        assert_eq!(
            (
                auth.access_key.as_str(),
                auth.region.as_str(),
                auth.service.as_str()
            ),
            ("AKIDEXAMPLE", "us-east-1", "sts")
        );
        assert_eq!(check(BODY, &headers(), "test-secret", NOW), Ok(()));
        assert_eq!(
            check(BODY, &headers(), "test-secret", NOW + 14 * 60),
            Ok(())
        );
    }

    #[test]
    fn tampering_and_wrong_secrets_fail() {
        assert_eq!(
            check(BODY, &headers(), "wrong-secret", NOW),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            check(
                b"Action=GetCallerIdentity&Version=2011-06-16",
                &headers(),
                "test-secret",
                NOW
            ),
            Err(AuthError::Mismatch)
        );
        let mut other_host = headers();
        other_host[1].1 = "evil.example:4566".into();
        assert_eq!(
            check(BODY, &other_host, "test-secret", NOW),
            Err(AuthError::Mismatch)
        );
        let mut missing = headers();
        missing.remove(0);
        assert!(matches!(
            check(BODY, &missing, "test-secret", NOW),
            Err(AuthError::Incomplete(_))
        ));
    }

    #[test]
    fn the_clock_skew_window_is_fifteen_minutes() {
        let late = check(BODY, &headers(), "test-secret", NOW + 16 * 60).unwrap_err();
        assert_eq!(late.code(), "SignatureDoesNotMatch");
        assert_eq!(
            late.message(),
            "Signature expired: 20240115T120000Z is now earlier than 20240115T120100Z (20240115T121600Z - 15 min.)"
        );
        let early = check(BODY, &headers(), "test-secret", NOW - 16 * 60).unwrap_err();
        assert!(
            early.message().starts_with("Signature not yet current"),
            "{}",
            early.message()
        );
    }

    #[test]
    fn malformed_headers_are_incomplete_signatures() {
        for bad in [
            "",
            "AWS4-HMAC-SHA1 Credential=a/20240115/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=559aa258c3d3e24d25724fab527640a75120f25cef43a250575cd11b7e12404a",
            "AWS4-HMAC-SHA256 Credential=a/20240115/iam/aws4_request, SignedHeaders=host, Signature=559aa258c3d3e24d25724fab527640a75120f25cef43a250575cd11b7e12404a",
            "AWS4-HMAC-SHA256 Credential=a/20240115/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=xyz",
        ] {
            let e = parse_authorization(bad).unwrap_err();
            assert_eq!(
                (e.code(), e.status()),
                ("IncompleteSignature", 400),
                "{bad}"
            );
        }
    }
}
