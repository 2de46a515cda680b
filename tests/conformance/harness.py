#!/usr/bin/env python3
"""Run one conformance scenario against real RQ 2.12 and write simrq's events.csv and jobs.csv.

    tests/conformance/.venv/bin/python tests/conformance/harness.py SCENARIO.toml --out DIR

What it does, in order:
1. starts a private `redis-server` on 127.0.0.1 on a free port (`--save '' --appendonly no`, its
   own temporary directory), or with `[redis] replicas = 1` a primary, a replica and one
   Sentinel, each on its own free port (processes.py `ReplicatedRedis`); with
   `client_discovery = "sentinel"` the workers, the producer and the poller reach the master
   through Sentinel (RQ's CLI: a `-c` settings module with `SENTINEL`);
2. starts the scenario's pods: one `rq worker` process each (the venv's `rq`, `--with-scheduler`
   where asked), with the scenario's `--worker-ttl`, `--maintenance-interval` and
   `--job-monitoring-interval`;
3. enqueues the scenario's jobs (`jobs.work`, ids `j1`, `j2` … in enqueue order, as simrq numbers them)
   with `Retry(max, interval)` and `job_timeout`, `depends_on=` for a pipeline's dependents (a
   list of ids, or a `Dependency` with `allow_failure` / `enqueue_at_front`), and `webhooks=`
   pointing at a local endpoint (webhooks.py) that answers after the workload's latency;
4. applies the scripted faults with real signals (SIGKILL, SIGTERM, SIGSTOP/SIGCONT) to a
   worker's main process, its work-horse or its scheduler process, or to redis-server, and the
   operator commands (`shutdown`, `kill_horse`, `stop_job`) with rq.command; restarts a worker
   that exited on its own (`--max-jobs`, `shutdown`) as the kubelet would;
5. polls Redis and /proc every ~100 ms (observe.py) until every job is finished or failed, none
   is scheduled or queued to run again, and `--settle` (2 s) has passed, or until `duration` +
   `drain`, the simulated run's horizon;
6. stops everything it started, by pid, and writes DIR/events.csv, DIR/jobs.csv,
   DIR/settings.json (what was compressed), DIR/job-log.jsonl and DIR/logs/.

Time is compressed only through RQ's own settings. The scheduler interval (1 s) and the lock TTL
(interval + 60 = 61 s) are left as they are: RQ builds its scheduler with the constructor
default and no CLI option reaches it. The 120 s fallback period is a module constant; a scenario
that sets `[rq] scheduler_fallback_period` runs its workers with `-w conformance_worker.Worker`,
which changes that constant at import (see conformance_worker.py). A scenario that sets
`[rq] prepare_execution_stall` runs the same class, whose main process sleeps that long before
`prepare_execution` (race R17: the popped id waits in the intermediate list meanwhile).
"""

import argparse
import atexit
import heapq
import json
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import redis  # noqa: E402
from rq import Queue, Repeat, Retry  # noqa: E402
from rq.job import Dependency  # noqa: E402

import cron  # noqa: E402
import faults  # noqa: E402
import jobs  # noqa: E402
from observe import EventLog, Poller, detail  # noqa: E402
from outputs import write_events, write_jobs  # noqa: E402
from processes import Pod, ProcessTable, RedisServer, ReplicatedRedis  # noqa: E402
from scenario_file import RQ_DEFAULTS, ScenarioError, load_scenario, pipeline_jobs  # noqa: E402
from webhooks import WebhookServer  # noqa: E402


# Read by conformance_worker.Worker (kept as text here: importing that module would import RQ's
# worker and its constants into the harness).
STALL_ENV = "SIMRQ_PREPARE_EXECUTION_STALL_S"
# Kubernetes resets a container's CrashLoopBackOff after it ran this long (simrq: cluster.rs).
BACKOFF_RESET_S = 600.0
# The `-c` settings module a Sentinel-discovering worker reads (written into the run's own
# temporary directory, which is on the workers' PYTHONPATH).
SENTINEL_SETTINGS_MODULE = "simrq_sentinel_settings"
# Statuses after which RQ runs a job no more unless a retry or repeat is pending; `stopped`
# (`send_stop_job_command`) is a failure that consumes no retry.
TERMINAL = ("finished", "failed", "stopped")


def depends_on_argument(parent_ids, depends):
    """`depends_on=` as simrq's producer passes it: a `Dependency` when `allow_failure` or
    `enqueue_at_front` is set, else the plain list of parent ids."""
    if depends["allow_failure"] or depends["enqueue_at_front"]:
        return Dependency(jobs=parent_ids, allow_failure=depends["allow_failure"],
                          enqueue_at_front=depends["enqueue_at_front"])
    return parent_ids


def needs_conformance_worker(rq):
    """True when the scenario changes something only conformance_worker.Worker reaches: the
    scheduler fallback period, or a stall before `prepare_execution`."""
    return ("scheduler_fallback_period" in rq["changed"]
            or rq["prepare_execution_stall_s"] > 0)


class Run:
    """The state of one real run: processes, jobs, events, and the timeline of actions."""

    def __init__(self, scenario, out_dir, rq_bin):
        self.scenario = scenario
        self.out_dir = out_dir
        self.rq_bin = rq_bin
        self.table = ProcessTable()
        self.events = EventLog()
        self.tmp_dir = tempfile.mkdtemp(prefix="simrq-conformance-")
        self.logs_dir = os.path.join(out_dir, "logs")
        self.job_log_path = os.path.join(out_dir, "job-log.jsonl")
        self.redis = make_redis(scenario["redis"], self.table, self.tmp_dir, self.logs_dir)
        self.redis_epoch = 0
        self.pods = {}
        self.generations = {}
        self.next_index = {}
        self.job_specs = {}
        self.terminal_seen = {}
        self.kill_log = []
        self.actions = []
        self.action_seq = 0
        self.t0 = None
        self.poller = None
        self.torn_down = False
        self.final = None
        self.client = None
        self.producer_inbox = queue.Queue()
        self.producer = threading.Thread(target=self.producer_loop, name="producer",
                                         daemon=True)
        # `rq cron` processes and their observation (cron.py), when the scenario has [[cron]].
        self.cron = cron.CronSide(self) if scenario["cron"] else None
        self.webhooks = WebhookServer(self.events)
        # The kubelet's CrashLoopBackOff per pod (base name): the next delay, and the pods
        # whose exit it has handled.
        self.backoff_s = {}
        self.exits_handled = set()

    # --- lookups used by the poller, the faults and the outputs -------------------------------

    def queue_names(self):
        names = {w["queue"] for w in self.scenario["workloads"]}
        names.update(job["queue"] for job in self.scenario["cron"])
        for spec in self.scenario["pods"]:
            names.update(spec["queues"])
        return sorted(names)

    def enqueued_job_ids(self):
        return sorted(job_id for job_id, spec in self.job_specs.items() if spec["enqueued_t"])

    def all_pods(self):
        return list(self.pods.values())

    def pod_of_worker_pid(self, pid):
        for pod in self.pods.values():
            if pod.worker_pid == pid:
                return pod
        return None

    def pod_of_child(self, pid):
        """The pod whose worker main process is pid's parent, by /proc."""
        try:
            with open("/proc/%d/stat" % pid, "rb") as handle:
                text = handle.read().decode("ascii", "replace")
        except OSError:
            return ""
        parent = int(text[text.rindex(")") + 2:].split()[1])
        pod = self.pod_of_worker_pid(parent)
        return pod.name if pod else ""

    def pod_name_of_horse(self, pid, log):
        for record in log:
            if record["ev"] == "start" and record["pid"] == pid:
                pod = self.pod_of_worker_pid(record.get("ppid", -1))
                return pod.name if pod else ""
        return ""

    def kill_time_before(self, pod_name, wall_t):
        times = [t for t, name in self.kill_log if name == pod_name and t <= wall_t]
        return max(times) if times else None

    # --- the timeline -------------------------------------------------------------------------

    def at(self, offset_s, action):
        heapq.heappush(self.actions, (offset_s, self.action_seq, action))
        self.action_seq += 1

    def now_s(self):
        return time.time() - self.t0

    def worker_argv(self, spec):
        rq = self.scenario["rq"]
        argv = [self.rq_bin, "worker"] + self.connection_argv() + ["-P", HERE,
                "--worker-ttl", str(int(rq["worker_ttl"])),
                "--maintenance-interval", str(int(rq["maintenance_interval"])),
                "--job-monitoring-interval", str(int(rq["job_monitoring_interval"]))]
        if needs_conformance_worker(rq):
            argv += ["-w", "conformance_worker.Worker"]
        if spec["with_scheduler"]:
            argv.append("--with-scheduler")
        if spec["max_jobs"] is not None:
            argv += ["--max-jobs", str(spec["max_jobs"])]
        return argv

    def uses_sentinel(self):
        redis_spec = self.scenario["redis"]
        return redis_spec["replicas"] > 0 and redis_spec["client_discovery"] == "sentinel"

    def connection_argv(self):
        """`-u URL`, or `-c` the settings module whose `SENTINEL` RQ's CLI turns into
        `Sentinel(...).master_for(...)` (rq/cli/helpers.py `get_redis_from_config`)."""
        if self.uses_sentinel():
            return ["-c", SENTINEL_SETTINGS_MODULE]
        return ["-u", self.redis.url]

    def write_sentinel_settings(self):
        path = os.path.join(self.tmp_dir, SENTINEL_SETTINGS_MODULE + ".py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(sentinel_settings_text(self.redis.sentinel_settings()))

    def worker_env(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = (HERE + os.pathsep + self.tmp_dir + os.pathsep
                             + env.get("PYTHONPATH", ""))
        env["PYTHONUNBUFFERED"] = "1"
        env[jobs.LOG_ENV] = self.job_log_path
        env["SIMRQ_SCHEDULER_FALLBACK_PERIOD_S"] = str(
            int(self.scenario["rq"]["scheduler_fallback_period"]))
        env[STALL_ENV] = repr(self.scenario["rq"]["prepare_execution_stall_s"])
        return env

    def start_pod(self, name, spec):
        if spec["cron"]:
            self.cron.start(name, spec)
        if not spec["worker"]:
            return
        pod = Pod(name, spec, self.table)
        self.pods[name] = pod
        pod.start(self.worker_argv(spec), self.worker_env(),
                  os.path.join(self.logs_dir, "%s.log" % name))
        self.events.add(time.time(), "worker_born", pod=name, process="worker",
                        detail=detail(("pid", pod.worker_pid),
                                      ("with_scheduler", str(spec["with_scheduler"]).lower())))

    def group_spec(self, group):
        return next(spec for spec in self.scenario["pods"] if spec["name"] == group)

    def add_pod(self, spec):
        """A new pod of the group, `<group>-<next index>`, as a ReplicaSet creates one."""
        index = self.next_index.get(spec["name"], 0)
        self.next_index[spec["name"]] = index + 1
        self.start_pod("%s-%d" % (spec["name"], index), spec)

    def replace_pod(self, name):
        """Restart pod `name`'s container, under a fresh worker name (`worker-0.1` …)."""
        base = name.split(".")[0]
        generation = self.generations.get(base, 0) + 1
        self.generations[base] = generation
        self.start_pod("%s.%d" % (base, generation), self.pods[name].spec)

    def kubelet_tick(self):
        """Restart a worker whose process exited on its own (`--max-jobs`, a `shutdown`
        command), as the kubelet restarts a container: `restart_policy` Always after any exit,
        OnFailure after a non-zero one, after the CrashLoopBackOff delay (doubling from
        `initial` to `cap`, reset after 10 min of running) and `start_delay`. Pods that a
        fault killed or deleted are the fault's to restart (faults.py)."""
        for pod in list(self.pods.values()):
            if pod.alive() or pod.name in self.exits_handled or pod.process is None:
                continue
            self.exits_handled.add(pod.name)
            if getattr(pod, "fault_owned", False):
                continue
            spec = pod.spec
            code = pod.process.returncode
            if spec["restart_policy"] == "Never" or (spec["restart_policy"] == "OnFailure"
                                                      and code == 0):
                continue
            base = pod.name.split(".")[0]
            backoff = self.backoff_s.get(base, spec["restart_backoff_s"])
            if time.time() - pod.started_at > BACKOFF_RESET_S:
                backoff = spec["restart_backoff_s"]
            self.backoff_s[base] = min(backoff * 2, spec["restart_backoff_cap_s"])
            self.at(self.now_s() + backoff + spec["start_delay_s"],
                    lambda name=pod.name: self.replace_pod(name))

    def producer_loop(self):
        """Enqueue jobs handed over by the timeline, in order, retrying while Redis is down.

        It runs in its own thread so that an enqueue blocked by a Redis fault never delays the
        timeline (the fault's own end, in particular)."""
        while True:
            item = self.producer_inbox.get()
            if item is None:
                return
            index, workload, parents = item
            while not self.enqueue(index, workload, parents) and not self.torn_down:
                time.sleep(0.2)

    def enqueue(self, index, workload, parents):
        """One enqueue attempt; False if Redis refused or timed out."""
        job_id = jobs.job_id_for(index)
        retry = workload["retry"]
        kwargs = {"job_id": job_id, "job_timeout": workload["job_timeout_s"]}
        if retry is not None:
            intervals = retry["intervals"]
            kwargs["retry"] = Retry(max=retry["max"],
                                    interval=intervals if len(intervals) > 1 else intervals[0])
        if workload.get("repeat") is not None:
            kwargs["repeat"] = Repeat(times=workload["repeat"]["times"],
                                      interval=workload["repeat"]["intervals"])
        if workload.get("webhook") is not None:
            kwargs["webhooks"] = self.webhooks.for_job(job_id, workload["webhook"])
        parent_ids = [jobs.job_id_for(parent) for parent in parents]
        if parent_ids:
            kwargs["depends_on"] = depends_on_argument(parent_ids, workload["depends_on"])
        queue = Queue(workload["queue"], connection=self.client)
        wall_t = time.time()
        try:
            job = queue.enqueue(jobs.work, index, workload["duration_s"],
                                workload["fail_probability"], workload["fail_attempts"],
                                self.scenario["run"]["seed"], **kwargs)
        except redis.RedisError as error:
            self.events.add(wall_t, "redis_error", process="producer", job=job_id,
                            detail=detail(("phase", "enqueue"), ("error", type(error).__name__),
                                          ("action", "retrying")))
            return False
        self.job_specs[job_id]["enqueued_t"] = wall_t
        if parent_ids:
            self.events.add(wall_t, "job_depends_on", process="producer",
                            queue=workload["queue"], job=job_id,
                            detail=detail(("parents", ",".join(parent_ids))))
        # A job with parents that are not all finished is deferred, not queued (RQ's
        # `enqueue_job` returns it with status deferred).
        kind = "job_deferred" if job.get_status(refresh=False) == "deferred" else "job_enqueued"
        self.events.add(wall_t, kind, process="producer", queue=workload["queue"],
                        job=job_id, detail=detail(("source", "producer"),
                                                  ("retry_max", retry["max"] if retry else 0)))
        return True

    def plan(self):
        for spec in self.scenario["pods"]:
            for _ in range(spec["replicas"]):
                self.at(spec["start_delay_s"], lambda s=spec: self.add_pod(s))
        for index, (offset, workload, parents) in enumerate(
                pipeline_jobs(self.scenario["workloads"])):
            self.job_specs[jobs.job_id_for(index)] = {
                "queue": workload["queue"], "retry": workload["retry"],
                "repeat": workload.get("repeat"), "enqueued_t": None,
                "parents": [jobs.job_id_for(parent) for parent in parents]}
            self.at(offset, lambda i=index, w=workload, p=parents:
                    self.producer_inbox.put((i, w, p)))
        for fault in self.scenario["faults"]:
            self.at(fault["at_s"], lambda f=fault: faults.apply(self, f))

    # --- running ------------------------------------------------------------------------------

    def all_jobs_done(self):
        """Every job finished, failed or stopped, and none is still waiting to run again: a job
        can finish while a retry of it is scheduled or queued (race R17: a cleaner scheduled one
        while the job was about to run). A job still deferred when every other job has ended
        and no webhook is in flight is done too: only a parent's end releases it, and a final
        failure's `enqueue_dependents` follows its webhooks (the settle time covers the few
        round trips after them)."""
        if self.cron is not None:
            return False  # a cron job never ends: the run lasts duration + drain
        states = self.poller.jobs
        if len(self.enqueued_job_ids()) < len(self.job_specs) or self.webhooks.busy():
            return False
        waiting = self.poller.waiting_ids()
        for job_id in self.job_specs:
            state = states.get(job_id)
            if state is None or state["status"] not in TERMINAL + ("deferred",):
                return False
            if job_id in waiting:
                return False
        return True

    def execute(self, settle_s):
        os.makedirs(self.logs_dir, exist_ok=True)
        self.redis.start()
        # The producer waits out a Redis pause rather than time out and re-send an enqueue that
        # Redis may still apply; it retries only on errors (Redis down or restarting).
        self.client = self.redis.client(socket_timeout=60, socket_connect_timeout=2)
        if self.uses_sentinel():
            self.write_sentinel_settings()
        if self.cron is not None:
            self.cron.write_config()
            self.cron.wait_for_minute()
        self.webhooks.start()
        self.t0 = time.time()
        self.plan()
        self.poller = Poller(self)
        self.poller.start()
        self.producer.start()
        limit_s = self.scenario["run"]["duration_s"] + self.scenario["run"]["drain_s"]
        done_since = None
        while self.now_s() < limit_s:
            while self.actions and self.actions[0][0] <= self.now_s():
                _, _, action = heapq.heappop(self.actions)
                action()
            self.kubelet_tick()
            if not self.actions and self.all_jobs_done():
                done_since = done_since or time.time()
                if time.time() - done_since >= settle_s:
                    return "all jobs ended"
            else:
                done_since = None
            time.sleep(0.02)
        return "duration reached"

    def read_final_state(self):
        client = self.redis.client(socket_timeout=2, socket_connect_timeout=2)
        final = {"jobs": {}, "queues": {}}
        for queue in self.queue_names():
            present = set(client.lrange("rq:queue:%s" % queue, 0, -1))
            present |= set(client.lrange("rq:queue:%s:intermediate" % queue, 0, -1))
            final["queues"][queue] = {"present": {item.decode() for item in present}}
        for job_id in self.job_specs:
            status, retries_left = client.hmget("rq:job:%s" % job_id, "status", "retries_left")
            final["jobs"][job_id] = None if status is None else {
                "job": job_id, "status": status.decode(),
                "retries_left": int(retries_left) if retries_left else None}
        return final

    def teardown(self):
        """Stop every process this run started, by pid; safe to call more than once."""
        if self.torn_down:
            return
        self.torn_down = True
        self.producer_inbox.put(None)
        if self.producer.is_alive():
            self.producer.join(timeout=5)
        if self.poller is not None:
            self.poller.stop_flag.set()
            self.poller.join(timeout=5)
        if self.cron is not None:
            self.cron.teardown()
            self.cron.final_poll(redis.Redis.from_url(self.redis.url, socket_timeout=2,
                                                      socket_connect_timeout=2))
        for pod in self.pods.values():
            if pod.alive():
                self.table.remember_tree(pod.worker_pid)
        for pod in self.pods.values():
            for pid in [pod.worker_pid] + pod.children():
                self.table.signal(pid, signal.SIGKILL)
        self.redis.resume()
        try:
            self.final = self.read_final_state()
        except redis.RedisError as error:
            print("harness: could not read the final Redis state: %s" % error, file=sys.stderr)
        self.table.kill_all()
        for pod in self.pods.values():
            pod.process.wait(timeout=10)
        self.redis.kill()
        self.webhooks.stop()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)


def make_redis(redis_spec, table, tmp_dir, logs_dir):
    """The lone redis-server, or the primary, replica and Sentinel of `[redis] replicas = 1`."""
    if not redis_spec["replicas"]:
        return RedisServer(table, tmp_dir, os.path.join(logs_dir, "redis.log"))
    return ReplicatedRedis(table, tmp_dir, logs_dir, redis_spec["sentinel_down_after_s"],
                           redis_spec["client_discovery"])


def sentinel_settings_text(settings):
    """The `-c` module RQ's CLI imports: its upper-case names are the settings."""
    return ("# Written by the conformance harness: RQ's CLI reaches the master through "
            "Sentinel.\nSENTINEL = %r\n" % (settings,))


def compressed_settings(scenario):
    rq = scenario["rq"]
    settings = {
        "rq_version": "2.12.0",
        "changed_from_rq_defaults": {key: {"value_s": rq[key], "rq_default_s": RQ_DEFAULTS[key]}
                                     for key in rq["changed"]},
        "unchanged": {"scheduler_interval_s": 1, "scheduler_lock_ttl_s": 61,
                      "maintenance_lock_ttl_s": 899},
        "derived": {"dequeue_timeout_s": max(1, int(rq["worker_ttl"]) - 15),
                    "socket_timeout_s": max(1, int(rq["worker_ttl"]) - 15) + 10},
    }
    if rq["prepare_execution_stall_s"] > 0:
        # Not an RQ setting: conformance_worker.Worker's sleep before prepare_execution.
        settings["forced"] = {"prepare_execution_stall_s": rq["prepare_execution_stall_s"]}
    return settings


def write_outputs(run, reason, wall_s):
    if run.poller is None:
        return  # the run never started (set-up failed): nothing was observed
    events = write_events(run, os.path.join(run.out_dir, "events.csv"))
    if run.final is not None:
        write_jobs(run, os.path.join(run.out_dir, "jobs.csv"), events, run.final)
    settings = compressed_settings(run.scenario)
    settings.update({"scenario": run.scenario["path"], "seed": run.scenario["run"]["seed"],
                     "ended_because": reason, "wall_time_s": round(wall_s, 3),
                     "redis_port": run.redis.port})
    if isinstance(run.redis, ReplicatedRedis):
        settings["redis_topology"] = {
            "primary_port": run.redis.primary.port, "replica_port": run.redis.replica.port,
            "sentinel_port": run.redis.sentinel.port,
            "sentinel_down_after_s": run.scenario["redis"]["sentinel_down_after_s"],
            "client_discovery": run.scenario["redis"]["client_discovery"]}
    if run.cron is not None and run.t0 is not None:
        settings["cron"] = run.cron.settings()
        run.cron.write_aliases(os.path.join(run.out_dir, "job-aliases.csv"))
    with open(os.path.join(run.out_dir, "settings.json"), "w", encoding="utf-8") as handle:
        json.dump(settings, handle, indent=2, sort_keys=True)
        handle.write("\n")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--out", required=True, help="output directory (replaced)")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds to keep watching after every job ended (default 2)")
    parser.add_argument("--rq", default=os.path.join(HERE, ".venv", "bin", "rq"),
                        help="the rq command to run workers with")
    return parser.parse_args(argv)


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv):
    args = parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ScenarioError) as error:
        print("harness: %s" % error, file=sys.stderr)
        return 2
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    run = Run(scenario, args.out, args.rq)
    atexit.register(run.teardown)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    started = time.monotonic()
    reason = "interrupted"
    try:
        reason = run.execute(args.settle)
    except KeyboardInterrupt as interruption:
        print("harness: interrupted (%s); stopping what this run started" % interruption,
              file=sys.stderr)
    finally:
        run.teardown()
        write_outputs(run, reason, time.monotonic() - started)
    if reason == "interrupted":
        return 130
    print("%s: %s in %.1f s -> %s" % (os.path.basename(args.scenario), reason,
                                       time.monotonic() - started, args.out))
    # Reaching `duration` + `drain` is a normal end (no-scheduler waits on purpose); only an interrupted
    # run or an error is a failure.
    return 0 if reason in ("all jobs ended", "duration reached") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
