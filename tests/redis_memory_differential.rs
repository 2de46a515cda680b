//! `maxmemory` against a real `redis-server`: the model's size of RQ's key shapes against
//! `MEMORY USAGE`, and scripted sessions under each eviction policy where both servers must
//! give the same replies and keep the same keys.
//!
//! The two servers' memory differs in what is not keys (allocator, the clients' buffers, which
//! shrink after two idle seconds), so each side's limit is its own `used_memory`, measured
//! once the clients are idle, plus one budget. The sessions store values of 200 KB (229 KB in
//! jemalloc's classes), and a write of one holds two more while Redis decides (its buffer and
//! the fresh query buffer), so a budget of 1,260 KB fits a fourth value but not a fifth, with
//! 57 KB to spare either way. Small key sets (at most the five keys Redis
//! samples) make even the sampled policies exact. Without `redis-server` the tests say
//! SKIPPED, and fail under `SIMRQ_REQUIRE_REDIS=1`.

#[path = "support/resp.rs"]
mod resp;

use std::time::{Duration, Instant};

use simrq::redis::memory::{MemoryLimit, Policy};
use simrq::redis::{Command, ConnId, Outcome, Reply, Server};

use resp::lock_words as lock;
use simrq::sim::rng::RngStreams;
use simrq::sim::{SimDuration, SimTime};

const VALUE_BYTES: usize = 200_000;
const BUDGET: u64 = 1_260_000;

/// The model and a real server side by side, the model's clock following the wall clock.
struct Pair {
    model: Server,
    real: resp::Client,
    admin: resp::Client,
    started: Instant,
    model_base: u64,
    real_base: u64,
}

impl Pair {
    /// Both servers with `policy` and a limit of their own used memory plus `BUDGET`.
    fn new(redis: &resp::RedisServer, policy: Policy) -> Pair {
        let mut pair = Pair {
            model: Server::new(),
            real: redis.client(),
            admin: redis.client(),
            started: Instant::now(),
            model_base: 0,
            real_base: 0,
        };
        pair.check(&["PING"]);
        pair.admin.call(&["PING"]);
        // The first EVAL sets up the script engine (~75 KB): part of the baseline.
        for holder in ["warm-up", "warm-up", "other"] {
            pair.check(&lock(holder));
        }
        pair.check(&["DEL", "rq:scheduler-lock:q"]);
        // clientsCron shrinks idle clients' buffers within a second after two idle seconds.
        std::thread::sleep(Duration::from_millis(3_200));
        pair.model_base = pair.model_used();
        pair.real_base = pair.real_used();
        pair.limit(policy, BUDGET);
        pair
    }

    fn now(&self) -> SimTime {
        SimTime::from_secs(1_000_000)
            + SimDuration::from_micros(self.started.elapsed().as_micros() as u64)
    }

    fn model_used(&mut self) -> u64 {
        let limit = MemoryLimit {
            maxmemory: 0,
            policy: Policy::NoEviction,
            samples: 5,
        };
        self.model
            .limit_memory(limit, RngStreams::new(1).stream("eviction"));
        self.model.memory().expect("limited").used_bytes(0)
    }

    fn real_used(&mut self) -> u64 {
        let Reply::Bulk(info) = self.admin.call(&["INFO", "memory"]) else {
            panic!("INFO memory");
        };
        let line = info
            .lines()
            .find(|l| l.starts_with("used_memory:"))
            .unwrap();
        line["used_memory:".len()..].trim().parse().unwrap()
    }

    /// `maxmemory` = each side's starting memory + `budget`, and the policy.
    fn limit(&mut self, policy: Policy, budget: u64) {
        let limit = MemoryLimit {
            maxmemory: self.model_base + budget,
            policy,
            samples: 5,
        };
        let rng = RngStreams::new(1).stream("eviction");
        self.model.limit_memory(limit, rng);
        let real_limit = (self.real_base + budget).to_string();
        self.admin
            .call(&["CONFIG", "SET", "maxmemory", &real_limit]);
        self.admin
            .call(&["CONFIG", "SET", "maxmemory-policy", policy.name()]);
    }

    /// Runs `words` on both; both replies must be the same. The reply.
    fn check(&mut self, words: &[&str]) -> Reply {
        let now = self.now();
        let model = match self
            .model
            .execute(now, ConnId(1), &[Command::from_words(words)])
        {
            Outcome::Replies(mut replies) => replies.pop().expect("one reply"),
            Outcome::Blocked { .. } => panic!("blocked"),
        };
        let real = self.real.call(words);
        let shown: Vec<&str> = words.iter().map(|w| &w[..w.len().min(40)]).collect();
        assert_eq!(model, real, "{shown:?}: model, then redis-server");
        real
    }

    /// `SET key <200 KB>` with extra words (`EX 100`).
    fn set_big(&mut self, key: &str, extra: &[&str]) -> Reply {
        let value = "v".repeat(VALUE_BYTES);
        let mut words = vec!["SET", key, &value];
        words.extend_from_slice(extra);
        self.check(&words)
    }

    /// The model's `MEMORY USAGE` of `key`.
    fn model_usage(&mut self, key: &str) -> i64 {
        let now = self.now();
        let command = Command::from_words(["MEMORY", "USAGE", key]);
        match self.model.execute(now, ConnId(1), &[command]) {
            Outcome::Replies(replies) => match replies[..] {
                [Reply::Int(n)] => n,
                _ => panic!("MEMORY USAGE {key}: {replies:?}"),
            },
            Outcome::Blocked { .. } => panic!("blocked"),
        }
    }

    /// How many of `keys` exist on the model and on the real server.
    fn count_existing(&mut self, keys: &[&str]) -> (i64, i64) {
        let words: Vec<&str> = std::iter::once("EXISTS")
            .chain(keys.iter().copied())
            .collect();
        let now = self.now();
        let Outcome::Replies(model) =
            self.model
                .execute(now, ConnId(1), &[Command::from_words(&words)])
        else {
            panic!("blocked");
        };
        let count = |reply: &Reply| match reply {
            Reply::Int(n) => *n,
            other => panic!("EXISTS replied {other:?}"),
        };
        (count(&model[0]), count(&self.real.call(&words)))
    }

    /// Which of `keys` exist, asked of both.
    fn existing(&mut self, keys: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for key in keys {
            if self.check(&["EXISTS", key]) == Reply::Int(1) {
                found.push(key.to_string());
            }
        }
        found
    }
}

fn oom() -> Reply {
    Reply::Error(simrq::redis::errors::OOM.to_string())
}

/// noeviction: a write that would pass the limit is refused with `OOM` (the command's own
/// arguments count); over the limit, reads, deletes, EXPIRE and the lock refresh still run,
/// growing writes and everything queued in MULTI are refused, a transaction that queued a
/// write before memory ran out is discarded at EXEC, and RQ's lock script fails at its SET.
#[test]
fn noeviction_refuses_what_redis_server_refuses() {
    let Some(redis) = resp::scripted_server() else {
        return;
    };
    let mut pair = Pair::new(&redis, Policy::NoEviction);
    for key in ["k1", "k2", "k3", "k4"] {
        assert_eq!(pair.set_big(key, &[]), Reply::ok());
    }
    assert_eq!(pair.set_big("k5", &[]), oom());
    pair.check(&lock("s1"));
    pair.check(&["MULTI"]);
    pair.check(&["RPUSH", "rq:queue:q", "j1"]);
    pair.limit(Policy::NoEviction, BUDGET / 2);
    assert!(matches!(pair.check(&["EXEC"]), Reply::Error(e) if e.contains("OOM")));
    assert_eq!(pair.check(&["SET", "small", "1"]), oom());
    for words in [
        &["GET", "missing"][..],
        &["EXPIRE", "k1", "100"],
        &["LPOP", "rq:queue:q"],
        &["HSET", "h", "f", "v"],
        &["ZADD", "z", "1", "m"],
        &["LPUSH", "l", "a"],
        &["DEL", "k4"],
        &["MULTI"],
        &["GET", "k1"],
        &["EXEC"],
    ] {
        pair.check(words);
    }
    assert_eq!(
        pair.check(&lock("s1")),
        Reply::Int(2),
        "a refresh only expires"
    );
    let refused = pair.check(&lock("s2-after-release"));
    assert_eq!(refused, Reply::Int(0), "held by s1");
    pair.check(&["DEL", "rq:scheduler-lock:q"]);
    assert!(matches!(pair.check(&lock("s2")), Reply::Error(e) if e.starts_with("OOM")));
    pair.check(&["DEL", "k1", "k2"]);
    assert_eq!(pair.check(&["SET", "small", "1"]), Reply::ok());
    assert_eq!(pair.check(&lock("s2")), Reply::Int(1));
}

/// volatile-ttl evicts the key that expires soonest, and nothing without a TTL: when only
/// such keys are left, writes are refused.
#[test]
fn volatile_ttl_evicts_the_soonest_to_expire() {
    let Some(redis) = resp::scripted_server() else {
        return;
    };
    let mut pair = Pair::new(&redis, Policy::VolatileTtl);
    pair.set_big("a", &["EX", "100"]);
    pair.set_big("b", &["EX", "50"]);
    pair.set_big("c", &["EX", "200"]);
    pair.set_big("d", &[]);
    let all = ["a", "b", "c", "d", "e", "f", "g", "h"];
    assert_eq!(pair.set_big("e", &[]), Reply::ok());
    assert_eq!(pair.existing(&all), ["a", "c", "d", "e"]);
    pair.set_big("f", &["EX", "10"]);
    assert_eq!(pair.existing(&all), ["c", "d", "e", "f"]);
    pair.set_big("g", &[]);
    pair.set_big("h", &[]);
    assert_eq!(pair.existing(&all), ["d", "e", "g", "h"]);
    assert_eq!(pair.set_big("i", &[]), oom());
}

/// allkeys-lru and volatile-lru evict the key idle longest (Redis's LRU clock counts whole
/// seconds, so the keys are touched 1.1 s apart); volatile-lru spares keys without a TTL.
/// `MEMORY USAGE` leaves a key's LRU clock as it was (`memoryCommand` finds the key in the
/// dictionary without a lookup that touches it).
#[test]
fn lru_policies_evict_the_key_idle_longest() {
    let Some(redis) = resp::scripted_server() else {
        return;
    };
    let pause = || std::thread::sleep(Duration::from_millis(1_100));
    let mut pair = Pair::new(&redis, Policy::AllKeysLru);
    for key in ["a", "b", "c", "d"] {
        pair.set_big(key, &[]);
        pause();
    }
    pair.check(&["PERSIST", "a"]); // a write's lookup: touched (EXISTS would not be)
                                   // The model's MEMORY USAGE finds b without touching it, so b stays the key idle longest,
                                   // as redis-server's does (there `OBJECT IDLETIME` is unchanged by it). It is asked of the
                                   // model alone: on the real side, a command between the big writes changes what the
                                   // connection's query buffer holds when `e` is written.
    assert!(pair.model_usage("b") > 0);
    assert_eq!(pair.set_big("e", &[]), Reply::ok());
    assert_eq!(
        pair.existing(&["a", "b", "c", "d", "e"]),
        ["a", "c", "d", "e"]
    );

    // New names: Redis's pool keeps the candidates it sampled, by name.
    pair.check(&["DEL", "a", "c", "d", "e"]);
    pair.limit(Policy::VolatileLru, BUDGET);
    pair.set_big("p", &[]);
    pause();
    pair.set_big("q", &["EX", "1000"]);
    pause();
    pair.set_big("r", &["EX", "1000"]);
    pair.set_big("s", &[]);
    assert_eq!(pair.set_big("t", &[]), Reply::ok());
    let all = ["p", "q", "r", "s", "t", "u", "v"];
    assert_eq!(pair.existing(&all), ["p", "r", "s", "t"]);
    pair.set_big("u", &[]);
    assert_eq!(pair.existing(&all), ["p", "s", "t", "u"]);
    assert_eq!(pair.set_big("v", &[]), oom());
}

/// The random policies evict as many keys as Redis does (which ones is drawn), and
/// volatile-random only keys with a TTL.
#[test]
fn random_policies_evict_as_many_keys_as_redis_server() {
    let Some(redis) = resp::scripted_server() else {
        return;
    };
    let mut pair = Pair::new(&redis, Policy::AllKeysRandom);
    let all = ["a", "b", "c", "d", "e", "f"];
    for key in ["a", "b", "c", "d", "e", "f"] {
        assert_eq!(pair.set_big(key, &[]), Reply::ok());
    }
    assert_eq!(pair.count_existing(&all), (4, 4));
    pair.check(&["DEL", "a", "b", "c", "d", "e", "f"]);
    pair.limit(Policy::VolatileRandom, BUDGET);
    pair.set_big("a", &[]);
    pair.set_big("b", &["EX", "1000"]);
    pair.set_big("c", &[]);
    pair.set_big("d", &[]);
    pair.set_big("e", &[]);
    assert_eq!(pair.existing(&all), ["a", "c", "d", "e"]);
    assert_eq!(pair.set_big("f", &[]), oom());
}

/// The model's size of RQ's key shapes is within 15 % of what redis-server's `MEMORY USAGE`
/// says (every element counted, `SAMPLES 0`): job hashes as RQ 2.12 writes them, small and
/// with a payload that turns the hash into a hash table, queues, registries, the queue set,
/// the scheduler lock, a worker hash.
#[test]
fn sizes_of_rqs_keys_agree_with_memory_usage() {
    let Some(redis) = resp::scripted_server() else {
        return;
    };
    let mut pair = Pair::new(&redis, Policy::NoEviction);
    let id = |n: usize| format!("{n:08}-da6c-4465-a076-ad7244dc09d9");
    let stamp = "2026-12-07T20:00:00.123456Z";
    let mut job = vec!["HSET".to_string(), "rq:job:small".to_string()];
    for (field, value) in [
        ("status", "queued"),
        ("created_at", stamp),
        ("data", &"x".repeat(45)[..]),
        ("success_callback_name", ""),
        ("failure_callback_name", ""),
        ("stopped_callback_name", ""),
        ("started_at", ""),
        ("ended_at", ""),
        ("last_heartbeat", ""),
        ("worker_name", ""),
        ("group_id", ""),
        ("retries_left", "3"),
        ("retry_intervals", "[10, 30, 60]"),
        ("origin", "default"),
        ("description", "jobs.work(0.1)"),
        ("enqueued_at", stamp),
        ("timeout", "180"),
    ] {
        job.extend([field.to_string(), value.to_string()]);
    }
    let mut big_job = job.clone();
    big_job[1] = "rq:job:big".into();
    big_job[7] = "x".repeat(300);
    let mut commands: Vec<Vec<String>> = vec![job, big_job];
    for (key, count) in [
        ("rq:queue:one", 1),
        ("rq:queue:some", 100),
        ("rq:queue:many", 10_000),
    ] {
        let mut push = vec!["RPUSH".to_string(), key.to_string()];
        push.extend((0..count).map(id));
        commands.push(push);
    }
    for (key, count) in [("rq:wip:some", 10), ("rq:wip:many", 1_000)] {
        let mut add = vec!["ZADD".to_string(), key.to_string()];
        for n in 0..count {
            add.extend([format!("{}.{n:03}", 1_765_137_600 + n), id(n)]);
        }
        commands.push(add);
    }
    let strings = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    commands.push(strings(&[
        "SADD",
        "rq:queues",
        "rq:queue:default",
        "rq:queue:high",
    ]));
    commands.push(strings(&[
        "SET",
        "rq:scheduler-lock:default",
        "worker-1",
        "EX",
        "61",
    ]));
    commands.push(strings(&[
        "HSET",
        "rq:worker:w1",
        "birth",
        stamp,
        "last_heartbeat",
        stamp,
        "queues",
        "default",
        "pid",
        "4242",
        "hostname",
        "pod-1",
        "ip_address",
        "10.0.0.7",
        "version",
        "2.12.0",
        "python_version",
        "3.11.2",
        "state",
        "busy",
        "current_job",
        &id(7),
    ]));
    for command in &commands {
        let words: Vec<&str> = command.iter().map(String::as_str).collect();
        pair.check(&words);
    }
    for command in &commands {
        let key = command[1].as_str();
        let (model, real) = (
            pair.model_usage(key),
            match pair.admin.call(&["MEMORY", "USAGE", key, "SAMPLES", "0"]) {
                Reply::Int(n) => n,
                other => panic!("MEMORY USAGE {key}: {other:?}"),
            },
        );
        let error = (model - real).abs() as f64 / real as f64;
        assert!(
            error <= 0.15,
            "{key}: model {model} B, redis-server {real} B"
        );
    }
}
