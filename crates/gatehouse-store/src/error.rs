//! Store errors, as IAM answers them: AWS's error code, HTTP status and message.

use std::fmt;

/// AWS's error codes the store answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `NoSuchEntity` (404).
    NoSuchEntity,
    /// `EntityAlreadyExists` (409).
    EntityAlreadyExists,
    /// `DeleteConflict` (409).
    DeleteConflict,
    /// `LimitExceeded` (409).
    LimitExceeded,
    /// `InvalidInput` (400).
    InvalidInput,
    /// `ValidationError` (400).
    ValidationError,
    /// `MalformedPolicyDocument` (400).
    MalformedPolicyDocument,
    /// `PolicyNotAttachable` (400).
    PolicyNotAttachable,
    /// `UnmodifiableEntity` (400).
    UnmodifiableEntity,
    /// `AccessDenied` (403).
    AccessDenied,
    /// `ServiceFailure` (500): the database failed.
    ServiceFailure,
}

impl ErrorCode {
    /// The code as AWS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NoSuchEntity => "NoSuchEntity",
            ErrorCode::EntityAlreadyExists => "EntityAlreadyExists",
            ErrorCode::DeleteConflict => "DeleteConflict",
            ErrorCode::LimitExceeded => "LimitExceeded",
            ErrorCode::InvalidInput => "InvalidInput",
            ErrorCode::ValidationError => "ValidationError",
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            ErrorCode::PolicyNotAttachable => "PolicyNotAttachable",
            ErrorCode::UnmodifiableEntity => "UnmodifiableEntity",
            ErrorCode::AccessDenied => "AccessDenied",
            ErrorCode::ServiceFailure => "ServiceFailure",
        }
    }

    /// The HTTP status AWS sends with the code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::NoSuchEntity => 404,
            ErrorCode::EntityAlreadyExists
            | ErrorCode::DeleteConflict
            | ErrorCode::LimitExceeded => 409,
            ErrorCode::AccessDenied => 403,
            ErrorCode::ServiceFailure => 500,
            _ => 400,
        }
    }
}

/// A store error: AWS's code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    /// The code.
    pub code: ErrorCode,
    /// The message, in AWS's words where AWS's are known.
    pub message: String,
}

impl StoreError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> StoreError {
        StoreError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn no_such(message: impl Into<String>) -> StoreError {
        StoreError::new(ErrorCode::NoSuchEntity, message)
    }

    pub(crate) fn exists(message: impl Into<String>) -> StoreError {
        StoreError::new(ErrorCode::EntityAlreadyExists, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> StoreError {
        StoreError::new(ErrorCode::DeleteConflict, message)
    }

    pub(crate) fn limit(message: impl Into<String>) -> StoreError {
        StoreError::new(ErrorCode::LimitExceeded, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> StoreError {
        StoreError::new(ErrorCode::InvalidInput, message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> StoreError {
        StoreError::new(ErrorCode::ValidationError, message)
    }

    pub(crate) fn denied(message: impl Into<String>) -> StoreError {
        StoreError::new(ErrorCode::AccessDenied, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> StoreError {
        StoreError::new(ErrorCode::ServiceFailure, message)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::new(ErrorCode::ServiceFailure, format!("database: {e}"))
    }
}
