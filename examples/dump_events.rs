use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::JobClass;
use simrq::sim::SimDuration;
fn main() {
    let mut class = JobClass::simple("flaky", "default", SimDuration::from_millis(100));
    class.fail_probability = 1.0;
    class.retry_max = Some(2);
    class.retry_intervals_s = [10, 30, 60].into();
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], true);
    harness.enqueue("flaky");
    harness.run_for(SimDuration::from_secs(1000));
    for e in harness.events() {
        if e.kind.name() == "lock_refreshed" {
            continue;
        }
        println!(
            "{} {} {:?} {:?} {:?} {}",
            e.time,
            e.kind.name(),
            e.process.as_deref(),
            e.job.map(|job| job.to_string()),
            e.attempt,
            e.kind
        );
    }
    println!("commands executed: {}", harness.network.commands_executed());
}
