"""Mutation testing of soulsync/core, one module at a time (driven by ./scripts/mutation).

Each module is mutated with mutmut in its own copy of the tree under ``.mutation/<module>``
(never in the working tree), against the unit tests that exercise it. The score counts
killed mutants (including timeouts) over the mutants that were tested; survivors listed in
``scripts/mutation-equivalent.txt`` (with the reason they cannot change behaviour) are
reported apart, giving the score over non-equivalent mutants. The copy of the tests gets an
autouse fixture that empties SoulSync's ``lru_cache`` memos before each test (else a mutant of a helper
behind a cache would be judged on the original's cached answers). After a run,
``cd .mutation/<module> && mutmut show <name>`` shows a surviving mutant.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
EQUIVALENT = ROOT / "scripts" / "mutation-equivalent.txt"

MODULES: dict[str, list[str]] = {
    "quality": ["tests/unit/test_quality.py", "tests/unit/test_match_ranking.py"],
    "normalize": ["tests/unit/test_normalize.py"],
    "version_tags": ["tests/unit/test_normalize.py"],
    "titles": ["tests/unit/test_normalize.py"],
    "organize": ["tests/unit/test_organize.py"],
    "safe_paths": ["tests/unit/test_organize.py"],
    "path_templates": ["tests/unit/test_organize.py", "tests/unit/test_postprocess.py"],
    "postprocess": ["tests/unit/test_postprocess.py", "tests/unit/test_crash_resume.py"],
    "matching": ["tests/unit/test_match_score.py", "tests/unit/test_match_index.py",
                 "tests/unit/test_match_ranking.py"],
    "match_keys": ["tests/unit/test_match_score.py", "tests/unit/test_match_index.py",
                   "tests/unit/test_match_ranking.py"],
    "library_index": ["tests/unit/test_match_index.py"],
    "result_ranking": ["tests/unit/test_match_ranking.py"],
    "downloads": ["tests/unit/test_downloads_engine.py", "tests/unit/test_downloads_retries.py"],
    "sync": ["tests/unit/test_sync_analysis.py", "tests/unit/test_sync_download.py"],
}
"""The modules where a silent change harms users first, with the tests that exercise them."""

KILLED = {"killed", "timeout"}
"""mutmut statuses that mean a test noticed the mutant."""
NOT_TESTED = {"skipped", "not checked"}
"""Statuses of mutants that were never run (left out of the score)."""


CACHE_FIXTURE = '''

# Added by scripts/mutation to its copy of the tests: SoulSync's memo caches are emptied before each
# test, so a mutant is judged on what it computes, not on answers the original code cached before
# mutmut forked the test process.
@pytest.fixture(autouse=True)
def _fresh_soulsync_caches():
    import functools

    for name, module in list(sys.modules.items()):
        if name.startswith("soulsync."):
            for value in list(vars(module).values()):
                if isinstance(value, functools._lru_cache_wrapper):
                    value.cache_clear()
    yield
'''


def equivalents() -> dict[str, str]:
    """Mutant name -> why it cannot change behaviour, from ``scripts/mutation-equivalent.txt``."""
    found: dict[str, str] = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                found[name] = reason.strip()
    return found


def prepare(module: str, tests: list[str]) -> Path:
    """A fresh copy of the package and tests under ``.mutation/<module>`` with mutmut's settings."""
    work = WORK / module
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "soulsync", work / "soulsync", ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    with open(work / "tests" / "conftest.py", "a", encoding="utf-8") as conftest:
        conftest.write(CACHE_FIXTURE)
    selection = "\n    ".join(tests)
    (work / "setup.cfg").write_text(
        "[mutmut]\n"
        "source_paths = soulsync\n"
        f"only_mutate = soulsync/core/{module}.py\n"
        f"pytest_add_cli_args_test_selection =\n    {selection}\n"
        "pytest_add_cli_args = -p no:cacheprovider\n",
        encoding="utf-8")
    return work


def results(mutmut: str, work: Path) -> dict[str, str]:
    """Mutant name -> status, as mutmut recorded it in ``work``."""
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, capture_output=True, text=True,
                         check=True).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            found[name] = status.strip()
    return found


def run_module(module: str, mutmut: str, children: int, budget_s: float) -> str:
    """Mutate one module; return its line for the score table."""
    tests = MODULES[module]
    work = prepare(module, tests)
    log = work / "mutmut.log"
    started = time.monotonic()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOULSYNC_TESTING": "1"}
    env.pop("PYTHONPATH", None)
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen([mutmut, "run", "--max-children", str(children)], cwd=work, env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=budget_s)
            finished = True
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # mutmut and the test processes it forked
            proc.wait()
            finished = False
    statuses = results(mutmut, work)
    counts = Counter(statuses.values())
    tested = sum(n for status, n in counts.items() if status not in NOT_TESTED)
    killed = sum(counts[s] for s in KILLED)
    known = equivalents()
    survivors = sorted(name for name, status in statuses.items() if status not in KILLED | NOT_TESTED)
    equivalent = [name for name in survivors if name in known]
    open_survivors = [name for name in survivors if name not in known]
    (work / "survivors.txt").write_text("".join(f"{n}: {statuses[n]}\n" for n in open_survivors), encoding="utf-8")
    raw = 100.0 * killed / tested if tested else 0.0
    real = tested - len(equivalent)
    adjusted = 100.0 * killed / real if real else 0.0
    minutes = (time.monotonic() - started) / 60
    state = "" if finished else f" (stopped by the {budget_s / 60:.0f} min budget: {tested} of {len(statuses)} tested)"
    return (f"{module:12} {killed:5} killed / {tested:5} tested  raw {raw:5.1f} %  "
            f"equivalent {len(equivalent):3}  non-equivalent {adjusted:5.1f} %  "
            f"open survivors {len(open_survivors):3}  {minutes:4.1f} min{state}")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and mutate each module asked for, printing one score line each."""
    parser = argparse.ArgumentParser(prog="scripts/mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", metavar="module",
                        help=f"modules of soulsync/core to mutate, one of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--children", type=int, default=1, help="parallel test processes (default 1)")
    parser.add_argument("--budget-min", type=float, default=30.0,
                        help="stop a module after this many minutes (default 30)")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if mutmut is None:
        print("mutmut is not installed: pip install 'mutmut>=3.8,<4'", file=sys.stderr)
        return 2
    for module in args.modules or list(MODULES):
        print(run_module(module, mutmut, args.children, args.budget_min * 60), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
