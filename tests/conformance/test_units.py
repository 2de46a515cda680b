"""Unit tests of the harness's pure parts: the failure rule, the scenario reader, the
conformance worker's stall, and the `rq cron` side (cron.py: the config file, RQ's time
format, passes and due instants, job ids).

    tests/conformance/.venv/bin/python -m unittest discover -s tests/conformance -p 'test_*.py'

The pinned draws below are the values the simulator's implementation of the same rule must
reproduce (jobs.py `failure_draw`).
"""

import logging
import os
import shutil
import tempfile
import unittest
from unittest import mock

import conformance_worker
import cron
import harness
import jobs
import outputs
from observe import retry_interval
from scenario_file import ScenarioError, load_scenario, parse_duration

HERE = os.path.dirname(os.path.abspath(__file__))


class FailureRule(unittest.TestCase):
    def test_splitmix64_matches_the_reference_first_output(self):
        # The first output of SplitMix64 from state 0 (Vigna's reference implementation).
        self.assertEqual(jobs.splitmix64(0), 0xE220A8397B1DCDAF)

    def test_pinned_draws(self):
        self.assertEqual(jobs.failure_draw(0, 0, 1), 0.18436667429957676)
        self.assertEqual(jobs.failure_draw(1, 0, 1), 0.42321144819582723)
        self.assertEqual(jobs.failure_draw(1, 3, 2), 0.5595523851783101)
        self.assertEqual(jobs.failure_draw(7, 12, 1), 0.7091644933740789)

    def test_should_fail_uses_attempt_list_then_probability(self):
        self.assertTrue(jobs.should_fail(1, 0, 2, 0.0, [2]))
        self.assertFalse(jobs.should_fail(1, 0, 1, 0.0, [2]))
        self.assertTrue(jobs.should_fail(1, 0, 1, 0.5, []))   # draw 0.423 < 0.5
        self.assertFalse(jobs.should_fail(1, 0, 1, 0.4, []))  # draw 0.423 >= 0.4

    def test_draws_are_roughly_uniform(self):
        draws = [jobs.failure_draw(3, index, 1) for index in range(4000)]
        share = sum(1 for draw in draws if draw < 0.25) / len(draws)
        self.assertAlmostEqual(share, 0.25, delta=0.03)


class RetryIntervals(unittest.TestCase):
    def test_right_aligned_like_rq(self):
        retry = {"max": 3, "intervals": [10, 30, 60]}
        self.assertEqual([retry_interval(retry, left) for left in (3, 2, 1)], [10, 30, 60])
        retry = {"max": 2, "intervals": [10, 30, 60]}
        self.assertEqual([retry_interval(retry, left) for left in (2, 1)], [30, 60])
        retry = {"max": 5, "intervals": [10, 30, 60]}
        self.assertEqual([retry_interval(retry, left) for left in (5, 4, 3, 2, 1)],
                         [10, 10, 10, 30, 60])


class ScenarioReader(unittest.TestCase):
    def write(self, text):
        handle = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        handle.write(text)
        handle.close()
        self.addCleanup(os.unlink, handle.name)
        return handle.name

    def test_durations(self):
        self.assertEqual(parse_duration("250ms", "x"), 0.25)
        self.assertEqual(parse_duration("1.5m", "x"), 90.0)
        self.assertEqual(parse_duration(3, "x"), 3.0)
        with self.assertRaises(ScenarioError):
            parse_duration("3 parsecs", "x")

    def test_every_suite_scenario_loads(self):
        folder = os.path.join(HERE, "scenarios")
        names = sorted(name for name in os.listdir(folder) if name.endswith(".toml"))
        self.assertGreaterEqual(len(names), 8)
        for name in names:
            scenario = load_scenario(os.path.join(folder, name))
            self.assertTrue(scenario["pods"] and (scenario["workloads"] or scenario["cron"]), name)

    def test_unknown_key_is_named(self):
        path = self.write('[[pods]]\nname = "w"\nreplica = 2\n[[workload]]\njobs = 1\n')
        with self.assertRaisesRegex(ScenarioError, "unknown key.*replica"):
            load_scenario(path)

    def test_fractional_retry_interval_is_rejected(self):
        path = self.write('[[pods]]\nname = "w"\n[[workload]]\njobs = 1\n'
                          'retry = { max = 1, interval = "1500ms" }\n')
        with self.assertRaisesRegex(ScenarioError, "whole seconds"):
            load_scenario(path)

    def test_an_endless_workload_is_rejected(self):
        path = self.write('[[pods]]\n[[workload]]\narrival = { constant_per_s = 2 }\n')
        with self.assertRaisesRegex(ScenarioError, "finite job list"):
            load_scenario(path)

    def test_arrivals_follow_simrq(self):
        path = self.write('[[pods]]\n[[workload]]\njobs = 3\narrival = { constant_per_s = 4 }\n'
                          '[[workload]]\njobs = 2\nstart = "3s"\narrival = { constant_per_s = 2 }\n'
                          '[[workload]]\narrival = { count = 5, at = "7s" }\n')
        first, second, batch = load_scenario(path)["workloads"]
        self.assertEqual((first["start_s"], first["jobs"]), (0.25, 3))
        self.assertEqual((second["start_s"], second["jobs"]), (3.0, 2))
        self.assertEqual((batch["start_s"], batch["per_s"], batch["jobs"]), (7.0, None, 5))

    def test_pod_defaults_follow_simrq(self):
        path = self.write('[[pods]]\n[[workload]]\njobs = 1\n')
        pod = load_scenario(path)["pods"][0]
        self.assertEqual((pod["name"], pod["start_delay_s"], pod["restart_policy"]),
                         ("worker", 5.0, "Always"))

    def test_changed_settings_are_recorded(self):
        path = self.write('[rq]\nmaintenance_interval = "5s"\n[[pods]]\nname = "w"\n'
                          '[[workload]]\njobs = 1\n')
        scenario = load_scenario(path)
        self.assertEqual(scenario["rq"]["changed"], ["maintenance_interval"])
        self.assertEqual(scenario["rq"]["worker_ttl"], 420.0)

    def test_prepare_execution_stall_defaults_to_none(self):
        path = self.write('[[pods]]\n[[workload]]\njobs = 1\n')
        rq = load_scenario(path)["rq"]
        self.assertEqual(rq["prepare_execution_stall_s"], 0.0)
        self.assertFalse(harness.needs_conformance_worker(rq))
        self.assertNotIn("forced", harness.compressed_settings({"rq": rq}))

    def test_prepare_execution_stall_runs_the_conformance_worker(self):
        path = self.write('[rq]\nprepare_execution_stall = "4s"\n[[pods]]\n'
                          '[[workload]]\njobs = 1\n')
        rq = load_scenario(path)["rq"]
        self.assertEqual(rq["prepare_execution_stall_s"], 4.0)
        self.assertEqual(rq["changed"], [])   # not an RQ setting
        self.assertTrue(harness.needs_conformance_worker(rq))
        self.assertEqual(harness.compressed_settings({"rq": rq})["forced"],
                         {"prepare_execution_stall_s": 4.0})

    def test_prepare_execution_stall_must_be_fixed(self):
        path = self.write('[rq]\nprepare_execution_stall = { uniform = { min = "1s", '
                          'max = "2s" } }\n[[pods]]\n[[workload]]\njobs = 1\n')
        with self.assertRaisesRegex(ScenarioError, "prepare_execution_stall.*fixed time"):
            load_scenario(path)


class ConformanceWorker(unittest.TestCase):
    """conformance_worker.Worker: a sleep before RQ's own prepare_execution, only when asked."""

    def prepared_after(self, environ):
        """The calls (sleep or RQ's prepare_execution), in order, for one job."""
        calls = []
        worker = object.__new__(conformance_worker.Worker)
        worker.name, worker.log = "w", logging.getLogger("test")
        rq_prepare = lambda _self, job: calls.append(("prepare_execution", job))  # noqa: E731
        with mock.patch.dict(os.environ, environ, clear=False), \
                mock.patch.object(conformance_worker.time, "sleep",
                                  lambda s: calls.append(("sleep", s))), \
                mock.patch.object(conformance_worker.RQWorker, "prepare_execution", rq_prepare):
            worker.prepare_execution(mock.Mock(id="j1"))
        return [(name, arg if name == "sleep" else arg.id) for name, arg in calls]

    def test_stalls_before_prepare_execution(self):
        calls = self.prepared_after({conformance_worker.STALL_ENV: "4.0"})
        self.assertEqual(calls, [("sleep", 4.0), ("prepare_execution", "j1")])

    def test_no_stall_unless_asked(self):
        for value in ("0.0", ""):
            calls = self.prepared_after({conformance_worker.STALL_ENV: value})
            self.assertEqual(calls, [("prepare_execution", "j1")])
        self.assertEqual(conformance_worker.prepare_execution_stall_s({}), 0.0)
        self.assertEqual(harness.STALL_ENV, conformance_worker.STALL_ENV)


class RealJobsCsv(unittest.TestCase):
    """outputs.py: retries counted and matched to starts as simrq's jobs.csv does."""

    @staticmethod
    def history(third_start_t):
        """j1 of stale-first-seen (race R17), times in s: fails once; a cleaner schedules a
        second retry at 77.2 s (no execution failed) while the first retry is about to run;
        the horse's stale save restores retries_left, so a third retry is scheduled at 147.4 s."""
        log = [{"ev": "start", "job": "j1", "attempt": 1, "t": 6.05},
               {"ev": "end", "job": "j1", "attempt": 1, "t": 6.16, "ok": False},
               {"ev": "start", "job": "j1", "attempt": 2, "t": 80.76},
               {"ev": "end", "job": "j1", "attempt": 2, "t": 80.87, "ok": True},
               {"ev": "start", "job": "j1", "attempt": 3, "t": third_start_t},
               {"ev": "end", "job": "j1", "attempt": 3, "t": third_start_t + 0.1, "ok": True}]
        kinds = [(6.25, "job_retry_scheduled", "interval_s=70 due_s=75.878233"),
                 (76.81, "job_retry_requeued", "source=scheduler"),
                 (77.22, "job_retry_scheduled", "interval_s=70 due_s=146.878233"),
                 (146.99, "job_retry_requeued", "source=scheduler"),
                 (147.40, "job_retry_scheduled", "interval_s=70 due_s=216.878233")]
        events = [{"t": t, "order": n, "kind": kind, "job": "j1", "detail": detail,
                   "attempt": "", "pod": ""} for n, (t, kind, detail) in enumerate(kinds)]
        return log, events

    def test_retries_used_counts_every_decision(self):
        _, events = self.history(152.0)
        decisions = outputs.retry_decisions("j1", events)
        self.assertEqual(decisions, [(6.25, 70), (77.22, 70), (147.40, 70)])

    def test_each_start_runs_the_oldest_waiting_retry(self):
        log, events = self.history(152.0)
        starts = [r for r in log if r["ev"] == "start"]
        spec = {"retry": {"max": 2, "intervals": [70]}}
        lateness = outputs._max_lateness("j1", spec, starts, log, events, run=None)
        # Start 2 ran the retry of the failure at 6.16 s: 80.76 - 76.16 = 4.60. Start 3 ran the
        # cleaner's retry decided at 77.22 s, not one that followed start 2's success at 80.87 s.
        self.assertAlmostEqual(lateness, 152.0 - (77.22 + 70), places=6)
        log, events = self.history(150.0)
        lateness = outputs._max_lateness("j1", spec, starts[:2] + [dict(starts[2], t=150.0)],
                                         log, events, run=None)
        self.assertAlmostEqual(lateness, 80.76 - (6.16 + 70), places=6)



class CronReader(unittest.TestCase):
    write = ScenarioReader.write

    def test_cron_sections_and_pod_keys(self):
        path = self.write('[[pods]]\nname = "app"\ncron = true\n[[pods]]\nname = "c"\n'
                          'worker = false\ncron = true\n'
                          '[[cron]]\nname = "tick"\ninterval = "5s"\n'
                          '[[cron]]\nname = "nightly"\nqueue = "q"\ncron = "0 3 * * *"\n'
                          'duration = { constant = "2s" }\njob_timeout = "60s"\n')
        scenario = load_scenario(path)
        self.assertEqual(scenario["workloads"], [])
        app, only_cron = scenario["pods"]
        self.assertEqual((app["cron"], app["worker"]), (True, True))
        self.assertEqual((only_cron["cron"], only_cron["worker"]), (True, False))
        tick, nightly = scenario["cron"]
        self.assertEqual((tick["interval_s"], tick["cron"], tick["queue"], tick["duration_s"]),
                         (5, None, "default", 0.1))
        self.assertEqual((nightly["interval_s"], nightly["cron"], nightly["job_timeout_s"]),
                         (None, "0 3 * * *", 60))

    def test_cron_needs_one_schedule_and_no_failures(self):
        for body, message in [('interval = "5s"\ncron = "* * * * *"', "not both"),
                              ('queue = "default"', "not both or neither"),
                              ('interval = "2500ms"', "whole number of seconds"),
                              ('interval = "5s"\nfail_probability = 0.5', "never fail")]:
            path = self.write('[[pods]]\ncron = true\n[[cron]]\nname = "x"\n%s\n' % body)
            with self.assertRaisesRegex(ScenarioError, message):
                load_scenario(path)

    def test_a_pod_runs_something(self):
        path = self.write('[[pods]]\nworker = false\n[[cron]]\nname = "x"\ninterval = 5\n')
        with self.assertRaisesRegex(ScenarioError, "rq worker"):
            load_scenario(path)

    def test_no_workload_needs_cron(self):
        path = self.write('[[pods]]\n')
        with self.assertRaisesRegex(ScenarioError, "no \\[\\[workload\\]\\] and no"):
            load_scenario(path)

    def test_cron_is_a_fault_target(self):
        path = self.write('[[pods]]\ncron = true\n[[cron]]\nname = "x"\ninterval = 5\n'
                          '[[faults]]\nkind = "pod_kill"\ntarget = "cron"\nat = "3s"\n')
        self.assertEqual(load_scenario(path)["faults"][0]["target"], "cron")


class CronSide(unittest.TestCase):
    def test_config_file(self):
        text = cron.config_source([
            {"name": "tick", "queue": "default", "interval_s": 5, "cron": None,
             "duration_s": 0.1, "job_timeout_s": None},
            {"name": "minutely", "queue": "q", "interval_s": None, "cron": "* * * * *",
             "duration_s": 2.0, "job_timeout_s": 30},
        ])
        self.assertIn("from rq import cron\nfrom cron_jobs import cron_work\n", text)
        self.assertIn("cron.register(cron_work, 'default', args=(0.1,), interval=5, "
                      "name='tick')\n", text)
        self.assertIn("cron.register(cron_work, 'q', args=(2.0,), cron='* * * * *', "
                      "job_timeout=30, name='minutely')\n", text)
        compile(text, "cron_config.py", "exec")

    def test_rq_times_and_due_text(self):
        # 2026-01-01T00:00:00Z is 1767225600 (simrq's virtual instant zero).
        self.assertEqual(cron.rq_time_us("2026-01-01T00:01:00.000250Z"),
                         1_767_225_660_000_250)
        self.assertIsNone(cron.rq_time_us(None))
        self.assertEqual(cron.due_text(1_767_225_660_000_250), "1767225660000")
        self.assertEqual(cron.due_text(1_767_225_665_128_999), "1767225665128")
        self.assertEqual(cron.due_text(None), "-")

    def test_interval_passes_are_due_at_the_previous_next_time(self):
        log = cron.PassLog({"cron": None})
        log.observe(None, None)                        # register_birth: nothing yet
        log.observe(1_000_000, 6_000_000)              # first pass: the first run
        log.observe(1_000_000, 6_000_000)              # a poll with no new pass
        log.observe(6_000_400, 11_000_400)
        self.assertEqual(log.passes, [[1_000_000, None, False], [6_000_400, 6_000_000, False]])

    def test_a_first_state_after_a_pass(self):
        interval = cron.PassLog({"cron": None})
        interval.observe(1_000_000, 6_000_000)
        self.assertEqual(interval.passes, [[1_000_000, None, False]])
        minutely = cron.PassLog({"cron": "* * * * *"})
        minutely.observe(1_767_225_660_000_300, 1_767_225_720_000_000)
        self.assertEqual(minutely.passes[0][1], 1_767_225_660_000_000)

    def test_expression_passes_are_due_at_their_instant(self):
        log = cron.PassLog({"cron": "* * * * *"})
        log.observe(None, 1_767_225_660_000_000)       # CronJob.__init__: the first instant
        log.observe(1_767_225_660_000_450, 1_767_225_720_000_000)
        self.assertEqual(log.passes, [[1_767_225_660_000_450, 1_767_225_660_000_000, False]])

    def test_enqueues_match_the_latest_pass_before_them(self):
        log = cron.PassLog({"cron": None})
        log.observe(1_000_000, 6_000_000)
        log.observe(6_000_000, 11_000_000)
        self.assertEqual(log.candidate(6_000_300)[0], 6_000_000)
        self.assertEqual(log.candidate(1_000_300)[0], 1_000_000)
        self.assertIsNone(log.candidate(999_000))       # before any pass
        self.assertIsNone(log.candidate(8_000_000))     # 2 s after the pass: not its enqueue
        log.candidate(6_000_300)[2] = True               # one enqueue per pass
        self.assertIsNone(log.candidate(6_000_300))

    def test_previous_instant(self):
        self.assertEqual(cron.previous_instant_us("*/5 * * * *", 1_767_225_900_000_700),
                         1_767_225_900_000_000)
        self.assertEqual(cron.previous_instant_us("*/5 * * * *", 1_767_225_959_000_000),
                         1_767_225_900_000_000)

    def test_job_aliases_follow_enqueue_order(self):
        specs = {"b7": {"enqueued_t": 5.0}, "j1": {"enqueued_t": 1.0},
                 "a3": {"enqueued_t": 5.0}, "j2": {"enqueued_t": None}}
        self.assertEqual(cron.job_aliases(specs),
                         {"j1": "j1", "a3": "j2", "b7": "j3", "j2": "j4"})

    def test_which_faults_are_cron_faults(self):
        class Running:
            pid = 1

            @staticmethod
            def poll():
                return None

        class Run:
            scenario = {"cron": []}
            out_dir = "/nonexistent"

        side = cron.CronSide(Run())
        worker_pod = {"name": "app", "worker": True}
        cron_only = {"name": "c", "worker": False}
        side.processes = [cron.CronProcess("app-0", worker_pod, Running()),
                          cron.CronProcess("c-0.1", cron_only, Running())]

        def fault(target, pods=None):
            return {"kind": "pod_kill", "target": target, "pods": pods}
        self.assertTrue(side.handles(fault("cron")))
        self.assertTrue(side.handles(fault("c-0")))       # a cron-only pod, by name
        self.assertFalse(side.handles(fault("app-0")))    # its worker's pod: faults.py
        self.assertFalse(side.handles(fault("any")))
        self.assertEqual(side.resolve(fault("cron")).pod, "app-0")
        self.assertEqual(side.resolve(fault("cron", pods="c")).pod, "c-0.1")
        self.assertEqual(side.resolve(fault("c-0")).pod, "c-0.1")

    def test_minute_alignment(self):
        self.assertAlmostEqual(cron.seconds_to_next_minute(1_767_225_645.25), 14.75)
        self.assertAlmostEqual(cron.seconds_to_next_minute(1_767_225_660.0), 60.0)


if __name__ == "__main__":
    unittest.main()


class DetailGrammarTest(unittest.TestCase):
    """The harness writes `detail` as simrq does (README, events.csv: logfmt pairs)."""

    def test_values_with_spaces_quotes_or_equals_are_quoted_and_round_trip(self):
        from observe import detail, parse_detail
        pairs = (("reason", "work-horse terminated unexpectedly"), ("pid", 42),
                 ("odd", 'a "b" = c\\d'), ("empty", ""))
        text = detail(*pairs)
        self.assertEqual(
            text, 'reason="work-horse terminated unexpectedly" pid=42 odd="a \\"b\\" = c\\\\d" '
                  'empty=""')
        self.assertEqual(parse_detail(text), {k: str(v) for k, v in pairs})

    def test_every_detail_the_harness_writes_is_pairs(self):
        """No free-text detail is left in the harness's sources: each goes through `detail`."""
        import re
        for name in ("harness.py", "observe.py", "outputs.py", "faults.py", "cron.py"):
            with open(os.path.join(os.path.dirname(__file__), name), encoding="utf-8") as f:
                source = f.read()
            literal = re.findall(r'detail="[^"]', source)
            self.assertEqual(literal, [], "%s writes a free-text detail" % name)


class RepeatRunsTest(unittest.TestCase):
    """A successful run of a job with `Repeat` is written as simrq writes it
    (docs/repeat-and-webhooks.md): its repeat decision, with RQ's interval read from the end of
    the list (rq/repeat.py `Repeat.schedule`), and only the last run as `job_finished`."""

    def test_runs_with_repeats_left_end_with_their_repeat_decision(self):
        spec = {"repeat": {"times": 3, "intervals": [1, 3]}}
        kinds = [outputs.success_kind(spec, before) for before in range(4)]
        self.assertEqual(kinds, [
            ("job_repeat_scheduled", [("interval_s", 3), ("repeats_left", 2)]),
            ("job_repeat_scheduled", [("interval_s", 3), ("repeats_left", 1)]),
            ("job_repeat_scheduled", [("interval_s", 1), ("repeats_left", 0)]),
            ("job_finished", []),
        ])
        zero = {"repeat": {"times": 1, "intervals": [0]}}
        self.assertEqual(outputs.success_kind(zero, 0),
                         ("job_repeat_requeued", [("repeats_left", 0)]))
        self.assertEqual(outputs.success_kind({"repeat": None}, 0), ("job_finished", []))


PIPELINE = ('[[pods]]\nname = "w"\nmax_jobs = 2\ncrash_loop_backoff = { initial = "1s" }\n'
            '[[workload]]\nname = "extract"\njobs = 2\nstart = "1s"\n'
            'arrival = { constant_per_s = 1 }\n'
            'webhook = { on = ["failed", "finished"], latency = "4s", timeout = "10s" }\n'
            '[[workload]]\nname = "transform"\ndepends_on = { workloads = ["extract"], '
            'fan_out = 2 }\n'
            '[[workload]]\nname = "load"\ndepends_on = { workloads = ["transform"], '
            'allow_failure = true, delay = "1.5s" }\n')


class Pipelines(unittest.TestCase):
    """scenario_file.pipeline_jobs: simrq's producer order, ids and parents (src/workload.rs);
    webhooks, `max_jobs` and operator commands."""

    write = ScenarioReader.write

    def jobs_of(self, text):
        from scenario_file import pipeline_jobs
        return [(offset, workload["name"], parents)
                for offset, workload, parents in pipeline_jobs(load_scenario(
                    self.write(text))["workloads"])]

    def test_each_run_is_its_root_then_its_stages_with_their_parents(self):
        # Run 2 (at 2 s) enqueues its root and transforms before run 1's delayed load (2.5 s).
        self.assertEqual(self.jobs_of(PIPELINE), [
            (1.0, "extract", []), (1.0, "transform", [0]), (1.0, "transform", [0]),
            (2.0, "extract", []), (2.0, "transform", [3]), (2.0, "transform", [3]),
            (2.5, "load", [1, 2]), (3.5, "load", [4, 5])])

    def test_a_dependent_workload_has_no_arrivals_of_its_own(self):
        text = PIPELINE.replace('fan_out = 2 }\n', 'fan_out = 2 }\njobs = 3\n', 1)
        with self.assertRaisesRegex(ScenarioError, "jobs: a workload with depends_on"):
            load_scenario(self.write(text))

    def test_parents_must_be_earlier_workloads(self):
        text = PIPELINE.replace('workloads = ["extract"]', 'workloads = ["load"]')
        with self.assertRaisesRegex(ScenarioError, "'load' is not an earlier workload"):
            load_scenario(self.write(text))

    def test_depends_on_is_a_dependency_only_with_a_flag(self):
        plain = {"allow_failure": False, "enqueue_at_front": False}
        self.assertEqual(harness.depends_on_argument(["j1", "j2"], plain), ["j1", "j2"])
        allowed = harness.depends_on_argument(["j1"], dict(plain, allow_failure=True))
        self.assertEqual((allowed.dependencies, allowed.allow_failure,
                          allowed.enqueue_at_front), (["j1"], True, False))

    def test_webhooks_and_max_jobs(self):
        scenario = load_scenario(self.write(PIPELINE))
        hook = scenario["workloads"][0]["webhook"]
        self.assertEqual(hook, {"on": ["failed", "finished"], "timeout_s": 10, "latency_s": 4.0})
        pod = scenario["pods"][0]
        self.assertEqual((pod["max_jobs"], pod["restart_backoff_s"],
                          pod["restart_backoff_cap_s"]), (2, 1.0, 300.0))
        run = harness.Run(scenario, tempfile.mkdtemp(), "rq")
        self.addCleanup(shutil.rmtree, run.tmp_dir, True)
        argv = run.worker_argv(pod)
        self.assertEqual(argv[-2:], ["--max-jobs", "2"])
        with self.assertRaisesRegex(ScenarioError, "not a distribution"):
            load_scenario(self.write(PIPELINE.replace(
                'latency = "4s"', 'latency = { constant = "4s" }')))

    def test_webhook_urls_carry_job_status_and_latency(self):
        import webhooks
        path = webhooks.hook_path("j7", "failed", 4.0)
        self.assertEqual(path, "/hook/j7/failed/4000")
        self.assertEqual(webhooks.parse_hook_path(path), ("j7", "failed", 4.0))
        self.assertIsNone(webhooks.parse_hook_path("/favicon.ico"))

    def test_operator_commands_are_fault_kinds(self):
        text = PIPELINE + '[[faults]]\nkind = "stop_job"\ntarget = "w-0"\nat = "3s"\n'
        self.assertEqual(load_scenario(self.write(text))["faults"][0]["kind"], "stop_job")


class FinalOutcomes(unittest.TestCase):
    """outputs._outcome: the jobs.csv outcome of a job's final Redis state, as simrq writes it."""

    def test_stopped_is_failed_and_deferred_stays_deferred(self):
        queue = {"present": set()}
        self.assertEqual(outputs._outcome({"job": "j1", "status": "stopped"}, queue), "failed")
        self.assertEqual(outputs._outcome({"job": "j2", "status": "deferred"}, queue),
                         "deferred")
        self.assertEqual(outputs._outcome({"job": "j3", "status": "queued"}, queue), "lost")
        self.assertEqual(outputs._outcome(None, queue), "lost")


class ReplicatedRedisReader(unittest.TestCase):
    """`[redis] replicas = 1`: what the harness starts and the keys it cannot reproduce."""

    write = ScenarioReader.write
    BASE = '[[pods]]\n[[workload]]\njobs = 1\n'

    def test_a_failover_scenario_reads_its_topology(self):
        path = self.write(self.BASE + '[redis]\nreplicas = 1\nsentinel_down_after = "3s"\n'
                          'replica_lag = "1ms"\nsentinel_promotion = "1.1s"\n'
                          '[[faults]]\nkind = "replica_lag"\nat = "5s"\nfor = "2s"\n'
                          '[[faults]]\nkind = "redis_failover"\nat = "6s"\n')
        scenario = load_scenario(path)
        self.assertEqual(scenario["redis"], {"replicas": 1, "sentinel_down_after_s": 3.0,
                                             "client_discovery": "sentinel"})
        lag, failover = scenario["faults"]
        self.assertEqual((lag["kind"], lag["for_s"]), ("replica_lag", 2.0))
        # Without `for`, the old primary stays down to the end, as simrq has it.
        self.assertEqual((failover["kind"], failover["for_s"]), ("redis_failover", None))

    def test_without_replicas_the_lone_server_is_kept(self):
        self.assertEqual(load_scenario(self.write(self.BASE))["redis"],
                         {"replicas": 0, "sentinel_down_after_s": 30.0,
                          "client_discovery": "sentinel"})

    def test_what_the_real_side_cannot_reproduce_is_rejected_by_name(self):
        cases = [
            ('[redis]\nreplicas = 2\n', "0 or 1 replica"),
            ('[redis]\nappendonly = true\n', "unknown key.*appendonly"),
            ('[redis]\nreplicas = 1\nmin_replicas_to_write = 1\n',
             "unknown key.*min_replicas_to_write"),
            ('[redis]\nsentinel_down_after = "3s"\n', "need replicas = 1"),
            ('[redis]\nreplicas = 1\nclient_discovery = "dns"\n', "\"sentinel\" or \"fixed\""),
            ('[redis]\nreplicas = 1\nsentinel_down_after = "2.5005s"\n', "milliseconds"),
            ('[[faults]]\nkind = "redis_failover"\nat = "5s"\n', "needs \\[redis\\] replicas"),
            ('[redis]\nreplicas = 1\n[[faults]]\nkind = "redis_restart"\nat = "5s"\n',
             "lone redis-server"),
            ('[redis]\nreplicas = 1\n[[faults]]\nkind = "redis_failover"\nat = "5s"\n'
             'partition = true\n', "partition"),
            ('[redis]\nreplicas = 1\nsentinel_down_after = "3s"\n[[faults]]\n'
             'kind = "redis_failover"\nat = "5s"\nfor = "4s"\n', "at least 6.0 s"),
        ]
        for body, message in cases:
            with self.subTest(body=body):
                with self.assertRaisesRegex(ScenarioError, message):
                    load_scenario(self.write(self.BASE + body))


class SentinelSetUp(unittest.TestCase):
    """The files the harness writes for Sentinel and for RQ's CLI."""

    def test_sentinel_config_watches_the_primary_with_quorum_one(self):
        from processes import MASTER_NAME, sentinel_config
        lines = sentinel_config(26001, 6001, 3000, "/tmp/x").splitlines()
        self.assertIn("port 26001", lines)
        self.assertIn("bind 127.0.0.1", lines)
        self.assertIn("sentinel monitor %s 127.0.0.1 6001 1" % MASTER_NAME, lines)
        self.assertIn("sentinel down-after-milliseconds %s 3000" % MASTER_NAME, lines)
        # Ten times down-after, at least 10 s: a failover that stalls is retried that late.
        self.assertIn("sentinel failover-timeout %s 30000" % MASTER_NAME, lines)
        short = sentinel_config(26001, 6001, 500, "/tmp/x")
        self.assertIn("failover-timeout %s 10000" % MASTER_NAME, short)

    def test_rq_reads_the_sentinel_setting_from_the_module(self):
        from rq.cli.helpers import read_config_file
        text = harness.sentinel_settings_text(
            {"INSTANCES": [("127.0.0.1", 26001)], "MASTER_NAME": "simrq"})
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        with open(os.path.join(folder, "simrq_settings_probe.py"), "w") as handle:
            handle.write(text)
        with mock.patch("sys.path", [folder] + list(__import__("sys").path)):
            settings = read_config_file("simrq_settings_probe")
        self.assertEqual(settings, {"SENTINEL": {"INSTANCES": [("127.0.0.1", 26001)],
                                                 "MASTER_NAME": "simrq"}})

    def test_workers_reach_redis_through_sentinel_or_the_url(self):
        class Topology:
            url = "redis://127.0.0.1:6001/0"

        def run_of(replicas, discovery):
            run = harness.Run.__new__(harness.Run)
            run.scenario = {"redis": {"replicas": replicas, "client_discovery": discovery}}
            run.redis = Topology()
            return run
        self.assertEqual(run_of(1, "sentinel").connection_argv(),
                         ["-c", harness.SENTINEL_SETTINGS_MODULE])
        self.assertEqual(run_of(1, "fixed").connection_argv(),
                         ["-u", "redis://127.0.0.1:6001/0"])
        self.assertEqual(run_of(0, "sentinel").connection_argv(),
                         ["-u", "redis://127.0.0.1:6001/0"])
