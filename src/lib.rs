//! simrq: a deterministic simulation testbed for Python-RQ deployments.
pub mod check;
pub mod event;
pub mod redis;
pub mod report;
pub mod sim;
