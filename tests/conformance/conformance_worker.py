"""The worker class for scenarios that change what no `rq worker` option reaches.

The harness runs `rq worker -w conformance_worker.Worker` only for a scenario that sets one of
these `[rq]` keys; every other scenario runs RQ's own `Worker`.

- `scheduler_fallback_period`: RQ 2.12 reads `DEFAULT_SCHEDULER_FALLBACK_PERIOD` (120 s) as a
  module constant in rq/scheduler.py (`RQScheduler.should_reacquire_locks`). Importing this
  module, which `rq worker -w conformance_worker.Worker` does before the worker starts, rebinds
  that name from the environment variable SIMRQ_SCHEDULER_FALLBACK_PERIOD_S. The scheduler
  interval (1 s) and with it the lock TTL (61 s) are left alone: RQ builds its scheduler with
  the constructor default.
- `prepare_execution_stall`: the worker's main process sleeps SIMRQ_PREPARE_EXECUTION_STALL_S
  seconds in `prepare_execution`, before RQ's own `prepare_execution` runs. That is after the
  dequeue (BLMOVE put the id in `rq:queue:<q>:intermediate`) and the heartbeat that follows it,
  and before the transaction that adds the execution to the started registry
  (`rq:wip:<q>`), so for the whole sleep another worker's maintenance finds the id in the
  intermediate list and not started (rq-semantics §5.4, race R17). The worker's state is still
  `idle` meanwhile, as it is in that window in RQ, so a SIGTERM during the sleep stops the
  worker at once (`StopRequested`) and leaves the id in the intermediate list.
  Unset or 0: no sleep, and the class behaves as RQ's `Worker`.
"""

import os
import time

import rq.scheduler
from rq.worker import Worker as RQWorker

_period = os.environ.get("SIMRQ_SCHEDULER_FALLBACK_PERIOD_S")
if _period:
    rq.scheduler.DEFAULT_SCHEDULER_FALLBACK_PERIOD = int(_period)

STALL_ENV = "SIMRQ_PREPARE_EXECUTION_STALL_S"


def prepare_execution_stall_s(environ=None):
    """The stall in seconds the environment asks for; 0.0 when unset or empty."""
    value = (os.environ if environ is None else environ).get(STALL_ENV, "")
    return float(value) if value.strip() else 0.0


class Worker(RQWorker):
    """RQ's `Worker`, with an optional stall of the main process before `prepare_execution`."""

    def prepare_execution(self, job):
        stall_s = prepare_execution_stall_s()
        if stall_s > 0:
            self.log.info("Worker %s: stalling %.3f s before prepare_execution of %s",
                          self.name, stall_s, job.id)
            # A signal handler that returns resumes the sleep for the time left (PEP 475); one
            # that raises (StopRequested, SystemExit) ends it, as it would end any RQ step.
            time.sleep(stall_s)
        return super().prepare_execution(job)


__all__ = ["Worker"]
