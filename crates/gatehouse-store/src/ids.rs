//! Unique IDs, access keys and secrets in AWS's formats.

use rand::Rng;

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_from(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| {
            let i = rng.random_range(0..alphabet.len());
            char::from(alphabet.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// A unique ID: the 4-character prefix (`AIDA` user, `AGPA` group, `AROA` role, `ANPA` policy)
/// and 17 upper-case letters and digits.
pub(crate) fn unique_id(prefix: &str) -> String {
    format!("{prefix}{}", random_from(UPPER_ALNUM, 17))
}

/// An access key ID: `AKIA` (long-term) or `ASIA` (temporary) and 16 characters.
pub(crate) fn access_key_id(prefix: &str) -> String {
    format!("{prefix}{}", random_from(UPPER_ALNUM, 16))
}

/// A 40-character secret access key.
pub(crate) fn secret() -> String {
    random_from(SECRET_CHARS, 40)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        let id = super::unique_id("AIDA");
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA") && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(super::access_key_id("AKIA").len(), 20);
        assert_eq!(super::secret().len(), 40);
    }
}
