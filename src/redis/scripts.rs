//! RQ's two scheduler-lock scripts (`rq/scripts.py`) and `Queue.empty`'s script, run natively
//! and atomically.
//!
//! Real Redis runs the Lua text of the lock scripts below; the model recognises the text
//! (EVAL) or its SHA-1 (EVALSHA) and runs the same steps in Rust, through the same command
//! functions, so replies, TTLs and WATCH effects are those of the Lua version. The
//! differential test runs the Lua text on a real server against this native version.
//! `Queue.empty`'s script is known by its SHA-1 only (RQ sends it with EVALSHA, loading it on
//! `NOSCRIPT`): its steps are written from docs/rq-dependencies-and-operations.md §3.8. Any
//! other script is refused. All three count as always loaded: the model has no script cache
//! to lose on restart, so RQ's first `EVALSHA` of a script never meets `NOSCRIPT` here.

use crate::redis::arg::Arg;
use crate::redis::errors;
use crate::redis::keys;
use crate::redis::keyspace::Db;
use crate::redis::lists;
use crate::redis::numbers::parse_int;
use crate::redis::reply::{Command, Reply};
use crate::redis::sha1::sha1_hex;
use crate::sim::SimTime;

/// Acquire-or-refresh: nil → `SET key name EX ttl`, 1; equal → `EXPIRE key ttl`, 2; else 0.
pub const ACQUIRE_OR_REFRESH_LOCK_SCRIPT: &str = r"local current = redis.call('GET', KEYS[1])
if current == false then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
    return 1
elseif current == ARGV[1] then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    return 2
end
return 0
";

/// SHA-1 of [`ACQUIRE_OR_REFRESH_LOCK_SCRIPT`].
pub const ACQUIRE_OR_REFRESH_LOCK_SHA: &str = "af92745ffb314dc26a8b086adab823a92bef8bcc";

/// Release: equal → `DEL key`, 1; else 0.
pub const RELEASE_LOCK_SCRIPT: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
";

/// SHA-1 of [`RELEASE_LOCK_SCRIPT`].
pub const RELEASE_LOCK_SHA: &str = "f71ed65b3446d367ee69429a18c70d74d8bb722e";

/// SHA-1 of the script `Queue.empty` registers (rq/queue.py): with the job prefix `rq:job:`,
/// it loops `LPOP KEYS[1]`, and for each id `DEL rq:job:<id>` and `DEL rq:job:<id>:dependents`,
/// and returns how many ids it popped. Taken from RQ 2.12.0's `Script.sha` for that text.
pub const EMPTY_QUEUE_SHA: &str = "0f72f97be1eabbfce0148fd466da8c4ad73236fe";

/// `EVALSHA <empty> 1 rq:queue:<q>`, as `Queue.empty` sends it.
pub fn empty_queue_command(queue_key: &str) -> Command {
    crate::cmd!("EVALSHA", EMPTY_QUEUE_SHA, 1, queue_key)
}

/// `EVALSHA <acquire-or-refresh> 1 <key> <name> <ttl_s>`, as `rq/scripts.py` sends it.
pub fn acquire_or_refresh_lock_command(key: &str, name: &str, ttl_s: u64) -> Command {
    crate::cmd!("EVALSHA", ACQUIRE_OR_REFRESH_LOCK_SHA, 1, key, name, ttl_s)
}

/// `EVALSHA <release> 1 <key> <name>`.
pub fn release_lock_command(key: &str, name: &str) -> Command {
    crate::cmd!("EVALSHA", RELEASE_LOCK_SHA, 1, key, name)
}

/// A script the model can run.
#[derive(Clone, Copy)]
enum Script {
    AcquireOrRefresh,
    Release,
    EmptyQueue,
}

impl Script {
    fn by_sha(sha: &str) -> Option<Script> {
        if sha.eq_ignore_ascii_case(ACQUIRE_OR_REFRESH_LOCK_SHA) {
            Some(Script::AcquireOrRefresh)
        } else if sha.eq_ignore_ascii_case(RELEASE_LOCK_SHA) {
            Some(Script::Release)
        } else if sha.eq_ignore_ascii_case(EMPTY_QUEUE_SHA) {
            Some(Script::EmptyQueue)
        } else {
            None
        }
    }

    fn by_text(text: &str) -> Option<Script> {
        match text {
            ACQUIRE_OR_REFRESH_LOCK_SCRIPT => Some(Script::AcquireOrRefresh),
            RELEASE_LOCK_SCRIPT => Some(Script::Release),
            _ => None,
        }
    }

    fn sha(self) -> &'static str {
        match self {
            Script::AcquireOrRefresh => ACQUIRE_OR_REFRESH_LOCK_SHA,
            Script::Release => RELEASE_LOCK_SHA,
            Script::EmptyQueue => EMPTY_QUEUE_SHA,
        }
    }
}

/// EVAL script numkeys key… arg…
pub fn eval(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let Some(script) = Script::by_text(&args[0]) else {
        return Reply::Error(format!(
            "ERR this Redis model runs only RQ's lock scripts, not script {}",
            sha1_hex(args[0].as_bytes())
        ));
    };
    run(db, now, script, &args[1..])
}

/// EVALSHA sha1 numkeys key… arg…
pub fn evalsha(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match Script::by_sha(&args[0]) {
        Some(script) => run(db, now, script, &args[1..]),
        None => errors::reply(errors::NOSCRIPT),
    }
}

/// SCRIPT LOAD text: the SHA-1 of one of the known scripts.
pub fn script_load(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match Script::by_text(&args[0]) {
        Some(script) => Reply::Bulk(Arg::from(script.sha())),
        None => eval(db, now, &[args[0].clone(), Arg::new("0")]),
    }
}

/// SCRIPT EXISTS sha…: 1 for each known script.
pub fn script_exists(_db: &mut Db, _now: SimTime, args: &[Arg]) -> Reply {
    Reply::Array(
        args.iter()
            .map(|sha| Reply::Int(Script::by_sha(sha).is_some() as i64))
            .collect(),
    )
}

/// Splits `numkeys key… arg…` as Redis does, with its errors.
fn split_keys(args: &[Arg]) -> Result<(&[Arg], &[Arg]), Reply> {
    let Some(count) = parse_int(&args[0]) else {
        return Err(errors::reply(errors::NOT_INTEGER));
    };
    if count < 0 {
        return Err(errors::reply("ERR Number of keys can't be negative"));
    }
    let rest = &args[1..];
    if count as u64 > rest.len() as u64 {
        return Err(errors::reply(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(rest.split_at(count as usize))
}

fn run(db: &mut Db, now: SimTime, script: Script, args: &[Arg]) -> Reply {
    let (keys, argv) = match split_keys(args) {
        Ok(split) => split,
        Err(reply) => return reply,
    };
    let call = ScriptCall {
        sha: script.sha(),
        key: keys.first(),
        argv,
    };
    let result = match script {
        Script::AcquireOrRefresh => call.acquire_or_refresh(db, now),
        Script::Release => call.release(db, now),
        Script::EmptyQueue => call.empty_queue(db, now),
    };
    result.unwrap_or_else(|reply| reply)
}

/// One run of a script: what Lua's `KEYS[1]` and `ARGV` hold.
struct ScriptCall<'a> {
    sha: &'static str,
    key: Option<&'a Arg>,
    argv: &'a [Arg],
}

impl ScriptCall<'_> {
    /// `redis.call(name, args…)` on line `line`: a Lua error if an argument is nil or the
    /// command fails, reported as Redis 7.0 reports errors raised by `redis.call`.
    fn call(
        &self,
        db: &mut Db,
        now: SimTime,
        line: u32,
        command: fn(&mut Db, SimTime, &[Arg]) -> Reply,
        args: &[Option<&Arg>],
    ) -> Result<Reply, Reply> {
        let Some(args) = args
            .iter()
            .map(|a| a.cloned())
            .collect::<Option<Vec<Arg>>>()
        else {
            return Err(self.error(
                "ERR Lua redis lib command arguments must be strings or integers",
                line,
            ));
        };
        match command(db, now, &args) {
            Reply::Error(message) => Err(self.error(&message, line)),
            reply => Ok(reply),
        }
    }

    /// [`ScriptCall::call`] of a command Redis flags `write`: refused first, as the script
    /// makes it, when the server refuses writes (a replica, a primary short of replicas).
    fn write(
        &self,
        db: &mut Db,
        now: SimTime,
        line: u32,
        command: fn(&mut Db, SimTime, &[Arg]) -> Reply,
        args: &[Option<&Arg>],
    ) -> Result<Reply, Reply> {
        if let Some(refusal) = db.write_refusal {
            return Err(self.error(refusal, line));
        }
        self.call(db, now, line, command, args)
    }

    /// [`ScriptCall::write`] of a command Redis flags `denyoom`: refused as well when the
    /// server was out of memory as the script began and this is the script's first write
    /// (`scriptVerifyOOM`). Each of RQ's scripts makes such a write only as its first.
    fn grow(
        &self,
        db: &mut Db,
        now: SimTime,
        line: u32,
        command: fn(&mut Db, SimTime, &[Arg]) -> Reply,
        args: &[Option<&Arg>],
    ) -> Result<Reply, Reply> {
        // A refused write is refused first (`scriptVerifyWriteCommandAllow` runs before
        // `scriptVerifyOOM`).
        let out_of_memory = db.memory.as_ref().is_some_and(|m| m.out_of_memory);
        if out_of_memory && db.write_refusal.is_none() {
            db.count_oom_refusal();
            return Err(self.error(errors::OOM, line));
        }
        self.write(db, now, line, command, args)
    }

    fn error(&self, message: &str, line: u32) -> Reply {
        Reply::Error(format!(
            "{message} script: {}, on @user_script:{line}.",
            self.sha
        ))
    }

    fn acquire_or_refresh(&self, db: &mut Db, now: SimTime) -> Result<Reply, Reply> {
        let current = self.call(db, now, 1, keys::get, &[self.key])?;
        let name = self.argv.first();
        let ttl = self.argv.get(1);
        match current {
            Reply::Bulk(value) if name.is_some_and(|name| *name == value) => {
                self.write(db, now, 6, keys::expire, &[self.key, ttl])?;
                Ok(Reply::Int(2))
            }
            Reply::Bulk(_) => Ok(Reply::Int(0)),
            _ => {
                let ex = Arg::new("EX");
                self.grow(db, now, 3, keys::set, &[self.key, name, Some(&ex), ttl])?;
                Ok(Reply::Int(1))
            }
        }
    }

    fn release(&self, db: &mut Db, now: SimTime) -> Result<Reply, Reply> {
        let current = self.call(db, now, 1, keys::get, &[self.key])?;
        match (current, self.argv.first()) {
            (Reply::Bulk(value), Some(name)) if *name == value => {
                self.write(db, now, 2, keys::del, &[self.key])
            }
            _ => Ok(Reply::Int(0)),
        }
    }

    /// `Queue.empty`'s loop (lines as in RQ's text, which starts with a blank line): pop
    /// every id, delete its hash and its dependents set, count them.
    fn empty_queue(&self, db: &mut Db, now: SimTime) -> Result<Reply, Reply> {
        let mut count = 0;
        loop {
            let Reply::Bulk(id) = self.write(db, now, 6, lists::lpop, &[self.key])? else {
                return Ok(Reply::Int(count));
            };
            let job = Arg::from(format!("rq:job:{}", id.as_str()));
            self.write(db, now, 12, keys::del, &[Some(&job)])?;
            let dependents = Arg::from(format!("rq:job:{}:dependents", id.as_str()));
            self.write(db, now, 13, keys::del, &[Some(&dependents)])?;
            count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_the_script_texts() {
        assert_eq!(
            sha1_hex(ACQUIRE_OR_REFRESH_LOCK_SCRIPT.as_bytes()),
            ACQUIRE_OR_REFRESH_LOCK_SHA
        );
        assert_eq!(sha1_hex(RELEASE_LOCK_SCRIPT.as_bytes()), RELEASE_LOCK_SHA);
    }
}

#[cfg(test)]
mod lock_tests {
    use super::*;
    use crate::redis::test_support::*;
    use crate::redis::{Outcome, Server};

    fn call(s: &mut Server, now: SimTime, command: Command) -> Reply {
        match s.execute(now, A, &[command]) {
            Outcome::Replies(mut replies) => replies.pop().unwrap(),
            Outcome::Blocked { .. } => panic!("blocked"),
        }
    }

    #[test]
    fn acquire_refresh_take_and_release() {
        let mut s = Server::new();
        let t0 = SimTime::ZERO;
        let acquire = |name: &str| acquire_or_refresh_lock_command("lock", name, 61);
        assert_eq!(call(&mut s, t0, acquire("s1")), Reply::Int(1));
        assert_eq!(s.peek_expire_at(t0, "lock"), Some(SimTime::from_secs(61)));
        let t30 = SimTime::from_secs(30);
        assert_eq!(call(&mut s, t30, acquire("s1")), Reply::Int(2));
        assert_eq!(s.peek_expire_at(t30, "lock"), Some(SimTime::from_secs(91)));
        assert_eq!(call(&mut s, t30, acquire("s2")), Reply::Int(0));
        assert_eq!(
            call(&mut s, t30, release_lock_command("lock", "s2")),
            Reply::Int(0)
        );
        assert_eq!(s.peek_string(t30, "lock").as_deref(), Some("s1"));
        assert_eq!(
            call(&mut s, t30, release_lock_command("lock", "s1")),
            Reply::Int(1)
        );
        assert!(!s.peek_exists(t30, "lock"));
        let t91 = SimTime::from_secs(91);
        assert_eq!(call(&mut s, t91, acquire("s2")), Reply::Int(1));
    }

    #[test]
    fn eval_of_the_text_and_refusals() {
        let mut s = Server::new();
        let t0 = SimTime::ZERO;
        let eval = crate::cmd!("EVAL", ACQUIRE_OR_REFRESH_LOCK_SCRIPT, 1, "lock", "me", 61);
        assert_eq!(call(&mut s, t0, eval), Reply::Int(1));
        let unknown = crate::cmd!("EVALSHA", "0".repeat(40), 1, "lock", "me");
        assert_eq!(
            call(&mut s, t0, unknown),
            err("NOSCRIPT No matching script. Please use EVAL.")
        );
        assert!(call(&mut s, t0, crate::cmd!("EVAL", "return 1", 0)).is_error());
        let too_many = crate::cmd!("EVALSHA", RELEASE_LOCK_SHA, 3, "lock");
        assert_eq!(
            call(&mut s, t0, too_many),
            err("ERR Number of keys can't be greater than number of args")
        );
        call(&mut s, t0, crate::cmd!("HSET", "hash", "f", "v"));
        assert_eq!(
            call(&mut s, t0, release_lock_command("hash", "me")),
            Reply::Error(format!(
                "WRONGTYPE Operation against a key holding the wrong kind of value \
                 script: {RELEASE_LOCK_SHA}, on @user_script:1."
            ))
        );
    }

    /// docs/rq-dependencies-and-operations.md §3.8: `Queue.empty` pops every id, deletes its
    /// hash and dependents set, and leaves everything else: a deferred child's hash, the
    /// `:dependencies` set, the registries.
    #[test]
    fn empty_queue_deletes_each_popped_job_and_its_dependents_only() {
        let mut s = Server::new();
        let t0 = SimTime::ZERO;
        for command in [
            crate::cmd!("RPUSH", "rq:queue:q", "a", "b"),
            crate::cmd!("HSET", "rq:job:a", "status", "queued"),
            crate::cmd!("HSET", "rq:job:b", "status", "queued"),
            crate::cmd!("SADD", "rq:job:a:dependents", "c"),
            crate::cmd!("SADD", "rq:job::c:dependencies", "a"),
            crate::cmd!("HSET", "rq:job:c", "status", "deferred"),
            crate::cmd!("ZADD", "rq:deferred:q", 1, "c"),
        ] {
            call(&mut s, t0, command);
        }
        let emptied = call(&mut s, t0, empty_queue_command("rq:queue:q"));
        assert_eq!(emptied, Reply::Int(2));
        for gone in ["rq:queue:q", "rq:job:a", "rq:job:b", "rq:job:a:dependents"] {
            assert!(!s.peek_exists(t0, gone), "{gone}");
        }
        for kept in ["rq:job:c", "rq:job::c:dependencies", "rq:deferred:q"] {
            assert!(s.peek_exists(t0, kept), "{kept}");
        }
        assert_eq!(
            call(&mut s, t0, empty_queue_command("rq:queue:q")),
            Reply::Int(0)
        );
        call(&mut s, t0, crate::cmd!("SET", "rq:queue:s", "x"));
        assert_eq!(
            call(&mut s, t0, empty_queue_command("rq:queue:s")),
            Reply::Error(format!(
                "WRONGTYPE Operation against a key holding the wrong kind of value \
                 script: {EMPTY_QUEUE_SHA}, on @user_script:6."
            ))
        );
    }
}
