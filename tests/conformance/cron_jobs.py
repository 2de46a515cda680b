"""The job function that `rq cron` enqueues in conformance scenarios (cron.py writes the config).

`cron_work(duration_s)` records the start of an execution in the same job log as jobs.work
(SIMRQ_CONFORMANCE_LOG, one JSON object a line), sleeps `duration_s`, records the end and
returns. A cron job's arguments are fixed when it is registered, so every job of one cron job
gets the same call; RQ gives each a random id, which the record names (`get_current_job().id`).
The harness maps those ids to simrq's `j1`, `j2` … by enqueue order when it writes its files.
Cron jobs never fail here: simrq draws a cron job's failures from its own RNG streams.
"""

import os
import time

from jobs import LOG_ENV, _append_locked, _count_starts


def cron_work(duration_s):
    """Run one execution of a cron job's job."""
    from rq import get_current_job

    path = os.environ[LOG_ENV]
    job = get_current_job()
    job_id = job.id if job is not None else "unknown"

    def start_record(text):
        return {"ev": "start", "job": job_id, "attempt": _count_starts(text, job_id) + 1,
                "pid": os.getpid(), "ppid": os.getppid(), "t": time.time(),
                "retries_left": None}

    attempt = _append_locked(path, start_record)["attempt"]
    end = {"ev": "end", "job": job_id, "attempt": attempt, "pid": os.getpid()}
    try:
        time.sleep(duration_s)
    except BaseException as interruption:
        # RQ's job timeout raises inside the sleep; record it, then let RQ handle it.
        _append_locked(path, lambda _text: dict(end, t=time.time(), ok=False,
                                                error=type(interruption).__name__))
        raise
    _append_locked(path, lambda _text: dict(end, t=time.time(), ok=True))
    return attempt
