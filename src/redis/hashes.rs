//! Hashes: HSET, HGET, HGETALL, HDEL, HEXISTS, HINCRBY, HINCRBYFLOAT, HLEN, HMGET.
//!
//! Fields keep insertion order, as in a small Redis hash (a listpack: at most 128 fields of
//! at most 64 bytes). An updated field keeps its place; HDEL removes it. Big Redis hashes
//! become hash tables with an unspecified order; the model keeps insertion order for them too.

use crate::redis::arg::{first_word, same_words_from, Arg, IntoArg};
use crate::redis::errors;
use crate::redis::keyspace::Db;
use crate::redis::numbers::{add_float_strings, parse_int, FloatText};
use crate::redis::reply::Reply;
use crate::sim::SimTime;

/// Field/value pairs in insertion order (linear search: RQ's hashes hold a few dozen fields).
/// Fields and values are [`Arg`]s: most of RQ's (`status`, `origin`, `"queued"`, numbers)
/// fit inline, so storing them allocates nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hash {
    fields: Vec<Field>,
    /// A one-word Bloom filter of the fields' tags (the bits of [`tag_bit`]): a name whose
    /// bit is clear is not here, which the fields of a new job hash, all absent, learn
    /// without a scan.
    tag_bits: u64,
}

/// The bit of `tag` in [`Hash::tag_bits`]: six bits of a multiplicative hash of it.
fn tag_bit(tag: u64) -> u64 {
    1 << (tag.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

#[derive(Clone, Debug, PartialEq)]
struct Field {
    /// [`tag`] of the name: the search compares names only where tags match.
    tag: u64,
    name: Arg,
    value: Arg,
}

/// The length and first eight bytes of a field name, in one word. Equal names have equal
/// tags, and names of one length with equal tags agree in their first eight bytes; RQ's field
/// names (`status`, `started_at`, `enqueued_at` …) all have different tags, so a search
/// compares one word per field and the rest of the name only where the tag matches.
fn tag(name: &str) -> u64 {
    first_word(name.as_bytes()) ^ (name.len() as u64).rotate_right(8)
}

/// Whether two names of the same length whose first eight bytes agree (equal tags) agree in
/// the rest too.
fn same_tail(a: &[u8], b: &[u8]) -> bool {
    a.len() <= 8 || same_words_from(a, b, 8)
}

impl Hash {
    fn find(&self, name: &str) -> Option<usize> {
        self.find_tagged(tag(name), name)
    }

    /// [`Hash::find`] of a name whose tag the caller has.
    fn find_tagged(&self, tag: u64, name: &str) -> Option<usize> {
        if self.tag_bits & tag_bit(tag) == 0 {
            return None;
        }
        let (bytes, len) = (name.as_bytes(), name.len());
        self.fields.iter().position(|field| {
            field.tag == tag && field.name.len() == len && same_tail(field.name.as_bytes(), bytes)
        })
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.find(field).map(|at| self.fields[at].value.as_str())
    }

    /// Sets each `field value` pair of `pairs` in order; how many fields were new.
    fn set_pairs(&mut self, pairs: &[Arg]) -> usize {
        let mut added = 0;
        for pair in pairs.chunks_exact(2) {
            let (field, value) = (pair[0].as_str(), pair[1].as_str());
            let tag = tag(field);
            match self.find_tagged(tag, field) {
                Some(at) => self.fields[at].value.assign(value),
                None => {
                    self.push(tag, field, value);
                    added += 1;
                }
            }
        }
        added
    }

    /// Room for exactly `additional` more fields: a new hash gets all of its first command's
    /// at once. (Making room for a command's remaining pairs whenever the hash was full saved
    /// no measurable instructions and raised the 3-minute pod-churn's peak memory from
    /// 66 to 78 MiB: the vectors took odd sizes and moved more often.)
    fn reserve_exact(&mut self, additional: usize) {
        self.fields.reserve_exact(additional);
    }

    /// Appends a field known to be new, whose tag is `tag`.
    fn push(&mut self, tag: u64, field: &str, value: &str) {
        self.push_value(tag, field, Arg::from(value));
    }

    /// [`Hash::push`] of a value already made.
    fn push_value(&mut self, tag: u64, field: &str, value: Arg) {
        self.tag_bits |= tag_bit(tag);
        self.fields.push(Field {
            tag,
            name: Arg::from(field),
            value,
        });
    }

    pub fn remove(&mut self, field: &str) -> bool {
        match self.find(field) {
            Some(at) => {
                self.fields.remove(at);
                self.tag_bits = self.fields.iter().fold(0, |bits, f| bits | tag_bit(f.tag));
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|field| (field.name.as_str(), field.value.as_str()))
    }
}

fn bulk_or_nil(value: Option<&str>) -> Reply {
    value.map_or(Reply::Nil, |v| Reply::Bulk(Arg::from(v)))
}

/// HSET key field value [field value …]: the number of new fields.
pub fn hset(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    if args.len() < 3 || args.len() % 2 == 0 {
        return errors::arity("hset");
    }
    let set_all = |hash: &mut Hash| {
        if hash.is_empty() {
            hash.reserve_exact(args.len() / 2);
        }
        hash.set_pairs(&args[1..])
    };
    let added = match db.update_or_create(now, &args[0], set_all) {
        Ok(added) => added,
        Err(reply) => return reply,
    };
    // Not `modified`: a hash just given a field is not empty, so there is nothing to drop.
    db.watch.touch(&args[0]);
    Reply::Int(added as i64)
}

/// HMSET key field value [field value …]: HSET that replies OK.
pub fn hmset(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    if args.len() < 3 || args.len() % 2 == 0 {
        return errors::arity("hmset");
    }
    match hset(db, now, args) {
        Reply::Int(_) => Reply::ok(),
        other => other,
    }
}

pub fn hget(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Hash>(now, &args[0]) {
        Ok(hash) => bulk_or_nil(hash.and_then(|h| h.get(&args[1]))),
        Err(reply) => reply,
    }
}

pub fn hmget(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Hash>(now, &args[0]) {
        Ok(hash) => Reply::Array(
            args[1..]
                .iter()
                .map(|field| bulk_or_nil(hash.and_then(|h| h.get(field))))
                .collect(),
        ),
        Err(reply) => reply,
    }
}

pub fn hgetall(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Hash>(now, &args[0]) {
        Ok(hash) => {
            let mut replies = Vec::with_capacity(2 * hash.map_or(0, Hash::len));
            for (field, value) in hash.iter().flat_map(|h| h.iter()) {
                replies.push(Reply::Bulk(Arg::from(field)));
                replies.push(Reply::Bulk(Arg::from(value)));
            }
            Reply::Array(replies)
        }
        Err(reply) => reply,
    }
}

pub fn hlen(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Hash>(now, &args[0]) {
        Ok(hash) => Reply::Int(hash.map_or(0, Hash::len) as i64),
        Err(reply) => reply,
    }
}

pub fn hexists(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Hash>(now, &args[0]) {
        Ok(hash) => Reply::Int(hash.and_then(|h| h.get(&args[1])).is_some() as i64),
        Err(reply) => reply,
    }
}

pub fn hdel(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let (removed, emptied) = match db.write::<Hash>(now, &args[0]) {
        Ok(None) => return Reply::Int(0),
        Ok(Some(hash)) => {
            let removed = args[1..].iter().filter(|field| hash.remove(field)).count();
            (removed, hash.is_empty())
        }
        Err(reply) => return reply,
    };
    if removed > 0 {
        db.modified(&args[0], emptied);
    }
    Reply::Int(removed as i64)
}

pub fn hincrby(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let Some(increment) = parse_int(&args[2]) else {
        return errors::reply(errors::NOT_INTEGER);
    };
    update_field(db, now, args, |current| {
        let current = match current.map(parse_int) {
            None => 0,
            Some(Some(value)) => value,
            Some(None) => return Err(errors::reply(errors::HASH_NOT_INTEGER)),
        };
        match current.checked_add(increment) {
            Some(sum) => Ok((sum.into_arg(), Reply::Int(sum))),
            None => Err(errors::reply(errors::OVERFLOW)),
        }
    })
}

pub fn hincrbyfloat(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let Some(increment) = FloatText::parse(&args[2]) else {
        return errors::reply(errors::NOT_FLOAT);
    };
    if increment.is_infinite() {
        return errors::reply(errors::NAN_OR_INFINITY);
    }
    update_field(db, now, args, |current| {
        let Some(current) = FloatText::parse(current.unwrap_or("0")) else {
            return Err(errors::reply(errors::HASH_NOT_FLOAT));
        };
        match add_float_strings(&current, &increment) {
            Some(sum) => Ok((sum.clone(), Reply::Bulk(sum))),
            None => Err(errors::reply(errors::INCR_NAN_OR_INFINITY)),
        }
    })
}

/// HINCRBY's and HINCRBYFLOAT's one lookup: `compute` sees the text of field `args[1]` of
/// hash `args[0]` (`None`: missing) and returns the text to store and the reply, or the
/// error reply, which leaves the hash as it was.
fn update_field(
    db: &mut Db,
    now: SimTime,
    args: &[Arg],
    compute: impl FnOnce(Option<&str>) -> Result<(Arg, Reply), Reply>,
) -> Reply {
    let update = |hash: &mut Hash| {
        let (tag, name) = (tag(&args[1]), args[1].as_str());
        let at = hash.find_tagged(tag, name);
        match compute(at.map(|at| hash.fields[at].value.as_str())) {
            Ok((value, reply)) => {
                match at {
                    Some(at) => hash.fields[at].value = value,
                    None => hash.push_value(tag, name, value),
                }
                Ok(reply)
            }
            Err(reply) => Err((reply, hash.is_empty())),
        }
    };
    match db.update_or_create(now, &args[0], update) {
        Ok(Ok(reply)) => {
            // The hash holds the field just set: not empty.
            db.modified(&args[0], false);
            reply
        }
        Ok(Err((reply, emptied))) => {
            // A hash created for the field only (none of the errors can happen then, as the
            // field is missing, but the key must not stay behind as an empty hash).
            if emptied {
                db.drop_if_empty(&args[0]);
            }
            reply
        }
        Err(reply) => reply,
    }
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};

    #[test]
    fn hset_counts_new_fields_and_keeps_insertion_order() {
        let mut s = Server::new();
        assert_eq!(
            run0(&mut s, &["HSET", "h", "b", "1", "a", "2"]),
            Reply::Int(2)
        );
        assert_eq!(
            run0(&mut s, &["HSET", "h", "b", "3", "c", "4"]),
            Reply::Int(1)
        );
        assert_eq!(
            run0(&mut s, &["HGETALL", "h"]),
            bulks(&["b", "3", "a", "2", "c", "4"])
        );
        assert_eq!(run0(&mut s, &["HDEL", "h", "a", "zz"]), Reply::Int(1));
        run0(&mut s, &["HSET", "h", "a", "5"]);
        assert_eq!(
            run0(&mut s, &["HGETALL", "h"]),
            bulks(&["b", "3", "c", "4", "a", "5"])
        );
        assert_eq!(run0(&mut s, &["HGET", "h", "c"]), bulk("4"));
        assert_eq!(run0(&mut s, &["HGET", "h", "zz"]), Reply::Nil);
        assert_eq!(run0(&mut s, &["HEXISTS", "h", "c"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["HLEN", "h"]), Reply::Int(3));
        assert_eq!(run0(&mut s, &["HGETALL", "missing"]), bulks(&[]));
    }

    /// Whatever the order of the fields written (the hash's, reversed, rotated, shuffled,
    /// repeated within one command), HSET's count of new fields and the contents are those of
    /// a plain map that keeps insertion order.
    #[test]
    fn hset_in_any_field_order_agrees_with_an_insertion_ordered_map() {
        let names: Vec<String> = (0..12).map(|i| format!("field{i}")).collect();
        let mut s = Server::new();
        let mut model: Vec<(String, String)> = Vec::new();
        let mut random = Lcg(7);
        for round in 0..60 {
            let state = random.step();
            let count = 1 + (state >> 33) as usize % 14;
            let picks: Vec<&String> = (0..count)
                .map(|i| match round % 4 {
                    0 => &names[i % names.len()],
                    1 => &names[(names.len() - 1) - i % names.len()],
                    2 => &names[(i + round) % names.len()],
                    _ => &names[((state >> (i % 30)) as usize) % names.len()],
                })
                .collect();
            let mut words = vec!["HSET".to_string(), "h".to_string()];
            let mut added = 0;
            for (i, name) in picks.iter().enumerate() {
                let value = format!("{round}.{i}");
                match model.iter_mut().find(|(n, _)| n == *name) {
                    Some(pair) => pair.1 = value.clone(),
                    None => {
                        model.push(((*name).clone(), value.clone()));
                        added += 1;
                    }
                }
                words.extend([(*name).clone(), value]);
            }
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(run0(&mut s, &words), Reply::Int(added), "round {round}");
            let flat: Vec<&str> = model
                .iter()
                .flat_map(|(n, v)| [n.as_str(), v.as_str()])
                .collect();
            assert_eq!(
                run0(&mut s, &["HGETALL", "h"]),
                bulks(&flat),
                "round {round}"
            );
            if round % 7 == 6 {
                let gone = model.remove(round % model.len()).0;
                assert_eq!(run0(&mut s, &["HDEL", "h", &gone]), Reply::Int(1));
            }
        }
    }

    /// An overwrite copies a short value inline or reuses a long one's buffer: whichever
    /// way, the field reads back exactly as written, at every length around the inline limit.
    #[test]
    fn overwriting_a_field_with_values_of_every_length_keeps_the_last() {
        let mut s = Server::new();
        let lengths = [0, 1, 23, 24, 25, 40, 3, 24, 0, 60, 24, 25, 2];
        for (round, length) in lengths.into_iter().enumerate() {
            let value: String = (0..length)
                .map(|i| char::from(b'a' + (i + round) as u8 % 26))
                .collect();
            assert_eq!(
                run0(&mut s, &["HSET", "h", "f", &value]),
                Reply::Int((round == 0) as i64)
            );
            assert_eq!(run0(&mut s, &["HGET", "h", "f"]), bulk(&value), "{length}");
        }
        assert_eq!(run0(&mut s, &["HLEN", "h"]), Reply::Int(1));
    }

    /// Names that share a tag's eight head bytes, or differ only past them, or in length
    /// around eight bytes, are told apart: the search compares the rest of a name only where
    /// tags match.
    #[test]
    fn names_alike_in_head_or_length_are_different_fields() {
        let names = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcdefg",
            "abcdefgh",
            "abcdefg\u{f}",
            "abcdefghi",
            "abcdefghj",
            "abcdefgh_abcdefgh",
            "abcdefgh_abcdefgi",
            "abcdefgh_abcdefgh_x",
            "bbcdefgh_abcdefgh",
            "last_heartbeat",
            "last_heartbeaT",
            "lastheartbeat_",
        ];
        let mut s = Server::new();
        for (i, name) in names.iter().enumerate() {
            let value = i.to_string();
            assert_eq!(run0(&mut s, &["HSET", "h", name, &value]), Reply::Int(1));
        }
        for (i, name) in names.iter().enumerate() {
            assert_eq!(run0(&mut s, &["HGET", "h", name]), bulk(&i.to_string()));
            assert_eq!(
                run0(&mut s, &["HSET", "h", name, "x"]),
                Reply::Int(0),
                "{name}"
            );
        }
        assert_eq!(run0(&mut s, &["HLEN", "h"]), Reply::Int(names.len() as i64));
    }

    #[test]
    fn hdel_of_the_last_field_deletes_the_key() {
        let mut s = Server::new();
        run0(&mut s, &["HSET", "h", "f", "v"]);
        assert_eq!(run0(&mut s, &["HDEL", "h", "f"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["EXISTS", "h"]), Reply::Int(0));
    }

    #[test]
    fn hset_arity_and_type_errors() {
        let mut s = Server::new();
        let arity = err("ERR wrong number of arguments for 'hset' command");
        assert_eq!(run0(&mut s, &["HSET", "h", "f"]), arity);
        assert_eq!(run0(&mut s, &["HSET", "h", "f", "v", "g"]), arity);
        run0(&mut s, &["SET", "s", "x"]);
        assert_eq!(
            run0(&mut s, &["HSET", "s", "f", "v"]),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
    }

    #[test]
    fn hincrby_and_hincrbyfloat() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["HINCRBY", "h", "n", "5"]), Reply::Int(5));
        assert_eq!(run0(&mut s, &["HINCRBY", "h", "n", "-7"]), Reply::Int(-2));
        assert_eq!(
            run0(&mut s, &["HINCRBY", "h", "n", "x"]),
            err("ERR value is not an integer or out of range")
        );
        run0(
            &mut s,
            &["HSET", "h", "s", "abc", "max", "9223372036854775807"],
        );
        assert_eq!(
            run0(&mut s, &["HINCRBY", "h", "s", "1"]),
            err("ERR hash value is not an integer")
        );
        assert_eq!(
            run0(&mut s, &["HINCRBY", "h", "max", "1"]),
            err("ERR increment or decrement would overflow")
        );
        assert_eq!(
            run0(&mut s, &["HINCRBYFLOAT", "h", "f", "0.1"]),
            bulk("0.1")
        );
        assert_eq!(
            run0(&mut s, &["HINCRBYFLOAT", "h", "f", "0.2"]),
            bulk("0.3")
        );
        assert_eq!(
            run0(&mut s, &["HINCRBYFLOAT", "h", "g", "12345.678"]),
            bulk("12345.67799999999999994")
        );
        assert_eq!(
            run0(&mut s, &["HINCRBYFLOAT", "h", "s", "1"]),
            err("ERR hash value is not a float")
        );
        assert_eq!(
            run0(&mut s, &["HINCRBYFLOAT", "h", "f", "x"]),
            err("ERR value is not a valid float")
        );
        assert_eq!(
            run0(&mut s, &["HINCRBYFLOAT", "h", "f", "inf"]),
            err("ERR value is NaN or Infinity")
        );
        assert_eq!(run0(&mut s, &["HGET", "h", "f"]), bulk("0.3"));
    }
}
