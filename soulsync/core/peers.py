"""Which peer finishes first: a download's time to complete estimated from the peer's own figures.

slskd reports, per responding peer, its upload speed (bytes/s, measured by the server), whether it has
a free upload slot and how many uploads are queued. A free slot with a slow line can take far longer
than a short queue on a fast one (120 MB at 87 KB/s is 23 minutes; behind three files at 2 MB/s it is
about a minute), so sources are compared by the estimated time to complete, not by the slot alone.
"""
from __future__ import annotations

import math

QUEUED_FILE_BYTES = 10_000_000
"""What one upload queued ahead of us is assumed to weigh (a typical track)."""
UNKNOWN_SPEED = 20_000
"""Bytes/s assumed for a peer that reports no speed: slow, so a known fast peer wins."""


def finish_seconds(size: int, upload_speed: int, has_free_slot: bool, queue_length: int) -> float:
    """Estimated seconds until ``size`` bytes from this peer are complete.

    The uploads ahead of us (the queue; at least one when no slot is free) run first at the peer's
    speed, then ours. Unknown sizes count as one queued file.
    """
    speed = upload_speed if upload_speed > 0 else UNKNOWN_SPEED
    ahead = max(queue_length, 0) + (0 if has_free_slot else 1)
    own = size if size > 0 else QUEUED_FILE_BYTES
    return (own + ahead * QUEUED_FILE_BYTES) / speed


def finish_class(seconds: float) -> int:
    """Estimated time in halvings of a minute, rounded: sources within ~40 % of each other tie, so the
    queue length and the raw speed decide between them instead of noise in the speed figure."""
    return int(math.log2(1.0 + seconds) * 2)
