//! Fuzz target: the SigV4 `Authorization` header (`parse_authorization`). Any input is read
//! or refused with AWS's `IncompleteSignature` (400, with a message), never a panic; a header
//! that is read is well formed (an 8-digit date, 64 lower-case hex digits, `host` signed) and,
//! written back in the form clients send, reads the same.
#![no_main]

use gatehouse_server::sigv4::parse_authorization;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_authorization(text) {
        Ok(auth) => {
            assert!(auth.date.len() == 8 && auth.date.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(auth.signature.len(), 64);
            assert!(
                auth.signature
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert!(auth.signed_headers.iter().any(|h| h == "host"));
            let again = format!(
                "AWS4-HMAC-SHA256 Credential={}/{}/{}/{}/aws4_request, SignedHeaders={}, Signature={}",
                auth.access_key,
                auth.date,
                auth.region,
                auth.service,
                auth.signed_headers.join(";"),
                auth.signature
            );
            assert_eq!(parse_authorization(&again), Ok(auth));
        }
        Err(e) => {
            assert_eq!((e.code(), e.status()), ("IncompleteSignature", 400));
            assert!(!e.message().is_empty());
        }
    }
});
