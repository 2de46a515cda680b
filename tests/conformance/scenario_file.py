"""Reading a conformance scenario (TOML) into plain dictionaries with defaults filled in.

The shape follows simrq's scenario files (design.md, "Scenario files") with the parts a real run
needs: a finite job list per workload (`jobs = N`), whole-second retry intervals (RQ stores
them as integers), and faults aimed at pods or at Redis. Unknown keys are errors, so a typo
does not silently fall back to a default.

    [run]       duration (wall-time cap), seed, settle (quiet time after the last job ends)
    [rq]        worker_ttl, maintenance_interval, job_monitoring_interval  (RQ CLI settings),
                scheduler_fallback_period (module constant, set by conformance_worker.py)
    [[pods]]    name, replicas, with_scheduler, queues, start_delay, termination_grace_period
    [[workload]] queue, jobs, start, arrival = { constant_per_s = R }, duration = { constant = D },
                fail_probability, fail_attempts, retry = { max, interval }, job_timeout
    [[faults]]  kind, at, target, pod, process, signal, for, restart_after, down_for
"""

import re
import tomllib

RQ_DEFAULTS = {
    "worker_ttl": 420.0,
    "maintenance_interval": 600.0,
    "job_monitoring_interval": 30.0,
    "scheduler_fallback_period": 120.0,
}

FAULT_KINDS = {"pod_kill", "pod_term", "signal", "pause", "redis_pause", "redis_restart"}
TARGETS = {"scheduler_holder", "standby", "busy", "idle", "pod"}
PROCESSES = {"pod", "worker", "horse", "scheduler"}
SIGNALS = {"SIGKILL", "SIGTERM", "SIGINT"}

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
    _check_keys(run, {"duration", "seed", "settle"}, "[run]")
    return {
        "duration_s": parse_duration(run.get("duration", "60s"), "[run].duration"),
        "seed": int(run.get("seed", 1)),
        "settle_s": parse_duration(run.get("settle", "2s"), "[run].settle"),
    }


def _load_rq(doc):
    table = doc.get("rq", {})
    _check_keys(table, set(RQ_DEFAULTS), "[rq]")
    settings = {}
    for key, default in RQ_DEFAULTS.items():
        settings[key] = parse_duration(table.get(key, default), "[rq].%s" % key)
    settings["changed"] = sorted(key for key in RQ_DEFAULTS if key in table)
    return settings


def _load_pods(doc):
    pods = []
    allowed = {"name", "replicas", "with_scheduler", "queues", "start_delay",
               "termination_grace_period"}
    for number, table in enumerate(doc.get("pods", [])):
        where = "[[pods]] #%d" % (number + 1)
        _check_keys(table, allowed, where)
        if "name" not in table:
            raise ScenarioError("%s: missing key name" % where)
        pods.append({
            "name": table["name"],
            "replicas": int(table.get("replicas", 1)),
            "with_scheduler": bool(table.get("with_scheduler", False)),
            "queues": list(table.get("queues", ["default"])),
            "start_delay_s": parse_duration(table.get("start_delay", 0), where + ".start_delay"),
            "grace_s": parse_duration(table.get("termination_grace_period", "30s"),
                                      where + ".termination_grace_period"),
        })
    if not pods:
        raise ScenarioError("the scenario has no [[pods]]")
    return pods


def _load_retry(table, where):
    retry = table.get("retry")
    if retry is None:
        return None
    _check_keys(retry, {"max", "interval"}, where + ".retry")
    interval = retry.get("interval", 0)
    if isinstance(interval, list):
        intervals = [_whole_seconds(item, where + ".retry.interval") for item in interval]
    else:
        intervals = [_whole_seconds(interval, where + ".retry.interval")]
    return {"max": int(retry["max"]), "intervals": intervals}


def _load_workloads(doc):
    workloads = []
    allowed = {"queue", "jobs", "start", "arrival", "duration", "fail_probability",
               "fail_attempts", "retry", "job_timeout"}
    for number, table in enumerate(doc.get("workload", [])):
        where = "[[workload]] #%d" % (number + 1)
        _check_keys(table, allowed, where)
        arrival = table.get("arrival", {"constant_per_s": 1})
        _check_keys(arrival, {"constant_per_s"}, where + ".arrival")
        duration = table.get("duration", {"constant": "100ms"})
        _check_keys(duration, {"constant"}, where + ".duration")
        workloads.append({
            "queue": table.get("queue", "default"),
            "jobs": int(table.get("jobs", 1)),
            "start_s": parse_duration(table.get("start", "1s"), where + ".start"),
            "per_s": float(arrival["constant_per_s"]),
            "duration_s": parse_duration(duration["constant"], where + ".duration.constant"),
            "fail_probability": float(table.get("fail_probability", 0.0)),
            "fail_attempts": [int(a) for a in table.get("fail_attempts", [])],
            "retry": _load_retry(table, where),
            "job_timeout_s": int(parse_duration(table.get("job_timeout", "180s"),
                                                where + ".job_timeout")),
        })
    if not workloads:
        raise ScenarioError("the scenario has no [[workload]]")
    return workloads


def _load_fault(table, where):
    allowed = {"kind", "at", "target", "pod", "process", "signal", "for", "restart_after",
               "down_for"}
    _check_keys(table, allowed, where)
    kind = table.get("kind")
    if kind not in FAULT_KINDS:
        raise ScenarioError("%s: kind must be one of %s" % (where, ", ".join(sorted(FAULT_KINDS))))
    fault = {
        "kind": kind,
        "at_s": parse_duration(table.get("at", 0), where + ".at"),
        "target": table.get("target", "pod" if "pod" in table else "scheduler_holder"),
        "pod": table.get("pod"),
        "process": table.get("process", "pod"),
        "signal": table.get("signal", "SIGKILL"),
        "for_s": parse_duration(table.get("for", "1s"), where + ".for"),
        "restart_after_s": (None if "restart_after" not in table
                            else parse_duration(table["restart_after"], where + ".restart_after")),
        "down_for_s": parse_duration(table.get("down_for", "500ms"), where + ".down_for"),
    }
    if fault["target"] not in TARGETS:
        raise ScenarioError("%s: target must be one of %s" % (where, ", ".join(sorted(TARGETS))))
    if fault["process"] not in PROCESSES:
        raise ScenarioError("%s: process must be one of %s"
                            % (where, ", ".join(sorted(PROCESSES))))
    if fault["signal"] not in SIGNALS:
        raise ScenarioError("%s: signal must be one of %s" % (where, ", ".join(sorted(SIGNALS))))
    return fault


def load_scenario(path):
    with open(path, "rb") as handle:
        try:
            doc = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ScenarioError("%s: %s" % (path, error)) from error
    _check_keys(doc, {"run", "rq", "pods", "workload", "faults", "checks", "redis"}, path)
    faults = [_load_fault(table, "[[faults]] #%d" % (number + 1))
              for number, table in enumerate(doc.get("faults", []))]
    return {
        "path": str(path),
        "run": _load_run(doc),
        "rq": _load_rq(doc),
        "pods": _load_pods(doc),
        "workloads": _load_workloads(doc),
        "faults": sorted(faults, key=lambda fault: fault["at_s"]),
    }
