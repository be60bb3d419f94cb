"""Named crash points for the SIGKILL tests: ``hit(name)`` kills this process at a chosen moment.

Short phases (tagging, moving a file into the library) last milliseconds, too
short for a kill at a random moment to land in them reliably. The code calls
:func:`hit` at a few meaningful places instead; it does nothing unless the
environment asks for it (read once, at import):

* ``SOULSYNC_FAILPOINTS="tag.before_replace:2,postprocess.moved:1"``: SIGKILL
  this process at the 2nd hit of ``tag.before_replace`` (or the 1st of
  ``postprocess.moved``), counted from the process start. ``name`` alone means
  ``name:1``.
* ``SOULSYNC_FAILPOINT_TRACE=/path/to/file``: append ``<name> <n>`` to that
  file at every hit (before a kill), so a test can tell what a process was
  doing when it died.

The points (see where they are called): ``sync.analysed`` (analysis done,
downloads not started), ``sync.downloaded`` (downloads done, re-analysis not
started), ``search.started``, ``queue.sent`` (slskd took files, the queue has
not saved their transfer ids yet), ``queue.item_done``, ``postprocess.verified``,
``postprocess.tagged``, ``postprocess.moved``, ``tag.before_replace`` and
``plex.playlist_created`` (a Plex playlist made and remembered, not marked yet).
"""
from __future__ import annotations

import logging
import os
import signal
import threading

ENV_POINTS = "SOULSYNC_FAILPOINTS"
ENV_TRACE = "SOULSYNC_FAILPOINT_TRACE"

_targets: dict[str, int] = {}
_trace: str | None = None
_counts: dict[str, int] = {}
_lock = threading.Lock()


def parse(spec: str) -> dict[str, int]:
    """``"a:2, b"`` -> ``{"a": 2, "b": 1}``; raises ``ValueError`` for a bad count."""
    targets: dict[str, int] = {}
    for part in spec.split(","):
        name, _, count = part.strip().partition(":")
        if not name:
            continue
        n = int(count) if count.strip() else 1
        if n < 1:
            raise ValueError(f"failpoint {name!r}: the hit to kill at must be 1 or more, not {n}")
        targets[name.strip()] = n
    return targets


def configure(points: str | None = None, trace: str | None = None) -> None:
    """Arm the failpoints (``points`` as in ``SOULSYNC_FAILPOINTS``) and the trace file; counts restart.

    Called once at import with the environment's values; tests may call it again."""
    global _targets, _trace
    with _lock:
        _targets = parse(points or "")
        _trace = trace or None
        _counts.clear()


def hit(name: str) -> None:
    """Pass the failpoint ``name``: a no-op unless armed; SIGKILLs this process at its chosen hit."""
    if not _targets and _trace is None:
        return
    with _lock:
        n = _counts[name] = _counts.get(name, 0) + 1
        if _trace is not None:
            fd = os.open(_trace, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, f"{name} {n}\n".encode())
            finally:
                os.close(fd)
        if _targets.get(name) == n:
            _kill()


def _kill() -> None:
    kill = getattr(signal, "SIGKILL", None)
    if kill is None:  # Windows: no SIGKILL; the nearest thing is an exit that runs no cleanup
        os._exit(137)
    os.kill(os.getpid(), kill)


try:
    configure(os.environ.get(ENV_POINTS), os.environ.get(ENV_TRACE))
except ValueError as exc:  # a typo in a test-only variable must never stop the app from starting
    logging.getLogger(__name__).warning("%s ignored: %s", ENV_POINTS, exc)
