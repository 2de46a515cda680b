//! The command table: each command's name, arity (Redis's convention: `n` exactly `n` words
//! with the name, `-n` at least `n`) and handler.

use crate::redis::arg::Arg;
use crate::redis::blocking::{parse_blmove, parse_blpop, BlockingPop};
use crate::redis::keyspace::Db;
use crate::redis::reply::Reply;
use crate::redis::{hashes, keys, lists, scripts, sets, streams, zsets};
use crate::sim::SimTime;

/// A command on the keyspace: arguments without the command name.
pub type DataCommand = fn(&mut Db, SimTime, &[Arg]) -> Reply;

#[derive(Clone, Copy)]
pub enum Handler {
    Data(DataCommand),
    /// BLMOVE, BLPOP: parse, then pop now or block.
    Blocking(fn(&[Arg]) -> Result<BlockingPop, Reply>),
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    /// CLIENT subcommands: they read and write connection state.
    Client,
    /// SUBSCRIBE, UNSUBSCRIBE, PUBLISH and PUBSUB: the server's channels (`pubsub.rs`).
    Subscribe,
    Unsubscribe,
    Publish,
    Pubsub,
}

pub struct Spec {
    pub name: &'static str,
    pub arity: i32,
    pub handler: Handler,
    /// For container commands (CLIENT, SCRIPT): each subcommand's name and arity, counted
    /// with the command name as Redis counts them.
    pub subcommands: &'static [(&'static str, i32)],
}

/// Redis's arity convention: `n` exactly `n` words with the name, `-n` at least `n`.
fn arity_allows(arity: i32, words: usize) -> bool {
    if arity >= 0 {
        words as i64 == arity as i64
    } else {
        words as i64 >= -(arity as i64)
    }
}

impl Spec {
    /// Whether `words` (the name included) is a valid count for this command.
    pub fn arity_ok(&self, words: usize) -> bool {
        arity_allows(self.arity, words)
    }

    /// The error Redis gives before running a container command with an unknown subcommand
    /// or the wrong number of arguments for it (`words` includes the command name).
    pub fn subcommand_error(&self, words: &[Arg]) -> Option<Reply> {
        if self.subcommands.is_empty() {
            return None;
        }
        let sub = words.get(1).map(Arg::as_str).unwrap_or("");
        let Some((name, arity)) = self
            .subcommands
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(sub))
        else {
            let container = self.name.to_ascii_uppercase();
            return Some(crate::redis::errors::unknown_subcommand(sub, &container));
        };
        if arity_allows(*arity, words.len()) {
            None
        } else {
            Some(crate::redis::errors::arity(&format!(
                "{}|{name}",
                self.name
            )))
        }
    }

    /// Commands Redis flags `write`: what a read-only replica (`READONLY`) and a primary short
    /// of replicas (`NOREPLICAS`) refuse before running them. Scripts are not flagged: a
    /// script's own writes are refused as it makes them (`scripts.rs`).
    pub fn is_write(&self) -> bool {
        WRITES.contains(&self.name)
    }

    /// Commands Redis flags `denyoom` (they may grow memory): what a server out of memory
    /// refuses with `OOM`.
    pub fn is_denyoom(&self) -> bool {
        DENYOOM.contains(&self.name)
    }

    /// Commands that run at once inside MULTI instead of being queued.
    pub fn runs_inside_multi(&self) -> bool {
        matches!(
            self.handler,
            Handler::Multi | Handler::Exec | Handler::Discard | Handler::Watch
        )
    }
}

const fn data(name: &'static str, arity: i32, run: DataCommand) -> Spec {
    Spec {
        name,
        arity,
        handler: Handler::Data(run),
        subcommands: &[],
    }
}

const fn control(name: &'static str, arity: i32, handler: Handler) -> Spec {
    Spec {
        name,
        arity,
        handler,
        subcommands: &[],
    }
}

const fn container(
    name: &'static str,
    handler: Handler,
    subcommands: &'static [(&'static str, i32)],
) -> Spec {
    Spec {
        name,
        arity: -2,
        handler,
        subcommands,
    }
}

/// The table's commands that Redis flags `write` (`Spec::is_write`).
const WRITES: &[&str] = &[
    "set",
    "del",
    "expire",
    "pexpire",
    "persist",
    "flushall",
    "hset",
    "hmset",
    "hdel",
    "hincrby",
    "hincrbyfloat",
    "lpush",
    "rpush",
    "lpop",
    "rpop",
    "lrem",
    "lmove",
    "blmove",
    "blpop",
    "sadd",
    "srem",
    "zadd",
    "zrem",
    "zremrangebyscore",
    "zremrangebyrank",
    "xadd",
];

/// The table's commands that Redis flags `denyoom` (`Spec::is_denyoom`), as redis-server 7.0's
/// `COMMAND INFO` lists them.
const DENYOOM: &[&str] = &[
    "set",
    "hset",
    "hmset",
    "hincrby",
    "hincrbyfloat",
    "lpush",
    "rpush",
    "lmove",
    "blmove",
    "sadd",
    "zadd",
    "xadd",
];

static COMMANDS: &[Spec] = &[
    data("get", 2, keys::get),
    data("set", -3, keys::set),
    data("del", -2, keys::del),
    data("exists", -2, keys::exists),
    data("type", 2, keys::type_of),
    data("expire", -3, keys::expire),
    data("pexpire", -3, keys::pexpire),
    data("ttl", 2, keys::ttl),
    data("pttl", 2, keys::pttl),
    data("persist", 2, keys::persist),
    data("flushall", -1, keys::flushall),
    data("hset", -4, hashes::hset),
    data("hmset", -4, hashes::hmset),
    data("hget", 3, hashes::hget),
    data("hmget", -3, hashes::hmget),
    data("hgetall", 2, hashes::hgetall),
    data("hlen", 2, hashes::hlen),
    data("hexists", 3, hashes::hexists),
    data("hdel", -3, hashes::hdel),
    data("hincrby", 4, hashes::hincrby),
    data("hincrbyfloat", 4, hashes::hincrbyfloat),
    data("lpush", -3, lists::lpush),
    data("rpush", -3, lists::rpush),
    data("lpop", -2, lists::lpop),
    data("rpop", -2, lists::rpop),
    data("llen", 2, lists::llen),
    data("lrange", 4, lists::lrange),
    data("lrem", 4, lists::lrem),
    data("lmove", 5, lists::lmove),
    control("blmove", 6, Handler::Blocking(parse_blmove)),
    control("blpop", -3, Handler::Blocking(parse_blpop)),
    data("sadd", -3, sets::sadd),
    data("srem", -3, sets::srem),
    data("smembers", 2, sets::smembers),
    data("sismember", 3, sets::sismember),
    data("scard", 2, sets::scard),
    data("zadd", -4, zsets::zadd),
    data("zrem", -3, zsets::zrem),
    data("zscore", 3, zsets::zscore),
    data("zcard", 2, zsets::zcard),
    data("zrange", -4, zsets::zrange),
    data("zrangebyscore", -4, zsets::zrangebyscore),
    data("zremrangebyscore", 4, zsets::zremrangebyscore),
    data("zremrangebyrank", 4, zsets::zremrangebyrank),
    data("xadd", -5, streams::xadd),
    data("xlen", 2, streams::xlen),
    data("eval", -3, scripts::eval),
    data("evalsha", -3, scripts::evalsha),
    container(
        "script",
        Handler::Data(script),
        &[("load", 3), ("exists", -3), ("flush", -2)],
    ),
    data("ping", -1, ping),
    data("echo", 2, echo),
    data("info", -1, info),
    container("memory", Handler::Data(memory_usage), &[("usage", -3)]),
    control("multi", 1, Handler::Multi),
    control("exec", 1, Handler::Exec),
    control("discard", 1, Handler::Discard),
    control("watch", -2, Handler::Watch),
    control("unwatch", 1, Handler::Unwatch),
    container(
        "client",
        Handler::Client,
        &[("setname", 3), ("getname", 2), ("id", 2), ("list", -2)],
    ),
    control("subscribe", -2, Handler::Subscribe),
    control("unsubscribe", -1, Handler::Unsubscribe),
    control("publish", 3, Handler::Publish),
    container("pubsub", Handler::Pubsub, &[("numsub", -2)]),
];

/// The command named `name` (any ASCII case), found by a scan that can run at compile time:
/// `cmd!` resolves its literal name with it, so a command RQ sends costs no lookup when it
/// runs. [`lookup`] is the run-time search for textual commands.
pub const fn spec_named(name: &str) -> Option<&'static Spec> {
    let mut at = 0;
    while at < COMMANDS.len() {
        if same_name(COMMANDS[at].name, name) {
            return Some(&COMMANDS[at]);
        }
        at += 1;
    }
    None
}

/// `str::eq_ignore_ascii_case`, written out so that it runs at compile time under the
/// project's minimum Rust version.
const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut at = 0;
    while at < a.len() {
        if !a[at].eq_ignore_ascii_case(&b[at]) {
            return false;
        }
        at += 1;
    }
    true
}

/// Slots of the lookup table: a power of two over twice the number of commands, so that a
/// probe sequence stays short.
const SLOTS: usize = 128;

/// Bytes of the longest command name (`zremrangebyscore`): a name fits in two words.
const NAME_BYTES: usize = 16;

/// A name of at most [`NAME_BYTES`] bytes in two words and its length: the first and the
/// last eight bytes (four for shorter names, or the first, middle and last byte), windows
/// that may overlap but together cover the name, so that equal lengths and words mean equal
/// names. Fixed-width loads, not a copy of a variable length into a buffer (a `memcpy` call
/// that cost as much as the comparison it saves).
#[derive(Clone, Copy, PartialEq)]
struct NameWords {
    words: [u64; 2],
    len: usize,
}

impl NameWords {
    fn of(name: &str) -> Option<NameWords> {
        let bytes = name.as_bytes();
        let len = bytes.len();
        let u32_at = |at: usize| {
            u64::from(u32::from_le_bytes(
                bytes[at..at + 4].try_into().expect("four bytes"),
            ))
        };
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight"));
        let words = match len {
            0 => [0, 0],
            1..=3 => {
                let [first, middle, last] = [0, len / 2, len - 1].map(|at| u64::from(bytes[at]));
                [first | middle << 8 | last << 16, 0]
            }
            4..=7 => [u32_at(0), u32_at(len - 4)],
            8..=NAME_BYTES => [u64_at(0), u64_at(len - 8)],
            _ => return None,
        };
        Some(NameWords { words, len })
    }

    /// The home slot: a hash of both words with every byte's ASCII case bit set, so that
    /// every spelling of a command hashes alike (other names may share a slot: the
    /// comparison decides).
    fn slot(self) -> usize {
        const CASE_BITS: u64 = 0x2020_2020_2020_2020;
        let [low, high] = self.words.map(|word| word | CASE_BITS);
        let mixed =
            (low ^ high.rotate_left(29) ^ self.len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> (64 - SLOTS.trailing_zeros())) as usize
    }
}

/// One filled slot: the command's name in upper case (how clients send it) and its spec.
type Slot = Option<(NameWords, &'static Spec)>;

/// The command named `name` (any case), found without allocating: open addressing over a
/// hash of the name's words, built once. The upper-case spelling that clients send matches
/// on a comparison of two words; any other spelling on one ignoring ASCII case.
pub fn lookup(name: &str) -> Option<&'static Spec> {
    static TABLE: std::sync::OnceLock<[Slot; SLOTS]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        assert!(COMMANDS.len() * 2 <= SLOTS, "the lookup table is too small");
        let mut table = [None; SLOTS];
        for spec in COMMANDS {
            let upper = NameWords::of(&spec.name.to_ascii_uppercase()).expect("a short name");
            let mut slot = upper.slot();
            while table[slot].is_some() {
                slot = (slot + 1) % SLOTS;
            }
            table[slot] = Some((upper, spec));
        }
        table
    });
    let words = NameWords::of(name)?;
    let mut slot = words.slot();
    while let Some((upper, spec)) = table[slot] {
        if upper == words || spec.name.eq_ignore_ascii_case(name) {
            return Some(spec);
        }
        slot = (slot + 1) % SLOTS;
    }
    None
}

fn ping(_db: &mut Db, _now: SimTime, args: &[Arg]) -> Reply {
    match args {
        [] => Reply::Status("PONG".into()),
        [message] => Reply::Bulk(message.clone()),
        _ => crate::redis::errors::arity("ping"),
    }
}

fn echo(_db: &mut Db, _now: SimTime, args: &[Arg]) -> Reply {
    Reply::Bulk(args[0].clone())
}

/// The version RQ reads from `INFO server` (`rq/utils.py get_version`).
pub const REDIS_VERSION: &str = "7.0.15";

/// INFO, whatever the section: the model's server section (what RQ reads).
fn info(db: &mut Db, _now: SimTime, _args: &[Arg]) -> Reply {
    let mut text = format!(
        "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\n\
         os:simrq\r\narch_bits:64\r\ntcp_port:6379\r\n"
    );
    if let Some(memory) = &db.memory {
        let limit = memory.limit();
        text.push_str(&format!(
            "\r\n# Memory\r\nused_memory:{}\r\nused_memory_peak:{}\r\nmaxmemory:{}\r\n\
             maxmemory_policy:{}\r\n\r\n# Stats\r\nevicted_keys:{}\r\n",
            memory.used_bytes(0),
            memory.peak_bytes,
            limit.maxmemory,
            limit.policy.name(),
            memory.evicted_keys
        ));
    }
    Reply::Bulk(Arg::from(text))
}

/// MEMORY USAGE key [SAMPLES n]: the model's estimate of what the key costs (memory/size.rs),
/// as Redis counts it: the value, the key's name and its dictionary entry; nil if missing.
/// Redis finds the key in its dictionary without touching the key's LRU clock.
fn memory_usage(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let key = &args[1];
    match db.get_untouched(now, key) {
        Some(entry) => Reply::Int(crate::redis::memory::size::usage(key, entry) as i64),
        None => Reply::Nil,
    }
}

/// SCRIPT LOAD | EXISTS | FLUSH (subcommand and arity already checked).
fn script(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match args[0].to_ascii_lowercase().as_str() {
        "load" => scripts::script_load(db, now, &args[1..]),
        "exists" => scripts::script_exists(db, now, &args[1..]),
        _ => Reply::ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compile_time_scan_finds_what_the_run_time_lookup_finds() {
        for spec in COMMANDS {
            let upper = spec.name.to_ascii_uppercase();
            for name in [spec.name, upper.as_str(), &upper[..upper.len() - 1]] {
                let runtime = lookup(name).map(|s| s as *const Spec);
                assert_eq!(
                    spec_named(name).map(|s| s as *const Spec),
                    runtime,
                    "{name}"
                );
            }
        }
        for name in ["", "nope", "HSETX", "GET ", "ſet"] {
            assert!(spec_named(name).is_none(), "{name:?}");
        }
        // `cmd!` resolves its literal name at compile time.
        // (A constant holds a copy of the entry, not necessarily at the table's address.)
        const HSET: Option<&Spec> = spec_named("HSET");
        let (constant, table) = (HSET.unwrap(), lookup("hset").unwrap());
        assert_eq!((constant.name, constant.arity), (table.name, table.arity));
        let command = crate::cmd!("hSeT", "k", "f", 1);
        assert_eq!(command.spec().map(|s| s.name), Some("hset"));
        assert_eq!(crate::cmd!("NOSUCH", "k").spec().map(|s| s.name), None);
    }

    #[test]
    fn lookup_finds_every_command_in_any_case_and_nothing_else() {
        for spec in COMMANDS {
            let mixed: String = spec
                .name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            for name in [spec.name.to_string(), spec.name.to_ascii_uppercase(), mixed] {
                assert!(std::ptr::eq(lookup(&name).unwrap(), spec), "{name}");
            }
            let shorter = &spec.name[..spec.name.len() - 1];
            for other in [format!("{}x", spec.name), shorter.to_string()] {
                let real = COMMANDS.iter().any(|spec| spec.name == other);
                assert!(real || lookup(&other).is_none(), "{other}");
            }
        }
        // Every byte of a name is compared: a change anywhere finds nothing (or the command
        // really spelled so).
        for spec in COMMANDS {
            for at in 0..spec.name.len() {
                for byte in [b'x', b'0', 0, b'Q'] {
                    let mut bytes = spec.name.as_bytes().to_vec();
                    bytes[at] = byte;
                    let name = String::from_utf8(bytes).unwrap();
                    let real = COMMANDS.iter().find(|s| s.name.eq_ignore_ascii_case(&name));
                    let found = lookup(&name);
                    assert_eq!(found.map(|s| s.name), real.map(|s| s.name), "{name:?}");
                }
            }
        }
        let long = ["ZREMRANGEBYSCORE", "X"].concat();
        for name in [
            "",
            "nope",
            "GET ",
            "GET\0",
            "ſet",
            "HSETX",
            "clienT|setname",
            &long,
        ] {
            assert!(lookup(name).is_none(), "{name:?}");
        }
    }
}
