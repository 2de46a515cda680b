"""Writing a real run as simrq's own files: events.csv and jobs.csv (design.md, "Outputs").

Times are seconds since the run start (the moment before the first pod starts), six decimals.
"""

import csv

from observe import detail, parse_detail, read_job_log

EVENT_COLUMNS = ["time_s", "seq", "kind", "pod", "process", "queue", "job", "attempt", "detail"]
JOB_COLUMNS = ["job", "queue", "enqueued_s", "executions", "retries_used", "outcome",
               "first_start_s", "end_s", "max_retry_lateness_s"]


def seconds(value):
    return "" if value is None else "%.6f" % value


def repeat_interval(intervals, repeats_left):
    """The interval of the next repeat (rq/repeat.py Repeat.schedule: get_interval of
    repeats_left - 1, counted from the end of the list, the last one reused)."""
    count = repeats_left - 1
    return intervals[count] if count < len(intervals) else intervals[-1]


def success_kind(spec, successes_before):
    """simrq's kind for a successful run: a run with repeats left ends with its repeat
    decision (docs/repeat-and-webhooks.md), only the last one with job_finished."""
    repeat = spec.get("repeat") if spec else None
    if repeat is None or successes_before >= repeat["times"]:
        return "job_finished", []
    left = repeat["times"] - successes_before
    interval = repeat_interval(repeat["intervals"], left)
    if interval == 0:
        return "job_repeat_requeued", [("repeats_left", left - 1)]
    return "job_repeat_scheduled", [("interval_s", interval), ("repeats_left", left - 1)]


def job_log_events(run, log):
    """job_started / job_finished / job_failed (and, for a job with `Repeat`,
    job_repeat_requeued / job_repeat_scheduled) events from the job function's records."""
    events = []
    successes = {}
    for record in log:
        spec = run.job_specs.get(record["job"])
        pod = run.pod_of_worker_pid(record.get("ppid", -1)) if record["ev"] == "start" else None
        if record["ev"] == "start":
            kind, text = "job_started", detail(("pid", record["pid"]))
        elif record["ok"]:
            before = successes.get(record["job"], 0)
            successes[record["job"]] = before + 1
            kind, pairs = success_kind(spec, before)
            text = detail(*pairs, ("pid", record["pid"]))
        else:
            kind = "job_failed"
            text = detail(("reason", "raised " + record.get("error", "InjectedFailure")))
        events.append({
            "t": record["t"], "order": -1, "kind": kind,
            "pod": pod.name if pod else run.pod_name_of_horse(record["pid"], log),
            "process": "horse", "queue": spec["queue"] if spec else "", "job": record["job"],
            "attempt": record["attempt"], "detail": text, "scheduler": "",
        })
    return events


def fill_scheduler_pods(events, schedulers):
    for event in events:
        if not event["pod"] and event["scheduler"] in schedulers:
            event["pod"] = schedulers[event["scheduler"]]["pod"]


def job_aliases(run):
    """Job id -> the id written: simrq's `j<N>` for runs with `rq cron` (cron.py), else itself."""
    cron = getattr(run, "cron", None)
    return cron.job_aliases() if cron is not None else {}


def write_events(run, path):
    log = read_job_log(run.job_log_path)
    aliases = job_aliases(run)
    events = run.events.snapshot() + job_log_events(run, log)
    fill_scheduler_pods(events, run.poller.schedulers)
    events.sort(key=lambda event: (event["t"], event["order"]))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EVENT_COLUMNS)
        for seq, event in enumerate(events):
            writer.writerow([seconds(event["t"] - run.t0), seq, event["kind"], event["pod"],
                             event["process"], event["queue"],
                             aliases.get(event["job"], event["job"]), event["attempt"],
                             event["detail"]])
    return events


def _outcome(final, queue_final):
    """Map the job's final Redis state to jobs.csv's outcome. A `stopped` job is in the failed
    registry, and simrq's jobs.csv counts it `failed`; a `deferred` job (never released by its
    parents) is `deferred` in both."""
    status = final.get("status") if final else None
    if status is None:
        return "lost"
    if status == "stopped":
        return "failed"
    if status in ("finished", "failed", "scheduled", "started", "deferred"):
        return status
    if status == "queued":
        return "queued" if final["job"] in queue_final["present"] else "lost"
    return status


def _execution_end(job_id, attempt, log, events, run):
    """When execution `attempt` ended: its end record, else when RQ was seen reacting to it."""
    for record in log:
        if record["job"] == job_id and record["ev"] == "end" and record["attempt"] == attempt:
            return record["t"]
    for event in events:
        if (event["job"] == job_id and event["kind"] in ("job_failed", "job_abandoned")
                and event["attempt"] == attempt):
            return run.kill_time_before(event["pod"], event["t"]) or event["t"]
    return None


def retry_decisions(job_id, events):
    """(poll time, interval s) of each retry RQ decided for the job, in order: the poller writes
    one `job_retry_scheduled` (interval > 0) or `job_retry_requeued` `interval_s=0` event per
    decrement of `retries_left` it sees. A decrement that a stale write of the job hash undid
    (a horse saving the copy it fetched before a cleaner's retry, §9 R17) still counts: the
    retry was scheduled and runs."""
    decisions = []
    for event in sorted(events, key=lambda e: (e["t"], e["order"])):
        if event["job"] != job_id:
            continue
        if event["kind"] == "job_retry_scheduled":
            decisions.append((event["t"], int(parse_detail(event["detail"])["interval_s"])))
        elif (event["kind"] == "job_retry_requeued"
              and parse_detail(event["detail"]).get("interval_s") == "0"):
            decisions.append((event["t"], 0))
    return decisions


def _failed_end_between(job_id, starts, log, events, run, after_t, until_t):
    """The end of an execution that failed or was killed in (after_t, until_t], or None."""
    succeeded = {r["attempt"] for r in log
                 if r["job"] == job_id and r["ev"] == "end" and r["ok"]}
    found = None
    for start in starts:
        if start["attempt"] in succeeded:
            continue
        end = _execution_end(job_id, start["attempt"], log, events, run)
        if end is not None and after_t < end <= until_t:
            found = end
    return found


def _max_lateness(job_id, spec, starts, log, events, run):
    """Largest (retry start - (retry decision + its interval)), or None.

    Retries are matched to the job's later starts first in, first out, as simrq's jobs.csv
    does. A retry decided right after an execution failed (or was killed) dates from that
    execution's end (exact, from the job log); one decided without a failure (a cleaner's retry
    of a job stuck in the intermediate list, §9 R17) from the poll that saw it (≤ ~0.1 s late).
    Only interval retries count, as in simrq: lateness measures the scheduler (a due time and
    the start after it); an interval-0 retry is requeued at once and its wait is queueing,
    which `max_queue_wait_s` measures in simrq."""
    if spec["retry"] is None or len(starts) < 2:
        return None
    worst = None
    previous_t = float("-inf")
    for start, (decided_t, interval) in zip(starts[1:], retry_decisions(job_id, events)):
        failed_end = _failed_end_between(job_id, starts, log, events, run, previous_t,
                                         decided_t)
        previous_t = decided_t
        if interval == 0:
            continue
        reference_t = decided_t if failed_end is None else failed_end
        lateness = start["t"] - (reference_t + interval)
        worst = lateness if worst is None else max(worst, lateness)
    return worst


def job_row(run, job_id, log, events, final):
    spec = run.job_specs[job_id]
    starts = [r for r in log if r["job"] == job_id and r["ev"] == "start"]
    ends = [r for r in log if r["job"] == job_id and r["ev"] == "end"]
    job_final = final["jobs"].get(job_id)
    outcome = _outcome(job_final, final["queues"][spec["queue"]])
    # Retries decided, as simrq counts them (not `max - retries_left` at the end, which a
    # stale write of the job hash can raise again).
    retries_used = len(retry_decisions(job_id, events))
    end_t = None
    if outcome in ("finished", "failed"):
        end_t = run.terminal_seen.get(job_id) if job_final["status"] == "stopped" else None
        end_t = end_t or (ends[-1]["t"] if ends else run.terminal_seen.get(job_id))
    return [job_id, spec["queue"], seconds(spec["enqueued_t"] - run.t0 if spec["enqueued_t"]
                                           else None),
            len(starts), retries_used, outcome,
            seconds(starts[0]["t"] - run.t0 if starts else None),
            seconds(end_t - run.t0 if end_t else None),
            seconds(_max_lateness(job_id, spec, starts, log, events, run))]


def write_jobs(run, path, events, final):
    log = read_job_log(run.job_log_path)
    aliases = job_aliases(run)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(JOB_COLUMNS)
        order = sorted(run.job_specs)
        if aliases:
            order = sorted(run.job_specs, key=lambda job_id: int(aliases[job_id][1:]))
        for job_id in order:
            row = job_row(run, job_id, log, events, final)
            row[0] = aliases.get(job_id, job_id)
            writer.writerow(row)
