"""Counts in words, so that one thing is never "1 files"."""
from __future__ import annotations


def counted(n: int, one: str, many: str | None = None) -> str:
    """``counted(1, "file")`` is "1 file", ``counted(3, "file")`` "3 files"; ``many`` for irregular plurals."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
