"""The job function of the calibration test (tests/calibrate/real_rq.py): it sleeps for the
duration the producer drew and raises when the producer said so, so that the workload's true
parameters are the producer's, whatever the host does."""

import time


class PlannedFailure(Exception):
    """The failure the producer drew for this job."""


def work(duration_s, fail):
    time.sleep(duration_s)
    if fail:
        raise PlannedFailure("planned failure after %.3f s" % duration_s)
    return duration_s
