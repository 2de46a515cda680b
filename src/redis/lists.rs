//! Lists: LPUSH, RPUSH, LPOP, RPOP, LRANGE, LREM, LLEN, LMOVE, and the moves that the
//! blocking forms (in `blocking.rs`) share.

use std::collections::VecDeque;

use crate::redis::arg::Arg;
use crate::redis::errors;
use crate::redis::keyspace::Db;
use crate::redis::numbers::parse_int;
use crate::redis::reply::Reply;
use crate::sim::SimTime;

pub type List = VecDeque<Arg>;

/// An end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    /// `LEFT` or `RIGHT`, any case.
    pub fn parse(text: &str) -> Option<Side> {
        if text.eq_ignore_ascii_case("left") {
            Some(Side::Left)
        } else if text.eq_ignore_ascii_case("right") {
            Some(Side::Right)
        } else {
            None
        }
    }
}

fn push(list: &mut List, side: Side, value: Arg) {
    match side {
        Side::Left => list.push_front(value),
        Side::Right => list.push_back(value),
    }
}

fn pop(list: &mut List, side: Side) -> Option<Arg> {
    match side {
        Side::Left => list.pop_front(),
        Side::Right => list.pop_back(),
    }
}

fn push_command(db: &mut Db, now: SimTime, args: &[Arg], side: Side) -> Reply {
    let push_all = |list: &mut List| {
        for value in &args[1..] {
            push(list, side, value.clone());
        }
        list.len()
    };
    let length = match db.update_or_create(now, &args[0], push_all) {
        Ok(length) => length,
        Err(reply) => return reply,
    };
    // The arity guarantees at least one pushed value: the list is not empty.
    db.modified(&args[0], false);
    db.list_pushed(&args[0]);
    Reply::Int(length as i64)
}

pub fn lpush(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    push_command(db, now, args, Side::Left)
}

pub fn rpush(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    push_command(db, now, args, Side::Right)
}

fn pop_command(db: &mut Db, now: SimTime, args: &[Arg], side: Side, name: &str) -> Reply {
    if args.len() > 2 {
        return errors::arity(name);
    }
    let count = match args.get(1) {
        None => None,
        Some(text) => match parse_int(text) {
            Some(count) if count >= 0 => Some(count as usize),
            _ => return errors::reply(errors::MUST_BE_POSITIVE),
        },
    };
    let list = match db.write::<List>(now, &args[0]) {
        Ok(Some(list)) => list,
        Ok(None) if count.is_some() => return Reply::NilArray,
        Ok(None) => return Reply::Nil,
        Err(reply) => return reply,
    };
    let reply = match count {
        None => pop(list, side).map_or(Reply::Nil, Reply::Bulk),
        Some(0) => return Reply::Array(Vec::new()),
        Some(count) => Reply::Array(
            std::iter::from_fn(|| pop(list, side))
                .take(count)
                .map(Reply::Bulk)
                .collect(),
        ),
    };
    let emptied = list.is_empty();
    db.modified(&args[0], emptied);
    reply
}

pub fn lpop(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    pop_command(db, now, args, Side::Left, "lpop")
}

pub fn rpop(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    pop_command(db, now, args, Side::Right, "rpop")
}

pub fn llen(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<List>(now, &args[0]) {
        Ok(list) => Reply::Int(list.map_or(0, List::len) as i64),
        Err(reply) => reply,
    }
}

pub fn lrange(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let (Some(start), Some(stop)) = (parse_int(&args[1]), parse_int(&args[2])) else {
        return errors::reply(errors::NOT_INTEGER);
    };
    let list = match db.read::<List>(now, &args[0]) {
        Ok(Some(list)) => list,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(reply) => return reply,
    };
    let length = list.len() as i64;
    let start = if start < 0 {
        (length + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        length + stop
    } else {
        stop.min(length - 1)
    };
    if start > stop || start >= length {
        return Reply::Array(Vec::new());
    }
    Reply::Array(
        list.range(start as usize..=stop as usize)
            .map(|value| Reply::Bulk(value.clone()))
            .collect(),
    )
}

pub fn lrem(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let Some(count) = parse_int(&args[1]) else {
        return errors::reply(errors::NOT_INTEGER);
    };
    let list = match db.write::<List>(now, &args[0]) {
        Ok(Some(list)) => list,
        Ok(None) => return Reply::Int(0),
        Err(reply) => return reply,
    };
    let removed = remove_matching(list, &args[2], count);
    let emptied = list.is_empty();
    if removed > 0 {
        db.modified(&args[0], emptied);
    }
    Reply::Int(removed as i64)
}

/// Removes up to `count` copies of `element` (all if 0; from the tail if negative), in place
/// rather than through a `Vec` of positions.
fn remove_matching(list: &mut List, element: &str, count: i64) -> usize {
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    // From the tail, the copies removed are the last `limit`: those after the first `spared`.
    let mut spared = if count < 0 {
        let copies = list.iter().filter(|value| *value == element).count();
        copies.saturating_sub(limit)
    } else {
        0
    };
    let mut removed = 0;
    list.retain(|value| {
        if removed == limit || value != element {
            return true;
        }
        if spared > 0 {
            spared -= 1;
            return true;
        }
        removed += 1;
        false
    });
    removed
}

pub fn lmove(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let (Some(from), Some(to)) = (Side::parse(&args[2]), Side::parse(&args[3])) else {
        return errors::syntax();
    };
    move_element(db, now, &args[0], &args[1], from, to)
}

/// LMOVE's core: Nil if `source` is missing; WRONGTYPE if either key is not a list.
pub fn move_element(
    db: &mut Db,
    now: SimTime,
    source: &str,
    destination: &str,
    from: Side,
    to: Side,
) -> Reply {
    match db.read::<List>(now, source) {
        Ok(Some(_)) => {}
        Ok(None) => return Reply::Nil,
        Err(reply) => return reply,
    }
    if let Err(reply) = db.check::<List>(now, destination) {
        return reply;
    }
    if source == destination {
        return rotate(db, now, source, from, to);
    }
    let (value, emptied) = match db.write::<List>(now, source) {
        Ok(Some(list)) => (pop(list, from), list.is_empty()),
        _ => (None, false),
    };
    let Some(value) = value else {
        return Reply::Nil;
    };
    db.modified(source, emptied);
    // Checked above to be a list or missing.
    let _ = db.update_or_create(now, destination, |list| push(list, to, value.clone()));
    db.modified(destination, false);
    db.list_pushed(destination);
    Reply::Bulk(value)
}

/// LMOVE of a list onto itself. Redis pushes before it checks whether the source emptied, so
/// even a one-element list is never deleted in between and keeps its TTL.
fn rotate(db: &mut Db, now: SimTime, key: &str, from: Side, to: Side) -> Reply {
    let Ok(Some(list)) = db.write::<List>(now, key) else {
        return Reply::Nil;
    };
    let Some(value) = pop(list, from) else {
        return Reply::Nil;
    };
    push(list, to, value.clone());
    db.modified(key, false);
    db.list_pushed(key);
    Reply::Bulk(value)
}

/// BLPOP's core without blocking: `[key, value]` from the first non-empty list, WRONGTYPE at
/// the first key of another type, `None` if every list is empty.
pub fn pop_first(db: &mut Db, now: SimTime, keys: &[impl AsRef<str>]) -> Option<Reply> {
    for key in keys {
        let key = key.as_ref();
        match db.write::<List>(now, key) {
            Ok(None) => continue,
            Err(reply) => return Some(reply),
            Ok(Some(list)) => {
                let Some(value) = list.pop_front() else {
                    continue;
                };
                let emptied = list.is_empty();
                db.modified(key, emptied);
                return Some(Reply::Array(vec![
                    Reply::Bulk(Arg::from(key)),
                    Reply::Bulk(value),
                ]));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};

    #[test]
    fn push_pop_range_in_order() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["RPUSH", "l", "a", "b"]), Reply::Int(2));
        assert_eq!(run0(&mut s, &["LPUSH", "l", "x", "y"]), Reply::Int(4));
        assert_eq!(
            run0(&mut s, &["LRANGE", "l", "0", "-1"]),
            bulks(&["y", "x", "a", "b"])
        );
        assert_eq!(
            run0(&mut s, &["LRANGE", "l", "-2", "10"]),
            bulks(&["a", "b"])
        );
        assert_eq!(run0(&mut s, &["LRANGE", "l", "3", "1"]), bulks(&[]));
        assert_eq!(run0(&mut s, &["LPOP", "l"]), bulk("y"));
        assert_eq!(run0(&mut s, &["LPOP", "l", "2"]), bulks(&["x", "a"]));
        assert_eq!(run0(&mut s, &["LPOP", "l", "0"]), bulks(&[]));
        assert_eq!(run0(&mut s, &["LLEN", "l"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["LPOP", "l", "5"]), bulks(&["b"]));
        assert_eq!(
            run0(&mut s, &["EXISTS", "l"]),
            Reply::Int(0),
            "an emptied list is deleted"
        );
        assert_eq!(run0(&mut s, &["LPOP", "l"]), Reply::Nil);
        assert_eq!(run0(&mut s, &["LPOP", "l", "2"]), Reply::NilArray);
        assert_eq!(
            run0(&mut s, &["LPOP", "l", "-1"]),
            err("ERR value is out of range, must be positive")
        );
    }

    #[test]
    fn lrem_counts_from_either_end() {
        let mut s = Server::new();
        run0(&mut s, &["RPUSH", "l", "a", "b", "a", "c", "a"]);
        assert_eq!(run0(&mut s, &["LREM", "l", "-1", "a"]), Reply::Int(1));
        assert_eq!(
            run0(&mut s, &["LRANGE", "l", "0", "-1"]),
            bulks(&["a", "b", "a", "c"])
        );
        assert_eq!(run0(&mut s, &["LREM", "l", "1", "a"]), Reply::Int(1));
        assert_eq!(
            run0(&mut s, &["LRANGE", "l", "0", "-1"]),
            bulks(&["b", "a", "c"])
        );
        assert_eq!(run0(&mut s, &["LREM", "l", "0", "zz"]), Reply::Int(0));
        assert_eq!(run0(&mut s, &["LREM", "l", "0", "a"]), Reply::Int(1));
    }

    #[test]
    fn lmove_moves_between_ends_and_checks_types() {
        let mut s = Server::new();
        run0(&mut s, &["RPUSH", "q", "1", "2"]);
        assert_eq!(
            run0(&mut s, &["LMOVE", "q", "i", "LEFT", "RIGHT"]),
            bulk("1")
        );
        assert_eq!(
            run0(&mut s, &["LMOVE", "q", "q", "right", "left"]),
            bulk("2")
        );
        assert_eq!(
            run0(&mut s, &["LMOVE", "q", "i", "UP", "LEFT"]),
            err("ERR syntax error")
        );
        assert_eq!(
            run0(&mut s, &["LMOVE", "none", "i", "LEFT", "LEFT"]),
            Reply::Nil
        );
        run0(&mut s, &["SET", "str", "x"]);
        let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
        assert_eq!(
            run0(&mut s, &["LMOVE", "q", "str", "LEFT", "LEFT"]),
            wrongtype
        );
        assert_eq!(
            run0(&mut s, &["LMOVE", "none", "str", "LEFT", "LEFT"]),
            Reply::Nil
        );
        assert_eq!(run0(&mut s, &["LRANGE", "i", "0", "-1"]), bulks(&["1"]));
    }

    /// Found by the differential test against redis-server 7.0: rotating a one-element list
    /// keeps the key, so its TTL survives.
    #[test]
    fn lmove_onto_itself_keeps_the_key_and_its_ttl() {
        let mut s = Server::new();
        run0(&mut s, &["RPUSH", "b", "x"]);
        run0(&mut s, &["PEXPIRE", "b", "100000"]);
        assert_eq!(
            run0(&mut s, &["LMOVE", "b", "b", "LEFT", "RIGHT"]),
            bulk("x")
        );
        assert_eq!(run0(&mut s, &["PERSIST", "b"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["LRANGE", "b", "0", "-1"]), bulks(&["x"]));
    }
}
