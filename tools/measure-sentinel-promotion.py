#!/usr/bin/env python3
"""How long Redis Sentinel takes to name a promoted replica after down-after.

    tools/measure-sentinel-promotion.py [DOWN_AFTER_MS] [TRIALS]     defaults 5000 and 5

Starts a primary, a replica and one Sentinel (quorum 1) from the machine's redis-server on
ports 17401-17403 (+10 per trial) of 127.0.0.1, SIGKILLs the primary and polls every 10 ms
until the replica reports the master role and until Sentinel's get-master-addr-by-name names
it. Stops only the processes it started. The figures back `[redis] sentinel_promotion`'s
default (docs/scenario-format.md).
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

WORKDIR = tempfile.mkdtemp(prefix="simrq-sentinel-")

def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=5).stdout.strip()

def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close(); return
        except OSError: time.sleep(0.02)
    raise SystemExit(f"port {port} never opened")

def run(trial, down_after_ms):
    A, B, S = 17401 + trial*10, 17402 + trial*10, 17403 + trial*10
    procs = []
    a = subprocess.Popen(["redis-server", "--port", str(A), "--save", "", "--appendonly", "no", "--dir", WORKDIR], stdout=subprocess.DEVNULL)
    wait_port(A)
    b = subprocess.Popen(["redis-server", "--port", str(B), "--save", "", "--appendonly", "no", "--replicaof", "127.0.0.1", str(A), "--dir", WORKDIR], stdout=subprocess.DEVNULL)
    wait_port(B)
    conf = os.path.join(WORKDIR, f"sentinel-{trial}.conf")
    open(conf, "w").write(f"port {S}\nsentinel monitor m 127.0.0.1 {A} 1\nsentinel down-after-milliseconds m {down_after_ms}\nsentinel failover-timeout m 60000\n")
    s = subprocess.Popen(["redis-server", conf, "--sentinel"], stdout=subprocess.DEVNULL)
    wait_port(S)
    # wait until the replica is in sync and sentinel knows it
    for _ in range(300):
        if "master_link_status:up" in cli(B, "INFO", "replication") and "num-slaves" in cli(S, "SENTINEL", "master", "m") and cli(S, "SENTINEL", "replicas", "m"):
            break
        time.sleep(0.05)
    time.sleep(2)
    t0 = time.monotonic()
    a.send_signal(signal.SIGKILL); a.wait()
    t_addr = t_role = None
    while time.monotonic() - t0 < 120 and (t_addr is None or t_role is None):
        if t_addr is None and cli(S, "SENTINEL", "get-master-addr-by-name", "m").endswith(str(B)):
            t_addr = time.monotonic() - t0
        if t_role is None and cli(B, "ROLE").startswith("master"):
            t_role = time.monotonic() - t0
        time.sleep(0.01)
    for p in (b, s): p.send_signal(signal.SIGKILL); p.wait()
    return t_role, t_addr

down = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
for trial in range(int(sys.argv[2]) if len(sys.argv) > 2 else 5):
    role, addr = run(trial, down)
    print(f"trial {trial}: down-after {down/1000:.1f}s  replica is master at {role:.3f}s  sentinel reports it at {addr:.3f}s  (promotion after down-after: {addr - down/1000:.3f}s)", flush=True)
