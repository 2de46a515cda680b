"""Unit tests of the harness's pure parts: the failure rule and the scenario reader.

    tests/conformance/.venv/bin/python -m unittest discover -s tests/conformance -p 'test_*.py'

The pinned draws below are the values the simulator's implementation of the same rule must
reproduce (jobs.py `failure_draw`).
"""

import os
import tempfile
import unittest

import jobs
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
            self.assertTrue(scenario["pods"] and scenario["workloads"], name)

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


if __name__ == "__main__":
    unittest.main()
