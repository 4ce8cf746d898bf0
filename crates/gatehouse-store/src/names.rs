//! Names, paths and other inputs checked as IAM checks them, with its ValidationError texts.

use crate::error::StoreError;

fn constraint(field: &str, rule: &str) -> StoreError {
    StoreError::validation(format!(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: {rule}"
    ))
}

fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), StoreError> {
    let n = value.chars().count();
    if n < min {
        return Err(constraint(
            field,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(constraint(
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// `[\w+=,.@-]+`, where `\w` is an ASCII letter, digit or underscore.
fn name_chars(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// A user or role name (1-64) or a group, policy or inline policy name (1-128).
pub(crate) fn name(field: &str, value: &str, max: usize) -> Result<(), StoreError> {
    length(field, value, 1, max)?;
    if !name_chars(value) {
        return Err(constraint(
            field,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

/// A user, group or role path: `/` or `/.../` of printable ASCII, at most 512.
pub(crate) fn path(value: &str) -> Result<(), StoreError> {
    length("path", value, 1, 512)?;
    let ok = value == "/"
        || (value.len() >= 3
            && value.starts_with('/')
            && value.ends_with('/')
            && value.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if !ok {
        return Err(constraint(
            "path",
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(())
}

/// A managed policy path: `((/[A-Za-z0-9\.,\+@=_-]+)*)/`.
pub(crate) fn policy_path(value: &str) -> Result<(), StoreError> {
    length("path", value, 1, 512)?;
    let ok = value.starts_with('/')
        && value.ends_with('/')
        && value
            .trim_matches('/')
            .split('/')
            .all(|seg| value == "/" || (!seg.is_empty() && name_chars(seg)));
    if !ok {
        return Err(constraint(
            "path",
            "Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
        ));
    }
    Ok(())
}

/// A policy description: at most 1,000 characters.
pub(crate) fn description(value: &str) -> Result<(), StoreError> {
    length("description", value, 0, 1000)
}

/// A role description: at most 1,000 characters of tab, newline, carriage return, printable
/// ASCII and U+00A1-U+00FF.
pub(crate) fn role_description(value: &str) -> Result<(), StoreError> {
    length("description", value, 0, 1000)?;
    let ok = value
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}'));
    if !ok {
        return Err(constraint(
            "description",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
        ));
    }
    Ok(())
}

/// A path prefix for list operations: `/` then printable ASCII, at most 512.
pub(crate) fn path_prefix(value: Option<&str>) -> Result<&str, StoreError> {
    let Some(value) = value else {
        return Ok("/");
    };
    length("pathPrefix", value, 1, 512)?;
    if !value.starts_with('/') || !value.bytes().all(|b| (0x21..=0x7f).contains(&b)) {
        return Err(constraint(
            "pathPrefix",
            "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
        ));
    }
    Ok(value)
}

/// An ARN parameter: 20 to 2,048 characters.
pub(crate) fn arn_length(field: &str, value: &str) -> Result<(), StoreError> {
    length(field, value, 20, 2048)
}

/// A policy version id: `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`; returns its number.
pub(crate) fn version_id(value: &str) -> Result<i64, StoreError> {
    let bad = || {
        constraint(
            "versionId",
            "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?",
        )
    };
    let rest = value.strip_prefix('v').ok_or_else(bad)?;
    let (digits, suffix) = match rest.split_once('.') {
        Some((d, s)) => (d, Some(s)),
        None => (rest, None),
    };
    if digits.is_empty()
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || suffix.is_some_and(|s| !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(bad());
    }
    // Matches the pattern but is beyond any version: no such version.
    Ok(digits.parse().unwrap_or(i64::MAX))
}

/// A tag key (1-128) and value (0-256) of letters, digits, spaces and `_.:/=+-@`.
pub(crate) fn tag(index: usize, key: &str, value: &str) -> Result<(), StoreError> {
    // \p{L}, \p{N}, \p{Z} (separators: not tab or newline) and `_.:/=+-@`.
    let allowed = |c: char| {
        c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
    };
    let key_field = format!("tags.{index}.member.key");
    let value_field = format!("tags.{index}.member.value");
    length(&key_field, key, 1, 128)?;
    if !key.chars().all(allowed) {
        return Err(constraint(
            &key_field,
            "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
        ));
    }
    length(&value_field, value, 0, 256)?;
    if !value.chars().all(allowed) {
        return Err(constraint(
            &value_field,
            "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert!(name("userName", "dev.ops+1@x", 64).is_ok());
        assert!(name("userName", "", 64).is_err());
        assert!(name("userName", "a b", 64).is_err());
        assert!(name("userName", &"a".repeat(65), 64).is_err());
        assert!(path("/").is_ok());
        assert!(path("/team/a/").is_ok());
        assert!(path("/team").is_err());
        assert!(path("//").is_err());
        assert!(policy_path("/service-role/").is_ok());
        assert!(policy_path("/a b/").is_err());
        assert_eq!(version_id("v12").ok(), Some(12));
        assert!(version_id("v0").is_err());
        assert!(version_id("12").is_err());
        let e = version_id("x").unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        );
    }
}
