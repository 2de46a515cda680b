"""Reading a conformance scenario (TOML) into plain dictionaries with defaults filled in.

The file is a simrq scenario (docs/scenario-format.md): `simrq run` accepts every file in
scenarios/ and this reader gives the harness the same meaning. The harness supports the subset
a real run can reproduce, and rejects the rest by name, so a key never means one thing to the
simulator and nothing to the harness:

    [run]        duration, drain (the run lasts at most duration + drain), seed,
                 sample_interval, wall_clock_phase (simulator only), swarm = false
    [redis]      replicas (0, or 1: a primary, a replica and one Sentinel, processes.py
                 ReplicatedRedis), sentinel_down_after (Sentinel's down-after-milliseconds),
                 client_discovery ("sentinel": RQ's `SENTINEL` setting; "fixed": the primary's
                 URL); simulator only: latency, client_retries, connect_timeout,
                 socket_timeout, startup, replica_lag, sentinel_promotion (the real Redis and
                 Sentinel are what they are)
    [rq]         worker_ttl, maintenance_interval, job_monitoring_interval (RQ CLI settings),
                 scheduler_fallback_period (module constant, set by conformance_worker.py),
                 prepare_execution_stall (a fixed duration: conformance_worker.py sleeps
                 that long before `prepare_execution`),
                 worker_startup, horse_startup, horse_exit, worker_loop_cost (simulator only: the
                 host's timing)
    [[pods]]     name, replicas, with_scheduler, queues, start_delay (default 5s, as simrq),
                 termination_grace_period, restart_policy, crash_loop_backoff = { initial, cap },
                 cron (also run `rq cron`, see cron.py), worker (default true),
                 max_jobs (`rq worker --max-jobs N`; the harness restarts the worker as the
                 kubelet would when it exits)
    [[cron]]     name, queue, interval (whole seconds) or cron (five fields), duration,
                 fail_probability = 0, job_timeout
    [[workload]] queue, jobs, start, arrival = { constant_per_s = R } or { count = N, at = T },
                 duration = "D" or { constant = "D" }, fail_probability, fail_attempts,
                 retry = { max, interval }, job_timeout, repeat = { times, interval },
                 name, webhook = { on, latency (a fixed duration), timeout },
                 depends_on = { workloads, fan_out, allow_failure, enqueue_at_front, delay }
                 (a pipeline: see `pipeline_jobs`)
    [[faults]]   kind = pod_kill | pod_delete | pause | redis_pause | redis_restart | scale |
                 shutdown | kill_horse | stop_job | redis_failover | replica_lag,
                 at, pods, target (`cron`: the pod's `rq cron` process), for, replicas
    [checks]     simulator only (the verdicts of `simrq run`)
"""

import re
import tomllib

RQ_DEFAULTS = {
    "worker_ttl": 420.0,
    "maintenance_interval": 600.0,
    "job_monitoring_interval": 30.0,
    "scheduler_fallback_period": 120.0,
}

FAULT_KINDS = {"pod_kill", "pod_delete", "pause", "redis_pause", "redis_restart", "scale",
               "shutdown", "kill_horse", "stop_job", "redis_failover", "replica_lag"}
# Faults that need `[redis] replicas = 1` (a replica and Sentinel), and those the harness runs
# only against a lone redis-server.
REPLICA_FAULTS = {"redis_failover", "replica_lag"}
SINGLE_SERVER_FAULTS = {"redis_restart"}
# `[redis]` keys that describe the simulated Redis's host and client timing: the real Redis
# and Sentinel are what they are, so the harness reads none of them.
REDIS_SIMULATOR_ONLY = {"latency", "client_retries", "connect_timeout", "socket_timeout",
                        "startup", "replica_lag", "sentinel_promotion"}
# Sentinel's `down-after-milliseconds` when the scenario does not set it (simrq's default).
SENTINEL_DOWN_AFTER_S = 30.0
# A failed-over primary back sooner than this after down-after would be seen by Sentinel
# before it promotes the replica (no failover): measured promotion 1.07-1.16 s, plus margin.
PROMOTION_MARGIN_S = 3.0
# Operator commands (rq.command): sent to the target pod's worker over pubsub.
COMMAND_KINDS = {"shutdown", "kill_horse", "stop_job"}
# simrq's role targets; any other string names a pod (`worker-1`).
ROLE_TARGETS = {"any", "scheduler_holder", "worker", "horse", "scheduler", "cron"}
RESTART_POLICIES = {"Always", "OnFailure", "Never"}

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ScenarioError(Exception):
    pass


def parse_duration(value, where):
    """'250ms', '2s', '1.5m', '1h' or a bare number of seconds -> float seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)\s*", str(value))
    if not match:
        raise ScenarioError("%s: expected a duration like \"2s\" or \"250ms\", got %r"
                            % (where, value))
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _check_keys(table, allowed, where):
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ScenarioError("%s: unknown key(s) %s; allowed: %s"
                            % (where, ", ".join(unknown), ", ".join(sorted(allowed))))


def _whole_seconds(value, where):
    seconds = parse_duration(value, where)
    if seconds != int(seconds):
        raise ScenarioError("%s: RQ retry intervals are whole seconds, got %r" % (where, value))
    return int(seconds)


def _load_run(doc):
    run = doc.get("run", {})
    _check_keys(run, {"duration", "seed", "drain", "sample_interval", "swarm",
                     "wall_clock_phase"}, "[run]")
    if run.get("swarm", False):
        raise ScenarioError("[run].swarm: the harness applies every fault; use swarm = false")
    return {
        "duration_s": parse_duration(run.get("duration", "1h"), "[run].duration"),
        "drain_s": parse_duration(run.get("drain", "15m"), "[run].drain"),
        "seed": int(run.get("seed", 1)),
    }


def _load_stall(table):
    """`[rq] prepare_execution_stall` in seconds (0.0 when absent). simrq also accepts a
    distribution there; the real worker sleeps a fixed time, so the harness takes only a
    duration."""
    value = table.get("prepare_execution_stall", "0s")
    if isinstance(value, dict):
        raise ScenarioError("[rq].prepare_execution_stall: the harness's worker stalls for a "
                            "fixed time: give a duration like \"4s\", not a distribution")
    return parse_duration(value, "[rq].prepare_execution_stall")


def _load_rq(doc):
    table = doc.get("rq", {})
    # The host's costs: the simulator charges them, the real machine has its own.
    host_costs = {"worker_startup", "horse_startup", "horse_exit", "worker_loop_cost",
                  "shared_host_costs"}
    _check_keys(table, set(RQ_DEFAULTS) | host_costs | {"prepare_execution_stall"}, "[rq]")
    settings = {}
    for key, default in RQ_DEFAULTS.items():
        settings[key] = parse_duration(table.get(key, default), "[rq].%s" % key)
    settings["changed"] = sorted(key for key in RQ_DEFAULTS if key in table)
    settings["prepare_execution_stall_s"] = _load_stall(table)
    return settings


def _load_pods(doc):
    pods = []
    allowed = {"name", "replicas", "with_scheduler", "queues", "start_delay",
               "termination_grace_period", "restart_policy", "crash_loop_backoff", "cron",
               "worker", "max_jobs"}
    for number, table in enumerate(doc.get("pods", [])):
        where = "[[pods]] #%d" % (number + 1)
        _check_keys(table, allowed, where)
        policy = table.get("restart_policy", "Always")
        if policy not in RESTART_POLICIES:
            raise ScenarioError("%s.restart_policy: one of %s"
                                % (where, ", ".join(sorted(RESTART_POLICIES))))
        backoff = table.get("crash_loop_backoff", {})
        _check_keys(backoff, {"initial", "cap"}, where + ".crash_loop_backoff")
        pods.append({
            "name": table.get("name", "worker"),
            "restart_policy": policy,
            "restart_backoff_s": parse_duration(backoff.get("initial", "10s"),
                                                where + ".crash_loop_backoff.initial"),
            "restart_backoff_cap_s": parse_duration(backoff.get("cap", "300s"),
                                                    where + ".crash_loop_backoff.cap"),
            "max_jobs": int(table["max_jobs"]) if "max_jobs" in table else None,
            "replicas": int(table.get("replicas", 1)),
            "with_scheduler": bool(table.get("with_scheduler", False)),
            "queues": list(table.get("queues", ["default"])),
            "start_delay_s": parse_duration(table.get("start_delay", "5s"),
                                           where + ".start_delay"),
            "grace_s": parse_duration(table.get("termination_grace_period", "30s"),
                                      where + ".termination_grace_period"),
            "cron": bool(table.get("cron", False)),
            "worker": bool(table.get("worker", True)),
        })
        if not (pods[-1]["cron"] or pods[-1]["worker"]):
            raise ScenarioError("%s: a pod runs `rq worker`, `rq cron` (cron = true) or both"
                                % where)
    if not pods:
        raise ScenarioError("the scenario has no [[pods]]")
    return pods


def _load_retry(table, where):
    retry = table.get("retry")
    if retry is None:
        return None
    _check_keys(retry, {"max", "interval"}, where + ".retry")  # enqueue_at_front: not used
    interval = retry.get("interval", 0)
    if isinstance(interval, list):
        intervals = [_whole_seconds(item, where + ".retry.interval") for item in interval]
    else:
        intervals = [_whole_seconds(interval, where + ".retry.interval")]
    return {"max": int(retry["max"]), "intervals": intervals}


def _load_repeat(table, where):
    """`repeat = { times, interval }`: RQ's `Repeat(times, interval)`; no interval is RQ's 0."""
    repeat = table.get("repeat")
    if repeat is None:
        return None
    _check_keys(repeat, {"times", "interval"}, where + ".repeat")
    interval = repeat.get("interval", [])
    items = interval if isinstance(interval, list) else [interval]
    intervals = [_whole_seconds(item, where + ".repeat.interval") for item in items]
    return {"times": int(repeat["times"]), "intervals": intervals or [0]}


def _arrival_times(table, arrival, where):
    """(first arrival s, jobs per second or None for a batch, job count), as simrq reads them:
    a constant stream's first job arrives at `start`; a batch `{ count, at }` all at `at`."""
    if ("constant_per_s" in arrival) == ("count" in arrival):
        raise ScenarioError("%s.arrival: the harness runs { constant_per_s = R } or "
                            "{ count = N, at = T }" % where)
    start_s = parse_duration(table.get("start", 0), where + ".start")
    if "count" in arrival:
        count = int(arrival["count"])
        if "jobs" in table:
            count = min(count, int(table["jobs"]))
        at_s = max(parse_duration(arrival.get("at", 0), where + ".arrival.at"), start_s)
        return at_s, None, count
    per_s = float(arrival["constant_per_s"])
    if "start" not in table:
        start_s = 1.0 / per_s        # simrq's constant stream: the first job one gap in
    return start_s, per_s, int(table["jobs"])


def _load_webhook(table, where):
    """`webhook = { on, latency, timeout }`: one `Webhook(url, status, timeout)` per status in
    `on`; the harness's endpoint answers after `latency` (a fixed duration here)."""
    hook = table.get("webhook")
    if hook is None:
        return None
    _check_keys(hook, {"on", "latency", "timeout"}, where + ".webhook")
    statuses = hook.get("on", [])
    statuses = statuses if isinstance(statuses, list) else [statuses]
    if not statuses or any(status not in ("finished", "failed") for status in statuses):
        raise ScenarioError("%s.webhook.on: \"finished\", \"failed\" or both" % where)
    if isinstance(hook.get("latency"), dict):
        raise ScenarioError("%s.webhook.latency: the harness's endpoint answers after a fixed "
                            "time: give a duration like \"4s\", not a distribution" % where)
    timeout = _whole_seconds(hook.get("timeout", "10s"), where + ".webhook.timeout")
    return {"on": statuses, "timeout_s": timeout,
            "latency_s": parse_duration(hook.get("latency", "0s"), where + ".webhook.latency")}


def _load_depends_on(table, where, earlier):
    """`depends_on = { workloads, fan_out, allow_failure, enqueue_at_front, delay }`, whose
    `workloads` name earlier workloads."""
    depends = table["depends_on"]
    _check_keys(depends, {"workloads", "fan_out", "allow_failure", "enqueue_at_front", "delay"},
                where + ".depends_on")
    parents = list(depends.get("workloads", []))
    if not parents:
        raise ScenarioError("%s.depends_on.workloads: name at least one workload" % where)
    for name in parents:
        if name not in earlier:
            raise ScenarioError("%s.depends_on.workloads: %r is not an earlier workload"
                                % (where, name))
    for key in ("arrival", "start", "jobs"):
        if key in table:
            raise ScenarioError("%s.%s: a workload with depends_on is enqueued by its "
                                "pipeline's runs" % (where, key))
    return {"workloads": parents, "fan_out": int(depends.get("fan_out", 1)),
            "allow_failure": bool(depends.get("allow_failure", False)),
            "enqueue_at_front": bool(depends.get("enqueue_at_front", False)),
            "delay_s": parse_duration(depends.get("delay", "0s"), where + ".depends_on.delay")}


def _job_fields(table, where):
    """What every job of a workload shares, roots and dependents alike."""
    duration = table.get("duration", "100ms")
    if isinstance(duration, dict):
        _check_keys(duration, {"constant"}, where + ".duration")
        duration = duration.get("constant", "100ms")
    return {
        "name": str(table.get("name", table.get("queue", "default"))),
        "queue": table.get("queue", "default"),
        "duration_s": parse_duration(duration, where + ".duration"),
        "fail_probability": float(table.get("fail_probability", 0.0)),
        "fail_attempts": [int(a) for a in table.get("fail_attempts", [])],
        "retry": _load_retry(table, where),
        "repeat": _load_repeat(table, where),
        "webhook": _load_webhook(table, where),
        "job_timeout_s": int(parse_duration(table.get("job_timeout", "180s"),
                                            where + ".job_timeout")),
        "depends_on": None,
    }


def _load_workloads(doc):
    workloads = []
    allowed = {"name", "queue", "jobs", "start", "arrival", "duration", "fail_probability",
               "fail_attempts", "retry", "job_timeout", "repeat", "webhook", "depends_on"}
    for number, table in enumerate(doc.get("workload", [])):
        where = "[[workload]] #%d" % (number + 1)
        _check_keys(table, allowed, where)
        workload = _job_fields(table, where)
        if "depends_on" in table:
            earlier = {w["name"] for w in workloads}
            workload["depends_on"] = _load_depends_on(table, where, earlier)
            workloads.append(workload)
            continue
        if "jobs" not in table and "count" not in table.get("arrival", {}):
            raise ScenarioError("%s: a real run needs a finite job list: set jobs = N "
                                "or arrival = { count = N }" % where)
        arrival = table.get("arrival", {"constant_per_s": 1})
        _check_keys(arrival, {"constant_per_s", "count", "at"}, where + ".arrival")
        workload["start_s"], workload["per_s"], workload["jobs"] = _arrival_times(
            table, arrival, where)
        workloads.append(workload)
    _check_pipelines(workloads)
    return workloads


def _check_pipelines(workloads):
    """Each dependent workload's parents belong to one pipeline (one root), as simrq needs."""
    root_of = {}
    for workload in workloads:
        depends = workload["depends_on"]
        if depends is None:
            root_of[workload["name"]] = workload["name"]
            continue
        roots = {root_of[name] for name in depends["workloads"]}
        if len(roots) != 1:
            raise ScenarioError("workload %r: depends_on names workloads of %d pipelines"
                                % (workload["name"], len(roots)))
        root_of[workload["name"]] = roots.pop()
    for workload in workloads:
        workload["root"] = root_of[workload["name"]]


def root_arrivals(workload):
    """Offsets (s) of a root workload's arrivals: one pipeline run each."""
    return [workload["start_s"] + (number / workload["per_s"] if workload["per_s"] else 0.0)
            for number in range(workload["jobs"])]


def pipeline_jobs(workloads):
    """Every job of the scenario as simrq's producers enqueue it, in enqueue order:
    [(offset s, workload, parent job numbers)], position = the job's number (j1 is 0).

    Each arrival of a root workload is a pipeline run: its root job, then, in file order, each
    dependent workload's `fan_out` jobs, after that stage's `delay`, each depending on every
    job the workloads it names enqueued for this run (src/workload.rs `run_stages`). simrq
    numbers jobs as they are enqueued, so runs and independent streams interleave by time; at
    equal times earlier runs come first, then earlier positions within a run."""
    planned = []  # (offset, run number, position in run, workload, parent keys, key)
    run_number = 0
    for root in workloads:
        if root["depends_on"] is not None:
            continue
        stages = [w for w in workloads if w["depends_on"] is not None and w["root"] == root["name"]]
        for arrival in root_arrivals(root):
            run_number += 1
            planned.append((arrival, run_number, 0, root, [], (run_number, root["name"], 0)))
            keys = {root["name"]: [(run_number, root["name"], 0)]}
            offset = arrival
            for stage in stages:
                offset += stage["depends_on"]["delay_s"]
                parents = [key for name in stage["depends_on"]["workloads"] for key in keys[name]]
                keys[stage["name"]] = []
                for copy in range(stage["depends_on"]["fan_out"]):
                    key = (run_number, stage["name"], copy)
                    keys[stage["name"]].append(key)
                    planned.append((offset, run_number, len(planned), stage, parents, key))
    planned.sort(key=lambda item: (item[0], item[1], item[2]))
    number_of = {item[5]: number for number, item in enumerate(planned)}
    return [(offset, workload, [number_of[key] for key in parents])
            for offset, _, _, workload, parents, _ in planned]


def _cron_seconds(value, where):
    seconds = parse_duration(value, where)
    if seconds != int(seconds) or seconds <= 0:
        raise ScenarioError("%s: `rq cron` takes a positive whole number of seconds, got %r"
                            % (where, value))
    return int(seconds)


def _load_cron(doc):
    """`[[cron]]`: the jobs of the `rq cron` config file (cron.py writes it)."""
    jobs = []
    allowed = {"name", "queue", "interval", "cron", "duration", "fail_probability",
               "job_timeout"}
    for number, table in enumerate(doc.get("cron", [])):
        where = "[[cron]] #%d" % (number + 1)
        _check_keys(table, allowed, where)
        if not table.get("name"):
            raise ScenarioError("%s.name: a cron job needs a name" % where)
        if ("interval" in table) == ("cron" in table):
            raise ScenarioError("%s: give `interval` or `cron`, not both or neither" % where)
        if float(table.get("fail_probability", 0.0)) != 0.0:
            raise ScenarioError("%s.fail_probability: the harness's cron jobs never fail "
                                "(simrq draws failures from its own streams)" % where)
        duration = table.get("duration", "100ms")
        if isinstance(duration, dict):
            _check_keys(duration, {"constant"}, where + ".duration")
            duration = duration.get("constant", "100ms")
        timeout = table.get("job_timeout")
        jobs.append({
            "name": str(table["name"]),
            "queue": table.get("queue", "default"),
            "interval_s": (_cron_seconds(table["interval"], where + ".interval")
                           if "interval" in table else None),
            "cron": table.get("cron"),
            "duration_s": parse_duration(duration, where + ".duration"),
            "job_timeout_s": (None if timeout is None
                              else _cron_seconds(timeout, where + ".job_timeout")),
        })
    return jobs


def _load_redis(doc):
    """`[redis]`: the topology the harness starts. Persistence and `min_replicas_*` are
    rejected by name: the harness's servers run without them."""
    table = doc.get("redis", {})
    _check_keys(table, REDIS_SIMULATOR_ONLY | {"replicas", "sentinel_down_after",
                                               "client_discovery"}, "[redis]")
    replicas = int(table.get("replicas", 0))
    if replicas not in (0, 1):
        raise ScenarioError("[redis].replicas: the harness runs 0 or 1 replica, got %d"
                            % replicas)
    discovery = table.get("client_discovery", "sentinel")
    if discovery not in ("sentinel", "fixed"):
        raise ScenarioError("[redis].client_discovery: \"sentinel\" or \"fixed\"")
    if not replicas and ({"sentinel_down_after", "client_discovery"} & set(table)):
        raise ScenarioError("[redis]: sentinel_down_after and client_discovery need "
                            "replicas = 1")
    down_after_s = parse_duration(table.get("sentinel_down_after", SENTINEL_DOWN_AFTER_S),
                                  "[redis].sentinel_down_after")
    if down_after_s * 1000 != int(down_after_s * 1000) or down_after_s <= 0:
        raise ScenarioError("[redis].sentinel_down_after: Sentinel takes a positive whole "
                            "number of milliseconds")
    return {"replicas": replicas, "sentinel_down_after_s": down_after_s,
            "client_discovery": discovery}


def _check_topology(redis_spec, faults, cron_jobs):
    """Faults and the topology they need: a failover needs the replica, a restart the lone
    server; an old primary back before Sentinel promoted would make Sentinel call the
    failover off (simrq promotes regardless)."""
    for number, fault in enumerate(faults):
        where = "[[faults]] #%d (%s)" % (number + 1, fault["kind"])
        if fault["kind"] in REPLICA_FAULTS and not redis_spec["replicas"]:
            raise ScenarioError("%s: needs [redis] replicas = 1" % where)
        if fault["kind"] in SINGLE_SERVER_FAULTS and redis_spec["replicas"]:
            raise ScenarioError("%s: the harness restarts a lone redis-server only" % where)
        soonest_s = redis_spec["sentinel_down_after_s"] + PROMOTION_MARGIN_S
        if fault["kind"] == "redis_failover" and fault["for_s"] is not None \
                and fault["for_s"] < soonest_s:
            raise ScenarioError("%s.for: the old primary back after %.1f s would be seen by "
                                "Sentinel before it promotes; give at least %.1f s or leave "
                                "`for` out" % (where, fault["for_s"], soonest_s))
    if redis_spec["replicas"] and cron_jobs:
        raise ScenarioError("[[cron]] with [redis] replicas: the harness's `rq cron` takes a "
                            "URL only")


def _load_fault(table, where):
    allowed = {"kind", "at", "pods", "target", "for", "replicas", "persistence", "partition"}
    _check_keys(table, allowed, where)
    kind = table.get("kind")
    if kind not in FAULT_KINDS:
        raise ScenarioError("%s: kind must be one of %s (the harness's share of simrq's kinds)"
                            % (where, ", ".join(sorted(FAULT_KINDS))))
    if "at" not in table:
        raise ScenarioError("%s: the harness runs scripted faults only: set `at`" % where)
    if table.get("persistence", "none") != "none":
        raise ScenarioError("%s.persistence: the harness's Redis has no persistence" % where)
    if table.get("partition", False):
        raise ScenarioError("%s.partition: the harness cannot cut the primary off from "
                            "Sentinel and keep it reachable to the clients" % where)
    # A failover without `for` leaves the old primary down to the end, as simrq does.
    default_for = None if kind == "redis_failover" else "1s"
    fault = {
        "kind": kind,
        "at_s": parse_duration(table["at"], where + ".at"),
        "pods": table.get("pods"),
        "target": table.get("target", "any"),
        "for_s": (parse_duration(table["for"], where + ".for") if "for" in table
                  else None if default_for is None else parse_duration(default_for, where)),
        "replicas": table.get("replicas"),
    }
    if kind == "scale" and (fault["pods"] is None or fault["replicas"] is None):
        raise ScenarioError("%s: scale needs pods and replicas" % where)
    return fault


def load_scenario(path):
    with open(path, "rb") as handle:
        try:
            doc = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ScenarioError("%s: %s" % (path, error)) from error
    _check_keys(doc, {"run", "rq", "pods", "workload", "faults", "checks", "redis", "cron"},
                path)
    faults = [_load_fault(table, "[[faults]] #%d" % (number + 1))
              for number, table in enumerate(doc.get("faults", []))]
    scenario = {
        "path": str(path),
        "run": _load_run(doc),
        "rq": _load_rq(doc),
        "pods": _load_pods(doc),
        "workloads": _load_workloads(doc),
        "cron": _load_cron(doc),
        "redis": _load_redis(doc),
        "faults": sorted(faults, key=lambda fault: fault["at_s"]),
    }
    _check_topology(scenario["redis"], scenario["faults"], scenario["cron"])
    if not scenario["workloads"] and not scenario["cron"]:
        raise ScenarioError("the scenario has no [[workload]] and no [[cron]]")
    return scenario
