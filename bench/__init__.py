"""SoulSync benchmarks: `python -m bench` (or ./scripts/bench)."""
