//! Clients parked in BLMOVE/BLPOP, and serving them when pushes make their lists non-empty.
//!
//! As in Redis 7: after each command (an EXEC counts as one), every list that was pushed to is
//! visited in push order; while it is non-empty, the client that blocked on it longest is
//! served. A BLMOVE served this way pushes to its destination, which may serve others in turn.

use std::collections::{BTreeMap, VecDeque};

use crate::redis::arg::Arg;
use crate::redis::errors;
use crate::redis::keyspace::Db;
use crate::redis::lists::{move_element, pop_first, List, Side};
use crate::redis::numbers::{parse_float, timeout_millis};
use crate::redis::reply::Reply;
use crate::redis::server::ConnId;
use crate::sim::{SimDuration, SimTime};

/// What a blocked client waits to do, naming the destination list by `K`: a `&str` into
/// the command's words while the pop is tried, an owned [`Arg`] once the client is parked.
#[derive(Clone, Debug, PartialEq)]
pub enum Pop<K> {
    /// BLPOP: pop the left of whichever key gets data first.
    First,
    /// BLMOVE: move from the (single) key to `destination`.
    Move {
        destination: K,
        from: Side,
        to: Side,
    },
}

impl<K> Pop<K> {
    /// The reply when the timeout passes.
    pub fn timeout_reply(&self) -> Reply {
        match self {
            Pop::First => Reply::NilArray,
            Pop::Move { .. } => Reply::Nil,
        }
    }
}

/// A blocking pop, parsed. It borrows the command's words: most pops are answered at once
/// (RQ's workers BLMOVE from a queue that usually holds jobs), so parsing copies nothing;
/// only a client that blocks gets an owned copy ([`Parked`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockingPop<'a> {
    pub keys: &'a [Arg],
    pub pop: Pop<&'a str>,
    /// `None` = forever (timeout 0).
    pub timeout: Option<SimDuration>,
}

/// A blocked client's request, owned while it waits. The first key apart from the rest:
/// a BLMOVE (RQ's worker on one queue) has only that one, and parks without a `Vec`.
#[derive(Clone, Debug, PartialEq)]
pub struct Parked {
    first_key: Arg,
    more_keys: Vec<Arg>,
    pub pop: Pop<Arg>,
}

impl Parked {
    fn keys(&self) -> impl Iterator<Item = &Arg> {
        std::iter::once(&self.first_key).chain(&self.more_keys)
    }
}

/// Parses a blocking timeout (float seconds) as Redis 7.0 does, to whole milliseconds.
/// Redis reads it as a long double and casts the milliseconds to a 64-bit integer: values
/// too large for that (infinity included) wrap to negative and are refused as negative.
fn parse_timeout(text: &str) -> Result<Option<SimDuration>, Reply> {
    let seconds = match parse_float(text) {
        Some(seconds) => seconds,
        None if fits_long_double(text) => f64::INFINITY,
        None => return Err(errors::reply(errors::TIMEOUT_NOT_FLOAT)),
    };
    match timeout_millis(seconds) {
        _ if seconds < 0.0 => Err(errors::reply(errors::TIMEOUT_NEGATIVE)),
        None => Err(errors::reply(errors::TIMEOUT_NEGATIVE)),
        Some(0) => Ok(None),
        Some(millis) => Ok(Some(SimDuration::from_micros(millis.saturating_mul(1000)))),
    }
}

/// A number beyond f64's range that long double (up to about 1.19e4932) still holds.
fn fits_long_double(text: &str) -> bool {
    let overflowed = text.parse::<f64>().is_ok_and(f64::is_infinite);
    let exponent = text
        .to_ascii_lowercase()
        .split_once('e')
        .and_then(|(_, e)| e.parse::<i64>().ok());
    overflowed && exponent.is_some_and(|e| e <= 4931)
}

/// BLPOP key… timeout.
pub fn parse_blpop(args: &[Arg]) -> Result<BlockingPop<'_>, Reply> {
    let (timeout, keys) = args.split_last().expect("arity checked");
    Ok(BlockingPop {
        timeout: parse_timeout(timeout)?,
        keys,
        pop: Pop::First,
    })
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
pub fn parse_blmove(args: &[Arg]) -> Result<BlockingPop<'_>, Reply> {
    let (Some(from), Some(to)) = (Side::parse(&args[2]), Side::parse(&args[3])) else {
        return Err(errors::syntax());
    };
    Ok(BlockingPop {
        timeout: parse_timeout(&args[4])?,
        keys: &args[..1],
        pop: Pop::Move {
            destination: &args[1],
            from,
            to,
        },
    })
}

/// Tries the pop at once: `Some(reply)` if it is answered (data, or an error), `None` if the
/// client would block.
pub fn try_pop(db: &mut Db, now: SimTime, request: &BlockingPop) -> Option<Reply> {
    match &request.pop {
        Pop::First => pop_first(db, now, request.keys),
        Pop::Move {
            destination,
            from,
            to,
        } => {
            let source = &request.keys[0];
            match db.read::<List>(now, source) {
                Err(reply) => Some(reply),
                Ok(None) => None,
                Ok(Some(_)) => Some(move_element(db, now, source, destination, *from, *to)),
            }
        }
    }
}

/// The parked clients.
#[derive(Default)]
pub struct BlockedClients {
    requests: BTreeMap<ConnId, Parked>,
    waiting: BTreeMap<Arg, VecDeque<ConnId>>,
}

impl BlockedClients {
    pub fn block(&mut self, conn: ConnId, request: BlockingPop) {
        self.unblock(conn);
        for key in request.keys {
            let queue = self.waiting.entry(key.clone()).or_default();
            if !queue.contains(&conn) {
                queue.push_back(conn);
            }
        }
        let pop = match request.pop {
            Pop::First => Pop::First,
            Pop::Move {
                destination,
                from,
                to,
            } => Pop::Move {
                destination: Arg::from(destination),
                from,
                to,
            },
        };
        let (first, more) = request.keys.split_first().expect("arity checked");
        let parked = Parked {
            first_key: first.clone(),
            more_keys: more.to_vec(),
            pop,
        };
        self.requests.insert(conn, parked);
    }

    /// Forgets `conn`'s blocked request; returns it if there was one.
    pub fn unblock(&mut self, conn: ConnId) -> Option<Parked> {
        let request = self.requests.remove(&conn)?;
        for key in request.keys() {
            if let Some(queue) = self.waiting.get_mut(key) {
                queue.retain(|waiting| *waiting != conn);
                if queue.is_empty() {
                    self.waiting.remove(key);
                }
            }
        }
        Some(request)
    }

    pub fn is_blocked(&self, conn: ConnId) -> bool {
        self.requests.contains_key(&conn)
    }

    pub fn clear(&mut self) {
        self.requests.clear();
        self.waiting.clear();
    }

    /// Serves clients on the lists pushed to since the last call; their replies in order.
    pub fn serve(&mut self, db: &mut Db, now: SimTime, served: &mut Vec<(ConnId, Reply)>) {
        let mut next = 0;
        while next < db.pushed_lists.len() {
            next += 1;
            // Most pushed lists have no client waiting (RQ's intermediate lists never do).
            if !self
                .waiting
                .contains_key(db.pushed_lists[next - 1].as_str())
            {
                continue;
            }
            // A copy, as serving may push to more lists; RQ's queue keys are inline in an Arg.
            let key = db.pushed_lists[next - 1].clone();
            self.serve_key(db, now, &key, served);
        }
        db.pushed_lists.clear();
    }

    fn serve_key(
        &mut self,
        db: &mut Db,
        now: SimTime,
        key: &str,
        served: &mut Vec<(ConnId, Reply)>,
    ) {
        loop {
            let Some(&conn) = self.waiting.get(key).and_then(VecDeque::front) else {
                return;
            };
            let has_data = matches!(db.read::<List>(now, key), Ok(Some(list)) if !list.is_empty());
            if !has_data {
                return;
            }
            let request = self.unblock(conn).expect("a waiting client has a request");
            let reply = match request.pop {
                Pop::First => pop_first(db, now, &[key]).unwrap_or(Reply::NilArray),
                Pop::Move {
                    destination,
                    from,
                    to,
                } => move_element(db, now, key, &destination, from, to),
            };
            served.push((conn, reply));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Outcome, Reply, Server};
    use crate::sim::{SimDuration, SimTime};

    fn block(s: &mut Server, conn: crate::redis::ConnId, words: &[&str]) -> Option<SimDuration> {
        match s.execute(SimTime::ZERO, conn, &[command(words)]) {
            Outcome::Blocked { timeout } => timeout,
            other => panic!("{words:?} did not block: {other:?}"),
        }
    }

    #[test]
    fn data_present_answers_at_once() {
        let mut s = Server::new();
        run0(&mut s, &["RPUSH", "q", "j1", "j2"]);
        assert_eq!(
            run0(&mut s, &["BLMOVE", "q", "i", "LEFT", "RIGHT", "5"]),
            bulk("j1")
        );
        assert_eq!(
            run0(&mut s, &["BLPOP", "none", "q", "0"]),
            bulks(&["q", "j2"])
        );
        assert_eq!(run0(&mut s, &["LRANGE", "i", "0", "-1"]), bulks(&["j1"]));
    }

    #[test]
    fn parked_clients_are_served_first_come_first_served() {
        let mut s = Server::new();
        assert_eq!(
            block(&mut s, A, &["BLMOVE", "q", "i", "LEFT", "RIGHT", "405"]),
            Some(SimDuration::from_secs(405))
        );
        assert_eq!(block(&mut s, B, &["BLPOP", "other", "q", "0"]), None);
        assert_eq!(
            block(&mut s, C, &["BLPOP", "q", "0.5"]),
            Some(SimDuration::from_millis(500))
        );
        assert!(s.take_unblocked().is_empty());
        assert_eq!(
            run(
                &mut s,
                SimTime::ZERO,
                ConnId(9),
                &["RPUSH", "q", "j1", "j2"]
            ),
            Reply::Int(2)
        );
        assert_eq!(
            s.take_unblocked(),
            vec![(A, bulk("j1")), (B, bulks(&["q", "j2"]))],
            "A blocked first; the list emptied before C's turn"
        );
        assert!(s.is_blocked(C));
        assert_eq!(run0(&mut s, &["LRANGE", "i", "0", "-1"]), bulks(&["j1"]));
        assert_eq!(run0(&mut s, &["EXISTS", "q"]), Reply::Int(0));
    }

    use crate::redis::ConnId;

    #[test]
    fn timeouts_reply_nil_only_while_blocked() {
        let mut s = Server::new();
        block(&mut s, A, &["BLMOVE", "q", "i", "LEFT", "RIGHT", "1"]);
        block(&mut s, B, &["BLPOP", "q", "1"]);
        let later = SimTime::from_secs(1);
        assert_eq!(s.block_timed_out(later, A), Some(Reply::Nil));
        assert_eq!(s.block_timed_out(later, B), Some(Reply::NilArray));
        assert_eq!(s.block_timed_out(later, B), None);
        run0(&mut s, &["RPUSH", "q", "x"]);
        assert!(s.take_unblocked().is_empty());
        assert_eq!(run0(&mut s, &["LLEN", "q"]), Reply::Int(1));
    }

    #[test]
    fn pushes_inside_exec_serve_after_the_exec_and_moves_chain() {
        let mut s = Server::new();
        block(&mut s, A, &["BLMOVE", "q", "i", "LEFT", "RIGHT", "0"]);
        block(&mut s, B, &["BLPOP", "i", "0"]);
        let request = [
            command(&["MULTI"]),
            command(&["RPUSH", "q", "j"]),
            command(&["EXEC"]),
        ];
        s.execute(SimTime::ZERO, C, &request[..2]);
        assert!(s.take_unblocked().is_empty(), "queued, not run");
        s.execute(SimTime::ZERO, C, &request[2..]);
        assert_eq!(
            s.take_unblocked(),
            vec![(A, bulk("j")), (B, bulks(&["i", "j"]))]
        );
    }

    #[test]
    fn inside_multi_blocking_pops_do_not_block() {
        let mut s = Server::new();
        let request: Vec<_> = [
            &["MULTI"][..],
            &["BLMOVE", "q", "i", "LEFT", "RIGHT", "0"],
            &["BLPOP", "q", "0"],
            &["EXEC"],
        ]
        .iter()
        .map(|w| command(w))
        .collect();
        let Outcome::Replies(replies) = s.execute(SimTime::ZERO, A, &request) else {
            panic!("blocked inside MULTI");
        };
        assert_eq!(replies[3], Reply::Array(vec![Reply::Nil, Reply::NilArray]));
    }

    #[test]
    fn timeout_errors_and_disconnect() {
        let mut s = Server::new();
        assert_eq!(
            run0(&mut s, &["BLPOP", "q", "-1"]),
            err("ERR timeout is negative")
        );
        assert_eq!(
            run0(&mut s, &["BLPOP", "q", "x"]),
            err("ERR timeout is not a float or out of range")
        );
        assert_eq!(
            run0(&mut s, &["BLMOVE", "q", "i", "UP", "LEFT", "1"]),
            err("ERR syntax error")
        );
        run0(&mut s, &["SET", "str", "v"]);
        assert!(run0(&mut s, &["BLPOP", "q", "str", "1"]).is_error());
        block(&mut s, A, &["BLPOP", "q", "0"]);
        s.disconnect(A);
        run(&mut s, SimTime::ZERO, B, &["RPUSH", "q", "x"]);
        assert!(s.take_unblocked().is_empty());
        assert_eq!(run0(&mut s, &["LLEN", "q"]), Reply::Int(1));
    }
}
