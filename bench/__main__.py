"""Run every benchmark: ``python -m bench [-k substring] [--quick]``."""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import sys
import time
from pathlib import Path

from bench.harness import Benchmark, measure

RESULTS = Path(__file__).parent / "results" / "latest.json"
PARTIAL = Path(__file__).parent / "results" / "partial.json"
"""Where a selective (-k) or --quick run writes, so it never replaces the full run's figures."""


def discover() -> list[Benchmark]:
    found: list[Benchmark] = []
    pkg_dir = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(pkg_dir)]), key=lambda i: i.name):
        if info.name.startswith("bench_"):
            module = importlib.import_module(f"bench.{info.name}")
            found.extend(getattr(module, "BENCHMARKS", []))
    return found


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("-k", dest="select", default="", help="only benchmarks whose name contains this")
    parser.add_argument("--quick", action="store_true", help="one run per size, smallest size only")
    parser.add_argument("--update", action="store_true",
                        help=f"replace only these benchmarks' entries in {RESULTS.name} (keep the others)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"results file (default: {RESULTS.name} for a full run, {PARTIAL.name} otherwise)")
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = RESULTS if args.update or not (args.select or args.quick) else PARTIAL

    results = []
    for bench in discover():
        if args.select and args.select not in bench.name:
            continue
        sizes = bench.sizes[:1] if args.quick else bench.sizes
        for size in sizes:
            res = measure(bench, size, repeat=1 if args.quick else None)
            results.append(res)
            verdict = {None: "", True: "  OK", False: "  MISSED"}[res.met]
            target = f" (target {fmt(res.target, res.unit)})" if res.target is not None else ""
            extras = "".join(f"  {k}={v:.1f}" if isinstance(v, float) else f"  {k}={v}"
                             for k, v in res.extras.items())
            print(f"{bench.name:<42} n={size:<8} median {fmt(res.median, res.unit):>10}"
                  f"  spread {fmt(res.spread, res.unit):>10}{target}{verdict}{extras}", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    entries = [r.as_dict() for r in results]
    if args.update and args.output.exists():
        fresh = {(e["name"], e["size"]) for e in entries}
        kept = [e for e in json.loads(args.output.read_text()).get("results", [])
                if (e["name"], e["size"]) not in fresh]
        entries = kept + entries
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "cpus": __import__("os").cpu_count()},
        "results": entries,
    }
    args.output.write_text(json.dumps(payload, indent=2))
    print(f"results written to {args.output}")
    return 1 if any(r.met is False for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
