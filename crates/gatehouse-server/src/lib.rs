//! The IAM and STS endpoint (in progress: issue 5). What is here so far: reading the Query
//! protocol's parameters ([`query`]), verifying SigV4 signatures ([`sigv4`]), writing the
//! protocol's XML responses and errors ([`xml`]), paging ([`page`]), and the HTTP application
//! with the first operations ([`app`]).

pub mod app;
pub mod authz;
mod ops;
pub mod metrics;
pub mod page;
pub mod query;
pub mod serve;
pub mod sigv4;
pub mod xml;
