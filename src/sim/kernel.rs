//! The executor: simulated processes are `async` functions polled on one thread against a
//! virtual clock.
//!
//! ```text
//!   event queue (min-heap on (time, seq))          ready queue (FIFO)
//!   ┌──────────────────────────────┐   wake(pid)   ┌───────────────┐   poll    ┌─────────┐
//!   │ (t=5s,#12) wake worker-1     │ ────────────► │ worker-1      │ ────────► │ process │
//!   │ (t=5s,#13) deliver reply     │               │ scheduler-2   │           │ future  │
//!   │ (t=9s,#14) fault: pause      │               └───────────────┘           └─────────┘
//!   └──────────────────────────────┘
//! ```
//!
//! The loop pops the earliest event, sets the clock to its time, runs it, then polls every
//! process it made ready before taking the next event. Events at equal times run in the order
//! they were scheduled (FIFO by sequence number), so a run is a pure function of its inputs.
//!
//! Processes wake through the kernel, not through `std::task::Waker`: every leaf future here
//! (sleep, process exit, the Redis client's reply slot) records the pid that polled it and
//! schedules `wake(pid)`. Simulated code must therefore await only simrq's own primitives; it
//! is handed a no-op `Waker`. Any poll may be spurious, so leaf futures re-check their state.
//!
//! Signals: SIGKILL drops the future (nothing after its last completed await happens; a
//! command already handed to the network still arrives). SIGSTOP stops polling; wake-ups that
//! arrive meanwhile are delivered on SIGCONT. SIGTERM and SIGINT are counters the process code
//! reads, as RQ's handlers set flags; they also wake the process so that an
//! [`Sim::interruptible`] wait can end early.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

pub use super::event_queue::EventId;
use super::event_queue::EventQueue;
use super::time::{SimDuration, SimTime};

/// A process body: an `async` block that returns the process's exit code.
pub type ProcessFuture = Pin<Box<dyn Future<Output = i32>>>;

/// A scheduled callback. It receives the kernel handle instead of capturing one, so that the
/// event queue never holds a reference cycle back to the kernel.
pub type Callback = Box<dyn FnOnce(&Sim)>;

/// A subsystem that receives typed events (the network's deliveries and timeouts) without a
/// boxed callback per event. The kernel sees only an opaque `u64`; what it means is the
/// hook's business, so the kernel stays ignorant of Redis.
pub trait EventHook {
    fn run(self: Rc<Self>, sim: &Sim, event: u64);
}

/// A hook registered with [`Sim::register_hook`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookId(u32);

/// Unix time of virtual instant zero: 2026-01-01T00:00:00Z. Wall clocks start here, so
/// floored Unix seconds behave as they do in RQ.
pub const EPOCH_UNIX_MICROS: i64 = 1_767_225_600 * 1_000_000;

/// A process identifier. Slots are reused; the generation tells a stale pid from a live one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid {
    index: u32,
    generation: u32,
}

/// A machine with its own wall clock (a pod, the Redis server, a producer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub u32);

/// The signals the model delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Term,
    Int,
    Kill,
    Stop,
    Cont,
}

/// How a process ended, as `wait4` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Killed,
}

/// Whether SIGKILL takes the process alone or its whole tree of descendants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillScope {
    Process,
    Tree,
}

/// Shared between a process and whoever waits for it (`os.wait4`).
#[derive(Default)]
pub struct ExitCell {
    status: Cell<Option<ExitStatus>>,
    waiter: Cell<Option<Pid>>,
}

impl ExitCell {
    pub fn status(&self) -> Option<ExitStatus> {
        self.status.get()
    }
}

/// What [`Sim::spawn`] takes as a process name. An `Rc<str>`, or a reference to one, is shared
/// rather than copied: a process spawned per job (an enqueue, a work horse) is named by its
/// caller, which keeps the name too, and copying it cost an allocation per process.
pub trait ProcessName {
    fn into_shared(self) -> Rc<str>;
}

impl ProcessName for &str {
    fn into_shared(self) -> Rc<str> {
        Rc::from(self)
    }
}

impl ProcessName for &String {
    fn into_shared(self) -> Rc<str> {
        Rc::from(self.as_str())
    }
}

impl ProcessName for Rc<str> {
    fn into_shared(self) -> Rc<str> {
        self
    }
}

impl ProcessName for &Rc<str> {
    fn into_shared(self) -> Rc<str> {
        self.clone()
    }
}

/// Pending SIGTERM/SIGINT deliveries; RQ's handlers only ever set flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalCounts {
    pub term: u32,
    pub int: u32,
}

impl SignalCounts {
    pub fn total(&self) -> u32 {
        self.term + self.int
    }
}

struct Process {
    name: Rc<str>,
    host: HostId,
    parent: Option<Pid>,
    children: Vec<Pid>,
    /// `None` while the process is being polled.
    future: Option<ProcessFuture>,
    stopped: bool,
    woken_while_stopped: bool,
    queued: bool,
    signals: SignalCounts,
    /// Made when someone first asks for it ([`Sim::exit_cell`]): most processes (a producer's
    /// enqueue of one job) are waited on by no one.
    exit: Option<Rc<ExitCell>>,
}

struct Slot {
    generation: u32,
    process: Option<Process>,
}

enum Action {
    Wake(Pid),
    Call(Callback),
    Hook(HookId, u64),
}

#[derive(Default)]
struct Kernel {
    now: Cell<SimTime>,
    /// Ordered by (time, seq): the earliest first, FIFO among equal times.
    events: RefCell<EventQueue<Action>>,
    ready: RefCell<VecDeque<Pid>>,
    /// Weak, so that a hook owning a [`Sim`] forms no reference cycle with the kernel.
    hooks: RefCell<Vec<Weak<dyn EventHook>>>,
    slots: RefCell<Vec<Slot>>,
    free_slots: RefCell<Vec<u32>>,
    current: Cell<Option<Pid>>,
    clock_offsets_micros: RefCell<Vec<i64>>,
    /// Where in a wall-clock second virtual instant zero falls, for every host.
    wall_clock_phase_micros: Cell<i64>,
    events_run: Cell<u64>,
    polls: Cell<u64>,
}

/// Handle to one simulation's kernel. Cheap to clone; every clone is the same simulation.
#[derive(Clone, Default)]
pub struct Sim {
    kernel: Rc<Kernel>,
}

/// A wake-up whose place in the event order is taken but that is not scheduled yet
/// ([`Sim::reserve_wake`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservedWake {
    pub time: SimTime,
    seq: u64,
    pid: Pid,
}

/// Counters for benchmarks and progress reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    pub events_run: u64,
    pub polls: u64,
    pub live_processes: usize,
    pub pending_events: usize,
}

impl Sim {
    pub fn new() -> Sim {
        Sim::default()
    }

    /// The current virtual time (the server's clock: Redis TTLs run on it).
    pub fn now(&self) -> SimTime {
        self.kernel.now.get()
    }

    pub fn stats(&self) -> KernelStats {
        let live_processes = self
            .kernel
            .slots
            .borrow()
            .iter()
            .filter(|slot| slot.process.is_some())
            .count();
        KernelStats {
            events_run: self.kernel.events_run.get(),
            polls: self.kernel.polls.get(),
            live_processes,
            pending_events: self.kernel.events.borrow().len(),
        }
    }

    // ----- hosts and clocks -------------------------------------------------------------

    /// Adds a host whose wall clock starts in step with virtual time.
    pub fn add_host(&self) -> HostId {
        let mut offsets = self.kernel.clock_offsets_micros.borrow_mut();
        offsets.push(0);
        HostId(offsets.len() as u32 - 1)
    }

    /// Sets how far `host`'s wall clock is ahead of true time (negative: behind).
    pub fn set_clock_offset(&self, host: HostId, offset_micros: i64) {
        self.kernel.clock_offsets_micros.borrow_mut()[host.0 as usize] = offset_micros;
    }

    pub fn clock_offset(&self, host: HostId) -> i64 {
        self.kernel.clock_offsets_micros.borrow()[host.0 as usize]
    }

    /// Moves virtual instant zero `phase_micros` into the wall-clock second on every host
    /// (`[run] wall_clock_phase`): a real run starts at any point of a second, and RQ floors
    /// due times to whole wall-clock seconds.
    pub fn set_wall_clock_phase(&self, phase_micros: i64) {
        self.kernel.wall_clock_phase_micros.set(phase_micros);
    }

    /// The true wall clock's Unix microseconds at virtual instant zero (no host's skew).
    pub fn wall_clock_origin_micros(&self) -> i64 {
        EPOCH_UNIX_MICROS + self.kernel.wall_clock_phase_micros.get()
    }

    /// `host`'s wall clock as Unix microseconds: what `datetime.now()` returns there.
    pub fn wall_clock_micros(&self, host: HostId) -> i64 {
        EPOCH_UNIX_MICROS
            + self.kernel.wall_clock_phase_micros.get()
            + self.now().0 as i64
            + self.clock_offset(host)
    }

    // ----- scheduling -------------------------------------------------------------------

    fn push_event(&self, time: SimTime, action: Action) -> EventId {
        assert!(time >= self.now(), "event scheduled in the past");
        self.kernel.events.borrow_mut().push(time, action)
    }

    /// Removes a scheduled event that has not run yet (a no-op if it has).
    pub fn cancel(&self, id: EventId) {
        self.kernel.events.borrow_mut().cancel(id);
    }

    /// Runs `callback` at `time` (at once in the loop's order if `time` is now).
    pub fn schedule_at(&self, time: SimTime, callback: impl FnOnce(&Sim) + 'static) -> EventId {
        self.push_event(time, Action::Call(Box::new(callback)))
    }

    pub fn schedule_in(
        &self,
        delay: SimDuration,
        callback: impl FnOnce(&Sim) + 'static,
    ) -> EventId {
        self.schedule_at(self.now() + delay, callback)
    }

    /// Registers a receiver of typed events; done once per subsystem, not per event.
    pub fn register_hook(&self, hook: Weak<dyn EventHook>) -> HookId {
        let mut hooks = self.kernel.hooks.borrow_mut();
        hooks.push(hook);
        HookId(hooks.len() as u32 - 1)
    }

    /// Hands `event` to `hook` at `time`; ordered with every other event by (time, seq).
    pub fn schedule_hook_at(&self, time: SimTime, hook: HookId, event: u64) -> EventId {
        self.push_event(time, Action::Hook(hook, event))
    }

    /// Wakes `pid` at `time`.
    pub fn wake_at(&self, time: SimTime, pid: Pid) -> EventId {
        self.push_event(time, Action::Wake(pid))
    }

    /// A wake-up of `pid` at `time` that holds its place in the event order from now but is
    /// only scheduled if [`Sim::arm`] is called (before the clock reaches `time`). A request's
    /// socket timeout is one: its reply nearly always lands first, and a timer pushed and
    /// cancelled for each request was a third of all the kernel's events.
    pub fn reserve_wake(&self, time: SimTime, pid: Pid) -> ReservedWake {
        assert!(time > self.now(), "a reserved wake-up lies in the future");
        let seq = self.kernel.events.borrow_mut().reserve();
        ReservedWake { time, seq, pid }
    }

    /// Schedules a reserved wake-up, in the place it reserved; cancel it like any event.
    pub fn arm(&self, wake: ReservedWake) -> EventId {
        assert!(wake.time > self.now(), "armed before the clock reaches it");
        self.kernel
            .events
            .borrow_mut()
            .push_reserved(wake.time, wake.seq, Action::Wake(wake.pid))
    }

    /// Makes `pid` ready now (after the processes already ready). Stale pids are ignored; a
    /// stopped process remembers the wake-up until SIGCONT.
    pub fn wake(&self, pid: Pid) {
        let mut slots = self.kernel.slots.borrow_mut();
        let Some(process) = live_process_mut(&mut slots, pid) else {
            return;
        };
        if process.stopped {
            process.woken_while_stopped = true;
        } else if !process.queued {
            process.queued = true;
            self.kernel.ready.borrow_mut().push_back(pid);
        }
    }

    // ----- running ----------------------------------------------------------------------

    /// Runs events up to and including `deadline`, then leaves the clock at `deadline`.
    /// Returns false if the queue ran dry (nothing left can ever happen).
    pub fn run_until(&self, deadline: SimTime) -> bool {
        loop {
            self.poll_ready();
            let next = self.kernel.events.borrow_mut().pop_until(deadline);
            match next {
                Ok((id, action)) => self.run_event(id, action),
                Err(more_later) => {
                    self.kernel.now.set(deadline.max(self.now()));
                    return more_later;
                }
            }
        }
    }

    pub fn run_for(&self, span: SimDuration) -> bool {
        self.run_until(self.now() + span)
    }

    /// Runs one event and every process it made ready. Returns false when none is left.
    pub fn step(&self) -> bool {
        self.poll_ready();
        if self.kernel.events.borrow().is_empty() {
            return false;
        }
        self.run_next_event();
        self.poll_ready();
        true
    }

    fn run_next_event(&self) {
        let (id, action) = self
            .kernel
            .events
            .borrow_mut()
            .pop()
            .expect("caller checked");
        self.run_event(id, action);
    }

    fn run_event(&self, id: EventId, action: Action) {
        self.kernel.now.set(id.time());
        self.kernel.events_run.set(self.kernel.events_run.get() + 1);
        match action {
            Action::Wake(pid) => self.wake(pid),
            Action::Call(callback) => callback(self),
            Action::Hook(hook, event) => {
                // The hook's owner is gone (a network dropped before the run ended): its
                // events have no one left to act on.
                let hook = self.kernel.hooks.borrow()[hook.0 as usize].upgrade();
                if let Some(hook) = hook {
                    hook.run(self, event);
                }
            }
        }
    }

    fn poll_ready(&self) {
        loop {
            let next = self.kernel.ready.borrow_mut().pop_front();
            match next {
                Some(pid) => self.poll_process(pid),
                None => return,
            }
        }
    }

    fn poll_process(&self, pid: Pid) {
        let mut future = {
            let mut slots = self.kernel.slots.borrow_mut();
            let Some(process) = live_process_mut(&mut slots, pid) else {
                return;
            };
            process.queued = false;
            if process.stopped {
                process.woken_while_stopped = true;
                return;
            }
            match process.future.take() {
                Some(future) => future,
                None => return,
            }
        };
        self.kernel.polls.set(self.kernel.polls.get() + 1);
        self.kernel.current.set(Some(pid));
        let mut context = Context::from_waker(Waker::noop());
        let result = future.as_mut().poll(&mut context);
        self.kernel.current.set(None);
        match result {
            Poll::Ready(code) => {
                drop(future);
                self.finish(pid, ExitStatus::Exited(code));
            }
            Poll::Pending => {
                let mut slots = self.kernel.slots.borrow_mut();
                match live_process_mut(&mut slots, pid) {
                    Some(process) => process.future = Some(future),
                    // Killed while it ran (it signalled its own pod): drop it outside the borrow.
                    None => {
                        drop(slots);
                        drop(future);
                    }
                }
            }
        }
    }

    /// Drops all processes and pending events. Call at the end of a run: process futures and
    /// the kernel hold each other, and this breaks the cycle.
    pub fn teardown(&self) {
        let futures: Vec<ProcessFuture> = {
            let mut slots = self.kernel.slots.borrow_mut();
            slots
                .iter_mut()
                .filter_map(|slot| slot.process.take()?.future)
                .collect()
        };
        drop(futures);
        let events = std::mem::take(&mut *self.kernel.events.borrow_mut());
        drop(events);
        self.kernel.ready.borrow_mut().clear();
    }
}

fn live_process_mut(slots: &mut [Slot], pid: Pid) -> Option<&mut Process> {
    let slot = slots.get_mut(pid.index as usize)?;
    if slot.generation != pid.generation {
        return None;
    }
    slot.process.as_mut()
}

fn live_process(slots: &[Slot], pid: Pid) -> Option<&Process> {
    let slot = slots.get(pid.index as usize)?;
    if slot.generation != pid.generation {
        return None;
    }
    slot.process.as_ref()
}

// ----- processes ----------------------------------------------------------------------------

impl Sim {
    /// Starts a process on `host`. It is first polled at the current time, after the processes
    /// already ready. `parent` makes it a child (as `fork` does) for [`KillScope::Tree`].
    pub fn spawn(
        &self,
        host: HostId,
        name: impl ProcessName,
        parent: Option<Pid>,
        body: impl Future<Output = i32> + 'static,
    ) -> Pid {
        let process = Process {
            name: name.into_shared(),
            host,
            parent,
            children: Vec::new(),
            future: Some(Box::pin(body)),
            stopped: false,
            woken_while_stopped: false,
            queued: false,
            signals: SignalCounts::default(),
            exit: None,
        };
        let pid = self.insert_process(process);
        if let Some(parent) = parent {
            let mut slots = self.kernel.slots.borrow_mut();
            if let Some(parent_process) = live_process_mut(&mut slots, parent) {
                parent_process.children.push(pid);
            }
        }
        self.wake(pid);
        pid
    }

    fn insert_process(&self, process: Process) -> Pid {
        let mut slots = self.kernel.slots.borrow_mut();
        if let Some(index) = self.kernel.free_slots.borrow_mut().pop() {
            let slot = &mut slots[index as usize];
            slot.process = Some(process);
            return Pid {
                index,
                generation: slot.generation,
            };
        }
        slots.push(Slot {
            generation: 0,
            process: Some(process),
        });
        Pid {
            index: slots.len() as u32 - 1,
            generation: 0,
        }
    }

    /// Removes a process that ended (returned or was killed), tells its waiter, orphans its
    /// children. Its future must already be out of the slot or is returned for dropping.
    fn finish(&self, pid: Pid, status: ExitStatus) -> Option<ProcessFuture> {
        let mut slots = self.kernel.slots.borrow_mut();
        let slot = slots.get_mut(pid.index as usize)?;
        if slot.generation != pid.generation {
            return None;
        }
        let process = slot.process.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.kernel.free_slots.borrow_mut().push(pid.index);
        for child in &process.children {
            if let Some(child_process) = live_process_mut(&mut slots, *child) {
                child_process.parent = None;
            }
        }
        if let Some(parent) = process.parent.and_then(|p| live_process_mut(&mut slots, p)) {
            parent.children.retain(|child| *child != pid);
        }
        drop(slots);
        if let Some(exit) = &process.exit {
            exit.status.set(Some(status));
            if let Some(waiter) = exit.waiter.take() {
                self.wake(waiter);
            }
        }
        process.future
    }

    /// Delivers a signal. SIGKILL with [`KillScope::Process`]; see [`Sim::kill`] for trees.
    pub fn signal(&self, pid: Pid, signal: Signal) {
        match signal {
            Signal::Kill => self.kill(pid, KillScope::Process),
            Signal::Stop => self.set_stopped(pid, true),
            Signal::Cont => self.set_stopped(pid, false),
            Signal::Term | Signal::Int => {
                {
                    let mut slots = self.kernel.slots.borrow_mut();
                    let Some(process) = live_process_mut(&mut slots, pid) else {
                        return;
                    };
                    match signal {
                        Signal::Term => process.signals.term += 1,
                        _ => process.signals.int += 1,
                    }
                }
                self.wake(pid);
            }
        }
    }

    /// SIGKILL: the process (and with [`KillScope::Tree`] every descendant) is dropped at once.
    pub fn kill(&self, pid: Pid, scope: KillScope) {
        let mut victims = vec![pid];
        if scope == KillScope::Tree {
            let mut index = 0;
            while index < victims.len() {
                victims.extend(self.children(victims[index]));
                index += 1;
            }
        }
        // Futures are dropped after every bookkeeping borrow is released: their destructors
        // may close connections, which schedules events.
        let futures: Vec<ProcessFuture> = victims
            .into_iter()
            .filter_map(|victim| self.finish(victim, ExitStatus::Killed))
            .collect();
        drop(futures);
    }

    fn set_stopped(&self, pid: Pid, stopped: bool) {
        let resume = {
            let mut slots = self.kernel.slots.borrow_mut();
            let Some(process) = live_process_mut(&mut slots, pid) else {
                return;
            };
            process.stopped = stopped;
            let resume = !stopped && process.woken_while_stopped;
            if resume {
                process.woken_while_stopped = false;
            }
            resume
        };
        if resume {
            self.wake(pid);
        }
    }

    pub fn is_alive(&self, pid: Pid) -> bool {
        live_process(&self.kernel.slots.borrow(), pid).is_some()
    }

    pub fn is_stopped(&self, pid: Pid) -> bool {
        live_process(&self.kernel.slots.borrow(), pid).is_some_and(|p| p.stopped)
    }

    pub fn children(&self, pid: Pid) -> Vec<Pid> {
        live_process(&self.kernel.slots.borrow(), pid)
            .map(|p| p.children.clone())
            .unwrap_or_default()
    }

    pub fn process_name(&self, pid: Pid) -> Option<Rc<str>> {
        live_process(&self.kernel.slots.borrow(), pid).map(|p| p.name.clone())
    }

    pub fn process_host(&self, pid: Pid) -> Option<HostId> {
        live_process(&self.kernel.slots.borrow(), pid).map(|p| p.host)
    }

    /// The exit cell of a live process, to wait on later with [`Sim::wait_exit`].
    pub fn exit_cell(&self, pid: Pid) -> Option<Rc<ExitCell>> {
        live_process_mut(&mut self.kernel.slots.borrow_mut(), pid)
            .map(|p| p.exit.get_or_insert_with(Rc::default).clone())
    }

    /// The pid of the process being polled. Panics outside a process: a simrq bug.
    pub fn current_pid(&self) -> Pid {
        self.kernel
            .current
            .get()
            .expect("called outside a simulated process")
    }

    /// The host of the process being polled.
    pub fn current_host(&self) -> HostId {
        self.process_host(self.current_pid())
            .expect("the current process is alive")
    }

    /// SIGTERM/SIGINT received so far by the current process.
    pub fn current_signals(&self) -> SignalCounts {
        let pid = self.current_pid();
        live_process(&self.kernel.slots.borrow(), pid)
            .map(|p| p.signals)
            .unwrap_or_default()
    }
}

// ----- awaitable primitives ------------------------------------------------------------------

impl Sim {
    /// Sleeps the current process for `span` of virtual time (`time.sleep`).
    pub fn sleep(&self, span: SimDuration) -> Sleep {
        Sleep {
            sim: self.clone(),
            span,
            deadline: None,
            armed: false,
            timer: None,
        }
    }

    /// Sleeps until `time`.
    pub fn sleep_until(&self, time: SimTime) -> Sleep {
        Sleep {
            sim: self.clone(),
            span: SimDuration::ZERO,
            deadline: Some(time),
            armed: false,
            timer: None,
        }
    }

    /// Waits until the process behind `exit` ends (`os.wait4`).
    pub fn wait_exit(&self, exit: Rc<ExitCell>) -> WaitExit {
        WaitExit {
            sim: self.clone(),
            exit,
        }
    }

    /// Runs `inner`, but gives up with [`Interrupted`] as soon as the current process receives
    /// SIGTERM or SIGINT (a signal handler raising out of a blocking call). `inner` is held
    /// in place, not boxed: pin a future that is not `Unpin` first (`pin!`, `&mut`).
    pub fn interruptible<F: Future + Unpin>(&self, inner: F) -> Interruptible<F> {
        Interruptible {
            sim: self.clone(),
            inner,
            signals_at_start: None,
        }
    }

    /// Runs `inner` for at most `limit`; `Err(Elapsed)` if it had not finished by then.
    /// `inner` is held in place, not boxed (every request has a timeout around it).
    pub fn timeout<F: Future + Unpin>(&self, limit: SimDuration, inner: F) -> Timeout<F> {
        Timeout {
            sleep: self.sleep(limit),
            inner,
        }
    }

    /// Lets every other ready process run before this one continues.
    pub fn yield_now(&self) -> Sleep {
        self.sleep(SimDuration::ZERO)
    }
}

/// The future behind [`Sim::sleep`]. Every sleep is a scheduling point, even a zero one.
pub struct Sleep {
    sim: Sim,
    span: SimDuration,
    deadline: Option<SimTime>,
    armed: bool,
    /// The wake-up event while it is pending; cancelled if the sleep is dropped early (a
    /// timeout whose operation finished first).
    timer: Option<EventId>,
}

impl Sleep {
    fn arm_if_needed(&mut self) {
        if !self.armed {
            self.armed = true;
            let deadline = *self.deadline.get_or_insert(self.sim.now() + self.span);
            let timer = self
                .sim
                .wake_at(deadline.max(self.sim.now()), self.sim.current_pid());
            self.timer = Some(timer);
        }
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if !self.armed {
            self.arm_if_needed();
            return Poll::Pending;
        }
        match self.deadline {
            Some(deadline) if self.sim.now() >= deadline => {
                self.timer = None;
                Poll::Ready(())
            }
            _ => Poll::Pending,
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            self.sim.cancel(timer);
        }
    }
}

/// The future behind [`Sim::wait_exit`].
pub struct WaitExit {
    sim: Sim,
    exit: Rc<ExitCell>,
}

impl Future for WaitExit {
    type Output = ExitStatus;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<ExitStatus> {
        match self.exit.status.get() {
            Some(status) => Poll::Ready(status),
            None => {
                self.exit.waiter.set(Some(self.sim.current_pid()));
                Poll::Pending
            }
        }
    }
}

/// A wait cut short by SIGTERM or SIGINT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted;

/// The future behind [`Sim::interruptible`].
pub struct Interruptible<F: Future + Unpin> {
    sim: Sim,
    inner: F,
    signals_at_start: Option<u32>,
}

impl<F: Future + Unpin> Future for Interruptible<F> {
    type Output = Result<F::Output, Interrupted>;
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let received = self.sim.current_signals().total();
        let at_start = *self.signals_at_start.get_or_insert(received);
        if received > at_start {
            return Poll::Ready(Err(Interrupted));
        }
        Pin::new(&mut self.inner).poll(context).map(Ok)
    }
}

/// The time limit of [`Sim::timeout`] passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

/// The future behind [`Sim::timeout`].
pub struct Timeout<F: Future + Unpin> {
    sleep: Sleep,
    inner: F,
}

impl<F: Future + Unpin> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(value) = Pin::new(&mut self.inner).poll(context) {
            return Poll::Ready(Ok(value));
        }
        self.sleep.arm_if_needed();
        match Pin::new(&mut self.sleep).poll(context) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}
