//! The worker's command channel (docs/rq-dependencies-and-operations.md §3.1–§3.4): RQ 2.12's
//! `rq/command.py` and `BaseWorker.subscribe`, `handle_payload`, `_pubsub_exception_handler`
//! and `unsubscribe`. At bootstrap the worker subscribes to `rq:pubsub:<worker>` on a
//! connection of its own, and a thread of its main process reads that connection:
//!
//! ```text
//!  operator ─PUBLISH rq:pubsub:<w> {"command": …}─► Redis ─message─► pubsub thread (worker)
//!     shutdown   → SIGINT to its own process (warm shutdown, as a first Ctrl+C)
//!     kill-horse → SIGKILL to the horse's process group, if there is a horse
//!     stop-job   → HGET rq:worker:<w> current_job; the same id → remember it, kill the horse
//! ```
//!
//! Fire and forget: a message that finds no subscriber (PUBLISH answers 0) or is lost on the
//! way is never sent again. The thread is a [`crate::sim::Threads`] thread of the worker's
//! process, so it pauses and dies with the worker; the horse is forked without it.

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;

use crate::cmd;
use crate::event::{name_of, EventKind, Name};
use crate::net::{Client, RedisError};
use crate::redis::Reply;
use crate::rq::env::{ProcCtx, Role};
use crate::rq::keys;
use crate::rq::worker::Worker;
use crate::sim::{KillScope, Pid, Signal, SimDuration};

/// `get_message(timeout=sleep_time)`: `run_in_thread(sleep_time=60)`.
const READ_TIMEOUT: SimDuration = SimDuration::from_secs(60);
/// `_pubsub_exception_handler`: `time.sleep(2.0)` after a ConnectionError.
const RETRY_AFTER: SimDuration = SimDuration::from_secs(2);
/// `unsubscribe`: `pubsub_thread.join(timeout=1)`.
const JOIN_TIMEOUT: SimDuration = SimDuration::from_secs(1);

/// A command an operator sends to one worker (`send_command`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerCommand {
    Shutdown,
    KillHorse,
    /// `stop-job` with its `job_id`.
    StopJob(Name),
}

impl WorkerCommand {
    /// The `command` field of the payload.
    pub fn name(&self) -> &'static str {
        match self {
            WorkerCommand::Shutdown => "shutdown",
            WorkerCommand::KillHorse => "kill-horse",
            WorkerCommand::StopJob(_) => "stop-job",
        }
    }

    /// `json.dumps(payload)`, with its separators: `{"command": "stop-job", "job_id": "<id>"}`.
    pub fn payload(&self) -> String {
        let quoted = |text: &str| serde_json::Value::from(text).to_string();
        let mut payload = format!("{{\"command\": {}", quoted(self.name()));
        if let WorkerCommand::StopJob(job) = self {
            payload.push_str(&format!(", \"job_id\": {}", quoted(job)));
        }
        payload.push('}');
        payload
    }
}

/// What `parse_payload` made of a message.
enum Parsed {
    Command(WorkerCommand),
    /// A command `handle_command` does not know (ignored), or a `stop-job` without a job id.
    Unknown(&'static str),
    /// Not JSON: the exception ends the thread (§4.5 of the doc, traced).
    Malformed,
}

fn parse_payload(payload: &str) -> Parsed {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(payload) else {
        return Parsed::Malformed;
    };
    let field = |name: &str| value.get(name).and_then(serde_json::Value::as_str);
    match field("command") {
        Some("shutdown") => Parsed::Command(WorkerCommand::Shutdown),
        Some("kill-horse") => Parsed::Command(WorkerCommand::KillHorse),
        Some("stop-job") => match field("job_id") {
            Some(job) => Parsed::Command(WorkerCommand::StopJob(Name::from(job))),
            None => Parsed::Unknown("stop-job"),
        },
        _ => Parsed::Unknown("unknown"),
    }
}

/// What the worker's main thread and its pubsub thread share.
#[derive(Default)]
pub struct CommandState {
    /// `_stopped_job_id`: set by `stop-job`, read and cleared by the failure handling of
    /// the killed horse's job.
    pub stopped_job_id: RefCell<Option<Name>>,
    /// `self.pubsub`: the subscription's connection, from `subscribe` to `unsubscribe`.
    pubsub: RefCell<Option<Rc<Client>>>,
}

impl Worker {
    /// `BaseWorker.subscribe` (§3.1), from `bootstrap`: `SUBSCRIBE rq:pubsub:<w>` on a
    /// connection of its own and the thread that reads it. The main thread only writes the
    /// command; here the thread does, at the same instant (so a refused connection costs the
    /// thread a retry rather than the worker its bootstrap: simrq's one departure).
    pub(super) fn subscribe(&mut self) {
        let env = self.ctx.env.clone();
        let pubsub = Rc::new(env.client(self.ctx.host, &format!("client/{}/pubsub", self.name)));
        *self.commands.pubsub.borrow_mut() = Some(pubsub.clone());
        let stream = format!("client/{}/pool", self.name);
        let pool = ProcCtx::on_stream(&env, &self.ctx.pod, &self.name, self.ctx.host, &stream);
        let thread = PubsubThread {
            ctx: pool,
            pubsub,
            channel: keys::pubsub_channel(&self.name).to_string(),
            worker: env.sim.current_pid(),
            state: self.commands.clone(),
            subscribed: false,
        };
        self.threads.start(thread.run());
    }

    /// `BaseWorker.unsubscribe` (§3.1), from `teardown`: `UNSUBSCRIBE` on the subscription's
    /// connection, the thread stopped and joined for at most 1 s (it leaves its loop once it
    /// reads the confirmation), then the connection closed. Errors are dropped, as the
    /// model's teardown drops `register_death`'s.
    pub(super) async fn unsubscribe(&mut self) {
        let Some(pubsub) = self.commands.pubsub.borrow_mut().take() else {
            return;
        };
        let sim = self.ctx.sim().clone();
        let unsubscribe = pin!(pubsub.call(cmd!("UNSUBSCRIBE")));
        let _ = sim.timeout(JOIN_TIMEOUT, unsubscribe).await;
        self.threads.stop_all();
        pubsub.disconnect();
    }

    /// Whether the job just ended is the one a `stop-job` asked to stop
    /// (`monitor_work_horse`: `self._stopped_job_id == job.id`).
    pub(super) fn is_stopped_job(&self, job: &str) -> bool {
        self.commands.stopped_job_id.borrow().as_deref() == Some(job)
    }
}

/// An exception out of the thread's loop body, as `_pubsub_exception_handler` sorts them.
enum ThreadError {
    /// redis `ConnectionError`: sleep 2 s, go on.
    Connection,
    /// Anything else (a `TimeoutError` included: it is not a `ConnectionError`): the thread
    /// ends and the worker runs on without a command channel.
    Fatal(String),
}

impl From<RedisError> for ThreadError {
    fn from(error: RedisError) -> ThreadError {
        match error {
            RedisError::Connection => ThreadError::Connection,
            other => ThreadError::Fatal(other.to_string()),
        }
    }
}

/// redis-py's `PubSubWorkerThread` running `BaseWorker.handle_payload`.
struct PubsubThread {
    /// The worker's identity, with a pooled connection of its own for `stop-job`'s HGET (the
    /// main thread may be blocked on its connection meanwhile).
    ctx: ProcCtx,
    pubsub: Rc<Client>,
    channel: String,
    worker: Pid,
    state: Rc<CommandState>,
    /// Whether the current connection has been sent SUBSCRIBE (redis-py's `on_connect`
    /// subscribes again on every new connection).
    subscribed: bool,
}

impl PubsubThread {
    /// `PubSubWorkerThread.run` with `_pubsub_exception_handler`.
    async fn run(mut self) {
        loop {
            let error = match self.get_message().await {
                Ok(Some(payload)) => match self.handle_payload(&payload).await {
                    Ok(()) => continue,
                    Err(error) => error,
                },
                Ok(None) => continue,
                Err(error) => error,
            };
            match error {
                ThreadError::Connection => {
                    let error = RedisError::Connection;
                    self.ctx.redis_error("pubsub", "get_message", &error);
                    self.ctx.sim().sleep(RETRY_AFTER).await;
                }
                ThreadError::Fatal(reason) => {
                    let kind = EventKind::WorkerDied {
                        worker: name_of(format_args!("{}:pubsub", self.ctx.name)),
                        reason: format!("pubsub thread exiting on {reason}"),
                    };
                    self.ctx.emit(None, None, kind);
                    return;
                }
            }
        }
    }

    /// `get_message(ignore_subscribe_messages=True, timeout=60)`: the payload of the next
    /// message, if one comes within 60 s. On a broken connection redis-py's failure callback
    /// reconnects at once (SUBSCRIBE again, with the client's own retries); with retries
    /// configured `call_with_retry` then reads again and the handler never sees the error,
    /// with none (`rq worker -u`) the error reaches it anyway.
    async fn get_message(&mut self) -> Result<Option<String>, ThreadError> {
        if !self.subscribed {
            self.resubscribe().await?;
        }
        match self.pubsub.next_message(READ_TIMEOUT).await {
            Ok(message) => Ok(message.and_then(|m| payload_of(&m))),
            Err(error) => {
                self.subscribed = false;
                self.resubscribe().await?;
                if self.pubsub.settings().retries > 0 {
                    return Ok(None);
                }
                Err(error.into())
            }
        }
    }

    /// A new connection and `SUBSCRIBE rq:pubsub:<w>`; the confirmation is read here, as
    /// `get_message` reads it first.
    async fn resubscribe(&mut self) -> Result<(), RedisError> {
        self.pubsub
            .call(cmd!("SUBSCRIBE", self.channel.as_str()))
            .await?;
        self.subscribed = true;
        Ok(())
    }

    /// `handle_payload` → `parse_payload` → `handle_command`.
    async fn handle_payload(&self, payload: &str) -> Result<(), ThreadError> {
        let command = match parse_payload(payload) {
            Parsed::Command(command) => command,
            Parsed::Unknown(name) => {
                self.received(name, "unknown", None);
                return Ok(());
            }
            Parsed::Malformed => return Err(ThreadError::Fatal("JSONDecodeError".into())),
        };
        match &command {
            WorkerCommand::Shutdown => {
                self.received(command.name(), "sigint", None);
                self.ctx.sim().signal(self.worker, Signal::Int);
            }
            WorkerCommand::KillHorse => {
                let action = if self.kill_horse() {
                    "killed_horse"
                } else {
                    "no_horse"
                };
                self.received(command.name(), action, None);
            }
            WorkerCommand::StopJob(job) => self.handle_stop_job(job).await?,
        }
        Ok(())
    }

    /// `handle_stop_job_command` (§3.4): only if the worker's hash names this job as its
    /// current one (written by the horse's `prepare_job_execution`).
    async fn handle_stop_job(&self, job: &Name) -> Result<(), ThreadError> {
        let current = self
            .ctx
            .redis
            .call(cmd!("HGET", keys::worker(&self.ctx.name), "current_job"))
            .await?;
        if current.as_str() != Some(&**job) {
            self.received("stop-job", "not_current_job", Some(job));
            return Ok(());
        }
        *self.state.stopped_job_id.borrow_mut() = Some(job.clone());
        let action = if self.kill_horse() {
            "killed_horse"
        } else {
            "no_horse"
        };
        self.received("stop-job", action, Some(job));
        Ok(())
    }

    /// `Worker.kill_horse`: SIGKILL to the horse's process group, without waiting (the main
    /// thread's `monitor_work_horse` sees it die). False when there is no horse: `horse_pid`
    /// is 0 (handle_kill_worker_command) or the horse is already dead (ESRCH, ignored).
    fn kill_horse(&self) -> bool {
        let env = &self.ctx.env;
        let children = env.sim.children(self.worker);
        let horse = env
            .live_processes()
            .into_iter()
            .find(|p| p.role == Role::Horse && children.contains(&p.pid));
        let Some(horse) = horse else {
            return false;
        };
        env.sim.kill(horse.pid, KillScope::Tree);
        self.ctx
            .emit(None, horse.tag.as_ref(), EventKind::ProcessKilled);
        true
    }

    fn received(&self, command: &'static str, action: &'static str, job: Option<&Name>) {
        let kind = EventKind::CommandReceived { command, action };
        self.ctx.emit(None, job, kind);
    }
}

/// The payload of a `[message, channel, payload]` push.
fn payload_of(message: &Reply) -> Option<String> {
    match message.as_array()? {
        [kind, _, payload] if kind.as_str() == Some("message") => {
            payload.as_str().map(str::to_string)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_what_send_command_writes_and_parse_back() {
        let stop = WorkerCommand::StopJob(Name::from("j1"));
        assert_eq!(stop.payload(), r#"{"command": "stop-job", "job_id": "j1"}"#);
        assert_eq!(
            WorkerCommand::Shutdown.payload(),
            r#"{"command": "shutdown"}"#
        );
        for command in [WorkerCommand::Shutdown, WorkerCommand::KillHorse, stop] {
            let Parsed::Command(parsed) = parse_payload(&command.payload()) else {
                panic!("{command:?}");
            };
            assert_eq!(parsed, command);
        }
        assert!(matches!(
            parse_payload(r#"{"command": "x"}"#),
            Parsed::Unknown(_)
        ));
        assert!(matches!(parse_payload("not-json"), Parsed::Malformed));
    }
}
