//! How the keyspace hashes and compares its keys: [`StoredKey`] in the map, looked up by a
//! [`KeyText`] borrowed from the command's word.
//!
//! A map keyed by [`Arg`] and looked up by `&str` must hash as `str` does (every byte through
//! the hasher, then a `0xff` byte) and compare with `memcmp`: about half of a keyspace lookup.
//! RQ's keys are short (`rq:job:j42`, `rq:queue:default`), so here the text is folded into one
//! word by a few loads and handed to the hasher once, and two keys compare a word at a time.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use crate::redis::arg::{first_word, same_words_from, word_at, Arg};

/// A key's text as the keyspace hashes and compares it.
#[repr(transparent)]
pub struct KeyText(str);

impl KeyText {
    #[inline]
    pub fn new(text: &str) -> &KeyText {
        // SAFETY: `KeyText` is `repr(transparent)` over `str`, so the two references have the
        // same layout and metadata; this is how a newtype over an unsized type is borrowed.
        unsafe { &*(text as *const str as *const KeyText) }
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl PartialEq for KeyText {
    /// Equal lengths, then the bytes eight at a time, the last word overlapping the one
    /// before: cheaper than a `memcmp` call for text this short.
    #[inline]
    fn eq(&self, other: &KeyText) -> bool {
        let (a, b) = (self.bytes(), other.bytes());
        let len = a.len();
        if len != b.len() {
            return false;
        }
        if len <= 8 {
            return first_word(a) == first_word(b);
        }
        same_words_from(a, b, 0)
    }
}

impl Eq for KeyText {}

impl Hash for KeyText {
    /// The text folded into one word (each eight bytes multiplied in, the length mixed into
    /// the last, which may overlap the one before), then one `write_u64`: the hasher's final
    /// mix spreads it over the low bits.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes = self.bytes();
        let len = bytes.len();
        let last = if len <= 8 {
            first_word(bytes)
        } else {
            word_at(bytes, len - 8)
        };
        let mut folded = len as u64;
        let mut at = 0;
        while at + 8 < len {
            folded = (folded ^ word_at(bytes, at))
                .wrapping_mul(MULTIPLIER)
                .rotate_left(29);
            at += 8;
        }
        state.write_u64((folded ^ last).wrapping_mul(MULTIPLIER));
    }
}

/// A key as the keyspace stores it: its [`Arg`], hashed and compared as its [`KeyText`].
#[derive(Clone, Debug)]
pub struct StoredKey(pub Arg);

impl StoredKey {
    pub fn new(text: &str) -> StoredKey {
        StoredKey(Arg::from(text))
    }
}

impl Borrow<KeyText> for StoredKey {
    #[inline]
    fn borrow(&self) -> &KeyText {
        KeyText::new(&self.0)
    }
}

impl PartialEq for StoredKey {
    fn eq(&self, other: &StoredKey) -> bool {
        KeyText::new(&self.0) == KeyText::new(&other.0)
    }
}

impl Eq for StoredKey {}

impl Hash for StoredKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        KeyText::new(&self.0).hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::WordBuildHasher;
    use std::hash::BuildHasher;

    /// Keys that differ anywhere, in length, or in a byte a word load overlaps, are
    /// different; equal text is equal and hashes alike, stored or borrowed.
    #[test]
    fn keys_compare_and_hash_as_their_text() {
        let texts = [
            "",
            "a",
            "a\0",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefghj",
            "bbcdefghi",
            "rq:job:j1",
            "rq:job:j10",
            "rq:job:j01",
            "rq:queue:default",
            "rq:queue:defaulT",
            "rq:queue:default:x",
            "rq:execution:j12:e34567890123456789",
            "rq:execution:j12:e34567890123456788",
        ];
        let hasher = WordBuildHasher::default();
        for a in texts {
            let stored = StoredKey::new(a);
            assert_eq!(
                hasher.hash_one(&stored),
                hasher.hash_one(KeyText::new(a)),
                "{a:?}"
            );
            for b in texts {
                assert_eq!(KeyText::new(a) == KeyText::new(b), a == b, "{a:?} {b:?}");
                assert_eq!(stored == StoredKey::new(b), a == b, "{a:?} {b:?}");
            }
        }
    }

    /// RQ's keys differ in a few digits near their end: they still spread over the low bits
    /// evenly.
    #[test]
    fn job_keys_spread_over_the_low_bits() {
        let hasher = WordBuildHasher::default();
        for prefix in ["rq:job:j", "rq:execution:j", "j", "rq:job:j1:dependents:"] {
            let mut buckets = [0u32; 1024];
            for number in 0..100_000 {
                let key = format!("{prefix}{number}");
                buckets[(hasher.hash_one(KeyText::new(&key)) & 1023) as usize] += 1;
            }
            let (fewest, most) = (buckets.iter().min(), buckets.iter().max());
            // 97.7 keys per bucket on average; a fair hash stays well inside 50..150.
            assert!(
                fewest > Some(&50) && most < Some(&150),
                "{prefix}: {fewest:?} {most:?}"
            );
        }
    }
}
