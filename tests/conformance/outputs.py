"""Writing a real run as simrq's own files: events.csv and jobs.csv (design.md, "Outputs").

Times are seconds since the run start (the moment before the first pod starts), six decimals.
"""

import csv

from observe import read_job_log, retry_interval

EVENT_COLUMNS = ["time_s", "seq", "kind", "pod", "process", "queue", "job", "attempt", "detail"]
JOB_COLUMNS = ["job", "queue", "enqueued_s", "executions", "retries_used", "outcome",
               "first_start_s", "end_s", "max_retry_lateness_s"]


def seconds(value):
    return "" if value is None else "%.6f" % value


def job_log_events(run, log):
    """job_started / job_finished / job_failed events from the job function's own records."""
    events = []
    for record in log:
        spec = run.job_specs.get(record["job"])
        pod = run.pod_of_worker_pid(record.get("ppid", -1)) if record["ev"] == "start" else None
        if record["ev"] == "start":
            kind, detail = "job_started", "pid %d" % record["pid"]
        elif record["ok"]:
            kind, detail = "job_finished", "pid %d" % record["pid"]
        else:
            kind = "job_failed"
            detail = "raised %s" % record.get("error", "InjectedFailure")
        events.append({
            "t": record["t"], "order": -1, "kind": kind,
            "pod": pod.name if pod else run.pod_name_of_horse(record["pid"], log),
            "process": "horse", "queue": spec["queue"] if spec else "", "job": record["job"],
            "attempt": record["attempt"], "detail": detail, "scheduler": "",
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
    """Map the job's final Redis state to jobs.csv's outcome."""
    status = final.get("status") if final else None
    if status is None:
        return "lost"
    if status in ("finished", "failed", "scheduled", "started"):
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


def _max_lateness(job_id, spec, starts, log, events, run):
    """Largest (retry start - (previous execution end + its interval)), or None.

    Only interval retries count, as in simrq's jobs.csv: lateness measures the scheduler
    (a due time and the start after it); an interval-0 retry is requeued at once and its wait
    is queueing, which `max_queue_wait_s` measures in simrq."""
    retry = spec["retry"]
    if retry is None or len(starts) < 2:
        return None
    worst = None
    for number in range(1, len(starts)):
        if number > retry["max"]:
            break
        previous_end = _execution_end(job_id, starts[number - 1]["attempt"], log, events, run)
        if previous_end is None:
            continue
        interval = retry_interval(retry, retry["max"] - number + 1)
        if interval == 0:
            continue
        lateness = starts[number]["t"] - (previous_end + interval)
        worst = lateness if worst is None else max(worst, lateness)
    return worst


def job_row(run, job_id, log, events, final):
    spec = run.job_specs[job_id]
    starts = [r for r in log if r["job"] == job_id and r["ev"] == "start"]
    ends = [r for r in log if r["job"] == job_id and r["ev"] == "end"]
    job_final = final["jobs"].get(job_id)
    outcome = _outcome(job_final, final["queues"][spec["queue"]])
    retry_max = spec["retry"]["max"] if spec["retry"] else 0
    if job_final and job_final.get("retries_left") is not None:
        retries_used = retry_max - job_final["retries_left"]
    else:
        retries_used = sum(1 for e in events if e["job"] == job_id
                           and e["kind"] in ("job_retry_scheduled", "job_retry_requeued")
                           and e["detail"] != "moved by the scheduler")
    end_t = None
    if outcome in ("finished", "failed"):
        end_t = ends[-1]["t"] if ends else run.terminal_seen.get(job_id)
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
