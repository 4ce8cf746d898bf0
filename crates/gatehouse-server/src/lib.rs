//! The IAM and STS endpoint: the Query protocol's parameters ([`query`]), SigV4 verification
//! ([`sigv4`]), the protocol's XML responses and errors ([`xml`]), paging ([`page`]), the HTTP
//! application and its operations ([`app`]), the authorization API for applications
//! ([`authz`]), the managed-policy change feeds ([`feeds`]), Prometheus metrics ([`metrics`])
//! and `gatehouse serve` ([`serve`]).

pub mod app;
pub mod authz;
pub mod console;
pub mod feeds;
pub mod metrics;
mod ops;
pub mod page;
pub mod query;
pub mod serve;
pub mod sigv4;
pub mod xml;
