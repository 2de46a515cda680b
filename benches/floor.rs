//! The floor under simrq's speed: what RQ's per-job Redis work and a kernel round trip cost on
//! this machine when nothing is parsed, boxed or allocated. Not simrq's model: a typed sketch
//! of its primitives, to say how fast the model could be before judging what is possible.
//!
//! - `typed_job_mix`: one job's life as RQ 2.12 drives Redis (the same 49 commands as
//!   `benches/redis_model.rs`: enqueue transaction, BLMOVE, HGETALL, the prepare-execution and
//!   horse transactions, a heartbeat, the success transaction, a scheduler tick), on a keyspace
//!   of interned `u64` keys in a hash map, hashes as small vectors, lists as deques and sorted
//!   sets as sorted vectors. Reported per job; divide by 49 for a command.
//! - `unboxed_kernel`: pop the earliest event from a binary heap of packed `(time, seq, slot)`
//!   keys, dispatch an enum action, schedule the next one.
//!
//! `cargo bench --bench floor` (criterion; quote the medians).

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// A multiply-rotate hasher for `u64` keys: one multiplication per key.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type Map<V> = HashMap<u64, V, BuildHasherDefault<WordHasher>>;

/// Values of the sketch: fields and members are interned ids, numbers stay numbers.
enum Value {
    Hash(Vec<(u32, u64)>),
    List(VecDeque<u64>),
    Sorted(Vec<(i64, u64)>),
}

#[derive(Default)]
struct Keyspace {
    values: Map<Value>,
    expiry: Map<i64>,
}

const QUEUE: u64 = 1;
const INTERMEDIATE: u64 = 2;
const QUEUES: u64 = 3;
const WIP: u64 = 4;
const FINISHED: u64 = 5;
const WORKER: u64 = 6;
const LOCK: u64 = 7;
const SCHEDULED: u64 = 8;

/// Interned key ids of one job: `rq:job:<id>`, its execution hash and executions set.
fn job_keys(job: u64) -> (u64, u64, u64) {
    let base = (job + 1) << 8;
    (base | 1, base | 2, base | 3)
}

impl Keyspace {
    fn hash(&mut self, key: u64) -> &mut Vec<(u32, u64)> {
        match self
            .values
            .entry(key)
            .or_insert_with(|| Value::Hash(Vec::with_capacity(12)))
        {
            Value::Hash(fields) => fields,
            _ => unreachable!("the sketch never mixes types"),
        }
    }
    fn hset(&mut self, key: u64, pairs: &[(u32, u64)]) {
        let fields = self.hash(key);
        for &(field, value) in pairs {
            match fields.iter_mut().find(|(f, _)| *f == field) {
                Some(slot) => slot.1 = value,
                None => fields.push((field, value)),
            }
        }
    }
    fn hgetall(&mut self, key: u64) -> u64 {
        self.hash(key).iter().map(|(_, v)| *v).sum()
    }
    fn list(&mut self, key: u64) -> &mut VecDeque<u64> {
        match self
            .values
            .entry(key)
            .or_insert_with(|| Value::List(VecDeque::new()))
        {
            Value::List(items) => items,
            _ => unreachable!("the sketch never mixes types"),
        }
    }
    fn sorted(&mut self, key: u64) -> &mut Vec<(i64, u64)> {
        match self
            .values
            .entry(key)
            .or_insert_with(|| Value::Sorted(Vec::new()))
        {
            Value::Sorted(members) => members,
            _ => unreachable!("the sketch never mixes types"),
        }
    }
    fn zadd(&mut self, key: u64, score: i64, member: u64) {
        let members = self.sorted(key);
        members.retain(|(_, m)| *m != member);
        let at = members.partition_point(|entry| *entry < (score, member));
        members.insert(at, (score, member));
    }
    fn zrem(&mut self, key: u64, member: u64) {
        self.sorted(key).retain(|(_, m)| *m != member);
    }
    fn zrangebyscore(&mut self, key: u64, max: i64) -> usize {
        self.sorted(key).partition_point(|(score, _)| *score <= max)
    }
    fn expire(&mut self, key: u64, at: i64) {
        self.expiry.insert(key, at);
    }
    fn del(&mut self, key: u64) {
        self.values.remove(&key);
        self.expiry.remove(&key);
    }
}

/// One job's 49 commands, in the order and shape of benches/redis_model.rs.
fn job_life(keys: &mut Keyspace, job: u64, now: i64) -> u64 {
    let (job_key, exec_key, executions) = job_keys(job);
    let fields: [(u32, u64); 11] = std::array::from_fn(|f| (f as u32, job ^ f as u64));
    // Enqueue: MULTI, HSET (11 fields), RPUSH, SADD, EXEC.
    keys.hset(job_key, &fields);
    keys.list(QUEUE).push_back(job);
    keys.hset(QUEUES, &[(0, QUEUE)]);
    // BLMOVE, HGETALL.
    let moved = keys.list(QUEUE).pop_front().unwrap_or(job);
    keys.list(INTERMEDIATE).push_back(moved);
    let mut sum = keys.hgetall(job_key);
    // prepare_execution: HSET, EXPIRE, ZADD, EXPIRE, ZADD, HSET.
    keys.hset(
        exec_key,
        &[(20, job), (21, now as u64), (22, now as u64), (23, 1)],
    );
    keys.expire(exec_key, now + 90);
    keys.zadd(executions, now + 150, job);
    keys.expire(executions, now + 150);
    keys.zadd(WIP, now + 90, job);
    keys.hset(WORKER, &[(30, 1)]);
    // Horse: HSET, EXPIRE, HSET, PERSIST, a heartbeat (ZADD, EXPIRE, HSET).
    keys.hset(WORKER, &[(31, job), (32, 0), (33, now as u64)]);
    keys.expire(WORKER, now + 90);
    keys.hset(job_key, &[(11, now as u64), (12, 1), (13, now as u64)]);
    keys.expiry.remove(&job_key);
    keys.zadd(WIP, now + 120, job);
    keys.expire(exec_key, now + 120);
    keys.hset(exec_key, &[(22, now as u64)]);
    // Success: HSET result, ZADD finished, ZREM wip, LREM intermediate, DEL execution,
    // ZREM executions, HSET worker counters, EXPIRE job.
    keys.hset(job_key, &[(14, 2), (15, now as u64), (16, job)]);
    keys.zadd(FINISHED, now + 500, job);
    keys.zrem(WIP, job);
    keys.list(INTERMEDIATE).retain(|id| *id != job);
    keys.del(exec_key);
    keys.zrem(executions, job);
    keys.hset(WORKER, &[(34, job), (35, 1), (36, now as u64)]);
    keys.expire(job_key, now + 500);
    // A scheduler tick: lock refresh (GET, EXPIRE) and ZRANGEBYSCORE of the scheduled set.
    sum += keys.hgetall(LOCK);
    keys.expire(LOCK, now + 61);
    sum += keys.zrangebyscore(SCHEDULED, now) as u64;
    // Finished jobs expire 500 s later: drop the one that would expire now.
    if job >= 500 {
        let (old, _, _) = job_keys(job - 500);
        keys.del(old);
        keys.zrem(FINISHED, job - 500);
    }
    sum
}

fn typed_job_mix(c: &mut Criterion) {
    const JOBS: u64 = 10_000;
    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Elements(JOBS));
    group.bench_function("typed_job_mix (per job = 49 commands)", |b| {
        b.iter(|| {
            let mut keys = Keyspace::default();
            let mut sum = 0;
            for job in 0..JOBS {
                sum += job_life(&mut keys, job, job as i64 / 20);
            }
            black_box(sum)
        })
    });
    group.finish();
}

/// What an event does: wake a process or run a timer; no box, no closure.
#[derive(Clone, Copy)]
enum Action {
    Wake(u32),
    Timer(u32),
}

fn unboxed_kernel(c: &mut Criterion) {
    const EVENTS: u64 = 200_000;
    const PROCESSES: u32 = 200;
    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function("unboxed_kernel (per event)", |b| {
        b.iter(|| {
            // Slot `p` holds process p's next action: a popped slot is reused at once.
            let mut actions: Vec<Action> = (0..PROCESSES).map(Action::Wake).collect();
            let mut heap: BinaryHeap<std::cmp::Reverse<u128>> = (0..PROCESSES)
                .map(|p| {
                    std::cmp::Reverse(u128::from(p) << 64 | u128::from(p) << 24 | u128::from(p))
                })
                .collect();
            let mut woken = 0u64;
            for seq in (u128::from(PROCESSES)..).take(EVENTS as usize) {
                let std::cmp::Reverse(key) = heap.pop().expect("events remain");
                let (now, slot) = ((key >> 64) as u64, (key & 0xff_ffff) as usize);
                actions[slot] = match actions[slot] {
                    Action::Wake(p) => {
                        woken += 1;
                        Action::Timer(p)
                    }
                    Action::Timer(p) => Action::Wake(p),
                };
                let at = now + 1_000 + (now % 7);
                heap.push(std::cmp::Reverse(
                    u128::from(at) << 64 | seq << 24 | slot as u128,
                ));
            }
            black_box(woken)
        })
    });
    group.finish();
}

criterion_group!(benches, typed_job_mix, unboxed_kernel);
criterion_main!(benches);
