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


def alternating_medians(fns, reps, iters=1, warmup=True):
    """median_seconds of each of `fns`, their repetitions interleaved (fn 0, fn 1, …, fn 0, …) so
    that a drift of the machine's speed touches all of them alike."""
    if warmup:
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(reps):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            ts.append((time.perf_counter() - t0) / iters)
    return [statistics.median(ts) for ts in times]
