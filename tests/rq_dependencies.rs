//! Job dependencies on the RQ model, each test citing the section of
//! docs/rq-dependencies-and-operations.md that traces the behaviour in RQ 2.12
//! (`rq/queue.py setup_dependencies`, `enqueue_dependents`, `rq/job.py dependencies_are_met`,
//! `rq/worker/base.py handle_job_success`, `handle_job_failure`).

mod common;

use common::{exists, hash_field, job_events, secs};
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::body::DependencyFlags;
use simrq::rq::{DurationDist, JobClass, WebhookPolicy};
use simrq::sim::SimDuration;

fn class(name: &str, duration_ms: u64) -> JobClass {
    JobClass::simple(name, "default", SimDuration::from_millis(duration_ms))
}

fn failing(name: &str) -> JobClass {
    let mut class = class(name, 100);
    class.fail_probability = 1.0;
    class
}

/// A `failed` webhook to an endpoint that answers after `latency_s`.
fn with_failed_webhook(mut class: JobClass, latency_s: u64) -> JobClass {
    class.webhooks = Some(WebhookPolicy {
        on_finished: false,
        on_failed: true,
        latency: DurationDist::Constant(SimDuration::from_secs(latency_s)),
        timeout: SimDuration::from_secs(10),
    });
    class
}

fn allowing_failure(mut class: JobClass) -> JobClass {
    class.dependency = Some(DependencyFlags {
        allow_failure: true,
        enqueue_at_front: false,
    });
    class
}

fn harness(classes: Vec<JobClass>, workers: usize) -> Harness {
    let harness = Harness::new(HarnessConfig::default(), classes);
    for index in 0..workers {
        let host = harness.add_host();
        harness.start_worker(&format!("worker-{index}"), host, &["default"], false);
    }
    harness
}

fn set(harness: &Harness, key: &str) -> Vec<String> {
    harness.redis(|server, now| server.peek_set(now, key))
}

fn starts(harness: &Harness, job: &str) -> Vec<f64> {
    job_events(harness, "job_started", job)
        .iter()
        .map(|event| secs(event.time))
        .collect()
}

/// §1.2 and §1.1: a job whose parent has not finished is deferred: status `deferred`, in
/// `rq:deferred:<q>`, in the parent's dependents set and with the parent in its own
/// `rq:job::<C>:dependencies` (two colons), `dependency_id`/`dependency_ids` in its hash.
/// §1.4: the parent's success enqueues it in the same transaction.
#[test]
fn a_job_waits_deferred_until_its_parent_succeeds() {
    let harness = harness(vec![class("parent", 5_000), class("child", 100)], 1);
    harness.enqueue("parent");
    harness.run_for(SimDuration::from_secs(1));
    harness.enqueue_depending("child", &["j1"]);
    harness.run_for(SimDuration::from_secs(1));
    assert_eq!(
        hash_field(&harness, "rq:job:j2", "status").as_deref(),
        Some("deferred")
    );
    assert_eq!(
        common::zset_members(&harness, "rq:deferred:default"),
        ["j2"]
    );
    assert_eq!(set(&harness, "rq:job:j1:dependents"), ["j2"]);
    assert_eq!(set(&harness, "rq:job::j2:dependencies"), ["j1"]);
    assert_eq!(
        hash_field(&harness, "rq:job:j2", "dependency_ids").as_deref(),
        Some("[\"j1\"]")
    );
    assert_eq!(
        hash_field(&harness, "rq:job:j2", "dependency_id").as_deref(),
        Some("j1")
    );
    // A plain list of parents saves no `allow_dependency_failures`.
    assert_eq!(
        hash_field(&harness, "rq:job:j2", "allow_dependency_failures"),
        None
    );
    harness.run_for(SimDuration::from_secs(10));
    let finished = job_events(&harness, "job_finished", "j1")[0].time;
    let released = job_events(&harness, "job_enqueued", "j2");
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].time, finished, "one transaction");
    assert_eq!(released[0].kind.name(), "job_enqueued");
    assert!(starts(&harness, "j2")[0] > secs(finished));
    assert!(common::zset_members(&harness, "rq:deferred:default").is_empty());
    assert!(!exists(&harness, "rq:job:j1:dependents"));
    assert_eq!(
        hash_field(&harness, "rq:job:j2", "status").as_deref(),
        Some("finished")
    );
}

/// §1.2: only a parent that is `finished` (or missing) lets a new job skip the deferred
/// registry: a finished parent enqueues the child at once, a missing one too.
#[test]
fn a_finished_or_missing_parent_enqueues_the_child_at_once() {
    let harness = harness(vec![class("parent", 100), class("child", 100)], 1);
    harness.enqueue("parent");
    harness.run_for(SimDuration::from_secs(2));
    harness.enqueue_depending("child", &["j1"]);
    harness.enqueue_depending("child", &["j404"]);
    harness.run_for(SimDuration::from_secs(2));
    assert!(harness.events_of("job_deferred").is_empty());
    assert_eq!(starts(&harness, "j2").len(), 1);
    assert_eq!(starts(&harness, "j3").len(), 1);
    assert!(!exists(&harness, "rq:job:j1:dependents"));
}

/// §1.5 and §1.8: a parent that fails for good leaves a child without `allow_failure`
/// deferred for good; a child with it is released after the failure is committed.
#[test]
fn a_failed_parent_releases_only_children_that_allow_failure() {
    let harness = harness(
        vec![
            failing("parent"),
            class("strict", 100),
            allowing_failure(class("tolerant", 100)),
        ],
        1,
    );
    harness.enqueue("parent");
    harness.enqueue_depending("strict", &["j1"]);
    harness.enqueue_depending("tolerant", &["j1"]);
    harness.run_for(SimDuration::from_secs(30));
    let failed = job_events(&harness, "job_moved_to_failed", "j1")[0].time;
    assert!(starts(&harness, "j2").is_empty());
    assert_eq!(
        hash_field(&harness, "rq:job:j2", "status").as_deref(),
        Some("deferred")
    );
    let released = job_events(&harness, "job_enqueued", "j3");
    assert_eq!(released.len(), 1);
    assert!(
        released[0].time > failed,
        "outside the failure's transaction"
    );
    assert_eq!(starts(&harness, "j3").len(), 1);
    assert_eq!(
        hash_field(&harness, "rq:job:j3", "allow_dependency_failures").as_deref(),
        Some("1")
    );
    // The strict child stays in the parent's dependents set, which keeps the failure TTL.
    assert_eq!(set(&harness, "rq:job:j1:dependents"), ["j2"]);
}

/// Two workers run `a` (j1, which fails) and `b` (j2, 1 s, which succeeds), and `c` (j3) with
/// `Dependency([a, b], allow_failure=True)`, for 30 s.
fn failing_and_finishing_parents(a: JobClass) -> Harness {
    let harness = harness(
        vec![a, class("b", 1_000), allowing_failure(class("c", 100))],
        2,
    );
    harness.enqueue("a");
    harness.enqueue("b");
    harness.enqueue_depending("c", &["j1", "j2"]);
    harness.run_for(SimDuration::from_secs(30));
    harness
}

/// §1.9 D11, tested against real RQ 2.12.0 and redis-server 7.0: a job with
/// `Dependency([A, B], allow_failure=True)`. A fails and sends a 3 s `failed` webhook; B
/// succeeds meanwhile and releases the job (A has failed, which is allowed). Then A's
/// `enqueue_dependents` runs: the job's status is not looked at (only `canceled` is), its
/// parents have all ended, so it is pushed again and runs twice.
#[test]
fn a_failed_parent_releases_an_allow_failure_child_a_second_time() {
    let harness = failing_and_finishing_parents(with_failed_webhook(failing("a"), 3));
    let released = job_events(&harness, "job_enqueued", "j3");
    assert_eq!(
        released.len(),
        2,
        "released by b's success, then by a's failure"
    );
    assert_eq!(starts(&harness, "j3").len(), 2);
}

/// The control of the test above: without the webhook, a's `enqueue_dependents` runs while
/// b still runs, finds b unfinished and releases nothing; b's success releases the job once.
#[test]
fn without_the_slow_webhook_the_allow_failure_child_runs_once() {
    let harness = failing_and_finishing_parents(failing("a"));
    assert_eq!(job_events(&harness, "job_enqueued", "j3").len(), 1);
    assert_eq!(starts(&harness, "j3").len(), 1);
}

/// §1.2 D10: `enqueue_in` saves the dependencies and registers nothing: the job runs when
/// due, while its parent is still running.
#[test]
fn enqueue_in_ignores_the_dependencies() {
    let harness = Harness::new(
        HarnessConfig::default(),
        vec![class("parent", 20_000), class("child", 100)],
    );
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], true);
    let host = harness.add_host();
    harness.start_worker("worker-1", host, &["default"], false);
    harness.enqueue("parent");
    harness.run_for(SimDuration::from_secs(1));
    harness.enqueue_in_depending("child", 2, &["j1"]);
    harness.run_for(SimDuration::from_secs(10));
    assert!(harness.events_of("job_deferred").is_empty());
    assert_eq!(starts(&harness, "j2").len(), 1);
    assert!(job_events(&harness, "job_finished", "j1").is_empty());
    assert_eq!(
        hash_field(&harness, "rq:job:j2", "dependency_ids").as_deref(),
        Some("[\"j1\"]")
    );
}

/// §1.5: while the parent has a retry pending its children are not looked at; the retry's
/// success releases them.
#[test]
fn a_retry_pending_parent_keeps_its_children_waiting() {
    let mut parent = class("parent", 100);
    parent.fail_attempts = vec![1];
    parent.retry_max = Some(1);
    let harness = harness(vec![parent, class("child", 100)], 1);
    harness.enqueue("parent");
    harness.enqueue_depending("child", &["j1"]);
    harness.run_for(SimDuration::from_secs(30));
    let parent_starts = starts(&harness, "j1");
    assert_eq!(parent_starts.len(), 2);
    let child_starts = starts(&harness, "j2");
    assert_eq!(child_starts.len(), 1);
    assert!(child_starts[0] > parent_starts[1]);
}

/// §1.3: `Dependency(enqueue_at_front=True)` pushes the released job to the front of its
/// queue, ahead of jobs already waiting.
#[test]
fn enqueue_at_front_puts_a_released_job_first() {
    let front = |at_front: bool| {
        let mut child = class("child", 100);
        child.dependency = Some(DependencyFlags {
            allow_failure: false,
            enqueue_at_front: at_front,
        });
        let harness = harness(vec![class("parent", 1_000), class("other", 100), child], 1);
        harness.enqueue("parent");
        harness.enqueue_depending("child", &["j1"]);
        harness.enqueue("other");
        harness.enqueue("other");
        harness.run_for(SimDuration::from_secs(30));
        starts(&harness, "j2")[0] < starts(&harness, "j3")[0]
    };
    assert!(
        front(true),
        "at the front, the child runs before the waiting jobs"
    );
    assert!(!front(false), "at the back, after them");
}

/// §1.5 and §3.4: a parent stopped by `stop-job` ends `stopped`; its `enqueue_dependents`
/// reads that status and releases nothing, even a child that allows failures. Without the
/// command the parent finishes and releases it.
#[test]
fn a_stopped_parent_releases_no_child() {
    let run = |stop: bool| {
        let harness = Harness::new(
            HarnessConfig::default(),
            vec![
                class("parent", 20_000),
                allowing_failure(class("child", 100)),
            ],
        );
        let host = harness.add_host();
        harness.start_worker("worker", host, &["default"], false);
        harness.enqueue("parent");
        harness.enqueue_depending("child", &["j1"]);
        harness.run_for(SimDuration::from_secs(5));
        if stop {
            let worker = common::process(&harness, "worker", simrq::rq::Role::Worker);
            harness.stop_current_job(&worker.name);
        }
        harness.run_for(SimDuration::from_secs(60));
        let parent = hash_field(&harness, "rq:job:j1", "status");
        (parent, starts(&harness, "j2").len())
    };
    assert_eq!(run(false), (Some("finished".into()), 1));
    assert_eq!(run(true), (Some("stopped".into()), 0));
}

/// §1.2 D4 (tested against real RQ in the doc): at enqueue only a `finished` parent counts,
/// whatever `allow_failure` says. A job enqueued with `allow_failure` after its parent failed
/// is deferred, and nothing looks at it again; the same job enqueued before the failure is
/// released by it.
#[test]
fn an_allow_failure_job_enqueued_after_its_parent_failed_is_deferred_for_good() {
    let run = |enqueue_after_failure: bool| {
        let harness = harness(
            vec![failing("parent"), allowing_failure(class("child", 100))],
            1,
        );
        harness.enqueue("parent");
        if enqueue_after_failure {
            harness.run_for(SimDuration::from_secs(5));
            assert_eq!(job_events(&harness, "job_moved_to_failed", "j1").len(), 1);
        }
        harness.enqueue_depending("child", &["j1"]);
        harness.run_for(SimDuration::from_secs(60));
        (
            hash_field(&harness, "rq:job:j2", "status"),
            starts(&harness, "j2").len(),
        )
    };
    assert_eq!(run(false), (Some("finished".into()), 1));
    assert_eq!(run(true), (Some("deferred".into()), 0));
}
