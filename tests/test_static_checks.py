"""ruff (likely bugs, unused names) and mypy (types) over the code, as configured in pyproject.toml.

An attribute one branch of a union lacks - the album-row crash was one - fails here before a user
meets it. Both tools come with the ``test`` extra; each runs once, in a subprocess, from the repo root.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> list[str]:
    beside = Path(sys.executable).with_name(name)  # the venv's own copy first
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return [found]


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_ruff_finds_nothing():
    done = _run(_tool("ruff") + ["check", "--no-cache", "--output-format", "concise", "soulsync", "tests"])
    assert done.returncode == 0, f"ruff findings:\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing():
    # --cache-dir=/dev/null: no .mypy_cache left in the tree, so a run is the same on any machine
    done = _run(_tool("mypy") + ["--cache-dir=/dev/null", "--no-error-summary"])
    assert done.returncode == 0, f"mypy findings:\n{done.stdout}{done.stderr}"
