//! Replies as RESP2 carries them, and the command type.

use std::borrow::Cow;
use std::fmt;

use crate::redis::arg::{Arg, IntoArg};
use crate::redis::commands::{self, Spec};

/// The words of one command. A `Vec`: holding up to six words inline (a small vector) saved one
/// allocation per command but measured 3 % slower end to end (wider values to move around).
pub type Words = Vec<Arg>;

/// One command as sent on the wire: the name then its arguments (`["HSET", "k", "f", "v"]`),
/// with the command table's entry for the name, found once when the command is made: at
/// compile time for `cmd!` with a literal name, by one lookup for a textual command. The
/// server then runs it without looking the name up again.
#[derive(Clone)]
pub struct Command {
    words: Words,
    spec: Option<&'static Spec>,
}

impl Command {
    /// A command from its words, as a textual front end or an argv builder has them.
    pub fn from_words<W: IntoArg>(words: impl IntoIterator<Item = W>) -> Command {
        let words: Words = words.into_iter().map(IntoArg::into_arg).collect();
        let spec = words.first().and_then(|name| commands::lookup(name));
        Command { words, spec }
    }

    /// A command whose name (the first word) was already looked up as `spec`: what `cmd!`
    /// builds. The name and the spec must agree, which `cmd!` guarantees.
    #[doc(hidden)]
    pub fn with_spec(spec: Option<&'static Spec>, words: Words) -> Command {
        debug_assert!(
            words
                .first()
                .map(|name| commands::lookup(name).map(|s| s.name))
                == Some(spec.map(|s| s.name)),
            "{words:?}"
        );
        Command { words, spec }
    }

    /// Appends an argument (a variadic command such as `DEL k1 k2 …` built in a loop).
    pub fn push(&mut self, word: impl IntoArg) {
        self.words.push(word.into_arg());
    }

    /// Room for `additional` more arguments.
    pub fn reserve(&mut self, additional: usize) {
        self.words.reserve(additional);
    }

    /// The command table's entry for the name; `None` for an unknown command.
    pub fn spec(&self) -> Option<&'static Spec> {
        self.spec
    }

    /// Every word, the name first.
    pub fn words(&self) -> &[Arg] {
        &self.words
    }

    pub fn name(&self) -> &str {
        self.words.first().map(Arg::as_str).unwrap_or("")
    }

    pub fn args(&self) -> &[Arg] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// The word buffer, the command consumed without running its `Drop` (which would give
    /// back the buffer that the caller now holds; what is left owns no memory).
    fn into_words(self) -> Words {
        std::mem::take(&mut std::mem::ManuallyDrop::new(self).words)
    }
}

/// A dropped command's buffer goes back to [`spare`], for the next command to fill. (The
/// network hands a request's buffers back all at once, [`spare::give_back_words`].)
impl Drop for Command {
    fn drop(&mut self) {
        spare::give_back(std::mem::take(&mut self.words));
    }
}

/// Word buffers of commands that have run, kept for the next `cmd!`: RQ sends about 69
/// commands a job, and each would otherwise allocate its buffer and free it again once the
/// server has run it. One list per thread, of a bounded length.
#[doc(hidden)]
pub mod spare {
    use std::cell::RefCell;

    use super::{Command, Words};

    /// Buffers kept: more than a pipeline's commands in flight at once.
    const KEPT: usize = 64;
    /// Buffers bigger than this (a job's HSET) are freed instead of kept.
    const LARGEST: usize = 16;
    /// Pipelines kept: one per transaction in flight (the network sends a transaction in its
    /// pipeline's own `Vec`), for every process of a run.
    const KEPT_PIPELINES: usize = 64;
    /// Pipelines bigger than this (a registry cleanup) are freed instead of kept.
    const LARGEST_PIPELINE: usize = 32;

    /// Both pools in one thread-local: the network gives a spent transaction's words and its
    /// `Vec` back in one access.
    struct Spare {
        words: Vec<Words>,
        pipelines: Vec<Vec<Command>>,
    }

    thread_local! {
        static SPARE: RefCell<Spare> = const {
            RefCell::new(Spare {
                words: Vec::new(),
                pipelines: Vec::new(),
            })
        };
    }

    /// An empty buffer with room for at least `words`. This and the other give-backs the
    /// network calls are `#[inline]`, so that each unit of code that calls them has its own
    /// copy to inline: otherwise whether the call is inlined depends on which unit they land
    /// in, which any change elsewhere in the crate moves (a few million instructions in the
    /// 3-minute pod-churn either way).
    #[inline]
    pub fn take(words: usize) -> Words {
        let mut buffer = SPARE
            .with(|spare| spare.borrow_mut().words.pop())
            .unwrap_or_default();
        buffer.reserve(words);
        buffer
    }

    pub fn give_back(buffer: Words) {
        if buffer.capacity() == 0 || buffer.capacity() > LARGEST {
            return;
        }
        SPARE.with(|spare| keep(&mut spare.borrow_mut().words, buffer));
    }

    /// Empties a request's `commands` and keeps their word buffers: one thread-local access
    /// per request rather than one per command, and no drop of each emptied command.
    #[inline]
    pub fn give_back_words(commands: &mut Vec<Command>) {
        SPARE.with(|spare| keep_words(&mut spare.borrow_mut().words, commands));
    }

    /// Always inlined, as [`keep`].
    #[inline(always)]
    fn keep_words(spare: &mut Vec<Words>, commands: &mut Vec<Command>) {
        for command in commands.drain(..) {
            let buffer = command.into_words();
            if buffer.capacity() != 0 && buffer.capacity() <= LARGEST {
                keep(spare, buffer);
            }
        }
    }

    /// Always inlined: a call per command measured ~15 Ir more on the network's recycling.
    #[inline(always)]
    fn keep(spare: &mut Vec<Words>, mut buffer: Words) {
        if spare.len() < KEPT {
            buffer.clear();
            spare.push(buffer);
        }
    }

    /// An empty `Vec` for a pipeline's or transaction's commands, with room for at least
    /// `commands` and the `MULTI` and `EXEC` that the network puts around a transaction's
    /// commands in this same `Vec`. The network hands it back, with the commands' words,
    /// when the transaction is done ([`give_back_pipeline`]): RQ sends about six
    /// transactions a job, each of which would otherwise allocate its `Vec` and free it.
    pub fn pipeline(commands: usize) -> Vec<Command> {
        let mut buffer = SPARE
            .with(|spare| spare.borrow_mut().pipelines.pop())
            .unwrap_or_default();
        buffer.reserve(commands + 2);
        buffer
    }

    /// Keeps a spent pipeline's word buffers and the `Vec` itself, emptied.
    #[inline]
    pub fn give_back_pipeline(mut buffer: Vec<Command>) {
        SPARE.with(|spare| {
            let spare = &mut *spare.borrow_mut();
            keep_words(&mut spare.words, &mut buffer);
            let size = buffer.capacity();
            if size != 0 && size <= LARGEST_PIPELINE && spare.pipelines.len() < KEPT_PIPELINES {
                spare.pipelines.push(buffer);
            }
        });
    }
}

/// `vec![c1, c2, …]` for a pipeline's commands, in a spare buffer ([`spare::pipeline`]).
#[macro_export]
macro_rules! pipeline {
    ($($command:expr),* $(,)?) => {{
        const COMMANDS: usize = <[&str]>::len(&[$(stringify!($command)),*]);
        let mut commands = $crate::redis::reply::spare::pipeline(COMMANDS);
        $(commands.push($command);)*
        commands
    }};
}

/// Two commands are equal when their words are: the spec follows from the name.
impl PartialEq for Command {
    fn eq(&self, other: &Command) -> bool {
        self.words == other.words
    }
}

impl Eq for Command {}

impl<W: IntoArg> Extend<W> for Command {
    fn extend<I: IntoIterator<Item = W>>(&mut self, words: I) {
        self.words.extend(words.into_iter().map(IntoArg::into_arg));
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Command").field(&self.words).finish()
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.words.join(" "))
    }
}

/// Builds a [`Command`] from words, integers and floats: `cmd!("ZADD", key, score, member)`.
/// Each operand becomes an [`Arg`] through [`IntoArg`], which writes it as `to_string` would
/// but keeps short words inline instead of allocating a `String` for each. A literal name is
/// looked up in the command table at compile time.
#[macro_export]
macro_rules! cmd {
    ($name:literal $(, $arg:expr)* $(,)?) => {{
        const SPEC: Option<&'static $crate::redis::commands::Spec> =
            $crate::redis::commands::spec_named($name);
        const WORDS: usize = 1 + <[&str]>::len(&[$(stringify!($arg)),*]);
        let mut words = $crate::redis::reply::spare::take(WORDS);
        words.push($crate::redis::IntoArg::into_arg($name));
        $(words.push($crate::redis::IntoArg::into_arg($arg));)*
        $crate::redis::Command::with_spec(SPEC, words)
    }};
    ($($arg:expr),+ $(,)?) => {
        $crate::redis::Command::from_words(
            [$($crate::redis::IntoArg::into_arg($arg)),+]
        )
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

#[cfg(test)]
mod tests {
    /// A command made after another was dropped reuses its buffer but holds only its own
    /// words; a buffer too big to keep is freed.
    #[test]
    fn a_dropped_commands_buffer_is_reused_empty() {
        let first = crate::cmd!("SET", "a", "b", "EX", 10);
        let buffer = first.words().as_ptr();
        drop(first);
        let second = crate::cmd!("GET", "k");
        assert_eq!(second.words().as_ptr(), buffer, "the buffer was reused");
        assert_eq!(second.words(), ["GET", "k"]);
        assert_eq!(second.spec().map(|s| s.name), Some("get"));
        drop(second);
        let mut big = crate::cmd!("DEL");
        big.extend((0..40).map(|i| format!("k{i}")));
        drop(big);
        let next = crate::cmd!("DEL", "x");
        assert!(next.words.capacity() < 40, "a big buffer is not kept");
        assert_eq!(next.words(), ["DEL", "x"]);
    }

    /// A request's word buffers given back at once (as the network does) are the next ones
    /// `cmd!` fills, and the request's `Vec` is left empty.
    #[test]
    fn a_requests_words_are_given_back_at_once() {
        let mut commands = vec![crate::cmd!("GET", "a"), crate::cmd!("SET", "b", "c")];
        let buffers: Vec<_> = commands.iter().map(|c| c.words().as_ptr()).collect();
        super::spare::give_back_words(&mut commands);
        assert!(commands.is_empty());
        let next = crate::cmd!("DEL", "x");
        assert!(
            buffers.contains(&next.words().as_ptr()),
            "a buffer was reused"
        );
        assert_eq!(next.words(), ["DEL", "x"]);
    }

    /// A pipeline given back (as the network does with a transaction's) is the next one
    /// `pipeline!` fills, empty.
    #[test]
    fn a_given_back_pipeline_is_reused_empty() {
        let first = crate::pipeline![crate::cmd!("GET", "a"), crate::cmd!("GET", "b")];
        let buffer = first.as_ptr();
        super::spare::give_back_pipeline(first);
        let second = crate::pipeline![crate::cmd!("GET", "c")];
        assert_eq!(second.as_ptr(), buffer, "the buffer was reused");
        assert_eq!(second, [crate::cmd!("GET", "c")]);
    }
}
