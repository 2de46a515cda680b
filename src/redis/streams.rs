//! A minimal stream: XADD with `*` or explicit ids and `MAXLEN [=|~] N`, and XLEN. RQ only
//! appends results there.

use std::collections::VecDeque;
use std::fmt::Write;

use arrayvec::ArrayString;

use crate::redis::arg::Arg;
use crate::redis::errors;
use crate::redis::keyspace::Db;
use crate::redis::numbers::parse_int;
use crate::redis::reply::Reply;
use crate::sim::SimTime;

/// Entries per listpack node in Redis (`stream-node-max-entries`): `MAXLEN ~` trims only
/// whole nodes, so it keeps up to this many entries more than asked.
const NODE_ENTRIES: usize = 100;

/// A stream id `ms-seq`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    fn parse(text: &str) -> Option<StreamId> {
        let (ms, seq) = match text.split_once('-') {
            Some((ms, seq)) => (ms, seq.parse().ok()?),
            None => (text, 0),
        };
        Some(StreamId {
            ms: ms.parse().ok()?,
            seq,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    /// Each entry's field/value pairs as [`Arg`]s: RQ's result fields are short, so storing
    /// them allocates nothing beyond the entry's `Vec`.
    entries: VecDeque<(StreamId, Vec<(Arg, Arg)>)>,
    last_id: StreamId,
}

impl Stream {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn next_auto_id(&self, now: SimTime) -> Option<StreamId> {
        let ms = now.as_micros() / 1000;
        if ms > self.last_id.ms {
            return Some(StreamId { ms, seq: 0 });
        }
        let seq = self.last_id.seq.checked_add(1)?;
        Some(StreamId {
            ms: self.last_id.ms,
            seq,
        })
    }

    fn trim(&mut self, max_length: usize, approximate: bool) {
        if approximate {
            while self.entries.len() >= max_length + NODE_ENTRIES {
                self.entries.drain(..NODE_ENTRIES);
            }
        } else {
            while self.entries.len() > max_length {
                self.entries.pop_front();
            }
        }
    }
}

struct XaddOptions {
    max_length: Option<(usize, bool)>,
    id_index: usize,
}

fn parse_xadd_options(args: &[Arg]) -> Result<XaddOptions, Reply> {
    let mut index = 1;
    let mut max_length = None;
    if args
        .get(index)
        .is_some_and(|w| w.eq_ignore_ascii_case("maxlen"))
    {
        index += 1;
        let approximate = match args.get(index).map(Arg::as_str) {
            Some("~") => true,
            Some("=") => false,
            _ => {
                index -= 1;
                false
            }
        };
        index += 1;
        let Some(text) = args.get(index) else {
            return Err(errors::syntax());
        };
        match parse_int(text) {
            Some(n) if n >= 0 => max_length = Some((n as usize, approximate)),
            Some(_) => return Err(errors::reply("ERR The MAXLEN argument must be >= 0.")),
            None => return Err(errors::reply(errors::NOT_INTEGER)),
        }
        index += 1;
    }
    Ok(XaddOptions {
        max_length,
        id_index: index,
    })
}

pub fn xadd(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let options = match parse_xadd_options(args) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let fields = &args[(options.id_index + 1).min(args.len())..];
    if fields.is_empty() || fields.len() % 2 != 0 {
        return errors::arity("xadd");
    }
    let id_text = &args[options.id_index];
    let explicit = if id_text == "*" {
        None
    } else {
        match StreamId::parse(id_text) {
            Some(id) => Some(id),
            None => {
                return errors::reply("ERR Invalid stream ID specified as stream command argument")
            }
        }
    };
    if explicit == Some(StreamId::default()) {
        return errors::reply("ERR The ID specified in XADD must be greater than 0-0");
    }
    // One lookup, which creates a missing stream: neither error below can come from a new
    // one (its last ID is 0-0, below any ID accepted above or made up), so none is left
    // behind.
    let append = |stream: &mut Stream| {
        if explicit.is_some_and(|id| id <= stream.last_id) {
            return Err(errors::reply(
                "ERR The ID specified in XADD is equal or smaller than the target stream top item",
            ));
        }
        let Some(id) = explicit.or_else(|| stream.next_auto_id(now)) else {
            return Err(errors::reply(
                "ERR The stream has exhausted the last possible ID, unable to add more items",
            ));
        };
        let pairs = fields
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        stream.entries.push_back((id, pairs));
        stream.last_id = id;
        if let Some((max_length, approximate)) = options.max_length {
            stream.trim(max_length, approximate);
        }
        Ok(id)
    };
    let id = match db.update_or_create(now, &args[0], append) {
        Ok(Ok(id)) => id,
        Ok(Err(reply)) | Err(reply) => return reply,
    };
    db.watch.touch(&args[0]);
    // Written on the stack, not into a `String` allocated per XADD: `u64-u64` fits.
    let mut text = ArrayString::<48>::new();
    write!(text, "{}-{}", id.ms, id.seq).expect("two u64s and a dash fit");
    Reply::Bulk(Arg::from(text.as_str()))
}

pub fn xlen(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Stream>(now, &args[0]) {
        Ok(stream) => Reply::Int(stream.map_or(0, Stream::len) as i64),
        Err(reply) => reply,
    }
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};
    use crate::sim::SimTime;

    #[test]
    fn xadd_ids_follow_the_server_clock() {
        let mut s = Server::new();
        let t = SimTime::from_secs(5);
        assert_eq!(
            run(&mut s, t, A, &["XADD", "x", "*", "f", "v"]),
            bulk("5000-0")
        );
        assert_eq!(
            run(
                &mut s,
                t,
                A,
                &["XADD", "x", "MAXLEN", "~", "10", "*", "f", "v"]
            ),
            bulk("5000-1")
        );
        assert_eq!(
            run(&mut s, t, A, &["XADD", "x", "1-1", "f", "v"]),
            err("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        );
        assert_eq!(
            run(&mut s, t, A, &["XADD", "x", "*", "f"]),
            err("ERR wrong number of arguments for 'xadd' command")
        );
        assert_eq!(
            run(&mut s, t, A, &["TYPE", "x"]),
            Reply::Status("stream".into())
        );
    }

    #[test]
    fn maxlen_trims_exactly_or_by_whole_nodes() {
        let mut s = Server::new();
        for _ in 0..150 {
            run0(
                &mut s,
                &["XADD", "approx", "MAXLEN", "~", "10", "*", "f", "v"],
            );
            run0(&mut s, &["XADD", "exact", "MAXLEN", "10", "*", "f", "v"]);
        }
        assert_eq!(run0(&mut s, &["XLEN", "exact"]), Reply::Int(10));
        assert_eq!(run0(&mut s, &["XLEN", "approx"]), Reply::Int(50));
    }
}
