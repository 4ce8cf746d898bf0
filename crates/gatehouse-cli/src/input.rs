//! Reading policy files for the CLI: files or standard input, with clear errors for
//! directories, binary data, text that is not UTF-8, and files too large to be a policy.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// The largest input the CLI reads. AWS's own largest managed policy is about 150 KB; IAM's API
/// takes at most 131,072 characters. Anything near this limit is not a policy.
pub const MAX_INPUT_BYTES: u64 = 8 * 1024 * 1024;

/// Why an input could not be read.
#[derive(Debug)]
pub enum InputError {
    /// The OS refused (missing file, permissions...).
    Io(std::io::Error),
    /// The path is a directory.
    Directory,
    /// The input is larger than [`MAX_INPUT_BYTES`].
    TooLarge(u64),
    /// The input holds NUL bytes.
    Binary,
    /// The input is not UTF-8 text.
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io(e) => write!(f, "{e}"),
            InputError::Directory => f.write_str("is a directory, not a policy file"),
            InputError::TooLarge(n) => write!(
                f,
                "is too large to be a policy ({n} bytes; the limit is {} MiB)",
                MAX_INPUT_BYTES / 1024 / 1024
            ),
            InputError::Binary => f.write_str("is a binary file, not a JSON policy"),
            InputError::NotUtf8 { offset } => {
                write!(f, "is not UTF-8 text (invalid byte at offset {offset})")
            }
        }
    }
}

/// Reads `name` (`-` for standard input) as policy text.
pub fn read_policy(name: &str) -> Result<String, InputError> {
    let mut bytes = Vec::new();
    if name == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(InputError::Io)?;
    } else {
        let path = Path::new(name);
        let meta = std::fs::metadata(path).map_err(InputError::Io)?;
        if meta.is_dir() {
            return Err(InputError::Directory);
        }
        if meta.len() > MAX_INPUT_BYTES {
            return Err(InputError::TooLarge(meta.len()));
        }
        std::fs::File::open(path)
            .map_err(InputError::Io)?
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(InputError::Io)?;
    }
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge(len));
    }
    if bytes.contains(&0) {
        return Err(InputError::Binary);
    }
    String::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}
