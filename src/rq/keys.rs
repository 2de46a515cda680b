//! RQ's Redis key names (rq-semantics §1).
//!
//! Each name is built as an [`Arg`]: most (`rq:queue:default`, `rq:job:j42`) fit in its 24
//! inline bytes, so naming a key allocates nothing.

use compact_str::format_compact;

use crate::redis::Arg;

pub const QUEUES: &str = "rq:queues";
pub const WORKERS: &str = "rq:workers";
pub const SUSPENDED: &str = "rq:suspended";

pub fn queue(queue: &str) -> Arg {
    format_compact!("rq:queue:{queue}")
}

pub fn intermediate(queue: &str) -> Arg {
    format_compact!("rq:queue:{queue}:intermediate")
}

pub fn first_seen(queue: &str, job: &str) -> Arg {
    format_compact!("rq:queue:{queue}:intermediate:first_seen:{job}")
}

pub fn job(job: &str) -> Arg {
    format_compact!("rq:job:{job}")
}

pub fn dependents(job: &str) -> Arg {
    format_compact!("rq:job:{job}:dependents")
}

/// StartedJobRegistry: members `<job>:<execution>`, scores are expiry seconds.
pub fn started(queue: &str) -> Arg {
    format_compact!("rq:wip:{queue}")
}

pub fn scheduled(queue: &str) -> Arg {
    format_compact!("rq:scheduled:{queue}")
}

pub fn failed(queue: &str) -> Arg {
    format_compact!("rq:failed:{queue}")
}

pub fn finished(queue: &str) -> Arg {
    format_compact!("rq:finished:{queue}")
}

pub fn execution(job: &str, execution: &str) -> Arg {
    format_compact!("rq:execution:{job}:{execution}")
}

pub fn executions(job: &str) -> Arg {
    format_compact!("rq:executions:{job}")
}

pub fn results(job: &str) -> Arg {
    format_compact!("rq:results:{job}")
}

pub fn worker(worker: &str) -> Arg {
    format_compact!("rq:worker:{worker}")
}

pub fn queue_workers(queue: &str) -> Arg {
    format_compact!("rq:workers:{queue}")
}

pub fn scheduler_lock(queue: &str) -> Arg {
    format_compact!("rq:scheduler-lock:{queue}")
}

pub fn scheduler(scheduler: &str) -> Arg {
    format_compact!("rq:scheduler:{scheduler}")
}

pub fn maintenance_lock(queue: &str) -> Arg {
    format_compact!("rq:clean_registries:{queue}")
}
