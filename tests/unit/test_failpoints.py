"""Named crash points: off unless the environment arms them; then a SIGKILL at the chosen hit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from soulsync.core import failpoints

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _disarmed():
    yield
    failpoints.configure(None, None)


def test_parse_counts_and_defaults():
    assert failpoints.parse("tag.before_replace:2, postprocess.moved ,") == {
        "tag.before_replace": 2, "postprocess.moved": 1}
    assert failpoints.parse("") == {}
    with pytest.raises(ValueError, match="1 or more"):
        failpoints.parse("a:0")
    with pytest.raises(ValueError):
        failpoints.parse("a:two")


def test_disarmed_hits_do_nothing(monkeypatch):
    kills = []
    monkeypatch.setattr(failpoints, "_kill", lambda: kills.append(1))
    failpoints.configure(None, None)
    for _ in range(3):
        failpoints.hit("search.started")
    assert kills == []
    failpoints.configure("search.started:2", None)
    failpoints.hit("search.started")
    assert kills == []
    failpoints.hit("search.started")
    assert kills == [1]
    failpoints.configure(None, None)


def test_a_bad_variable_never_stops_the_app_from_starting():
    env = {**os.environ, failpoints.ENV_POINTS: "search.started:zero"}
    done = subprocess.run([sys.executable, "-c", "import soulsync.core.failpoints as f; print(f._targets)"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "{}", done.stderr


def test_trace_records_every_hit_with_its_count(tmp_path):
    trace = tmp_path / "trace.log"
    failpoints.configure("other.point:5", str(trace))
    failpoints.hit("search.started")
    failpoints.hit("queue.sent")
    failpoints.hit("search.started")
    assert trace.read_text().splitlines() == ["search.started 1", "queue.sent 1", "search.started 2"]
    failpoints.configure(None, str(trace))  # counts restart
    failpoints.hit("search.started")
    assert trace.read_text().splitlines()[-1] == "search.started 1"


def test_the_process_is_killed_at_the_chosen_hit_after_tracing_it(tmp_path):
    trace = tmp_path / "trace.log"
    script = ("from soulsync.core import failpoints\n"
              "for n in range(5):\n"
              "    print(n, flush=True)\n"
              "    failpoints.hit('a')\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{failpoints.ENV_POINTS: "a:3", failpoints.ENV_TRACE: str(trace)})
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == -signal.SIGKILL
    assert result.stdout.split() == ["0", "1", "2"]
    assert trace.read_text().splitlines() == ["a 1", "a 2", "a 3"]
