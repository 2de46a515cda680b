"""Applying a scenario's scripted faults to real processes with real signals.

The kinds and targets are simrq's (docs/scenario-format.md, `[[faults]]`), applied as simrq
applies them (src/faults.rs, src/cluster.rs). Targets are resolved when the fault fires:
a pod name (`worker-1`, which also matches its restarted container `worker-1.1`),
`scheduler_holder` (the pod whose scheduler process holds a lock), `any`, or a role
(`worker`, `horse`, `scheduler`): for `pause` only that process, for pod faults its pod.
`pods = "group"` narrows the choice to one `[[pods]]` group. Where simrq picks at random, the
harness takes the first candidate by name.

| kind | effect |
|---|---|
| pod_kill | SIGKILL every process of the pod; with `restart_policy` Always or OnFailure the container restarts after `crash_loop_backoff.initial` + `start_delay` |
| pod_delete | SIGTERM to the worker main process (PID 1), SIGKILL to what is left after `termination_grace_period`; a replacement pod starts after `start_delay` |
| scale | the `pods` group goes to `replicas`: the newest pods are deleted as above without replacement, or new pods start |
| pause | SIGSTOP for `for`, then SIGCONT: the holder's scheduler process for `scheduler_holder`, one process for a role, the whole pod otherwise |
| redis_pause | SIGSTOP redis-server for `for`, then SIGCONT |
| redis_restart | SIGKILL redis-server (no persistence: the keyspace is lost), start it again on the same port after `for` |
| redis_failover | SIGKILL the primary (the server Sentinel names master): Sentinel promotes the replica after down-after; after `for`, the old node starts again on its port as a replica of the new primary (simrq's old host back as a replica) |
| replica_lag | SIGSTOP the replica and drop its link on the primary (`CLIENT KILL TYPE replica`), so it holds the keyspace of the stall's start; SIGCONT after `for`: it reconnects and catches up from the backlog, unless the primary died meanwhile |
| shutdown | `send_shutdown_command` to the pod's worker (its name is the pod's name) |
| kill_horse | `send_kill_horse_command` to the pod's worker |
| stop_job | `HGET rq:worker:<w> current_job`, then `send_stop_job_command` for that job (none: nothing is sent) |

A pod whose worker exits after a command (`shutdown`) is restarted by the harness's kubelet
(harness.py `kubelet_tick`), as a worker that reached `--max-jobs` is.
"""

import signal
import time

import redis
from rq.command import send_kill_horse_command, send_shutdown_command, send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError

from observe import detail
from scenario_file import COMMAND_KINDS

TARGET_WAIT_S = 10.0
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


def horse_pids(run, pod):
    schedulers = set(run.poller.scheduler_pids_of(pod.name))
    return [pid for pid in pod.children() if pid not in schedulers]


ROLES = ("worker", "horse", "scheduler")


def _in_group(pod, fault):
    return fault["pods"] is None or pod.spec["name"] == fault["pods"]


def _candidates(run, fault):
    alive = [pod for pod in run.all_pods() if pod.alive() and _in_group(pod, fault)]
    target = fault["target"]
    if target == "scheduler_holder":
        holders = set(run.poller.holder_pods())
        return [pod for pod in alive if pod.name in holders]
    if target == "any" or (target in ROLES and fault["kind"] != "pause"):
        return alive
    if target in ROLES:
        return [pod for pod in alive if process_pids(run, pod, target)]
    return [pod for pod in alive if pod.name.split(".")[0] == target]


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
    if process == "pod" and run.cron is not None:
        pids += run.cron.pids_of(pod.name)  # the pod's `rq cron` (cron.py)
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
                           detail=detail(("signal", signal.Signals(signum).name), ("pid", pid)))
            if signum == signal.SIGKILL:
                run.kill_log.append((time.time(), pod.name))


def paused_process(fault):
    """Which processes of the target pod a pause stops, as simrq's `pause_targets`."""
    if fault["target"] == "scheduler_holder":
        return "scheduler"
    return fault["target"] if fault["target"] in ROLES else "pod"


def apply(run, fault):
    describe = detail(("fault", fault["kind"]), ("target", fault["target"]))
    if run.cron is not None and run.cron.handles(fault):
        return run.cron.apply_fault(fault)  # `rq cron` processes (cron.py)
    if fault["kind"] == "redis_pause":
        return _redis_pause(run, fault, detail(("fault", fault["kind"])))
    if fault["kind"] == "redis_restart":
        return _redis_restart(run, fault, detail(("fault", fault["kind"])))
    if fault["kind"] == "redis_failover":
        return _redis_failover(run, fault, detail(("fault", fault["kind"])))
    if fault["kind"] == "replica_lag":
        return _replica_lag(run, fault, detail(("fault", fault["kind"])))
    if fault["kind"] == "scale":
        return _scale(run, fault)
    pod = resolve_pod(run, fault)
    if pod is None:
        run.events.add(time.time(), "fault", process="harness",
                       detail=describe + " skipped=no_target")
        return
    run.table.remember_tree(pod.worker_pid)
    process = paused_process(fault) if fault["kind"] == "pause" else "pod"
    run.events.add(time.time(), "fault", pod=pod.name, process=process, detail=describe)
    if fault["kind"] in COMMAND_KINDS:
        return _command(run, fault, pod)
    handlers = {"pod_kill": _pod_kill, "pod_delete": _pod_delete, "pause": _pause}
    handlers[fault["kind"]](run, fault, pod)


def _command(run, fault, pod):
    """An operator's `rq.command` call, from its own connection, to the pod's worker."""
    client = run.redis.client(socket_timeout=5, socket_connect_timeout=2)
    worker = pod.name  # the harness starts each worker with `--name <pod>`
    pairs = [("fault", fault["kind"]), ("worker", worker)]
    try:
        if fault["kind"] == "shutdown":
            send_shutdown_command(client, worker)
        elif fault["kind"] == "kill_horse":
            send_kill_horse_command(client, worker)
            # The worker's pubsub thread kills the horse within milliseconds: the end of the
            # execution, for outputs.py (the poller only sees RQ's reaction ~0.1 s later).
            run.kill_log.append((time.time(), pod.name))
        else:
            job_id = client.hget("rq:worker:%s" % worker, "current_job")
            if not job_id:
                pairs.append(("skipped", "no_current_job"))
            else:
                pairs.append(("job", job_id.decode()))
                send_stop_job_command(client, job_id.decode())
                run.kill_log.append((time.time(), pod.name))
    except (redis.RedisError, InvalidJobOperation, NoSuchJobError) as error:
        pairs.append(("error", type(error).__name__))
    finally:
        client.close()
    run.events.add(time.time(), "operator_command", pod=pod.name, process="operator",
                   detail=detail(*pairs))


def _pod_kill(run, _fault, pod):
    pod.fault_owned = True  # its restart is scheduled here, not by the kubelet's watch
    _signal_all(run, pod, process_pids(run, pod, "pod"), signal.SIGKILL, "process_killed")
    if pod.spec["restart_policy"] != "Never":
        # SIGKILL ends the container with 137, a failure: Always and OnFailure restart it,
        # after the first CrashLoopBackOff delay and the container's start delay.
        delay_s = pod.spec["restart_backoff_s"] + pod.spec["start_delay_s"]
        run.at(run.now_s() + delay_s, lambda: run.replace_pod(pod.name))


def terminate_pod(run, pod):
    """SIGTERM to PID 1 (the worker), SIGKILL to what is left after the grace period."""
    run.table.remember_tree(pod.worker_pid)
    pod.fault_owned = True  # deleted: replaced (or not, for a scale-down) by the fault
    _signal_all(run, pod, [(pod.worker_pid, "worker")], signal.SIGTERM, None)
    if run.cron is not None:
        _signal_all(run, pod, run.cron.pids_of(pod.name), signal.SIGTERM, None)

    def grace_over():
        left = [(pid, role) for pid, role in process_pids(run, pod, "pod")]
        if pod.alive() or len(left) > 1:
            _signal_all(run, pod, left, signal.SIGKILL, "process_killed")
    run.at(run.now_s() + pod.spec["grace_s"], grace_over)


def _pod_delete(run, _fault, pod):
    terminate_pod(run, pod)
    run.at(run.now_s() + pod.spec["start_delay_s"], lambda: run.add_pod(pod.spec))


def _scale(run, fault):
    group = [pod for pod in run.all_pods() if pod.alive() and _in_group(pod, fault)]
    group.sort(key=lambda pod: pod.index)
    wanted = int(fault["replicas"])
    run.events.add(time.time(), "fault", process="harness",
                   detail=detail(("fault", "scale"), ("group", fault["pods"]),
                                 ("replicas", wanted)))
    for pod in group[wanted:][::-1]:
        terminate_pod(run, pod)
    spec = run.group_spec(fault["pods"])
    for _ in range(len(group), wanted):
        run.at(run.now_s() + spec["start_delay_s"], lambda: run.add_pod(spec))


def _pause(run, fault, pod):
    pids = process_pids(run, pod, paused_process(fault))
    _signal_all(run, pod, pids, signal.SIGSTOP, "process_paused")
    run.at(run.now_s() + fault["for_s"],
           lambda: _signal_all(run, pod, pids, signal.SIGCONT, "process_resumed"))


def _redis_pause(run, fault, describe):
    run.events.add(time.time(), "fault", pod="redis", process="redis-server", detail=describe)
    run.redis.pause()
    run.events.add(time.time(), "process_paused", pod="redis", process="redis-server",
                   detail=detail(("signal", "SIGSTOP"), ("for_s", "%.3f" % fault["for_s"])))

    def resume():
        run.redis.resume()
        run.events.add(time.time(), "process_resumed", pod="redis", process="redis-server",
                       detail=detail(("signal", "SIGCONT")))
    run.at(run.now_s() + fault["for_s"], resume)


def _redis_restart(run, fault, describe):
    run.events.add(time.time(), "fault", pod="redis", process="redis-server", detail=describe)
    run.redis.kill()
    run.redis_epoch += 1
    run.events.add(time.time(), "process_killed", pod="redis", process="redis-server",
                   detail=detail(("signal", "SIGKILL"), ("keyspace", "lost")))

    def start_again():
        run.redis.start()
        run.events.add(time.time(), "process_resumed", pod="redis", process="redis-server",
                       detail=detail(("restarted", "empty"), ("port", run.redis.port)))
    run.at(run.now_s() + fault["for_s"], start_again)


def _redis_failover(run, fault, describe):
    """The primary's process dies (simrq: the primary is down, connections refused); Sentinel
    alone decides when the replica takes over. The old node comes back after `for` as a
    replica of whichever server Sentinel then names master."""
    topology = run.redis
    old = topology.master()
    run.events.add(time.time(), "fault", pod="redis", process="redis-server", detail=describe)
    old.kill()
    run.redis_epoch += 1
    run.events.add(time.time(), "process_killed", pod="redis", process="redis-server",
                   detail=detail(("signal", "SIGKILL"), ("port", old.port), ("role", "primary")))
    if fault["for_s"] is None:
        return

    def back_as_replica():
        old.replica_of = topology.master_port()
        old.start()
        run.events.add(time.time(), "process_resumed", pod="redis", process="redis-server",
                       detail=detail(("restarted", "replica"), ("port", old.port),
                                     ("replica_of", old.replica_of)))
    run.at(run.now_s() + fault["for_s"], back_as_replica)


def _replica_lag(run, fault, describe):
    """Replication stalls for `for`: the replica is stopped first (it cannot reconnect), then
    the primary drops its link, so writes from here on stay in the primary's backlog. Bytes
    already sent are in the replica's socket and are applied when it resumes, as the
    keyspace of the stall's start (to a few milliseconds)."""
    topology = run.redis
    run.events.add(time.time(), "fault", pod="redis", process="redis-server", detail=describe)
    topology.replica.pause()
    try:
        topology.master().command("CLIENT", "KILL", "TYPE", "replica")
    except redis.RedisError as error:
        run.events.add(time.time(), "redis_error", process="harness",
                       detail=detail(("phase", "replica_lag"), ("error", type(error).__name__)))
    run.events.add(time.time(), "process_paused", pod="redis", process="redis-replica",
                   detail=detail(("signal", "SIGSTOP"), ("for_s", "%.3f" % fault["for_s"])))

    def resume():
        topology.replica.resume()
        run.events.add(time.time(), "process_resumed", pod="redis", process="redis-replica",
                       detail=detail(("signal", "SIGCONT")))
    run.at(run.now_s() + fault["for_s"], resume)
