"""A worker class for scenarios that shorten RQ's scheduler fallback period.

RQ 2.12 reads `DEFAULT_SCHEDULER_FALLBACK_PERIOD` (120 s) as a module constant in
rq/scheduler.py (`RQScheduler.should_reacquire_locks`), and no CLI option reaches it. Importing
this module, which `rq worker -w conformance_worker.Worker` does before the worker starts,
rebinds that name from the environment variable SIMRQ_SCHEDULER_FALLBACK_PERIOD_S; the worker
class itself is RQ's unchanged `Worker`. The scheduler interval (1 s) and with it the lock TTL
(61 s) are left alone: RQ builds its scheduler with the constructor default.
"""

import os

import rq.scheduler
from rq.worker import Worker

_period = os.environ.get("SIMRQ_SCHEDULER_FALLBACK_PERIOD_S")
if _period:
    rq.scheduler.DEFAULT_SCHEDULER_FALLBACK_PERIOD = int(_period)

__all__ = ["Worker"]
