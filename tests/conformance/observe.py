"""Watching a real RQ deployment: the event list and the ~100 ms Redis/proc poller.

What can be seen from outside RQ, and how:
- job starts and ends: the job function's own log (jobs.py), exact;
- retries: a decrement of `retries_left` in the job hash; `job_retry_scheduled` when the retry
  uses an interval (due time from `rq:scheduled:<q>`), `job_retry_requeued` when the id leaves
  the scheduled registry (the scheduler moved it) or at once for interval 0;
- executions that never ended (horse or pod killed): when RQ next changes the job (a retry or
  `failed`) and the execution has no end record, `job_failed` if its worker main process was
  still alive (RQ's "work-horse terminated unexpectedly" path), `job_abandoned` if not (the
  abandoned-job cleaner of another worker did it);
- lost jobs: `job_lost` when a job hash that existed is gone (a Redis restart without
  persistence);
- the scheduler lock: `GET`/`PTTL rq:scheduler-lock:<q>`; a holder that disappears with less than
  0.5 s of TTL left is `lock_lost` (expired), otherwise `lock_released`;
- scheduler processes: `rq:scheduler:<s>` hashes (pid), then /proc for liveness.
Times are the harness's wall clock when the poll saw the change, so they lag by up to ~100 ms
plus the poll's own Redis round trip.
"""

import json
import os
import threading
import time

import redis

from processes import is_running

POLL_INTERVAL_S = 0.1
EXPIRY_MARGIN_MS = 500


def detail_value(value):
    """One `detail` value as simrq writes it (src/event.rs `DetailValue`): bare, or in double
    quotes with `\\"` and `\\\\` escaped when it is empty or holds a space, a quote, `=` or a
    backslash (the logfmt convention documented in the README)."""
    text = str(value)
    if text and not any(c in text for c in ' "=\\'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def detail(*pairs):
    """`key=value` pairs separated by spaces, in the order given: `detail(("pid", 4), ...)`."""
    return " ".join("%s=%s" % (key, detail_value(value)) for key, value in pairs)


def parse_detail(text):
    """The pairs of a `detail` cell as a dict (the inverse of `detail`)."""
    pairs, index = {}, 0
    while index < len(text):
        if text[index] == " ":
            index += 1
            continue
        equals = text.index("=", index)
        key, index = text[index:equals], equals + 1
        if index < len(text) and text[index] == '"':
            value, index = [], index + 1
            while text[index] != '"':
                if text[index] == "\\":
                    index += 1
                value.append(text[index])
                index += 1
            pairs[key], index = "".join(value), index + 1
        else:
            end = text.find(" ", index)
            end = len(text) if end < 0 else end
            pairs[key], index = text[index:end], end
    return pairs


class EventLog:
    """Events from every source; sorted by (time, arrival order) when written."""

    def __init__(self):
        self._lock = threading.Lock()
        self._events = []

    def add(self, wall_t, kind, pod="", process="", queue="", job="", attempt="", detail="",
            scheduler=""):
        with self._lock:
            self._events.append({
                "t": wall_t, "order": len(self._events), "kind": kind, "pod": pod,
                "process": process, "queue": queue, "job": job, "attempt": attempt,
                "detail": detail, "scheduler": scheduler,
            })

    def snapshot(self):
        with self._lock:
            return list(self._events)


def read_job_log(path):
    """All records of the job log, in file order."""
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


def retry_interval(retry, retries_left_before):
    """The interval RQ uses for an exception retry (rq/job.py Job.get_retry_interval)."""
    intervals = retry["intervals"]
    return intervals[max(len(intervals) - retries_left_before, 0)]


class Poller(threading.Thread):
    """Polls Redis and /proc every ~100 ms and turns changes into events."""

    def __init__(self, run):
        super().__init__(name="poller", daemon=True)
        self.run_state = run
        self.events = run.events
        self.stop_flag = threading.Event()
        self.client = run.redis.client(socket_timeout=0.5, socket_connect_timeout=0.5)
        self.lock_holders = {}
        self.schedulers = {}
        self.jobs = {}
        self.redis_down = False
        self.redis_epoch_seen = 0
        self.reported_kills = set()
        self.previous_poll_t = 0.0
        self.state_lock = threading.Lock()
        self.waiting = set()

    def run(self):
        while not self.stop_flag.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception as error:  # noqa: BLE001 - a poll error must not end the run
                self.events.add(time.time(), "redis_error", process="harness",
                                detail=detail(("phase", "poller"),
                                              ("error", type(error).__name__)))
            elapsed = time.monotonic() - started
            self.stop_flag.wait(max(0.0, POLL_INTERVAL_S - elapsed))

    def tick(self):
        now = time.time()
        self._track_processes(now)
        try:
            snapshot = self.read_redis()
        except redis.RedisError as error:
            if not self.redis_down:
                self.events.add(now, "redis_error", process="harness",
                                detail=detail(("phase", "poll"),
                                              ("error", type(error).__name__)))
            self.redis_down = True
            return
        self.redis_down = False
        with self.state_lock:
            self._observe_schedulers(now, snapshot)
            self._observe_locks(now, snapshot)
            self._observe_jobs(now, snapshot)
            self.waiting = {job_id for view in snapshot["queues"].values()
                            for job_id in (set(view["scheduled"]) | set(view["listed"])
                                           | set(view["intermediate"]))}
        if self.run_state.cron is not None:
            self.run_state.cron.poll(now, self.client)  # `rq cron` (cron.py)
        self.previous_poll_t = now

    def waiting_ids(self):
        """Ids that the last poll saw scheduled, queued or in an intermediate list."""
        with self.state_lock:
            return set(self.waiting)

    def read_redis(self):
        queues = self.run_state.queue_names()
        job_ids = self.run_state.enqueued_job_ids()
        pipe = self.client.pipeline(transaction=False)
        for queue in queues:
            lock_key = "rq:scheduler-lock:%s" % queue
            pipe.get(lock_key)
            pipe.pttl(lock_key)
            pipe.zrange("rq:scheduled:%s" % queue, 0, -1, withscores=True)
            pipe.lrange("rq:queue:%s" % queue, 0, -1)
            pipe.lrange("rq:queue:%s:intermediate" % queue, 0, -1)
        for job_id in job_ids:
            pipe.hmget("rq:job:%s" % job_id, "status", "retries_left")
        pipe.keys("rq:scheduler:*")
        replies = pipe.execute()
        snapshot = {"queues": {}, "jobs": {}}
        for number, queue in enumerate(queues):
            lock, pttl, scheduled, listed, parked = replies[number * 5:number * 5 + 5]
            snapshot["queues"][queue] = {
                "lock": lock.decode() if lock else None,
                "pttl_ms": pttl,
                "scheduled": {member.decode(): score for member, score in scheduled},
                "listed": [item.decode() for item in listed],
                "intermediate": [item.decode() for item in parked],
            }
        offset = len(queues) * 5
        for number, job_id in enumerate(job_ids):
            status, retries_left = replies[offset + number]
            snapshot["jobs"][job_id] = {
                "status": status.decode() if status else None,
                "retries_left": int(retries_left) if retries_left not in (None, b"") else None,
            }
        names = sorted(key.decode()[len("rq:scheduler:"):] for key in replies[-1])
        pids = self.client.pipeline(transaction=False)
        for name in names:
            pids.hget("rq:scheduler:%s" % name, "pid")
        snapshot["schedulers"] = {
            name: int(pid) for name, pid in zip(names, pids.execute()) if pid is not None
        }
        return snapshot

    def _track_processes(self, now):
        for pod in self.run_state.all_pods():
            if pod.alive():
                self.run_state.table.remember_tree(pod.worker_pid)
            elif pod.process is not None and not getattr(pod, "death_reported", False):
                pod.death_reported = True
                self.events.add(now, "worker_died", pod=pod.name, process="worker",
                                detail=detail(("exit_code", pod.process.returncode)))
        for name, info in self.schedulers.items():
            if info["alive"] and not is_running(info["pid"]):
                info["alive"] = False
                self.events.add(now, "scheduler_died", pod=info["pod"], process="scheduler",
                                detail=detail(("scheduler", name), ("pid", info["pid"])),
                                scheduler=name)

    def _observe_schedulers(self, now, snapshot):
        for name, pid in snapshot["schedulers"].items():
            info = self.schedulers.get(name)
            if info is not None and info["pid"] == pid:
                continue
            self.run_state.table.remember(pid)
            pod = self.run_state.pod_of_child(pid) or (info or {}).get("pod", "")
            self.schedulers[name] = {"pid": pid, "pod": pod, "alive": is_running(pid)}
            self.events.add(now, "scheduler_started", pod=pod, process="scheduler",
                            detail=detail(("scheduler", name), ("pid", pid)), scheduler=name)

    def _observe_locks(self, now, snapshot):
        restarted = self.run_state.redis_epoch != self.redis_epoch_seen
        self.redis_epoch_seen = self.run_state.redis_epoch
        for queue, view in snapshot["queues"].items():
            previous, previous_pttl = self.lock_holders.get(queue, (None, None))
            holder = view["lock"]
            if holder != previous and previous is not None:
                if restarted:
                    kind, why = "lock_lost", "redis restarted"
                elif holder is not None or (previous_pttl or 0) <= EXPIRY_MARGIN_MS:
                    kind, why = "lock_lost", "expired"
                else:
                    kind, why = "lock_released", "deleted by its owner"
                self.events.add(now, kind, process="scheduler", queue=queue,
                                detail=detail(("scheduler", previous), ("why", why)),
                                scheduler=previous)
            if holder is not None and holder != previous:
                self.events.add(now, "lock_acquired", process="scheduler", queue=queue,
                                detail=detail(("scheduler", holder)), scheduler=holder)
            self.lock_holders[queue] = (holder, view["pttl_ms"])

    def holder_pods(self):
        """Pods whose scheduler holds a lock, as the last poll saw it."""
        with self.state_lock:
            names = {holder for holder, _ in self.lock_holders.values() if holder}
            return sorted({self.schedulers[name]["pod"] for name in names
                           if name in self.schedulers and self.schedulers[name]["pod"]})

    def scheduler_pids_of(self, pod_name):
        with self.state_lock:
            return [info["pid"] for info in self.schedulers.values()
                    if info["pod"] == pod_name and is_running(info["pid"])]

    def _observe_jobs(self, now, snapshot):
        log = None
        for job_id, view in snapshot["jobs"].items():
            spec = self.run_state.job_specs[job_id]
            queue_view = snapshot["queues"][spec["queue"]]
            in_scheduled = job_id in queue_view["scheduled"]
            state = self.jobs.setdefault(job_id, {"status": None, "retries_left": None,
                                                  "in_scheduled": False})
            decrements = 0
            if state["retries_left"] is not None and view["retries_left"] is not None:
                decrements = max(0, state["retries_left"] - view["retries_left"])
            # `stopped` (send_stop_job_command) is a failure too: the worker killed the horse.
            became_failed = (view["status"] in ("failed", "stopped")
                             and state["status"] not in ("failed", "stopped"))
            if decrements or became_failed:
                log = log if log is not None else read_job_log(self.run_state.job_log_path)
                self._report_killed_execution(now, job_id, spec, log)
            for step in range(decrements):
                left_before = state["retries_left"] - step
                self._report_retry(now, job_id, spec, left_before, queue_view, in_scheduled)
            if state["status"] is not None and view["status"] is None:
                where = "scheduled registry" if state["in_scheduled"] else state["status"]
                self.events.add(now, "job_lost", queue=spec["queue"], job=job_id,
                                detail=detail(("reason", "job hash gone"), ("was", where)))
            elif state["in_scheduled"] and not in_scheduled and not decrements:
                self.events.add(now, "job_retry_requeued", queue=spec["queue"], job=job_id,
                                detail=detail(("source", "scheduler")))
            if view["status"] in ("finished", "failed", "stopped"):
                self.run_state.terminal_seen.setdefault(job_id, now)
            state.update(status=view["status"], in_scheduled=in_scheduled)
            if view["retries_left"] is not None:
                state["retries_left"] = view["retries_left"]

    def _report_retry(self, now, job_id, spec, left_before, queue_view, in_scheduled):
        interval = retry_interval(spec["retry"], left_before)
        queue = spec["queue"]
        if interval == 0:
            self.events.add(now, "job_retry_requeued", queue=queue, job=job_id,
                            detail=detail(("interval_s", 0)))
            return
        due = queue_view["scheduled"].get(job_id)
        pairs = [("interval_s", interval)]
        if due is not None:
            pairs.append(("due_s", "%.6f" % (due - self.run_state.t0)))
        self.events.add(now, "job_retry_scheduled", queue=queue, job=job_id,
                        detail=detail(*pairs))
        if not in_scheduled:
            self.events.add(now, "job_retry_requeued", queue=queue, job=job_id,
                            detail=detail(("source", "scheduler"), ("seen", "late")))

    def _report_killed_execution(self, now, job_id, spec, log):
        """Report the execution RQ just gave up on, if it never wrote an end record.

        Only executions that started before the previous poll are candidates: RQ's decision
        came after that poll (or it would have been seen then), and a retry that already
        started since then must not be mistaken for the execution it replaces."""
        ended = {r["attempt"] for r in log if r["job"] == job_id and r["ev"] == "end"}
        starts = [r for r in log if r["job"] == job_id and r["ev"] == "start"
                  and r["attempt"] not in ended and r["t"] < self.previous_poll_t]
        if not starts:
            return
        last = starts[-1]
        key = (job_id, last["attempt"])
        if key in self.reported_kills:
            return
        self.reported_kills.add(key)
        pod = self.run_state.pod_of_worker_pid(last["ppid"])
        worker_alive = pod is not None and pod.alive()
        kind = "job_failed" if worker_alive else "job_abandoned"
        reason = ("work-horse terminated unexpectedly" if worker_alive
                  else "execution never ended; its worker is gone")
        when = now
        if worker_alive:
            # A live worker handles its horse's death within milliseconds of the kill (a
            # kill_horse or stop_job command, faults.py): date it there, not at this poll.
            killed_t = self.run_state.kill_time_before(pod.name, now)
            when = killed_t if killed_t is not None and killed_t > last["t"] else now
        self.events.add(when, kind, pod=pod.name if pod else "", process="horse",
                        queue=spec["queue"], job=job_id, attempt=last["attempt"],
                        detail=detail(("reason", reason)))
