//! The IAM evaluation engine: AWS's whole decision logic, explained.
//!
//! Policies are compiled once ([`CompiledPolicy`]) and grouped into indexed [`PolicySet`]s,
//! one per layer: identity-based policies, the resource-based policy (or a role's trust
//! policy), the permissions boundary, session policies, and the service and resource control
//! policies of each level of an organization ([`Layers`]). A [`Request`] names the principal,
//! action, resource and context keys; the engine derives the keys AWS derives from the
//! principal and never reads a clock.
//!
//! [`decide`] is the fast path: it looks only at statements indexed under the request's
//! action and does not allocate. [`explain`] evaluates every statement and says which
//! statements decided, what each layer said, what failed in each statement that almost
//! applied, and which context keys the request lacked.
//!
//! This crate is the only place in Gatehouse that decides Allow or Deny. It is pure: no I/O,
//! no clock, no async.
//!
//! ```
//! use std::sync::Arc;
//! use gatehouse_engine::{CompiledPolicy, Context, DecisionKind, Layers, PolicySet, Request,
//!     RequestPrincipal, decide};
//!
//! let doc = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow",
//!     "Action": "q:SendMessage", "Resource": "*"}}"#;
//! let policy = gatehouse_policy::parse_policy(doc).unwrap();
//! let set = PolicySet::new([Arc::new(CompiledPolicy::compile("P", None, &policy))]);
//! let layers = Layers { identity: Some(&set), ..Layers::default() };
//! let who = RequestPrincipal::parse("arn:aws:iam::111122223333:user/dev").unwrap();
//! let req = Request::new(who, "q:SendMessage", None, Context::new());
//! assert_eq!(decide(&layers, &req).kind, DecisionKind::Allow);
//! ```

mod case;
mod compile;
mod condition;
mod decide;
mod explain;
mod pattern;
mod request;
mod value;

pub use case::{Case, CaseError, ReadFile};
pub use compile::{CompiledPolicy, Grant, PolicySet};
pub use decide::{
    Decision, DecisionKind, LayerId, LayerKind, Layers, Reason, StatementId, decide,
    decide_unindexed,
};
pub use explain::{Explanation, Failure, LayerOutcome, LayerReport, StatementReport, explain};
pub use request::{Context, PrincipalError, PrincipalType, Request, RequestPrincipal, Values};
pub use value::{Instant, Value, parse_date};
