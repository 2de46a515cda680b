//! Commands per second of the Redis model for RQ's mix: one job's life as RQ 2.12 drives it
//! (enqueue, BLMOVE, HGETALL, prepare-execution and horse transactions, a heartbeat, the
//! success transaction), plus a scheduler tick (lock refresh, ZRANGEBYSCORE) per job and a
//! registry clean-up every 1000 jobs, on the `Server` directly.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use simrq::cmd;
use simrq::redis::{acquire_or_refresh_lock_command, Command, ConnId, Executed, Server};
use simrq::sim::{SimDuration, SimTime};

/// The allocator of the `simrq` binary, so the figure is the one a run sees.
#[global_allocator]
static ALLOCATOR: simrq::alloc::Allocator = simrq::alloc::Allocator;

const PRODUCER: ConnId = ConnId(1);
const WORKER: ConnId = ConnId(2);
const HORSE: ConnId = ConnId(3);
const SCHEDULER: ConnId = ConnId(4);

fn transaction(commands: Vec<Command>) -> Vec<Command> {
    let mut request = vec![cmd!("MULTI")];
    request.extend(commands);
    request.push(cmd!("EXEC"));
    request
}

fn job_hash(key: &str, id: &str, now_s: u64) -> Command {
    let mut words = vec!["HSET".to_string(), key.to_string()];
    let fields = [
        ("status", "queued".to_string()),
        ("origin", "default".to_string()),
        ("created_at", format!("2026-01-01T00:00:{now_s:02}.000000Z")),
        (
            "enqueued_at",
            format!("2026-01-01T00:00:{now_s:02}.000000Z"),
        ),
        ("data", format!("x\u{1}compressed-pickle-of-{id}")),
        ("timeout", "180".to_string()),
        ("result_ttl", "500".to_string()),
        ("failure_ttl", "31536000".to_string()),
        ("retries_left", "3".to_string()),
        ("retry_intervals", "[10, 30, 60]".to_string()),
        ("description", format!("tasks.work('{id}')")),
    ];
    for (field, value) in fields {
        words.push(field.to_string());
        words.push(value);
    }
    Command::from_words(words)
}

/// One job's commands; returns how many commands the server executed.
fn job_life(server: &mut Server, now: SimTime, job: u64) -> usize {
    let id = format!("job-{job}");
    let job_key = format!("rq:job:{id}");
    let exec_key = format!("rq:execution:{id}:e{job}");
    let executions = format!("rq:executions:{id}");
    let now_s = now.as_micros() / 1_000_000;
    let worker = "rq:worker:w1";
    let mut requests: Vec<(ConnId, Vec<Command>)> = vec![
        (
            PRODUCER,
            transaction(vec![
                job_hash(&job_key, &id, now_s % 60),
                cmd!("RPUSH", "rq:queue:default", &id),
                cmd!("SADD", "rq:queues", "rq:queue:default"),
            ]),
        ),
        (
            WORKER,
            vec![cmd!(
                "BLMOVE",
                "rq:queue:default",
                "rq:queue:default:intermediate",
                "LEFT",
                "RIGHT",
                405
            )],
        ),
        (WORKER, vec![cmd!("HGETALL", &job_key)]),
        (
            WORKER,
            transaction(vec![
                cmd!(
                    "HSET",
                    &exec_key,
                    "id",
                    &id,
                    "created_at",
                    now_s,
                    "last_heartbeat",
                    now_s,
                    "worker_name",
                    "w1"
                ),
                cmd!("EXPIRE", &exec_key, 90),
                cmd!("ZADD", &executions, now_s + 150, format!("e{job}")),
                cmd!("EXPIRE", &executions, 150),
                cmd!("ZADD", "rq:wip:default", now_s + 90, format!("{id}:e{job}")),
                cmd!("HSET", worker, "state", "busy"),
            ]),
        ),
        (
            HORSE,
            transaction(vec![
                cmd!(
                    "HSET",
                    worker,
                    "current_job",
                    &id,
                    "current_job_working_time",
                    0,
                    "last_heartbeat",
                    now_s
                ),
                cmd!("EXPIRE", worker, 90),
                cmd!(
                    "HSET",
                    &job_key,
                    "last_heartbeat",
                    now_s,
                    "status",
                    "started",
                    "started_at",
                    now_s,
                    "worker_name",
                    "w1"
                ),
                cmd!("LREM", "rq:queue:default:intermediate", 1, &id),
            ]),
        ),
        (HORSE, vec![cmd!("PERSIST", &job_key)]),
        (
            WORKER,
            transaction(vec![
                cmd!("HSET", worker, "last_heartbeat", now_s),
                cmd!("EXPIRE", worker, 90),
                cmd!("HSET", &exec_key, "last_heartbeat", now_s),
                cmd!("EXPIRE", &exec_key, 90),
                cmd!(
                    "ZADD",
                    "rq:wip:default",
                    "XX",
                    now_s + 90,
                    format!("{id}:e{job}")
                ),
                cmd!("ZADD", &executions, now_s + 150, format!("e{job}")),
                cmd!("EXPIRE", &executions, 150),
                cmd!("HSET", &job_key, "last_heartbeat", now_s),
            ]),
        ),
        (HORSE, vec![cmd!("WATCH", format!("{job_key}:dependents"))]),
        (
            HORSE,
            vec![cmd!("SMEMBERS", format!("{job_key}:dependents"))],
        ),
        (
            HORSE,
            transaction(vec![
                cmd!("HINCRBY", worker, "successful_job_count", 1),
                cmd!("HINCRBYFLOAT", worker, "total_working_time", "0.812345"),
                cmd!("HSET", &job_key, "status", "finished", "ended_at", now_s),
                cmd!(
                    "XADD",
                    format!("rq:results:{id}"),
                    "MAXLEN",
                    "~",
                    10,
                    "*",
                    "type",
                    1,
                    "return_value",
                    "x"
                ),
                cmd!("EXPIRE", format!("rq:results:{id}"), 500),
                cmd!("ZADD", "rq:finished:default", now_s + 500, &id),
                cmd!("EXPIRE", &job_key, 500),
                cmd!("HDEL", worker, "current_job"),
                cmd!("DEL", &exec_key),
                cmd!("ZREM", "rq:wip:default", format!("{id}:e{job}")),
                cmd!("ZREM", &executions, format!("e{job}")),
            ]),
        ),
        (
            SCHEDULER,
            vec![acquire_or_refresh_lock_command(
                "rq:scheduler-lock:default",
                "s1",
                61,
            )],
        ),
        (
            SCHEDULER,
            vec![cmd!(
                "ZRANGEBYSCORE",
                "rq:scheduled:default",
                0,
                now_s,
                "LIMIT",
                0,
                1000
            )],
        ),
    ];
    if job % 1000 == 0 {
        requests.push((
            WORKER,
            vec![cmd!("ZREMRANGEBYSCORE", "rq:finished:default", 0, now_s)],
        ));
    }
    let mut executed = 0;
    // One reply buffer for the job, as the network reuses its reply buffers.
    let mut replies = Vec::new();
    for (conn, request) in requests.drain(..) {
        executed += request.len();
        replies.clear();
        let outcome = server.execute_into(now, conn, &request, &mut replies);
        assert_eq!(outcome, Executed::Replied, "nothing blocks in this mix");
    }
    executed
}

fn rq_mix(c: &mut Criterion) {
    let mut probe = Server::new();
    let per_job = job_life(&mut probe, SimTime::from_secs(1), 1);
    let mut group = c.benchmark_group("redis_model");
    group.throughput(Throughput::Elements(per_job as u64));
    let mut server = Server::new();
    let mut job = 0u64;
    let mut now = SimTime::from_secs(1);
    group.bench_function("rq_job_life", |b| {
        b.iter(|| {
            job += 1;
            now += SimDuration::from_millis(50);
            if job % 1000 == 0 {
                server.active_expire(now);
            }
            job_life(&mut server, now, job)
        })
    });
    group.finish();
}

criterion_group!(benches, rq_mix);
criterion_main!(benches);
