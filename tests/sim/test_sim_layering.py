"""The simulations stand apart from the GUI: importing every module of soulsync.sim loads no Qt."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_PROBE = """
import importlib, pkgutil, sys
import soulsync.sim as sim
for module in pkgutil.iter_modules(sim.__path__):
    importlib.import_module(f"soulsync.sim.{module.name}")
print(sorted(name for name in sys.modules if name.startswith(("PyQt6", "soulsync.ui"))))
"""


def test_no_sim_module_imports_qt_or_the_ui() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"
