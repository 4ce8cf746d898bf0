//! Access-key secrets at rest: XChaCha20-Poly1305 with the key from the data directory and a
//! random nonce per secret, stored as base64 of nonce and ciphertext.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::error::StoreError;

const NONCE: usize = 24;

pub(crate) fn seal(key: &[u8; 32], secret: &str) -> Result<String, StoreError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; NONCE];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), secret.as_bytes())
        .map_err(|_| StoreError::config("cannot encrypt an access key secret"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

pub(crate) fn open(key: &[u8; 32], stored: &str) -> Result<String, StoreError> {
    let fail = || StoreError::config("cannot decrypt an access key secret (wrong secret key?)");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(|_| fail())?;
    let (nonce, sealed) = bytes.split_at_checked(NONCE).ok_or_else(fail)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let plain = cipher
        .decrypt(XNonce::from_slice(nonce), sealed)
        .map_err(|_| fail())?;
    String::from_utf8(plain).map_err(|_| fail())
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_wrong_key() {
        let key = [7u8; 32];
        let sealed = super::seal(&key, "secret").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(super::open(&key, &sealed).unwrap(), "secret");
        assert!(super::open(&[8u8; 32], &sealed).is_err());
    }
}
