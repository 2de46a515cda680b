"""The real processes of a conformance run: redis-server, `rq worker` pods, and their children.

Everything the harness starts is remembered by (pid, start time) so that teardown signals only
those processes, by pid, even after a pid was re-parented (an orphaned work-horse or scheduler
process) and never a recycled pid. Children are found by scanning /proc (no psutil).
"""

import os
import signal
import socket
import subprocess
import threading
import time


def proc_start_time(pid):
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if pid is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[19])


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()[0]


def is_running(pid):
    """True if pid exists and is not a zombie."""
    state = proc_state(pid)
    return state is not None and state != "Z"


def children_of(pid):
    """Direct children of pid, from /proc/<pid>/task/*/children."""
    found = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return found
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as handle:
                found.extend(int(item) for item in handle.read().split())
        except OSError:
            continue
    return sorted(set(found))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ProcessTable:
    """Every pid this run started or saw as a child of one it started."""

    def __init__(self):
        self._lock = threading.Lock()
        self._known = {}

    def remember(self, pid):
        start = proc_start_time(pid)
        if start is None:
            return
        with self._lock:
            self._known.setdefault(pid, start)

    def remember_tree(self, pid):
        self.remember(pid)
        for child in children_of(pid):
            self.remember_tree(child)

    def owns(self, pid):
        with self._lock:
            start = self._known.get(pid)
        return start is not None and proc_start_time(pid) == start

    def signal(self, pid, signum):
        """Send signum to pid if it is still the process we started; True if sent."""
        if not self.owns(pid):
            return False
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return False
        return True

    def kill_all(self):
        """SIGCONT then SIGKILL every remembered process that still exists."""
        with self._lock:
            pids = sorted(self._known)
        for pid in pids:
            if self.owns(pid):
                for signum in (signal.SIGKILL, signal.SIGCONT):
                    try:
                        os.kill(pid, signum)
                    except ProcessLookupError:
                        pass


class RedisServer:
    """A private redis-server on 127.0.0.1 with no persistence, in its own directory."""

    def __init__(self, table, directory, log_path):
        self.table = table
        self.directory = directory
        self.log_path = log_path
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self):
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                   "--save", "", "--appendonly", "no", "--dir", self.directory,
                   "--protected-mode", "yes", "--daemonize", "no"]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.table.remember(self.process.pid)
        self._wait_ready()

    def _wait_ready(self, timeout_s=10.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("redis-server exited at start; see %s" % self.log_path)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING on port %d" % self.port)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.table.signal(self.process.pid, signal.SIGCONT)
            self.table.signal(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def pause(self):
        self.table.signal(self.process.pid, signal.SIGSTOP)

    def resume(self):
        self.table.signal(self.process.pid, signal.SIGCONT)


class Pod:
    """One `rq worker` process, standing for a Kubernetes pod running it as PID 1."""

    def __init__(self, name, spec, table):
        self.name = name
        self.spec = spec
        self.table = table
        self.process = None
        self.started_at = None

    def start(self, argv, env, log_path):
        log = open(log_path, "ab")
        self.process = subprocess.Popen(argv + ["--name", self.name] + self.spec["queues"],
                                        stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env,
                                        start_new_session=True)
        log.close()
        self.started_at = time.time()
        self.table.remember(self.process.pid)

    @property
    def index(self):
        """The replica number: 1 for `worker-1` and its restarted container `worker-1.2`."""
        return int(self.name.split(".")[0].rsplit("-", 1)[1])

    @property
    def worker_pid(self):
        return None if self.process is None else self.process.pid

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def children(self):
        if not self.alive():
            return []
        return [pid for pid in children_of(self.worker_pid) if is_running(pid)]
