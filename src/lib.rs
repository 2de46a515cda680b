//! simrq: a deterministic simulation testbed for Python-RQ deployments.
pub mod check;
pub mod cluster;
pub mod event;
pub mod faults;
pub mod harness;
pub mod net;
pub mod redis;
pub mod rq;
pub mod scenario;
pub mod sim;
pub mod workload;
