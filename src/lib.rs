//! simrq: a deterministic simulation testbed for Python-RQ deployments.
pub mod sim;
pub mod scenario;
