//! The Redis server model: the keyspace plus per-connection protocol state (MULTI, WATCH) and
//! clients blocked in BLMOVE/BLPOP. It has no clock of its own: every call passes the server
//! time, so it is a plain deterministic state machine that the network layer drives.
//!
//! ```text
//!  execute(now, conn, [cmd…]) ─► per command: lookup + arity ─► queue (inside MULTI)
//!                                                            └► run ─► serve blocked clients
//!                                                                      └► take_unblocked()
//! ```

use std::collections::HashMap;

use crate::redis::arg::Arg;
use crate::redis::blocking::{try_pop, BlockedClients, BlockingPop};
use crate::redis::commands::{Handler, Spec};
use crate::redis::errors;
use crate::redis::exec_replies;
use crate::redis::keyspace::{Db, Keys};
use crate::redis::memory::{incoming_bytes, Memory, MemoryLimit};
use crate::redis::pubsub::{self, Channels};
use crate::redis::reply::{Command, Reply};
use crate::redis::transactions::Transaction;
use crate::sim::rng::{SimRng, WordBuildHasher};
use crate::sim::{SimDuration, SimTime};

/// A client connection, as the server knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// What the server did with a request, its replies in a buffer of the caller's
/// ([`Server::execute_into`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Executed {
    /// One reply per command of the request, in order, appended to the caller's buffer.
    Replied,
    /// The request was a single blocking pop that found nothing: the client is parked until
    /// a push serves it ([`Server::take_unblocked`]) or its timeout passes
    /// ([`Server::block_timed_out`]); `None` means it blocks forever (timeout 0). Nothing was
    /// appended.
    Blocked { timeout: Option<SimDuration> },
}

/// What the server did with a request, its replies in a fresh `Vec` ([`Server::execute`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// One reply per command of the request, in order.
    Replies(Vec<Reply>),
    /// As [`Executed::Blocked`].
    Blocked { timeout: Option<SimDuration> },
}

/// The keyspace as a snapshot (what `SAVE` would write): values with absolute expiry times.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    keys: Keys,
}

impl Snapshot {
    /// Number of keys stored, expired or not.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

/// What the server keeps per connection besides WATCHes and blocking.
#[derive(Default)]
struct Connection {
    transaction: Option<Transaction>,
    /// Set by CLIENT SETNAME.
    name: Option<String>,
}

/// One command's result: a reply, or the client blocks.
enum Step {
    Reply(Reply),
    Block(Option<SimDuration>),
}

/// An in-memory Redis.
#[derive(Default)]
pub struct Server {
    pub(crate) db: Db,
    /// Looked up once or twice per command, so hashed; CLIENT LIST sorts the ids.
    connections: HashMap<ConnId, Connection, WordBuildHasher>,
    blocked: BlockedClients,
    unblocked: Vec<(ConnId, Reply)>,
    /// Subscriptions and the messages published for the network to carry.
    channels: Channels,
    /// The latest server time seen: a snapshot restored by `restart` loses keys expired by then.
    latest: SimTime,
    /// The specs of a whole transaction's commands, found while checking them and used again
    /// to run them; kept between requests so that its buffer is reused.
    checked_specs: Vec<&'static Spec>,
}

impl Server {
    pub fn new() -> Server {
        Server::default()
    }

    /// Executes the commands a client wrote in one go (one command, or a pipeline such as
    /// `MULTI … EXEC`) at server time `now`, appending their replies to `replies` (the
    /// network passes a reused buffer, so a request allocates none). A blocking pop blocks
    /// only when it is the whole request; inside a longer pipeline it answers as its
    /// non-blocking form would (nil).
    pub fn execute_into(
        &mut self,
        now: SimTime,
        conn: ConnId,
        request: &[Command],
        replies: &mut Vec<Reply>,
    ) -> Executed {
        self.latest = self.latest.max(now);
        self.connections.entry(conn).or_default();
        if self.execute_whole_transaction(now, conn, request, replies) {
            return Executed::Replied;
        }
        let may_block = request.len() == 1;
        replies.reserve(request.len());
        for command in request {
            let step = self.execute_command(now, conn, command, may_block);
            self.serve_blocked(now);
            self.db.settle_memory(now);
            match step {
                Step::Reply(reply) => replies.push(reply),
                Step::Block(timeout) => return Executed::Blocked { timeout },
            }
        }
        Executed::Replied
    }

    /// [`Server::execute_into`] with the replies in a fresh `Vec`: for tests and tools that
    /// drive the model directly.
    pub fn execute(&mut self, now: SimTime, conn: ConnId, request: &[Command]) -> Outcome {
        let mut replies = Vec::with_capacity(request.len());
        match self.execute_into(now, conn, request, &mut replies) {
            Executed::Replied => Outcome::Replies(replies),
            Executed::Blocked { timeout } => Outcome::Blocked { timeout },
        }
    }

    /// Replies for blocked clients that the last `execute` served, in FIFO order.
    pub fn take_unblocked(&mut self) -> Vec<(ConnId, Reply)> {
        std::mem::take(&mut self.unblocked)
    }

    /// The blocking timeout of `conn` passed: its timeout reply, if it is still blocked.
    pub fn block_timed_out(&mut self, now: SimTime, conn: ConnId) -> Option<Reply> {
        self.latest = self.latest.max(now);
        self.blocked
            .unblock(conn)
            .map(|request| request.pop.timeout_reply())
    }

    /// Messages a PUBLISH left for subscribed connections, in the order Redis writes them.
    pub fn take_published(&mut self) -> Vec<(ConnId, Reply)> {
        self.channels.take_published()
    }

    /// Whether a PUBLISH left messages to deliver.
    pub fn has_published(&self) -> bool {
        self.channels.has_published()
    }

    /// Whether `conn` listens to a channel.
    pub fn is_subscribed(&self, conn: ConnId) -> bool {
        self.channels.is_subscribed(conn)
    }

    /// The client closed the connection: forget its MULTI, WATCHes, blocked request and
    /// subscriptions.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.connections.remove(&conn);
        self.channels.disconnect(conn);
        self.db.watch.unwatch_all(conn);
        self.blocked.unblock(conn);
        self.unblocked.retain(|(served, _)| *served != conn);
    }

    /// Restart: every connection (and so every subscription) is dropped; the keyspace is lost
    /// or restored from `snapshot`,
    /// without the keys whose expiry time has passed by the latest time the server saw.
    pub fn restart(&mut self, snapshot: Option<Snapshot>) {
        let mut keys = snapshot.map(|s| s.keys).unwrap_or_default();
        keys.drop_expired(self.latest);
        let latest = self.latest;
        let mut memory = self.db.memory.take();
        *self = Server::default();
        if let Some(memory) = &mut memory {
            memory.recount(&keys, latest);
        }
        self.db.keys = keys;
        self.db.memory = memory;
        self.latest = latest;
    }

    /// Gives the server `maxmemory`: its keys are charged from now on, and evicted by the
    /// policy (sampling with `rng`) or refused with `OOM` when over the limit.
    pub fn limit_memory(&mut self, limit: MemoryLimit, rng: SimRng) {
        let mut memory = Box::new(Memory::new(limit, rng));
        memory.recount(&self.db.keys, self.latest);
        self.db.memory = Some(memory);
    }

    /// The memory accounting, if the server has `maxmemory`.
    pub fn memory(&self) -> Option<&Memory> {
        self.db.memory.as_deref()
    }

    /// From now on every write gets `refusal` as its error reply (`None`: writes run again).
    /// Checked before a command is queued, as Redis does, so a transaction with a refused
    /// write aborts at EXEC.
    pub fn refuse_writes(&mut self, refusal: Option<&'static str>) {
        self.db.write_refusal = refusal;
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            keys: self.db.keys.clone(),
        }
    }

    /// Removes keys whose TTL has passed (Redis's active expiry); returns how many.
    pub fn active_expire(&mut self, now: SimTime) -> usize {
        self.latest = self.latest.max(now);
        self.db.active_expire(now)
    }

    /// Number of keys stored (exact after [`Server::active_expire`]).
    pub fn key_count(&self) -> usize {
        self.db.keys.len()
    }

    /// Whether `conn` is parked in a blocking pop.
    pub fn is_blocked(&self, conn: ConnId) -> bool {
        self.blocked.is_blocked(conn)
    }

    fn execute_command(
        &mut self,
        now: SimTime,
        conn: ConnId,
        command: &Command,
        may_block: bool,
    ) -> Step {
        let spec = match validate(command) {
            Ok(spec) => spec,
            Err(reply) => {
                self.flag_transaction(conn);
                return Step::Reply(reply);
            }
        };
        if let Some(reply) = self.memory_gate(now, conn, spec, command) {
            self.flag_transaction(conn);
            return Step::Reply(reply);
        }
        if let Some(refusal) = self.db.write_refusal.filter(|_| spec.is_write()) {
            self.flag_transaction(conn);
            return Step::Reply(errors::reply(refusal));
        }
        let words = command.words();
        if self.channels.is_subscribed(conn) {
            if let Some(reply) = subscribed_context(spec, words) {
                return Step::Reply(reply);
            }
        }
        if !spec.runs_inside_multi() {
            if let Some(transaction) = self.transaction_mut(conn) {
                transaction.queued.push((spec, command.clone()));
                return Step::Reply(Reply::Status("QUEUED".into()));
            }
        }
        let args = &words[1..];
        match spec.handler {
            Handler::Blocking(parse) => self.blocking_pop(now, conn, parse(args), may_block),
            _ => Step::Reply(self.run(now, conn, spec, args)),
        }
    }

    /// Runs a non-blocking command (or one taken out of a MULTI queue).
    fn run(&mut self, now: SimTime, conn: ConnId, spec: &Spec, args: &[Arg]) -> Reply {
        match spec.handler {
            Handler::Data(run) => run(&mut self.db, now, args),
            Handler::Blocking(parse) => match self.blocking_pop(now, conn, parse(args), false) {
                Step::Reply(reply) => reply,
                Step::Block(_) => unreachable!("blocking is denied here"),
            },
            Handler::Multi => self.multi(conn),
            Handler::Exec => self.exec(now, conn),
            Handler::Discard => self.discard(conn),
            Handler::Watch => self.watch(now, conn, args),
            Handler::Unwatch => {
                self.db.watch.unwatch_all(conn);
                Reply::ok()
            }
            Handler::Client => self.client(conn, args),
            Handler::Subscribe => self.channels.subscribe(conn, args),
            Handler::Unsubscribe => self.channels.unsubscribe(conn, args),
            Handler::Publish => self.channels.publish(&args[0], &args[1]),
            // NUMSUB is the one subcommand in the table; the rest were refused already.
            Handler::Pubsub => self.channels.numsub(&args[1..]),
        }
    }

    fn blocking_pop(
        &mut self,
        now: SimTime,
        conn: ConnId,
        parsed: Result<BlockingPop, Reply>,
        may_block: bool,
    ) -> Step {
        let request = match parsed {
            Ok(request) => request,
            Err(reply) => return Step::Reply(reply),
        };
        if let Some(reply) = try_pop(&mut self.db, now, &request) {
            return Step::Reply(reply);
        }
        if !may_block {
            return Step::Reply(request.pop.timeout_reply());
        }
        let timeout = request.timeout;
        self.blocked.block(conn, request);
        Step::Block(timeout)
    }

    /// `maxmemory` before a command (`processCommand`): evicts while memory is over the
    /// limit, and if it stays over, refuses a command that may grow memory (`denyoom`), any
    /// command but EXEC and DISCARD inside MULTI (queueing takes memory too), and EXEC of a
    /// transaction that queued one, which is discarded. `None`: the command runs.
    fn memory_gate(
        &mut self,
        now: SimTime,
        conn: ConnId,
        spec: &Spec,
        command: &Command,
    ) -> Option<Reply> {
        self.db.memory.as_ref()?;
        let incoming = command
            .words()
            .iter()
            .map(|w| incoming_bytes(w.len()))
            .sum();
        if !self.db.make_room(now, incoming) {
            return None;
        }
        let in_multi = self.transaction_mut(conn).is_some();
        match spec.handler {
            Handler::Exec if in_multi => self.abort_growing_transaction(conn),
            Handler::Exec | Handler::Discard => None,
            _ if in_multi || spec.is_denyoom() => Some(errors::reply(errors::OOM)),
            _ => None,
        }
        .inspect(|_| self.db.count_oom_refusal())
    }

    /// EXEC out of memory: a transaction that queued a `denyoom` command is discarded
    /// (`execCommandAbort`).
    fn abort_growing_transaction(&mut self, conn: ConnId) -> Option<Reply> {
        let transaction = self.transaction_mut(conn)?;
        if !transaction.queued.iter().any(|(spec, _)| spec.is_denyoom()) {
            return None;
        }
        self.connections.get_mut(&conn)?.transaction = None;
        self.db.watch.unwatch_all(conn);
        Some(errors::exec_abort(errors::OOM))
    }

    fn transaction_mut(&mut self, conn: ConnId) -> Option<&mut Transaction> {
        self.connections.get_mut(&conn)?.transaction.as_mut()
    }

    /// A command inside MULTI was refused: EXEC will abort.
    fn flag_transaction(&mut self, conn: ConnId) {
        if let Some(transaction) = self.transaction_mut(conn) {
            transaction.aborted = true;
        }
    }

    fn multi(&mut self, conn: ConnId) -> Reply {
        let connection = self.connections.entry(conn).or_default();
        if connection.transaction.is_some() {
            return errors::reply("ERR MULTI calls can not be nested");
        }
        connection.transaction = Some(Transaction::default());
        Reply::ok()
    }

    fn discard(&mut self, conn: ConnId) -> Reply {
        let connection = self.connections.entry(conn).or_default();
        if connection.transaction.take().is_none() {
            return errors::reply("ERR DISCARD without MULTI");
        }
        self.db.watch.unwatch_all(conn);
        Reply::ok()
    }

    fn watch(&mut self, now: SimTime, conn: ConnId, keys: &[Arg]) -> Reply {
        if self.transaction_mut(conn).is_some() {
            return errors::reply("ERR WATCH inside MULTI is not allowed");
        }
        for key in keys {
            self.db.expire_if_needed(now, key);
            self.db.watch.watch(conn, key);
        }
        Reply::ok()
    }

    fn exec(&mut self, now: SimTime, conn: ConnId) -> Reply {
        let Some(transaction) = self.connections.entry(conn).or_default().transaction.take() else {
            return errors::reply("ERR EXEC without MULTI");
        };
        let queued = transaction.queued.iter().map(|(spec, c)| (*spec, c.args()));
        self.commit(now, conn, transaction.aborted, queued)
    }

    /// `MULTI, c1 … cn, EXEC` written in one go (how redis-py sends a transaction) runs
    /// straight from the request, without queueing a copy of each command. The replies and
    /// effects are those of the general path, which runs the same request just as
    /// atomically. Appends the replies and returns true, or appends none and returns false
    /// when it is not such a request (or WATCH/MULTI/DISCARD inside it, or a transaction
    /// already open): take the general path.
    fn execute_whole_transaction(
        &mut self,
        now: SimTime,
        conn: ConnId,
        request: &[Command],
        replies: &mut Vec<Reply>,
    ) -> bool {
        let [first, queued @ .., last] = request else {
            return false;
        };
        let is = |command: &Command, handler: fn(&Handler) -> bool| {
            validate(command).is_ok_and(|spec| handler(&spec.handler))
        };
        if !is(first, |h| matches!(h, Handler::Multi))
            || !is(last, |h| matches!(h, Handler::Exec))
            || self.transaction_mut(conn).is_some()
            || self.channels.is_subscribed(conn)
            || self.db.write_refusal.is_some()
            || self.db.memory.is_some()
        {
            return false;
        }
        let start = replies.len();
        replies.reserve(request.len());
        replies.push(Reply::ok());
        let mut aborted = false;
        let mut specs = std::mem::take(&mut self.checked_specs);
        specs.clear();
        for command in queued {
            match validate(command) {
                Ok(spec) if spec.runs_inside_multi() => {
                    self.checked_specs = specs;
                    replies.truncate(start);
                    return false;
                }
                Ok(spec) => {
                    specs.push(spec);
                    replies.push(Reply::Status("QUEUED".into()));
                }
                Err(reply) => {
                    aborted = true;
                    replies.push(reply);
                }
            }
        }
        // A refused command has no spec, but then `commit` aborts before it runs anything.
        assert!(aborted || specs.len() == queued.len());
        let checked = specs.iter().copied().zip(queued.iter().map(Command::args));
        replies.push(self.commit(now, conn, aborted, checked));
        self.checked_specs = specs;
        self.serve_blocked(now);
        true
    }

    /// After a command: hands the lists it pushed to to the clients blocked on them.
    fn serve_blocked(&mut self, now: SimTime) {
        if !self.db.pushed_lists.is_empty() {
            self.blocked.serve(&mut self.db, now, &mut self.unblocked);
        }
    }

    /// EXEC's work: abort, refuse after a touched WATCH, or run the queued commands, each
    /// with the spec found when it was checked.
    fn commit<'a>(
        &mut self,
        now: SimTime,
        conn: ConnId,
        aborted: bool,
        queued: impl Iterator<Item = (&'static Spec, &'a [Arg])>,
    ) -> Reply {
        let watched_expired = self
            .db
            .watch
            .watched_keys(conn)
            .any(|key| self.db.keys.is_expired(now, key));
        let dirty = watched_expired || self.db.watch.is_dirty(conn);
        self.db.watch.unwatch_all(conn);
        if aborted {
            return errors::reply(errors::EXECABORT);
        }
        if dirty {
            return Reply::NilArray;
        }
        let mut replies = exec_replies::list(queued.size_hint().0);
        replies.extend(queued.map(|(spec, args)| self.run(now, conn, spec, args)));
        Reply::Array(replies)
    }
}

/// The checks Redis makes before running or queueing a command: known name, arity, and for
/// container commands the subcommand. An error reply aborts an open transaction.
fn validate(command: &Command) -> Result<&'static Spec, Reply> {
    let words = command.words();
    let Some(spec) = command.spec() else {
        return Err(errors::unknown_command(words));
    };
    if !spec.arity_ok(words.len()) {
        return Err(errors::arity(spec.name));
    }
    if spec.subcommands.is_empty() {
        // Most commands: no call to find that there is nothing more to check.
        return Ok(spec);
    }
    match spec.subcommand_error(words) {
        Some(reply) => Err(reply),
        None => Ok(spec),
    }
}

/// What a subscribed RESP2 connection gets instead of running `spec`: `None` for the commands
/// it may still send (SUBSCRIBE, UNSUBSCRIBE), PING's subscribed form, or Redis's refusal
/// (`rejectCommand`, which words a refused EXEC as the abort of its transaction).
fn subscribed_context(spec: &Spec, words: &[Arg]) -> Option<Reply> {
    match spec.handler {
        Handler::Subscribe | Handler::Unsubscribe => return None,
        _ if spec.name == "ping" => return Some(pubsub::subscribed_ping(&words[1..])),
        _ => {}
    }
    let full_name = match spec.subcommands {
        [] => spec.name.to_string(),
        _ => format!("{}|{}", spec.name, words[1].to_ascii_lowercase()),
    };
    let refusal = pubsub::only_pubsub_allowed(&full_name);
    Some(match spec.handler {
        Handler::Exec => errors::exec_abort(&refusal),
        _ => Reply::Error(format!("ERR {refusal}")),
    })
}

/// Bytes a client name may hold: printable ASCII without space (`clientSetName`).
fn valid_client_name(name: &str) -> bool {
    name.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

impl Server {
    /// CLIENT SETNAME | GETNAME | ID | LIST (subcommand and arity already checked).
    fn client(&mut self, conn: ConnId, args: &[Arg]) -> Reply {
        let connection = self.connections.entry(conn).or_default();
        match args[0].to_ascii_lowercase().as_str() {
            "setname" if !valid_client_name(&args[1]) => errors::reply(
                "ERR Client names cannot contain spaces, newlines or special characters.",
            ),
            "setname" => {
                connection.name = Some(args[1].to_string()).filter(|name| !name.is_empty());
                Reply::ok()
            }
            "getname" => {
                (connection.name.as_deref()).map_or(Reply::Nil, |name| Reply::Bulk(Arg::from(name)))
            }
            "id" => Reply::Int(conn.0 as i64),
            _ => Reply::Bulk(Arg::from(self.client_list())),
        }
    }

    /// One line per connection, in the shape redis-py parses (`addr` is made up per id).
    fn client_list(&self) -> String {
        let mut connections: Vec<_> = self.connections.iter().collect();
        connections.sort_unstable_by_key(|(id, _)| **id);
        connections
            .into_iter()
            .map(|(id, connection)| {
                format!(
                    "id={} addr=10.0.{}.{}:{} name={} db=0\n",
                    id.0,
                    (id.0 >> 8) & 0xff,
                    id.0 & 0xff,
                    40000 + id.0 % 20000,
                    connection.name.as_deref().unwrap_or("")
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};
    use crate::sim::SimTime;

    #[test]
    fn restart_without_snapshot_empties_everything() {
        let mut s = Server::new();
        run0(&mut s, &["SET", "k", "v"]);
        run0(&mut s, &["MULTI"]);
        s.restart(None);
        assert_eq!(s.key_count(), 0);
        assert_eq!(run0(&mut s, &["EXEC"]), err("ERR EXEC without MULTI"));
    }

    #[test]
    fn restart_from_a_snapshot_keeps_absolute_expiry_times() {
        let mut s = Server::new();
        run0(&mut s, &["SET", "short", "v", "EX", "10"]);
        run0(&mut s, &["SET", "long", "v", "EX", "100"]);
        run0(&mut s, &["RPUSH", "q", "a"]);
        let snapshot = s.snapshot();
        run0(&mut s, &["LPOP", "q"]);
        run(&mut s, SimTime::from_secs(20), A, &["PING"]);
        s.restart(Some(snapshot));
        assert_eq!(s.key_count(), 2, "the key expired by t=20 is gone at once");
        let t = SimTime::from_secs(20);
        assert_eq!(run(&mut s, t, A, &["TTL", "long"]), Reply::Int(80));
        assert_eq!(
            run(&mut s, t, A, &["LRANGE", "q", "0", "-1"]),
            bulks(&["a"])
        );
    }

    /// The network hands the server a reused buffer: replies are appended after what it
    /// holds, and a `MULTI … EXEC` that leaves the whole-transaction path part way (WATCH
    /// inside) leaves none of that path's replies behind.
    #[test]
    fn execute_into_appends_and_a_fallen_back_transaction_replies_once() {
        let mut s = Server::new();
        let mut replies = vec![Reply::Int(7)];
        let request: Vec<_> = [
            &["MULTI"][..],
            &["SET", "k", "v"],
            &["WATCH", "k"],
            &["EXEC"],
        ]
        .iter()
        .map(|words| command(words))
        .collect();
        let outcome = s.execute_into(SimTime::ZERO, A, &request, &mut replies);
        assert_eq!(outcome, super::Executed::Replied);
        let super::Outcome::Replies(fresh) = Server::new().execute(SimTime::ZERO, A, &request)
        else {
            panic!("blocked");
        };
        assert_eq!(replies[0], Reply::Int(7));
        assert_eq!(replies[1..], fresh[..]);
        assert_eq!(fresh.len(), request.len());
    }

    #[test]
    fn connection_commands() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["PING"]), Reply::Status("PONG".into()));
        assert_eq!(run0(&mut s, &["CLIENT", "SETNAME", "worker1"]), ok());
        assert_eq!(run0(&mut s, &["CLIENT", "GETNAME"]), bulk("worker1"));
        assert!(run0(&mut s, &["CLIENT", "LIST"])
            .as_str()
            .unwrap()
            .contains("name=worker1"));
        assert_eq!(
            run0(&mut s, &["CLIENT", "SETNAME"]),
            err("ERR wrong number of arguments for 'client|setname' command")
        );
        assert_eq!(
            run0(&mut s, &["CLIENT", "FOO"]),
            err("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
        );
        let info = run0(&mut s, &["INFO", "server"]);
        assert!(info.as_str().unwrap().contains("redis_version:7.0.15\r\n"));
        assert_eq!(
            run0(&mut s, &["FOO"]),
            err("ERR unknown command 'FOO', with args beginning with: ")
        );
        assert_eq!(
            run(&mut s, SimTime::ZERO, B, &[]),
            err("ERR unknown command '', with args beginning with: ")
        );
    }
}
