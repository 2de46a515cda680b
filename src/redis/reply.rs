//! Replies as RESP2 carries them, and the command type.

use std::borrow::Cow;
use std::fmt;

use crate::redis::arg::{Arg, IntoArg};

/// The words of one command. A `Vec`: holding up to six words inline (a small vector) saved one
/// allocation per command but measured 3 % slower end to end (wider values to move around).
pub type Words = Vec<Arg>;

/// One command as sent on the wire: the name then its arguments (`["HSET", "k", "f", "v"]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command(pub Words);

impl Command {
    /// A command from its words, as a textual front end or an argv builder has them.
    pub fn from_words<W: IntoArg>(words: impl IntoIterator<Item = W>) -> Command {
        Command(words.into_iter().map(IntoArg::into_arg).collect())
    }

    pub fn name(&self) -> &str {
        self.0.first().map(Arg::as_str).unwrap_or("")
    }

    pub fn args(&self) -> &[Arg] {
        self.0.get(1..).unwrap_or(&[])
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.join(" "))
    }
}

/// Builds a [`Command`] from words, integers and floats: `cmd!("ZADD", key, score, member)`.
/// Each operand becomes an [`Arg`] through [`IntoArg`], which writes it as `to_string` would
/// but keeps short words inline instead of allocating a `String` for each.
#[macro_export]
macro_rules! cmd {
    ($($arg:expr),+ $(,)?) => {
        $crate::redis::Command(vec![$($crate::redis::IntoArg::into_arg($arg)),+])
    };
}

/// A reply, as real Redis sends it over RESP2.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`, `+QUEUED`, `+PONG`, TYPE's answer. The model's are constants, so they borrow
    /// instead of allocating per reply; a parsed real reply owns its text.
    Status(Cow<'static, str>),
    /// `-ERR …`, `-WRONGTYPE …`, `-EXECABORT …`: the full message, prefix included.
    Error(String),
    Int(i64),
    /// An [`Arg`]: job ids, statuses, timestamps and numbers fit inline, so most bulk
    /// replies (HGETALL's fields, a popped job id) allocate nothing.
    Bulk(Arg),
    /// The null bulk string (`$-1`): GET of a missing key, BLMOVE timeout.
    Nil,
    Array(Vec<Reply>),
    /// The null array (`*-1`): BLPOP timeout, EXEC aborted by WATCH.
    NilArray,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status(Cow::Borrowed("OK"))
    }

    pub fn error(message: impl Into<String>) -> Reply {
        Reply::Error(message.into())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Reply::Nil | Reply::NilArray)
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(value) => Some(*value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Reply::Bulk(text) => Some(text),
            Reply::Status(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(items) => Some(items),
            _ => None,
        }
    }

    /// An array of bulk strings as words, without copying them (HGETALL for `Job.restore`).
    pub fn into_args(self) -> Vec<Arg> {
        match self {
            Reply::Array(items) => items
                .into_iter()
                .filter_map(|item| match item {
                    Reply::Bulk(text) => Some(text),
                    Reply::Status(text) => Some(Arg::from(text)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// An array of bulk strings as owned strings (HGETALL, LRANGE, ZRANGEBYSCORE, SMEMBERS).
    pub fn into_strings(self) -> Vec<String> {
        match self {
            Reply::Array(items) => items
                .into_iter()
                .filter_map(|item| match item {
                    Reply::Bulk(text) => Some(text.into_string()),
                    Reply::Status(text) => Some(text.into_owned()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}
