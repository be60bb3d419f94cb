"""One peer's answer to an slskd search, read once: the app's single reader of that wire format's envelope.

slskd returns a search's responses as a list of objects, one per peer (``username``, ``files``,
``lockedFiles``, ``hasFreeUploadSlot``, ``uploadSpeed``, ``queueLength``; see
``../shared/reference/service-apis.md`` section 1 and slskd's ``Search/API/SearchResponse``). Peers and
slskd versions differ, and the data comes from strangers: :func:`read_response` checks the envelope and
gives typed values, or None for a response that is not usable (skipped and counted by its callers). The
file entries inside are read by the code that needs them (grouping for the results view, ranking for a
wanted track), each in its own hot loop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PeerResponse:
    username: str
    files: list
    """The shared files' raw entries (objects from the peer: checked one by one by the caller)."""
    locked: list
    """Files the peer lists but will not share with us (``lockedFiles``)."""
    has_free_slot: bool
    upload_speed: int
    """Bytes per second the peer reports (0 when unknown or nonsense)."""
    queue_length: int


def count(value: object) -> int:
    """A non-negative count or speed from a peer: an int, or a finite float (some clients send 1.0); else 0."""
    if type(value) is int:
        return value if value > 0 else 0
    if type(value) is float and math.isfinite(value) and value > 0:
        return int(value)
    return 0


def read_response(resp: object) -> PeerResponse | None:
    """The response's envelope, checked; None when it is not an object, names no user, or its file lists are
    not lists (a missing or null list is an empty one: a peer that shares nothing matching)."""
    if type(resp) is not dict:
        return None
    username = resp.get("username")
    files = resp.get("files")
    locked = resp.get("lockedFiles")
    files = [] if files is None else files
    locked = [] if locked is None else locked
    if type(username) is not str or not username.strip() or type(files) is not list or type(locked) is not list:
        return None
    return PeerResponse(username, files, locked, resp.get("hasFreeUploadSlot") is True,
                        count(resp.get("uploadSpeed")), count(resp.get("queueLength")))
