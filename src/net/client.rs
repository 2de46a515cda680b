//! A redis-py client as RQ uses it: one connection per process, a socket timeout, and an
//! optional retry budget with jittered exponential back-off (rq-semantics §2, §7).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use rand::Rng;

use super::{LinkError, Network, Observer, OnApplied, Request, Sees, SlotKey, Verdict};
use crate::redis::exec_replies::ExecReplies;
use crate::redis::{Command, ConnId, Reply};
use crate::sim::{HostId, Sim, SimDuration, SimRng, SimTime};

/// How the client behaves: redis-py's settings as RQ configures them.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientSettings {
    /// `socket_timeout`; `None` blocks forever on a black-holed request.
    pub socket_timeout: Option<SimDuration>,
    pub connect_timeout: SimDuration,
    /// Retries after a ConnectionError/TimeoutError: 0 for `Redis.from_url` (what `rq worker
    /// -u` uses), 10 for `Redis(host=…)` in redis-py 8.
    pub retries: u32,
    pub backoff_base: SimDuration,
    pub backoff_cap: SimDuration,
}

impl Default for ClientSettings {
    fn default() -> ClientSettings {
        ClientSettings {
            socket_timeout: None,
            connect_timeout: SimDuration::from_secs(5),
            retries: 0,
            backoff_base: SimDuration::from_millis(10),
            backoff_cap: SimDuration::from_secs(1),
        }
    }
}

/// What reaches RQ code from a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisError {
    /// redis `ConnectionError` (refused, reset, reply lost, server restarting).
    Connection,
    /// redis `TimeoutError` (no reply within the socket timeout).
    Timeout,
    /// An error reply (`-ERR …`, `-WRONGTYPE …`).
    Response(String),
    /// `EXEC` returned nil because a WATCHed key changed.
    Watch,
}

impl std::fmt::Display for RedisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisError::Connection => write!(f, "ConnectionError"),
            RedisError::Timeout => write!(f, "TimeoutError"),
            RedisError::Response(message) => write!(f, "ResponseError({message})"),
            RedisError::Watch => write!(f, "WatchError"),
        }
    }
}

impl RedisError {
    /// Errors that redis-py's retry helper retries and that RQ treats as a lost connection.
    pub fn is_connection_level(&self) -> bool {
        matches!(self, RedisError::Connection | RedisError::Timeout)
    }
}

/// One process's Redis client. Dropping it (the process died) closes its connection.
pub struct Client {
    network: Network,
    host: HostId,
    settings: ClientSettings,
    conn: Cell<Option<ConnId>>,
    rng: RefCell<SimRng>,
}

impl Client {
    pub fn new(network: &Network, host: HostId, settings: ClientSettings, rng: SimRng) -> Client {
        Client {
            network: network.clone(),
            host,
            settings,
            conn: Cell::new(None),
            rng: RefCell::new(rng),
        }
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    fn sim(&self) -> &Sim {
        self.network.sim()
    }

    // The entry points below are not `async fn`s: each returns the future of `single` (or
    // `transaction_observed`) as is. Every layer of async functions is a state machine that
    // holds the next one, moved into it when it starts: one fewer per command saves a copy
    // of a few hundred bytes, 22 requests a job.

    /// One command; an error reply becomes `Err(Response)`.
    pub fn call(&self, command: Command) -> impl Future<Output = Result<Reply, RedisError>> + '_ {
        self.single(command, None)
    }

    /// [`Client::call`], calling `on_applied` with the reply at the instant Redis executes the
    /// command, unless the reply is an error (see [`Client::transaction_observed`]).
    pub fn call_observed(
        &self,
        command: Command,
        on_applied: Option<OnApplied>,
    ) -> impl Future<Output = Result<Reply, RedisError>> + '_ {
        let on_applied = on_applied.map(|callback| Observer {
            callback,
            sees: Sees::Success,
        });
        self.single(command, on_applied)
    }

    /// [`Client::call`], calling `before` at the instant Redis is about to run the command
    /// (each time it runs, if redis-py resends it).
    pub fn call_before(
        &self,
        command: Command,
        before: OnApplied,
    ) -> impl Future<Output = Result<Reply, RedisError>> + '_ {
        let observer = Observer {
            callback: before,
            sees: Sees::Before,
        };
        self.single(command, Some(observer))
    }

    /// One command with its observer; an error reply becomes `Err(Response)`.
    async fn single(
        &self,
        command: Command,
        observer: Option<Observer>,
    ) -> Result<Reply, RedisError> {
        let request = self.network.single_request(command);
        match self.request(request, observer).await? {
            Some(Reply::Error(message)) => Err(RedisError::Response(message)),
            Some(reply) => Ok(reply),
            None => Err(RedisError::Connection),
        }
    }

    /// `pipeline(transaction=True).execute()`: `MULTI`, the commands, `EXEC`, written at once.
    /// Returns EXEC's replies; the first error reply inside is raised, as redis-py does.
    pub fn transaction(
        &self,
        commands: Vec<Command>,
    ) -> impl Future<Output = Result<ExecReplies, RedisError>> + '_ {
        self.transaction_observed(commands, None)
    }

    /// [`Client::transaction`], calling `on_committed` with EXEC's replies at the instant Redis
    /// commits it (once per commit: a re-sent transaction commits again). Observers use it to
    /// stamp events with the time the effect happened, even if this process is paused or
    /// killed before it reads the reply.
    pub async fn transaction_observed(
        &self,
        commands: Vec<Command>,
        on_committed: Option<OnApplied>,
    ) -> Result<ExecReplies, RedisError> {
        let request = self.network.transaction_request(commands);
        let on_applied = on_committed.map(|callback| Observer {
            callback,
            sees: Sees::Commit,
        });
        match self.request(request, on_applied).await? {
            Some(Reply::NilArray) => Err(RedisError::Watch),
            Some(Reply::Array(items)) => match items.iter().find(|r| r.is_error()) {
                Some(Reply::Error(message)) => Err(RedisError::Response(message.clone())),
                _ => Ok(ExecReplies::new(items)),
            },
            Some(Reply::Error(message)) => Err(RedisError::Response(message)),
            _ => Err(RedisError::Connection),
        }
    }

    /// Sends `request` with redis-py's retry loop around it; its last reply (the one command's,
    /// or EXEC's). Each attempt is written out here rather than in an async function of its
    /// own, and a connection already open is used without awaiting `connect`: both keep the
    /// state machine of a request one level flatter.
    async fn request(
        &self,
        mut request: Request,
        on_applied: Option<Observer>,
    ) -> Result<Option<Reply>, RedisError> {
        let mut failures = 0u32;
        loop {
            let may_retry = failures < self.settings.retries;
            let conn = match self.conn.get() {
                Some(conn) if self.network.is_open(conn) => Ok(conn),
                // redis-py's `ConnectionPool.get_connection` checks a pooled connection
                // before it hands it out (`can_read()` sees the server's close): one the
                // server reset while it sat idle (a restart, a failover) is reconnected
                // there, so only a command under way when the server goes fails with it.
                Some(_) => {
                    self.disconnect();
                    self.connect().await
                }
                None => self.connect().await,
            };
            let (result, returned) = match conn {
                Err(error) => (Err(error), Some(request)),
                Ok(conn) => match self.send_on(conn, request, on_applied.clone()) {
                    Err(refused) => refused,
                    Ok(mut wait) => {
                        let result = (&mut wait).await;
                        // Nearly every attempt reads its reply (which freed its slot):
                        // nothing to retry, and no request to hand back through
                        // `end_attempt`'s tuple.
                        if let Ok(reply) = result {
                            return Ok(reply);
                        }
                        self.end_attempt(wait, result, may_retry)
                    }
                },
            };
            match (result, returned) {
                (Err(error), Some(again)) if error.is_connection_level() && may_retry => {
                    failures += 1;
                    request = again;
                    let backoff = self.backoff(failures);
                    self.sim().sleep(backoff).await;
                }
                (result, returned) => {
                    if let Some(unsent) = returned {
                        self.network.recycle(unsent);
                    }
                    return result;
                }
            }
        }
    }

    /// redis-py's `ExponentialWithJitterBackoff`: uniform in [0, min(cap, base · 2^failures)].
    fn backoff(&self, failures: u32) -> SimDuration {
        let ceiling = self
            .settings
            .backoff_base
            .saturating_mul(1u64 << failures.min(30));
        let ceiling = ceiling.min(self.settings.backoff_cap);
        SimDuration(self.rng.borrow_mut().gen_range(0..=ceiling.0))
    }

    /// Sends `request` once on `conn`, to be read through the returned [`InFlight`]; or
    /// the refusal and the request back, if the link refuses it (redis-py sends it again).
    fn send_on(
        &self,
        conn: ConnId,
        request: Request,
        on_applied: Option<Observer>,
    ) -> Result<InFlight<'_>, Attempt> {
        let verdict = self.network.verdict(self.host);
        if verdict == Verdict::Refuse {
            self.disconnect();
            return Err((Err(RedisError::Connection), Some(request)));
        }
        let deadline = self
            .settings
            .socket_timeout
            .map(|limit| self.sim().now() + limit);
        let slot = self
            .network
            .send(conn, request, verdict, on_applied, deadline);
        Ok(InFlight {
            client: self,
            slot,
            deadline,
            just_sent: true,
            read: false,
            released: false,
        })
    }

    /// Lets go of a request whose reply was read or given up on. Gives the request back when
    /// the attempt failed at the connection level and `may_retry` (redis-py sends it again);
    /// after such a failure the connection is closed, as redis-py closes it.
    fn end_attempt(
        &self,
        mut wait: InFlight<'_>,
        result: Result<Option<Reply>, RedisError>,
        may_retry: bool,
    ) -> Attempt {
        let failed = result.as_ref().is_err_and(RedisError::is_connection_level);
        let returned = wait.release(failed && may_retry);
        drop(wait);
        if failed {
            self.disconnect();
        }
        (result, returned)
    }

    async fn connect(&self) -> Result<ConnId, RedisError> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn);
        }
        match self.network.open(self.host) {
            Ok(conn) => {
                self.conn.set(Some(conn));
                Ok(conn)
            }
            Err(Verdict::Drop) => {
                self.sim().sleep(self.settings.connect_timeout).await;
                Err(RedisError::Timeout)
            }
            Err(_) => Err(RedisError::Connection),
        }
    }

    /// Waits up to `limit` for the next message pushed to this client's subscribed
    /// connection (redis-py's `PubSub.get_message(timeout=limit)`): `Ok(None)` when none came,
    /// a connection error (and the connection closed) when it broke or there is none.
    pub async fn next_message(&self, limit: SimDuration) -> Result<Option<Reply>, RedisError> {
        let Some(conn) = self.conn.get() else {
            return Err(RedisError::Connection);
        };
        let wait = NextMessage { client: self, conn };
        match self.sim().timeout(limit, wait).await {
            Ok(Ok(message)) => Ok(Some(message)),
            Ok(Err(LinkError)) => {
                self.disconnect();
                Err(RedisError::Connection)
            }
            Err(_) => Ok(None),
        }
    }

    /// Closes the connection (redis-py does after any connection-level error, and when an
    /// exception interrupts a read); the next command opens a new one.
    pub fn disconnect(&self) {
        if let Some(conn) = self.conn.take() {
            self.network.close(conn);
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.disconnect();
    }
}

/// What one attempt at a request gave, and the request if it is to be sent again.
type Attempt = (Result<Option<Reply>, RedisError>, Option<Request>);

/// Waits for a message in a subscribed connection's inbox.
struct NextMessage<'a> {
    client: &'a Client,
    conn: ConnId,
}

impl Future for NextMessage<'_> {
    type Output = Result<Reply, LinkError>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        let network = &self.client.network;
        match network.take_message(self.conn, network.sim().current_pid()) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

/// Waits for one request's last reply, until the socket timeout's `deadline` if there is
/// one (the network wakes the client then, unless the reply landed first). Dropped before
/// the reply came (an exception or SIGKILL interrupted the read), it closes the connection,
/// as redis-py does.
struct InFlight<'a> {
    client: &'a Client,
    slot: SlotKey,
    deadline: Option<SimTime>,
    /// Not polled yet: it is polled first in the same poll as the send, when the reply
    /// cannot have landed, the deadline lies ahead and the network already knows whom to
    /// wake (see [`Network::send`]).
    just_sent: bool,
    read: bool,
    released: bool,
}

impl InFlight<'_> {
    /// Lets go of the reply slot; see [`Network::release_by_client`].
    fn release(&mut self, keep_request: bool) -> Option<Request> {
        self.released = true;
        self.client
            .network
            .release_by_client(self.slot, keep_request)
    }
}

impl Future for InFlight<'_> {
    type Output = Result<Option<Reply>, RedisError>;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        if std::mem::take(&mut self.just_sent) {
            return Poll::Pending;
        }
        let network = &self.client.network;
        match network.take_reply(self.slot, network.sim().current_pid()) {
            Some(result) => {
                self.read = true;
                // A reply read let go of the slot (see `Network::take_reply`).
                self.released = result.is_ok();
                Poll::Ready(result.map_err(|LinkError| RedisError::Connection))
            }
            // A reply that has landed is read even past the deadline (the process was
            // stopped meanwhile): it is checked first, as a timeout around the read checks it.
            None if self.deadline.is_some_and(|at| network.sim().now() >= at) => {
                Poll::Ready(Err(RedisError::Timeout))
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.released {
            self.release(false);
        }
        if !self.read {
            self.client.disconnect();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::net::{Latency, Restore};
    use crate::sim::RngStreams;

    /// A client that writes at 0 s, then at `second_s`, across a restart from 1 s to 2 s.
    fn across_a_restart(second_s: u64) -> Vec<String> {
        let sim = Sim::new();
        let _server = sim.add_host();
        let latency = Latency::Constant(SimDuration::from_millis(1));
        let network = Network::new(&sim, latency, RngStreams::new(1).stream("net"));
        let host = sim.add_host();
        let client = Client::new(
            &network,
            host,
            ClientSettings::default(),
            RngStreams::new(1).stream("client"),
        );
        let log: Rc<RefCell<Vec<String>>> = Rc::default();
        let (s, l) = (sim.clone(), log.clone());
        sim.spawn(host, "client", None, async move {
            for at_s in [0, second_s] {
                s.sleep(SimTime::from_secs(at_s).since(s.now())).await;
                let reply = client.call(crate::cmd!("SET", "k", "v")).await;
                let outcome = reply.map_or_else(|error| error.to_string(), |_| "Ok".into());
                l.borrow_mut().push(format!("{outcome}@{}", s.now()));
            }
            0
        });
        let net = network.clone();
        sim.schedule_at(SimTime::from_secs(1), move |_| {
            net.restart_server(SimDuration::from_secs(1), Restore::Nothing)
        });
        sim.run_until(SimTime::from_secs(10));
        let entries = log.borrow().clone();
        entries
    }

    /// redis-py's pool checks a connection before handing it out: the connection the restart
    /// reset while it sat idle is replaced, so the write after the restart succeeds; during
    /// the down time the new connection is refused.
    #[test]
    fn an_idle_connection_reset_by_a_restart_is_reconnected_before_the_next_command() {
        assert_eq!(across_a_restart(5), ["Ok@0.002000", "Ok@5.002000"]);
        assert_eq!(
            across_a_restart(1),
            ["Ok@0.002000", "ConnectionError@1.000000"]
        );
    }
}
