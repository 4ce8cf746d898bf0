//! Fuzz target: the Query protocol's parameters and the SigV4 `Authorization` header. Any
//! input is read or refused with an AWS error, never a panic; lists come back in order.
#![no_main]

use gatehouse_server::query::Params;
use gatehouse_server::sigv4::parse_authorization;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Params::parse(data, None) {
        let _ = p.action();
        for name in ["ActionNames", "Tags", "ResourceArns", "PolicyArns"] {
            let _ = p.list(name);
            let _ = p.list_field(name, "Key");
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(auth) = parse_authorization(text)
    {
        assert_eq!(auth.signature.len(), 64);
    }
});
