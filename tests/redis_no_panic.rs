//! The model must answer any request without panicking: random words, known command names
//! with random arguments, pipelines, blocking, timeouts, disconnects and restarts.

use proptest::prelude::*;
use simrq::redis::{Command, ConnId, Outcome, Server};
use simrq::sim::SimTime;

const NAMES: &[&str] = &[
    "GET",
    "SET",
    "DEL",
    "EXISTS",
    "TYPE",
    "EXPIRE",
    "PEXPIRE",
    "TTL",
    "PTTL",
    "PERSIST",
    "FLUSHALL",
    "HSET",
    "HMSET",
    "HGET",
    "HMGET",
    "HGETALL",
    "HLEN",
    "HEXISTS",
    "HDEL",
    "HINCRBY",
    "HINCRBYFLOAT",
    "LPUSH",
    "RPUSH",
    "LPOP",
    "RPOP",
    "LLEN",
    "LRANGE",
    "LREM",
    "LMOVE",
    "BLMOVE",
    "BLPOP",
    "SADD",
    "SREM",
    "SMEMBERS",
    "SISMEMBER",
    "SCARD",
    "ZADD",
    "ZREM",
    "ZSCORE",
    "ZCARD",
    "ZRANGEBYSCORE",
    "ZREMRANGEBYSCORE",
    "XADD",
    "XLEN",
    "EVAL",
    "EVALSHA",
    "SCRIPT",
    "PING",
    "ECHO",
    "INFO",
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH",
    "UNWATCH",
    "CLIENT",
    "nosuch",
    "",
];

const WORDS: &[&str] = &[
    "k",
    "l",
    "0",
    "1",
    "-1",
    "2",
    "1.5",
    "inf",
    "-inf",
    "+inf",
    "(1",
    "nan",
    "x",
    "",
    " ",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "1e400",
    "1e-400",
    "0x10",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "EX",
    "PX",
    "KEEPTTL",
    "GET",
    "LIMIT",
    "WITHSCORES",
    "LEFT",
    "RIGHT",
    "MAXLEN",
    "~",
    "=",
    "*",
    "0-0",
    "1-1",
    "SETNAME",
    "LIST",
    "LOAD",
    "EXISTS",
    "0.001",
    "1e60",
    "-1e-61",
    "123456789012345678901234567890.5",
    "1e14",
    "1e18",
    "\r\n",
];

fn command() -> impl Strategy<Value = Command> {
    (
        prop::sample::select(NAMES),
        prop::collection::vec(prop::sample::select(WORDS), 0..7),
    )
        .prop_map(|(name, args)| {
            let mut words = vec![name.to_string()];
            words.extend(args.iter().map(|a| a.to_string()));
            Command::from_words(words)
        })
}

#[derive(Debug, Clone)]
enum Action {
    Execute(u64, Vec<Command>),
    TimeOut(u64),
    Disconnect(u64),
    ActiveExpire,
    Restart(bool),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        10 => (0..3u64, prop::collection::vec(command(), 1..4))
            .prop_map(|(conn, request)| Action::Execute(conn, request)),
        1 => (0..3u64).prop_map(Action::TimeOut),
        1 => (0..3u64).prop_map(Action::Disconnect),
        1 => Just(Action::ActiveExpire),
        1 => any::<bool>().prop_map(Action::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_an_answer(actions in prop::collection::vec(action(), 1..40)) {
        let mut server = Server::new();
        for (step, action) in actions.into_iter().enumerate() {
            let now = SimTime::from_secs(step as u64);
            match action {
                Action::Execute(conn, request) => {
                    if let Outcome::Replies(replies) = server.execute(now, ConnId(conn), &request) {
                        prop_assert_eq!(replies.len(), request.len());
                    }
                }
                Action::TimeOut(conn) => {
                    server.block_timed_out(now, ConnId(conn));
                }
                Action::Disconnect(conn) => server.disconnect(ConnId(conn)),
                Action::ActiveExpire => {
                    server.active_expire(now);
                }
                Action::Restart(keep) => {
                    let snapshot = keep.then(|| server.snapshot());
                    server.restart(snapshot);
                }
            }
            server.take_unblocked();
        }
    }
}
