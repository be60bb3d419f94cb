"""A tiny benchmark harness.

Each ``bench/bench_*.py`` module exposes ``BENCHMARKS: list[Benchmark]``.
A benchmark is timed ``repeat`` times per input size; the harness prints
median and spread and writes every figure to ``bench/results/latest.json``.

``setup(size)`` prepares inputs (not timed) and returns a state object;
``run(state)`` is the timed part and may return a dict of extra figures
(e.g. ``{"rss_mb": 212.0}``). When a benchmark measures something other than
its own wall time (a GUI stall, say) it returns ``{"value": x}`` and that is
the figure reported instead of the elapsed time.
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Benchmark:
    name: str
    setup: Callable[[int], Any]
    run: Callable[[Any], dict | None]
    sizes: list[int]
    target: float | None = None
    """Upper bound for the median value, in ``unit``; None when there is no target."""
    unit: str = "s"
    repeat: int = 5
    description: str = ""
    teardown: Callable[[Any], None] | None = None


@dataclass
class Result:
    name: str
    size: int
    unit: str
    values: list[float]
    target: float | None
    extras: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        return max(self.values) - min(self.values)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.median <= self.target

    def as_dict(self) -> dict:
        return {
            "name": self.name, "size": self.size, "unit": self.unit,
            "median": self.median, "min": min(self.values), "max": max(self.values),
            "spread": self.spread, "runs": len(self.values), "target": self.target,
            "met": self.met, "extras": self.extras,
        }


def measure(bench: Benchmark, size: int, repeat: int | None = None) -> Result:
    state = bench.setup(size)
    values: list[float] = []
    extras: dict = {}
    try:
        for _ in range(repeat or bench.repeat):
            gc.collect()
            start = time.perf_counter()
            out = bench.run(state) or {}
            elapsed = time.perf_counter() - start
            out = dict(out)
            values.append(float(out.pop("value", elapsed)))
            for key, val in out.items():
                extras.setdefault(key, []).append(val)
    finally:
        if bench.teardown:
            bench.teardown(state)
    summary = {k: (statistics.median(v) if all(isinstance(x, (int, float)) for x in v) else v[-1])
               for k, v in extras.items()}
    return Result(bench.name, size, bench.unit, values, bench.target, summary)
