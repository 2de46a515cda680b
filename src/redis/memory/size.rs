//! What a key costs Redis 7.0 in `used_memory`: the bytes jemalloc hands out for the key's
//! dictionary entry, its name, its value's object and encoding, and its TTL.
//!
//! Each value is sized in the encoding Redis 7.0 gives it: an `embstr` or raw string, a
//! listpack hash, zset or list node while it is small, a hash table or skiplist once it is
//! not (`hash-max-listpack-entries 128`, `-value 64`; `zset-max-listpack-entries 128`,
//! `-value 64`; lists in 8 KB listpack nodes), and sets as hash tables (7.0 has no listpack
//! sets). The constants are those structures' sizes rounded up to jemalloc's size classes.
//! tests/redis_differential.rs checks the result against `MEMORY USAGE` and `used_memory` of
//! a real redis-server for RQ's key shapes (within 15 %).
//!
//! Collections larger than a listpack are sized from a sample of their elements (the first
//! sixteen): RQ's lists, sets and sorted sets hold ids of one shape, and a sum over a
//! queue of a million ids after every push would cost more than the push.

use crate::redis::keyspace::{Entry, Value};

/// The `dictEntry` of a key, a hash field or a set member (24 bytes, in a 32-byte class).
const DICT_ENTRY: u64 = 32;
/// A `robj` header.
const OBJECT: u64 = 16;
/// A `dict` with its two table pointers (in 7.0: 56 bytes).
const DICT: u64 = 64;
/// The keyspace's table slot per key: 8 bytes, in a table kept at most twice the key count.
const TABLE_SLOT: u64 = 8;
/// The `expires` entry a key with a TTL adds (measured: 28 bytes per key).
const TTL_ENTRY: u64 = 28;
/// The biggest listpack a list node holds (`list-max-listpack-size -2`).
const LIST_NODE_BYTES: u64 = 8 * 1024;
/// A `quicklistNode`.
const LIST_NODE: u64 = 32;
/// A `quicklist`.
const QUICKLIST: u64 = 48;
/// Listpacks give way to hash tables and skiplists beyond these.
const LISTPACK_ENTRIES: usize = 128;
const LISTPACK_VALUE: usize = 64;
/// A skiplist node's average allocation: 24 bytes plus 16 per level, 4/3 levels on average.
const SKIPLIST_NODE: u64 = 53;
/// A skiplist's header node (32 levels) and the `zset` that holds the skiplist and its dict.
const SKIPLIST_HEADER: u64 = 640 + 16;
/// Elements sampled from a collection too large to sum.
const SAMPLED: usize = 16;

/// jemalloc's size class for `n` bytes: 8, then multiples of 16 up to 128, then four classes
/// per doubling.
pub fn allocation(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let step = 1u64 << (63 - (n - 1).leading_zeros() - 2);
    n.div_ceil(step) * step
}

/// An `sds` string of `len` bytes: header by length, the bytes and a terminating zero.
pub fn sds(len: usize) -> u64 {
    let header = match len {
        0..=31 => 1,
        32..=255 => 3,
        256..=65_535 => 5,
        _ => 9,
    };
    allocation(header + len as u64 + 1)
}

/// What `key` with `entry` costs: its keyspace entry, name, TTL and value.
pub fn key_cost(key: &str, entry: &Entry) -> u64 {
    let ttl = if entry.expire_at.is_some() {
        TTL_ENTRY
    } else {
        0
    };
    DICT_ENTRY + TABLE_SLOT + sds(key.len()) + ttl + value_cost(&entry.value)
}

/// What `MEMORY USAGE` counts for `key`: its value, name and dictionary entry (not its TTL
/// or table slot).
pub fn usage(key: &str, entry: &Entry) -> u64 {
    DICT_ENTRY + sds(key.len()) + value_cost(&entry.value)
}

/// A value's object and encoding.
pub fn value_cost(value: &Value) -> u64 {
    match value {
        Value::Str(text) => string_cost(text),
        Value::Hash(hash) => hash_cost(hash.len(), || hash.iter()),
        Value::List(list) => list_cost(list.len(), list.iter().map(|a| a.len())),
        Value::Set(set) => set_cost(set.len(), set.iter().map(|a| a.len())),
        Value::ZSet(zset) => zset_cost(zset.len(), || zset.iter()),
        Value::Stream(stream) => OBJECT + DICT + 64 * stream.len() as u64,
    }
}

/// An integer in a `long` is kept in the object itself; up to 44 bytes share one allocation
/// with it (`embstr`); longer strings are an `sds` of their own.
fn string_cost(text: &str) -> u64 {
    if text.len() <= 20 && text.parse::<i64>().is_ok() {
        OBJECT
    } else if text.len() <= 44 {
        allocation(OBJECT + 3 + text.len() as u64 + 1)
    } else {
        OBJECT + sds(text.len())
    }
}

/// One listpack entry holding `len` bytes of text: its encoding header, the text and the
/// back-length.
fn listpack_entry(len: usize) -> u64 {
    let len = len as u64;
    match len {
        0..=63 => len + 2,
        64..=4095 => len + 4,
        _ => len + 7,
    }
}

/// A listpack's allocation: its 6-byte header, its entries and the end byte.
fn listpack(entries_bytes: u64) -> u64 {
    allocation(6 + entries_bytes + 1)
}

/// A dict's table: 8 bytes per slot, the slots a power of two at least the element count.
fn table(len: usize) -> u64 {
    8 * (len.max(4) as u64).next_power_of_two()
}

fn hash_cost<'a, I>(len: usize, pairs: impl Fn() -> I) -> u64
where
    I: Iterator<Item = (&'a str, &'a str)>,
{
    let small = len <= LISTPACK_ENTRIES
        && pairs().all(|(f, v)| f.len() <= LISTPACK_VALUE && v.len() <= LISTPACK_VALUE);
    if small {
        let bytes = pairs()
            .map(|(f, v)| listpack_entry(f.len()) + listpack_entry(v.len()))
            .sum();
        return OBJECT + listpack(bytes);
    }
    let entries: u64 = pairs()
        .map(|(f, v)| DICT_ENTRY + sds(f.len()) + sds(v.len()))
        .sum();
    OBJECT + DICT + table(len) + entries
}

/// The total of `costs`, one per element of a collection of `len`: summed when there are
/// at most [`SAMPLED`], else the mean of the first [`SAMPLED`] times `len`.
fn sampled_total(len: usize, costs: impl Iterator<Item = u64>) -> u64 {
    if len <= SAMPLED {
        return costs.sum();
    }
    let sampled: u64 = costs.take(SAMPLED).sum();
    sampled * len as u64 / SAMPLED as u64
}

/// A quicklist: nodes of at most 8 KB listpacks.
fn list_cost(len: usize, lens: impl Iterator<Item = usize>) -> u64 {
    let entries = sampled_total(len, lens.map(listpack_entry));
    let nodes = entries.div_ceil(LIST_NODE_BYTES).max(1);
    let per_node = listpack(entries / nodes);
    OBJECT + QUICKLIST + nodes * (LIST_NODE + per_node)
}

/// Redis 7.0 keeps a set of strings in a hash table.
fn set_cost(len: usize, lens: impl Iterator<Item = usize>) -> u64 {
    let members = sampled_total(len, lens.map(|len| DICT_ENTRY + sds(len)));
    OBJECT + DICT + table(len) + members
}

/// A score as a listpack stores it: an integer in a few bytes, else its `%.17g` text.
fn score_entry(score: f64) -> u64 {
    if score.fract() == 0.0 && score.abs() < 1e15 {
        6
    } else {
        20
    }
}

fn zset_cost<'a, I>(len: usize, members: impl Fn() -> I) -> u64
where
    I: Iterator<Item = (&'a str, f64)>,
{
    let small = len <= LISTPACK_ENTRIES && members().all(|(m, _)| m.len() <= LISTPACK_VALUE);
    if small {
        let bytes = members()
            .map(|(m, score)| listpack_entry(m.len()) + score_entry(score))
            .sum();
        return OBJECT + listpack(bytes);
    }
    let per_member = members().map(|(m, _)| SKIPLIST_NODE + DICT_ENTRY + sds(m.len()));
    OBJECT + SKIPLIST_HEADER + DICT + table(len) + sampled_total(len, per_member)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_round_up_to_jemallocs_size_classes() {
        let classes = [
            (1, 8),
            (9, 16),
            (24, 32),
            (128, 128),
            (129, 160),
            (257, 320),
            (1025, 1280),
            (8193, 10240),
        ];
        for (request, class) in classes {
            assert_eq!(allocation(request), class, "{request}");
        }
    }

    #[test]
    fn a_sample_of_a_uniform_collection_sizes_it_exactly() {
        assert_eq!(sampled_total(1000, std::iter::repeat(38)), 38_000);
        assert_eq!(sampled_total(10, 0..10), 45);
        assert_eq!(sampled_total(32, 0..32), (0..16).sum::<u64>() * 2);
    }
}
