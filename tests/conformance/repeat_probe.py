"""Probe of RQ 2.12's `Repeat` and webhooks against a real `rq worker` (docs/repeat-and-webhooks.md).

Not part of the conformance suite: it records what the claims marked "tested against real RQ"
in docs/repeat-and-webhooks.md rest on. It starts its own redis-server (no persistence, a free
port on 127.0.0.1), `redis-cli monitor`, a local HTTP endpoint that answers after 2 s, and one
`rq worker --with-scheduler`, enqueues a few jobs, waits, prints each job's hash fields and
runs, and kills exactly the processes it started.

    tests/conformance/.venv/bin/python tests/conformance/repeat_probe.py repeat
    tests/conformance/.venv/bin/python tests/conformance/repeat_probe.py webhooks

The `MONITOR` log is left in the printed directory.
"""

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

JOBS_MODULE = '''
import json, os, time
LOG = os.environ["PROBE_DIR"] + "/runs.jsonl"

def _log(**fields):
    with open(LOG, "a") as out:
        out.write(json.dumps(dict(t=time.time(), **fields)) + "\\n")

def tick(name):
    _log(name=name)

def flaky(name, fail_on):
    path = os.environ["PROBE_DIR"] + "/count-" + name
    n = int(open(path).read()) + 1 if os.path.exists(path) else 1
    open(path, "w").write(str(n))
    _log(name=name, n=n)
    if n in fail_on:
        raise ValueError("execution %d fails" % n)
'''


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def endpoint(port, delay_s, log_path):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            start = time.time()
            time.sleep(delay_s)
            with open(log_path, 'a') as out:
                out.write(json.dumps(dict(path=self.path, start=start, end=time.time())) + '\n')
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass  # the sender gave up (its timeout)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler).serve_forever()


def enqueue(which, queue, hook_port):
    from rq import Repeat, Retry
    from rq.webhook import Webhook

    import probe_jobs

    if which == 'repeat':
        queue.enqueue(probe_jobs.tick, 'zero', repeat=Repeat(times=2, interval=0), job_id='zero')
        queue.enqueue(probe_jobs.tick, 'ends', repeat=Repeat(times=3, interval=[1, 3]), job_id='ends')
        queue.enqueue(probe_jobs.flaky, 'stop', [2], repeat=Repeat(times=3), job_id='stop')
        queue.enqueue(
            probe_jobs.flaky, 'both', [2, 4], repeat=Repeat(times=2), retry=Retry(max=1), job_id='both'
        )
        return ['zero', 'ends', 'stop', 'both'], 25
    hooks = [
        Webhook('http://127.0.0.1:%d/finished' % hook_port, 'finished', timeout=10),
        Webhook('http://127.0.0.1:%d/failed' % hook_port, 'failed', timeout=1),
    ]
    queue.enqueue(probe_jobs.tick, 'hook', repeat=Repeat(times=1), webhooks=hooks, job_id='hook')
    queue.enqueue(probe_jobs.flaky, 'hookfail', [1], webhooks=hooks, job_id='hookfail')
    queue.enqueue(probe_jobs.tick, 'after', job_id='after')
    return ['hook', 'hookfail', 'after'], 20


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else 'repeat'
    work = tempfile.mkdtemp(prefix='repeat-probe-')
    with open(os.path.join(work, 'probe_jobs.py'), 'w') as out:
        out.write(JOBS_MODULE)
    sys.path.insert(0, work)
    os.environ['PROBE_DIR'] = work
    redis_port, hook_port = free_port(), free_port()
    started = []

    def start(command, **options):
        process = subprocess.Popen(command, **options)
        started.append(process)
        return process

    try:
        start(['redis-server', '--port', str(redis_port), '--save', '', '--appendonly', 'no'],
              stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        start(['redis-cli', '-p', str(redis_port), 'monitor'],
              stdout=open(os.path.join(work, 'monitor.txt'), 'w'))
        hook_log = os.path.join(work, 'hooks.jsonl')
        code = 'import sys; sys.path.insert(0, %r); import repeat_probe; repeat_probe.endpoint(%d, 2.0, %r)'
        here = os.path.dirname(os.path.abspath(__file__))
        start([sys.executable, '-c', code % (here, hook_port, hook_log)])
        time.sleep(0.3)
        from redis import Redis
        from rq import Queue

        redis = Redis(port=redis_port)
        jobs, wait_s = enqueue(which, Queue('default', connection=redis), hook_port)
        rq = os.path.join(os.path.dirname(sys.executable), 'rq')
        env = dict(os.environ, PYTHONPATH=work)
        start([rq, 'worker', '-u', 'redis://127.0.0.1:%d' % redis_port, '--with-scheduler', 'default'],
              env=env, stdout=open(os.path.join(work, 'worker.log'), 'w'), stderr=subprocess.STDOUT)
        time.sleep(wait_s)
        for job in jobs:
            fields = {k.decode(): v.decode(errors='replace') for k, v in redis.hgetall('rq:job:' + job).items()}
            wanted = ('status', 'repeats_left', 'repeat_intervals', 'retries_left')
            print(job, {k: fields[k] for k in wanted if k in fields}, 'ttl', redis.ttl('rq:job:' + job))
        rows = [json.loads(line) for line in open(os.path.join(work, 'runs.jsonl'))]
        timeline = [(row['t'], 'run', row['name']) for row in rows]
        if os.path.exists(hook_log):
            for hook in map(json.loads, open(hook_log)):
                timeline += [(hook['start'], 'webhook start', hook['path']),
                             (hook['end'], 'webhook answered', hook['path'])]
        origin = min(t for t, _, _ in timeline)
        for t, what, name in sorted(timeline):
            print('%8.3f s  %s %s' % (t - origin, what, name))
        print('logs:', work)
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        time.sleep(1)
        for process in started:
            if process.poll() is None:
                process.kill()


if __name__ == '__main__':
    main()
