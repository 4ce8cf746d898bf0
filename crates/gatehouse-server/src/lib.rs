//! The IAM and STS endpoint (in progress: issue 5). What is here so far: reading the Query
//! protocol's parameters ([`query`]), verifying SigV4 signatures ([`sigv4`]), and writing the
//! protocol's XML responses and errors ([`xml`]).

pub mod query;
pub mod sigv4;
pub mod xml;
