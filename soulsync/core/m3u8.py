"""M3U8 export of an analysed playlist: the owned tracks' files, in order."""
from __future__ import annotations

from soulsync.core.analysis import Status, TrackStatus
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from soulsync.core.organize import atomic_write_bytes

log = logging.getLogger(__name__)




def export_m3u8(statuses: Iterable[TrackStatus], destination: str | os.PathLike, name: str = "") -> int:
    """Write the owned tracks, in order, as an extended M3U8 playlist; returns how many entries.

    Paths are written relative to the playlist file's folder when they can be
    (absolute otherwise, e.g. another drive). Written atomically.
    """
    destination = Path(destination)
    folder = destination.parent.resolve()
    lines = ["#EXTM3U"]
    if name:
        lines.append(f"#PLAYLIST:{_one_line(name)}")
    written = 0
    seen: set[str] = set()
    for s in statuses:
        path = s.library_path
        if s.status is not Status.OWNED or not path or path in seen:
            continue
        seen.add(path)
        track = s.match or s.track
        seconds = round(track.duration_ms / 1000) if track.duration_ms else -1
        lines.append(f"#EXTINF:{seconds},{_one_line(track.display())}")
        lines.append(_relative(path, folder))
        written += 1
    atomic_write_bytes(destination, ("\n".join(lines) + "\n").encode("utf-8"), overwrite=True)
    return written


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _relative(path: str, folder: Path) -> str:
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive on Windows
        return path


