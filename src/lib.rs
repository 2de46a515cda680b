//! simrq: a deterministic simulation testbed for Python-RQ deployments.
pub mod redis;
pub mod sim;
