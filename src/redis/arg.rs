//! One word of a command (`ZADD`, `rq:job:j12`, `1700000000`) and how `cmd!` makes one.
//!
//! Most words RQ sends are short: command names, keys such as `rq:queue:default`, integers,
//! field names, and its timestamps (`2026-12-07T00:00:00.000000Z`, 27 bytes). An [`Arg`]
//! keeps up to [`Arg::INLINE_CAPACITY`] (31) bytes inline, so building, storing (a hash
//! field) or replying with such a word allocates nothing; a longer word is a `String`, and
//! one made from an owned `String` keeps that string's buffer instead of copying it.
//!
//! Layout: an enum of 32 bytes, with no separate tag. The inline variant is the length (an
//! `InlineLen`, a byte holding 0 to 31) and 31 bytes of text; the heap variant is a
//! `String` (pointer, capacity, length), which the compiler places clear of the length
//! byte and tells apart by a length byte value above 31. So the inline/heap branch is one
//! byte compare, and all of it is safe code except turning inline bytes into `&str`
//! ([`Arg::as_str`]). A unit test checks the size, and so that the compiler did this.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt::{self, Write};
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// One word of a command; dereferences to `str`, and compares, orders and hashes as its text
/// does (so a map keyed by `Arg` is looked up with a `&str`).
#[derive(Clone, Default)]
pub struct Arg(Repr);

/// Invariant: `bytes[..len]` of an inline word is UTF-8. Every write below copies whole
/// `&str`s or ASCII (digits, `-`) into it, which keeps that true.
#[derive(Clone)]
enum Repr {
    Inline {
        len: InlineLen,
        bytes: [u8; Arg::INLINE_CAPACITY],
    },
    Heap(String),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Inline {
            len: InlineLen::L0,
            bytes: [0; Arg::INLINE_CAPACITY],
        }
    }
}

/// The length of an inline word: a byte the compiler knows is at most 31, so the values
/// above are free to tell the heap variant apart, and slicing by it needs no bounds check.
#[rustfmt::skip]
#[derive(Clone, Copy)]
#[repr(u8)]
enum InlineLen {
    L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14, L15,
    L16, L17, L18, L19, L20, L21, L22, L23, L24, L25, L26, L27, L28, L29, L30, L31,
}

impl InlineLen {
    /// `len` as an inline length, if a word that long fits inline.
    fn of(len: usize) -> Option<InlineLen> {
        use InlineLen::*;
        #[rustfmt::skip]
        const ALL: [InlineLen; Arg::INLINE_CAPACITY + 1] = [
            L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14, L15,
            L16, L17, L18, L19, L20, L21, L22, L23, L24, L25, L26, L27, L28, L29, L30, L31,
        ];
        ALL.get(len).copied()
    }
}

impl Arg {
    /// Bytes a word holds without allocating.
    pub const INLINE_CAPACITY: usize = 31;

    /// A copy of `text`.
    #[inline]
    pub fn new(text: impl AsRef<str>) -> Arg {
        Arg::from(text.as_ref())
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let text = &bytes[..*len as usize];
                // SAFETY: the invariant of `Repr`: the inline bytes up to `len` were copied
                // from `&str`s or are ASCII digits, so they are UTF-8.
                unsafe { std::str::from_utf8_unchecked(text) }
            }
            Repr::Heap(text) => text,
        }
    }

    /// `parts` one after the other, written straight into the word when they fit inline
    /// (RQ's key names, `rq:job:j42`), else into one heap allocation. A concatenation of
    /// `&str`s is UTF-8, which keeps the inline invariant.
    pub fn concat(parts: &[&str]) -> Arg {
        let total = parts.iter().map(|part| part.len()).sum();
        let Some(len) = InlineLen::of(total) else {
            return Arg::from(parts.concat());
        };
        let mut bytes = [0; Arg::INLINE_CAPACITY];
        let mut at = 0;
        for part in parts {
            copy_short_at(&mut bytes, at, part.as_bytes());
            at += part.len();
        }
        Arg(Repr::Inline { len, bytes })
    }

    /// True if the text lives on the heap (it was too long to be inline when written).
    pub fn is_heap_allocated(&self) -> bool {
        matches!(self.0, Repr::Heap(_))
    }

    /// Empties the word; a heap word keeps its buffer for the next `push_str`.
    pub fn clear(&mut self) {
        match &mut self.0 {
            Repr::Inline { len, .. } => *len = InlineLen::L0,
            Repr::Heap(text) => text.clear(),
        }
    }

    /// Appends `text`, moving the word to the heap if it no longer fits inline.
    pub fn push_str(&mut self, text: &str) {
        match &mut self.0 {
            Repr::Heap(heap) => heap.push_str(text),
            Repr::Inline { len, bytes } => {
                let (start, end) = (*len as usize, *len as usize + text.len());
                match InlineLen::of(end) {
                    Some(new_len) => {
                        bytes[start..end].copy_from_slice(text.as_bytes());
                        *len = new_len;
                    }
                    None => self.spill(text),
                }
            }
        }
    }

    /// Replaces the text with `text`: a short word over an inline one is copied into its
    /// bytes in place, a heap word keeps its buffer (a hash field RQ rewrites job after job).
    pub fn assign(&mut self, text: &str) {
        match (&mut self.0, InlineLen::of(text.len())) {
            (Repr::Inline { len, bytes }, Some(new_len)) => {
                copy_short(bytes, text.as_bytes());
                *len = new_len;
            }
            (Repr::Heap(heap), _) => {
                heap.clear();
                heap.push_str(text);
            }
            (Repr::Inline { .. }, None) => *self = Arg::heap(text),
        }
    }

    pub fn push(&mut self, ch: char) {
        self.push_str(ch.encode_utf8(&mut [0; 4]));
    }

    /// A copy of `text` on the heap.
    #[inline(never)]
    fn heap(text: &str) -> Arg {
        Arg(Repr::Heap(String::from(text)))
    }

    /// The word followed by `text`, on the heap.
    fn spill(&mut self, text: &str) {
        let mut heap = String::with_capacity(self.len() + text.len());
        heap.push_str(self);
        heap.push_str(text);
        self.0 = Repr::Heap(heap);
    }

    /// The text as a `String`: a heap word's own buffer, a copy of an inline one.
    pub fn into_string(self) -> String {
        match self.0 {
            Repr::Inline { .. } => String::from(self.as_str()),
            Repr::Heap(text) => text,
        }
    }

    /// The decimal digits of a number whose magnitude is `magnitude`, with a `-` before them
    /// if `negative`: written two digits at a time from the end of a scratch buffer (at most
    /// 21 bytes), then copied inline.
    fn decimal(magnitude: u64, negative: bool) -> Arg {
        let mut scratch = [0; 21];
        let (mut start, mut rest) = (scratch.len(), magnitude);
        while rest >= 100 {
            let pair = (rest % 100) as usize * 2;
            scratch[start - 2..start].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
            (start, rest) = (start - 2, rest / 100);
        }
        if rest >= 10 {
            let pair = rest as usize * 2;
            scratch[start - 2..start].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
            start -= 2;
        } else {
            start -= 1;
            scratch[start] = b'0' + rest as u8;
        }
        if negative {
            start -= 1;
            scratch[start] = b'-';
        }
        let text = &scratch[start..];
        Arg::inline(InlineLen::of(text.len()).expect("21 bytes fit"), text)
    }

    /// An inline word of `text`: `len` bytes of UTF-8.
    #[inline]
    fn inline(len: InlineLen, text: &[u8]) -> Arg {
        let mut bytes = [0; Arg::INLINE_CAPACITY];
        copy_short(&mut bytes, text);
        Arg(Repr::Inline { len, bytes })
    }
}

/// `"00"`, `"01"` … `"99"`, back to back.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0; 200];
    let mut n = 0;
    while n < 100 {
        pairs[2 * n] = b'0' + (n / 10) as u8;
        pairs[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    pairs
};

/// Copies `text` (at most 31 bytes) to the start of `bytes` as two fixed-size copies that
/// may overlap, which compile to a few moves: a `memcpy` call of a variable length costs
/// several times that, and a word is copied for nearly every command and hash field.
fn copy_short(bytes: &mut [u8; Arg::INLINE_CAPACITY], text: &[u8]) {
    let len = text.len();
    let mut copy_ends = |width: usize| {
        bytes[..width].copy_from_slice(&text[..width]);
        bytes[len - width..len].copy_from_slice(&text[len - width..]);
    };
    match len {
        16.. => copy_ends(16),
        8..=15 => copy_ends(8),
        4..=7 => copy_ends(4),
        2..=3 => copy_ends(2),
        1 => copy_ends(1),
        0 => {}
    }
}

/// [`copy_short`] from `at` on (`at + text.len()` at most 31): `concat` copies each part of
/// a key this way. Kept apart from `copy_short` on purpose: with `copy_short` written as a
/// call of this one at offset 0, the 3-minute pod-churn ran 0.8 % more instructions.
#[inline]
fn copy_short_at(bytes: &mut [u8; Arg::INLINE_CAPACITY], at: usize, text: &[u8]) {
    let target = &mut bytes[at..at + text.len()];
    match text.len() {
        16.. => copy_ends::<16>(target, text),
        8..=15 => copy_ends::<8>(target, text),
        4..=7 => copy_ends::<4>(target, text),
        2..=3 => copy_ends::<2>(target, text),
        1 => copy_ends::<1>(target, text),
        0 => {}
    }
}

/// Copies the first and the last `WIDTH` bytes of `text` (at least `WIDTH`, at most twice
/// that long) to `target` (as long): between them, all of it. A width fixed at compile time
/// keeps each copy a move.
#[inline(always)]
fn copy_ends<const WIDTH: usize>(target: &mut [u8], text: &[u8]) {
    let len = text.len();
    let head: [u8; WIDTH] = text[..WIDTH].try_into().expect("WIDTH bytes");
    let tail: [u8; WIDTH] = text[len - WIDTH..].try_into().expect("WIDTH bytes");
    target[..WIDTH].copy_from_slice(&head);
    target[len - WIDTH..].copy_from_slice(&tail);
}

/// The first eight bytes of `bytes`, zero-padded, as one word read by at most two
/// overlapping loads: a copy of a variable length into a buffer would call `memcpy`. What
/// hash-field tags and key hashes start from.
pub(crate) fn first_word(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let u16_at = |at: usize| u64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let u32_at = |at: usize| {
        let word: [u8; 4] = bytes[at..at + 4].try_into().expect("four bytes");
        u64::from(u32::from_le_bytes(word))
    };
    match len {
        8.. => word_at(bytes, 0),
        4..=7 => u32_at(0) | u32_at(len - 4) << (8 * (len - 4)),
        2..=3 => u16_at(0) | u16_at(len - 2) << (8 * (len - 2)),
        1 => u64::from(bytes[0]),
        0 => 0,
    }
}

/// The eight bytes of `bytes` from `at` on, as one word.
pub(crate) fn word_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// Whether `a` and `b`, of one length above eight bytes, agree from byte `from` on, compared
/// a word at a time, the last word overlapping the one before: keys and field names are
/// short, and a call to `memcmp` costs more than the comparison.
#[inline]
pub(crate) fn same_words_from(a: &[u8], b: &[u8], from: usize) -> bool {
    let len = a.len();
    debug_assert!(len == b.len() && len > 8);
    let mut at = from;
    while at + 8 < len {
        if word_at(a, at) != word_at(b, at) {
            return false;
        }
        at += 8;
    }
    word_at(a, len - 8) == word_at(b, len - 8)
}

/// Inlined into its callers, which copy words on nearly every command: a call costs more
/// than the copy. A long word's allocation stays out of line.
impl From<&str> for Arg {
    #[inline]
    fn from(text: &str) -> Arg {
        match InlineLen::of(text.len()) {
            Some(len) => Arg::inline(len, text.as_bytes()),
            None => Arg::heap(text),
        }
    }
}

/// Keeps the string's buffer when it is too long to be inline.
impl From<String> for Arg {
    fn from(text: String) -> Arg {
        if text.len() <= Arg::INLINE_CAPACITY {
            Arg::from(text.as_str())
        } else {
            Arg(Repr::Heap(text))
        }
    }
}

impl From<Cow<'_, str>> for Arg {
    fn from(text: Cow<'_, str>) -> Arg {
        match text {
            Cow::Borrowed(text) => Arg::from(text),
            Cow::Owned(text) => Arg::from(text),
        }
    }
}

impl Deref for Arg {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Arg {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Arg {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Arg {
    fn eq(&self, other: &Arg) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Arg {}

impl PartialEq<str> for Arg {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Arg {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Arg {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialOrd for Arg {
    fn partial_cmp(&self, other: &Arg) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Byte-wise, as `str` orders.
impl Ord for Arg {
    fn cmp(&self, other: &Arg) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// As `str` hashes, which `Borrow<str>` requires.
impl Hash for Arg {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// As `str` writes itself: `"rq:job:j1"`, quoted and escaped.
impl fmt::Debug for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl Write for Arg {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

/// What `cmd!` accepts as a word: text (borrowed or owned), integers and floats. Each is
/// written exactly as its `Display` writes it, so a command reads the same as with
/// `to_string`, only without allocating for short words.
pub trait IntoArg {
    fn into_arg(self) -> Arg;
}

impl IntoArg for Arg {
    fn into_arg(self) -> Arg {
        self
    }
}

/// Keeps the string's buffer when it is too long to be inline.
impl IntoArg for String {
    fn into_arg(self) -> Arg {
        Arg::from(self)
    }
}

/// `&str`, `&String`, `&Name`, `&&str`: a copy of the text.
impl<T: AsRef<str> + ?Sized> IntoArg for &T {
    fn into_arg(self) -> Arg {
        Arg::new(self.as_ref())
    }
}

/// The decimal digits, as `Display` writes them.
impl IntoArg for i64 {
    fn into_arg(self) -> Arg {
        Arg::decimal(self.unsigned_abs(), self < 0)
    }
}

impl IntoArg for u64 {
    fn into_arg(self) -> Arg {
        Arg::decimal(self, false)
    }
}

impl IntoArg for i32 {
    fn into_arg(self) -> Arg {
        i64::from(self).into_arg()
    }
}

impl IntoArg for u32 {
    fn into_arg(self) -> Arg {
        u64::from(self).into_arg()
    }
}

impl IntoArg for usize {
    fn into_arg(self) -> Arg {
        (self as u64).into_arg()
    }
}

/// Written through `Display`, as Python's `str(float)` is modelled on Rust's.
impl IntoArg for f64 {
    fn into_arg(self) -> Arg {
        let mut arg = Arg::default();
        write!(arg, "{self}").expect("writing to an Arg cannot fail");
        arg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_as_display_writes_them() {
        assert_eq!("ZADD".into_arg(), "ZADD");
        assert_eq!((-17i64).into_arg(), "-17");
        assert_eq!(u64::MAX.into_arg(), u64::MAX.to_string().as_str());
        for float in [0.1, 1e16, 1e-7, 2.5, f64::MAX, 1.0 / 3.0] {
            assert_eq!(float.into_arg(), float.to_string().as_str());
        }
        let long = "rq:queue:default:intermediate:and:more".to_string();
        assert_eq!((&long).into_arg(), long.as_str());
        assert_eq!(long.clone().into_arg(), long.as_str());
        assert_eq!((&std::rc::Rc::<str>::from("j1")).into_arg(), "j1");
    }

    #[test]
    fn concat_is_the_joined_text_inline_up_to_31_bytes() {
        for parts in [
            &["rq:job:", "j42"][..],
            &[][..],
            &["", "a", ""][..],
            &["rq:queue:", "default", ":intermediate"][..],
            &["rq:queue:", "default", ":intermediate:first_seen:", "j1"][..],
            &["é", "ü", "rq:🙂"][..],
        ] {
            let joined = Arg::concat(parts);
            assert_eq!(joined, parts.concat().as_str());
            assert_eq!(joined.is_heap_allocated(), parts.concat().len() > 31);
        }
    }

    #[test]
    fn integers_read_as_display_writes_them() {
        let mut values: Vec<i64> = vec![0, 1, 9, 10, 99, 100, 101, i64::MIN, i64::MAX];
        for power in 1..19 {
            let ten = 10i64.pow(power);
            values.extend([ten - 1, ten, ten + 1, -ten + 1, -ten, -ten - 1]);
        }
        for value in values {
            assert_eq!(value.into_arg(), value.to_string());
            assert!(!value.into_arg().is_heap_allocated());
        }
        for value in [0, 7, 42, u64::MAX / 3, u64::MAX] {
            assert_eq!(value.into_arg(), value.to_string());
        }
        for value in [i32::MIN, -1, 0, 5, i32::MAX] {
            assert_eq!(value.into_arg(), value.to_string());
        }
        assert_eq!(u32::MAX.into_arg(), u32::MAX.to_string());
        assert_eq!(usize::MAX.into_arg(), usize::MAX.to_string());
    }

    #[test]
    fn words_up_to_31_bytes_are_inline_in_32() {
        assert_eq!(std::mem::size_of::<Arg>(), 32);
        assert_eq!(std::mem::size_of::<Option<Arg>>(), 32);
        assert!(!"rq:queue:default".into_arg().is_heap_allocated());
        assert!(!"2026-12-07T00:00:00.000000Z".into_arg().is_heap_allocated());
        let longest = "a".repeat(Arg::INLINE_CAPACITY);
        assert!(!longest.as_str().into_arg().is_heap_allocated());
        assert!(!longest.clone().into_arg().is_heap_allocated());
        let over = "a".repeat(Arg::INLINE_CAPACITY + 1);
        assert!(over.as_str().into_arg().is_heap_allocated());
        assert!(over.into_arg().is_heap_allocated());
    }

    #[test]
    fn a_long_string_keeps_its_buffer() {
        let text = "x".repeat(40);
        let address = text.as_ptr();
        let arg = Arg::from(text);
        assert_eq!(arg.as_ptr(), address);
        let back = arg.into_string();
        assert_eq!(back.as_ptr(), address);
    }

    #[test]
    fn pushing_moves_to_the_heap_only_past_the_inline_space() {
        let mut arg = Arg::new("rq:job:");
        arg.push_str("0123456789abcdefghijklmnopqrstu"[..24].as_ref());
        assert_eq!(arg.len(), 31);
        assert!(!arg.is_heap_allocated());
        arg.push_str("é");
        assert!(arg.is_heap_allocated());
        assert_eq!(arg, "rq:job:0123456789abcdefghijklmné");
        arg.clear();
        assert_eq!(arg, "");
        arg.push_str("short");
        assert!(arg.is_heap_allocated());
        assert_eq!(arg, Arg::new("short"));
    }

    #[test]
    fn compares_hashes_and_orders_as_str() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |value: &dyn Fn(&mut DefaultHasher)| {
            let mut hasher = DefaultHasher::new();
            value(&mut hasher);
            hasher.finish()
        };
        let mut heap = Arg::from("a".repeat(40));
        heap.clear();
        heap.push_str("rq:job:j1");
        let inline = Arg::new("rq:job:j1");
        assert_eq!(heap, inline);
        assert_eq!(hash(&|h| heap.hash(h)), hash(&|h| "rq:job:j1".hash(h)));
        assert_eq!(hash(&|h| inline.hash(h)), hash(&|h| "rq:job:j1".hash(h)));
        let mut words: Vec<Arg> = ["b", "ab", "a", "Z", "", "é", "a".repeat(40).as_str()]
            .into_iter()
            .map(Arg::new)
            .collect();
        let mut texts: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        words.sort();
        texts.sort();
        assert_eq!(words, texts.iter().map(Arg::new).collect::<Vec<_>>());
        assert_eq!(format!("{:?}", Arg::new("a\"b")), format!("{:?}", "a\"b"));
    }
}
