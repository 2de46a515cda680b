"""`rq cron` in a real conformance run: the config file, the processes, and what they did.

For each pod whose group has `cron = true`, the harness runs a real `rq cron CONFIG` (the venv's
rq 2.12.0) next to the pod's `rq worker` (or alone, with `worker = false`), as simrq's kubelet
runs a second container. CONFIG is `cron_config.py` in the run directory, written from the
scenario's `[[cron]]` sections:

    from rq import cron
    from cron_jobs import cron_work
    cron.register(cron_work, 'default', args=(0.1,), interval=5, name='tick')

Processes. A pod's `rq cron` starts with the pod (after `start_delay`). `pod_kill` with
`target = "cron"` SIGKILLs only that process, and it is started again after
`crash_loop_backoff.initial` + `start_delay` (simrq's kubelet restarts the cron container on its
own); `pause` with `target = "cron"` SIGSTOPs it for `for`. A pod-level `pod_kill` kills it
with the rest of the pod, and `pod_delete` SIGTERMs it with the pod's worker (faults.py); a pod
that runs only `rq cron` (`worker = false`) takes pod faults aimed at it by name here.

What is observed (`CronSide.poll`, called by the ~100 ms poller):
- `rq:cron_schedulers` and each `rq:cron_scheduler:<name>` hash: a new name is
  `cron_scheduler_started` (at its registry score if that is earlier than the poll: the birth's
  or the first heartbeat's time), mapped to a pod by the hash's `pid`;
- `rq:cron_job:<name>:jobs` (RQ's job history, ids scored by `enqueued_at`): each new id is a
  `job_enqueued` (detail `source=cron`) and a `cron_job_enqueued`
  (`cron_job=<name> due_unix_ms=<ms or ->`), both at the score;
- which process enqueued an id, and for which due instant: RQ stores neither with the job, but
  each process saves `latest_enqueue_time` (the start of the pass) and `next_enqueue_time` in
  its hash after every pass that enqueued (`CronScheduler.save`). A new `latest_enqueue_time`
  is a pass; the `next_enqueue_time` seen before it is the pass's due instant (`-` for an
  interval job's first run, as simrq writes it). An id is matched with the latest pass of the
  same cron job that began at most 1 s before its score;
- a process that exits by itself is `cron_scheduler_stopped` (`reason=stopped` for exit 0, as
  after SIGTERM); one killed by a signal gets only the fault's `process_killed`.

Job ids. RQ gives cron jobs random ids; simrq numbers every job `j1`, `j2` … in enqueue
order. In a run with cron jobs the harness renames every job, producer jobs included, to
`j<N>` by enqueue time when it writes events.csv and jobs.csv (`job-aliases.csv` keeps the map),
so the two jobs.csv files match row by row as long as both runs enqueued the same number of jobs
(every cron job's job has the same arguments and outcome, so which id gets which number among
near-simultaneous enqueues does not matter).

The run's end. A cron job never ends, so a run with `[[cron]]` lasts exactly `duration` +
`drain`, the simulated run's horizon; enqueues scored after it are not recorded. A scenario with
a cron expression starts at a whole minute of the wall clock, as simrq's virtual clock does, so
that the instants fall at the same run times on both sides.
"""

import csv
import datetime
import json
import os
import signal
import subprocess
import sys
import time

from observe import detail

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_NAME = "cron_config.py"
REGISTRY_KEY = "rq:cron_schedulers"
SCHEDULER_KEY = "rq:cron_scheduler:%s"
HISTORY_KEY = "rq:cron_job:%s:jobs"
# An enqueue belongs to a pass that began at most this long before its `enqueued_at`.
PASS_MATCH_US = 1_000_000
# An enqueue whose pass no hash shows after this long is recorded without a pod or due time.
GIVE_UP_S = 3.0
TARGET_WAIT_S = 10.0
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


# --- pure parts (test_units.py) ------------------------------------------------------------------

def config_source(cron_jobs):
    """The text of the `rq cron` config file for the scenario's `[[cron]]` jobs."""
    lines = ["# Written by tests/conformance/cron.py from the scenario's [[cron]] sections.",
             "from rq import cron", "from cron_jobs import cron_work", ""]
    for job in cron_jobs:
        if job["interval_s"] is not None:
            schedule = "interval=%d" % job["interval_s"]
        else:
            schedule = "cron=%r" % job["cron"]
        timeout = "" if job.get("job_timeout_s") is None else ", job_timeout=%d" % job["job_timeout_s"]
        lines.append("cron.register(cron_work, %r, args=(%r,), %s%s, name=%r)"
                     % (job["queue"], job["duration_s"], schedule, timeout, job["name"]))
    return "\n".join(lines) + "\n"


def rq_time_us(text):
    """RQ's `utcformat` text ('2026-12-06T15:38:44.907453Z') as Unix microseconds, or None."""
    if not text:
        return None
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (moment.replace(tzinfo=datetime.timezone.utc) - EPOCH) // datetime.timedelta(
        microseconds=1)


def due_text(due_us):
    """`due_unix_ms` as simrq writes it: whole milliseconds (floored), or `-`."""
    return "-" if due_us is None else str(due_us // 1000)


def previous_instant_us(expression, latest_us):
    """The cron instant at or before `latest_us`: a pass's due instant when the poller missed
    the state before it (croniter, RQ's own dependency, minute resolution)."""
    from croniter import croniter

    # get_prev is strictly before its start: start one second after the pass's own second.
    after = latest_us // 1_000_000 + 1
    start = datetime.datetime.fromtimestamp(after, tz=datetime.timezone.utc)
    return int(croniter(expression, start).get_prev(float)) * 1_000_000


class PassLog:
    """One `rq cron` process's passes over one cron job, from the states its hash showed.

    `observe(latest, next)` takes `latest_enqueue_time` and `next_enqueue_time` (Unix µs or
    None); a new `latest` is a pass, due at the `next` seen before it."""

    def __init__(self, job):
        self.job = job
        self.latest = None
        self.next = None
        self.seen = False
        self.passes = []  # [latest_us, due_us or None, used]

    def observe(self, latest_us, next_us):
        if latest_us is not None and latest_us != self.latest:
            if self.seen:
                due = self.next
            elif self.job["cron"] is not None:
                due = previous_instant_us(self.job["cron"], latest_us)
            else:
                due = None  # the first state seen already follows a pass: the first run
            self.passes.append([latest_us, due, False])
        self.latest, self.next, self.seen = latest_us, next_us, True

    def candidate(self, score_us):
        """The latest unused pass that began at most PASS_MATCH_US before score_us."""
        found = None
        for entry in self.passes:
            latest, _, used = entry
            if not used and latest <= score_us and score_us - latest <= PASS_MATCH_US:
                if found is None or latest > found[0]:
                    found = entry
        return found


def job_aliases(job_specs):
    """Every job id -> `j<N>`, N counting enqueues in time order (never-enqueued ids last)."""
    enqueued = sorted((spec["enqueued_t"], job_id) for job_id, spec in job_specs.items()
                      if spec.get("enqueued_t") is not None)
    aliases = {job_id: "j%d" % (number + 1) for number, (_, job_id) in enumerate(enqueued)}
    for job_id in sorted(set(job_specs) - set(aliases)):
        aliases[job_id] = "j%d" % (len(aliases) + 1)
    return aliases


def seconds_to_next_minute(now):
    return 60.0 - (now % 60.0)


# --- the processes and the observer --------------------------------------------------------------

class CronProcess:
    """One `rq cron` process, standing for PID 1 of a pod's cron container."""

    def __init__(self, pod, spec, process):
        self.pod = pod
        self.spec = spec
        self.process = process
        self.scheduler = ""
        self.exit_reported = False

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None


class CronSide:
    """The `rq cron` processes of one run and what the poller saw them do."""

    def __init__(self, run):
        self.run = run
        self.jobs = run.scenario["cron"]
        self.config_path = os.path.join(run.out_dir, CONFIG_NAME)
        self.processes = []
        self.schedulers = {}
        self.known_ids = set()
        self.pending = {}
        self.started_reported = set()
        self.aliases = None

    # the set-up and the processes

    def write_config(self):
        with open(self.config_path, "w", encoding="utf-8") as handle:
            handle.write(config_source(self.jobs))

    def wait_for_minute(self):
        """A cron expression's instants are whole minutes of the wall clock, and simrq's
        virtual instant zero is one (plus `wall_clock_phase` < 1 s): start there too."""
        if not any(job["cron"] is not None for job in self.jobs):
            return
        wait_s = seconds_to_next_minute(time.time())
        print("harness: waiting %.1f s for the next whole minute (cron expressions)" % wait_s,
              file=sys.stderr, flush=True)
        time.sleep(wait_s)

    def start(self, pod_name, spec):
        run = self.run
        log = open(os.path.join(run.logs_dir, "%s.cron.log" % pod_name), "ab")
        process = subprocess.Popen([run.rq_bin, "cron", "-u", run.redis.url, "-P", HERE,
                                    self.config_path],
                                   stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=run.worker_env(),
                                   start_new_session=True)
        log.close()
        run.table.remember(process.pid)
        self.processes.append(CronProcess(pod_name, spec, process))

    def live(self, pod_name=None):
        return [proc for proc in self.processes
                if proc.alive() and (pod_name is None or proc.pod == pod_name)]

    def pids_of(self, pod_name):
        """(pid, "cron") for faults.process_pids."""
        return [(proc.pid, "cron") for proc in self.live(pod_name)]

    def teardown(self):
        for proc in self.processes:
            if proc.alive():
                self.run.table.signal(proc.pid, signal.SIGKILL)
        for proc in self.processes:
            try:
                proc.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    # faults on `rq cron`: target = "cron", or a pod that runs only `rq cron` (worker = false)

    def handles(self, fault):
        """True for the faults cron.py applies: `target = "cron"` (pod_kill, pause), and
        pod_kill, pod_delete and pause aimed by name at a pod that runs only `rq cron`
        (faults.py knows pods by their worker). Role targets and `any` pick worker pods."""
        if fault["target"] == "cron":
            return True
        return any(not proc.spec["worker"] and self.base(proc.pod) == fault["target"]
                   for proc in self.processes)

    @staticmethod
    def base(pod_name):
        return pod_name.split(".")[0]

    def resolve(self, fault):
        """The first live `rq cron` (by pod name) the fault aims at; waits up to 10 s."""
        deadline = time.time() + TARGET_WAIT_S
        while True:
            found = sorted((proc for proc in self.live()
                            if (fault["pods"] is None or proc.spec["name"] == fault["pods"])
                            and fault["target"] in ("cron", self.base(proc.pod))),
                           key=lambda proc: proc.pod)
            if found or time.time() > deadline:
                return found[0] if found else None
            time.sleep(0.05)

    def apply_fault(self, fault):
        run = self.run
        describe = detail(("fault", fault["kind"]), ("target", fault["target"]))
        proc = self.resolve(fault)
        kinds = ("pod_kill", "pause") if fault["target"] == "cron" else (
            "pod_kill", "pause", "pod_delete")
        if proc is None or fault["kind"] not in kinds:
            why = "no_cron_process" if proc is None else "not_a_cron_fault"
            run.events.add(time.time(), "fault", process="harness",
                           detail=describe + " " + detail(("skipped", why)))
            return
        run.events.add(time.time(), "fault", pod=proc.pod, process="cron", detail=describe)
        if fault["kind"] == "pod_delete":
            self.delete_cron_only_pod(proc)
        elif fault["kind"] == "pause":
            self.signal(proc, signal.SIGSTOP, "process_paused")
            run.at(run.now_s() + fault["for_s"],
                   lambda: self.signal(proc, signal.SIGCONT, "process_resumed"))
        else:
            self.signal(proc, signal.SIGKILL, "process_killed")
            if proc.spec["restart_policy"] != "Never":
                # The kubelet restarts the cron container after CrashLoopBackOff's first
                # delay and the container's start delay, as simrq's does.
                delay_s = proc.spec["restart_backoff_s"] + proc.spec["start_delay_s"]
                run.at(run.now_s() + delay_s, lambda: self.start(proc.pod, proc.spec))

    def signal(self, proc, signum, kind):
        if self.run.table.signal(proc.pid, signum):
            self.run.events.add(time.time(), kind, pod=proc.pod, process="cron",
                                detail=detail(("signal", signal.Signals(signum).name),
                                              ("pid", proc.pid)))
            if signum == signal.SIGKILL:
                self.run.kill_log.append((time.time(), proc.pod))

    def delete_cron_only_pod(self, proc):
        run = self.run
        run.table.signal(proc.pid, signal.SIGTERM)

        def grace_over():
            if proc.alive():
                self.signal(proc, signal.SIGKILL, "process_killed")
        run.at(run.now_s() + proc.spec["grace_s"], grace_over)
        run.at(run.now_s() + proc.spec["start_delay_s"], lambda: run.add_pod(proc.spec))

    # observation (the poller's thread)

    def horizon_us(self):
        run = self.run
        limit_s = run.scenario["run"]["duration_s"] + run.scenario["run"]["drain_s"]
        return round((run.t0 + limit_s) * 1e6)

    def poll(self, now, client):
        self.track_exits(now)
        pipe = client.pipeline(transaction=False)
        pipe.zrange(REGISTRY_KEY, 0, -1, withscores=True)
        for job in self.jobs:
            pipe.zrange(HISTORY_KEY % job["name"], 0, -1, withscores=True)
        replies = pipe.execute()
        registry = {member.decode(): score for member, score in replies[0]}
        names = sorted(set(registry) | set(self.schedulers))
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(SCHEDULER_KEY % name)
        for name, raw in zip(names, pipe.execute()):
            if raw:
                data = {key.decode(): value.decode() for key, value in raw.items()}
                self.observe_scheduler(now, name, registry.get(name), data)
        for job, history in zip(self.jobs, replies[1:]):
            for member, score in history:
                job_id = member.decode()
                if job_id not in self.known_ids and job_id not in self.pending:
                    self.pending[job_id] = (job, round(score * 1e6), now)
        self.match_pending(now)

    def observe_scheduler(self, now, name, score, data):
        state = self.schedulers.get(name)
        if state is None:
            pid = int(data.get("pid") or 0)
            proc = next((p for p in self.processes if p.pid == pid), None)
            if proc is not None:
                proc.scheduler = name
            state = {"pod": proc.pod if proc else "",
                     "logs": {job["name"]: PassLog(job) for job in self.jobs}}
            self.schedulers[name] = state
        try:
            entries = json.loads(data.get("cron_jobs") or "[]")
        except ValueError:
            entries = []
        if name not in self.started_reported:
            # The registry score is the birth's, or a heartbeat's soon after; a pass that
            # already ran began just after the birth.
            self.started_reported.add(name)
            times = [now] + ([score] if score is not None else [])
            times += [rq_time_us(entry.get("latest_enqueue_time")) / 1e6 for entry in entries
                      if entry.get("latest_enqueue_time")]
            self.run.events.add(min(times), "cron_scheduler_started", pod=state["pod"],
                                process="cron", detail=detail(("scheduler", name)))
        for entry in entries:
            log = state["logs"].get(entry.get("name"))
            if log is not None:
                log.observe(rq_time_us(entry.get("latest_enqueue_time")),
                            rq_time_us(entry.get("next_enqueue_time")))

    def match_pending(self, now):
        horizon = self.horizon_us()
        for job_id, (job, score_us, seen) in sorted(self.pending.items(),
                                                    key=lambda item: item[1][1]):
            if score_us > horizon:
                continue  # after the simulated run's end: never recorded
            best, owner = None, None
            for state in self.schedulers.values():
                entry = state["logs"][job["name"]].candidate(score_us)
                if entry is not None and (best is None or entry[0] > best[0]):
                    best, owner = entry, state
            if best is None and now - seen < GIVE_UP_S:
                continue
            del self.pending[job_id]
            due = None
            if best is not None:
                best[2] = True
                due = best[1]
            self.record(job_id, job, score_us, owner["pod"] if owner else "", due)

    def record(self, job_id, job, score_us, pod, due_us):
        wall_t = score_us / 1e6
        self.known_ids.add(job_id)
        self.run.job_specs[job_id] = {"queue": job["queue"], "retry": None,
                                      "enqueued_t": wall_t, "cron_job": job["name"]}
        events = self.run.events
        events.add(wall_t, "job_enqueued", pod=pod, process="cron", queue=job["queue"],
                   job=job_id, detail=detail(("source", "cron"), ("at_front", "false")))
        events.add(wall_t, "cron_job_enqueued", pod=pod, process="cron", queue=job["queue"],
                   job=job_id, detail=detail(("cron_job", job["name"]),
                                             ("due_unix_ms", due_text(due_us))))

    def track_exits(self, now):
        for proc in self.processes:
            if proc.exit_reported or proc.alive():
                continue
            proc.exit_reported = True
            code = proc.process.returncode
            if code < 0:
                continue  # a signal: the fault's process_killed says it
            reason = "stopped" if code == 0 else "exit code %d" % code
            self.run.events.add(now, "cron_scheduler_stopped", pod=proc.pod, process="cron",
                                detail=detail(("scheduler", proc.scheduler or "-"),
                                              ("reason", reason)))

    def final_poll(self, client):
        """After the poller stopped and the processes were killed: ids enqueued since the
        last poll, up to the horizon."""
        now = time.time()
        try:
            self.poll(now, client)
        except Exception as error:  # noqa: BLE001 - Redis may be gone after a fault
            print("harness: final cron poll failed: %s" % error, file=sys.stderr)
        self.match_pending(now + GIVE_UP_S)

    # outputs

    def job_aliases(self):
        if self.aliases is None:
            self.aliases = job_aliases(self.run.job_specs)
        return self.aliases

    def write_aliases(self, path):
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["job", "rq_job_id", "cron_job"])
            aliases = self.job_aliases()
            for job_id in sorted(aliases, key=lambda j: int(aliases[j][1:])):
                writer.writerow([aliases[job_id], job_id,
                                 self.run.job_specs[job_id].get("cron_job", "")])

    def settings(self):
        """settings.json's `cron`: what `simrq compare` needs to judge the real run's cron
        jobs as simrq's cron_schedule check does (src/compare/cron.rs)."""
        run = self.run
        jobs = []
        for job in self.jobs:
            entry = {"name": job["name"]}
            if job["interval_s"] is not None:
                entry["interval_s"] = job["interval_s"]
            else:
                entry["cron"] = job["cron"]
            jobs.append(entry)
        return {"t0_unix_s": run.t0,
                "end_s": run.scenario["run"]["duration_s"] + run.scenario["run"]["drain_s"],
                "jobs": jobs, "config": CONFIG_NAME, "job_ids": "job-aliases.csv"}
