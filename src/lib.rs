//! simrq: a deterministic simulation testbed for Python-RQ deployments.
pub mod scenario;
pub mod sim;
