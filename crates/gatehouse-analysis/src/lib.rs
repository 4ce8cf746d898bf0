//! Policy analysis over the AWS service reference.
//!
//! - [`reference`](mod@reference): the service reference carried in the project (services, actions, access
//!   levels), and wildcard expansion over it;
//! - [`permissions`]: what one document allows and denies, action by action;
//! - [`diff`]: the semantic diff of two documents, the update's [`Classification`] and what
//!   makes it [`Sensitive`];
//! - [`check`]: exact checks (no new access; access not granted), proven from the grants or
//!   refuted by a request the engine decides;
//! - [`generate`]: a policy from recorded activity, and what attached policies grant unused;
//! - [`lint`]: findings in the spirit of IAM Access Analyzer's policy validation;
//! - [`summary`]: the IAM console's policy summary (per service: access levels, resources,
//!   conditions);
//! - [`reference_update`]: the actions an update of the service reference adds, and which of
//!   them a policy's wildcards now grant.
//!
//! Everything here is pure: no I/O, no clock. The store and the CLI call it.

pub mod check;
pub mod diff;
pub mod generate;
pub mod lint;
pub mod permissions;
pub mod reference;
pub mod reference_update;
pub mod summary;

pub use diff::{
    Analyzed, Classification, DiffError, PolicyDiff, ScopeChange, Sensitive, StatementChange,
    StatementSummary, abbreviate, diff_documents,
};
pub use reference::{AccessLevel, ActionId, ServiceReference};
