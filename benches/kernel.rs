//! Kernel throughput: scheduled events per second (design target: at least 10 million on
//! one core). Two shapes: bare callbacks through the event queue, and processes that sleep
//! in a loop (each wake-up is one event plus one poll of an `async` process).

use std::cell::Cell;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use simrq::sim::{Sim, SimDuration, SimTime};

const EVENTS: u64 = 200_000;

/// `EVENTS` callbacks, each scheduling the next one a little later, 1,000 chains in flight.
fn callbacks(sim: &Sim, remaining: Rc<Cell<u64>>) {
    fn step(sim: &Sim, remaining: Rc<Cell<u64>>, gap: u64) {
        if remaining.get() == 0 {
            return;
        }
        remaining.set(remaining.get() - 1);
        sim.schedule_in(SimDuration(gap), move |sim| {
            step(sim, remaining, gap % 997 + 1)
        });
    }
    for chain in 0..1_000 {
        step(sim, remaining.clone(), chain + 1);
    }
}

fn bench_callbacks(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function(BenchmarkId::new("callback_events", EVENTS), |b| {
        b.iter(|| {
            let sim = Sim::new();
            callbacks(&sim, Rc::new(Cell::new(EVENTS)));
            sim.run_until(SimTime::MAX);
            assert!(sim.stats().events_run >= EVENTS);
        })
    });
    group.bench_function(BenchmarkId::new("process_wakeups", EVENTS), |b| {
        b.iter(|| {
            let sim = Sim::new();
            let host = sim.add_host();
            for process in 0..1_000u64 {
                let s = sim.clone();
                sim.spawn(host, "sleeper", None, async move {
                    for round in 0..EVENTS / 1_000 {
                        s.sleep(SimDuration((process * 31 + round * 17) % 1_000 + 1))
                            .await;
                    }
                    0
                });
            }
            sim.run_until(SimTime::MAX);
            sim.teardown();
        })
    });
    group.finish();
}

criterion_group!(benches, bench_callbacks);
criterion_main!(benches);
