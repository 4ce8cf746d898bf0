//! The IAM and STS endpoint (in progress: issue 5). What is here so far: reading the Query
//! protocol's parameters ([`query`]) and verifying SigV4 signatures ([`sigv4`]), the two
//! pieces every request goes through before it reaches an operation.

pub mod query;
pub mod sigv4;
