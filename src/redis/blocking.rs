//! Clients parked in BLMOVE/BLPOP, and serving them when pushes make their lists non-empty.
//!
//! As in Redis 7: after each command (an EXEC counts as one), every list that was pushed to is
//! visited in push order; while it is non-empty, the client that blocked on it longest is
//! served. A BLMOVE served this way pushes to its destination, which may serve others in turn.

use std::collections::{BTreeMap, VecDeque};

use crate::redis::errors;
use crate::redis::keyspace::Db;
use crate::redis::lists::{move_element, pop_first, List, Side};
use crate::redis::numbers::{parse_float, timeout_millis};
use crate::redis::reply::Reply;
use crate::redis::server::ConnId;
use crate::sim::{SimDuration, SimTime};

/// What a blocked client waits to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Pop {
    /// BLPOP: pop the left of whichever key gets data first.
    First,
    /// BLMOVE: move from the (single) key to `destination`.
    Move {
        destination: String,
        from: Side,
        to: Side,
    },
}

impl Pop {
    /// The reply when the timeout passes.
    pub fn timeout_reply(&self) -> Reply {
        match self {
            Pop::First => Reply::NilArray,
            Pop::Move { .. } => Reply::Nil,
        }
    }
}

/// A blocking pop, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockingPop {
    pub keys: Vec<String>,
    pub pop: Pop,
    /// `None` = forever (timeout 0).
    pub timeout: Option<SimDuration>,
}

/// Parses a blocking timeout (float seconds) as Redis does, to whole milliseconds.
fn parse_timeout(text: &str) -> Result<Option<SimDuration>, Reply> {
    let Some(seconds) = parse_float(text).filter(|s| s.is_finite()) else {
        return Err(errors::reply(errors::TIMEOUT_NOT_FLOAT));
    };
    if seconds < 0.0 {
        return Err(errors::reply(errors::TIMEOUT_NEGATIVE));
    }
    match timeout_millis(seconds) {
        Some(0) => Ok(None),
        Some(millis) => Ok(Some(SimDuration::from_millis(millis))),
        None => Err(errors::reply("ERR timeout is out of range")),
    }
}

/// BLPOP key… timeout.
pub fn parse_blpop(args: &[String]) -> Result<BlockingPop, Reply> {
    let (timeout, keys) = args.split_last().expect("arity checked");
    Ok(BlockingPop {
        timeout: parse_timeout(timeout)?,
        keys: keys.to_vec(),
        pop: Pop::First,
    })
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
pub fn parse_blmove(args: &[String]) -> Result<BlockingPop, Reply> {
    let (Some(from), Some(to)) = (Side::parse(&args[2]), Side::parse(&args[3])) else {
        return Err(errors::syntax());
    };
    Ok(BlockingPop {
        timeout: parse_timeout(&args[4])?,
        keys: vec![args[0].clone()],
        pop: Pop::Move {
            destination: args[1].clone(),
            from,
            to,
        },
    })
}

/// Tries the pop at once: `Some(reply)` if it is answered (data, or an error), `None` if the
/// client would block.
pub fn try_pop(db: &mut Db, now: SimTime, request: &BlockingPop) -> Option<Reply> {
    match &request.pop {
        Pop::First => pop_first(db, now, &request.keys),
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
    requests: BTreeMap<ConnId, BlockingPop>,
    waiting: BTreeMap<String, VecDeque<ConnId>>,
}

impl BlockedClients {
    pub fn block(&mut self, conn: ConnId, request: BlockingPop) {
        self.unblock(conn);
        for key in &request.keys {
            let queue = self.waiting.entry(key.clone()).or_default();
            if !queue.contains(&conn) {
                queue.push_back(conn);
            }
        }
        self.requests.insert(conn, request);
    }

    /// Forgets `conn`'s blocked request; returns it if there was one.
    pub fn unblock(&mut self, conn: ConnId) -> Option<BlockingPop> {
        let request = self.requests.remove(&conn)?;
        for key in &request.keys {
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
            let key = db.pushed_lists[next].clone();
            next += 1;
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
                Pop::First => pop_first(db, now, &[key.to_string()]).unwrap_or(Reply::NilArray),
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
