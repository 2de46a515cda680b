"""The HTTP endpoint of a scenario's webhooks (`[[workload]] webhook = { on, latency, timeout }`).

RQ 2.12's `Webhook(url, status, timeout=…)` sends a GET (`urlopen(..., timeout)`) after the
job's success commit or its final failure commit, in the process that handled the job, and
waits for the answer. The endpoint answers after the workload's `latency`, which is in the URL
(`/hook/<job>/<status>/<latency ms>`), so one server serves every workload. It runs on a free
127.0.0.1 port in a daemon thread of the harness and records each request as a
`webhook_sent` event at the moment it answers, with the time it arrived.
"""

import http.server
import threading
import time

from rq.webhook import Webhook

from observe import detail
from processes import free_port


def hook_path(job_id, status, latency_s):
    return "/hook/%s/%s/%d" % (job_id, status, round(latency_s * 1000))


def parse_hook_path(path):
    """(job id, status, latency s) of a `hook_path`, or None for any other path."""
    parts = path.split("?")[0].strip("/").split("/")
    if len(parts) != 4 or parts[0] != "hook" or not parts[3].isdigit():
        return None
    return parts[1], parts[2], int(parts[3]) / 1000.0


class WebhookServer:
    """A threading HTTP server whose answers take each hook's latency."""

    def __init__(self, events):
        self.events = events
        self.port = free_port()
        self.server = None
        self.in_flight = 0
        self.lock = threading.Lock()

    def for_job(self, job_id, hook):
        """The `webhooks=` list of one job: one `Webhook` per status in `on`."""
        return [Webhook("http://127.0.0.1:%d%s" % (self.port,
                                                   hook_path(job_id, status, hook["latency_s"])),
                        status, timeout=hook["timeout_s"])
                for status in hook["on"]]

    def busy(self):
        """True while a request waits for its answer (a final failure's `enqueue_dependents`
        comes only after its webhooks)."""
        with self.lock:
            return self.in_flight > 0

    def start(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                owner.answer(self)

            def log_message(self, *_args):
                pass  # the events record each request

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="webhooks", daemon=True).start()

    def answer(self, request):
        arrived = time.time()
        parsed = parse_hook_path(request.path)
        with self.lock:
            self.in_flight += 1
        try:
            if parsed is not None:
                time.sleep(parsed[2])
            request.send_response(200 if parsed else 404)
            request.send_header("Content-Length", "0")
            request.end_headers()
        except OSError:
            pass  # the sender died while waiting (a SIGKILLed horse): nobody reads the answer
        finally:
            with self.lock:
                self.in_flight -= 1
        if parsed is not None:
            job_id, status, latency_s = parsed
            self.events.add(time.time(), "webhook_sent", process="horse", job=job_id,
                            detail=detail(("status", status), ("latency_s", "%.3f" % latency_s),
                                          ("waited_s", "%.3f" % (time.time() - arrived))))

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
