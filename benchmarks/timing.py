"""Timing shared by the benchmarks: medians over repetitions, since absolute times on shared
machines drift."""

import statistics
import time


def median_seconds(fn, reps, iters=1, warmup=True):
    """Median over `reps` repetitions of the mean wall time of `iters` calls of `fn`, after one
    warm-up call unless `warmup` is False."""
    if warmup:
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        times.append((time.perf_counter() - t0) / iters)
    return statistics.median(times)
