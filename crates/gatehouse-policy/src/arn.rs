//! Amazon Resource Names: `arn:partition:service:region:account-id:resource`. The first five
//! colons separate the fields; the resource field may hold more colons and slashes.

use std::fmt;

use crate::glob::Glob;

/// A parsed ARN, borrowing its fields from the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, ...
    pub partition: &'a str,
    /// The service namespace (`s3`, `iam`).
    pub service: &'a str,
    /// The region, empty for global resources.
    pub region: &'a str,
    /// The account ID, empty for some resources (S3 buckets), `aws` for AWS managed policies.
    pub account: &'a str,
    /// The resource, which may contain `:` and `/`.
    pub resource: &'a str,
}

/// Why a string is not an ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArnError {
    /// It does not start with `arn:`.
    MissingPrefix,
    /// It has fewer than six colon-separated fields.
    TooFewFields,
}

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArnError::MissingPrefix => f.write_str("an ARN must start with \"arn:\""),
            ArnError::TooFewFields => f.write_str(
                "an ARN needs six fields: arn:partition:service:region:account-id:resource",
            ),
        }
    }
}

impl std::error::Error for ArnError {}

impl<'a> Arn<'a> {
    /// Parses `text` as an ARN.
    pub fn parse(text: &'a str) -> Result<Arn<'a>, ArnError> {
        let rest = text.strip_prefix("arn:").ok_or(ArnError::MissingPrefix)?;
        let mut it = rest.splitn(5, ':');
        let mut next = || it.next().ok_or(ArnError::TooFewFields);
        Ok(Arn {
            partition: next()?,
            service: next()?,
            region: next()?,
            account: next()?,
            resource: next()?,
        })
    }

    /// The six fields, `arn` first.
    pub fn fields(&self) -> [&'a str; 6] {
        [
            "arn",
            self.partition,
            self.service,
            self.region,
            self.account,
            self.resource,
        ]
    }
}

impl fmt::Display for Arn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// `ArnLike` semantics (iam-spec §2.5): both sides are split into their six fields and each
/// field is matched on its own, so a wildcard never crosses a colon between fields. A value
/// that is not an ARN matches no pattern.
pub fn arn_like(pattern: &str, value: &str) -> bool {
    let (Ok(p), Ok(v)) = (Arn::parse(pattern), Arn::parse(value)) else {
        return false;
    };
    p.fields()
        .iter()
        .zip(v.fields().iter())
        .all(|(p, v)| Glob::new(p).matches(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let a = Arn::parse("arn:aws:logs:us-east-1:123:log-group:name:log-stream:x").unwrap();
        assert_eq!(a.service, "logs");
        assert_eq!(a.resource, "log-group:name:log-stream:x");
        assert_eq!(
            a.to_string(),
            "arn:aws:logs:us-east-1:123:log-group:name:log-stream:x"
        );
        let b = Arn::parse("arn:aws:s3:::bucket/key").unwrap();
        assert_eq!((b.region, b.account), ("", ""));
        assert_eq!(Arn::parse("arn:aws:s3"), Err(ArnError::TooFewFields));
        assert_eq!(Arn::parse("s3:::b"), Err(ArnError::MissingPrefix));
    }

    #[test]
    fn arn_like_is_field_wise() {
        let p = "arn:aws:someservice:*:111122223333:finance/*";
        let v = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert!(Glob::new(p).matches(v), "StringLike crosses colons");
        assert!(!arn_like(p, v), "ArnLike does not");
        assert!(arn_like(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123456789012:role/path/x"
        ));
        assert!(!arn_like("arn:aws:iam::*:role/*", "not-an-arn"));
        assert!(!arn_like("*:*:*:*:*:*", "x:y:z:w:v:u"));
    }
}
