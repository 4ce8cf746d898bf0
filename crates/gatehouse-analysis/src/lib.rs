//! Policy analysis over the AWS service reference.
//!
//! - [`reference`]: the service reference carried in the project (services, actions, access
//!   levels), and wildcard expansion over it;
//! - [`permissions`]: what one document allows and denies, action by action;
//! - [`diff`]: the semantic diff of two documents, the update's [`Classification`] and what
//!   makes it [`Sensitive`].
//!
//! Everything here is pure: no I/O, no clock. The store and the CLI call it.

pub mod diff;
pub mod permissions;
pub mod reference;

pub use diff::{
    Analyzed, Classification, DiffError, PolicyDiff, ScopeChange, Sensitive, StatementChange,
    StatementSummary, abbreviate, diff_documents, diff_policies,
};
pub use reference::{AccessLevel, ActionId, ServiceReference};
