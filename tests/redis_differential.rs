//! Differential test: random command sequences run against the model and against a real
//! `redis-server` (started here on a free port); every reply must be the same.
//!
//! Sequences use three keys for every type, so commands collide and hit WRONGTYPE; they mix in
//! arity and syntax errors, MULTI/EXEC blocks (with WATCH and a second connection writing in
//! between), blocking pops on lists known to be non-empty, TTL commands, and RQ's two lock
//! scripts (real Redis runs their Lua text, the model its native version). Allowed
//! differences: TTL ±1 s and PTTL ±1000 ms (the real clock moves), XADD ids (shape only),
//! SMEMBERS order. EXPIRE's GT and LT are left to the unit tests: with equal TTLs their
//! answer depends on whether a millisecond passed between two commands. Cases:
//! `SIMRQ_DIFF_CASES` (default 256), drawn from a fixed seed unless `SIMRQ_PROPTEST_SEED` says
//! otherwise (`random` explores). Without `redis-server` on PATH the test says SKIPPED on
//! stderr, and fails if `SIMRQ_REQUIRE_REDIS=1`.

#[path = "support/proptest_seed.rs"]
mod proptest_seed;
#[path = "support/resp.rs"]
mod resp;

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use simrq::redis::{
    Command, ConnId, Outcome, Reply, Server, ACQUIRE_OR_REFRESH_LOCK_SCRIPT,
    ACQUIRE_OR_REFRESH_LOCK_SHA, RELEASE_LOCK_SCRIPT, RELEASE_LOCK_SHA,
};
use simrq::sim::{SimDuration, SimTime};

type Words = Vec<String>;

macro_rules! words {
    ($($word:expr),* $(,)?) => { vec![$($word.to_string()),*] };
}

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(options).prop_map(str::to_string)
}

fn key() -> impl Strategy<Value = String> {
    pick(&["a", "b", "c"])
}

fn value() -> impl Strategy<Value = String> {
    pick(&["x", "y", "1", "-3", "1.5"])
}

fn field() -> impl Strategy<Value = String> {
    pick(&["f", "g", "h"])
}

fn integer() -> impl Strategy<Value = String> {
    pick(&["0", "1", "2", "-1", "-2", "5", "x", "100"])
}

fn side() -> impl Strategy<Value = String> {
    pick(&["LEFT", "RIGHT", "left", "UP"])
}

fn strings_and_keys() -> impl Strategy<Value = Words> {
    let set_options = prop::sample::subsequence(
        &[
            "NX",
            "XX",
            "EX 100",
            "PX 100000",
            "KEEPTTL",
            "GET",
            "EX 0",
            "EX x",
        ][..],
        0..3,
    );
    prop_oneof![
        (key(), value(), set_options).prop_map(|(k, v, options)| {
            let mut words = words!["SET", k, v];
            words.extend(
                options
                    .iter()
                    .flat_map(|o| o.split(' '))
                    .map(str::to_string),
            );
            words
        }),
        key().prop_map(|k| words!["GET", k]),
        (key(), key()).prop_map(|(k, l)| words!["DEL", k, l]),
        (key(), key()).prop_map(|(k, l)| words!["EXISTS", k, l, k]),
        key().prop_map(|k| words!["TYPE", k]),
        (
            key(),
            pick(&["-1", "0", "100", "1000", "x"]),
            pick(&["", "NX", "XX", "NX XX", "FOO"])
        )
            .prop_map(|(k, n, flag)| {
                let mut words = words!["EXPIRE", k, n];
                words.extend(flag.split_whitespace().map(str::to_string));
                words
            }),
        (key(), pick(&["100000", "0", "-5"])).prop_map(|(k, n)| words!["PEXPIRE", k, n]),
        key().prop_map(|k| words!["TTL", k]),
        key().prop_map(|k| words!["PTTL", k]),
        key().prop_map(|k| words!["PERSIST", k]),
    ]
}

fn hashes() -> impl Strategy<Value = Words> {
    let float = pick(&[
        "0.1",
        "0.2",
        "1.5",
        "-2.25",
        "12345.678",
        "1e3",
        "3.0e-5",
        "x",
        "10.50",
    ]);
    prop_oneof![
        (key(), field(), value()).prop_map(|(k, f, v)| words!["HSET", k, f, v]),
        (key(), field(), value(), field(), value())
            .prop_map(|(k, f, v, g, w)| words!["HSET", k, f, v, g, w]),
        (key(), field()).prop_map(|(k, f)| words!["HSET", k, f]),
        (key(), field()).prop_map(|(k, f)| words!["HGET", k, f]),
        key().prop_map(|k| words!["HGETALL", k]),
        (key(), field(), field()).prop_map(|(k, f, g)| words!["HDEL", k, f, g]),
        (key(), field()).prop_map(|(k, f)| words!["HEXISTS", k, f]),
        (key(), field(), integer()).prop_map(|(k, f, n)| words!["HINCRBY", k, f, n]),
        (key(), field(), float).prop_map(|(k, f, x)| words!["HINCRBYFLOAT", k, f, x]),
        key().prop_map(|k| words!["HLEN", k]),
    ]
}

fn lists() -> impl Strategy<Value = Words> {
    prop_oneof![
        (pick(&["LPUSH", "RPUSH"]), key(), value()).prop_map(|(c, k, v)| words![c, k, v]),
        (pick(&["LPUSH", "RPUSH"]), key(), value(), value())
            .prop_map(|(c, k, v, w)| words![c, k, v, w]),
        (pick(&["LPOP", "RPOP"]), key()).prop_map(|(c, k)| words![c, k]),
        (pick(&["LPOP", "RPOP"]), key(), integer()).prop_map(|(c, k, n)| words![c, k, n]),
        (key(), integer(), integer()).prop_map(|(k, i, j)| words!["LRANGE", k, i, j]),
        (key(), integer(), value()).prop_map(|(k, n, v)| words!["LREM", k, n, v]),
        key().prop_map(|k| words!["LLEN", k]),
        (key(), key(), side(), side()).prop_map(|(k, l, s, t)| words!["LMOVE", k, l, s, t]),
    ]
}

fn sets() -> impl Strategy<Value = Words> {
    prop_oneof![
        (key(), value(), value()).prop_map(|(k, m, n)| words!["SADD", k, m, n]),
        (key(), value()).prop_map(|(k, m)| words!["SREM", k, m]),
        key().prop_map(|k| words!["SMEMBERS", k]),
        (key(), value()).prop_map(|(k, m)| words!["SISMEMBER", k, m]),
        key().prop_map(|k| words!["SCARD", k]),
    ]
}

fn zsets() -> impl Strategy<Value = Words> {
    let score = || {
        pick(&[
            "0", "1", "2", "1.5", "-inf", "+inf", "x", "1e3", "-2", "0.1",
        ])
    };
    let bound = || pick(&["-inf", "+inf", "0", "1", "(1", "2", "(2", "x", "1.5"]);
    let flags = prop::sample::subsequence(&["NX", "XX", "GT", "LT", "CH", "INCR"][..], 0..3);
    let limit = prop::option::of((integer(), integer()));
    prop_oneof![
        (
            key(),
            flags,
            score(),
            value(),
            prop::option::of((score(), value()))
        )
            .prop_map(|(k, flags, s, m, more)| {
                let mut words = words!["ZADD", k];
                words.extend(flags.iter().map(|f| f.to_string()));
                words.extend([s, m]);
                if let Some((s, m)) = more {
                    words.extend([s, m]);
                }
                words
            }),
        (key(), value()).prop_map(|(k, m)| words!["ZREM", k, m]),
        (key(), value()).prop_map(|(k, m)| words!["ZSCORE", k, m]),
        key().prop_map(|k| words!["ZCARD", k]),
        (key(), bound(), bound(), any::<bool>(), limit).prop_map(|(k, min, max, scores, limit)| {
            let mut words = words!["ZRANGEBYSCORE", k, min, max];
            if scores {
                words.push("WITHSCORES".to_string());
            }
            if let Some((offset, count)) = limit {
                words.extend(words!["LIMIT", offset, count]);
            }
            words
        }),
        (key(), bound(), bound()).prop_map(|(k, min, max)| words!["ZREMRANGEBYSCORE", k, min, max]),
        (key(), -4i64..5, -4i64..5).prop_map(|(k, start, stop)| words![
            "ZREMRANGEBYRANK",
            k,
            start.to_string(),
            stop.to_string()
        ]),
        (key(), -4i64..5, -4i64..5, any::<bool>()).prop_map(|(k, start, stop, scores)| {
            let mut words = words!["ZRANGE", k, start.to_string(), stop.to_string()];
            if scores {
                words.push("WITHSCORES".to_string());
            }
            words
        }),
    ]
}

fn others() -> impl Strategy<Value = Words> {
    let name = || pick(&["s1", "s2"]);
    prop_oneof![
        (key(), value()).prop_map(|(k, v)| words!["XADD", k, "MAXLEN", "~", "10", "*", "f", v]),
        key().prop_map(|k| words!["XLEN", k]),
        (key(), name(), pick(&["61", "61", "0", "x"])).prop_map(|(k, n, ttl)| words![
            "EVAL",
            ACQUIRE_OR_REFRESH_LOCK_SCRIPT,
            1,
            k,
            n,
            ttl
        ]),
        (key(), name()).prop_map(|(k, n)| words!["EVAL", RELEASE_LOCK_SCRIPT, 1, k, n]),
        (key(), name()).prop_map(|(k, n)| words![
            "EVALSHA",
            ACQUIRE_OR_REFRESH_LOCK_SHA,
            1,
            k,
            n,
            61
        ]),
        (key(), name()).prop_map(|(k, n)| words!["EVALSHA", RELEASE_LOCK_SHA, 1, k, n]),
        Just(words!["PING"]),
        Just(words!["PING", "hello"]),
        Just(words!["CLIENT", "SETNAME"]),
        Just(words!["CLIENT", "NOSUCH"]),
        (
            key(),
            pick(&["*", "1-1", "0-0", "5", "x"]),
            pick(&["", "MAXLEN", "MAXLEN ~", "MAXLEN ="])
        )
            .prop_map(|(k, id, trim)| {
                let mut words = words!["XADD", k];
                words.extend(trim.split_whitespace().map(str::to_string));
                if !trim.is_empty() {
                    words.push("2".to_string());
                }
                words.extend(words![id, "f", "v"]);
                words
            }),
        (pick(&["0", "2", "-1", "x"]), key())
            .prop_map(|(n, k)| { words!["EVAL", ACQUIRE_OR_REFRESH_LOCK_SCRIPT, n, k, "s1"] }),
        key().prop_map(|k| words!["EVAL", RELEASE_LOCK_SCRIPT, 1, k]),
        (key(), field(), field()).prop_map(|(k, f, g)| words!["HMGET", k, f, g]),
        (key(), pick(&["-1", "x", "1e400", "inf"])).prop_map(|(k, t)| words!["BLPOP", k, t]),
        (key(), key(), pick(&["-1", "x"]))
            .prop_map(|(k, l, t)| words!["BLMOVE", k, l, "LEFT", "LEFT", t]),
        Just(words!["CLIENT", "SETNAME", "worker"]),
        Just(words!["NOSUCH", "a", "b"]),
        key().prop_map(|k| words!["LPUSH", k]),
        Just(words!["GET"]),
        key().prop_map(|k| words!["ZADD", k, "1"]),
        // No connection of these sequences subscribes (a pushed message would interleave
        // with the replies): PUBLISH counts 0; `pubsub_agrees_with_redis_server` subscribes.
        (key(), value()).prop_map(|(k, v)| words!["PUBLISH", k, v]),
        Just(words!["PUBLISH", "a"]),
        (key(), key()).prop_map(|(k, l)| words!["PUBSUB", "NUMSUB", k, l]),
        Just(words!["PUBSUB", "NUMSUB"]),
        Just(words!["PUBSUB"]),
    ]
}

fn any_command() -> impl Strategy<Value = Words> {
    prop_oneof![
        strings_and_keys(),
        hashes(),
        lists(),
        sets(),
        zsets(),
        others()
    ]
}

/// Blocking pops, used where they cannot block: inside MULTI, or right after a push.
fn blocking_pop() -> impl Strategy<Value = Words> {
    prop_oneof![
        (key(), key(), side(), side())
            .prop_map(|(k, l, s, t)| words!["BLMOVE", k, l, s, t, "0.01"]),
        (key(), key()).prop_map(|(k, l)| words!["BLPOP", k, l, "0.01"]),
    ]
}

fn transaction_body() -> impl Strategy<Value = Vec<Words>> {
    let inside = prop_oneof![
        8 => any_command(),
        2 => blocking_pop(),
        1 => (key(), key()).prop_map(|(k, l)| words!["BLMOVE", k, l, "RIGHT", "LEFT", "0"]),
        1 => Just(words!["MULTI"]),
        1 => key().prop_map(|k| words!["WATCH", k]),
        1 => Just(words!["UNWATCH"]),
    ];
    prop::collection::vec(inside, 0..5)
}

#[derive(Clone)]
enum Step {
    Command {
        conn: usize,
        words: Words,
    },
    /// A push, then a blocking pop of the same list (so it is answered at once).
    PushThenPop {
        push: Words,
        pop: Words,
    },
    /// WATCH on connection 0, commands from either connection, then MULTI … EXEC|DISCARD.
    Transaction {
        watch: Vec<String>,
        between: Vec<(usize, Words)>,
        body: Vec<Words>,
        discard: bool,
    },
}

impl Step {
    /// The commands a transaction step sends before MULTI: its WATCH (if any) on connection 0,
    /// then the commands of either connection in between.
    fn prelude(watch: &[String], between: &[(usize, Words)]) -> Vec<(usize, Words)> {
        let mut commands = Vec::new();
        if !watch.is_empty() {
            let mut words = words!["WATCH"];
            words.extend(watch.iter().cloned());
            commands.push((0, words));
        }
        commands.extend(between.iter().cloned());
        commands
    }

    /// `MULTI`, the body, then `EXEC` or `DISCARD`.
    fn transaction(body: &[Words], discard: bool) -> Vec<Words> {
        let mut request = vec![words!["MULTI"]];
        request.extend(body.iter().cloned());
        request.push(if discard {
            words!["DISCARD"]
        } else {
            words!["EXEC"]
        });
        request
    }
}

fn step() -> impl Strategy<Value = Step> {
    let command =
        (0..2usize, any_command()).prop_map(|(conn, words)| Step::Command { conn, words });
    let push_pop = (key(), value(), key(), side(), side(), any::<bool>()).prop_map(
        |(k, v, l, s, t, blpop)| Step::PushThenPop {
            push: words!["RPUSH", k, v],
            pop: if blpop {
                words!["BLPOP", k, l, "0.01"]
            } else {
                words!["BLMOVE", k, l, s, t, "0.01"]
            },
        },
    );
    let transaction = (
        prop::collection::vec(key(), 0..3),
        prop::collection::vec((0..2usize, any_command()), 0..3),
        transaction_body(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(watch, between, body, discard)| Step::Transaction {
            watch,
            between,
            body,
            discard,
        });
    prop_oneof![6 => command, 1 => push_pop, 2 => transaction]
}

/// Shows a command with the lock scripts' text abbreviated.
fn show(words: &[String]) -> String {
    words
        .iter()
        .map(|w| match w.as_str() {
            ACQUIRE_OR_REFRESH_LOCK_SCRIPT => "<acquire-or-refresh script>".to_string(),
            RELEASE_LOCK_SCRIPT => "<release script>".to_string(),
            _ => w.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Command { conn, words } => write!(f, "[conn {conn}] {}", show(words)),
            Step::PushThenPop { push, pop } => write!(f, "[conn 0] {} ; {}", show(push), show(pop)),
            Step::Transaction {
                watch,
                between,
                body,
                discard,
            } => {
                write!(f, "[conn 0] WATCH {:?}", watch)?;
                for (conn, words) in between {
                    write!(f, " ; [conn {conn}] {}", show(words))?;
                }
                write!(f, " ; [conn 0] MULTI")?;
                for words in body {
                    write!(f, " ; {}", show(words))?;
                }
                write!(f, " ; {}", if *discard { "DISCARD" } else { "EXEC" })
            }
        }
    }
}

/// One run of a sequence against both servers.
struct Pair<'a> {
    model: Server,
    clients: Vec<resp::Client>,
    started: Instant,
    coverage: &'a RefCell<Coverage>,
}

/// What kinds of replies the sequences produced, to show that the interesting cases happen.
#[derive(Default, Debug)]
struct Coverage {
    replies: u64,
    wrong_type: u64,
    other_errors: u64,
    exec_ran: u64,
    exec_watch_aborted: u64,
    exec_aborted: u64,
    script_errors: u64,
}

impl Coverage {
    fn count(&mut self, words: &[String], reply: &Reply) {
        self.replies += 1;
        let name = words[0].to_ascii_uppercase();
        match reply {
            Reply::Error(e) if e.contains(" script: ") => self.script_errors += 1,
            Reply::Error(e) if e.starts_with("WRONGTYPE") => self.wrong_type += 1,
            Reply::Error(e) if e.starts_with("EXECABORT") => self.exec_aborted += 1,
            Reply::Error(_) => self.other_errors += 1,
            Reply::NilArray if name == "EXEC" => self.exec_watch_aborted += 1,
            Reply::Array(_) if name == "EXEC" => self.exec_ran += 1,
            _ => {}
        }
    }
}

impl Pair<'_> {
    fn now(&self) -> SimTime {
        SimTime::from_secs(1_000_000)
            + SimDuration::from_micros(self.started.elapsed().as_micros() as u64)
    }

    /// Runs `words` on connection `conn` of both; the model's and the real reply.
    fn run(&mut self, conn: usize, words: &[String]) -> (Reply, Reply) {
        let now = self.now();
        let id = ConnId(conn as u64);
        let model = match self.model.execute(now, id, &[Command::from_words(words)]) {
            Outcome::Replies(mut replies) => replies.pop().expect("one reply"),
            Outcome::Blocked { .. } => {
                let later = now + SimDuration::from_millis(10);
                self.model
                    .block_timed_out(later, id)
                    .expect("still blocked")
            }
        };
        let real = self.clients[conn].call(words);
        (model, real)
    }

    fn check(
        &mut self,
        conn: usize,
        words: &[String],
        queued: &[Words],
    ) -> Result<Reply, TestCaseError> {
        let (model, real) = self.run(conn, words);
        self.coverage.borrow_mut().count(words, &real);
        if same(words, &model, &real, queued) {
            Ok(real)
        } else {
            Err(TestCaseError::fail(format!(
                "`{}` on conn {conn}: model replied {model:?}, redis-server replied {real:?}",
                show(words)
            )))
        }
    }

    fn step(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Command { conn, words } => self.check(*conn, words, &[]).map(drop),
            Step::PushThenPop { push, pop } => {
                self.check(0, push, &[])?;
                self.check(0, pop, &[]).map(drop)
            }
            Step::Transaction {
                watch,
                between,
                body,
                discard,
            } => {
                for (conn, words) in Step::prelude(watch, between) {
                    self.check(conn, &words, &[])?;
                }
                let request = Step::transaction(body, *discard);
                let (multi, rest) = request.split_first().expect("MULTI first");
                let (end, body) = rest.split_last().expect("EXEC or DISCARD last");
                self.check(0, multi, &[])?;
                let mut queued = Vec::new();
                for words in body {
                    if self.check(0, words, &[])? == Reply::Status("QUEUED".into()) {
                        queued.push(words.clone());
                    }
                }
                self.check(0, end, &queued).map(drop)
            }
        }
    }
}

/// Whether two replies to `words` agree, with the allowed differences.
fn same(words: &[String], model: &Reply, real: &Reply, queued: &[Words]) -> bool {
    let name = words
        .first()
        .map(|w| w.to_ascii_uppercase())
        .unwrap_or_default();
    match (name.as_str(), model, real) {
        ("TTL", Reply::Int(m), Reply::Int(r)) if *m >= 0 && *r >= 0 => (m - r).abs() <= 1,
        ("PTTL", Reply::Int(m), Reply::Int(r)) if *m >= 0 && *r >= 0 => (m - r).abs() <= 1000,
        ("XADD", Reply::Bulk(m), Reply::Bulk(r)) => is_stream_id(m) && is_stream_id(r),
        ("SMEMBERS", Reply::Array(m), Reply::Array(r)) => sorted(m) == sorted(r),
        ("EXEC", Reply::Array(m), Reply::Array(r)) => {
            m.len() == r.len()
                && m.len() == queued.len()
                && queued
                    .iter()
                    .zip(m.iter().zip(r))
                    .all(|(words, (m, r))| same(words, m, r, &[]))
        }
        _ => model == real,
    }
}

fn is_stream_id(text: &str) -> bool {
    text.split_once('-')
        .is_some_and(|(ms, seq)| ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok())
}

fn sorted(items: &[Reply]) -> Vec<String> {
    let mut texts: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
    texts.sort();
    texts
}

fn cases() -> u32 {
    std::env::var("SIMRQ_DIFF_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(256)
}

#[test]
fn model_agrees_with_redis_server() {
    let Some(binary) = resp::find_redis_server() else {
        // Straight to the stderr handle: the test harness captures `eprintln!` of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: redis-server not found; the differential test did not run"
        );
        assert!(
            std::env::var("SIMRQ_REQUIRE_REDIS").as_deref() != Ok("1"),
            "SIMRQ_REQUIRE_REDIS=1 but redis-server is not on PATH"
        );
        return;
    };
    let redis = resp::RedisServer::start(&binary);
    let mut admin = redis.client();
    let version = admin.call(&["INFO", "server"]);
    assert!(
        version
            .as_str()
            .unwrap_or("")
            .contains("redis_version:7.0."),
        "{version:?}"
    );
    for script in [ACQUIRE_OR_REFRESH_LOCK_SCRIPT, RELEASE_LOCK_SCRIPT] {
        admin.call(&["SCRIPT", "LOAD", script]);
    }
    let admin = RefCell::new(admin);
    let coverage = RefCell::new(Coverage::default());
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 10_000,
        rng_seed: proptest_seed::rng_seed(),
        ..Config::default()
    };
    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    let sequences = prop::collection::vec(step(), 1..25);
    let result = runner.run(&sequences, |steps| {
        assert_eq!(admin.borrow_mut().call(&["FLUSHALL"]), Reply::ok());
        let mut pair = Pair {
            model: Server::new(),
            clients: vec![redis.client(), redis.client()],
            started: Instant::now(),
            coverage: &coverage,
        };
        steps.iter().try_for_each(|step| pair.step(step))
    });
    match result {
        Ok(()) => drop(writeln!(
            std::io::stderr(),
            "{} sequences agreed in {:.1?}; {:?}",
            cases(),
            started.elapsed(),
            coverage.borrow()
        )),
        Err(TestError::Fail(reason, steps)) => {
            let listing: Vec<String> = steps.iter().map(|s| format!("  {s:?}")).collect();
            panic!(
                "minimal failing sequence:\n{}\n{reason}",
                listing.join("\n")
            );
        }
        Err(error) => panic!("{error}"),
    }
}

/// A scripted session on three connections (0 subscribes, 1 publishes, 2 asks NUMSUB): every
/// reply the same, and the message pushed to connection 0 the same as the model's.
#[test]
fn pubsub_agrees_with_redis_server() {
    let Some(redis) = resp::scripted_server() else {
        return;
    };
    let coverage = RefCell::new(Coverage::default());
    let mut pair = Pair {
        model: Server::new(),
        clients: vec![redis.client(), redis.client(), redis.client()],
        started: Instant::now(),
        coverage: &coverage,
    };
    let script: &[(usize, &[&str])] = &[
        (1, &["PUBLISH", "rq:pubsub:w", "{}"]),
        (0, &["UNSUBSCRIBE"]),
        (0, &["SUBSCRIBE", "rq:pubsub:w"]),
        (2, &["PUBSUB", "NUMSUB", "rq:pubsub:w", "other"]),
        (
            1,
            &["PUBLISH", "rq:pubsub:w", "{\"command\": \"shutdown\"}"],
        ),
    ];
    for (conn, words) in script {
        let words: Words = words.iter().map(|w| w.to_string()).collect();
        pair.check(*conn, &words, &[]).unwrap();
    }
    let pushed = pair.model.take_published();
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        pushed[0].1,
        pair.clients[0].read_reply(),
        "the pushed message"
    );
    let after: &[(usize, &[&str])] = &[
        (0, &["GET", "k"]),
        (0, &["PING"]),
        (0, &["PUBLISH", "x", "y", "z"]),
        (0, &["UNSUBSCRIBE", "rq:pubsub:w"]),
        (0, &["GET", "k"]),
        (1, &["PUBLISH", "rq:pubsub:w", "lost"]),
        (2, &["PUBSUB", "NUMSUB", "rq:pubsub:w"]),
    ];
    for (conn, words) in after {
        let words: Words = words.iter().map(|w| w.to_string()).collect();
        pair.check(*conn, &words, &[]).unwrap();
    }
}

/// Runs `steps` on a model server, sending each transaction either command by command (as the
/// differential test above does) or whole, as one request (as RQ's pipelines arrive); every
/// reply in order.
fn model_replies(steps: &[Step], whole_transactions: bool) -> Vec<Reply> {
    let mut server = Server::new();
    let mut replies = Vec::new();
    // One instant per step, so both ways see the same times (XADD ids, TTLs).
    let clock = std::cell::Cell::new(SimTime::from_secs(1_000_000));
    let mut send = |conn: usize, request: Vec<Words>| {
        let request: Vec<Command> = request.into_iter().map(Command::from_words).collect();
        match server.execute(clock.get(), ConnId(conn as u64), &request) {
            Outcome::Replies(answers) => replies.extend(answers),
            Outcome::Blocked { .. } => replies.push(Reply::Nil),
        }
    };
    for step in steps {
        clock.set(clock.get() + SimDuration::from_millis(1));
        match step {
            Step::Command { conn, words } => send(*conn, vec![words.clone()]),
            Step::PushThenPop { push, pop } => {
                send(0, vec![push.clone()]);
                send(0, vec![pop.clone()]);
            }
            Step::Transaction {
                watch,
                between,
                body,
                discard,
            } => {
                for (conn, words) in Step::prelude(watch, between) {
                    send(conn, vec![words]);
                }
                let request = Step::transaction(body, *discard);
                if whole_transactions {
                    send(0, request);
                } else {
                    request.into_iter().for_each(|words| send(0, vec![words]));
                }
            }
        }
    }
    replies
}

/// The server runs `MULTI … EXEC` written in one request straight from the request (no queued
/// copies); that must answer exactly as the same commands sent one by one, which the test
/// above checks against redis-server. Needs no redis-server.
#[test]
fn a_transaction_sent_whole_answers_as_one_sent_command_by_command() {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        rng_seed: proptest_seed::rng_seed(),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let sequences = prop::collection::vec(step(), 1..25);
    let result = runner.run(&sequences, |steps| {
        let (one_by_one, whole) = (model_replies(&steps, false), model_replies(&steps, true));
        prop_assert_eq!(one_by_one, whole);
        Ok(())
    });
    if let Err(TestError::Fail(reason, steps)) = result {
        panic!("sequence {steps:?}: {reason}");
    }
}

/// A server that refuses writes, as a primary short of replicas (`min-replicas-to-write`,
/// `NOREPLICAS`) and as a replica (`READONLY`) does: refused writes, reads that still run,
/// a transaction aborted by a refused write, PUBLISH, and RQ's lock scripts refused at their
/// write but not when they only read. The real server gets `CONFIG SET min-replicas-to-write
/// 1` (no replica is connected) and `REPLICAOF` a port nobody listens on.
#[test]
fn write_refusals_agree_with_redis_server() {
    let Some(redis) = resp::scripted_server() else {
        return;
    };
    let coverage = RefCell::new(Coverage::default());
    let mut pair = Pair {
        model: Server::new(),
        clients: vec![redis.client()],
        started: Instant::now(),
        coverage: &coverage,
    };
    let check = |pair: &mut Pair, words: &[&str]| {
        let words: Words = words.iter().map(|w| w.to_string()).collect();
        pair.check(0, &words, &[]).unwrap()
    };
    let lock = resp::lock_words;
    check(&mut pair, &["SET", "k", "v"]);
    check(&mut pair, &lock("s1"));
    let refusals = [
        (
            vec!["CONFIG", "SET", "min-replicas-to-write", "1"],
            "NOREPLICAS",
        ),
        (vec!["REPLICAOF", "127.0.0.1", "1"], "READONLY"),
    ];
    for (configure, refusal) in refusals {
        let mut admin = redis.client();
        admin.call(&configure);
        let refusal = match refusal {
            "NOREPLICAS" => simrq::redis::errors::NOREPLICAS,
            _ => simrq::redis::errors::READONLY,
        };
        pair.model.refuse_writes(Some(refusal));
        let refused = check(&mut pair, &["SET", "k", "w"]);
        assert_eq!(refused, Reply::Error(refusal.to_string()));
        check(&mut pair, &["GET", "k"]);
        check(&mut pair, &["HSET", "h", "f", "1"]);
        check(&mut pair, &["EXPIRE", "k", "100"]);
        check(&mut pair, &["MULTI"]);
        check(&mut pair, &["GET", "k"]);
        check(&mut pair, &["RPUSH", "l", "a"]);
        let aborted = check(&mut pair, &["EXEC"]);
        assert!(matches!(&aborted, Reply::Error(e) if e.starts_with("EXECABORT")));
        check(&mut pair, &["PUBLISH", "rq:pubsub:w", "{}"]);
        // Held by s1: another holder's script only reads; s1's refresh writes.
        assert_eq!(check(&mut pair, &lock("s2")), Reply::Int(0));
        let refresh = check(&mut pair, &lock("s1"));
        assert!(matches!(&refresh, Reply::Error(e) if e.contains(" script: ")));
        check(&mut pair, &["EXISTS", "k"]);
        pair.model.refuse_writes(None);
        admin.call(&["CONFIG", "SET", "min-replicas-to-write", "0"]);
        admin.call(&["REPLICAOF", "NO", "ONE"]);
    }
    check(&mut pair, &["SET", "k", "x"]);
}
