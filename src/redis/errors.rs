//! The error replies of Redis 7.0, word for word, so that a client model can match on them.

use crate::redis::arg::Arg;
use crate::redis::reply::Reply;

/// A write sent to a replica.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";
/// A write sent to a primary that lacks `min-replicas-to-write` good replicas.
/// What a server out of memory answers a command that may grow it (`shared.oomerr`).
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const SYNTAX: &str = "ERR syntax error";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
pub const MIN_MAX_NOT_FLOAT: &str = "ERR min or max is not a float";
pub const HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
pub const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
pub const INCR_NAN_OR_INFINITY: &str = "ERR increment would produce NaN or Infinity";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// EXEC refused outright (`execCommandAbort`): the transaction is discarded because of
/// `reason`, the error the EXEC itself got.
pub fn exec_abort(reason: &str) -> Reply {
    Reply::Error(format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ))
}
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

pub fn reply(message: &str) -> Reply {
    Reply::Error(message.to_string())
}

pub fn wrong_type() -> Reply {
    reply(WRONGTYPE)
}

pub fn syntax() -> Reply {
    reply(SYNTAX)
}

/// `ERR wrong number of arguments for 'hset' command` (`client|setname` for subcommands).
pub fn arity(command_name: &str) -> Reply {
    Reply::Error(format!(
        "ERR wrong number of arguments for '{command_name}' command"
    ))
}

/// `ERR invalid expire time in 'set' command`.
pub fn invalid_expire(command_name: &str) -> Reply {
    Reply::Error(format!(
        "ERR invalid expire time in '{command_name}' command"
    ))
}

/// Redis quotes at most about 128 bytes of the arguments of an unknown command.
pub fn unknown_command(request: &[Arg]) -> Reply {
    let name: String = request
        .first()
        .map(Arg::as_str)
        .unwrap_or("")
        .chars()
        .take(128)
        .collect();
    let mut args = String::new();
    for arg in request.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let shown: String = arg.chars().take(room).collect();
        args.push_str(&format!("'{shown}' "));
    }
    let message = format!("ERR unknown command '{name}', with args beginning with: {args}");
    Reply::Error(sanitize(&message))
}

pub fn unknown_subcommand(subcommand: &str, command: &str) -> Reply {
    let sub: String = subcommand.chars().take(128).collect();
    Reply::Error(sanitize(&format!(
        "ERR unknown subcommand '{sub}'. Try {command} HELP."
    )))
}

/// Error replies are one line: Redis turns line breaks in them into spaces.
fn sanitize(message: &str) -> String {
    message.replace(['\r', '\n'], " ")
}
