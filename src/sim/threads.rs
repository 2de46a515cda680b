//! Threads of a simulated process: futures polled together with the process's main body, so
//! that they share its pid, its signals, SIGSTOP and SIGKILL, as an OS thread shares its
//! process's. A process whose main body started a thread is woken for either; a poll is then
//! spurious for the other, which every leaf future tolerates (see `kernel.rs`).
//!
//! ```text
//!   process future = WithThreads { main, threads: [t1, t2…] }
//!   poll: main (Ready ⇒ the process exits, its threads with it), then each thread
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

type Thread = Pin<Box<dyn Future<Output = ()>>>;

/// The threads a process's main body has started and not yet stopped.
#[derive(Default)]
pub struct Threads {
    running: RefCell<Vec<Thread>>,
}

impl Threads {
    /// Starts `body` as a thread: first polled right after the main body's current poll.
    pub fn start(&self, body: impl Future<Output = ()> + 'static) {
        self.running.borrow_mut().push(Box::pin(body));
    }

    /// Drops every thread (a daemon thread left behind, or one told to stop and joined).
    pub fn stop_all(&self) {
        let stopped = std::mem::take(&mut *self.running.borrow_mut());
        drop(stopped);
    }

    pub fn count(&self) -> usize {
        self.running.borrow().len()
    }

    /// Polls each thread once; the finished ones are dropped. Threads started meanwhile wait
    /// for the next poll.
    fn poll_all(&self, context: &mut Context<'_>) {
        let mut polled = std::mem::take(&mut *self.running.borrow_mut());
        polled.retain_mut(|thread| thread.as_mut().poll(context).is_pending());
        let mut running = self.running.borrow_mut();
        polled.append(&mut running);
        *running = polled;
    }
}

/// A process body with threads; see the module doc.
pub struct WithThreads<F: Future<Output = i32>> {
    main: Pin<Box<F>>,
    threads: Rc<Threads>,
}

/// `main` as a process body whose threads live in `threads`.
pub fn with_threads<F: Future<Output = i32>>(main: F, threads: Rc<Threads>) -> WithThreads<F> {
    WithThreads {
        main: Box::pin(main),
        threads,
    }
}

impl<F: Future<Output = i32>> Future for WithThreads<F> {
    type Output = i32;
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<i32> {
        if let Poll::Ready(code) = self.main.as_mut().poll(context) {
            self.threads.stop_all();
            return Poll::Ready(code);
        }
        self.threads.poll_all(context);
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Signal, Sim, SimDuration, SimTime};
    use std::cell::Cell;

    /// A thread ticks every second; it stops with its process's SIGSTOP and dies with it.
    #[test]
    fn a_thread_is_stopped_and_killed_with_its_process() {
        let sim = Sim::new();
        let host = sim.add_host();
        let ticks = Rc::new(Cell::new(0));
        let threads = Rc::new(Threads::default());
        let (s, t, counted) = (sim.clone(), threads.clone(), ticks.clone());
        let main = async move {
            let s2 = s.clone();
            t.start(async move {
                loop {
                    s2.sleep(SimDuration::from_secs(1)).await;
                    counted.set(counted.get() + 1);
                }
            });
            s.sleep(SimDuration::from_secs(100)).await;
            0
        };
        let pid = sim.spawn(host, "p", None, with_threads(main, threads.clone()));
        sim.run_until(SimTime::ZERO + SimDuration::from_millis(3_500));
        assert_eq!(ticks.get(), 3);
        sim.signal(pid, Signal::Stop);
        sim.run_until(SimTime::ZERO + SimDuration::from_millis(10_500));
        assert_eq!(ticks.get(), 3, "stopped with its process");
        sim.signal(pid, Signal::Cont);
        sim.run_until(SimTime::ZERO + SimDuration::from_millis(12_500));
        assert_eq!(
            ticks.get(),
            6,
            "the overdue tick at 10.5 s, then 11.5 s and 12.5 s"
        );
        sim.signal(pid, Signal::Kill);
        sim.run_until(SimTime::from_secs(20));
        assert_eq!(ticks.get(), 6);
    }
}
