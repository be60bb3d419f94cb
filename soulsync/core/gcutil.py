"""Garbage-collector control for big, long-lived structures (search results, the library index).

A full collection walks every tracked object while holding the GIL; with a
200,000-track index in memory that is hundreds of milliseconds during which
the GUI thread cannot run. Building such structures with collection paused,
then freezing them (``gc.freeze``: later collections skip them; reference
counting still frees them) keeps those pauses away.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = True
"""Whether automatic collection was on when the outermost block began (it is left as it was found)."""


@contextmanager
def built_in_bulk(freeze: bool = True) -> Iterator[None]:
    """Pause automatic collection while the block runs (nesting and threads safe); then freeze."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                # freeze first: everything allocated while paused sits in the youngest generation, and a
                # collection between enable() and freeze() would walk all of it with the GIL held
                if freeze:
                    gc.freeze()
                if _was_enabled:
                    gc.enable()
