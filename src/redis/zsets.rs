//! Sorted sets: ZADD (NX, XX, GT, LT, CH, INCR), ZREM, ZSCORE, ZCARD, ZRANGEBYSCORE,
//! ZREMRANGEBYSCORE. Order is (score, member bytes), as in Redis's listpack and skiplist.

use std::cmp::Ordering;
use std::collections::{hash_map, BTreeSet, HashMap};

use crate::redis::arg::Arg;
use crate::redis::errors;
use crate::redis::key_text::{KeyText, StoredKey};
use crate::redis::keyspace::Db;
use crate::redis::numbers::{format_double, parse_float, parse_int};
use crate::redis::reply::Reply;
use crate::sim::rng::WordBuildHasher;
use crate::sim::SimTime;

/// A score as stored: -0 as 0, as Redis keeps it.
fn stored(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// A score that is never NaN, ordered as Redis compares doubles (so -0 equals 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// Members with scores, indexed both ways, the hash by [`StoredKey`] as the keyspace's keys
/// are (a word at a time). Members are [`Arg`]s: RQ's (job ids) fit inline,
/// so the search keys built to move or remove one allocate nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SortedSet {
    /// Looked up by member only (the order is `order`'s), so hashed rather than a tree.
    scores: HashMap<StoredKey, f64, WordBuildHasher>,
    order: BTreeSet<(Score, Arg)>,
}

impl SortedSet {
    pub fn score(&self, member: &str) -> Option<f64> {
        self.scores.get(KeyText::new(member)).copied()
    }

    /// Gives `member` the score `rescore` picks from its current one (`None`: not a member
    /// yet); `Ok(None)` from it changes nothing. One hash lookup whether the member is new or
    /// moves, where a score lookup and then an insert took two.
    fn rescore<E>(
        &mut self,
        member: &str,
        rescore: impl FnOnce(Option<f64>) -> Result<Option<f64>, E>,
    ) -> Result<(), E> {
        match self.scores.entry(StoredKey::new(member)) {
            hash_map::Entry::Vacant(slot) => {
                if let Some(score) = rescore(None)?.map(stored) {
                    self.order.insert((Score(score), slot.key().0.clone()));
                    slot.insert(score);
                }
            }
            hash_map::Entry::Occupied(mut slot) => {
                let old = *slot.get();
                if let Some(score) = rescore(Some(old))?.map(stored) {
                    slot.insert(score);
                    // The tree's own copy of the name moves to the new score.
                    let (_, name) = self
                        .order
                        .take(&(Score(old), slot.key().0.clone()))
                        .expect("a member is in both indexes");
                    self.order.insert((Score(score), name));
                }
            }
        }
        Ok(())
    }

    pub fn remove(&mut self, member: &str) -> bool {
        match self.scores.remove_entry(KeyText::new(member)) {
            Some((name, old)) => {
                self.order.remove(&(Score(old), name.0));
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Every member with its score, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.order
            .iter()
            .map(|(score, member)| (member.as_str(), score.0))
    }

    /// Members within `range`, in order.
    pub fn range<'a>(&'a self, range: &'a ScoreRange) -> impl Iterator<Item = (&'a str, f64)> {
        self.starting_at_min(range)
            .take_while(move |(score, _)| range.below_max(score.0))
            .map(|(score, member)| (member.as_str(), score.0))
    }

    /// The members from the first above `range`'s minimum on, in order. The tree is entered
    /// at the minimum's score: (score, "") comes before every member of that score, so only
    /// ties at an exclusive minimum are stepped over.
    fn starting_at_min<'a>(
        &'a self,
        range: &'a ScoreRange,
    ) -> impl Iterator<Item = &'a (Score, Arg)> {
        self.order
            .range((Score(range.min), Arg::default())..)
            .skip_while(move |(score, _)| !range.above_min(score.0))
    }

    /// Removes the members within `range`; how many went. In place: each step removes the
    /// first member left in the range, found again from the one just removed.
    pub fn remove_range(&mut self, range: &ScoreRange) -> usize {
        let first = self.starting_at_min(range).next().cloned();
        self.remove_run(first, |(score, _)| range.below_max(score.0))
    }

    /// Removes the members at ranks `ranks` (in score order); how many went.
    pub fn remove_ranks(&mut self, ranks: std::ops::RangeInclusive<usize>) -> usize {
        let first = self.order.iter().nth(*ranks.start()).cloned();
        let mut left = ranks.count();
        self.remove_run(first, |_| {
            let more = left > 0;
            left = left.saturating_sub(1);
            more
        })
    }

    /// Removes `first` and the members after it, in order, while `more` accepts them.
    fn remove_run(
        &mut self,
        first: Option<(Score, Arg)>,
        mut more: impl FnMut(&(Score, Arg)) -> bool,
    ) -> usize {
        let mut removed = 0;
        let mut next = first;
        while let Some(entry) = next.take().filter(&mut more) {
            self.order.remove(&entry);
            self.scores.remove(KeyText::new(&entry.1));
            removed += 1;
            next = self.order.range(&entry..).next().cloned();
        }
        removed
    }
}

/// A score interval as ZRANGEBYSCORE reads it: `1`, `(1`, `-inf`, `+inf`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRange {
    min: f64,
    min_exclusive: bool,
    max: f64,
    max_exclusive: bool,
}

impl ScoreRange {
    pub fn parse(min: &str, max: &str) -> Option<ScoreRange> {
        let (min, min_exclusive) = parse_bound(min)?;
        let (max, max_exclusive) = parse_bound(max)?;
        Some(ScoreRange {
            min,
            min_exclusive,
            max,
            max_exclusive,
        })
    }

    fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }
}

/// Redis's `zslParseRange` uses plain strtod here: NaN is refused, overflow is not checked.
fn parse_bound(text: &str) -> Option<(f64, bool)> {
    let (digits, exclusive) = match text.strip_prefix('(') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    if digits.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let value: f64 = digits.parse().ok()?;
    (!value.is_nan()).then_some((value, exclusive))
}

#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

fn parse_add_flags(args: &[Arg]) -> (AddFlags, usize) {
    let mut flags = AddFlags::default();
    let mut index = 1;
    while let Some(word) = args.get(index) {
        // Compared ignoring case rather than lower-cased: no String per word.
        let is = |name: &str| word.eq_ignore_ascii_case(name);
        let flag = if is("nx") {
            &mut flags.nx
        } else if is("xx") {
            &mut flags.xx
        } else if is("gt") {
            &mut flags.gt
        } else if is("lt") {
            &mut flags.lt
        } else if is("ch") {
            &mut flags.ch
        } else if is("incr") {
            &mut flags.incr
        } else {
            break;
        };
        *flag = true;
        index += 1;
    }
    (flags, index)
}

/// Checks ZADD's arguments in Redis's order, every score included, so that a bad one
/// refuses the whole command before anything is added; the first score. The others are
/// parsed again as they are added ([`scored`]) rather than kept in a `Vec` allocated per
/// ZADD: RQ's add one member.
fn check_add(flags: &AddFlags, pairs: &[Arg]) -> Result<f64, Reply> {
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(errors::syntax());
    }
    if flags.nx && flags.xx {
        return Err(errors::reply(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(errors::reply(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && pairs.len() > 2 {
        return Err(errors::reply(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let first = parse_float(&pairs[0]);
    let rest_parse = pairs[2..]
        .chunks(2)
        .all(|pair| parse_float(&pair[0]).is_some());
    match first {
        Some(score) if rest_parse => Ok(score),
        _ => Err(errors::reply(errors::NOT_FLOAT)),
    }
}

/// The (score, member) pairs of a ZADD that [`check_add`] accepted, the first with the
/// score it parsed.
fn scored(first: f64, pairs: &[Arg]) -> impl Iterator<Item = (f64, &str)> {
    pairs.chunks(2).enumerate().map(move |(index, pair)| {
        let score = match index {
            0 => first,
            _ => parse_float(&pair[0]).expect("check_add parsed every score"),
        };
        (score, pair[1].as_str())
    })
}

/// What one ZADD element did.
enum Added {
    New(f64),
    Updated(f64),
    Unchanged(f64),
    Skipped,
}

fn add_one(
    zset: &mut SortedSet,
    flags: &AddFlags,
    score: f64,
    member: &str,
) -> Result<Added, Reply> {
    let mut added = Added::Skipped;
    zset.rescore(member, |current| {
        let Some(current) = current else {
            if flags.xx {
                return Ok(None);
            }
            added = Added::New(score);
            return Ok(Some(score));
        };
        if flags.nx {
            return Ok(None);
        }
        let new = if flags.incr { current + score } else { score };
        if new.is_nan() {
            return Err(errors::reply("ERR resulting score is not a number (NaN)"));
        }
        if (flags.gt && new <= current) || (flags.lt && new >= current) {
            return Ok(None);
        }
        if new == current {
            added = Added::Unchanged(new);
            return Ok(None);
        }
        added = Added::Updated(new);
        Ok(Some(new))
    })?;
    Ok(added)
}

pub fn zadd(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let (flags, first_pair) = parse_add_flags(args);
    let pairs = &args[first_pair..];
    let first_score = match check_add(&flags, pairs) {
        Ok(score) => score,
        Err(reply) => return reply,
    };
    let key = &args[0];
    // Only XX needs to know beforehand whether the key exists; otherwise the lookup that
    // creates the set also finds a key of another type.
    if flags.xx {
        match db.check::<SortedSet>(now, key) {
            Ok(false) if flags.incr => return Reply::Nil,
            Ok(false) => return Reply::Int(0),
            Ok(true) => {}
            Err(reply) => return reply,
        }
    }
    let (mut added, mut updated, mut last) = (0, 0, None);
    let mut failure = None;
    let add_all = |zset: &mut SortedSet| {
        for (score, member) in scored(first_score, pairs) {
            match add_one(zset, &flags, score, member) {
                Ok(Added::New(s)) => (added, last) = (added + 1, Some(s)),
                Ok(Added::Updated(s)) => (updated, last) = (updated + 1, Some(s)),
                Ok(Added::Unchanged(s)) => last = Some(s),
                Ok(Added::Skipped) => last = None,
                Err(reply) => failure = Some(reply),
            }
        }
        zset.is_empty()
    };
    // A set created for members that were all refused is removed again; a set that holds
    // members needs no second lookup.
    let emptied = match db.update_or_create(now, key, add_all) {
        Ok(emptied) => emptied,
        Err(reply) => return reply,
    };
    if added + updated > 0 {
        db.watch.touch(key);
    }
    if emptied {
        db.drop_if_empty(key);
    }
    if let Some(reply) = failure {
        return reply;
    }
    match (flags.incr, last) {
        (true, Some(score)) => Reply::Bulk(Arg::from(format_double(score))),
        (true, None) => Reply::Nil,
        (false, _) if flags.ch => Reply::Int(added + updated),
        (false, _) => Reply::Int(added),
    }
}

pub fn zrem(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let (removed, emptied) = match db.write::<SortedSet>(now, &args[0]) {
        Ok(Some(zset)) => {
            let removed = args[1..].iter().filter(|m| zset.remove(m)).count();
            (removed, zset.is_empty())
        }
        Ok(None) => (0, false),
        Err(reply) => return reply,
    };
    if removed > 0 {
        db.modified(&args[0], emptied);
    }
    Reply::Int(removed as i64)
}

pub fn zscore(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<SortedSet>(now, &args[0]) {
        Ok(zset) => zset
            .and_then(|z| z.score(&args[1]))
            .map_or(Reply::Nil, |s| Reply::Bulk(Arg::from(format_double(s)))),
        Err(reply) => reply,
    }
}

pub fn zcard(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<SortedSet>(now, &args[0]) {
        Ok(zset) => Reply::Int(zset.map_or(0, SortedSet::len) as i64),
        Err(reply) => reply,
    }
}

/// ZRANGEBYSCORE's options: WITHSCORES, LIMIT offset count.
struct RangeOptions {
    with_scores: bool,
    offset: i64,
    count: i64,
}

fn parse_range_options(options: &[Arg]) -> Result<RangeOptions, Reply> {
    let mut parsed = RangeOptions {
        with_scores: false,
        offset: 0,
        count: -1,
    };
    let mut index = 0;
    while index < options.len() {
        let left = options.len() - index - 1;
        if options[index].eq_ignore_ascii_case("withscores") {
            parsed.with_scores = true;
        } else if options[index].eq_ignore_ascii_case("limit") && left >= 2 {
            let (Some(offset), Some(count)) = (
                parse_int(&options[index + 1]),
                parse_int(&options[index + 2]),
            ) else {
                return Err(errors::reply(errors::NOT_INTEGER));
            };
            (parsed.offset, parsed.count) = (offset, count);
            index += 2;
        } else {
            return Err(errors::syntax());
        }
        index += 1;
    }
    Ok(parsed)
}

pub fn zrangebyscore(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let options = match parse_range_options(&args[3..]) {
        Ok(options) => options,
        Err(reply) => return reply,
    };
    let Some(range) = ScoreRange::parse(&args[1], &args[2]) else {
        return errors::reply(errors::MIN_MAX_NOT_FLOAT);
    };
    let zset = match db.read::<SortedSet>(now, &args[0]) {
        Ok(Some(zset)) => zset,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(reply) => return reply,
    };
    if options.offset < 0 {
        return Reply::Array(Vec::new());
    }
    let count = usize::try_from(options.count).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    for (member, score) in zset.range(&range).skip(options.offset as usize).take(count) {
        items.push(Reply::Bulk(Arg::from(member)));
        if options.with_scores {
            items.push(Reply::Bulk(Arg::from(format_double(score))));
        }
    }
    Reply::Array(items)
}

pub fn zremrangebyscore(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let Some(range) = ScoreRange::parse(&args[1], &args[2]) else {
        return errors::reply(errors::MIN_MAX_NOT_FLOAT);
    };
    remove_members(db, now, &args[0], |zset| zset.remove_range(&range))
}

/// `start..=stop` of a set of `len` members as Redis reads ranks: negative ones count from
/// the end, then both are clamped to the set (`t_zset.c`); `None` when the range is empty.
fn rank_range(start: i64, stop: i64, len: i64) -> Option<std::ops::RangeInclusive<usize>> {
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    (start <= stop && start < len).then_some(start as usize..=stop as usize)
}

/// ZRANGE key start stop [WITHSCORES]: members by rank in score order, as RQ's registries
/// read them (`BaseRegistry.get_job_ids`). The by-score, by-lex, reversed and limited forms
/// of Redis 6.2 are not modelled: RQ does not send them, and they are refused by name.
pub fn zrange(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let (Some(start), Some(stop)) = (parse_int(&args[1]), parse_int(&args[2])) else {
        return errors::reply(errors::NOT_INTEGER);
    };
    let mut with_scores = false;
    for option in &args[3..] {
        if option.eq_ignore_ascii_case("withscores") {
            with_scores = true;
        } else if ["byscore", "bylex", "rev", "limit"]
            .iter()
            .any(|known| option.eq_ignore_ascii_case(known))
        {
            return Reply::Error(format!(
                "ERR this Redis model does not run ZRANGE with {}",
                option.as_str().to_ascii_uppercase()
            ));
        } else {
            return errors::syntax();
        }
    }
    let zset = match db.read::<SortedSet>(now, &args[0]) {
        Ok(Some(zset)) => zset,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(reply) => return reply,
    };
    let Some(ranks) = rank_range(start, stop, zset.len() as i64) else {
        return Reply::Array(Vec::new());
    };
    let mut items = Vec::new();
    for (member, score) in zset.iter().skip(*ranks.start()).take(ranks.count()) {
        items.push(Reply::Bulk(Arg::from(member)));
        if with_scores {
            items.push(Reply::Bulk(Arg::from(format_double(score))));
        }
    }
    Reply::Array(items)
}

/// ZREMRANGEBYRANK key start stop: ranks in score order, negative ones from the end, clamped
/// to the set as `zslParseRange`'s callers do (`t_zset.c zremrangeGenericCommand`).
pub fn zremrangebyrank(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let (Some(start), Some(stop)) = (parse_int(&args[1]), parse_int(&args[2])) else {
        return errors::reply(errors::NOT_INTEGER);
    };
    remove_members(db, now, &args[0], |zset| {
        match rank_range(start, stop, zset.len() as i64) {
            Some(ranks) => zset.remove_ranks(ranks),
            None => 0,
        }
    })
}

/// The ZREMRANGEBY* commands' common part: `remove` takes members from the set at `key`
/// and says how many; the reply is that count.
fn remove_members(
    db: &mut Db,
    now: SimTime,
    key: &Arg,
    remove: impl FnOnce(&mut SortedSet) -> usize,
) -> Reply {
    let (removed, emptied) = match db.write::<SortedSet>(now, key) {
        Ok(Some(zset)) => {
            let removed = remove(zset);
            (removed, zset.is_empty())
        }
        Ok(None) => (0, false),
        Err(reply) => return reply,
    };
    if removed > 0 {
        db.modified(key, emptied);
    }
    Reply::Int(removed as i64)
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};

    #[test]
    fn zadd_flags_and_replies() {
        let mut s = Server::new();
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "1", "a", "2", "b"]),
            Reply::Int(2)
        );
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "XX", "5", "a", "9", "new"]),
            Reply::Int(0)
        );
        assert_eq!(run0(&mut s, &["ZSCORE", "z", "a"]), bulk("5"));
        assert_eq!(run0(&mut s, &["ZSCORE", "z", "new"]), Reply::Nil);
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "NX", "7", "a", "3", "c"]),
            Reply::Int(1)
        );
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "CH", "1.1", "a", "3", "c"]),
            Reply::Int(1)
        );
        assert_eq!(
            run0(&mut s, &["ZSCORE", "z", "a"]),
            bulk("1.1000000000000001")
        );
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "GT", "CH", "0", "a"]),
            Reply::Int(0)
        );
        assert_eq!(run0(&mut s, &["ZADD", "z", "INCR", "2", "b"]), bulk("4"));
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "XX", "INCR", "2", "zz"]),
            Reply::Nil
        );
        assert_eq!(run0(&mut s, &["ZCARD", "z"]), Reply::Int(3));
        assert_eq!(
            run0(&mut s, &["ZADD", "missing", "XX", "1", "a"]),
            Reply::Int(0)
        );
        assert_eq!(run0(&mut s, &["EXISTS", "missing"]), Reply::Int(0));
    }

    /// Redis 7.0 `ZREMRANGEBYRANK`, as redis-server answers (also in the differential test).
    #[test]
    fn zremrangebyrank_removes_by_rank_from_either_end() {
        let mut s = Server::new();
        run0(
            &mut s,
            &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
        );
        assert_eq!(
            run0(&mut s, &["ZREMRANGEBYRANK", "z", "0", "-4"]),
            Reply::Int(1)
        );
        assert_eq!(
            run0(&mut s, &["ZREMRANGEBYRANK", "z", "5", "9"]),
            Reply::Int(0)
        );
        assert_eq!(
            run0(&mut s, &["ZREMRANGEBYRANK", "z", "-1", "99"]),
            Reply::Int(1)
        );
        assert_eq!(run0(&mut s, &["ZCARD", "z"]), Reply::Int(2));
        assert_eq!(
            run0(&mut s, &["ZREMRANGEBYRANK", "z", "0", "-1"]),
            Reply::Int(2)
        );
        assert_eq!(run0(&mut s, &["EXISTS", "z"]), Reply::Int(0));
        assert_eq!(
            run0(&mut s, &["ZREMRANGEBYRANK", "z", "x", "1"]),
            err("ERR value is not an integer or out of range")
        );
    }

    #[test]
    fn zadd_errors() {
        let mut s = Server::new();
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "1", "a", "2"]),
            err("ERR syntax error")
        );
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "x", "a"]),
            err("ERR value is not a valid float")
        );
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "NX", "XX", "1", "a"]),
            err("ERR XX and NX options at the same time are not compatible")
        );
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "GT", "LT", "1", "a"]),
            err("ERR GT, LT, and/or NX options at the same time are not compatible")
        );
        assert_eq!(
            run0(&mut s, &["ZADD", "z", "INCR", "1", "a", "2", "b"]),
            err("ERR INCR option supports a single increment-element pair")
        );
        assert_eq!(run0(&mut s, &["EXISTS", "z"]), Reply::Int(0));
    }

    #[test]
    fn zrangebyscore_orders_by_score_then_member_with_bounds_and_limit() {
        let mut s = Server::new();
        run0(
            &mut s,
            &["ZADD", "z", "2", "b", "1", "c", "2", "a", "3", "d"],
        );
        assert_eq!(
            run0(&mut s, &["ZRANGEBYSCORE", "z", "-inf", "+inf"]),
            bulks(&["c", "a", "b", "d"])
        );
        assert_eq!(
            run0(&mut s, &["ZRANGEBYSCORE", "z", "(1", "2"]),
            bulks(&["a", "b"])
        );
        assert_eq!(
            run0(&mut s, &["ZRANGEBYSCORE", "z", "1", "(2"]),
            bulks(&["c"])
        );
        assert_eq!(
            run0(
                &mut s,
                &[
                    "ZRANGEBYSCORE",
                    "z",
                    "2",
                    "inf",
                    "WITHSCORES",
                    "LIMIT",
                    "1",
                    "5"
                ]
            ),
            bulks(&["b", "2", "d", "3"])
        );
        assert_eq!(
            run0(
                &mut s,
                &["ZRANGEBYSCORE", "z", "0", "9", "LIMIT", "0", "-1"]
            )
            .as_array()
            .unwrap()
            .len(),
            4
        );
        assert_eq!(
            run0(
                &mut s,
                &["ZRANGEBYSCORE", "z", "0", "9", "LIMIT", "-1", "2"]
            ),
            bulks(&[])
        );
        assert_eq!(
            run0(&mut s, &["ZRANGEBYSCORE", "z", "0", "x"]),
            err("ERR min or max is not a float")
        );
        assert_eq!(
            run0(&mut s, &["ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "1"]),
            err("ERR syntax error")
        );
        assert_eq!(
            run0(&mut s, &["ZREMRANGEBYSCORE", "z", "0", "2"]),
            Reply::Int(3)
        );
        assert_eq!(run0(&mut s, &["ZREM", "z", "d", "zz"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["EXISTS", "z"]), Reply::Int(0));
    }
}
