//! Commands on keys of any type and on strings: SET, GET, DEL, EXISTS, TYPE, EXPIRE, PEXPIRE,
//! TTL, PTTL, PERSIST, FLUSHALL.

use crate::redis::arg::Arg;
use crate::redis::errors;
use crate::redis::keyspace::{Db, Entry, ExpiryChange, Value};
use crate::redis::numbers::parse_int;
use crate::redis::reply::Reply;
use crate::sim::SimTime;

const MICROS_PER_MILLI: i128 = 1_000;

/// SET's options as Redis's `parseExtendedStringArgumentsOrReply` accepts them.
#[derive(Default)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    /// (amount, true for EX seconds / false for PX milliseconds)
    expire: Option<(&'a str, bool)>,
}

fn parse_set_options(options: &[Arg]) -> Option<SetOptions<'_>> {
    let mut parsed = SetOptions::default();
    let mut index = 0;
    while index < options.len() {
        let word = options[index].to_ascii_lowercase();
        let next = options.get(index + 1);
        // As in Redis, an option may repeat (the last EX wins) but EX, PX and KEEPTTL exclude
        // each other.
        let (ex, px) = match parsed.expire {
            Some((_, seconds)) => (seconds, !seconds),
            None => (false, false),
        };
        match word.as_str() {
            "nx" if !parsed.xx => parsed.nx = true,
            "xx" if !parsed.nx => parsed.xx = true,
            "get" => parsed.get = true,
            "keepttl" if !ex && !px => parsed.keep_ttl = true,
            "ex" | "px"
                if !parsed.keep_ttl && !(if word == "ex" { px } else { ex }) && next.is_some() =>
            {
                parsed.expire = Some((next?.as_str(), word == "ex"));
                index += 1;
            }
            _ => return None,
        }
        index += 1;
    }
    Some(parsed)
}

/// SET's expire argument as an absolute time, or the error Redis gives.
fn set_expire_at(now: SimTime, amount: &str, seconds: bool) -> Result<SimTime, Reply> {
    let Some(value) = parse_int(amount) else {
        return Err(errors::reply(errors::NOT_INTEGER));
    };
    if value <= 0 || (seconds && value > i64::MAX / 1000) {
        return Err(errors::invalid_expire("set"));
    }
    let millis = if seconds {
        value as i128 * 1000
    } else {
        value as i128
    };
    if millis + (now.as_micros() as i128 / MICROS_PER_MILLI) > i64::MAX as i128 {
        return Err(errors::invalid_expire("set"));
    }
    Ok(micros_after(now, millis))
}

fn micros_after(now: SimTime, millis: i128) -> SimTime {
    let at = now.as_micros() as i128 + millis * MICROS_PER_MILLI;
    SimTime(at.clamp(0, u64::MAX as i128) as u64)
}

pub fn set(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let Some(options) = parse_set_options(&args[2..]) else {
        return errors::syntax();
    };
    let expire_at = match options.expire {
        Some((amount, seconds)) => match set_expire_at(now, amount, seconds) {
            Ok(at) => Some(at),
            Err(reply) => return reply,
        },
        None => None,
    };
    let mut reply = Reply::ok();
    db.store(now, &args[0], |old| {
        let old_reply = match old.map(|e| &e.value) {
            Some(Value::Str(text)) if options.get => Reply::Bulk(Arg::from(text.as_str())),
            Some(_) if options.get => {
                reply = errors::wrong_type();
                return None;
            }
            _ => Reply::Nil,
        };
        let found = old.is_some();
        if (options.nx && found) || (options.xx && !found) {
            reply = old_reply;
            return None;
        }
        if options.get {
            reply = old_reply;
        }
        let kept = old.and_then(|e| e.expire_at).filter(|_| options.keep_ttl);
        Some(Entry {
            value: Value::Str(args[1].to_string()),
            expire_at: expire_at.or(kept),
        })
    });
    reply
}

pub fn get(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<String>(now, &args[0]) {
        Ok(value) => value.map_or(Reply::Nil, |v| Reply::Bulk(Arg::from(v.as_str()))),
        Err(reply) => reply,
    }
}

pub fn del(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    Reply::Int(args.iter().filter(|key| db.delete(now, key)).count() as i64)
}

pub fn exists(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    Reply::Int(args.iter().filter(|key| db.exists(now, key)).count() as i64)
}

pub fn type_of(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let name = db
        .get_untouched(now, &args[0])
        .map_or("none", |e| e.value.type_name());
    Reply::Status(name.into())
}

pub fn flushall(db: &mut Db, _now: SimTime, args: &[Arg]) -> Reply {
    match args.first().map(|a| a.to_ascii_lowercase()) {
        None => {}
        Some(mode) if args.len() == 1 && (mode == "sync" || mode == "async") => {}
        Some(_) => return errors::syntax(),
    }
    db.flush();
    Reply::ok()
}

/// EXPIRE's NX/XX/GT/LT conditions.
#[derive(Default)]
struct ExpireCondition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_condition(options: &[Arg]) -> Result<ExpireCondition, Reply> {
    let mut condition = ExpireCondition::default();
    for option in options {
        match option.to_ascii_lowercase().as_str() {
            "nx" => condition.nx = true,
            "xx" => condition.xx = true,
            "gt" => condition.gt = true,
            "lt" => condition.lt = true,
            _ => return Err(Reply::Error(format!("ERR Unsupported option {option}"))),
        }
    }
    if condition.nx && (condition.xx || condition.gt || condition.lt) {
        return Err(errors::reply(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if condition.gt && condition.lt {
        return Err(errors::reply(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(condition)
}

impl ExpireCondition {
    /// Whether the new expiry may replace `current` (`None` = no TTL, i.e. infinite).
    fn allows(&self, new_at: i128, current: Option<SimTime>) -> bool {
        let current = current.map(|at| at.as_micros() as i128);
        !((self.nx && current.is_some())
            || (self.xx && current.is_none())
            || (self.gt && current.is_none_or(|c| new_at <= c))
            || (self.lt && current.is_some_and(|c| new_at >= c)))
    }
}

fn expire_command(db: &mut Db, now: SimTime, args: &[Arg], seconds: bool) -> Reply {
    let name = if seconds { "expire" } else { "pexpire" };
    let condition = match parse_expire_condition(&args[2..]) {
        Ok(condition) => condition,
        Err(reply) => return reply,
    };
    let Some(amount) = parse_int(&args[1]) else {
        return errors::reply(errors::NOT_INTEGER);
    };
    if seconds && !(i64::MIN / 1000..=i64::MAX / 1000).contains(&amount) {
        return errors::invalid_expire(name);
    }
    let millis = if seconds {
        amount as i128 * 1000
    } else {
        amount as i128
    };
    if millis > i64::MAX as i128 - now.as_micros() as i128 / MICROS_PER_MILLI {
        return errors::invalid_expire(name);
    }
    let new_at = now.as_micros() as i128 + millis * MICROS_PER_MILLI;
    let changed = db.change_expiry(now, &args[0], |current| {
        if !condition.allows(new_at, current) {
            ExpiryChange::Keep
        } else if new_at <= now.as_micros() as i128 {
            ExpiryChange::Delete
        } else {
            ExpiryChange::Set(Some(micros_after(now, millis)))
        }
    });
    Reply::Int(changed.into())
}

pub fn expire(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    expire_command(db, now, args, true)
}

pub fn pexpire(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    expire_command(db, now, args, false)
}

/// Milliseconds left, rounded up so that a live key never shows 0; -1 without TTL, -2 missing.
fn remaining_millis(db: &mut Db, now: SimTime, key: &str) -> i64 {
    match db.expiry_of(now, key) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => at.since(now).as_micros().div_ceil(1000) as i64,
    }
}

pub fn ttl(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match remaining_millis(db, now, &args[0]) {
        millis if millis < 0 => Reply::Int(millis),
        millis => Reply::Int((millis + 500) / 1000),
    }
}

pub fn pttl(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    Reply::Int(remaining_millis(db, now, &args[0]))
}

pub fn persist(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let changed = db.change_expiry(now, &args[0], |current| match current {
        Some(_) => ExpiryChange::Set(None),
        None => ExpiryChange::Keep,
    });
    Reply::Int(changed.into())
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};
    use crate::sim::{SimDuration, SimTime};

    fn at(seconds: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(seconds)
    }

    #[test]
    fn set_get_del_exists() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["SET", "k", "v"]), ok());
        assert_eq!(run0(&mut s, &["GET", "k"]), bulk("v"));
        assert_eq!(run0(&mut s, &["GET", "nope"]), Reply::Nil);
        assert_eq!(run0(&mut s, &["EXISTS", "k", "k", "nope"]), Reply::Int(2));
        assert_eq!(run0(&mut s, &["DEL", "k", "nope"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["EXISTS", "k"]), Reply::Int(0));
        assert_eq!(run0(&mut s, &["TYPE", "k"]), Reply::Status("none".into()));
    }

    #[test]
    fn set_nx_xx_and_option_errors() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["SET", "k", "1", "XX"]), Reply::Nil);
        assert_eq!(run0(&mut s, &["SET", "k", "1", "NX"]), ok());
        assert_eq!(run0(&mut s, &["SET", "k", "2", "nx"]), Reply::Nil);
        assert_eq!(run0(&mut s, &["SET", "k", "3", "XX"]), ok());
        assert_eq!(run0(&mut s, &["GET", "k"]), bulk("3"));
        assert_eq!(
            run0(&mut s, &["SET", "k", "v", "NX", "XX"]),
            err("ERR syntax error")
        );
        assert_eq!(
            run0(&mut s, &["SET", "k", "v", "EX"]),
            err("ERR syntax error")
        );
        assert_eq!(
            run0(&mut s, &["SET", "k", "v", "EX", "1", "PX", "1"]),
            err("ERR syntax error")
        );
        assert_eq!(
            run0(&mut s, &["SET", "k", "v", "EX", "x"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            run0(&mut s, &["SET", "k", "v", "EX", "0"]),
            err("ERR invalid expire time in 'set' command")
        );
        assert_eq!(
            run0(&mut s, &["SET", "k"]),
            err("ERR wrong number of arguments for 'set' command")
        );
    }

    #[test]
    fn a_key_set_with_ex_61_lives_until_exactly_61_seconds() {
        let mut s = Server::new();
        let t = at(100.0);
        assert_eq!(run(&mut s, t, A, &["SET", "lock", "me", "EX", "61"]), ok());
        assert_eq!(run(&mut s, at(160.999), A, &["GET", "lock"]), bulk("me"));
        assert_eq!(run(&mut s, at(161.0), A, &["GET", "lock"]), Reply::Nil);
        assert_eq!(s.key_count(), 0, "lazy expiry removed it");
    }

    #[test]
    fn ttl_pttl_persist_and_set_clearing_ttl() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["TTL", "k"]), Reply::Int(-2));
        run0(&mut s, &["SET", "k", "v"]);
        assert_eq!(run0(&mut s, &["TTL", "k"]), Reply::Int(-1));
        assert_eq!(run0(&mut s, &["EXPIRE", "k", "10"]), Reply::Int(1));
        assert_eq!(run(&mut s, at(0.4), A, &["TTL", "k"]), Reply::Int(10));
        assert_eq!(run(&mut s, at(0.6), A, &["TTL", "k"]), Reply::Int(9));
        assert_eq!(run(&mut s, at(1.0), A, &["PTTL", "k"]), Reply::Int(9000));
        assert_eq!(run0(&mut s, &["PERSIST", "k"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["PERSIST", "k"]), Reply::Int(0));
        assert_eq!(run0(&mut s, &["PEXPIRE", "k", "1500"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["PTTL", "k"]), Reply::Int(1500));
        run0(&mut s, &["SET", "k", "w"]);
        assert_eq!(
            run0(&mut s, &["TTL", "k"]),
            Reply::Int(-1),
            "SET clears the TTL"
        );
        run0(&mut s, &["SET", "k", "w", "PX", "5000"]);
        run0(&mut s, &["SET", "k", "x", "KEEPTTL"]);
        assert_eq!(run0(&mut s, &["PTTL", "k"]), Reply::Int(5000));
    }

    #[test]
    fn expire_edge_cases() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["EXPIRE", "missing", "10"]), Reply::Int(0));
        run0(&mut s, &["SET", "k", "v"]);
        assert_eq!(run0(&mut s, &["EXPIRE", "k", "0"]), Reply::Int(1));
        assert_eq!(
            run0(&mut s, &["EXISTS", "k"]),
            Reply::Int(0),
            "non-positive TTL deletes"
        );
        run0(&mut s, &["SET", "k", "v"]);
        assert_eq!(run0(&mut s, &["EXPIRE", "k", "-5"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["GET", "k"]), Reply::Nil);
        assert_eq!(
            run0(&mut s, &["EXPIRE", "k", "x"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            run0(&mut s, &["EXPIRE", "k", "99999999999999999"]),
            err("ERR invalid expire time in 'expire' command")
        );
        run0(&mut s, &["SET", "k", "v"]);
        assert_eq!(run0(&mut s, &["EXPIRE", "k", "10", "XX"]), Reply::Int(0));
        assert_eq!(run0(&mut s, &["EXPIRE", "k", "10", "NX"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["EXPIRE", "k", "5", "GT"]), Reply::Int(0));
        assert_eq!(run0(&mut s, &["EXPIRE", "k", "5", "LT"]), Reply::Int(1));
        assert_eq!(
            run0(&mut s, &["EXPIRE", "k", "5", "FOO"]),
            err("ERR Unsupported option FOO")
        );
    }

    /// EXPIRE and PERSIST decide and write in one lookup (`Db::change_expiry`): a change
    /// (a new TTL, a deletion, an expired key removed) must abort a WATCHer's EXEC, and a
    /// refusal must not.
    #[test]
    fn expire_and_persist_abort_watchers_exactly_when_they_change_the_key() {
        // (setup, write, its reply, whether the WATCHer's EXEC aborts)
        let cases: &[(&[&str], &[&str], i64, bool)] = &[
            (
                &["SET", "k", "v", "EX", "10"],
                &["EXPIRE", "k", "20"],
                1,
                true,
            ),
            (
                &["SET", "k", "v", "EX", "10"],
                &["EXPIRE", "k", "20", "NX"],
                0,
                false,
            ),
            (
                &["SET", "k", "v", "EX", "10"],
                &["EXPIRE", "k", "5", "GT"],
                0,
                false,
            ),
            (&["SET", "k", "v"], &["EXPIRE", "k", "0"], 1, true),
            (&["SET", "k", "v"], &["PEXPIRE", "k", "500", "XX"], 0, false),
            (&["SET", "k", "v", "EX", "10"], &["PERSIST", "k"], 1, true),
            (&["SET", "k", "v"], &["PERSIST", "k"], 0, false),
            // Expired by the time of the write: removed, which WATCHers see.
            (
                &["SET", "k", "v", "PX", "1"],
                &["EXPIRE", "k", "20"],
                0,
                true,
            ),
            (&["SET", "other", "v"], &["EXPIRE", "k", "20"], 0, false),
        ];
        for (setup, write, reply, aborts) in cases {
            let mut s = Server::new();
            run0(&mut s, setup);
            run0(&mut s, &["WATCH", "k"]);
            let later = at(0.5);
            assert_eq!(
                run(&mut s, later, B, write),
                Reply::Int(*reply),
                "{write:?}"
            );
            run(&mut s, later, A, &["MULTI"]);
            let exec = run(&mut s, later, A, &["EXEC"]);
            assert_eq!(exec == Reply::NilArray, *aborts, "{setup:?} {write:?}");
        }
    }

    #[test]
    fn active_expiry_removes_untouched_keys() {
        let mut s = Server::new();
        for i in 0..100 {
            run0(
                &mut s,
                &[
                    "SET",
                    &format!("k{i}"),
                    "v",
                    "EX",
                    &(1 + i % 10).to_string(),
                ],
            );
        }
        run0(&mut s, &["SET", "forever", "v"]);
        assert_eq!(s.active_expire(at(5.0)), 50);
        assert_eq!(s.key_count(), 51);
        assert_eq!(s.active_expire(at(10.0)), 50);
        assert_eq!(s.key_count(), 1);
    }

    /// The expiry index keeps a row per TTL ever set; only the key's current TTL may act.
    #[test]
    fn active_expiry_acts_only_on_the_current_ttl() {
        let mut s = Server::new();
        for key in ["extended", "persisted", "recreated"] {
            run0(&mut s, &["SET", key, "v", "EX", "5"]);
        }
        run0(&mut s, &["EXPIRE", "extended", "100"]);
        run0(&mut s, &["PERSIST", "persisted"]);
        run0(&mut s, &["DEL", "recreated"]);
        run0(&mut s, &["SET", "recreated", "v"]);
        assert_eq!(s.active_expire(at(10.0)), 0);
        assert_eq!(s.key_count(), 3);
        assert_eq!(
            s.active_expire(at(100.0)),
            1,
            "extended goes at its new time"
        );
        assert_eq!(s.key_count(), 2);
    }

    /// A heartbeat key whose TTL is pushed forward many times stays one key, and the index
    /// of expiry rows stays bounded by the keyspace rather than by the number of EXPIREs.
    #[test]
    fn refreshing_a_ttl_many_times_keeps_the_index_bounded() {
        let mut s = Server::new();
        run0(&mut s, &["SET", "worker", "v"]);
        for seconds in 1..=20_000 {
            run0(
                &mut s,
                &["EXPIRE", "worker", &(1_000_000 + seconds).to_string()],
            );
        }
        assert!(s.db.keys.expiry_rows() <= 4 * s.key_count() + 1025);
        assert_eq!(s.active_expire(at(1_019_999.0)), 0);
        assert_eq!(s.active_expire(at(1_020_000.0)), 1);
    }

    /// Keys whose TTLs are pushed later, brought earlier, cleared, deleted and re-created at
    /// random: each active expiry removes exactly the keys whose TTL has passed, as a scan of
    /// every key finds them, and the rows of TTLs that were replaced go when they come up.
    #[test]
    fn active_expiry_removes_exactly_the_keys_due_however_their_ttls_moved() {
        let mut s = Server::new();
        let mut random = Lcg(11);
        let mut draw = |bound: u64| random.below(bound);
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        for step in 0..2_000u64 {
            let now = at(step as f64);
            let key = &keys[draw(40) as usize];
            match draw(10) {
                0 => drop(run(&mut s, now, A, &["DEL", key])),
                1 => drop(run(&mut s, now, A, &["PERSIST", key])),
                2 | 3 => drop(run(&mut s, now, A, &["SET", key, "v"])),
                _ => {
                    let seconds = 1 + draw(30);
                    run(&mut s, now, A, &["SET", key, "v", "NX"]);
                    run(&mut s, now, A, &["EXPIRE", key, &seconds.to_string()]);
                }
            }
            if step % 5 == 0 {
                let due: Vec<&String> = keys
                    .iter()
                    .filter(|k| s.db.keys.is_expired(now, k))
                    .collect();
                let live = s.key_count() - due.len();
                assert_eq!(s.active_expire(now), due.len(), "step {step}");
                assert_eq!(s.key_count(), live, "step {step}");
            }
        }
        let mut s = Server::new();
        run0(&mut s, &["SET", "heartbeat", "v"]);
        for seconds in 10..100 {
            run0(&mut s, &["EXPIRE", "heartbeat", &seconds.to_string()]);
        }
        assert_eq!(s.db.keys.expiry_rows(), 90, "a row for each TTL");
        assert_eq!(
            s.active_expire(at(98.0)),
            0,
            "the stale rows expire nothing"
        );
        assert_eq!(
            s.db.keys.expiry_rows(),
            1,
            "they are dropped as they come up"
        );
        assert_eq!(s.active_expire(at(99.0)), 1);
        assert_eq!(s.db.keys.expiry_rows(), 0);
    }

    #[test]
    fn wrong_type_on_get() {
        let mut s = Server::new();
        run0(&mut s, &["RPUSH", "l", "a"]);
        assert_eq!(
            run0(&mut s, &["GET", "l"]),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        assert_eq!(
            run0(&mut s, &["SET", "l", "v"]),
            ok(),
            "SET overwrites any type"
        );
        assert_eq!(run0(&mut s, &["GET", "l"]), bulk("v"));
    }
}
