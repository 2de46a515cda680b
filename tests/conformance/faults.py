"""Applying a scenario's scripted faults to real processes with real signals.

Targets are resolved when the fault fires, as an operator would aim them:
`scheduler_holder` (the pod whose scheduler process holds a lock), `standby` (a
`--with-scheduler` pod that does not), `busy` (a pod whose work-horse is running), `idle`,
or `pod` with `pod = "worker-1"`. Processes: `pod` (worker, horse and scheduler), `worker`
(the main process only), `horse`, `scheduler`.

| kind | effect |
|---|---|
| pod_kill | SIGKILL every process of the pod; a replacement starts after `restart_after` if set |
| pod_term | SIGTERM to the worker main process (PID 1 in Kubernetes), SIGKILL to what is left after the pod's `termination_grace_period` |
| signal | `signal` (SIGKILL, SIGTERM, SIGINT) to `process` |
| pause | SIGSTOP `process` for `for`, then SIGCONT |
| redis_pause | SIGSTOP redis-server for `for`, then SIGCONT |
| redis_restart | SIGKILL redis-server (no persistence: the keyspace is lost), start it again on the same port after `down_for` |
"""

import signal
import time

TARGET_WAIT_S = 10.0
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


def horse_pids(run, pod):
    schedulers = set(run.poller.scheduler_pids_of(pod.name))
    return [pid for pid in pod.children() if pid not in schedulers]


def _candidates(run, fault):
    alive = [pod for pod in run.all_pods() if pod.alive()]
    target = fault["target"]
    if target == "pod":
        return [pod for pod in alive if pod.name == fault["pod"]]
    if target == "scheduler_holder":
        holders = set(run.poller.holder_pods())
        return [pod for pod in alive if pod.name in holders]
    if target == "standby":
        holders = set(run.poller.holder_pods())
        return [pod for pod in alive if pod.spec["with_scheduler"] and pod.name not in holders]
    if target == "busy":
        return [pod for pod in alive if horse_pids(run, pod)]
    return [pod for pod in alive if not horse_pids(run, pod)]


def resolve_pod(run, fault):
    """The first pod (by name) matching the fault's target; waits up to 10 s for one."""
    deadline = time.time() + TARGET_WAIT_S
    while True:
        found = sorted(_candidates(run, fault), key=lambda pod: pod.name)
        if found or time.time() > deadline:
            return found[0] if found else None
        time.sleep(0.05)


def process_pids(run, pod, process):
    """(pid, role) pairs of `process` in `pod`: children first, the worker last."""
    pids = []
    if process in ("pod", "horse"):
        pids += [(pid, "horse") for pid in horse_pids(run, pod)]
    if process in ("pod", "scheduler"):
        pids += [(pid, "scheduler") for pid in run.poller.scheduler_pids_of(pod.name)]
    if process in ("pod", "worker"):
        pids.append((pod.worker_pid, "worker"))
    return pids


def _signal_all(run, pod, pids, signum, kind):
    """Signal each pid; record a `kind` event per pid (None: the `fault` event says it all)."""
    for pid, role in pids:
        if run.table.signal(pid, signum) and kind is not None:
            run.events.add(time.time(), kind, pod=pod.name, process=role,
                           detail="%s pid %d" % (signal.Signals(signum).name, pid))
            if signum == signal.SIGKILL:
                run.kill_log.append((time.time(), pod.name))


def apply(run, fault):
    describe = "%s target=%s process=%s" % (fault["kind"], fault["target"], fault["process"])
    if fault["kind"].startswith("redis_"):
        describe = fault["kind"]
    elif fault["kind"] == "signal":
        describe += " signal=%s" % fault["signal"]
    elif fault["kind"] == "pod_term":
        describe += " signal=SIGTERM to the worker"
    if fault["kind"] == "redis_pause":
        return _redis_pause(run, fault, describe)
    if fault["kind"] == "redis_restart":
        return _redis_restart(run, fault, describe)
    pod = resolve_pod(run, fault)
    if pod is None:
        run.events.add(time.time(), "fault", process="harness",
                       detail="%s: no pod matched, fault skipped" % describe)
        return
    run.table.remember_tree(pod.worker_pid)
    run.events.add(time.time(), "fault", pod=pod.name, process=fault["process"],
                   detail=describe)
    handlers = {"pod_kill": _pod_kill, "pod_term": _pod_term, "signal": _signal,
                "pause": _pause}
    handlers[fault["kind"]](run, fault, pod)


def _pod_kill(run, fault, pod):
    _signal_all(run, pod, process_pids(run, pod, "pod"), signal.SIGKILL, "process_killed")
    if fault["restart_after_s"] is not None:
        run.at(run.now_s() + fault["restart_after_s"], lambda: run.replace_pod(pod.name))


def _pod_term(run, fault, pod):
    _signal_all(run, pod, [(pod.worker_pid, "worker")], signal.SIGTERM, None)

    def grace_over():
        left = [(pid, role) for pid, role in process_pids(run, pod, "pod")]
        if pod.alive() or len(left) > 1:
            _signal_all(run, pod, left, signal.SIGKILL, "process_killed")
    run.at(run.now_s() + pod.spec["grace_s"], grace_over)
    if fault["restart_after_s"] is not None:
        run.at(run.now_s() + fault["restart_after_s"], lambda: run.replace_pod(pod.name))


def _signal(run, fault, pod):
    signum = SIGNALS[fault["signal"]]
    kind = "process_killed" if signum == signal.SIGKILL else None
    _signal_all(run, pod, process_pids(run, pod, fault["process"]), signum, kind)


def _pause(run, fault, pod):
    pids = process_pids(run, pod, fault["process"])
    _signal_all(run, pod, pids, signal.SIGSTOP, "process_paused")
    run.at(run.now_s() + fault["for_s"],
           lambda: _signal_all(run, pod, pids, signal.SIGCONT, "process_resumed"))


def _redis_pause(run, fault, describe):
    run.events.add(time.time(), "fault", pod="redis", process="redis-server", detail=describe)
    run.redis.pause()
    run.events.add(time.time(), "process_paused", pod="redis", process="redis-server",
                   detail="SIGSTOP for %.3f s" % fault["for_s"])

    def resume():
        run.redis.resume()
        run.events.add(time.time(), "process_resumed", pod="redis", process="redis-server",
                       detail="SIGCONT")
    run.at(run.now_s() + fault["for_s"], resume)


def _redis_restart(run, fault, describe):
    run.events.add(time.time(), "fault", pod="redis", process="redis-server", detail=describe)
    run.redis.kill()
    run.redis_epoch += 1
    run.events.add(time.time(), "process_killed", pod="redis", process="redis-server",
                   detail="SIGKILL, keyspace lost")

    def start_again():
        run.redis.start()
        run.events.add(time.time(), "process_resumed", pod="redis", process="redis-server",
                       detail="restarted empty on port %d" % run.redis.port)
    run.at(run.now_s() + fault["down_for_s"], start_again)
