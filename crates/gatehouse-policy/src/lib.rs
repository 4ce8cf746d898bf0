//! The IAM policy language, as AWS reads it.
//!
//! This crate reads IAM JSON policy documents into a typed [`Policy`] model with the location
//! of every element ([`parse_policy`]), checks them by AWS's rules for each kind of policy and
//! reports AWS's exact error codes and messages with a location ([`validate`]), prints them
//! back in a canonical pretty or compact form ([`to_pretty`], [`to_compact`]), and provides the
//! ARN type and the wildcard matcher the rest of Gatehouse builds on.
//!
//! It is pure: no I/O, no clock, no async. It does not decide Allow or Deny; that is the
//! evaluation engine's job.
//!
//! ```
//! use gatehouse_policy::{LineIndex, Mode, PolicyKind, ValidateOptions, validate};
//!
//! let text = r#"{"Version": "2012-10-17",
//!   "Statement": {"Effect": "Allow", "Action": "s3:List:Bucket", "Resource": "*"}}"#;
//! let errors = validate(text, &ValidateOptions::new(PolicyKind::Identity, Mode::Customer))
//!     .unwrap_err();
//! assert_eq!(errors[0].code.as_str(), "MalformedPolicyDocument");
//! assert_eq!(errors[0].message, "Actions/Condition can contain only one colon.");
//! let at = LineIndex::new(text).locate(errors[0].span.start);
//! assert_eq!((at.line, at.column), (2, 46));
//! ```

mod arn;
mod glob;
mod json;
mod model;
mod operator;
mod parse;
mod print;
mod span;
mod swar;
mod validate;

pub use arn::{Arn, ArnError, arn_like};
pub use glob::{Glob, glob_match};
pub use model::{
    ActionClause, Condition, ConditionBlock, ConditionEntry, ConditionValue, Effect, OperatorName,
    Policy, Principal, PrincipalClause, PrincipalEntry, PrincipalKind, ResourceClause, Shape,
    Statement, ValueList, Version,
};
pub use operator::{
    BASE_OPERATORS, BaseOperator, BaseOperatorInfo, ConditionOperator, Family, SetQualifier,
};
pub use parse::{SyntaxError, SyntaxErrorKind, parse_policy};
pub use print::{Layout, print, to_compact, to_pretty};
pub use span::{LineIndex, Location, Span, Spanned};
pub use validate::{
    Diagnostic, ErrorCode, MAX_REQUEST_DOCUMENT_CHARS, Mode, POLICY_KINDS, PolicyKind,
    TRUST_POLICY_ACTIONS, ValidateOptions, check_policy, validate,
};
