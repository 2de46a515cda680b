"""The job function that real RQ workers run in conformance scenarios.

`work(index, duration_s, fail_probability, fail_attempts, seed)` records the start of an
execution, sleeps `duration_s`, records the end, and then returns or raises. Whether an
execution raises is decided only by its arguments and its attempt number, so the simulated run
(which uses the same rule, see `should_fail`) draws the same outcomes as the real one.

Records go to a file, not to Redis, so that they survive Redis pauses and restarts. The path
comes from the environment variable SIMRQ_CONFORMANCE_LOG, which the harness sets for every
worker (the work-horse inherits it). One JSON object a line:

    {"ev": "start", "job": "j3", "attempt": 2, "pid": 4242, "ppid": 4200,
     "t": 1700000000.123456, "retries_left": 1}
    {"ev": "end", "job": "j3", "attempt": 2, "pid": 4242, "t": ..., "ok": false}

`attempt` is the execution number of this job (1 for the first execution, counting every start,
including duplicates and executions that were killed), so it does not depend on RQ's own
`retries_left` bookkeeping. `pid` is the work-horse, `ppid` the worker main process that forked
it (the harness maps it to a pod). The file is locked with flock while a start is counted and written.
"""

import fcntl
import json
import os
import time

LOG_ENV = "SIMRQ_CONFORMANCE_LOG"
MASK64 = (1 << 64) - 1


class InjectedFailure(Exception):
    """The failure a scenario asked for; RQ treats it like any exception from a job."""


def splitmix64(value):
    """One step of SplitMix64 (Steele, Lea, Flood 2014): a well-known 64-bit mixer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def failure_draw(seed, index, attempt):
    """A uniform number in [0, 1) fixed by (seed, job index, attempt).

    u = (splitmix64(splitmix64(splitmix64(seed) ^ index) ^ attempt) >> 11) / 2**53
    """
    mixed = splitmix64(splitmix64(splitmix64(seed & MASK64) ^ index) ^ attempt)
    return (mixed >> 11) / float(1 << 53)


def should_fail(seed, index, attempt, fail_probability, fail_attempts):
    """True when execution number `attempt` of job `index` must raise."""
    if attempt in fail_attempts:
        return True
    return fail_probability > 0 and failure_draw(seed, index, attempt) < fail_probability


def job_id_for(index):
    """The id the producer gives job number `index` (0-based, in enqueue order): `j1`, `j2` …
    as simrq numbers its jobs, so the two runs' jobs.csv rows match by id."""
    return "j%d" % (index + 1)


def _append_locked(path, record_fn):
    """Open the log, lock it, let record_fn build the line from the current text, append it."""
    with open(path, "a+", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        try:
            log.seek(0)
            record = record_fn(log.read())
            log.seek(0, os.SEEK_END)
            log.write(json.dumps(record, sort_keys=True) + "\n")
            log.flush()
            os.fsync(log.fileno())
        finally:
            fcntl.flock(log, fcntl.LOCK_UN)
    return record


def _count_starts(text, job_id):
    needle = '"ev": "start"'
    count = 0
    for line in text.splitlines():
        if needle in line and ('"job": "%s"' % job_id) in line:
            count += 1
    return count


def _current_retries_left():
    try:
        from rq import get_current_job

        job = get_current_job()
        return None if job is None else job.retries_left
    except Exception:  # noqa: BLE001 - the record is informative only
        return None


def work(index, duration_s, fail_probability=0.0, fail_attempts=(), seed=0):
    """Run one execution of conformance job number `index`."""
    path = os.environ[LOG_ENV]
    job_id = job_id_for(index)
    retries_left = _current_retries_left()

    def start_record(text):
        return {
            "ev": "start",
            "job": job_id,
            "attempt": _count_starts(text, job_id) + 1,
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "t": time.time(),
            "retries_left": retries_left,
        }

    attempt = _append_locked(path, start_record)["attempt"]
    try:
        time.sleep(duration_s)
    except BaseException as interruption:
        # RQ's job timeout raises inside the sleep; record it, then let RQ handle it.
        end = {"ev": "end", "job": job_id, "attempt": attempt, "pid": os.getpid(), "ok": False,
               "error": type(interruption).__name__}
        _append_locked(path, lambda _text: dict(end, t=time.time()))
        raise
    failed = should_fail(seed, index, attempt, fail_probability, list(fail_attempts))
    end = {"ev": "end", "job": job_id, "attempt": attempt, "pid": os.getpid(), "ok": not failed}
    _append_locked(path, lambda _text: dict(end, t=time.time()))
    if failed:
        raise InjectedFailure("%s attempt %d fails by the scenario's rule" % (job_id, attempt))
    return attempt
