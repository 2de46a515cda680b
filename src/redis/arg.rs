//! One word of a command (`ZADD`, `rq:job:j12`, `1700000000`) and how `cmd!` makes one.
//!
//! Most words RQ sends are short: command names, keys such as `rq:queue:default`, integers,
//! field names. An [`Arg`] keeps up to 24 bytes inline, so building such a word allocates
//! nothing; a longer word lives on the heap, and one made from an owned `String` keeps that
//! string's buffer instead of copying it.

use std::fmt::Write;

use compact_str::ToCompactString;

/// One word of a command; dereferences to `str`.
pub type Arg = compact_str::CompactString;

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

macro_rules! integer_args {
    ($($integer:ty),+) => {
        $(impl IntoArg for $integer {
            /// The decimal digits, as `Display` writes them.
            fn into_arg(self) -> Arg {
                self.to_compact_string()
            }
        })+
    };
}

integer_args!(i32, i64, u32, u64, usize);

/// Written through `Display`: `compact_str`'s own float formatting differs from Rust's
/// (`1e16` against `10000000000000000`), and Python's `str(float)` is modelled on the latter.
impl IntoArg for f64 {
    fn into_arg(self) -> Arg {
        let mut arg = Arg::default();
        write!(arg, "{self}").expect("writing to a CompactString cannot fail");
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
        let long = "rq:queue:default:intermediate".to_string();
        assert_eq!((&long).into_arg(), long.as_str());
        assert_eq!(long.clone().into_arg(), long.as_str());
        assert_eq!((&std::rc::Rc::<str>::from("j1")).into_arg(), "j1");
    }

    #[test]
    fn short_words_are_inline() {
        assert_eq!(std::mem::size_of::<Arg>(), 24);
        assert!(!"rq:queue:default".into_arg().is_heap_allocated());
        assert!(!u64::MAX.into_arg().is_heap_allocated());
        assert!("rq:queue:default:intermediate"
            .into_arg()
            .is_heap_allocated());
    }
}
