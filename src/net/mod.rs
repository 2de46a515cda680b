//! The network between simulated clients and the Redis model, and the server's life cycle
//! (up, paused, down for a restart).
//!
//! ```text
//!   Client (per process) ──request──► link verdict ──latency──► Server::execute
//!          ▲                                                        │
//!          └──────────────── reply slot ◄──latency── (or Blocked: served later by a push)
//! ```
//!
//! Messages on one connection stay in order (TCP): a request never overtakes the previous
//! one, and neither does a reply. A message that a PUBLISH pushes to a subscribed connection
//! travels like a reply, after the replies already on their way, and waits in the
//! connection's inbox until the client reads it ([`Client::next_message`]).

pub mod client;
pub mod link;
mod slab;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use crate::redis::memory::MemoryLimit;
use crate::redis::{Command, ConnId, Executed, Reply, Server, Snapshot};
use crate::sim::kernel::EventId;
use crate::sim::rng::WordBuildHasher;
use crate::sim::{EventHook, HookId, HostId, Pid, ReservedWake, Sim, SimDuration, SimRng, SimTime};
use slab::{Slab, SlabKey};

pub use client::{Client, ClientSettings, RedisError};
pub use link::{Latency, LinkFault, Verdict};

/// One request from send to read: its commands, and the reply that waits for the process that
/// sent it. It lives in the network's slab while either side holds it: the client until it has
/// read the reply or given up, the network until the reply has landed (or the request was
/// dropped on the way). Keeping the commands here, rather than in a shared `Rc` per request,
/// lets their buffer be reused by the next request once both sides are done.
struct ReplySlot {
    conn: ConnId,
    /// The server incarnation `conn` was opened against, when the request was sent (`None`:
    /// closed). A connection's record outlives every request sent on it (the server hears of
    /// the close after them), so this is what the record says when the request arrives.
    opened_in: Option<u64>,
    /// The commands, kept after they ran so that the client can send them again (redis-py's
    /// retries) without a copy.
    request: Request,
    on_applied: Option<Observer>,
    verdict: Verdict,
    /// The replies, from the instant the server sends them, in a buffer from the pool; the
    /// client may read them once they have `landed` (their delivery event ran).
    reply: Option<Result<Vec<Reply>, LinkError>>,
    landed: bool,
    waiter: Option<Pid>,
    /// The client's socket timeout, scheduled only once the reply may come too late.
    timeout: SocketTimeout,
    client_holds: bool,
    network_holds: bool,
}

/// The wake-up at a request's socket timeout. It keeps its place in the event order from
/// the instant the request is sent, but is scheduled only when the network sees that the
/// reply might not land before it: the request or its reply is lost, the server is paused
/// or the command blocks, or the reply is due at or after the deadline. Otherwise the reply
/// always wins the race (the client reads the reply first if both are due), so a timer
/// pushed and cancelled again would change nothing.
#[derive(Clone, Copy)]
enum SocketTimeout {
    None,
    Reserved(ReservedWake),
    Armed(EventId),
}

/// A reply slot's key, held by the client's in-flight read.
type SlotKey = SlabKey;

/// The commands of one request as the client writes them on its connection.
#[derive(Default)]
pub(crate) struct Request {
    commands: Vec<Command>,
    /// Wrapped in `MULTI` … `EXEC`: those two words are kept for the next transaction when the
    /// request is done (building them costs an allocation each).
    transaction: bool,
}

/// The longest request or reply buffer kept for reuse (commands or replies); RQ's pipelines
/// are shorter.
const MAX_POOLED_REQUEST_LEN: usize = 64;

/// Spent request buffers, transaction words and reply buffers, handed to the next request.
#[derive(Default)]
struct RequestPool {
    buffers: Vec<Vec<Command>>,
    multi_exec: Vec<(Command, Command)>,
    replies: Vec<Vec<Reply>>,
}

impl RequestPool {
    fn single(&mut self, command: Command) -> Request {
        let mut commands = self.buffers.pop().unwrap_or_default();
        commands.push(command);
        Request {
            commands,
            transaction: false,
        }
    }

    /// The caller's `Vec` (from `pipeline!`, with room for `MULTI` and `EXEC`) carries the
    /// transaction, and goes back to `pipeline!`'s pool when the request is done.
    fn transaction(&mut self, mut queued: Vec<Command>) -> Request {
        let (multi, exec) = self
            .multi_exec
            .pop()
            .unwrap_or_else(|| (crate::cmd!("MULTI"), crate::cmd!("EXEC")));
        queued.insert(0, multi);
        queued.push(exec);
        Request {
            commands: queued,
            transaction: true,
        }
    }

    fn recycle(&mut self, request: Request) {
        let mut commands = request.commands;
        if request.transaction {
            if commands.len() >= 2 {
                let exec = commands.pop().expect("checked above");
                let multi = commands.swap_remove(0);
                self.multi_exec.push((multi, exec));
            }
            // The words and the `Vec` go back for the next `cmd!` and `pipeline!` at once.
            crate::redis::reply::spare::give_back_pipeline(commands);
            return;
        }
        // The words go back for the next `cmd!` in one batch, leaving `commands` empty.
        crate::redis::reply::spare::give_back_words(&mut commands);
        // A rare long pipeline (a registry cleanup) would otherwise pin its buffer for the
        // rest of the run.
        if commands.capacity() <= MAX_POOLED_REQUEST_LEN {
            self.buffers.push(commands);
        }
    }

    /// An empty buffer for the server to write a request's replies into.
    fn reply_buffer(&mut self) -> Vec<Reply> {
        self.replies.pop().unwrap_or_default()
    }

    fn recycle_replies(&mut self, mut replies: Vec<Reply>) {
        if replies.capacity() <= MAX_POOLED_REQUEST_LEN {
            replies.clear();
            self.replies.push(replies);
        }
    }
}

/// The network's hot events, carried by the kernel as a `u64` (see [`NetEvent::encode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NetEvent {
    /// A request reaches the server: the key of its reply slot.
    Arrive(SlotKey),
    /// A reply reaches the client: the key of its reply slot.
    Reply(SlotKey),
    /// A blocking pop's timeout ran out: the key of the parked request's reply slot.
    BlockTimeout(SlotKey),
    /// The server notices that the client closed the connection.
    Closed(ConnId),
}

impl NetEvent {
    /// Kind in the top two bits; then a 30-bit index and the 32-bit generation of a slot, or
    /// a 62-bit connection id.
    fn encode(self) -> u64 {
        let (kind, key) = match self {
            NetEvent::Arrive(key) => (0u64, key),
            NetEvent::Reply(key) => (1, key),
            NetEvent::BlockTimeout(key) => (2, key),
            NetEvent::Closed(conn) => {
                assert!(conn.0 < 1 << 62, "more than 2^62 connections");
                return 3 << 62 | conn.0;
            }
        };
        assert!(key.index < 1 << 30, "more than 2^30 messages in flight");
        kind << 62 | u64::from(key.index) << 32 | u64::from(key.generation)
    }

    fn decode(event: u64) -> NetEvent {
        let key = SlabKey {
            index: (event >> 32) as u32 & ((1 << 30) - 1),
            generation: event as u32,
        };
        match event >> 62 {
            0 => NetEvent::Arrive(key),
            1 => NetEvent::Reply(key),
            2 => NetEvent::BlockTimeout(key),
            _ => NetEvent::Closed(ConnId(event & ((1 << 62) - 1))),
        }
    }
}

/// The error redis-py raises for a transaction whose EXEC failed with `exec_error`: when a
/// command was refused while being queued (EXEC then says `EXECABORT`), the first such
/// refusal, as `Pipeline._execute_transaction` raises `errors[0]` on an `ExecAbortError`.
fn first_queued_error(queued: &[Reply], exec_error: String) -> Reply {
    let refused = queued.iter().find(|reply| reply.is_error());
    match refused {
        Some(refused) if exec_error.starts_with("EXECABORT") => refused.clone(),
        _ => Reply::Error(exec_error),
    }
}

/// What a restarted Redis has when it comes back.
#[derive(Clone, Debug)]
pub enum Restore {
    /// No persistence: an empty keyspace.
    Nothing,
    /// RDB: the last snapshot taken (see [`Network::snapshot_every`]); empty if none was.
    LastSnapshot,
    /// AOF with every write synced: everything acknowledged before the crash.
    Everything,
    /// This keyspace: what the disk held when a crash came (an AOF synced at some instant).
    Given(Snapshot),
}

/// The connection broke under the request (reset by a restart, refused, or the reply lost).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkError;

#[derive(Default)]
struct ConnRecord {
    /// The server incarnation the connection was opened against.
    epoch: u64,
    host: Option<HostId>,
    /// Reset by a link fault: every later request on it fails.
    reset: bool,
    last_arrival: SimTime,
    last_delivery: SimTime,
    /// The reply slot of a request parked in a blocking pop, and its link verdict.
    blocked: Option<(SlotKey, Verdict)>,
    /// Published messages that reached a subscribed connection (boxed: few connections
    /// ever subscribe).
    inbox: Option<Box<Inbox>>,
}

/// What a subscribed connection has received and its client not yet read.
#[derive(Default)]
struct Inbox {
    messages: VecDeque<Reply>,
    /// The connection broke under the subscription (reset, Redis restart, a message lost
    /// with the connection): the next read fails, as redis-py's does.
    broken: bool,
    /// The process waiting in [`Client::next_message`].
    reader: Option<Pid>,
}

enum ServerState {
    Up,
    /// The requests that arrived meanwhile, in arrival order.
    Paused(Vec<SlotKey>),
    Down,
}

/// Called with the replies at the instant Redis applies a request, for observers that must
/// record an effect when it happens rather than when (or whether) the client reads the reply.
pub type OnApplied = Rc<dyn Fn(&[Reply])>;

/// One observer that calls each of `observers` in order (a transaction whose commit stamps
/// events for several jobs); `None` for none.
pub fn all_of(mut observers: Vec<OnApplied>) -> Option<OnApplied> {
    match observers.len() {
        0 => None,
        1 => observers.pop(),
        _ => Some(Rc::new(move |replies| {
            observers.iter().for_each(|observer| observer(replies))
        })),
    }
}

/// An [`OnApplied`] and which replies it wants to see: a command's that did not fail, or a
/// transaction's EXEC that committed with no error inside. The network applies the filter, so
/// a client need not wrap each observer in a second closure.
#[derive(Clone)]
pub struct Observer {
    pub callback: OnApplied,
    pub sees: Sees,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sees {
    /// The request's one reply, unless it is an error reply.
    Success,
    /// The items of the request's last reply (EXEC's), if it committed without an error.
    Commit,
    /// Nothing: called with no replies at the instant Redis is about to run the request, so
    /// the observer can read the state the request acts on (what an atomic script will
    /// delete, when its reply says only how much).
    Before,
}

impl Observer {
    fn notify(&self, replies: &[Reply]) {
        match self.sees {
            Sees::Success => {
                if !replies.iter().any(Reply::is_error) {
                    (self.callback)(replies);
                }
            }
            Sees::Commit => {
                if let Some(Reply::Array(items)) = replies.last() {
                    if !items.iter().any(Reply::is_error) {
                        (self.callback)(items);
                    }
                }
            }
            Sees::Before => {}
        }
    }
}

struct NetInner {
    sim: Sim,
    hook: HookId,
    slots: RefCell<Slab<ReplySlot>>,
    pool: RefCell<RequestPool>,
    server: RefCell<Server>,
    state: RefCell<ServerState>,
    latency: Latency,
    rng: RefCell<SimRng>,
    faults: RefCell<link::LinkFaults>,
    next_conn: Cell<u64>,
    /// Looked up on every message; walked (in id order) only by faults.
    conns: RefCell<HashMap<ConnId, ConnRecord, WordBuildHasher>>,
    epoch: Cell<u64>,
    snapshot: RefCell<Option<Snapshot>>,
    commands_executed: Cell<u64>,
}

/// Handle to the network and the Redis server behind it. Cheap to clone.
#[derive(Clone)]
pub struct Network {
    inner: Rc<NetInner>,
}

impl Network {
    pub fn new(sim: &Sim, latency: Latency, rng: SimRng) -> Network {
        let inner = Rc::new_cyclic(|inner: &std::rc::Weak<NetInner>| NetInner {
            sim: sim.clone(),
            hook: sim.register_hook(inner.clone()),
            slots: RefCell::default(),
            pool: RefCell::default(),
            server: RefCell::new(Server::new()),
            state: RefCell::new(ServerState::Up),
            latency,
            rng: RefCell::new(rng),
            faults: RefCell::default(),
            next_conn: Cell::new(1),
            conns: RefCell::default(),
            epoch: Cell::new(0),
            snapshot: RefCell::new(None),
            commands_executed: Cell::new(0),
        });
        Network { inner }
    }

    pub fn sim(&self) -> &Sim {
        &self.inner.sim
    }

    /// Read access to the server for observers (events, samples, end-of-run checks). Clients
    /// must go through [`Client`].
    pub fn with_server<T>(&self, read: impl FnOnce(&Server) -> T) -> T {
        read(&self.inner.server.borrow())
    }

    /// The value of a string key right now, as an observer sees it (no latency, no effects).
    pub fn peek_string(&self, key: &str) -> Option<String> {
        self.inner
            .server
            .borrow()
            .peek_string(self.inner.sim.now(), key)
    }

    pub fn commands_executed(&self) -> u64 {
        self.inner.commands_executed.get()
    }

    pub fn is_up(&self) -> bool {
        !matches!(*self.inner.state.borrow(), ServerState::Down)
    }

    /// Starts a link fault. A `Refuse` fault also resets the connections already open from
    /// the affected hosts (a pending BLMOVE gets its ConnectionError at once), as a RST does.
    pub fn add_link_fault(&self, fault: LinkFault) {
        self.inner.faults.borrow_mut().add(fault);
        if fault.verdict == Verdict::Refuse {
            self.reset_connections(fault.host);
        }
    }

    fn reset_connections(&self, host: Option<HostId>) {
        let affected = |record: &mut ConnRecord| {
            let hit = host.is_none() || record.host == host;
            record.reset |= hit;
            hit
        };
        for (conn, slot) in self.take_parked(affected) {
            self.inner.server.borrow_mut().disconnect(conn);
            self.reply(conn, slot, Err(LinkError), Verdict::Pass);
        }
        // A subscribed connection is reset too: the server forgets its subscriptions at once
        // (a PUBLISH now finds no one), and its reader learns after one latency.
        for conn in self.subscribed_conns(|record| host.is_none() || record.host == host) {
            self.inner.server.borrow_mut().disconnect(conn);
            self.schedule_message(conn, Err(LinkError));
        }
    }

    /// The connections `affected` picks that listen to a channel or have received a message,
    /// in id order (the records are hashed).
    fn subscribed_conns(&self, affected: impl Fn(&ConnRecord) -> bool) -> Vec<ConnId> {
        let server = self.inner.server.borrow();
        let conns = self.inner.conns.borrow();
        let mut listening: Vec<ConnId> = conns
            .iter()
            .filter(|(id, record)| {
                affected(record) && (record.inbox.is_some() || server.is_subscribed(**id))
            })
            .map(|(id, _)| *id)
            .collect();
        listening.sort_unstable();
        listening
    }

    /// Takes the parked blocking pop off every connection that `affected` picks (it may mark
    /// the record too), in connection id order: the records are hashed, and the replies these
    /// fail must be scheduled in the same order every run.
    fn take_parked(
        &self,
        mut affected: impl FnMut(&mut ConnRecord) -> bool,
    ) -> Vec<(ConnId, SlotKey)> {
        let mut conns = self.inner.conns.borrow_mut();
        let mut parked: Vec<_> = conns
            .iter_mut()
            .filter_map(|(id, record)| {
                if !affected(record) {
                    return None;
                }
                Some((*id, record.blocked.take()?.0))
            })
            .collect();
        parked.sort_unstable_by_key(|(id, _)| *id);
        parked
    }

    fn verdict(&self, host: HostId) -> Verdict {
        let now = self.inner.sim.now();
        self.inner.faults.borrow_mut().verdict(host, now)
    }

    fn sample_latency(&self) -> SimDuration {
        self.inner.latency.sample(&mut self.inner.rng.borrow_mut())
    }

    // ----- connections ----------------------------------------------------------------

    /// Opens a connection from `host`; `Err(verdict)` when the link or server refuses it or
    /// black-holes it.
    fn open(&self, host: HostId) -> Result<ConnId, Verdict> {
        match self.verdict(host) {
            Verdict::Refuse => return Err(Verdict::Refuse),
            Verdict::Drop => return Err(Verdict::Drop),
            Verdict::Pass | Verdict::LoseReply => {}
        }
        if !self.is_up() {
            return Err(Verdict::Refuse);
        }
        let conn = ConnId(self.inner.next_conn.get());
        self.inner.next_conn.set(conn.0 + 1);
        let record = ConnRecord {
            epoch: self.inner.epoch.get(),
            host: Some(host),
            ..ConnRecord::default()
        };
        self.inner.conns.borrow_mut().insert(conn, record);
        Ok(conn)
    }

    /// Whether `conn` is still open: the server has not closed it, and it was opened
    /// against the server's current incarnation (a restart or failover resets every
    /// connection).
    pub(crate) fn is_open(&self, conn: ConnId) -> bool {
        let epoch = self.inner.epoch.get();
        self.inner
            .conns
            .borrow()
            .get(&conn)
            .is_some_and(|record| record.epoch == epoch)
    }

    /// The client closed the socket; the server notices after one latency.
    fn close(&self, conn: ConnId) {
        let (arrival, _) = self.arrival(conn);
        self.schedule(arrival, NetEvent::Closed(conn));
    }

    fn closed_at_server(&self, conn: ConnId) {
        let record = self.inner.conns.borrow_mut().remove(&conn);
        if let Some((slot, _)) = record.and_then(|r| r.blocked) {
            self.release_by_network(slot);
        }
        self.inner.server.borrow_mut().disconnect(conn);
    }

    /// When a message the client writes now on `conn` reaches the server, never before what
    /// it wrote earlier; and the server incarnation the connection was opened against (`None`
    /// once the server has closed it), read in the same look-up.
    fn arrival(&self, conn: ConnId) -> (SimTime, Option<u64>) {
        let earliest = self.inner.sim.now() + self.sample_latency();
        let mut conns = self.inner.conns.borrow_mut();
        match conns.get_mut(&conn) {
            Some(record) => {
                record.last_arrival = record.last_arrival.max(earliest);
                (record.last_arrival, Some(record.epoch))
            }
            None => (earliest, None),
        }
    }

    /// A request of one command, in a reused buffer.
    fn single_request(&self, command: Command) -> Request {
        self.inner.pool.borrow_mut().single(command)
    }

    /// `MULTI`, `queued`, `EXEC` as one request, in a reused buffer with reused words.
    fn transaction_request(&self, queued: Vec<Command>) -> Request {
        self.inner.pool.borrow_mut().transaction(queued)
    }

    /// Hands back a request that the client will not send (again).
    fn recycle(&self, request: Request) {
        self.inner.pool.borrow_mut().recycle(request);
    }

    fn reply_buffer(&self) -> Vec<Reply> {
        self.inner.pool.borrow_mut().reply_buffer()
    }

    /// Hands back a reply buffer that no one will read (further).
    fn recycle_replies(&self, reply: Option<Result<Vec<Reply>, LinkError>>) {
        if let Some(Ok(replies)) = reply {
            self.inner.pool.borrow_mut().recycle_replies(replies);
        }
    }

    /// Sends a request on `conn`; the reply (or the link error) lands in the returned slot,
    /// and the sending process (the current one) is woken then: it waits from now, so it is
    /// the slot's waiter at once, and its first look at the slot can be skipped. With a
    /// `deadline` (the socket timeout), it is woken then unless the reply has landed before.
    fn send(
        &self,
        conn: ConnId,
        request: Request,
        verdict: Verdict,
        on_applied: Option<Observer>,
        deadline: Option<SimTime>,
    ) -> SlotKey {
        // The slot is filled in one go, its key known before: the events below carry it.
        let slot = self.inner.slots.borrow().next_key();
        let (arrival, opened_in) = match verdict {
            Verdict::Drop => (None, None),
            _ => {
                let (arrival, opened_in) = self.arrival(conn);
                self.schedule(arrival, NetEvent::Arrive(slot));
                (Some(arrival), opened_in)
            }
        };
        let timeout = match deadline {
            Some(deadline) => self.socket_timeout(deadline, arrival),
            None => SocketTimeout::None,
        };
        let inserted = self.inner.slots.borrow_mut().insert(ReplySlot {
            conn,
            opened_in,
            request,
            on_applied,
            verdict,
            reply: None,
            landed: false,
            waiter: Some(self.inner.sim.current_pid()),
            timeout,
            client_holds: true,
            network_holds: verdict != Verdict::Drop,
        });
        debug_assert_eq!(inserted, slot, "the key the slab announced");
        slot
    }

    /// Takes the socket timeout's place in the event order, as the client waits from now,
    /// and schedules it at once if the request will not reach the server before it.
    fn socket_timeout(&self, deadline: SimTime, arrival: Option<SimTime>) -> SocketTimeout {
        let sim = &self.inner.sim;
        let wake = sim.reserve_wake(deadline, sim.current_pid());
        if arrival.is_none_or(|arrival| arrival >= deadline) {
            SocketTimeout::Armed(sim.arm(wake))
        } else {
            SocketTimeout::Reserved(wake)
        }
    }

    /// Schedules the socket timeout of `slot`'s request: its reply may not land before it.
    fn arm_timeout(&self, slot: SlotKey) {
        let mut slots = self.inner.slots.borrow_mut();
        let Some(entry) = slots.get_mut(slot) else {
            return;
        };
        if let SocketTimeout::Reserved(wake) = entry.timeout {
            entry.timeout = SocketTimeout::Armed(self.inner.sim.arm(wake));
        }
    }

    fn schedule(&self, time: SimTime, event: NetEvent) {
        self.inner
            .sim
            .schedule_hook_at(time, self.inner.hook, event.encode());
    }

    fn on_event(&self, event: NetEvent) {
        match event {
            NetEvent::Arrive(slot) => self.arrive(slot),
            NetEvent::Reply(slot) => self.land_reply(slot),
            NetEvent::BlockTimeout(slot) => self.block_timed_out(slot),
            NetEvent::Closed(conn) => self.closed_at_server(conn),
        }
    }

    /// The client's side of a reply slot: the last reply (the one a client reads: the
    /// command's, or EXEC's) if it has landed, else `pid` is woken when it does. A reply read
    /// ends the client's hold there and then (the network let go when it landed): the slot is
    /// freed and its buffers go back to the pool, without a second look-up in
    /// [`Network::release_by_client`]. After a link error the client still holds the slot, to
    /// take the request back for a retry.
    fn take_reply(&self, slot: SlotKey, pid: Pid) -> Option<Result<Option<Reply>, LinkError>> {
        let mut slots = self.inner.slots.borrow_mut();
        let entry = slots.get_mut(slot).expect("the client holds its slot");
        if !entry.landed {
            entry.waiter = Some(pid);
            return None;
        }
        let mut replies = match entry.reply.take()? {
            Ok(replies) => replies,
            Err(LinkError) => return Some(Err(LinkError)),
        };
        debug_assert!(
            !entry.network_holds,
            "a landed reply is the network's last act"
        );
        self.cancel_timeout(entry);
        let request = std::mem::take(&mut entry.request);
        slots.free(slot);
        let last = match replies.pop() {
            Some(Reply::Error(exec_error)) => Some(first_queued_error(&replies, exec_error)),
            last => last,
        };
        let mut pool = self.inner.pool.borrow_mut();
        pool.recycle_replies(replies);
        pool.recycle(request);
        Some(Ok(last))
    }

    /// The socket timeout of a request whose client stops waiting will not fire.
    fn cancel_timeout(&self, entry: &mut ReplySlot) {
        if let SocketTimeout::Armed(timer) =
            std::mem::replace(&mut entry.timeout, SocketTimeout::None)
        {
            self.inner.sim.cancel(timer);
        }
    }

    /// The client is done with `slot` (it stopped waiting, or the read failed). With
    /// `keep_request` it gets the request back to send again: moved out if the network is
    /// done with it too, else copied (the first copy may still reach the server).
    fn release_by_client(&self, slot: SlotKey, keep_request: bool) -> Option<Request> {
        let mut slots = self.inner.slots.borrow_mut();
        let entry = slots.get_mut(slot).expect("the client holds its slot");
        entry.client_holds = false;
        self.cancel_timeout(entry);
        if entry.network_holds {
            return keep_request.then(|| Request {
                commands: entry.request.commands.clone(),
                transaction: entry.request.transaction,
            });
        }
        let (request, reply) = (std::mem::take(&mut entry.request), entry.reply.take());
        slots.free(slot);
        self.recycle_replies(reply);
        if keep_request {
            return Some(request);
        }
        self.recycle(request);
        None
    }

    /// The network is done with `slot` (its reply landed, or the request was lost).
    fn release_by_network(&self, slot: SlotKey) {
        let mut slots = self.inner.slots.borrow_mut();
        let entry = slots.get_mut(slot).expect("the network holds its slot");
        entry.network_holds = false;
        if !entry.client_holds {
            self.free_slot(&mut slots, slot);
        }
    }

    /// Removes a slot that neither side holds any more; its buffer goes to the next request.
    fn free_slot(&self, slots: &mut Slab<ReplySlot>, slot: SlotKey) {
        let entry = slots.get_mut(slot).expect("a slot is freed once");
        let (request, reply) = (std::mem::take(&mut entry.request), entry.reply.take());
        slots.free(slot);
        self.recycle_replies(reply);
        self.recycle(request);
    }

    /// The connection of a request the network still holds (`holder` says why it must).
    fn conn_of(&self, slot: SlotKey, holder: &str) -> ConnId {
        let conn = self
            .inner
            .slots
            .borrow_mut()
            .get_mut(slot)
            .map(|entry| entry.conn);
        conn.expect(holder)
    }

    fn arrive(&self, slot: SlotKey) {
        let (conn, opened_in) = self
            .inner
            .slots
            .borrow_mut()
            .get_mut(slot)
            .map(|entry| (entry.conn, entry.opened_in))
            .expect("the network holds a request in transit");
        if opened_in != Some(self.inner.epoch.get()) {
            return self.reply(conn, slot, Err(LinkError), Verdict::Pass);
        }
        let mut state = self.inner.state.borrow_mut();
        match &mut *state {
            ServerState::Paused(waiting) => {
                waiting.push(slot);
                drop(state);
                self.arm_timeout(slot);
            }
            ServerState::Down => {
                drop(state);
                self.reply(conn, slot, Err(LinkError), Verdict::Pass);
            }
            ServerState::Up => {
                drop(state);
                self.execute(slot);
            }
        }
    }

    fn execute(&self, slot: SlotKey) {
        // The commands leave the slot while the server runs them (the slab is not borrowed
        // across the server's work) and go back for a possible resend.
        let (conn, commands, on_applied, verdict) = {
            let mut slots = self.inner.slots.borrow_mut();
            let entry = slots
                .get_mut(slot)
                .expect("the network holds a request in transit");
            let commands = std::mem::take(&mut entry.request.commands);
            (entry.conn, commands, entry.on_applied.take(), entry.verdict)
        };
        let now = self.inner.sim.now();
        if let Some(before) = on_applied.as_ref().filter(|o| o.sees == Sees::Before) {
            (before.callback)(&[]);
        }
        let mut replies = self.reply_buffer();
        let outcome = {
            let mut server = self.inner.server.borrow_mut();
            server.active_expire(now);
            server.execute_into(now, conn, &commands, &mut replies)
        };
        let executed = self.inner.commands_executed.get() + commands.len() as u64;
        self.inner.commands_executed.set(executed);
        if let Some(entry) = self.inner.slots.borrow_mut().get_mut(slot) {
            entry.request.commands = commands;
        }
        match outcome {
            Executed::Replied => {
                if let Some(on_applied) = &on_applied {
                    on_applied.notify(&replies);
                }
                self.reply(conn, slot, Ok(replies), verdict)
            }
            Executed::Blocked { timeout } => {
                self.recycle_replies(Some(Ok(replies)));
                self.park(conn, slot, verdict, timeout)
            }
        }
        self.serve_unblocked();
        self.deliver_published();
    }

    /// Sends what a PUBLISH left for each subscriber over that subscriber's link, as judged
    /// now: a black-holed link loses the message silently, as it loses a request (a real TCP
    /// stack would retransmit it if the partition healed within its retry budget; the model
    /// keeps neither); a refused or reply-losing link loses it and breaks the connection.
    fn deliver_published(&self) {
        if !self.inner.server.borrow().has_published() {
            return;
        }
        let published = self.inner.server.borrow_mut().take_published();
        for (conn, message) in published {
            let host = self.inner.conns.borrow().get(&conn).and_then(|r| r.host);
            let Some(host) = host else { continue };
            match self.verdict(host) {
                Verdict::Pass => self.schedule_message(conn, Ok(message)),
                Verdict::Drop => {}
                Verdict::Refuse | Verdict::LoseReply => self.schedule_message(conn, Err(LinkError)),
            }
        }
    }

    /// A message (or the news that the connection broke) reaches `conn`'s inbox after one
    /// latency, behind the replies already on their way.
    fn schedule_message(&self, conn: ConnId, message: Result<Reply, LinkError>) {
        let at = self.delivery_time(conn);
        let network = self.clone();
        self.inner
            .sim
            .schedule_at(at, move |_| network.land_message(conn, message));
    }

    fn land_message(&self, conn: ConnId, message: Result<Reply, LinkError>) {
        let reader = {
            let mut conns = self.inner.conns.borrow_mut();
            // Closed by its client meanwhile: no one reads it.
            let Some(record) = conns.get_mut(&conn) else {
                return;
            };
            let inbox = record.inbox.get_or_insert_with(Box::default);
            match message {
                Ok(message) => inbox.messages.push_back(message),
                Err(LinkError) => inbox.broken = true,
            }
            inbox.reader.take()
        };
        if let Some(reader) = reader {
            self.inner.sim.wake(reader);
        }
    }

    /// The client's side of an inbox: the next message, the connection's failure, or `None`
    /// (then `pid` is woken when something lands). Messages that arrived before a failure
    /// are read first, as they sit in the socket before the reset.
    fn take_message(&self, conn: ConnId, pid: Pid) -> Option<Result<Reply, LinkError>> {
        let epoch = self.inner.epoch.get();
        let mut conns = self.inner.conns.borrow_mut();
        let Some(record) = conns.get_mut(&conn) else {
            return Some(Err(LinkError));
        };
        let stale = record.epoch != epoch;
        let inbox = record.inbox.get_or_insert_with(Box::default);
        if let Some(message) = inbox.messages.pop_front() {
            return Some(Ok(message));
        }
        if inbox.broken || stale {
            return Some(Err(LinkError));
        }
        inbox.reader = Some(pid);
        None
    }

    fn park(&self, conn: ConnId, slot: SlotKey, verdict: Verdict, timeout: Option<SimDuration>) {
        self.arm_timeout(slot);
        match self.inner.conns.borrow_mut().get_mut(&conn) {
            Some(record) => record.blocked = Some((slot, verdict)),
            None => self.release_by_network(slot),
        }
        if let Some(timeout) = timeout {
            let at = self.inner.sim.now() + timeout;
            self.schedule(at, NetEvent::BlockTimeout(slot));
        }
    }

    fn block_timed_out(&self, slot: SlotKey) {
        // The timer belongs to this request only: if it was served and the connection blocks
        // again, the later request keeps its own full timeout. A slot that is gone was served.
        let conn = match self.inner.slots.borrow_mut().get_mut(slot) {
            Some(entry) => entry.conn,
            None => return,
        };
        if !self.is_parked(conn, slot) {
            return;
        }
        let now = self.inner.sim.now();
        let reply = self.inner.server.borrow_mut().block_timed_out(now, conn);
        if let Some(reply) = reply {
            self.reply_to_blocked(conn, reply);
        }
    }

    fn is_parked(&self, conn: ConnId, slot: SlotKey) -> bool {
        self.inner
            .conns
            .borrow()
            .get(&conn)
            .and_then(|r| r.blocked.as_ref())
            .is_some_and(|(parked, _)| *parked == slot)
    }

    fn serve_unblocked(&self) {
        let served = self.inner.server.borrow_mut().take_unblocked();
        // Nearly every request serves no one: skip building and dropping an iterator.
        if served.is_empty() {
            return;
        }
        for (conn, reply) in served {
            self.reply_to_blocked(conn, reply);
        }
    }

    fn reply_to_blocked(&self, conn: ConnId, reply: Reply) {
        let parked = self
            .inner
            .conns
            .borrow_mut()
            .get_mut(&conn)
            .and_then(|r| r.blocked.take());
        if let Some((slot, verdict)) = parked {
            let mut replies = self.reply_buffer();
            replies.push(reply);
            self.reply(conn, slot, Ok(replies), verdict);
        }
    }

    fn reply(
        &self,
        conn: ConnId,
        slot: SlotKey,
        result: Result<Vec<Reply>, LinkError>,
        verdict: Verdict,
    ) {
        let result = if verdict == Verdict::LoseReply {
            self.recycle_replies(Some(result));
            Err(LinkError)
        } else {
            result
        };
        let at = self.delivery_time(conn);
        let late = {
            let mut slots = self.inner.slots.borrow_mut();
            let entry = slots
                .get_mut(slot)
                .expect("the network holds the slot it replies to");
            assert!(entry.reply.is_none(), "a request replied to twice");
            entry.reply = Some(result);
            matches!(entry.timeout, SocketTimeout::Reserved(wake) if at >= wake.time)
        };
        if late {
            self.arm_timeout(slot);
        }
        self.schedule(at, NetEvent::Reply(slot));
    }

    /// When a message the server writes now reaches `conn`'s client: one latency later, and
    /// never before what the server wrote on it earlier.
    fn delivery_time(&self, conn: ConnId) -> SimTime {
        let earliest = self.inner.sim.now() + self.sample_latency();
        match self.inner.conns.borrow_mut().get_mut(&conn) {
            Some(record) => {
                record.last_delivery = record.last_delivery.max(earliest);
                record.last_delivery
            }
            None => earliest,
        }
    }

    fn land_reply(&self, slot: SlotKey) {
        let waiter = {
            let mut slots = self.inner.slots.borrow_mut();
            let entry = slots
                .get_mut(slot)
                .expect("the network holds a slot in transit");
            entry.network_holds = false;
            if entry.client_holds {
                entry.landed = true;
                entry.waiter.take()
            } else {
                // The client stopped waiting: no one reads this reply.
                self.free_slot(&mut slots, slot);
                None
            }
        };
        if let Some(waiter) = waiter {
            self.inner.sim.wake(waiter);
        }
    }
}

impl EventHook for NetInner {
    fn run(self: Rc<Self>, _: &Sim, event: u64) {
        Network { inner: self }.on_event(NetEvent::decode(event));
    }
}

// ----- server faults ----------------------------------------------------------------------

impl Network {
    /// Redis stops answering for `span` (SIGSTOP of the server): requests queue up and are
    /// executed in arrival order when it resumes.
    pub fn pause_server(&self, span: SimDuration) {
        {
            let mut state = self.inner.state.borrow_mut();
            if !matches!(*state, ServerState::Up) {
                return;
            }
            *state = ServerState::Paused(Vec::new());
        }
        let network = self.clone();
        self.inner
            .sim
            .schedule_in(span, move |_| network.resume_server());
    }

    fn resume_server(&self) {
        let waiting = match std::mem::replace(&mut *self.inner.state.borrow_mut(), ServerState::Up)
        {
            ServerState::Paused(waiting) => waiting,
            other => {
                *self.inner.state.borrow_mut() = other;
                return;
            }
        };
        for slot in waiting {
            self.execute(slot);
        }
    }

    /// Redis crashes and comes back after `down_for`: every connection is reset; the keyspace
    /// comes back as `restore` says.
    pub fn restart_server(&self, down_for: SimDuration, restore: Restore) {
        let pending =
            match std::mem::replace(&mut *self.inner.state.borrow_mut(), ServerState::Down) {
                ServerState::Paused(waiting) => waiting,
                _ => Vec::new(),
            };
        self.inner.epoch.set(self.inner.epoch.get() + 1);
        for slot in pending {
            let conn = self.conn_of(slot, "the network holds a request waiting for the server");
            self.reply(conn, slot, Err(LinkError), Verdict::Pass);
        }
        for (conn, slot) in self.take_parked(|_| true) {
            self.reply(conn, slot, Err(LinkError), Verdict::Pass);
        }
        // Every subscription is gone with the old server; each reader learns it.
        for conn in self.subscribed_conns(|_| true) {
            self.schedule_message(conn, Err(LinkError));
        }
        let snapshot = match restore {
            Restore::Nothing => None,
            Restore::LastSnapshot => self.inner.snapshot.borrow().clone(),
            Restore::Everything => Some(self.inner.server.borrow().snapshot()),
            Restore::Given(snapshot) => Some(snapshot),
        };
        self.inner.server.borrow_mut().restart(snapshot);
        let network = self.clone();
        self.inner.sim.schedule_in(down_for, move |_| {
            *network.inner.state.borrow_mut() = ServerState::Up;
        });
    }

    /// From now on the server answers every write with `refusal` (`None`: writes run again).
    pub fn refuse_writes(&self, refusal: Option<&'static str>) {
        self.inner.server.borrow_mut().refuse_writes(refusal);
    }

    /// The keyspace as it is now, as a restart would restore it.
    pub fn snapshot_now(&self) -> Snapshot {
        self.inner.server.borrow().snapshot()
    }

    /// Takes a snapshot now and every `every` after (RDB persistence).
    /// Gives the server `maxmemory` (`[redis] maxmemory`), evicting with `rng`'s draws.
    pub fn limit_memory(&self, limit: MemoryLimit, rng: SimRng) {
        self.inner.server.borrow_mut().limit_memory(limit, rng);
    }

    pub fn snapshot_every(&self, every: SimDuration) {
        if !self.is_up() {
            // A server that is down writes no snapshot; try again next period.
        } else {
            let snapshot = self.inner.server.borrow().snapshot();
            *self.inner.snapshot.borrow_mut() = Some(snapshot);
        }
        if every > SimDuration::ZERO {
            let network = self.clone();
            self.inner
                .sim
                .schedule_in(every, move |_| network.snapshot_every(every));
        }
    }
}
