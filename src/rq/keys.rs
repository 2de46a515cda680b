//! RQ's Redis key names (rq-semantics §1).

pub const QUEUES: &str = "rq:queues";
pub const WORKERS: &str = "rq:workers";
pub const SUSPENDED: &str = "rq:suspended";

pub fn queue(queue: &str) -> String {
    format!("rq:queue:{queue}")
}

pub fn intermediate(queue: &str) -> String {
    format!("rq:queue:{queue}:intermediate")
}

pub fn first_seen(queue: &str, job: &str) -> String {
    format!("rq:queue:{queue}:intermediate:first_seen:{job}")
}

pub fn job(job: &str) -> String {
    format!("rq:job:{job}")
}

pub fn dependents(job: &str) -> String {
    format!("rq:job:{job}:dependents")
}

/// StartedJobRegistry: members `<job>:<execution>`, scores are expiry seconds.
pub fn started(queue: &str) -> String {
    format!("rq:wip:{queue}")
}

pub fn scheduled(queue: &str) -> String {
    format!("rq:scheduled:{queue}")
}

pub fn failed(queue: &str) -> String {
    format!("rq:failed:{queue}")
}

pub fn finished(queue: &str) -> String {
    format!("rq:finished:{queue}")
}

pub fn execution(job: &str, execution: &str) -> String {
    format!("rq:execution:{job}:{execution}")
}

pub fn executions(job: &str) -> String {
    format!("rq:executions:{job}")
}

pub fn results(job: &str) -> String {
    format!("rq:results:{job}")
}

pub fn worker(worker: &str) -> String {
    format!("rq:worker:{worker}")
}

pub fn queue_workers(queue: &str) -> String {
    format!("rq:workers:{queue}")
}

pub fn scheduler_lock(queue: &str) -> String {
    format!("rq:scheduler-lock:{queue}")
}

pub fn scheduler(scheduler: &str) -> String {
    format!("rq:scheduler:{scheduler}")
}

pub fn maintenance_lock(queue: &str) -> String {
    format!("rq:clean_registries:{queue}")
}
