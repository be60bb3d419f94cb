"""Application bootstrap: command line, logging, demo wiring, QApplication."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    print("SoulSync is being built; the window arrives with the foundation.")
    return 0
