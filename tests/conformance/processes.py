"""The real processes of a conformance run: redis-server (alone, or a primary, a replica and a
Sentinel), `rq worker` pods, and their children.

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

import redis
from redis.sentinel import Sentinel


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

    def __init__(self, table, directory, log_path, port=None):
        self.table = table
        self.directory = directory
        self.log_path = log_path
        self.port = port or free_port()
        self.process = None
        # `--replicaof` host and port when this server starts as a replica.
        self.replica_of = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def client(self, **timeouts):
        """A client of this server (the address is fixed)."""
        return redis.Redis.from_url(self.url, **timeouts)

    def start(self):
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                   "--save", "", "--appendonly", "no", "--dir", self.directory,
                   "--protected-mode", "yes", "--daemonize", "no"]
        if self.replica_of is not None:
            command += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        # A replica's full sync starts at once instead of after Redis's 5 s wait for more
        # replicas to share one RDB transfer (only set-up and a failed-over node sync fully).
        command += ["--repl-diskless-sync-delay", "0"]
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

    def command(self, *args):
        """One command on a short-lived connection (set-up and the harness's faults)."""
        with self.client(socket_timeout=2, socket_connect_timeout=2) as connection:
            return connection.execute_command(*args)


MASTER_NAME = "simrq"


def sentinel_config(port, primary_port, down_after_ms, directory):
    """The config file of one Sentinel watching the primary with quorum 1. Its failover
    timeout (which also spaces a retried failover) is ten times down-after, at least 10 s."""
    return "\n".join([
        "port %d" % port, "bind 127.0.0.1", "daemonize no", "dir %s" % directory,
        "sentinel resolve-hostnames no",
        "sentinel monitor %s 127.0.0.1 %d 1" % (MASTER_NAME, primary_port),
        "sentinel down-after-milliseconds %s %d" % (MASTER_NAME, down_after_ms),
        "sentinel failover-timeout %s %d" % (MASTER_NAME, max(10000, 10 * down_after_ms)),
        "sentinel parallel-syncs %s 1" % MASTER_NAME, ""])


class SentinelProcess(RedisServer):
    """`redis-sentinel` (Debian's redis-server in sentinel mode) on its own free port."""

    def __init__(self, table, directory, log_path, primary_port, down_after_ms):
        super().__init__(table, directory, log_path)
        self.config_path = os.path.join(directory, "sentinel-%d.conf" % self.port)
        with open(self.config_path, "w", encoding="utf-8") as handle:
            handle.write(sentinel_config(self.port, primary_port, down_after_ms, directory))

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(["redis-sentinel", self.config_path], stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        self.table.remember(self.process.pid)
        self._wait_ready()


class ReplicatedRedis:
    """A primary, one replica (`--replicaof`) and one Sentinel (quorum 1), each on its own free
    port of 127.0.0.1, standing where the suite's single redis-server stands: `url` names the
    primary as started (`client_discovery = "fixed"`), `client()` follows the master Sentinel
    names (`"sentinel"`), as redis-py's `Sentinel.master_for` does for RQ's CLI."""

    def __init__(self, table, directory, logs_dir, down_after_s, discovery):
        self.table = table
        self.discovery = discovery
        self.primary = RedisServer(table, directory, os.path.join(logs_dir, "redis-primary.log"))
        self.replica = RedisServer(table, directory, os.path.join(logs_dir, "redis-replica.log"))
        self.replica.replica_of = self.primary.port
        self.sentinel = SentinelProcess(table, directory, os.path.join(logs_dir, "sentinel.log"),
                                        self.primary.port, int(round(down_after_s * 1000)))
        self.servers = {self.primary.port: self.primary, self.replica.port: self.replica}

    @property
    def url(self):
        return self.primary.url

    @property
    def port(self):
        return self.primary.port

    def client(self, **timeouts):
        if self.discovery == "fixed":
            return self.primary.client(**timeouts)
        sentinel = Sentinel([("127.0.0.1", self.sentinel.port)], sentinel_kwargs=dict(timeouts))
        return sentinel.master_for(MASTER_NAME, **timeouts)

    def sentinel_settings(self):
        """RQ's `SENTINEL` setting (rq/cli/helpers.py `get_redis_from_config`) for `-c`."""
        return {"INSTANCES": [("127.0.0.1", self.sentinel.port)], "MASTER_NAME": MASTER_NAME}

    def start(self):
        """Primary, then replica, then Sentinel once the replica is in sync, so Sentinel's
        first INFO of the primary names the replica; returns when Sentinel lists it."""
        self.primary.start()
        self.replica.start()
        self._wait_for(lambda: self.replica.command("INFO", "replication").get(
            "master_link_status") == "up", "the replica to sync")
        self.sentinel.start()
        self._wait_for(lambda: self.sentinel.command("SENTINEL", "REPLICAS", MASTER_NAME),
                       "Sentinel to list the replica")

    def _wait_for(self, ready, what, timeout_s=15.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except (redis.RedisError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("timed out waiting for %s" % what)

    def master_port(self):
        """The master's port as Sentinel names it now."""
        host_port = self.sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        return int(host_port[1])

    def master(self):
        """The server Sentinel names master (for pause and the final read)."""
        return self.servers.get(self.master_port(), self.primary)

    def pause(self):
        self.master().pause()

    def resume(self):
        for server in self.servers.values():
            if server.process is not None and server.process.poll() is None:
                server.resume()

    def kill(self):
        for server in [self.sentinel] + list(self.servers.values()):
            server.kill()


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
